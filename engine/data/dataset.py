"""Dataset: split arrays plus everything needed to describe and reproduce them."""
from __future__ import annotations

import os
import uuid
import weakref
from pathlib import Path

import numpy as np

from engine.data.errors import DataError

SPLITS = ("train", "val", "test")


class ImageArray:
    """Read-only float32 view over uint8 images (in RAM or a memory-mapped cache).

    ``x[idx]`` decodes just those rows: ``uint8 -> [0, 1] -> (standardised)``.  It has
    ``len()``, ``shape``, ``ndim`` and ``dtype`` like an ndarray, and ``np.asarray(x)``
    materialises everything.
    """

    def __init__(self, source: np.ndarray, rows: np.ndarray, preprocessor):
        self._src = source
        self._rows = np.asarray(rows, dtype=np.int64)
        self._pre = preprocessor
        self.dtype = np.dtype(np.float32)

    @property
    def shape(self) -> tuple:
        return (len(self._rows), *self._src.shape[1:])

    @property
    def ndim(self) -> int:
        return self._src.ndim

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, idx) -> np.ndarray:
        rows = self._rows[idx]
        if np.ndim(rows) == 0:
            return self._pre.scale_uint8(self._src[int(rows)][None])[0]
        rows = np.asarray(rows)
        order = np.argsort(rows, kind="stable")  # sorted reads are kinder to a memmap
        out = np.empty((len(rows), *self._src.shape[1:]), dtype=np.float32)
        if len(rows):
            out[order] = self._pre.scale_uint8(self._src[rows[order]])
        return out

    def __array__(self, dtype=None, copy=None):
        x = self[np.arange(len(self))]
        return x if dtype is None else x.astype(dtype)

    @property
    def is_memmap(self) -> bool:
        return isinstance(self._src, np.memmap)


