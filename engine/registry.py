"""The layer registry and the layer protocol.

A layer type is a subclass of :class:`Layer` with a frozen-dataclass ``Config``.
The ``Config`` dataclass is the single description of a layer's settings: its
defaults, bounds (``metadata={"min":..., "max":..., "choices":[...], "help": ...}``)
drive validation, the JSON config round trip and the property-editor form.

Layers hold no per-call state: ``forward`` returns the output together with a
``backprop`` closure (Thinc style), and parameters live in the compiled model.

Shapes never include the batch dimension: a Dense layer with 128 units has the
output shape ``(128,)``; an image batch in channels-last layout has ``(H, W, C)``.
"""
from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from engine.errors import UserError

Shape = tuple[int, ...]
Params = dict[str, np.ndarray]
Backprop = Callable[[np.ndarray], tuple[list[np.ndarray], Params]]


class ShapeError(UserError):
    """Raised by ``Layer.output_shape`` with a plain-words message (no node name)."""


class ConfigError(UserError):
    """A layer setting is out of range or of the wrong type."""


class RegistryError(UserError):
    pass


@dataclass
class Ctx:
    """What a forward pass needs besides data: train/eval mode and the run's RNG."""

    train: bool = False
    rng: np.random.Generator | None = None
    #: False when nobody needs dL/dx of this layer's inputs (they are the model's
    #: inputs): a layer may then return ``None`` in place of those gradients.
    need_input_grad: bool = True

    def generator(self) -> np.random.Generator:
        if self.rng is None:
            self.rng = np.random.default_rng(0)
        return self.rng


@dataclass(frozen=True)
class NoConfig:
    pass


class Layer:
    """Base class of every layer type.

    Subclasses set the class attributes and implement ``output_shape`` and
    ``forward``; layers with weights implement ``init_params``; layers with
    non-trainable buffers (BatchNorm running statistics) implement ``init_state``
    and update the buffers in place during a training forward pass.
    """

    type_id: ClassVar[str] = ""
    label: ClassVar[str] = ""
    category: ClassVar[str] = "Core"
    description: ClassVar[str] = ""
    Config: ClassVar[type] = NoConfig
    #: number of inputs; ``None`` means two or more (merge layers)
    n_inputs: ClassVar[int | None] = 1

    def __init__(self, cfg: Any = None):
        self.cfg = cfg if cfg is not None else self.Config()

    # -- shapes and parameters --------------------------------------------------
    def output_shape(self, in_shapes: Sequence[Shape]) -> Shape:
        raise NotImplementedError

    def init_params(self, in_shapes: Sequence[Shape], rng: np.random.Generator,
                    dtype: np.dtype) -> Params:
        return {}

    def init_state(self, in_shapes: Sequence[Shape], dtype: np.dtype) -> Params:
        return {}

    def param_shapes(self, in_shapes: Sequence[Shape]) -> dict[str, Shape]:
        """The shapes ``init_params`` would give, without allocating anything (the memory
        check before building a model).  A layer with parameters implements it; the
        fallback builds the parameters once in float32 to look at them."""
        if type(self).init_params is Layer.init_params:
            return {}
        return {k: tuple(v.shape) for k, v in self.init_params(in_shapes, np.random.default_rng(0), np.float32).items()}

    def state_shapes(self, in_shapes: Sequence[Shape]) -> dict[str, Shape]:
        """The shapes ``init_state`` would give (see :meth:`param_shapes`)."""
        if type(self).init_state is Layer.init_state:
            return {}
        return {k: tuple(v.shape) for k, v in self.init_state(in_shapes, np.float32).items()}

    # -- computation ------------------------------------------------------------------
    def forward(self, params: Params, state: Params, xs: Sequence[np.ndarray],
                ctx: Ctx) -> tuple[np.ndarray, Backprop]:
        raise NotImplementedError

    # -- presentation -----------------------------------------------------------------
    def summary(self) -> str:
        """Key settings shown on the canvas node, e.g. ``"128, relu"``."""
        return ""

    def output_activation(self) -> str | None:
        """Name of a final sigmoid/softmax that a loss may fuse (``None`` if none)."""
        return None

    def without_output_activation(self) -> "Layer | None":
        """This layer with its final activation removed (``None``: identity)."""
        return self


