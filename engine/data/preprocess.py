"""Preprocessor: the fitted, JSON-able transform that turns raw data into model input.

``Preprocessor.from_dict(dataset.preprocessing)`` is all that predict and export need.
Two kinds of dict exist (``"kind"`` key):

* ``"tabular"``: ``columns`` = list of ``{"name", "type": "numeric", "fill", "shift", "scale"}``
  (value -> ``(value_or_fill - shift) / scale``) or ``{"name", "type": "categorical",
  "categories": [...]}`` (one-hot in that order; unseen or missing -> all zeros);
  ``decimal`` is used when values arrive as text.  ``{"name", "type": "text", "tokenizer":
  {...}}`` is a free-text column: :meth:`engine.data.text.TextVocab.to_dict`, giving
  ``max_len`` token ids (as float32 numbers) for an ``Embedding`` layer.
* ``"images"``: ``image_size`` ``[h, w]``, ``mode`` ``"L"``/``"RGB"``, ``value_max`` of the
  training source (255 for files, 16 for the digits sample), ``scaling`` and per-channel
  ``mean``/``std`` in [0, 1] units (``standard`` only).

* ``"arrays"``: named ``.npz`` arrays for a graph with several inputs, used as they are:
  ``inputs`` = ``[{"name", "shape"}]`` (``x_<name>`` in the file).

All carry ``task``, ``class_names`` (``None`` for regression), ``input_shape`` and ``version``.

This module transforms values already in memory (frames, arrays); reading files is the
readers' part, with the same transform: :func:`engine.data.csvio.transform_csv` and
:func:`engine.data.images.transform_images`.  So the readers import this module, never
the other way round.
"""
from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd

from engine.data import columns as _columns
from engine.data.columns import LazyColumn, _short, parse_categorical, parse_numeric
from engine.data.errors import DataError

#: the format version of a preprocessing dict (a newer one is refused)
PREP_VERSION = 2              # 2: text columns ("type": "text"); a table without one is still saved as 1


