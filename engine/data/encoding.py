"""Text encodings of CSV files: detection, strict decoding, names for people.

The rule (also in ``docs/data.md``), for ``encoding="auto"``:

1. A byte-order mark decides: UTF-8 BOM -> ``utf-8-sig``, UTF-16 BOM -> ``utf-16``.
2. A file that decodes strictly as UTF-8 is UTF-8 (ASCII included).  The detector
   never runs on it, so the common case stays fast and is never second-guessed.
3. Otherwise charset-normalizer ranks the candidates of :data:`DETECTED` on a
   bounded prefix (:data:`SAMPLE_BYTES`); the first candidate that decodes the
   **whole** file strictly is used.  When two candidates are tied (the detector
   cannot tell them apart, typical of a file with only a few words) and give
   different text, loading stops with a message naming both and the fix --
   never a silent guess.  (Short or repetitive text can be truly ambiguous:
   "一" is D2 BB in GB18030 and two valid katakana in Shift-JIS.)

A chosen encoding (``--encoding``, the data panel's Encoding box) is used as
given, strictly: a byte it cannot decode is an error naming the file, line and
byte offset.  Nothing ever falls back to Latin-1 (or any other encoding) silently.
"""
from __future__ import annotations

import codecs

from engine.data.errors import DataError

#: what the user can choose (besides "auto"), in the order shown in the data panel
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "gb18030", "big5", "shift_jis", "euc_kr", "cp1252", "latin-1")
#: what the detector chooses among once a file is not UTF-8 and has no BOM
DETECTED = ("gb18030", "big5", "shift_jis", "euc_kr", "cp1252", "latin-1")
#: bytes of a large file that the detector looks at (the whole file is decoded afterwards)
SAMPLE_BYTES = 256 * 1024
#: candidates whose "chaos" differs by at most this much are a tie
TIE = 0.01

LABELS = {"auto": "Auto", "utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16",
          "gb18030": "GB18030 (GBK)", "big5": "Big5", "shift_jis": "Shift-JIS", "euc_kr": "EUC-KR",
          "cp1252": "cp1252 (Windows Western)", "latin-1": "Latin-1"}

_ALIASES = {"utf8": "utf-8", "utf_8": "utf-8", "utf-8-bom": "utf-8-sig", "utf8-sig": "utf-8-sig",
            "utf_8_sig": "utf-8-sig", "utf16": "utf-16", "utf_16": "utf-16", "gbk": "gb18030",
            "gb2312": "gb18030", "cp936": "gb18030", "gb-18030": "gb18030", "big-5": "big5", "cp950": "big5",
            "sjis": "shift_jis", "shift-jis": "shift_jis", "shiftjis": "shift_jis", "cp932": "shift_jis",
            "euc-kr": "euc_kr", "euckr": "euc_kr", "cp949": "euc_kr", "windows-1252": "cp1252",
            "latin1": "latin-1", "latin_1": "latin-1", "iso-8859-1": "latin-1", "iso8859-1": "latin-1"}


def label(enc: str) -> str:
    """``"gb18030"`` -> ``"GB18030 (GBK)"``; unknown codecs as given."""
    return LABELS.get(enc, enc)


def normalise(name) -> str:
    """A user's encoding name -> the canonical name (``"GBK"`` -> ``"gb18030"``); raises DataError."""
    if name is None:
        return "auto"
    key = str(name).strip().lower()
    if key in ("", "auto"):
        return "auto"
    key = _ALIASES.get(key, key)
    if key in ENCODINGS:
        return key
    try:
        info = codecs.lookup(key)
    except LookupError:
        raise DataError(f"unknown text encoding '{name}' (use auto or one of {', '.join(ENCODINGS)})") from None
    try:
        "a,b\n".encode(info.name).decode(info.name)
    except (UnicodeError, LookupError, TypeError, AttributeError):
        raise DataError(f"'{name}' is not a text encoding (use auto or one of {', '.join(ENCODINGS)})") from None
    return _ALIASES.get(info.name, info.name)


def _bom(raw: bytes) -> str | None:
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith(codecs.BOM_UTF16_LE) or raw.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    return None


def _where(raw: bytes, pos: int, enc: str) -> str:
    head = raw[:pos].decode(enc, errors="replace")
    return f"line {head.count(chr(10)) + 1} (byte {pos})"