# ------------------------------------------------------------------- the registry
LAYERS: dict[str, type[Layer]] = {}

CATEGORIES = ["Core", "Convolution", "Pooling", "Recurrent", "Attention",
              "Normalisation", "Merge", "Activation"]


def register_layer(cls: type[Layer]) -> type[Layer]:
    """Class decorator: add a layer type under its versioned ``type_id``."""
    tid = cls.type_id
    if not tid or "." not in tid:
        raise RegistryError(f"{cls.__name__}: type_id must look like 'Name.v1', got {tid!r}")
    if tid in LAYERS and LAYERS[tid] is not cls:
        raise RegistryError(f"layer type {tid!r} is already registered")
    if not dataclasses.is_dataclass(cls.Config):
        raise RegistryError(f"{tid}: Config must be a dataclass")
    if cls.category not in CATEGORIES:
        raise RegistryError(f"{tid}: unknown category {cls.category!r}")
    LAYERS[tid] = cls
    return cls


def get_layer_class(type_id: str) -> type[Layer]:
    _ensure_loaded()
    try:
        return LAYERS[type_id]
    except KeyError:
        raise RegistryError(f"unknown layer type {type_id!r}") from None


def all_layers() -> list[type[Layer]]:
    _ensure_loaded()
    return list(LAYERS.values())


def _ensure_loaded() -> None:
    # importing the package registers every built-in layer
    import engine.layers  # noqa: F401


# ----------------------------------------------------------------- config helpers
@dataclass(frozen=True)
class FieldInfo:
    """Everything a form needs to edit one config field."""

    name: str
    kind: str  # "int" | "float" | "bool" | "choice" | "shape" | "str"
    default: Any
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None
    help: str = ""
    label: str = ""
    #: the rest is optional form/CLI metadata (used by TrainConfig; layer configs may use it too)
    group: str = ""                      # section of a generated form, e.g. "Optimizer"
    step: float | None = None            # spin-box step
    decimals: int | None = None          # a float with decimals is a spin box, without a text field
    log: bool = False                    # up/down multiply instead of add (learning rates)
    choice_labels: Mapping[str, str] | None = None  # choice -> words for a menu
    suggestions: tuple | None = None     # "str" fields: usual values (an editable menu), not a closed set
    visible_when: Mapping[str, tuple] | None = None  # other field -> values for which this one matters
    internal: bool = False               # set by the app/CLI itself, not shown as a form field or flag

    def visible(self, values: Mapping[str, Any]) -> bool:
        """Whether the field matters given the other fields' ``values`` (see ``visible_when``)."""
        return all(values.get(k) in allowed for k, allowed in (self.visible_when or {}).items())


def _kind_of(f: dataclasses.Field, hints: Mapping[str, Any]) -> str:
    if "choices" in f.metadata:
        return "choice"
    if f.metadata.get("kind"):
        return f.metadata["kind"]
    t = hints.get(f.name, f.type)
    if t is bool:
        return "bool"
    if t is int:
        return "int"
    if t is float:
        return "float"
    return "str"


def config_fields(config_cls: type) -> list[FieldInfo]:
    return list(_config_fields(config_cls))


@functools.cache
def _config_fields_static(config_cls: type) -> tuple[FieldInfo, ...] | None:
    """The fields of a config class, read once per class (``typing.get_type_hints`` costs
    ~0.15 ms per call, and ``analyse`` builds every node's config on every canvas edit).
    ``None`` when a field has a ``default_factory``: its default must be made fresh per call."""
    if any(f.default_factory is not dataclasses.MISSING for f in fields(config_cls)):  # type: ignore[misc]
        return None
    return tuple(_read_fields(config_cls))