class Preprocessor:
    def __init__(self, d: dict):
        self.d = d

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessor":
        if not isinstance(d, dict) or d.get("kind") not in ("tabular", "images", "timeseries", "arrays"):
            raise DataError("preprocessing description is missing or of an unknown kind")
        if int(d.get("version", 1)) > PREP_VERSION:
            raise DataError(f"preprocessing was saved by a newer version (format {d.get('version')})")
        try:
            d = json.loads(json.dumps(d))
        except (TypeError, ValueError) as exc:
            raise DataError(f"preprocessing description is not JSON-able: {exc}") from None
        pre = cls(d)
        if d["kind"] == "tabular" and isinstance(d.get("columns"), list):
            for c in d["columns"]:
                if isinstance(c, dict) and c.get("type") == "text":
                    pre._vocab(c)  # a damaged tokenizer is refused here, not at the first prediction
        return pre

    def to_dict(self) -> dict:
        return copy.deepcopy(self.d)

    # ------------------------------------------------------------------ info
    @property
    def kind(self) -> str:
        return self.d["kind"]

    @property
    def task(self) -> str:
        return self.d["task"]

    @property
    def class_names(self) -> list[str] | None:
        return self.d.get("class_names")

    @property
    def input_shape(self) -> tuple:
        return tuple(self.d["input_shape"])

    @property
    def columns(self) -> list[str]:
        """Raw columns a frame must have (tabular only)."""
        return [c["name"] for c in self.d.get("columns", [])]

    def decode(self, class_index_array) -> list[str]:
        """Class indices -> class names (classification only)."""
        names = self.class_names
        if names is None:
            raise DataError("this model does regression; there are no class names to decode")
        idx = np.asarray(class_index_array).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= len(names)):
            raise DataError(f"class index out of range 0..{len(names) - 1}")
        return [names[int(i)] for i in idx]

    # ------------------------------------------------------------------ tabular
    def transform_frame(self, df: pd.DataFrame) -> np.ndarray:
        """Rows of raw values (text or typed) -> float32 (N, d) model input.

        Extra columns are ignored; missing ones raise :class:`DataError`.  Missing
        numeric values get the training fill value; unseen or missing categories
        become all-zero one-hot vectors.
        """
        labels = np.array([f"row {i + 1}" for i in range(len(df))], dtype=object)
        return self.split_inputs(self._transform_frame(df, labels, ""))

    # ------------------------------------------------------------------ several inputs
    @property
    def inputs(self) -> list[dict] | None:
        """``[{"name", "columns"}]`` when the columns feed several named inputs, else ``None``."""
        return self.d.get("inputs") or None

    def split_inputs(self, x: np.ndarray):
        """The full feature matrix -> ``{input name: its columns' block}`` (unchanged without ``inputs``)."""
        groups = self.inputs
        if not groups:
            return x
        spans, j = {}, 0
        for c in self.d["columns"]:
            spans[c["name"]] = (j, j + _width(c))
            j += _width(c)
        return {g["name"]: np.ascontiguousarray(np.concatenate([x[:, a:b] for a, b in (spans[c] for c in g["columns"])],
                                                               axis=1)) for g in groups}

    def _transform_frame(self, df: pd.DataFrame, row_labels, src: str, parsed: dict | None = None,
                         *, out: np.ndarray | None = None, order: np.ndarray | None = None) -> np.ndarray:
        """``parsed``: ``{column: parse_numeric(df[column])}`` already known for some columns.

        ``out``: the float32 ``(len(order or df), width)`` array to fill (e.g. a memory-mapped file;
        it must hold zeros), else a new one.  ``order``: row ``r`` of the result is row ``order[r]`` of
        the frame (training data in split order); the checks and their messages still go through
        the frame's rows in its own order, so an error names the same row either way.
        """
        if self.kind == "timeseries":
            raise DataError(f"this model reads windows of {self.d.get('window')} recent rows; predict from a file "
                            f"with at least that many rows")
        if self.kind != "tabular":
            raise DataError("this model takes images, not table rows")
        if not isinstance(df, pd.DataFrame):
            raise DataError("expected a table (pandas DataFrame)")
        have = {str(c): c for c in df.columns}
        missing = [c for c in self.columns if c not in have]
        if missing:
            raise DataError(f"{src}missing column(s): {_short(', '.join(missing), 160)}")
        decimal = self.d.get("decimal", ".")
        width = sum(_width(c) for c in self.d["columns"])
        n_out = len(df) if order is None else len(order)
        if out is None:
            out = np.zeros((n_out, width), dtype=np.float32)
        pos = None  # where each frame row goes in ``out`` (categorical columns write by row)
        if order is not None:
            order = np.asarray(order, dtype=np.int64)
            pos = np.full(len(df), -1, dtype=np.int64)
            pos[order] = np.arange(len(order))

        def put(j, w, block):  # block: the column's (len(df),) or (len(df), w) values in frame order
            rows = block if order is None else block[order]
            if w is None:
                out[:, j] = rows
            else:
                out[:, j:j + w] = rows

        done = (self._transform_known(out, parsed, have, order) if parsed and df.columns.is_unique
                else set())
        j = 0
        for c in self.d["columns"]:
            if c["name"] in done:
                j += 1
                continue
            known = parsed.get(c["name"]) if parsed and c["type"] == "numeric" else None
            if known is not None and c["name"] in have and df.columns.is_unique:
                col = LazyColumn(df, have[c["name"]])  # read only for a message
            else:
                col = df[have[c["name"]]]
                if isinstance(col, pd.DataFrame):
                    raise DataError(f"{src}column name '{_short(c['name'])}' appears twice")
            if c["type"] == "numeric":
                vals, miss, bad = known if known is not None else parse_numeric(col, decimal)
                if bad.any():
                    i = int(np.flatnonzero(bad)[0])
                    raise DataError(f"{src}{row_labels[i]}, column '{_short(c['name'])}': "
                                    f"'{_short(col.iloc[i])}' is not a number")
                if len(vals) > _SCALE_BLOCK and _scale_in_blocks(out, j, vals, miss, c, order):
                    j += 1
                    continue
                vals = np.where(miss, c["fill"], vals)
                with np.errstate(over="ignore", invalid="ignore"):
                    scaled = ((vals - c["shift"]) / c["scale"]).astype(np.float32)
                if not np.isfinite(scaled).all():
                    i = int(np.flatnonzero(~np.isfinite(scaled))[0])
                    raise DataError(f"{src}{row_labels[i]}, column '{_short(c['name'])}': "
                                    f"'{_short(col.iloc[i])}' is too large for 32-bit floats")
                put(j, None, scaled)
                j += 1
            elif c["type"] == "text":
                from engine.data.text import text_cells  # noqa: PLC0415

                ids = self._vocab(c).encode(text_cells(col.to_numpy(dtype=object)))
                put(j, ids.shape[1], ids)
                j += ids.shape[1]
            else:
                cats, cmiss = parse_categorical(col)
                index = {v: k for k, v in enumerate(c["categories"])}
                for r, (v, m) in enumerate(zip(cats, cmiss)):
                    if not m:
                        k = index.get(v)
                        if k is not None and (pos is None or pos[r] >= 0):
                            out[r if pos is None else pos[r], j + k] = 1.0
                j += len(c["categories"])
        return out

    def _transform_known(self, out: np.ndarray, parsed: dict, have: dict, order=None) -> set:
        """The numeric columns already parsed (``parsed``) of a wide table, transformed as one 2-D
        block into their places in ``out``: the same element-wise arithmetic as the loop of
        :meth:`_transform_frame`.  Returns the columns done: none when they are many cells
        (:data:`engine.data.columns.BATCH_CELLS`), or when a value is bad or too large (the loop
        then names the first one)."""
        n = len(out)
        picked, js, j = [], [], 0
        for c in self.d["columns"]:
            if c["type"] == "numeric" and c["name"] in have and c["name"] in parsed:
                picked.append(c)
                js.append(j)
            j += _width(c)
        if len(picked) < 2 or len(picked) * n > _columns.BATCH_CELLS:
            return set()
        vals = np.stack([parsed[c["name"]][0] for c in picked])
        miss = np.stack([parsed[c["name"]][1] for c in picked])
        if np.stack([parsed[c["name"]][2] for c in picked]).any():
            return set()
        fill, shift, scale = (np.array([c[k] for c in picked], dtype=np.float64)[:, None]
                              for k in ("fill", "shift", "scale"))
        vals = np.where(miss, fill, vals)
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = ((vals - shift) / scale).astype(np.float32)
        if not np.isfinite(scaled).all():
            return set()
        out[:, js] = scaled.T if order is None else scaled.T[order]
        return {c["name"] for c in picked}

    def _vocab(self, col: dict):
        """The column's fitted tokenizer (read once per Preprocessor)."""
        from engine.data.text import TextVocab  # noqa: PLC0415

        cache = self.__dict__.setdefault("_vocabs", {})
        v = cache.get(col["name"])
        if v is None:
            v = cache[col["name"]] = TextVocab.from_dict(col.get("tokenizer"))
        return v

    @property
    def text_columns(self) -> list[dict]:
        """The free-text columns (tabular): ``{"name", "tokenizer"}`` each."""
        return [c for c in self.d.get("columns", []) if c.get("type") == "text"]

    # ------------------------------------------------------------------ images
    def _image_check(self) -> None:
        if self.kind != "images":
            raise DataError("this model takes table rows, not images")

    def scale_uint8(self, u8: np.ndarray, value_max: float | None = None) -> np.ndarray:
        """uint8/raw array (N, H, W, C) -> float32 model input."""
        self._image_check()
        vmax = float(self.d.get("value_max", 255)) if value_max is None else float(value_max)
        x = np.asarray(u8, dtype=np.float32) * np.float32(1.0 / vmax)
        if self.d.get("scaling") == "standard":
            mean = np.asarray(self.d["mean"], dtype=np.float32)
            std = np.asarray(self.d["std"], dtype=np.float32)
            x -= mean
            x /= std
        return x

    def transform_named(self, arrays: dict) -> dict:
        """``{input name: array}`` (``x_<name>`` of an ``.npz``) -> model input, checked against the saved inputs."""
        if self.kind != "arrays":
            raise DataError("this model does not take named arrays (x_<input name>)")
        out = {}
        for g in self.d.get("inputs") or []:
            name, shape = g["name"], tuple(g["shape"])
            if name not in arrays:
                raise DataError(f"no array 'x_{name}' for the Input '{name}' (has: "
                                f"{', '.join('x_' + k for k in arrays) or 'none'})")
            a = np.asarray(arrays[name])
            if a.dtype.kind not in "biuf" or tuple(a.shape[1:]) != shape:
                raise DataError(f"'x_{name}' must be numbers of shape (N, {', '.join(map(str, shape))}), "
                                f"got {a.dtype} {a.shape}")
            out[name] = a.astype(np.float32)
        return out

    def transform_array(self, x: np.ndarray) -> np.ndarray:
        """Raw arrays in the training source's units (e.g. npz data) -> model input."""
        if self.kind == "images":
            x = np.asarray(x)
            if x.ndim == len(self.input_shape) and x.dtype.kind in "biu":  # (N, H, W) without channel axis
                x = x[..., None]
            if tuple(x.shape[1:]) != self.input_shape:
                raise DataError(f"expected samples of shape {self.input_shape}, got {tuple(x.shape[1:])}")
            return self.scale_uint8(x)
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != len(self.columns):
            raise DataError(f"expected an array of shape (N, {len(self.columns)}), got {x.shape}")
        return self.transform_frame(pd.DataFrame(x, columns=self.columns))


