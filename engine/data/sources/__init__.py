"""The registry of data sources and of saved transforms (issue 12; see ``docs/data.md``, Data sources).

``SOURCES`` maps ``DataSpec.kind`` to its :class:`DataSource` (in the order the data panel lists
them); ``source_for(spec)`` is the one lookup that replaces comparisons with kind strings.
``saved_form(preprocessing)`` gives the :class:`SavedForm` of a saved preprocessing dict (what a
trained model predicts from).  A new source is a module with a ``SOURCE`` and one
:func:`register` call; the data panel's form and the CLI's flags are generated from the
DataSpec option metadata it names.
"""
from __future__ import annotations

from engine.data.sources import images, npz, samples, series, table
from engine.data.sources.base import (
    FORMS,
    PATH_FILE,
    PATH_FOLDER,
    PATH_NAME,
    PREVIEW_IMAGES,
    PREVIEW_SERIES,
    PREVIEW_TABLE,
    SOURCES,
    DataSource,
    SavedForm,
)

__all__ = ["DataSource", "SavedForm", "SOURCES", "FORMS", "register", "register_form", "source_for", "saved_form",
           "unregister", "source_for_path", "PATH_FILE", "PATH_FOLDER", "PATH_NAME", "PREVIEW_TABLE", "PREVIEW_IMAGES", "PREVIEW_SERIES"]


def register(source: DataSource) -> DataSource:
    """Add a source (a kind registered twice is replaced: the newest declaration wins)."""
    SOURCES[source.kind] = source
    return source


def unregister(kind: str) -> None:
    SOURCES.pop(kind, None)


def register_form(form: SavedForm) -> SavedForm:
    FORMS[form.kind] = form
    return form


def source_for(spec_or_kind) -> DataSource:
    """The source of a DataSpec (or of a kind string); raises :class:`DataError` for an unknown kind."""
    kind = spec_or_kind if isinstance(spec_or_kind, str) else getattr(spec_or_kind, "kind", None)
    src = SOURCES.get(kind)
    if src is None:
        from engine.data.errors import DataError  # noqa: PLC0415

        raise DataError(f"unknown data kind '{kind}' (expected one of {', '.join(SOURCES)})")
    return src


def source_for_path(path: str) -> DataSource | None:
    """The source that reads a dropped or opened ``path``: a folder source for a folder, else the first whose
    file patterns (other than ``*``) match the name; ``None``: no source reads it."""
    import fnmatch  # noqa: PLC0415
    import os  # noqa: PLC0415

    folder = os.path.isdir(path)
    name = os.path.basename(str(path)).lower()
    for src in SOURCES.values():
        if folder:
            if src.path == PATH_FOLDER:
                return src
        elif src.path == PATH_FILE and any(p != "*" and fnmatch.fnmatch(name, p)
                                           for _label, pats in src.patterns for p in pats):
            return src
    return None


def saved_form(pre) -> SavedForm | None:
    """The form of a saved preprocessing (a dict, or a ``Preprocessor``); ``None`` if it is none we know."""
    kind = pre.get("kind") if isinstance(pre, dict) else getattr(pre, "kind", None)
    return FORMS.get(kind) if isinstance(kind, str) else None


for _source in (samples.SOURCE, table.SOURCE, images.SOURCE, npz.SOURCE):
    register(_source)
for _form in (table.TABLE_FORM, series.SERIES_FORM, images.IMAGE_FORM, npz.ARRAYS_FORM):
    register_form(_form)
