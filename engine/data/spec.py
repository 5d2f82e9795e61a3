"""DataSpec: the JSON-able description of a data source that a project stores."""
from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass
from typing import Any

from engine.data.encoding import ENCODINGS
from engine.data.encoding import label as encoding_label
from engine.data.errors import DataError
from engine.data.sources.base import SOURCES
from engine.data.text import MAX_LEN as TEXT_MAX_LEN
from engine.data.text import MAX_TOKENS as TEXT_MAX_TOKENS
from engine.data.text import MIN_TOKENS as TEXT_MIN_TOKENS
from engine.data.text import MODES as TEXT_MODES

TASKS = ("classification", "regression")
SCALINGS = ("standard", "minmax", "none")
MISSING = ("mean", "median", "drop")
MAX_WINDOW = 100_000   # time series: the longest window (and stride)
MAX_HORIZON = 10_000   # and the longest forecast horizon


_SERIES = {"time_series": True}   # these options turn time series on


def _option(default, help: str, *, cli: bool = True, group: str = "data", kind: str | None = None,
            metavar: str | None = None, implies: dict | None = None, **md):
    """A DataSpec field with its CLI metadata (read by :func:`data_options`): one line per option.

    ``kind`` is the value's form on the command line when the type does not say it: ``"list"``
    (comma-separated names), ``"size"`` (``28x28``), ``"groups"`` (``num=a,b;text=c``);
    ``implies`` are other fields a given flag sets too (``--window`` turns time series on);
    ``cli=False``: no flag (``kind``/``path`` come from ``--data``); ``flag``: a flag name other than
    the field's (``--data-seed``: ``--seed`` is the training seed)."""
    meta = {"help": help, "group": group, "cli": cli, "metavar": metavar, "implies": dict(implies or {}), **md}
    if kind:
        meta["kind"] = kind
    return dataclasses.field(default=default, metadata=meta)


#: form metadata of an option (the data panel is generated from it, as the property editor from a layer's config):
#: ``step``/``decimals`` of a spin box; ``choice_labels`` (value -> English label; a ``None`` key adds that item
#: first); ``placeholder``; ``widget``: ``"column"`` (a column of the previewed table), ``"columns"`` (ticked
#: columns), ``"sheet"`` (a sheet of the previewed workbook); ``none_label``: the column box's ``None`` item;
#: ``toggles_group``: the option is its group's check box; ``preview``: changing it reads the preview again;
#: ``per_file``: back to the default when another file is chosen
PANEL_KEYS = ("step", "decimals", "choice_labels", "placeholder", "widget", "none_label", "toggles_group", "preview",
              "per_file")


@dataclass(frozen=True)
class DataOption:
    """One DataSpec field as a command-line option (and, later, a data-panel field)."""
    name: str
    kind: str          # "str" | "int" | "float" | "bool" | "choice" | "list" | "size" | "groups"
    default: Any
    help: str
    group: str
    metavar: str | None
    choices: tuple | None
    min: float | None
    max: float | None
    suggestions: tuple | None
    implies: dict
    flag_name: str | None = None
    label: str = ""                # the data panel's row label (English; engine.i18n translates it)
    panel: dict = dataclasses.field(default_factory=dict)   # the rest of the form metadata (see _option)

    @property
    def flag(self) -> str:
        return self.flag_name or "--" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        """The argparse destination (the flag's, so ``--data-seed`` never meets the training ``--seed``)."""
        return self.flag[2:].replace("-", "_")

    def parse(self, value: Any) -> Any:
        """A flag's text as the field's value (``None``: not given)."""
        if value is None or self.kind in ("str", "int", "float", "bool", "choice", "size"):
            return value   # argparse typed it; a size string is parsed by DataSpec itself
        if self.kind == "list":
            return [c.strip() for c in str(value).split(",") if c.strip()]
        if self.kind == "groups":
            return parse_inputs(value)
        raise ValueError(self.kind)


