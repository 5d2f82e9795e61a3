"""Text as model input: a tokenizer fitted on the training split, saved as JSON.

A text column becomes a fixed-length row of token ids that an ``Embedding`` layer reads:

* **tokens**: ``word`` mode makes words of runs of letters and digits, each punctuation mark a
  token, and each CJK character (Chinese, Japanese kana, Korean syllables: scripts written without
  spaces) a token of its own; ``char`` mode makes every character that is not a space a token.
  ``auto`` picks ``char`` when at least :data:`CJK_SHARE` of the letters in the training texts are
  CJK, else ``word``.  Text is lower-cased (``lowercase``).
* **vocabulary**: the ``max_tokens - 2`` most frequent tokens of the *training* split (ties in
  first-seen order, so a fit is repeatable); id 0 is padding, id 1 every token outside the
  vocabulary.
* **length**: each text is cut after ``max_len`` tokens and padded with 0 at the end;
  ``max_len=None`` takes the 95th percentile of the training texts' lengths (at least 1, at
  most :data:`MAX_LEN`).

:meth:`TextVocab.to_dict` is what the project saves in its preprocessing, so evaluate, predict
(a raw sentence included) and export apply exactly the fitted tokenizer.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.data.errors import DataError

#: pandas' missing-value markers, by type name (this module does not import pandas: DataSpec checks use it)
_NA_TYPES = ("NAType", "NaTType")

PAD, OOV = 0, 1
MODES = ("auto", "word", "char")
#: share of CJK letters in the training texts from which ``auto`` chooses character tokens
CJK_SHARE = 0.3
#: longest sequence a fitted tokenizer produces
MAX_LEN = 512
#: vocabulary size limits (ids include PAD and OOV)
MIN_TOKENS, MAX_TOKENS = 3, 1_000_000
TEXT_VERSION = 1

_CJK = (r"\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
        r"\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ebef")
_CJK_CHAR = re.compile(f"[{_CJK}]")
# one CJK character, a run of other letters/digits, or one punctuation/symbol character
_WORD = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+|_+|[^\w\s]", re.UNICODE)
_CHAR = re.compile(r"\S", re.UNICODE)
# what free-text detection counts: a CJK character, or a run of other characters between spaces
# (``user_123`` and ``a.b@example.com`` are one each: identifiers, not sentences)
_WORDISH = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+", re.UNICODE)


def tokenize(text: str, mode: str, lowercase: bool = True) -> list[str]:
    """The tokens of one text in ``word`` or ``char`` mode (see the module docstring)."""
    if not isinstance(text, str):
        text = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
    if lowercase:
        text = text.lower()
    if mode == "word":
        return _WORD.findall(text)
    if mode == "char":
        return _CHAR.findall(text)
    raise DataError(f"unknown text tokenization {mode!r}; choose one of {', '.join(MODES[1:])}")


def text_cells(values) -> list[str]:
    """Cells of a column as texts: missing cells (None, NaN) are ``""``; whole floats lose their ``.0``."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)) or type(v).__name__ in _NA_TYPES:
            out.append("")
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return out


def oov_rate(ids: np.ndarray) -> float | None:
    """Share of the (non-padding) token ids that are the unknown-token id; ``None`` without tokens."""
    ids = np.asarray(ids)
    n = int(np.count_nonzero(ids != PAD))
    return float(np.count_nonzero(ids == OOV)) / n if n else None


#: free-text detection: the median text has at least this many tokens ...
TEXT_MIN_TOKENS = 3
#: ... and at least this share of the present cells are distinct (or there are more distinct
#: values than a one-hot encoding takes)
TEXT_DISTINCT_SHARE = 0.3
TEXT_DETECT_SAMPLE = 2000


def looks_like_text(values, max_categories: int = 1000) -> bool:
    """Whether a column of strings (``None`` where missing) reads as free text rather than categories.

    Free text: the median cell has :data:`TEXT_MIN_TOKENS` or more words (runs between spaces;
    a CJK character counts as one) and the cells are mostly distinct (:data:`TEXT_DISTINCT_SHARE`, at
    least 5 values), or they have more distinct values than ``max_categories``.  Judged on the
    first :data:`TEXT_DETECT_SAMPLE` present cells.
    """
    present = [v for v in values if isinstance(v, str) and v.strip()]
    if len(present) < 2:
        return False
    distinct = len(set(present))
    sample = present[:TEXT_DETECT_SAMPLE]
    median = float(np.median([len(_WORDISH.findall(v)) for v in sample]))
    if median < TEXT_MIN_TOKENS - (1 if distinct > max_categories else 0):
        return False
    return may_be_text(distinct, len(present), max_categories)


def may_be_text(n_unique: int, n_present: int, max_categories: int = 1000) -> bool:
    """The cheap half of :func:`looks_like_text` from a column's counts: enough distinct values."""
    return n_unique >= 5 and (n_unique > max_categories or n_unique >= TEXT_DISTINCT_SHARE * n_present)