def strict_decode(raw: bytes, enc: str, name: str, *, detected: bool = False) -> str:
    """Decode ``raw`` strictly; a failure names the file, line, byte and the fix."""
    try:
        text = raw.decode(enc, errors="strict")
    except UnicodeDecodeError as exc:
        how = "detected" if detected else "chosen"
        bad = raw[exc.start:exc.start + 4].hex(" ")
        raise DataError(f"{name}, {_where(raw, exc.start, enc)}: cannot be decoded as {label(enc)} "
                        f"(the {how} encoding; bytes {bad}); choose the file's encoding with --encoding "
                        f"or the Encoding box of the data panel") from None
    except LookupError:
        raise DataError(f"unknown text encoding '{enc}'") from None
    return text[1:] if text.startswith("\ufeff") else text


def detect(raw: bytes, complete: bool = True) -> str:
    """The encoding of ``raw`` by the rule in the module docstring; raises DataError(name-less).

    ``complete=False`` means ``raw`` is a prefix of the file (a preview): the
    candidates are still checked against all of it.
    """
    enc = _bom(raw)
    if enc is not None:
        return enc
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if not complete and exc.start >= len(raw) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"  # a prefix cut inside the last character
    from charset_normalizer import from_bytes  # noqa: PLC0415  (only for files that are not UTF-8)

    sample = raw[:SAMPLE_BYTES]
    if len(raw) > SAMPLE_BYTES:
        cut = sample.rfind(b"\n")
        if cut > 0:
            sample = sample[:cut + 1]
    results = list(from_bytes(sample, cp_isolation=[e.replace("-", "_") for e in DETECTED]))
    ok = []
    for m in results:
        enc = _canon(m.encoding)
        if enc is None or any(enc == e for e, _ in ok):
            continue
        try:
            raw.decode(enc)
        except UnicodeDecodeError:
            continue
        ok.append((enc, float(m.chaos)))
    if not ok:
        raise DataError("the text encoding could not be recognised (not UTF-8, and none of "
                        f"{', '.join(label(e) for e in DETECTED)} decodes it); choose the file's encoding "
                        "with --encoding or the Encoding box of the data panel")
    best, chaos = ok[0]
    text = sample.decode(best)
    for other, c in ok[1:]:
        if c <= chaos + TIE and sample.decode(other) != text and {best, other} != {"cp1252", "latin-1"}:
            raise DataError(f"the text encoding is uncertain: {label(best)} or {label(other)} (the text does "
                            "not tell them apart); choose the file's encoding with --encoding or the Encoding box of the "
                            "data panel")
    return best


def _canon(detector_name: str) -> str | None:
    n = detector_name.lower().replace("_", "-")
    n = {"latin-1": "latin-1", "iso8859-1": "latin-1", "shift-jis": "shift_jis", "euc-kr": "euc_kr"}.get(n, n)
    if n in ("gb2312", "gbk"):
        n = "gb18030"
    return n if n in DETECTED else None


def decode(raw: bytes, name: str, encoding: str = "auto", *, complete: bool = True) -> tuple[str, str, bool]:
    """``(text, encoding, detected)`` for the bytes of file ``name``; strict, never a silent fallback."""
    enc = normalise(encoding)
    if enc == "auto" and _bom(raw) is None:
        try:  # rule 2 in one pass: the text of a UTF-8 file is decoded once
            return raw.decode("utf-8"), "utf-8", True
        except UnicodeDecodeError:
            pass
    if enc == "auto":
        try:
            enc = detect(raw, complete)
        except DataError as exc:
            raise DataError(f"{name}: {exc}") from None
        detected = True
    else:
        detected = False
        if enc == "utf-8" and raw.startswith(codecs.BOM_UTF8):
            enc = "utf-8-sig"
    if not complete:
        raw = _trim_partial(raw, enc)
    return strict_decode(raw, enc, name, detected=detected), enc, detected


def _trim_partial(raw: bytes, enc: str) -> bytes:
    """A prefix may end inside a character: drop the incomplete tail (at most a few bytes)."""
    dec = codecs.getincrementaldecoder(enc)(errors="strict")
    try:
        dec.decode(raw, final=False)
    except UnicodeDecodeError:
        return raw  # a real error: strict_decode reports it
    pending = len(dec.getstate()[0])
    return raw[:len(raw) - pending] if pending else raw


def encode_for(text: str, enc: str, name: str) -> bytes:
    """``text`` in ``enc`` for writing ``name``; a character it cannot hold is an error with the fix."""
    try:
        return text.encode(enc)
    except UnicodeEncodeError as exc:
        line = text[:exc.start].count("\n") + 1
        raise DataError(f"{name}, line {line}: '{text[exc.start:exc.end]}' cannot be written in {label(enc)} "
                        "(the input's encoding); write UTF-8 instead (--out-encoding utf-8-sig)") from None