def table_cache(n_rows: int, width: int, folder) -> tuple[np.memmap, str]:
    """A zeroed float32 ``(n_rows, width)`` array in a new ``.npy`` file under ``folder``, memory-mapped
    read-write; ``(array, path)``.  The file's space is reserved up front (a full disk is a
    :class:`DataError` here, not a crash on a later write), and the file is deleted when the
    array and every view of it are gone.  Files left by processes that ended (a crash) are
    deleted when the next one is made."""
    folder = Path(folder)
    path = folder / f"table-{os.getpid()}-{uuid.uuid4().hex[:12]}.npy"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale(folder)
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                  "shape": (int(n_rows), int(width))}
        with open(path, "wb") as fh:
            np.lib.format.write_array_header_1_0(fh, header)
            offset = fh.tell()
            size = offset + int(n_rows) * int(width) * 4
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fh.fileno(), 0, size)
            else:
                fh.truncate(size)
    except OSError as exc:
        from engine.files import os_reason  # noqa: PLC0415

        _unlink(str(path))
        size = f"{n_rows * width * 4 / 2**30:.1f}"
        raise DataError(f"cannot write the memory-mapped table in {folder}: {os_reason(exc)} "
                        f"(it needs {size} GiB of disk)") from None
    mm = np.load(path, mmap_mode="r+", allow_pickle=False)
    weakref.finalize(mm, _unlink, str(path))
    return mm, str(path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _remove_stale(folder: Path) -> None:
    for f in folder.glob("table-*-*.npy"):
        try:
            pid = int(f.name.split("-")[1])
            os.kill(pid, 0)
        except ProcessLookupError:
            _unlink(str(f))
        except (ValueError, OSError):
            continue


class Dataset:
    """A loaded data set.  ``x_*`` are float32 arrays (or :class:`ImageArray`), ``y_*``
    int64 class indices ``(N,)`` or float32 regression targets ``(N, k)``.

    Data for a graph with several Input layers has ``x_*`` as ``{input name: array}`` dicts and
    ``input_shapes`` ``{input name: shape}`` (``input_shape`` is then the first input's).
    """

    def __init__(self, *, spec, task: str, input_shape: tuple, n_outputs: int,
                 class_names: list[str] | None, feature_names: list[str] | None,
                 preprocessing: dict, report: list[dict], x: dict, y: dict,
                 split_indices: dict | None = None, cache_path: str | None = None,
                 input_shapes: dict | None = None):
        self.spec = spec
        #: ``{input name: sample shape}`` for several inputs, else ``None``
        self.input_shapes = ({str(k): tuple(int(v) for v in s) for k, s in input_shapes.items()}
                             if input_shapes else None)
        self.task = task
        self.input_shape = tuple(int(v) for v in input_shape)
        self.n_outputs = int(n_outputs)
        self.class_names = list(class_names) if class_names is not None else None
        self.feature_names = list(feature_names) if feature_names is not None else None
        self.preprocessing = preprocessing
        self.report = report
        self.x_train, self.x_val, self.x_test = x["train"], x["val"], x["test"]
        self.y_train, self.y_val, self.y_test = y["train"], y["val"], y["test"]
        #: per split, the positions of its rows in the source (CSV data rows after
        #: dropping, image file list, sample array) -- for inspection and tests
        self.split_indices = split_indices or {}
        #: memory-mapped cache file when images (or a table's float32 features) did not fit the memory budget
        self.cache_path = cache_path
        #: per split, where its ``x`` lies in the memory-mapped ``.npy`` file of a table
        #: (``{"path", "start", "stop"}``, rows), so another process can map the same rows
        self.x_files: dict = {}

    def _check(self, split: str) -> None:
        if split not in SPLITS:
            raise DataError(f"unknown split '{split}' (expected train, val or test)")

    def x(self, split: str):
        self._check(split)
        return getattr(self, f"x_{split}")

    def y(self, split: str) -> np.ndarray:
        self._check(split)
        return getattr(self, f"y_{split}")

    def n(self, split: str) -> int:
        return len(self.y(split))

    def get_batch(self, split: str, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.asarray(idx, dtype=np.int64)
        x = self.x(split)
        if isinstance(x, dict):
            return {k: np.asarray(v[idx], dtype=np.float32) for k, v in x.items()}, self.y(split)[idx]
        xb = x[idx]
        return np.asarray(xb, dtype=np.float32), self.y(split)[idx]

    def summary(self) -> dict:
        counts = {s: self.n(s) for s in SPLITS}
        out = {
            "kind": self.spec.kind, "path": self.spec.path, "task": self.task,
            "input_shape": list(self.input_shape), "n_outputs": self.n_outputs,
            "counts": counts, "total": sum(counts.values()),
            "class_names": self.class_names,
            "n_features": int(np.prod(self.input_shape)),
            "feature_names": self.feature_names,
            "skipped": len(self.report), "memory_mapped": self.cache_path is not None,
        }
        if self.input_shapes:
            out["input_shapes"] = {k: list(v) for k, v in self.input_shapes.items()}
        text = text_summary(self.preprocessing)
        if text:
            out["text_columns"] = text
            out["vocab_size"] = max(t["vocab_size"] for t in text)
        if self.task == "classification":
            k = len(self.class_names)
            out["class_counts"] = {s: {name: int(c) for name, c in
                                       zip(self.class_names, np.bincount(self.y(s), minlength=k))}
                                   for s in SPLITS}
        else:
            out["target_stats"] = {s: ({"mean": [float(v) for v in self.y(s).mean(0)],
                                        "std": [float(v) for v in self.y(s).std(0)],
                                        "min": [float(v) for v in self.y(s).min(0)],
                                        "max": [float(v) for v in self.y(s).max(0)]} if self.n(s) else None)
                                   for s in SPLITS}
        return out

    def __repr__(self) -> str:
        c = {s: self.n(s) for s in SPLITS}
        return f"Dataset({self.spec.kind}:{self.spec.path!r}, {self.task}, input {self.input_shape}, {c})"


def text_summary(preprocessing) -> list[dict]:
    """Per free-text column of a tabular preprocessing: its tokenizer settings and what the fit saw
    (``name, mode, vocab_size, max_len, distinct_tokens, mean_length, median_length, longest,
    truncated_texts, empty_texts, oov_rate_train/val/test``)."""
    cols = preprocessing.get("columns") if isinstance(preprocessing, dict) else None
    out = []
    for c in cols or []:
        if not isinstance(c, dict) or c.get("type") != "text" or not isinstance(c.get("tokenizer"), dict):
            continue
        t = c["tokenizer"]
        r = t.get("report") if isinstance(t.get("report"), dict) else {}
        out.append({"name": str(c.get("name")), "mode": t.get("mode"), "max_len": t.get("max_len"),
                    "vocab_size": len(t.get("tokens") or []) + 2,
                    **{k: r.get(k) for k in ("distinct_tokens", "mean_length", "median_length", "longest",
                                             "truncated_texts", "empty_texts", "oov_rate_train", "oov_rate_val",
                                             "oov_rate_test")}})
    return out
