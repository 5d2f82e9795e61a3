"""Optimizers, learning-rate schedules, gradient clipping and weight penalties.

Parameters and gradients are flat dicts ``"n3/W" -> ndarray`` (see
``CompiledModel.trainable()``); :meth:`Optimizer.step` updates the parameter
arrays *in place*, so the model sees the new values without copying.

Every update rule follows PyTorch's documented algorithm (``torch.optim.SGD``,
``RMSprop``, ``Adam``, ``AdamW`` with their default flags: no dampening, not
centered, no amsgrad), so a run here and a run in PyTorch agree to rounding.
As in tinygrad, each family has one implementation and the names are thin
factories over it: ``adam`` and ``adamw`` are the same class, ``adamw`` with a
decoupled weight decay.

The per-element work of one step runs in small fused Numba kernels over the
flattened arrays (one pass over memory instead of eight NumPy passes; about 3x
faster than in-place NumPy for 20k-200k floats, and far faster for small
arrays).  Scalars are cast to the parameter dtype first, so float32 models are
updated in float32 arithmetic, like PyTorch.  Each kernel has a plain NumPy
reference ``naive_*`` that the tests compare it with.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping

import numpy as np

from engine.errors import UserError
from engine.lazy import lazy_njit

OPTIMIZER_NAMES = ("sgd", "rmsprop", "adam", "adamw")
SCHEDULE_NAMES = ("constant", "step", "exponential", "cosine")

#: plain-words names for menus
OPTIMIZER_LABELS = {"sgd": "SGD (with optional momentum)", "rmsprop": "RMSprop",
                    "adam": "Adam", "adamw": "AdamW (decoupled weight decay)"}
#: learning rate used when none is given
DEFAULT_LR = {"sgd": 0.01, "rmsprop": 0.001, "adam": 0.001, "adamw": 0.001}


class OptimizerError(UserError):
    """A bad optimizer/schedule setting or an optimizer state that does not fit (one line)."""


# =================================================================== kernels
# All kernels work on 1-D C-contiguous arrays of one dtype; every scalar is
# already of that dtype (so float32 stays float32).  error_model="numpy" drops
# the division-by-zero checks, which lets LLVM vectorise the loops.

@lazy_njit(cache=True, nogil=True, error_model="numpy")
def sgd_kernel(p, g, buf, lr, momentum, nesterov, first):
    """In-place SGD step; ``buf`` is the momentum buffer (unused when momentum == 0)."""
    if momentum == 0:
        for i in range(p.size):
            p[i] = p[i] - lr * g[i]
        return
    for i in range(p.size):
        gi = g[i]
        if first:
            b = gi
        else:
            b = momentum * buf[i] + gi
        buf[i] = b
        if nesterov:
            d = gi + momentum * b
        else:
            d = b
        p[i] = p[i] - lr * d


def naive_sgd_step(p, g, buf, lr, momentum, nesterov, first):
    """NumPy reference of :func:`sgd_kernel`; returns new ``(p, buf)``."""
    if momentum == 0:
        return p - lr * g, buf
    b = g.copy() if first else momentum * buf + g
    d = g + momentum * b if nesterov else b
    return p - lr * d, b


@lazy_njit(cache=True, nogil=True, error_model="numpy")
def rmsprop_kernel(p, g, sq, buf, lr, alpha, one_minus_alpha, eps, momentum):
    """In-place RMSprop step (PyTorch semantics, not centered)."""
    for i in range(p.size):
        gi = g[i]
        s = alpha * sq[i] + one_minus_alpha * (gi * gi)
        sq[i] = s
        avg = np.sqrt(s) + eps
        if momentum > 0:
            b = momentum * buf[i] + gi / avg
            buf[i] = b
            p[i] = p[i] - lr * b
        else:
            p[i] = p[i] - lr * (gi / avg)


def naive_rmsprop_step(p, g, sq, buf, lr, alpha, eps, momentum):
    """NumPy reference of :func:`rmsprop_kernel`; returns new ``(p, sq, buf)``."""
    sq = alpha * sq + (1 - alpha) * g * g
    avg = np.sqrt(sq) + eps
    if momentum > 0:
        buf = momentum * buf + g / avg
        return p - lr * buf, sq, buf
    return p - lr * (g / avg), sq, buf


@lazy_njit(cache=True, nogil=True, error_model="numpy")
def adam_kernel(p, g, m, v, step_size, beta2, one_minus_beta1, one_minus_beta2,
                bc2_sqrt, eps, decay):
    """In-place Adam/AdamW step; ``decay = 1 - lr * weight_decay`` (1 for Adam)."""
    for i in range(p.size):
        gi = g[i]
        mi = m[i]
        mi = mi + one_minus_beta1 * (gi - mi)          # torch: exp_avg.lerp_(grad, 1 - beta1)
        vi = beta2 * v[i] + one_minus_beta2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        denom = np.sqrt(vi) / bc2_sqrt + eps
        p[i] = p[i] * decay - step_size * (mi / denom)


def naive_adam_step(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay=0.0):
    """NumPy reference of :func:`adam_kernel` at step ``t`` (1-based); returns ``(p, m, v)``."""
    p = p * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


# ================================================================ optimizers
def _flat(a: np.ndarray) -> np.ndarray:
    """A 1-D view of a C-contiguous array (writes go through to ``a``)."""
    return a.reshape(-1)


class Optimizer:
    """Base class: per-parameter state ("slots"), a step counter and hyperparameters.

    Attributes
    ----------
    name : str
        One of :data:`OPTIMIZER_NAMES`.
    lr : float
        Learning rate; a schedule may set it before every step.
    hyper : dict
        The other hyperparameters (JSON-able scalars).
    t : int
        Number of :meth:`step` calls so far (PyTorch's ``step``; used for
        Adam's bias correction).
    """

    #: names of the per-parameter state arrays, in kernel order
    slot_names: tuple[str, ...] = ()

    def __init__(self, name: str, lr: float, **hyper):
        self.name = name
        self.lr = _positive("lr", lr)
        self.hyper: dict = dict(hyper)
        self.t = 0
        self.slots: dict[str, dict[str, np.ndarray]] = {}  # param key -> slot name -> array

    # ------------------------------------------------------------------ stepping
    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Apply one update to every parameter that has a gradient, in place.

        Parameters without an entry in ``grads`` are left alone (and so is
        their state).

        Raises
        ------
        OptimizerError
            For a gradient of an unknown parameter or of the wrong shape.
        """
        lr = float(self.lr)
        if not math.isfinite(lr) or lr < 0:
            raise OptimizerError(f"learning rate must be a non-negative number, got {lr:g}")
        self.t += 1
        for key, g in grads.items():
            p = params.get(key)
            if p is None:
                raise OptimizerError(f"got a gradient for {key!r}, which is not a parameter")
            if g.shape != p.shape:
                raise OptimizerError(f"gradient for {key} has shape {g.shape}, the parameter has {p.shape}")
            if p.size == 0:
                continue
            g = np.ascontiguousarray(g, dtype=p.dtype)
            slots = self.slots.get(key)
            first = slots is None
            if first:
                slots = {s: np.zeros(p.shape, dtype=p.dtype) for s in self._slots_needed()}
                self.slots[key] = slots
            else:
                for s, arr in slots.items():
                    if arr.shape != p.shape or arr.dtype != p.dtype:
                        if arr.shape != p.shape:
                            raise OptimizerError(f"optimizer state {s}/{key} has shape {arr.shape}, "
                                                 f"the parameter has {p.shape}")
                        slots[s] = arr.astype(p.dtype)
            if p.flags.c_contiguous:
                self._update(_flat(p), _flat(g), [_flat(slots[s]) for s in self._slots_needed()],
                             lr, first, p.dtype.type)
            else:  # rare: update a contiguous copy and write it back
                q = np.ascontiguousarray(p)
                self._update(_flat(q), _flat(g), [_flat(slots[s]) for s in self._slots_needed()],
                             lr, first, p.dtype.type)
                p[...] = q

    def _slots_needed(self) -> tuple[str, ...]:
        return self.slot_names

    def _update(self, p, g, slots, lr, first, dt) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------- state
    def state_dict(self) -> dict:
        """``{"name", "hyper", "t", "slots"}``; slots keyed ``"<slot>/<param key>"`` (copies).

        Everything but the slot arrays is a JSON-able scalar; ``hyper``
        includes the current ``lr``.
        """
        return {
            "name": self.name,
            "hyper": {"lr": float(self.lr), **self.hyper},
            "t": int(self.t),
            "slots": {f"{s}/{key}": arr.copy() for key, d in self.slots.items() for s, arr in d.items()},
        }

    def load_state_dict(self, d: Mapping) -> None:
        """Restore a :meth:`state_dict` so that training resumes bit for bit.

        Raises
        ------
        OptimizerError
            If the state belongs to another optimizer or is malformed.
        """
        try:
            name, hyper, t, slots = d["name"], dict(d["hyper"]), int(d["t"]), d["slots"]
        except (KeyError, TypeError, ValueError):
            raise OptimizerError("optimizer state is incomplete (needs name, hyper, t, slots)") from None
        if name != self.name:
            raise OptimizerError(f"the saved optimizer state is for {name}, this run uses {self.name}")
        unknown = set(hyper) - {"lr", *self.hyper}
        if unknown:
            raise OptimizerError(f"the saved {name} state has unknown settings: {', '.join(sorted(unknown))}")
        new_slots: dict[str, dict[str, np.ndarray]] = {}
        for full, arr in slots.items():
            s, sep, key = str(full).partition("/")
            if not sep or s not in self._all_slot_names():
                raise OptimizerError(f"unexpected optimizer state entry {full!r}")
            a = np.asarray(arr)
            if not np.issubdtype(a.dtype, np.floating):
                raise OptimizerError(f"optimizer state {full} is not a float array")
            new_slots.setdefault(key, {})[s] = np.array(a, copy=True, order="C")
        old = dict(self.hyper)
        try:
            lr = _positive("lr", hyper.pop("lr", self.lr))
            self.hyper.update(hyper)
            self._validate()
        except OptimizerError:
            self.hyper = old
            raise
        self.lr = lr
        self.t = t
        self.slots = new_slots

    def _all_slot_names(self) -> tuple[str, ...]:
        return self.slot_names

    def _validate(self) -> None:
        pass

    def reset(self) -> None:
        """Forget all state (step count and slots)."""
        self.t = 0
        self.slots = {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in {"lr": self.lr, **self.hyper}.items())
        return f"{type(self).__name__}({self.name!r}, {args})"


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``.

    With momentum ``mu`` (dampening 0), buffer ``b`` (``b_1 = g_1``)::

        b_t = mu * b_{t-1} + g_t
        d_t = g_t + mu * b_t     (nesterov)    or    b_t
        p_t = p_{t-1} - lr * d_t

    With ``mu = 0``: ``p_t = p_{t-1} - lr * g_t``.
    """

    slot_names = ("momentum_buffer",)

    def __init__(self, name="sgd", lr=0.01, *, momentum=0.0, nesterov=False):
        super().__init__(name, lr, momentum=float(momentum), nesterov=bool(nesterov))
        self._validate()

    def _validate(self):
        h = self.hyper
        h["momentum"] = _in_range("momentum", h["momentum"], 0.0, 1.0, hi_open=True)
        h["nesterov"] = bool(h["nesterov"])
        if h["nesterov"] and h["momentum"] == 0:
            raise OptimizerError("Nesterov momentum needs a momentum above 0")

    def _slots_needed(self):
        return self.slot_names if self.hyper["momentum"] > 0 else ()

    def _update(self, p, g, slots, lr, first, dt):
        mom = self.hyper["momentum"]
        buf = slots[0] if slots else p[:0]
        sgd_kernel(p, g, buf, dt(lr), dt(mom), self.hyper["nesterov"], first)


class RMSprop(Optimizer):
    r"""RMSprop as ``torch.optim.RMSprop`` (not centered); ``rho`` is PyTorch's ``alpha``.

    ::

        s_t = rho * s_{t-1} + (1 - rho) * g_t^2          (s_0 = 0)
        a_t = sqrt(s_t) + eps                            (eps outside the root)
        b_t = mu * b_{t-1} + g_t / a_t,  p_t = p_{t-1} - lr * b_t     (momentum mu > 0)
        p_t = p_{t-1} - lr * g_t / a_t                                 (mu = 0)
    """

    slot_names = ("square_avg", "momentum_buffer")

    def __init__(self, name="rmsprop", lr=0.001, *, rho=0.9, eps=1e-7, momentum=0.0):
        super().__init__(name, lr, rho=float(rho), eps=float(eps), momentum=float(momentum))
        self._validate()

    def _validate(self):
        h = self.hyper
        h["rho"] = _in_range("rho", h["rho"], 0.0, 1.0, hi_open=True)
        h["eps"] = _in_range("eps", h["eps"], 0.0, 1.0)
        h["momentum"] = _in_range("momentum", h["momentum"], 0.0, 1.0, hi_open=True)

    def _slots_needed(self):
        return self.slot_names if self.hyper["momentum"] > 0 else self.slot_names[:1]

    def _update(self, p, g, slots, lr, first, dt):
        h = self.hyper
        buf = slots[1] if len(slots) > 1 else p[:0]
        rmsprop_kernel(p, g, slots[0], buf, dt(lr), dt(h["rho"]), dt(1.0 - h["rho"]), dt(h["eps"]),
                       dt(h["momentum"]))


class Adam(Optimizer):
    r"""Adam (``torch.optim.Adam``) and, with ``weight_decay``, AdamW (``torch.optim.AdamW``).

    At step ``t`` (1-based), with ``m_0 = v_0 = 0``::

        p   <- p * (1 - lr * weight_decay)                  (AdamW only; decoupled)
        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2
        p_t = p - (lr / (1 - beta1^t)) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

    which is ``p - lr * m_hat / (sqrt(v_hat) + eps)`` with the bias-corrected
    moments.  ``m`` is updated as ``m + (1 - beta1) (g - m)`` (PyTorch's lerp).
    """

    slot_names = ("m", "v")

    def __init__(self, name="adam", lr=0.001, *, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=None):
        hyper = dict(beta1=float(beta1), beta2=float(beta2), eps=float(eps))
        if weight_decay is not None:
            hyper["weight_decay"] = float(weight_decay)
        super().__init__(name, lr, **hyper)
        self._validate()

    def _validate(self):
        h = self.hyper
        h["beta1"] = _in_range("beta1", h["beta1"], 0.0, 1.0, hi_open=True)
        h["beta2"] = _in_range("beta2", h["beta2"], 0.0, 1.0, hi_open=True)
        h["eps"] = _in_range("eps", h["eps"], 0.0, 1.0)
        if "weight_decay" in h:
            h["weight_decay"] = _in_range("weight_decay", h["weight_decay"], 0.0, 1e3)

    def _update(self, p, g, slots, lr, first, dt):
        h = self.hyper
        t = self.t
        b1, b2 = h["beta1"], h["beta2"]
        step_size = lr / (1.0 - b1 ** t)
        bc2_sqrt = math.sqrt(1.0 - b2 ** t)
        decay = 1.0 - lr * h.get("weight_decay", 0.0)
        adam_kernel(p, g, slots[0], slots[1], dt(step_size), dt(b2), dt(1.0 - b1), dt(1.0 - b2),
                    dt(bc2_sqrt), dt(h["eps"]), dt(decay))


# ---------------------------------------------------------------- factories
def _sgd(lr=DEFAULT_LR["sgd"], momentum=0.0, nesterov=False):
    return SGD("sgd", lr, momentum=momentum, nesterov=nesterov)


def _rmsprop(lr=DEFAULT_LR["rmsprop"], rho=0.9, eps=1e-7, momentum=0.0):
    return RMSprop("rmsprop", lr, rho=rho, eps=eps, momentum=momentum)


def _adam(lr=DEFAULT_LR["adam"], beta1=0.9, beta2=0.999, eps=1e-8):
    return Adam("adam", lr, beta1=beta1, beta2=beta2, eps=eps)


def _adamw(lr=DEFAULT_LR["adamw"], beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    return Adam("adamw", lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)


_FACTORIES: dict[str, Callable[..., Optimizer]] = {
    "sgd": _sgd, "rmsprop": _rmsprop, "adam": _adam, "adamw": _adamw}


def optimizer_options(name: str) -> dict[str, object]:
    """The settings an optimizer takes and their defaults (``lr`` included)."""
    f = _FACTORIES.get(str(name).lower())
    if f is None:
        raise OptimizerError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")
    return {k: p.default for k, p in inspect.signature(f).parameters.items()}


def make_optimizer(name: str, lr: float | None = None, **kw) -> Optimizer:
    """An optimizer by name.

    ``sgd``: ``momentum=0.0, nesterov=False``; ``rmsprop``: ``rho=0.9,
    eps=1e-7, momentum=0.0``; ``adam``: ``beta1=0.9, beta2=0.999, eps=1e-8``;
    ``adamw``: as adam plus ``weight_decay=0.01``.  ``lr=None`` takes
    :data:`DEFAULT_LR`.

    Raises
    ------
    OptimizerError
        For an unknown name, an option the optimizer does not take, or a value
        out of range.
    """
    key = str(name).strip().lower()
    opts = optimizer_options(key)
    extra = sorted(set(kw) - set(opts))
    if extra:
        raise OptimizerError(f"{key} does not take {', '.join(extra)}; "
                             f"its settings are {', '.join(opts)}")
    if lr is not None:
        kw["lr"] = lr
    return _FACTORIES[key](**kw)


def _positive(what: str, x) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise OptimizerError(f"{what} must be a number, got {x!r}") from None
    if not math.isfinite(x) or x <= 0:
        raise OptimizerError(f"{what} must be a positive number, got {x:g}")
    return x


def _in_range(what: str, x, lo: float, hi: float, hi_open: bool = False) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise OptimizerError(f"{what} must be a number, got {x!r}") from None
    if not (lo <= x <= hi) or (hi_open and x == hi):
        rng = f"[{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise OptimizerError(f"{what} must be in {rng}, got {x:g}")
    return x


# ================================================================ penalties
def is_penalised(key: str) -> bool:
    """True for weight matrices/kernels: the name after the last ``/`` is ``kernel`` or starts with ``W``."""
    part = key.rsplit("/", 1)[-1]
    return part == "kernel" or part.startswith("W")


def apply_penalties(params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
                    l1: float, l2: float) -> float:
    r"""Add L1/L2 weight penalties to the gradients in place; return the penalty value.

    Over the weights ``w`` selected by :func:`is_penalised` (not biases or
    normalisation scales)::

        P = l1 * sum |w| + l2 * sum w^2          dP/dw = l1 * sign(w) + 2 * l2 * w

    The returned ``P`` is to be added to the data loss.  Parameters without a
    gradient entry are skipped.
    """
    l1, l2 = float(l1 or 0.0), float(l2 or 0.0)
    if l1 < 0 or l2 < 0 or not (math.isfinite(l1) and math.isfinite(l2)):
        raise OptimizerError(f"L1/L2 penalties must be non-negative numbers, got {l1:g}, {l2:g}")
    if l1 == 0 and l2 == 0:
        return 0.0
    total = 0.0
    for key, w in params.items():
        g = grads.get(key)
        if g is None or not is_penalised(key):
            continue
        dt = g.dtype.type
        if l1:
            total += l1 * float(np.abs(w).sum(dtype=np.float64))
            g += dt(l1) * np.sign(w).astype(g.dtype, copy=False)
        if l2:
            wf = w.reshape(-1).astype(np.float64, copy=False)
            total += l2 * float(np.dot(wf, wf))
            g += dt(2.0 * l2) * w.astype(g.dtype, copy=False)
    return total


# ================================================================= clipping
def _sq_norm(g: np.ndarray) -> float:
    f = g.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        s = float(np.dot(f, f))
    if math.isinf(s) and g.dtype != np.float64 and np.isfinite(f).all():
        f64 = f.astype(np.float64)  # float32 overflowed on squaring; redo exactly
        s = float(np.dot(f64, f64))
    return s


def grad_norms(grads: Mapping[str, np.ndarray]) -> dict[str, float]:
    """L2 norm of every gradient, by key."""
    return {k: math.sqrt(_sq_norm(g)) for k, g in grads.items()}


def clip_grad_norm(grads: Mapping[str, np.ndarray], max_norm: float | None) -> float:
    r"""Global L2 norm of all gradients; scale them in place when it exceeds ``max_norm``.

    As ``torch.nn.utils.clip_grad_norm_``::

        total = sqrt(sum_k ||g_k||^2)
        if max_norm is set and total > max_norm:  g_k *= max_norm / (total + 1e-6)

    A non-finite total is returned as is and nothing is scaled (the trainer
    checks it before updating).

    Returns
    -------
    float
        The norm *before* clipping.
    """
    total = math.sqrt(sum(_sq_norm(g) for g in grads.values()))
    if max_norm is None or not math.isfinite(total):
        return total
    max_norm = float(max_norm)
    if max_norm <= 0:
        raise OptimizerError(f"gradient clipping needs a positive maximum norm, got {max_norm:g}")
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads.values():
            g *= g.dtype.type(coef)
    return total


# ================================================================ schedules
def make_schedule(name: str, base_lr: float, *, step_size: float = 10, gamma: float = 0.5,
                  total_epochs: float | None = None, min_lr: float = 0.0) -> Callable[[float], float]:
    r"""A learning-rate schedule ``epoch -> lr`` (the epoch may be fractional).

    ===============  ==========================================================
    ``constant``     ``base``
    ``step``         ``base * gamma ** floor(epoch / step_size)``
    ``exponential``  ``base * gamma ** epoch``
    ``cosine``       ``min_lr + (base - min_lr) (1 + cos(pi min(epoch, T) / T)) / 2``,
                     ``T = total_epochs``
    ===============  ==========================================================

    Raises
    ------
    OptimizerError
        For an unknown name or bad settings (cosine needs ``total_epochs``).
    """
    key = str(name).strip().lower()
    base = _positive("learning rate", base_lr)
    if key == "constant":
        return lambda epoch: base
    if key == "step":
        size = _positive("step size", step_size)
        gam = _positive("gamma", gamma)
        return lambda epoch: base * gam ** math.floor(max(float(epoch), 0.0) / size)
    if key == "exponential":
        gam = _positive("gamma", gamma)
        return lambda epoch: base * gam ** max(float(epoch), 0.0)
    if key == "cosine":
        if total_epochs is None:
            raise OptimizerError("the cosine schedule needs the total number of epochs")
        total = _positive("total epochs", total_epochs)
        lo = float(min_lr)
        if not (0.0 <= lo <= base):
            raise OptimizerError(f"minimum learning rate must be between 0 and {base:g}, got {lo:g}")
        return lambda epoch: lo + (base - lo) * (1.0 + math.cos(math.pi * min(max(float(epoch), 0.0), total)
                                                                / total)) / 2.0
    raise OptimizerError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULE_NAMES)}")