#: rows at a time when a long numeric column is scaled (its float64 temporaries stay this small)
_SCALE_BLOCK = 1 << 20


def _scale_in_blocks(out: np.ndarray, j: int, vals, miss, c: dict, order) -> bool:
    """``out[:, j]`` = the column filled, scaled and cast to float32, ``_SCALE_BLOCK`` output rows at a
    time: the same element-wise arithmetic as the whole-column code in ``_transform_frame``.  False
    (nothing usable written) when a value is too large for float32: the whole-column code then
    names the first one in the frame's order."""
    fill, shift, scale = c["fill"], c["shift"], c["scale"]
    for r0 in range(0, len(out), _SCALE_BLOCK):
        r1 = min(len(out), r0 + _SCALE_BLOCK)
        v, m = (vals[r0:r1], miss[r0:r1]) if order is None else (vals[order[r0:r1]], miss[order[r0:r1]])
        v = np.where(m, fill, v)
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = ((v - shift) / scale).astype(np.float32)
        if not np.isfinite(scaled).all():
            return False
        out[r0:r1, j] = scaled
    return True


def _width(col: dict) -> int:
    """Model inputs one saved column gives: 1 number, one per category, or the token ids of a text."""
    if col["type"] == "numeric":
        return 1
    if col["type"] == "text":
        return int((col.get("tokenizer") or {}).get("max_len", 0))
    return len(col["categories"])