def data_options(include_internal: bool = False) -> list[DataOption]:
    """Every DataSpec field that has a command-line flag (and a data-panel field), in declaration order."""
    hints = typing.get_type_hints(DataSpec)
    out = []
    for f in dataclasses.fields(DataSpec):
        md = f.metadata
        if not md.get("cli", True) and not include_internal:
            continue
        kind = md.get("kind") or ("choice" if "choices" in md else {bool: "bool", int: "int", float: "float"}.get(
            hints.get(f.name), "bool" if hints.get(f.name) == (bool | None) else "str"))
        out.append(DataOption(f.name, kind, f.default, md.get("help", ""), md.get("group", "data"), md.get("metavar"),
                              tuple(md["choices"]) if "choices" in md else None, md.get("min"), md.get("max"),
                              tuple(md["suggestions"]) if "suggestions" in md else None, dict(md.get("implies", {})),
                              md.get("flag"), md.get("label") or f.name.replace("_", " "),
                              {k: md[k] for k in PANEL_KEYS if k in md}))
    return out


@dataclass
class DataSpec:
    """Where the data comes from and how to prepare it.

    ``kind`` is ``"csv"``, ``"images"``, ``"sample"`` (``path`` is then a name from
    :data:`engine.data.SAMPLE_NAMES`) or ``"npz"``.  ``task=None`` means "propose one".
    ``image_size`` is ``(height, width)``; ``None`` picks a size (see ``docs/data.md``).
    ``grayscale=None`` picks grayscale when every image is grayscale.
    ``encoding`` is the text encoding of a CSV: ``"auto"`` (detected, see
    :mod:`engine.data.encoding`) or a codec name such as ``"gb18030"``.
    ``kind="csv"`` also reads ``.xlsx``/``.xlsm`` workbooks; ``sheet`` names the sheet
    (``None``: the first).

    Text columns (see :mod:`engine.data.text` and ``docs/data.md``): ``text_columns`` names the
    CSV columns read as free text (``None``: detected; ``[]``: none), tokenised with
    ``text_mode`` (``auto``/``word``/``char``), at most ``text_vocab`` ids and ``text_max_len``
    tokens (``None``: the 95th percentile of the training texts).

    ``inputs`` assigns feature columns to the named Input layers of a graph with several inputs
    (``{"num": ["age", "stars"], "text": ["review"]}``); ``None``: one input.
    """

    kind: str = _option(dataclasses.MISSING, "csv, images, sample or npz (from --data)", cli=False)
    path: str = _option("", "the file, folder or sample name (from --data)", cli=False)
    encoding: str = _option("auto", "text encoding of a CSV (default auto: detected)", metavar="NAME",
                            suggestions=ENCODINGS, label="encoding", per_file=True, preview=True,
                            choice_labels={"auto": "Auto", **{e: encoding_label(e) for e in ENCODINGS}})
    sheet: str | None = _option(None, "sheet of an .xlsx workbook (default: the first)", metavar="NAME",
                                label="sheet", widget="sheet", per_file=True, preview=True)
    target: str | None = _option(None, "CSV target column (default: the last column)", metavar="COLUMN",
                                 label="target", widget="column")
    features: list[str] | None = _option(None, "comma-separated CSV feature columns (default: all others)",
                                         kind="list", metavar="COLS", label="features", widget="columns")
    task: str | None = _option(None, "override the detected task", choices=TASKS, label="task",
                               choice_labels={None: "auto"})
    val_split: float = _option(0.2, "fraction of rows for validation", min=0.0, max=0.99, label="validation split",
                               step=0.05, decimals=2)
    test_split: float = _option(0.0, "fraction of rows for the test split", min=0.0, max=0.99, label="test split",
                                step=0.05, decimals=2)
    seed: int = _option(0, "random seed of the split and of generated samples", flag="--data-seed", metavar="N",
                        min=0, max=2**32 - 1, label="seed")
    image_size: tuple[int, int] | None = _option(None, "resize images, e.g. 28x28 or 28 (default: picked, see "
                                                 "docs/data.md)", kind="size", metavar="HxW", group="images",
                                                 label="image size", placeholder="auto, e.g. 28x28")
    grayscale: bool | None = _option(None, "convert images to one channel (default: when every image is grey)",
                                     group="images", label="colour",
                                     choice_labels={None: "auto", True: "grayscale", False: "colour"})
    scaling: str = _option("standard", "input scaling fitted on the training split ('none' for token ids)",
                           choices=SCALINGS, label="scaling",
                           choice_labels={"standard": "standard (mean 0, std 1)", "minmax": "min-max (0 to 1)"})
    missing: str = _option("mean", "missing numbers in a table: filled with the training mean or median, or the "
                           "row dropped", choices=MISSING, label="missing values",
                           choice_labels={"mean": "fill with the mean", "median": "fill with the median",
                                          "drop": "drop the row"})
    #: time series (``engine.data.timeseries``): rows are time steps, cut into windows of
    #: ``window`` rows whose targets are the ``horizon`` rows after them, one every ``stride``
    #: rows; ``time_column`` orders them (``None``: the row order)
    time_series: bool = _option(False, "cut the rows into windows of past steps that predict the next steps "
                                "(chronological split)", group="time series", label="time series", toggles_group=True,
                                preview=True)
    time_column: str | None = _option(None, "the date/time (or number) column that orders the rows (default: the "
                                      "row order)", metavar="COLUMN", group="time series", implies=_SERIES,
                                      label="time column", widget="column", none_label="(row order)", preview=True)
    window: int = _option(24, "rows per input window", min=1, max=MAX_WINDOW, metavar="N", group="time series",
                          implies=_SERIES, label="window")
    horizon: int = _option(1, "steps to predict after each window", min=1, max=MAX_HORIZON, metavar="N",
                           group="time series", implies=_SERIES, label="horizon")
    stride: int = _option(1, "rows between the starts of two windows", min=1, max=MAX_WINDOW, metavar="N",
                          group="time series", implies=_SERIES, label="stride")
    noise: float = _option(0.1, "noise of a generated sample (sample:xor, circles, moons, spirals, blobs)",
                           min=0.0, max=10.0, group="generated data", label="noise", step=0.05, decimals=2)
    n_samples: int = _option(500, "points of a generated sample", min=4, max=10_000_000, metavar="N",
                             group="generated data", label="samples", step=100)
    text_columns: list[str] | None = _option(None, "comma-separated columns read as free text (default: detected; "
                                             "'' for none)", kind="list", metavar="COLS", group="text columns",
                                             label="text columns", widget="columns")
    text_mode: str = _option("auto", "tokens: words (CJK characters one each), characters, or auto (characters "
                             "for mostly Chinese/Japanese/Korean text)", choices=TEXT_MODES, group="text columns",
                             label="tokens", choice_labels={"auto": "auto (characters for Chinese, Japanese, Korean)",
                                                            "word": "words", "char": "characters"})
    text_vocab: int = _option(20_000, "vocabulary size cap, padding and unknown-token ids included", metavar="N",
                              group="text columns", label="vocabulary", min=TEXT_MIN_TOKENS, max=TEXT_MAX_TOKENS,
                              step=1000)
    text_max_len: int | None = _option(None, "tokens kept per text; longer texts are cut (default: the 95th "
                                       "percentile of the training texts, at most 512)", kind="int", metavar="N",
                                       group="text columns", label="max length", min=1, max=TEXT_MAX_LEN)
    inputs: dict[str, list[str]] | None = _option(None, "feed a graph with several Input layers: CSV columns per "
                                                  "Input name, e.g. 'num=age,stars;text=review' (each Input layer "
                                                  "named after its group)", kind="groups", metavar="GROUPS",
                                                  label="inputs",
                                                  placeholder="one input; for several: num=age,stars; text=review")

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["features"] = list(self.features) if self.features is not None else None
        d["image_size"] = [int(v) for v in self.image_size] if self.image_size is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DataSpec":
        if not isinstance(d, dict) or "kind" not in d:
            raise DataError("data description must be a JSON object with a 'kind'")
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}  # unknown keys: written by a newer version
        if kw.get("image_size") is not None:
            kw["image_size"] = _parse_size(kw["image_size"])
        if kw.get("features") is not None:
            kw["features"] = [str(f) for f in kw["features"]]
        if isinstance(kw.get("text_columns"), list):
            kw["text_columns"] = [str(f) for f in kw["text_columns"]]
        if isinstance(kw.get("inputs"), dict):
            kw["inputs"] = {str(k): [str(c) for c in v] if isinstance(v, list) else v for k, v in kw["inputs"].items()}
        spec = cls(**kw)
        spec.validate()
        return spec

    # ------------------------------------------------------------------ checks
    def validate(self) -> "DataSpec":
        """Raise :class:`DataError` for settings that cannot work; return self."""
        source = SOURCES.get(self.kind)
        if source is None:
            raise DataError(f"unknown data kind '{self.kind}' (expected one of {', '.join(SOURCES)})")
        if self.task is not None and self.task not in TASKS:
            raise DataError(f"unknown task '{self.task}' (expected classification or regression)")
        if self.scaling not in SCALINGS:
            raise DataError(f"unknown scaling '{self.scaling}' (expected one of {', '.join(SCALINGS)})")
        if self.missing not in MISSING:
            raise DataError(f"unknown missing-value handling '{self.missing}' (expected one of {', '.join(MISSING)})")
        for name in ("val_split", "test_split"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not 0.0 <= float(v) < 1.0:
                raise DataError(f"{name} must be a fraction in [0, 1), got {v!r}")
        if self.val_split + self.test_split >= 1.0:
            raise DataError(f"val_split + test_split must be below 1 (got {self.val_split} + {self.test_split})")
        self._validate_series(source)
        if self.image_size is not None:
            self.image_size = _parse_size(self.image_size)
        if not isinstance(self.n_samples, int) or self.n_samples < 4:
            raise DataError(f"n_samples must be an integer >= 4, got {self.n_samples!r}")
        if not isinstance(self.noise, (int, float)) or self.noise < 0:
            raise DataError(f"noise must be >= 0, got {self.noise!r}")
        from engine.data.encoding import normalise  # noqa: PLC0415

        self.encoding = normalise(self.encoding)
        if self.sheet is not None and not isinstance(self.sheet, str):
            raise DataError(f"sheet must be a sheet name, got {self.sheet!r}")
        self._validate_text()
        return self

    def _validate_series(self, source) -> None:
        if not isinstance(self.time_series, bool):
            raise DataError(f"time_series must be true or false, got {self.time_series!r}")
        for name, top in (("window", MAX_WINDOW), ("horizon", MAX_HORIZON), ("stride", MAX_WINDOW)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= top:
                raise DataError(f"{name} must be a whole number from 1 to {top}, got {v!r}")
        if self.time_column is not None and not isinstance(self.time_column, str):
            raise DataError(f"time_column must be a column name, got {self.time_column!r}")
        if self.time_series and "time_series" not in source.options:
            raise DataError(f"time-series windows are made from a CSV or Excel file, not from {self.kind} data")


    def _validate_text(self) -> None:
        from engine.data.text import MAX_LEN, MAX_TOKENS, MIN_TOKENS, MODES  # noqa: PLC0415

        if self.text_columns is not None and (not isinstance(self.text_columns, list)
                                              or not all(isinstance(c, str) for c in self.text_columns)):
            raise DataError(f"text_columns must be a list of column names, got {self.text_columns!r}")
        if self.text_mode not in MODES:
            raise DataError(f"unknown text tokenization {self.text_mode!r}; choose one of {', '.join(MODES)}")
        v = self.text_vocab
        if isinstance(v, bool) or not isinstance(v, int) or not MIN_TOKENS <= v <= MAX_TOKENS:
            raise DataError(f"the vocabulary size must be between {MIN_TOKENS} and {MAX_TOKENS:,}, got {v!r}")
        v = self.text_max_len
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_LEN):
            raise DataError(f"the sequence length must be between 1 and {MAX_LEN}, got {v!r}")
        if self.inputs is not None:
            self.inputs = _check_inputs(self.inputs)

    # ------------------------------------------------------------------ CLI
    @staticmethod
    def parse_cli(data: str, **kw: Any) -> "DataSpec":
        """The source that claims ``data`` (``engine.data.sources``): ``"sample:xor"`` -> sample; an existing folder
        -> images; ``*.npz`` -> npz; else csv (also .xlsx).

        Keyword arguments set the other fields; ``None`` values are ignored so that a
        CLI can pass its unset options straight through.  ``image_size`` may be
        ``"28x28"``, ``28`` or ``(28, 28)``; ``features`` may be a comma-separated string.
        """
        data = str(data).strip()
        kind, path = claim_data(data)
        kw = {k: v for k, v in kw.items() if v is not None}
        names = {f.name for f in dataclasses.fields(DataSpec)} - {"kind", "path"}
        unknown = set(kw) - names
        if unknown:
            raise DataError(f"unknown data option(s): {', '.join(sorted(unknown))}")
        if "image_size" in kw:
            kw["image_size"] = _parse_size(kw["image_size"])
        if isinstance(kw.get("features"), str):
            kw["features"] = [f.strip() for f in kw["features"].split(",") if f.strip()]
        if isinstance(kw.get("text_columns"), str):
            kw["text_columns"] = [f.strip() for f in kw["text_columns"].split(",") if f.strip()]
        if isinstance(kw.get("inputs"), str):
            kw["inputs"] = parse_inputs(kw["inputs"])
        return DataSpec(kind=kind, path=path, **kw).validate()


def claim_data(data: str) -> tuple[str, str]:
    """``--data TEXT`` -> ``(kind, path)``: the first source that claims it, else the fallback (a table file)."""
    ordered = sorted(SOURCES.values(), key=lambda src: src.fallback)
    for src in ordered:
        path = src.claim(data) if src.claim is not None else None
        if path is not None:
            return src.kind, path
    raise DataError(f"{data}: not a data source (a CSV or Excel file, an image folder, an .npz file or sample:NAME)")


def parse_inputs(text: str) -> dict[str, list[str]]:
    """``"num=age,stars; text=review"`` -> ``{"num": ["age", "stars"], "text": ["review"]}``."""
    out: dict[str, list[str]] = {}
    for part in str(text).split(";"):
        if not part.strip():
            continue
        name, eq, cols = part.partition("=")
        name = name.strip()
        if not eq or not name:
            raise DataError(f"inputs must be groups such as num=a,b;t=c (Input name = columns), got {part.strip()!r}")
        if name in out:
            raise DataError(f"input '{name}' is given twice")
        out[name] = [c.strip() for c in cols.split(",") if c.strip()]
    return _check_inputs(out)


def _check_inputs(inputs: Any) -> dict[str, list[str]]:
    if not isinstance(inputs, dict) or not inputs:
        raise DataError("inputs must map each Input layer's name to a list of columns")
    seen: dict[str, str] = {}
    for name, cols in inputs.items():
        if not isinstance(name, str) or not name.strip():
            raise DataError("every input needs a name (the name of its Input layer)")
        if not isinstance(cols, list) or not cols or not all(isinstance(c, str) for c in cols):
            raise DataError(f"input '{name}' needs a list of one or more columns")
        for c in cols:
            if c in seen:
                raise DataError(f"column '{c}' is in two inputs ('{seen[c]}' and '{name}')")
            seen[c] = name
    return {str(k): list(v) for k, v in inputs.items()}


def _parse_size(v: Any) -> tuple[int, int]:
    try:
        if isinstance(v, str):
            parts = [p for p in re.split(r"[x×X*, ]+", v.strip()) if p]
            vals = [int(p) for p in parts]
        elif isinstance(v, (int, float)):
            vals = [int(v)]
        else:
            vals = [int(p) for p in v]
    except (TypeError, ValueError):
        raise DataError(f"image size must look like 28x28, got {v!r}") from None
    if len(vals) == 1:
        vals = vals * 2
    if len(vals) != 2 or not all(1 <= p <= 4096 for p in vals):
        raise DataError(f"image size must be two integers between 1 and 4096, got {v!r}")
    return (vals[0], vals[1])
