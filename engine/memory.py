"""Memory pre-check: refuse a model or a training run that cannot fit, before allocating it.

``estimate(analysis, ...)`` adds up, without allocating anything, what building and training
a graph needs:

* the weights of every layer (:meth:`engine.registry.Layer.param_shapes`) and its buffers;
* their gradients (one more copy) and the optimizer's state (Adam/AdamW two copies, RMSprop
  one or two, SGD with momentum one, plain SGD none) -- training only;
* the activations of one batch: every layer's output, kept for the backward pass, and a
  gradient of the same size while it runs (twice the outputs; convolution workspaces come on
  top, so this is a floor);
* the data, when the caller has not loaded it yet.

``check(estimate)`` compares the total with the memory available (``MemAvailable`` of
``/proc/meminfo``; on other systems the free physical pages; ``NNSTUDIO_MEMORY_LIMIT``, e.g.
``6G`` or ``512M``, overrides it) and raises :class:`MemoryCheckError` naming the biggest
contributor, e.g. "Dense 'n2' has 637 M weights (2.4 GB + 4.8 GB Adam state); this machine
has 6.0 GB free".  The check is skipped when the available memory cannot be found.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from engine.compile import Analysis, GraphError, describe
from engine.spec import GraphSpec

#: the environment variable that sets the memory the check allows (bytes, or with K/M/G/T)
LIMIT_ENV = "NNSTUDIO_MEMORY_LIMIT"
#: refuse when the estimate is above this share of the available memory (the rest is for
#: Python, NumPy temporaries, the GUI and the estimate's own error)
SHARE = 0.9
#: optimizer state, in copies of the weights
OPTIMIZER_COPIES = {"sgd": 0, "sgd_momentum": 1, "rmsprop": 1, "rmsprop_momentum": 2, "adam": 2, "adamw": 2}
OPTIMIZER_NAMES = {"sgd": "SGD momentum", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW"}


class MemoryCheckError(GraphError):
    """The model or run would not fit in memory (``node_id``: the biggest layer, if a layer)."""


@dataclass(frozen=True)
class Part:
    """One contributor: ``kind`` is ``"layer"``, ``"activations"`` or ``"data"``."""

    kind: str
    what: str                 # "Dense 'n2'", "activations of one batch of 256", "the data"
    bytes: int
    node_id: str | None = None
    n_weights: int = 0
    weight_bytes: int = 0     # weights and buffers
    grad_bytes: int = 0       # gradients (training)
    opt_bytes: int = 0        # optimizer state (training)
    n_arrays: int = 0         # weight and buffer arrays of the layer


@dataclass
class Estimate:
    parts: list[Part] = field(default_factory=list)
    optimizer: str | None = None

    @property
    def total(self) -> int:
        return sum(p.bytes for p in self.parts)

    def biggest(self) -> Part | None:
        return max(self.parts, key=lambda p: p.bytes, default=None)


def fmt_bytes(n: float) -> str:
    """``2.4 GB``, ``512 MB``, ``3 KB`` (powers of 1000, as a file manager shows them)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            v = n / size
            return f"{v:.1f} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{int(n)} bytes"


