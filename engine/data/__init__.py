"""Data import: CSV files, image folders, .npz arrays and built-in samples.

Public API (see ``docs/data.md``)::

    from engine.data import DataSpec, load_dataset
    ds = load_dataset(DataSpec(kind="sample", path="xor"))
    ds.x_train, ds.y_train, ds.get_batch("train", idx), ds.summary()
    pre = Preprocessor.from_dict(ds.preprocessing)   # what predict/export use

``DataSpec``, the errors and ``Dataset`` are light; the loaders (pandas, Pillow) are
imported the first time one of their names is used, so that ``from engine.data import
DataSpec`` at the app's start does not load pandas.
"""
from importlib import import_module

from engine.data import sources  # noqa: F401 - registers the data sources (declarations only)
from engine.data.dataset import Dataset, ImageArray
from engine.data.errors import DataError, LoadCancelled
from engine.data.spec import DataSpec

_LAZY = {
    "preview_csv": "engine.data.csvio", "load_image": "engine.data.images",
    "scan_image_folder": "engine.data.images", "load_dataset": "engine.data.loader",
    "Preprocessor": "engine.data.preprocess", "SAMPLE_NAMES": "engine.data.samples",
    "make_toy": "engine.data.samples",
}

__all__ = ["DataError", "LoadCancelled", "Dataset", "ImageArray", "DataSpec", "load_dataset", "SAMPLE_NAMES",
           "Preprocessor", "preview_csv", "scan_image_folder", "load_image", "make_toy"]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine.data' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