def detect_mode(texts: Iterable[str]) -> str:
    """``char`` for mostly-CJK texts, else ``word``."""
    cjk = letters = 0
    for t in texts:
        if not isinstance(t, str):
            continue
        cjk += len(_CJK_CHAR.findall(t))
        letters += sum(ch.isalpha() for ch in t)
    return "char" if letters and cjk >= CJK_SHARE * letters else "word"


@dataclass
class TextVocab:
    """A fitted tokenizer: mode, vocabulary, sequence length (JSON via to_dict/from_dict)."""

    mode: str = "word"
    max_len: int = 32
    tokens: list[str] = field(default_factory=list)     # id 2 + i -> tokens[i]
    lowercase: bool = True
    report: dict = field(default_factory=dict)          # what the fit saw (not needed to apply it)

    def __post_init__(self):
        self._index = {t: i + 2 for i, t in enumerate(self.tokens)}

    @property
    def vocab_size(self) -> int:
        """The ``vocab_size`` an Embedding layer needs (ids 0 .. vocab_size-1)."""
        return len(self.tokens) + 2

    @classmethod
    def fit(cls, texts: Sequence, *, mode: str = "auto", max_tokens: int = 20_000, max_len: int | None = None,
            lowercase: bool = True, what: str = "text") -> "TextVocab":
        if mode not in MODES:
            raise DataError(f"{what}: unknown text tokenization {mode!r}; choose one of {', '.join(MODES)}")
        if not isinstance(max_tokens, int) or not MIN_TOKENS <= max_tokens <= MAX_TOKENS:
            raise DataError(f"{what}: the vocabulary size must be between {MIN_TOKENS} and {MAX_TOKENS:,}, "
                            f"got {max_tokens!r}")
        if max_len is not None and (not isinstance(max_len, int) or not 1 <= max_len <= MAX_LEN):
            raise DataError(f"{what}: the sequence length must be between 1 and {MAX_LEN}, got {max_len!r}")
        texts = list(texts)
        if mode == "auto":
            mode = detect_mode(texts)
        counts: Counter = Counter()
        lengths = np.zeros(len(texts), dtype=np.int64)
        for i, t in enumerate(texts):
            toks = tokenize(t, mode, lowercase)
            lengths[i] = len(toks)
            counts.update(toks)
        if not counts:
            raise DataError(f"{what}: the training texts are all empty; there is nothing to learn words from")
        # most frequent first; Counter.most_common keeps first-seen order among equal counts
        keep = [tok for tok, _ in counts.most_common(max_tokens - 2)]
        if max_len is None:
            max_len = int(min(MAX_LEN, max(1, np.ceil(np.percentile(lengths, 95)))))
        report = {"distinct_tokens": len(counts), "kept_tokens": len(keep),
                  "empty_texts": int((lengths == 0).sum()), "truncated_texts": int((lengths > max_len).sum()),
                  "longest": int(lengths.max(initial=0)), "texts": len(texts),
                  "mean_length": float(lengths.mean()) if len(lengths) else 0.0,
                  "median_length": float(np.median(lengths)) if len(lengths) else 0.0}
        return cls(mode=mode, max_len=int(max_len), tokens=keep, lowercase=lowercase, report=report)

    def encode(self, texts: Sequence) -> np.ndarray:
        """(N, max_len) int64 token ids: truncated, padded with 0 at the end, unknown tokens 1."""
        out = np.zeros((len(texts), self.max_len), dtype=np.int64)
        get = self._index.get
        for i, t in enumerate(texts):
            ids = [get(tok, OOV) for tok in tokenize(t, self.mode, self.lowercase)[: self.max_len]]
            out[i, : len(ids)] = ids
        return out

    def decode(self, ids: Sequence[int]) -> list[str]:
        """Tokens of one encoded row (padding dropped, unknown tokens as ``"<unk>"``)."""
        out = []
        for i in ids:
            i = int(i)
            if i == PAD:
                continue
            out.append(self.tokens[i - 2] if 2 <= i < self.vocab_size else "<unk>")
        return out

    def to_dict(self) -> dict:
        return {"version": TEXT_VERSION, "mode": self.mode, "max_len": self.max_len, "lowercase": self.lowercase,
                "tokens": list(self.tokens), "report": dict(self.report)}

    @classmethod
    def from_dict(cls, d: dict) -> "TextVocab":
        if not isinstance(d, dict) or d.get("mode") not in ("word", "char"):
            raise DataError("the saved text tokenizer is damaged (no valid mode)")
        tokens = d.get("tokens")
        max_len = d.get("max_len")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens) \
                or len(tokens) > MAX_TOKENS or len(set(tokens)) != len(tokens):
            raise DataError("the saved text tokenizer is damaged (its vocabulary is not a list of distinct words)")
        if not isinstance(max_len, int) or isinstance(max_len, bool) or not 1 <= max_len <= MAX_LEN:
            raise DataError("the saved text tokenizer is damaged (bad sequence length)")
        return cls(mode=d["mode"], max_len=max_len, tokens=tokens, lowercase=bool(d.get("lowercase", True)),
                   report=dict(d.get("report") or {}))