def fmt_count(n: int) -> str:
    """``637 M``, ``1.2 G``, ``48 k``, ``512``."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            v = n / size
            return f"{v:.1f} {unit}" if v < 10 else f"{v:.0f} {unit}"
    return str(n)


def optimizer_copies(name: str | None, momentum: float = 0.0) -> int:
    """Copies of the weights an optimizer keeps (its state slots)."""
    if name is None:
        return 0
    key = name.lower()
    if key in ("sgd", "rmsprop") and momentum > 0:
        key += "_momentum"
    return OPTIMIZER_COPIES.get(key, 2)


def estimate(spec: GraphSpec, analysis: Analysis, *, dtype=np.float32, batch_size: int | None = None,
             optimizer: str | None = None, momentum: float = 0.0, data_bytes: int = 0,
             weights_allocated: bool = False) -> Estimate:
    """What building (``batch_size=None``) or training the analysed graph needs, in bytes.

    ``weights_allocated``: the model exists already, so its weights are not counted again.
    """
    item = np.dtype(dtype).itemsize
    copies = optimizer_copies(optimizer, momentum) if batch_size is not None else 0
    est = Estimate(optimizer=optimizer if copies else None)
    act_values = 0
    for nid in analysis.order:
        layer = analysis.layers.get(nid)
        shape = analysis.shapes.get(nid)
        if layer is None or shape is None:
            continue
        act_values += math.prod(shape)
        in_shapes = [analysis.shapes[e.src] for e in spec.inputs_of(nid)]
        if any(s is None for s in in_shapes):
            continue
        w_shapes = list(layer.param_shapes(in_shapes).values())
        buf_shapes = list(layer.state_shapes(in_shapes).values())
        n_w = sum(math.prod(s) for s in w_shapes)
        n_buf = sum(math.prod(s) for s in buf_shapes)
        if not n_w and not n_buf:
            continue
        weight_bytes = 0 if weights_allocated else (n_w + n_buf) * item
        grad_bytes = n_w * item if batch_size is not None else 0
        opt_bytes = n_w * item * copies
        est.parts.append(Part("layer", describe(spec.node(nid)), weight_bytes + grad_bytes + opt_bytes, nid,
                              n_w, weight_bytes, grad_bytes, opt_bytes, len(w_shapes) + len(buf_shapes)))
    if batch_size is not None and act_values:
        est.parts.append(Part("activations", f"the activations of one batch of {batch_size}",
                              2 * act_values * int(batch_size) * item))
    if data_bytes:
        est.parts.append(Part("data", "the data", int(data_bytes)))
    return est


def parse_size(text: str) -> int:
    """``"6G"`` -> 6 000 000 000 (powers of 1000, as messages show sizes); ``"512M"``,
    ``"100000"``, ``"1.5G"``, ``"6GB"``; raises ValueError."""
    t = str(text).strip().upper().removesuffix("B")
    mult = 1
    if t and t[-1] in "KMGT":
        mult = 1000 ** ("KMGT".index(t[-1]) + 1)
        t = t[:-1]
    v = float(t)
    if not math.isfinite(v) or v < 0:
        raise ValueError(text)
    return int(v * mult)


def available_bytes() -> int | None:
    """Memory a new allocation can have: ``NNSTUDIO_MEMORY_LIMIT`` if set, else the system's
    available memory; ``None`` when unknown."""
    limit = os.environ.get(LIMIT_ENV, "").strip()
    if limit:
        try:
            return parse_size(limit)
        except ValueError:
            raise MemoryCheckError(None, f"{LIMIT_ENV}={limit!r} is not a size; use bytes or a number "
                                         "with K, M, G or T (like 6G)") from None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check(est: Estimate, available: int | None = None) -> None:
    """Raise :class:`MemoryCheckError` when ``est`` does not fit in ``available`` bytes
    (default: :func:`available_bytes`)."""
    if available is None:
        available = available_bytes()
    if available is None or est.total <= SHARE * available:
        return
    big = est.biggest()
    available_text = f"this machine has {fmt_bytes(available)} free"
    if os.environ.get(LIMIT_ENV, "").strip():
        available_text = f"the memory limit ({LIMIT_ENV}) is {fmt_bytes(available)}"
    total = fmt_bytes(est.total)
    if big.kind == "layer":
        opt = OPTIMIZER_NAMES.get((est.optimizer or "").lower(), est.optimizer or "optimizer")
        terms = []
        if big.weight_bytes:
            terms.append(fmt_bytes(big.weight_bytes))
        if big.grad_bytes:
            terms.append(f"{fmt_bytes(big.grad_bytes)} gradients")
        if big.opt_bytes:
            terms.append(f"{fmt_bytes(big.opt_bytes)} {opt} state")
        msg = (f"{big.what} has {fmt_count(big.n_weights)} weights ({' + '.join(terms)}); the model needs about "
               f"{total} in all and {available_text}; make the layer smaller")
    elif big.kind == "activations":
        msg = (f"{big.what} need {fmt_bytes(big.bytes)} (about {total} in all) and {available_text}; "
               "use a smaller batch size or smaller layers")
    else:
        msg = (f"{big.what} need {fmt_bytes(big.bytes)} (about {total} in all) and {available_text}; "
               "use fewer rows or columns")
    raise MemoryCheckError(big.node_id, msg)
