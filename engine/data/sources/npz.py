"""NumPy ``.npz`` files (``kind="npz"``): ``x``/``y`` arrays, or ``x_<input name>`` arrays per Input."""
from __future__ import annotations

from engine.data.sources.base import PATH_FILE, DataSource, SavedForm


def load(spec, *, progress=None, cancel=None, memory_budget=None, fixed=None):
    from engine.data.arrays import load_npz  # noqa: PLC0415

    ds = load_npz(spec, memory_budget, fixed)
    if progress:
        progress(1, 1)
    return ds


SOURCE = DataSource(
    kind="npz", label="NumPy .npz file", load=load, path=PATH_FILE, patterns=(("NumPy files", ("*.npz",)),),
    options=("task", "val_split", "test_split", "seed", "scaling"),
    hint="Choose a file to load: an .npz file has no preview.",
    claim=lambda d: d if d.lower().endswith(".npz") else None,
)

#: named arrays (x_<input name>): predicted from an .npz with the same arrays, not in the app's Predict tab
ARRAYS_FORM = SavedForm(kind="arrays", predict_input="arrays", in_app=False, named_arrays=True)
