"""Loss functions with their gradients.

Every loss maps a batch of predictions ``pred`` of shape ``(N, ...)`` and
targets to ``(value, dL/dpred)``; the value is a *mean* over the batch, so the
gradient already carries the ``1/n`` factor and the trainer can back-propagate
it unchanged.

=============  ==========================================  ==========================
name           value                                        averaged over
=============  ==========================================  ==========================
``mse``        ``mean((p - t)**2)``                          all elements
``mae``        ``mean(|p - t|)``                             all elements
``huber``      ``mean(h_delta(p - t))``                      all elements
``bce``        ``-mean(t log p + (1 - t) log(1 - p))``       all elements
``cce``        ``-mean_i sum_c t_ic log p_ic``               samples (rows)
``sparse_cce`` ``-mean_i log p_{i, y_i}``                    samples (rows)
=============  ==========================================  ==========================

The three cross-entropies can *fuse* the model's final activation
(:attr:`Loss.fuses`): the trainer then runs the model without that activation
and calls ``value_and_grad(..., from_logits=True)``, which evaluates the loss
from raw logits with the log-sum-exp trick (softmax) or
``log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))`` (sigmoid).  These forms are
exact for any finite logit, including +-1000, and the gradient collapses to
``(softmax(x) - t) / N`` or ``(sigmoid(x) - t) / n``.  Without fusion the
probabilities are clipped to ``[eps, 1 - eps]`` (``eps = 1e-7``) before the log.

Targets are checked on every call; anything a user's data can get wrong
(shape, class numbers, NaN) raises :class:`LossError` with a one-line message.
"""
from __future__ import annotations

import numpy as np

from engine.errors import UserError
from engine.numerics import softmax

EPS = 1e-7

LOSS_NAMES = ("mse", "mae", "huber", "bce", "cce", "sparse_cce")

#: plain-words names for menus and messages
LOSS_LABELS = {
    "mse": "Mean squared error",
    "mae": "Mean absolute error",
    "huber": "Huber",
    "bce": "Binary cross-entropy",
    "cce": "Categorical cross-entropy (one-hot targets)",
    "sparse_cce": "Sparse categorical cross-entropy (class-number targets)",
}


class LossError(UserError):
    """Targets that do not fit the loss or the model's output (one-line message)."""


# ------------------------------------------------------------------ helpers
def _shape(a) -> str:
    return "(" + ", ".join(str(s) for s in a.shape) + (",)" if a.ndim == 1 else ")")


def _as_pred(pred) -> np.ndarray:
    pred = np.asarray(pred)
    if not np.issubdtype(pred.dtype, np.floating):
        pred = pred.astype(np.float64)
    if pred.ndim == 0:
        raise LossError("predictions must have a batch axis")
    return pred


def _check_finite(target: np.ndarray) -> None:
    if np.issubdtype(target.dtype, np.floating) and not np.isfinite(target).all():
        raise LossError("targets contain NaN or infinite values")


def _same_shape_target(pred: np.ndarray, target, what: str) -> np.ndarray:
    """Targets shaped like ``pred`` (``(N,)`` accepted for ``(N, 1)`` outputs), in pred's dtype."""
    t = np.asarray(target)
    if t.dtype == object or not (np.issubdtype(t.dtype, np.number) or t.dtype == np.bool_):
        raise LossError(f"{what} targets must be numbers, got {t.dtype} values")
    if t.shape != pred.shape:
        if pred.ndim == 2 and pred.shape[1] == 1 and t.shape == (pred.shape[0],):
            t = t.reshape(pred.shape)
        elif t.size == pred.size and t.shape[:1] == pred.shape[:1] and \
                tuple(s for s in t.shape if s != 1) == tuple(s for s in pred.shape if s != 1):
            t = t.reshape(pred.shape)
        else:
            if t.shape[:1] != pred.shape[:1]:
                raise LossError(f"got {t.shape[0] if t.ndim else 1} targets for {pred.shape[0]} samples")
            raise LossError(f"targets have shape {_shape(t)} but the model outputs {_shape(pred)}")
    t = t.astype(pred.dtype, copy=False)
    _check_finite(t)
    return t


def _logsumexp(x: np.ndarray) -> np.ndarray:
    """``log(sum(exp(x), axis=-1))`` without overflow; shape ``x.shape[:-1]``."""
    m = x.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True)))[..., 0]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Stable logistic: ``exp(-|x|)`` never overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


