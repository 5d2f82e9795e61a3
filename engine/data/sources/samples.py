"""The built-in samples (``kind="sample"``, ``path`` = the sample's name; ``engine.data.samples``).

Generated 2-D points take ``noise`` and ``n_samples``; the text samples have text columns; the
series samples are time series (``time_series`` is always on for them).
"""
from __future__ import annotations

from engine.data.sources.base import PATH_NAME, PREVIEW_SERIES, DataSource
from engine.data.sources.table import SERIES_OPTIONS

#: English labels of the samples (the names are those of ``sample:NAME``)
LABELS = {"xor": "XOR (2-D points)", "circles": "circles (2-D points)", "moons": "moons (2-D points)",
          "spirals": "two spirals (2-D points)", "blobs": "blobs (2-D points)", "digits": "digits (8x8 images)",
          "iris": "iris flowers (table)", "wine": "wine (table)", "breast_cancer": "breast cancer (table)",
          "sentiment": "film reviews, English (text, generated)",
          "sentiment_zh": "film reviews, Chinese (text, generated)",
          "seasonal": "seasonal demand (hourly time series, generated)"}


def sample_name(spec) -> str:
    return str(spec.path).strip().lower().removeprefix("sample:")


def _in(names_attr: str):
    def test(spec) -> bool:
        from engine.data import samples  # noqa: PLC0415 - light: constants and NumPy

        return sample_name(spec) in getattr(samples, names_attr)
    return test


is_toy, is_text, is_series = _in("TOY_NAMES"), _in("TEXT_SAMPLES"), _in("SERIES_NAMES")


def names() -> tuple[str, ...]:
    from engine.data.samples import SAMPLE_NAMES  # noqa: PLC0415

    return tuple(SAMPLE_NAMES)


def load(spec, *, progress=None, cancel=None, memory_budget=None, fixed=None):
    if spec.time_series or is_series(spec):
        from engine.data.timeseries import load_series  # noqa: PLC0415

        return load_series(spec, progress=progress, cancel=cancel, fixed=fixed)
    from engine.data.arrays import load_sample  # noqa: PLC0415

    ds = load_sample(spec, memory_budget, fixed)
    if progress:
        progress(1, 1)
    return ds


def preview(spec, cancel=None):
    """A series sample: its rows (the data panel counts the windows); other samples have no preview."""
    from engine.data.timeseries import preview_series  # noqa: PLC0415

    return (PREVIEW_SERIES, preview_series(spec))


SOURCE = DataSource(
    kind="sample", label="Built-in sample", load=load, path=PATH_NAME, preview=preview, names=names,
    name_labels=LABELS, hint="Built-in sample: press Load data.",
    options=("task", "val_split", "test_split", "seed", "scaling", "noise", "n_samples", "text_mode", "text_vocab",
             "text_max_len") + SERIES_OPTIONS,
    when={"noise": is_toy, "n_samples": is_toy, "text_mode": is_text, "text_vocab": is_text, "text_max_len": is_text,
          "time_series": is_series, "time_column": lambda s: False, "window": is_series, "horizon": is_series,
          "stride": is_series},
    preview_when=is_series,
    forced=lambda s: {"time_series": True} if is_series(s) else {},
    claim=lambda d: d.split(":", 1)[1].strip().lower() if d.lower().startswith("sample:") else None,
)
