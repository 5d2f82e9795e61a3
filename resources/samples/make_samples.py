"""Generate the small real data sets shipped in ``resources/samples/`` (run once, by hand).

    python resources/samples/make_samples.py

scikit-learn is needed only to run this script; NN Studio never imports it at run
time.  The data come from scikit-learn's bundled copies (BSD-3-Clause licence) of
UCI Machine Learning Repository data sets; see ``docs/data.md`` for sources.

Each file is a compressed ``.npz`` readable with ``np.load(..., allow_pickle=False)``:

* ``x``             float32 (N, d) for tables, uint8 (N, 8, 8, 1) for digits (values 0..16)
* ``y``             int64 (N,) class index
* ``class_names``   0-d unicode array holding a JSON list of strings
* ``feature_names`` 0-d unicode array holding a JSON list of strings (tables only)
* ``source``        0-d unicode array, a one-line provenance note
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _save(name: str, **arrays) -> None:
    final = HERE / f"{name}.npz"
    tmp = HERE / f".{name}.tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, final)
    print(f"wrote {final} ({final.stat().st_size} bytes)")


def _js(obj) -> np.ndarray:
    return np.array(json.dumps(obj))


def main() -> None:
    from sklearn import datasets  # noqa: PLC0415 - build-time only

    d = datasets.load_digits()
    _save("digits",
          x=d.images.astype(np.uint8).reshape(-1, 8, 8, 1),
          y=d.target.astype(np.int64),
          class_names=_js([str(c) for c in d.target_names]),
          source=np.array("scikit-learn load_digits (UCI Optical Recognition of Handwritten Digits), BSD-3-Clause"))
    for name, loader, note in [
        ("iris", datasets.load_iris, "scikit-learn load_iris (UCI Iris, Fisher 1936), BSD-3-Clause"),
        ("wine", datasets.load_wine, "scikit-learn load_wine (UCI Wine recognition), BSD-3-Clause"),
        ("breast_cancer", datasets.load_breast_cancer,
         "scikit-learn load_breast_cancer (UCI Breast Cancer Wisconsin Diagnostic), BSD-3-Clause"),
    ]:
        b = loader()
        _save(name,
              x=b.data.astype(np.float32),
              y=b.target.astype(np.int64),
              feature_names=_js([str(f) for f in b.feature_names]),
              class_names=_js([str(c) for c in b.target_names]),
              source=np.array(note))


if __name__ == "__main__":
    main()