# ------------------------------------------------------------------- losses
class Loss:
    """Base class: subclasses implement :meth:`_compute` on validated inputs.

    Attributes
    ----------
    name : str
        One of :data:`LOSS_NAMES`.
    fuses : str or None
        The output activation this loss can fuse (``"sigmoid"`` / ``"softmax"``).
    """

    name: str = ""
    fuses: str | None = None
    label: str = ""

    def value_and_grad(self, pred, target, *, from_logits: bool = False) -> tuple[float, np.ndarray]:
        """Mean loss over the batch and ``dL/dpred`` (same shape and dtype as ``pred``).

        Parameters
        ----------
        pred : ndarray, shape (N, ...)
            Model outputs: probabilities, or raw logits when ``from_logits``.
        target : array_like
            Targets (see the concrete loss for the accepted forms).
        from_logits : bool
            Only for the cross-entropies: ``pred`` is pre-activation and the
            fused sigmoid/softmax is used.

        Raises
        ------
        LossError
            If the targets do not fit.
        """
        pred = _as_pred(pred)
        if from_logits and self.fuses is None:
            raise LossError(f"the {self.name} loss does not take logits")
        if pred.shape[0] == 0:
            return 0.0, np.zeros_like(pred)
        # a diverged model (inf/NaN outputs) gives a NaN loss for the trainer to report, not warnings
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            value, grad = self._compute(pred, target, from_logits)
        return float(value), grad.astype(pred.dtype, copy=False)

    def value(self, pred, target, from_logits: bool = False) -> float:
        """The mean loss only (see :meth:`value_and_grad`)."""
        return self.value_and_grad(pred, target, from_logits=from_logits)[0]

    def _compute(self, pred, target, from_logits):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSE(Loss):
    r"""Mean squared error ``L = mean((p - t)^2)``; ``dL/dp = 2 (p - t) / n``."""

    name = "mse"

    def _compute(self, pred, target, from_logits):
        t = _same_shape_target(pred, target, self.name)
        d = pred - t
        n = d.size
        return np.vdot(d, d) / n, d * (2.0 / n)


class MAE(Loss):
    r"""Mean absolute error ``L = mean(|p - t|)``; ``dL/dp = sign(p - t) / n`` (0 at a tie)."""

    name = "mae"

    def _compute(self, pred, target, from_logits):
        t = _same_shape_target(pred, target, self.name)
        d = pred - t
        n = d.size
        return np.abs(d).sum(dtype=np.float64) / n, np.sign(d) * (1.0 / n)


class Huber(Loss):
    r"""Huber loss with threshold ``delta`` (PyTorch ``HuberLoss``).

    With ``d = p - t``::

        h(d) = 0.5 d^2                    if |d| <= delta
               delta (|d| - 0.5 delta)    otherwise
        L = mean(h(d)),   dL/dp = clip(d, -delta, delta) / n
    """

    name = "huber"

    def __init__(self, delta: float = 1.0):
        delta = float(delta)
        if not np.isfinite(delta) or delta <= 0:
            raise LossError(f"huber delta must be a positive number, got {delta:g}")
        self.delta = delta

    def _compute(self, pred, target, from_logits):
        t = _same_shape_target(pred, target, self.name)
        d = pred - t
        n = d.size
        a = np.abs(d)
        delta = self.delta
        h = np.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta))
        return h.sum(dtype=np.float64) / n, np.clip(d, -delta, delta) * (1.0 / n)

    def __repr__(self) -> str:
        return f"Huber(delta={self.delta:g})"


