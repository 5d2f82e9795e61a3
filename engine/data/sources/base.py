"""What a data source is: one object per kind of data (issue 12).

A :class:`DataSource` declares everything the rest of the program asks about a kind of
data: its ``kind`` (``DataSpec.kind``), a label, how its ``path`` is chosen (a file with
open-dialog patterns, a folder, or a name from a list), which :class:`~engine.data.spec.DataSpec`
options apply to it (``options``, with ``when`` predicates on the spec), how it is previewed and
how it is loaded.  The data panel, the command line and :func:`engine.data.load_dataset` read
these objects instead of comparing kind strings; a new source is one module in this package.

A :class:`SavedForm` is the predict side: what a saved preprocessing dict (by its ``"kind"``)
reads when a trained model predicts new data, and how a file is turned into model input.
Both are light (no pandas, no Pillow): their functions import the readers when called.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: how a source's ``path`` is chosen: a file, a folder, or a name from ``names``
PATH_FILE, PATH_FOLDER, PATH_NAME = "file", "folder", "name"
#: what ``preview(spec)`` returns: a table preview (``preview_csv``), an image-folder scan, a series
PREVIEW_TABLE, PREVIEW_IMAGES, PREVIEW_SERIES = "table", "images", "series"


#: the registry (filled by ``engine.data.sources``, which ``engine.data`` imports): kind -> DataSource,
#: saved preprocessing kind -> SavedForm.  Here, in a module that imports nothing, so that
#: ``DataSpec.validate`` can look a kind up without importing the readers.
SOURCES: dict = {}
FORMS: dict = {}


def _always(_spec) -> bool:
    return True


@dataclass(frozen=True)
class DataSource:
    """One kind of data source (see the module docstring)."""
    kind: str
    label: str                                     # English; translated with engine.i18n
    load: Callable[..., Any]                       # load(spec, progress=, cancel=, memory_budget=, fixed=)
    path: str = PATH_FILE
    patterns: tuple[tuple[str, tuple[str, ...]], ...] = ()   # (label, ("*.csv", ...)) per dialog filter
    dialog_title: str = "Data file"
    options: tuple[str, ...] = ()                  # the DataSpec options that apply to this source
    when: Mapping[str, Callable[[Any], bool]] = field(default_factory=dict)   # option -> applies to spec?
    forced: Callable[[Any], dict] | None = None    # fields this spec always has (a series sample is a series)
    columns: bool = False                          # target/feature/text columns are picked from a table preview
    preview: Callable[..., Any] | None = None      # preview(spec, cancel) -> (PREVIEW_*, payload...)
    names: Callable[[], tuple[str, ...]] | None = None        # PATH_NAME: the names to choose from
    name_labels: Mapping[str, str] = field(default_factory=dict)  # name -> English label
    hint: str = "Choose a file or folder to see a preview."
    preview_when: Callable[[Any], bool] | None = None   # PATH_NAME: which names have a preview (default all)
    claim: Callable[[str], str | None] | None = None   # --data TEXT -> this source's path, or None: not mine
    fallback: bool = False                         # claims what no other source claims (a table file)

    def __post_init__(self):
        object.__setattr__(self, "when", MappingProxyType(dict(self.when)))
        object.__setattr__(self, "name_labels", MappingProxyType(dict(self.name_labels)))

    def applies(self, option: str, spec) -> bool:
        """Whether the DataSpec option ``option`` means something for ``spec`` (a spec of this kind)."""
        return option in self.options and self.when.get(option, _always)(spec)

    def forced_fields(self, spec) -> dict:
        """Fields that ``spec`` has whatever the form says (e.g. ``time_series`` for a series sample)."""
        return dict(self.forced(spec)) if self.forced else {}

    def previews(self, spec) -> bool:
        """Whether ``spec`` has something to preview (a chosen file, or a sample with a preview)."""
        if self.preview is None:
            return False
        if self.path != PATH_NAME:
            return bool(str(spec.path).strip())
        return (self.preview_when or _always)(spec)

    def dialog_filter(self) -> str:
        """The open dialog's filter text, ``"Tables (*.csv *.tsv);;All files (*)"`` (labels in English)."""
        return ";;".join(f"{label} ({' '.join(pats)})" for label, pats in self.patterns)


def table_transform_csv(pre, path, encoding="auto", meta=None, sheet=None):
    """A file of table rows through a saved transform (``csvio.transform_csv``; it names what else a model reads)."""
    from engine.data.csvio import transform_csv  # noqa: PLC0415

    return transform_csv(pre, path, encoding, meta, sheet)


@dataclass(frozen=True)
class SavedForm:
    """What a saved preprocessing dict (by its ``"kind"``) predicts from (see the module docstring)."""
    kind: str                                      # the preprocessing dict's "kind"
    predict_input: str                             # "row" | "image" | "recent rows" | "arrays": the Predict form
    in_app: bool = True                            # the app's Predict tab can use it
    rows: bool = False                             # one row of values can be predicted (``predict_rows``, --row)
    folder: bool = False                           # "predict a file" reads a folder (of images)
    transform_csv: Callable[..., Any] = table_transform_csv  # (pre, path, encoding, meta, sheet) -> (x, frame)
    prediction_columns: Callable[..., Any] | None = None     # (pre_dict, out) -> {column: values} or None
    load: Callable[..., Any] | None = None         # loads new data for this transform whatever the spec's kind
    in_units: Callable[..., Any] | None = None     # (model, pre_dict, y) -> (model, y) with outputs in target units
    named_arrays: bool = False                     # an .npz to predict has x_<input name> arrays

    @property
    def images(self) -> bool:
        """Whether one image file is predicted (opened or dropped on the Predict tab)."""
        return self.predict_input == "image"
