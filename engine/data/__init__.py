"""Data import: CSV files, image folders, .npz arrays and built-in samples.

Public API (see ``docs/data.md``)::

    from engine.data import DataSpec, load_dataset
    ds = load_dataset(DataSpec(kind="sample", path="xor"))
    ds.x_train, ds.y_train, ds.get_batch("train", idx), ds.summary()
    pre = Preprocessor.from_dict(ds.preprocessing)   # what predict/export use
"""
from engine.data.csvio import preview_csv
from engine.data.dataset import Dataset, ImageArray
from engine.data.errors import DataError, LoadCancelled
from engine.data.images import load_image, scan_image_folder
from engine.data.loader import load_dataset
from engine.data.preprocess import Preprocessor
from engine.data.samples import SAMPLE_NAMES, make_toy
from engine.data.spec import DataSpec

__all__ = ["DataError", "LoadCancelled", "Dataset", "ImageArray", "DataSpec", "load_dataset", "SAMPLE_NAMES",
           "Preprocessor", "preview_csv", "scan_image_folder", "load_image", "make_toy"]