class BCE(Loss):
    r"""Binary cross-entropy, element-wise, averaged over all elements.

    Targets are 0/1 (or soft labels in ``[0, 1]``) with the shape of ``pred``
    (``(N,)`` is accepted for an ``(N, 1)`` output).

    From probabilities (``q = clip(p, eps, 1 - eps)``)::

        L = -mean(t log q + (1 - t) log(1 - q))
        dL/dp = (q - t) / (q (1 - q)) / n

    The gradient is evaluated at the clipped ``q`` (a straight-through clip), so
    a saturated prediction still gets pushed back.  From logits ``x``::

        L = mean(max(x, 0) - x t + log1p(exp(-|x|)))
        dL/dx = (sigmoid(x) - t) / n
    """

    name = "bce"
    fuses = "sigmoid"

    def _compute(self, pred, target, from_logits):
        t = _same_shape_target(pred, target, self.name)
        if t.size and (t.min() < 0 or t.max() > 1):
            bad = t.min() if t.min() < 0 else t.max()
            raise LossError(f"binary cross-entropy needs targets between 0 and 1, got {bad:g}")
        n = pred.size
        if from_logits:
            x = pred
            per = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
            return per.sum(dtype=np.float64) / n, (_sigmoid(x) - t) * (1.0 / n)
        q = np.clip(pred, EPS, 1.0 - EPS)
        per = -(t * np.log(q) + (1.0 - t) * np.log1p(-q))
        return per.sum(dtype=np.float64) / n, (q - t) / (q * (1.0 - q)) * (1.0 / n)


def _class_rows(pred: np.ndarray, what: str) -> np.ndarray:
    if pred.ndim < 2:
        raise LossError(f"{what} needs outputs of shape (N, classes), got {_shape(pred)}")
    return pred


class CCE(Loss):
    r"""Categorical cross-entropy with one-hot (or probability) target rows.

    ``pred`` and ``t`` have shape ``(N, C)`` (more leading axes, e.g. a
    sequence ``(N, T, C)``, count as more samples).  With ``m`` rows:

    From probabilities (``q = clip(p, eps, 1 - eps)``)::

        L = -(1/m) sum_i sum_c t_ic log q_ic,     dL/dp = -t / q / m

    From logits ``x`` with ``lse_i = log sum_c exp(x_ic)`` (max subtracted)::

        L = (1/m) sum_i (s_i lse_i - sum_c t_ic x_ic),   s_i = sum_c t_ic
        dL/dx = (s_i softmax(x)_i - t_i) / m
    """

    name = "cce"
    fuses = "softmax"

    def _compute(self, pred, target, from_logits):
        pred = _class_rows(pred, "categorical cross-entropy")
        t = np.asarray(target)
        if t.ndim == pred.ndim - 1 and pred.shape[-1] > 1:
            raise LossError(f"categorical cross-entropy needs one-hot targets of shape {_shape(pred)}, "
                            f"got class numbers {_shape(t)}; use sparse_cce for class numbers")
        t = _same_shape_target(pred, t, self.name)
        if t.size and t.min() < 0:
            raise LossError(f"categorical cross-entropy needs non-negative targets, got {t.min():g}")
        m = pred.size // pred.shape[-1]
        if from_logits:
            x = pred
            s = t.sum(axis=-1)
            per = s * _logsumexp(x) - (t * x).sum(axis=-1)
            grad = softmax(x) * s[..., None] - t
            return per.sum(dtype=np.float64) / m, grad * (1.0 / m)
        q = np.clip(pred, EPS, 1.0 - EPS)
        per = -(t * np.log(q)).sum(axis=-1)
        return per.sum(dtype=np.float64) / m, -t / q * (1.0 / m)


def _class_indices(pred: np.ndarray, target) -> np.ndarray:
    """Integer class numbers shaped ``pred.shape[:-1]`` from ``(N,)``, ``(N, 1)`` or float arrays."""
    t = np.asarray(target)
    want = pred.shape[:-1]
    if t.shape != want:
        if t.shape == (*want, 1):
            t = t.reshape(want)
        elif t.shape == pred.shape and pred.shape[-1] > 1:
            raise LossError(f"sparse categorical cross-entropy needs class numbers of shape "
                            f"({', '.join(map(str, want))}{',' if len(want) == 1 else ''}), got one-hot "
                            f"rows {_shape(t)}; use cce for one-hot targets")
        elif t.shape[:1] != pred.shape[:1]:
            raise LossError(f"got {t.shape[0] if t.ndim else 1} targets for {pred.shape[0]} samples")
        else:
            raise LossError(f"targets have shape {_shape(t)} but sparse categorical cross-entropy "
                            f"needs class numbers of shape ({', '.join(map(str, want))}"
                            f"{',' if len(want) == 1 else ''})")
    if t.dtype == np.bool_:
        t = t.astype(np.int64)
    if np.issubdtype(t.dtype, np.floating):
        _check_finite(t)
        r = np.rint(t)
        if t.size and not np.array_equal(r, t):
            bad = t[r != t].flat[0]
            raise LossError(f"sparse categorical cross-entropy needs whole class numbers, got {bad:g}")
        t = r.astype(np.int64)
    elif not np.issubdtype(t.dtype, np.integer):
        raise LossError(f"sparse categorical cross-entropy needs class numbers, got {t.dtype} values")
    n_classes = pred.shape[-1]
    if t.size:
        lo, hi = int(t.min()), int(t.max())
        if lo < 0:
            raise LossError(f"targets contain class {lo}; class numbers start at 0")
        if hi >= n_classes:
            raise LossError(f"targets contain class {hi} but the model has {n_classes} "
                            f"output{'s' if n_classes != 1 else ''}")
    return t.astype(np.intp, copy=False)