def _config_fields(config_cls: type) -> tuple[FieldInfo, ...]:
    cached = _config_fields_static(config_cls)
    return cached if cached is not None else tuple(_read_fields(config_cls))


def _read_fields(config_cls: type) -> list[FieldInfo]:
    hints = typing.get_type_hints(config_cls)
    out = []
    for f in fields(config_cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        md = f.metadata
        out.append(FieldInfo(
            name=f.name, kind=_kind_of(f, hints), default=default,
            min=md.get("min"), max=md.get("max"),
            choices=tuple(md["choices"]) if "choices" in md else None,
            help=md.get("help", ""), label=md.get("label", f.name.replace("_", " ").capitalize()),
            group=md.get("group", ""), step=md.get("step"), decimals=md.get("decimals"), log=bool(md.get("log")),
            choice_labels=md.get("choice_labels"),
            suggestions=tuple(md["suggestions"]) if "suggestions" in md else None,
            visible_when={k: tuple(v) for k, v in md["visible_when"].items()} if "visible_when" in md else None,
            internal=bool(md.get("internal")),
        ))
    return out


def make_config(config_cls: type, data: Mapping[str, Any] | None) -> Any:
    """Build and validate a config from JSON data; raises :class:`ConfigError`."""
    data = dict(data or {})
    infos = {fi.name: fi for fi in _config_fields(config_cls)}
    unknown = set(data) - set(infos)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values = {}
    for name, fi in infos.items():
        v = data.get(name, fi.default)
        values[name] = _coerce(fi, v)
    cfg = config_cls(**values)
    check = getattr(cfg, "validate", None)
    if check is not None:
        check()
    return cfg


def _coerce(fi: FieldInfo, v: Any) -> Any:
    where = f"setting '{fi.name}'"
    if fi.kind == "bool":
        if isinstance(v, bool):
            return v
        raise ConfigError(f"{where} must be true or false, got {v!r}")
    if fi.kind == "int":
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not v.is_integer()):
            raise ConfigError(f"{where} must be a whole number, got {v!r}")
        v = int(v)
    elif fi.kind == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            raise ConfigError(f"{where} must be a number, got {v!r}")
        v = float(v)
    elif fi.kind == "choice":
        if v not in fi.choices:
            raise ConfigError(f"{where} must be one of {', '.join(map(str, fi.choices))}; got {v!r}")
        return v
    elif fi.kind == "shape":
        if isinstance(v, str):
            try:
                v = [int(p) for p in v.replace("(", "").replace(")", "").replace("x", ",").split(",") if p.strip()]
            except ValueError:
                raise ConfigError(f"{where} must be a list of whole numbers like 28, 28, 1; got {v!r}") from None
        if not isinstance(v, (list, tuple)) or not all(isinstance(p, int) and not isinstance(p, bool) for p in v):
            raise ConfigError(f"{where} must be a list of whole numbers, got {v!r}")
        lo = fi.min if fi.min is not None else 1
        if any(p < lo for p in v):
            raise ConfigError(f"{where}: every size must be at least {lo}, got {list(v)}")
        return tuple(v)
    elif fi.kind == "str":
        if not isinstance(v, str):
            raise ConfigError(f"{where} must be text, got {v!r}")
        return v
    if fi.min is not None and v < fi.min:
        raise ConfigError(f"{where} must be at least {fi.min}, got {v}")
    if fi.max is not None and v > fi.max:
        raise ConfigError(f"{where} must be at most {fi.max}, got {v}")
    return v


def config_to_dict(cfg: Any) -> dict:
    """JSON-able dict of a config (tuples become lists)."""
    out = {}
    for f in fields(cfg):
        v = getattr(cfg, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


def build_layer(type_id: str, config: Mapping[str, Any] | None = None) -> Layer:
    cls = get_layer_class(type_id)
    return cls(make_config(cls.Config, config))