class SparseCCE(Loss):
    r"""Categorical cross-entropy with integer class targets ``y`` of shape ``(N,)``.

    ``(N, 1)`` and float arrays holding whole numbers are accepted.  With ``m``
    rows, from probabilities (``q = clip(p, eps, 1 - eps)``)::

        L = -(1/m) sum_i log q_{i, y_i},    dL/dp_{i, y_i} = -1 / (q_{i, y_i} m), 0 elsewhere

    From logits::

        L = (1/m) sum_i (lse_i - x_{i, y_i}),    dL/dx = (softmax(x) - onehot(y)) / m
    """

    name = "sparse_cce"
    fuses = "softmax"

    def _compute(self, pred, target, from_logits):
        pred = _class_rows(pred, "sparse categorical cross-entropy")
        y = _class_indices(pred, target)
        c = pred.shape[-1]
        x2 = pred.reshape(-1, c)
        y1 = y.reshape(-1)
        m = x2.shape[0]
        rows = np.arange(m)
        if from_logits:
            per = _logsumexp(x2) - x2[rows, y1]
            grad = softmax(x2)
            grad[rows, y1] -= 1.0
            grad *= 1.0 / m
            return per.sum(dtype=np.float64) / m, grad.reshape(pred.shape)
        q = np.clip(x2[rows, y1], EPS, 1.0 - EPS)
        grad = np.zeros_like(x2)
        grad[rows, y1] = -1.0 / (q * m)
        return -np.log(q).sum(dtype=np.float64) / m, grad.reshape(pred.shape)


_LOSSES = {"mse": MSE, "mae": MAE, "huber": Huber, "bce": BCE, "cce": CCE, "sparse_cce": SparseCCE}
for _n, _cls in _LOSSES.items():
    _cls.label = LOSS_LABELS[_n]


def get_loss(name: str, **kw) -> Loss:
    """A loss by name (see :data:`LOSS_NAMES`); ``huber`` takes ``delta=1.0``.

    Raises
    ------
    LossError
        For an unknown name or an option the loss does not take.
    """
    key = str(name).strip().lower()
    cls = _LOSSES.get(key)
    if cls is None:
        raise LossError(f"unknown loss {name!r}; choose one of {', '.join(LOSS_NAMES)}")
    try:
        return cls(**kw)
    except TypeError:
        raise LossError(f"the {key} loss does not take the option(s) {', '.join(sorted(kw))}") from None


def default_loss_for(output_activation: str | None, n_outputs: int, task: str | None) -> str:
    """The loss a model gets when the user does not pick one.

    ``"sparse_cce"`` after a softmax, ``"bce"`` after a sigmoid; a
    ``"classification"`` task with several outputs and no final activation also
    gets ``"sparse_cce"`` (the outputs are treated as logits, see
    :func:`wants_logits`); everything else gets ``"mse"``.
    """
    if output_activation == "softmax":
        return "sparse_cce"
    if output_activation == "sigmoid":
        return "bce"
    if task == "classification" and n_outputs > 1 and output_activation in (None, "linear"):
        return "sparse_cce"
    return "mse"


def wants_logits(loss: Loss | str, output_activation: str | None) -> bool:
    """Whether to run the model without its last activation and pass ``from_logits=True``.

    True when the loss fuses exactly the model's final activation, or when a
    cross-entropy follows an output with no activation (raw scores are logits).
    """
    fuses = loss.fuses if isinstance(loss, Loss) else get_loss(loss).fuses
    if fuses is None:
        return False
    return output_activation == fuses or output_activation in (None, "linear")
