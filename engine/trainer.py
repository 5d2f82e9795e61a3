"""The training loop: a generator of plain, immutable events.

The epoch and batch loops stay in Python (so a stop or pause flag is seen
between any two batches); the maths of each step is NumPy/BLAS and Numba
kernels.  The GUI runs :meth:`Trainer.run` on a worker thread and turns each
event into a queued Qt signal; the CLI prints :class:`EpochEnded` as JSON.

Seeds: the model is initialised from ``seed``; shuffling and dropout use their
own generators derived from the same seed, so a run repeats bit for bit on one
machine.  No global RNG is used anywhere.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from engine.errors import UserError
from engine.evaluate import confusion_matrix, regression_metrics
from engine.i18n import N_
from engine.losses import LOSS_NAMES, LossError, default_loss_for, get_loss
from engine.model import CompiledModel, compile_graph, input_shape_problem
from engine.optimizers import (
    OPTIMIZER_LABELS,
    OPTIMIZER_NAMES,
    SCHEDULE_NAMES,
    apply_penalties,
    clip_grad_norm,
    make_optimizer,
    make_schedule,
)
from engine.registry import FieldInfo, config_fields
from engine.spec import GraphSpec


class TrainError(UserError):
    """Settings or data that cannot be trained; the message is for the user."""


#: plain-words names of the losses for menus
LOSS_LABELS = {"auto": "follows the output layer", "mse": "mean squared error", "mae": "mean absolute error",
               "huber": "Huber", "bce": "binary cross-entropy", "cce": "categorical cross-entropy (one-hot)",
               "sparse_cce": "cross-entropy (class indices)"}
SCHEDULE_LABELS = {"constant": "constant", "step": "step decay", "exponential": "exponential decay",
                   "cosine": "cosine annealing"}
#: usual values of ``monitor`` (any metric an epoch reports is accepted)
MONITORS = ("val_loss", "val_accuracy", "val_mae", "val_rmse", "val_r2", "loss", "accuracy")

#: sections of the generated settings form, in order
TRAIN_GROUPS = (N_("Basics"), N_("Optimizer"), N_("Loss & regularisation"), N_("Schedule"),
                N_("Early stopping"), N_("Advanced"))


def _setting(default, label: str, help: str, group: str, **md):
    """A TrainConfig field with its form/CLI metadata (read by :func:`train_fields`)."""
    return field(default=default, metadata={"label": label, "help": help, "group": group, **md})


@dataclass
class TrainConfig:
    """Every training setting.  The metadata of each field (label, help, group, bounds,
    ``visible_when``, ``internal``) generates the Training panel's form and the CLI's
    ``train`` flags (:func:`train_fields`); a new setting is one line here."""

    epochs: int = _setting(20, N_("epochs"), N_("Number of passes over the training data"),
                           "Basics", min=1, max=1_000_000)
    batch_size: int = _setting(32, N_("batch size"), N_("Samples per gradient step"),
                               "Basics", min=1, max=10_000_000)
    optimizer: str = _setting("adam", N_("optimizer"), N_("The update rule"), "Optimizer",
                              choices=OPTIMIZER_NAMES, choice_labels=OPTIMIZER_LABELS)
    lr: float = _setting(1e-3, N_("learning rate"), N_("Step size of the updates, e.g. 0.001 (Adam) or 0.01-0.1 (SGD)"),
                         "Optimizer", min=0.0, max=1e6, log=True)
    momentum: float = _setting(0.0, N_("momentum"), N_("Momentum (0 = off)"), "Optimizer",
                               min=0.0, max=0.999, step=0.05, decimals=3,
                               visible_when={"optimizer": ("sgd", "rmsprop")})
    nesterov: bool = _setting(False, N_("Nesterov momentum"), N_("Use Nesterov momentum (needs momentum > 0)"),
                              "Optimizer", visible_when={"optimizer": ("sgd",)})
    weight_decay: float = _setting(0.01, N_("weight decay"), N_("Decoupled weight decay of AdamW"), "Optimizer",
                                   min=0.0, max=1.0, step=0.001, decimals=4, visible_when={"optimizer": ("adamw",)})
    beta1: float = _setting(0.9, N_("beta1"), N_("Decay rate of Adam's running mean of the gradients"), "Advanced",
                            min=0.0, max=0.9999, visible_when={"optimizer": ("adam", "adamw")})
    beta2: float = _setting(0.999, N_("beta2"), N_("Decay rate of Adam's running mean of the squared gradients"),
                            "Advanced", min=0.0, max=0.999999, visible_when={"optimizer": ("adam", "adamw")})
    eps: float = _setting(1e-8, N_("epsilon"), N_("Added to Adam's denominator for stability"), "Advanced",
                          min=0.0, max=1.0, visible_when={"optimizer": ("adam", "adamw")})
    rho: float = _setting(0.9, N_("rho"), N_("Decay rate of RMSprop's running mean of the squared gradients "
                                             "(PyTorch's alpha)"), "Advanced",
                          min=0.0, max=0.9999, visible_when={"optimizer": ("rmsprop",)})
    rmsprop_eps: float = _setting(1e-7, N_("RMSprop epsilon"), N_("Added to RMSprop's denominator for stability"),
                                  "Advanced", min=0.0, max=1.0, visible_when={"optimizer": ("rmsprop",)})
    loss: str = _setting("auto", N_("loss"), N_("auto picks the loss that fits the output layer"),
                         "Loss & regularisation", choices=("auto",) + tuple(LOSS_NAMES), choice_labels=LOSS_LABELS)
    l1: float = _setting(0.0, N_("L1 penalty"), N_("L1 penalty on weights (0 = off)"), "Loss & regularisation",
                         min=0.0, max=1e6)
    l2: float = _setting(0.0, N_("L2 penalty"), N_("L2 penalty on weights (0 = off)"), "Loss & regularisation",
                         min=0.0, max=1e6)
    schedule: str = _setting("constant", N_("schedule"), N_("How the learning rate changes over the epochs"),
                             "Schedule", choices=SCHEDULE_NAMES, choice_labels=SCHEDULE_LABELS)
    step_size: int = _setting(10, N_("step size"), N_("Epochs between two decays of the step schedule"),
                              "Schedule", min=1, max=1_000_000, visible_when={"schedule": ("step",)})
    gamma: float = _setting(0.5, N_("gamma"), N_("Decay factor per step (step) or per epoch (exponential)"),
                            "Schedule", min=0.001, max=1.0, step=0.05, decimals=3,
                            visible_when={"schedule": ("step", "exponential")})
    clip_norm: float = _setting(0.0, N_("gradient clip"), N_("Clip the global gradient norm to this value (0 = off)"),
                                "Loss & regularisation", min=0.0, max=1e12)
    early_stopping: bool = _setting(False, N_("early stopping"),
                                    N_("Stop when the monitored metric has stopped improving"), "Early stopping")
    monitor: str = _setting("val_loss", N_("monitor"), N_("Metric that early stopping and the best epoch follow"),
                            "Early stopping", suggestions=MONITORS, visible_when={"early_stopping": (True,)})
    patience: int = _setting(10, N_("patience"), N_("Epochs without improvement before training stops"),
                             "Early stopping", min=1, max=1_000_000, visible_when={"early_stopping": (True,)})
    restore_best: bool = _setting(True, N_("keep the best epoch's weights"),
                                  N_("At the end, go back to the weights of the best epoch"), "Early stopping",
                                  visible_when={"early_stopping": (True,)})
    seed: int = _setting(0, N_("seed"), N_("Seed for initialisation, shuffling and dropout (same seed, same run)"),
                         "Basics", min=0, max=2**31 - 1)
    shuffle: bool = _setting(True, N_("shuffle"), N_("Shuffle the training samples every epoch"), "Advanced")
    # set by the app / CLI, not by the user (kept and saved, never shown as a form field or a flag)
    histograms: bool = _setting(False, N_("weight histograms"), N_("Weight histograms and gradient norms per epoch"),
                                "Advanced", internal=True)   # the app turns them on; the CLI has no view for them
    report_interval: float = _setting(0.05, N_("report interval"), N_("Seconds between two batch reports"),
                                      "Advanced", min=0.0, max=3600.0, internal=True)  # display refresh rate
    pause_on_divergence: bool = _setting(False, N_("pause on divergence"),
                                         N_("A NaN/inf loss pauses the run (resuming halves the learning rate)"),
                                         "Advanced", internal=True)  # app and CLI always turn it on

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        if self.epochs < 1:
            raise TrainError("epochs must be at least 1")
        if self.batch_size < 1:
            raise TrainError("batch size must be at least 1")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise TrainError(f"learning rate must be a positive number, got {self.lr}")
        if self.optimizer not in OPTIMIZER_NAMES:
            raise TrainError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")
        if self.loss != "auto" and self.loss not in LOSS_NAMES:
            raise TrainError(f"unknown loss {self.loss!r}; choose auto or one of {', '.join(LOSS_NAMES)}")
        if self.schedule not in SCHEDULE_NAMES:
            raise TrainError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULE_NAMES)}")
        if self.l1 < 0 or self.l2 < 0 or self.clip_norm < 0:
            raise TrainError("weight penalties and clipping must not be negative")
        for fi in train_fields(include_internal=True):
            v = getattr(self, fi.name)
            if fi.kind == "bool" and not isinstance(v, bool):
                raise TrainError(f"{fi.label} must be true or false, got {v!r}")
            if fi.kind in ("int", "float"):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or (fi.kind == "int" and not float(v).is_integer()):
                    raise TrainError(f"{fi.label} must be a {'whole ' if fi.kind == 'int' else ''}number, got {v!r}")
                if not math.isfinite(v):
                    raise TrainError(f"{fi.label} must be a finite number, got {v}")
                if (fi.min is not None and v < fi.min) or (fi.max is not None and v > fi.max):
                    raise TrainError(f"{fi.label} must be between {fi.min:g} and {fi.max:g}, got {v:g}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "TrainConfig":
        data = dict(data or {})
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise TrainError(f"unknown training setting(s): {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise TrainError(f"bad training settings: {exc}") from None


def train_fields(include_internal: bool = False) -> list[FieldInfo]:
    """The form/CLI metadata of every :class:`TrainConfig` field, in form order
    (``internal`` ones only when asked for)."""
    return [fi for fi in config_fields(TrainConfig) if include_internal or not fi.internal]


def optimizer_kwargs(c: TrainConfig) -> dict[str, Any]:
    """The :func:`engine.optimizers.make_optimizer` arguments of ``c``'s optimizer (only the settings it takes)."""
    kw: dict[str, Any] = {"lr": c.lr}
    if c.optimizer == "sgd":
        kw.update(momentum=c.momentum, nesterov=c.nesterov)
    elif c.optimizer == "rmsprop":
        kw.update(rho=c.rho, eps=c.rmsprop_eps, momentum=c.momentum)
    elif c.optimizer in ("adam", "adamw"):
        kw.update(beta1=c.beta1, beta2=c.beta2, eps=c.eps)
        if c.optimizer == "adamw":
            kw.update(weight_decay=c.weight_decay)
    return kw


# ------------------------------------------------------------------------ events
@dataclass(frozen=True)
class TrainStarted:
    epochs: int
    steps_per_epoch: int
    n_train: int
    n_val: int
    n_params: int
    loss: str
    task: str


@dataclass(frozen=True)
class Status:
    """A phase change: ``"compiling"`` (first step, JIT warm-up), ``"running"``, ``"paused"``."""
    state: str
    message: str = ""


@dataclass(frozen=True)
class BatchEnded:
    epoch: int
    step: int                  # global step, counting from 1
    loss: float                # mean loss of the batches since the previous event
    batch_losses: np.ndarray   # each batch's loss since the previous event (read-only)
    epoch_progress: float      # 0..1 within the epoch
    samples_per_s: float


@dataclass(frozen=True)
class EpochEnded:
    epoch: int                 # counting from 1
    logs: dict                 # loss, accuracy|mae+r2, val_*, lr
    seconds: float
    samples_per_s: float
    histograms: dict = field(default_factory=dict)   # key -> {"counts","edges","mean","std","min","max","zeros","nonfinite"}
    grad_norms: dict = field(default_factory=dict)   # node id -> L2 norm of its gradients (last batch)
    confusion: np.ndarray | None = None              # validation confusion matrix (classification)


@dataclass(frozen=True)
class TrainFinished:
    state: dict                # weights (best ones if restore_best and early stopping chose them)
    logs: dict
    reason: str                # "completed" | "early_stopping" | "stopped"
    best_epoch: int


@dataclass(frozen=True)
class Diverged:
    """The loss became NaN/inf and ``pause_on_divergence`` paused the run (the pause flag is set).

    Clearing the pause flag retries the same batch with half the learning rate;
    setting the stop flag ends the run with the last good weights.
    """
    message: str
    state: dict                # the last good weights


@dataclass(frozen=True)
class TrainFailed:
    message: str
    state: dict                # the last good weights


TrainEvent = Any


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


def histogram(values: np.ndarray, bins: int = 30) -> dict:
    """Histogram fitted to this snapshot's finite range, with summary statistics."""
    v = np.asarray(values, dtype=np.float64).ravel()
    finite = v[np.isfinite(v)]
    out = {"nonfinite": float(1 - finite.size / max(v.size, 1)), "zeros": float(np.mean(v == 0)) if v.size else 0.0}
    if finite.size == 0:
        out.update(counts=np.zeros(bins), edges=np.linspace(-1, 1, bins + 1), mean=0.0, std=0.0, min=0.0, max=0.0)
        return out
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(finite, bins=bins, range=(lo, hi))
    out.update(counts=counts.astype(np.float64), edges=edges, mean=float(finite.mean()),
               std=float(finite.std()), min=float(finite.min()), max=float(finite.max()))
    return out


# ----------------------------------------------------------------------- metrics
def classification_outputs(pred: np.ndarray, from_logits: bool) -> np.ndarray:
    """Predicted class indices from model outputs (argmax, or a threshold for one output)."""
    if pred.ndim == 2 and pred.shape[1] == 1:
        return (pred[:, 0] > (0.0 if from_logits else 0.5)).astype(np.int64)
    return np.argmax(pred.reshape(pred.shape[0], -1), axis=1)


class Trainer:
    """Owns one training run: model, optimizer, counters and history.

    ``run()`` may be called again after a stop to continue where it left off;
    ``state_dict()`` captures everything needed to resume in another process.
    """

    def __init__(self, graph: GraphSpec | CompiledModel, dataset, config: TrainConfig | None = None, *,
                 weights: dict | None = None, dtype=np.float32):
        self.cfg = config or TrainConfig()
        self.dataset = dataset
        self._check_memory(graph, dtype)
        if isinstance(graph, CompiledModel):
            self.model = graph
        else:
            self.model = compile_graph(graph, seed=self.cfg.seed, dtype=dtype)
        if weights:
            self.model.load_state_dict(weights)
        self._check_data()
        self.task = getattr(dataset, "task", "classification")
        n_out = int(np.prod(self.model.output_shape))
        loss_name = self.cfg.loss
        if loss_name == "auto":
            loss_name = default_loss_for(self.model.output_activation, n_out, self.task)
        self.loss = get_loss(loss_name)
        act = self.model.output_activation
        self.fused = self.loss.fuses is not None and act == self.loss.fuses
        # a CE loss on a model without a final sigmoid/softmax reads its outputs as logits
        self.from_logits = self.fused or (self.loss.fuses is not None and act is None)
        self.optimizer = make_optimizer(self.cfg.optimizer, **self._optimizer_kwargs())
        self.schedule = make_schedule(self.cfg.schedule, self.cfg.lr, step_size=self.cfg.step_size,
                                      gamma=self.cfg.gamma, total_epochs=self.cfg.epochs)
        # fused Numba step for plain MLPs (None: the generic step below); see engine.fastpath
        from engine.fastpath import build_fast_step  # Numba: imported when a run starts

        self.fast_step = build_fast_step(self)
        self.shuffle_rng = np.random.default_rng([self.cfg.seed, 1])
        self.dropout_rng = np.random.default_rng([self.cfg.seed, 2])
        self.epoch = 0          # completed epochs
        self.step = 0           # completed global steps
        self.history: list[dict] = []
        self.best_value: float | None = None
        self.best_epoch = 0
        self.best_state: dict | None = None
        self._best_step: int | None = None   # self.step when best_state was copied
        self.bad_epochs = 0
        self.lr_scale = 1.0     # halved by each resume after a divergence
        self._good = None       # (weights, optimizer state) checkpoint to roll back to after a divergence

    # -------------------------------------------------------------- setup helpers
    def _check_memory(self, graph, dtype) -> None:
        """Refuse a run whose weights, gradients, optimizer state and batch activations cannot
        fit (:mod:`engine.memory`), before anything is allocated.  The data is loaded already."""
        from engine import memory  # noqa: PLC0415
        from engine.compile import analyse  # noqa: PLC0415

        if isinstance(graph, CompiledModel):
            spec, a, built = graph.spec, analyse(graph.spec), True
        else:
            spec, a, built = graph, analyse(graph), False
            if a.first_error() is not None:
                return  # compile_graph reports it
        n = self.dataset.n("train") if hasattr(self.dataset, "n") else self.cfg.batch_size
        bs = max(1, min(int(self.cfg.batch_size), int(n) or 1))
        memory.check(memory.estimate(spec, a, dtype=dtype, batch_size=bs, optimizer=self.cfg.optimizer,
                                     momentum=float(getattr(self.cfg, "momentum", 0.0) or 0.0),
                                     weights_allocated=built))

    def _optimizer_kwargs(self) -> dict:
        return optimizer_kwargs(self.cfg)

    def _check_data(self) -> None:
        ds = self.dataset
        if getattr(ds, "input_shapes", None) or len(self.model.input_ids) > 1:
            self._check_inputs(dict(getattr(ds, "input_shapes", None) or {}))
        else:
            problem = input_shape_problem(self.model, ds.input_shape)
            if problem:
                raise TrainError(problem)
        if ds.n("train") < 1:
            raise TrainError("the training split is empty")
        n_out = int(np.prod(self.model.output_shape))
        if getattr(ds, "task", None) == "classification":
            k = int(ds.n_outputs)
            if n_out == 1 and k == 2:
                return
            if n_out != k:
                raise TrainError(f"the data has {k} classes but the output layer has {n_out} units; "
                                 f"set the last layer's units to {k}")

    def _check_inputs(self, have: dict) -> None:
        """Several inputs: every Input layer is named after one of the data's inputs, with its shape."""
        want = self.model.input_shapes
        if not have:
            raise TrainError(f"the graph has {len(want)} Input layers ({', '.join(want)}) but the data has one "
                             "input; assign columns to named inputs (--inputs) or keep one Input layer")
        missing = [n for n in want if n not in have]
        if missing:
            raise TrainError(f"no data for the Input layer(s) {', '.join(missing)}; the data's inputs are "
                             f"{', '.join(have)}: name each Input layer after one of them")
        unused = [n for n in have if n not in want]
        if unused:
            raise TrainError(f"the data's input(s) {', '.join(unused)} feed no Input layer; add an Input layer "
                             "of that name or leave the input out")
        for name, shape in want.items():
            if tuple(shape) != tuple(have[name]):
                raise TrainError(f"the Input layer '{name}' expects samples of shape {tuple(shape)} but its data "
                                 f"has {tuple(have[name])}; set its shape to {', '.join(map(str, have[name]))}")

    # ------------------------------------------------------------------- the step
    def _targets(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        name = self.loss.name
        if self.task == "classification":
            if name == "cce":
                return np.eye(pred.shape[-1], dtype=pred.dtype)[y.astype(np.int64)]
            if name in ("bce", "mse", "mae", "huber") and pred.ndim == 2 and pred.shape[1] == 1:
                return y.reshape(-1, 1).astype(pred.dtype)
            if name in ("bce", "mse", "mae", "huber"):
                return np.eye(pred.shape[-1], dtype=pred.dtype)[y.astype(np.int64)]
            return y
        return np.asarray(y, dtype=pred.dtype).reshape(pred.shape) if y.size == pred.size else y

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
        """Forward, loss, backward and (if finite) the update; returns (loss, grads).

        Overflow is not an error here: a non-finite loss or gradient norm is
        detected explicitly and the update is skipped.  Plain MLPs take the
        fused fast path (same maths; its ``grads`` arrays are reused by the
        next step) unless a batch needs the generic one.
        """
        fast = self.fast_step
        if fast is not None:
            out = fast.step(x, y)
            if out is not None:
                return out
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._train_step(x, y)

    def _train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
        pred, backprop = self.model.forward_train(x, rng=self.dropout_rng, logits=self.fused)
        value, dpred = self.loss.value_and_grad(pred, self._targets(y, pred), from_logits=self.from_logits)
        grads, _ = backprop(dpred)
        params = self.model.trainable()
        flat = {f"{nid}/{k}": g for nid, d in grads.items() for k, g in d.items()}
        if self.cfg.l1 or self.cfg.l2:
            value += apply_penalties(params, flat, self.cfg.l1, self.cfg.l2)
        norm = clip_grad_norm(flat, self.cfg.clip_norm or None)
        if not (math.isfinite(value) and math.isfinite(norm)):
            return float("nan") if not math.isfinite(value) else value, flat
        self.optimizer.step(params, flat)
        return float(value), flat

    # ------------------------------------------------------------------ evaluation
    #: training-set metrics are measured (in evaluation mode) on a fixed sample of this many rows
    TRAIN_PROBE = 4096

    def evaluate(self, split: str, batch_size: int = 1024, rows: np.ndarray | None = None) -> dict:
        """Loss and metrics on ``split`` (or on the given sorted ``rows`` of it), in evaluation mode."""
        ds = self.dataset
        n = ds.n(split)
        if n == 0:
            return {}
        rows = np.arange(n) if rows is None else np.asarray(rows)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._evaluate(split, rows, batch_size)

    def _train_probe(self) -> np.ndarray:
        """A fixed, seeded sample of training rows; its own generator leaves shuffling untouched."""
        n = self.dataset.n("train")
        if n <= self.TRAIN_PROBE:
            return np.arange(n)
        rng = np.random.default_rng([self.cfg.seed, 3])
        return np.sort(rng.choice(n, self.TRAIN_PROBE, replace=False))

    def _evaluate(self, split: str, rows: np.ndarray, batch_size: int) -> dict:
        ds = self.dataset
        preds, ys = [], []
        for i in range(0, len(rows), batch_size):
            idx = rows[i:i + batch_size]
            x, y = ds.get_batch(split, idx)
            preds.append(self.model.forward(x, logits=self.fused))
            ys.append(y)
        pred = np.concatenate(preds)
        y = np.concatenate(ys)
        loss, _ = self.loss.value_and_grad(pred, self._targets(y, pred), from_logits=self.from_logits)
        logs = {"loss": float(loss)}
        if self.task == "classification":
            cls = classification_outputs(pred, self.from_logits)
            logs["accuracy"] = float(np.mean(cls == y.astype(np.int64)))
            self._last_confusion = (cls, y.astype(np.int64))
        else:
            p = pred.reshape(pred.shape[0], -1)
            m = regression_metrics(p, np.asarray(y, dtype=np.float64).reshape(p.shape))
            m.pop("mse")
            logs.update(m)
        return logs

    def _confusion(self) -> np.ndarray | None:
        if self.task != "classification" or not hasattr(self, "_last_confusion"):
            return None
        pred, true = self._last_confusion
        k = max(int(self.dataset.n_outputs), 2)
        return _readonly(confusion_matrix(true.clip(0, k - 1), pred.clip(0, k - 1), k))

    # ----------------------------------------------------------------- the loop
    def _monitor_value(self, logs: dict) -> float | None:
        key = self.cfg.monitor
        if key not in logs:
            key = "loss"
        return logs.get(key)

    def _improved(self, value: float) -> bool:
        if self.best_value is None:
            return True
        higher_better = any(s in self.cfg.monitor for s in ("accuracy", "r2"))
        return value > self.best_value if higher_better else value < self.best_value

    def run(self, stop: threading.Event | None = None, pause: threading.Event | None = None) -> Iterator[TrainEvent]:
        """Train until ``cfg.epochs`` epochs are complete, early stopping, a stop, or divergence."""
        from engine.kernels.threads import blas_for_run  # noqa: PLC0415

        split = any(getattr(layer, "SPLITS_WORK", False) for layer in self.model.layers.values())
        fast = self.fast_step
        fast_split = fast is not None and fast.splits_work(min(self.cfg.batch_size, max(1, self.dataset.n("train"))))
        with blas_for_run(split or fast_split) as limited:
            if fast is not None:
                fast.split = bool(fast_split and limited)
            try:
                yield from self._run(stop, pause)
            finally:
                if fast is not None:
                    fast.split = False

    def _run(self, stop: threading.Event | None, pause: threading.Event | None) -> Iterator[TrainEvent]:
        cfg = self.cfg
        ds = self.dataset
        stop = stop or threading.Event()
        n_train = ds.n("train")
        bs = min(cfg.batch_size, n_train)
        steps = math.ceil(n_train / bs)
        yield TrainStarted(cfg.epochs, steps, n_train, ds.n("val"), self.model.n_params(), self.loss.name, self.task)
        reason = "completed"
        probe = None
        first = self.step == 0
        while self.epoch < cfg.epochs:
            epoch = self.epoch + 1
            order = self.shuffle_rng.permutation(n_train) if cfg.shuffle else np.arange(n_train)
            t0 = time.perf_counter()
            last_report = t0
            pending: list[float] = []
            losses = np.empty(steps, dtype=np.float64)
            grads: dict = {}
            b = 0
            for b in range(steps):
                if stop.is_set():
                    break
                if pause is not None and pause.is_set():
                    yield Status("paused", f"paused at epoch {epoch}, batch {b}")
                    while pause.is_set() and not stop.is_set():
                        time.sleep(0.02)
                    if stop.is_set():
                        break
                    yield Status("running")
                if cfg.pause_on_divergence and (b % self.CHECKPOINT_EVERY == 0 or self._good is None):
                    self._good = self._snapshot()
                idx = np.sort(order[b * bs:(b + 1) * bs])
                x, y = ds.get_batch("train", idx)
                while True:  # one step; retried after a divergence pause
                    self.optimizer.lr = self.schedule(self.epoch + b / steps) * self.lr_scale
                    if first:
                        yield Status("compiling", "compiling kernels for the first step…")
                    value, grads = self.train_step(x, y)
                    if first:
                        first = False
                        yield Status("running")
                    if math.isfinite(value):
                        break
                    # the update was skipped: the weights are still the last good ones
                    if pause is None or not cfg.pause_on_divergence:
                        yield TrainFailed(self._divergence_message(epoch, b), self.model.state_dict())
                        return
                    # roll back to the last checkpoint: the current weights may be finite but
                    # already too large for any learning rate to rescue
                    self._restore(self._good)
                    pause.set()
                    yield Diverged(self._divergence_message(epoch, b, pausing=True), self.model.state_dict())
                    while pause.is_set() and not stop.is_set():
                        time.sleep(0.02)
                    if stop.is_set():
                        break
                    self.lr_scale *= 0.5
                    yield Status("running", f"resumed with the learning rate halved "
                                            f"(x{self.lr_scale:g} of the schedule)")
                if stop.is_set():
                    break
                self.step += 1
                losses[b] = value
                pending.append(value)
                now = time.perf_counter()
                if now - last_report >= cfg.report_interval or b == steps - 1:
                    yield BatchEnded(epoch, self.step, float(np.mean(pending)), _readonly(pending),
                                     (b + 1) / steps, (b + 1) * bs / max(now - t0, 1e-9))
                    pending = []
                    last_report = now
            else:
                b = steps
            if b < steps:  # stopped mid-epoch: the partial epoch is not counted
                reason = "stopped"
                break
            seconds = time.perf_counter() - t0
            logs = {"loss": float(losses.mean())}
            if probe is None:
                probe = self._train_probe()
            train_eval = self.evaluate("train", rows=probe)
            for k, v in train_eval.items():
                if k != "loss":
                    logs[k] = v
            for k, v in self.evaluate("val").items():
                logs[f"val_{k}"] = v
            logs["lr"] = float(self.optimizer.lr)
            self.epoch = epoch
            self.history.append({"epoch": epoch, **logs, "seconds": seconds})
            hist, gnorms = {}, {}
            if cfg.histograms and self._histograms_due(epoch):
                for nid, d in self.model.params.items():
                    for k, w in d.items():
                        hist[f"{nid}/{k}"] = histogram(w)
                for key, g in grads.items():
                    nid = key.split("/")[0]
                    gnorms[nid] = float(np.sqrt(gnorms.get(nid, 0.0) ** 2 + float(np.sum(g.astype(np.float64) ** 2))))
            yield EpochEnded(epoch, dict(logs), seconds, n_train / max(seconds, 1e-9), hist, gnorms,
                             self._confusion() if ds.n("val") else None)
            value = self._monitor_value(logs)
            if value is not None and math.isfinite(value) and self._improved(value):
                self.best_value, self.best_epoch, self.bad_epochs = value, epoch, 0
                self.best_state, self._best_step = self.model.state_dict(), self.step
            else:
                self.bad_epochs += 1
            if cfg.early_stopping and self.bad_epochs >= cfg.patience:
                reason = "early_stopping"
                break
        restored = reason != "stopped" and cfg.early_stopping and cfg.restore_best and self.best_state is not None
        if restored:
            self.model.load_state_dict(self.best_state)
        # the best epoch's copy is the final state when it was restored or no step came after it: handed
        # on (it is never changed later), not copied again
        same = self.best_state is not None and (restored or self._best_step == self.step)
        yield TrainFinished(self.best_state if same else self.model.state_dict(),
                            dict(self.history[-1]) if self.history else {}, reason, self.best_epoch)

    #: seconds between weight-histogram snapshots (0 = every epoch; the last epoch always has one);
    #: the app sets it so that tiny models with thousands of short epochs do not spend their time binning
    histogram_interval: float = 0.0
    _last_histogram: float = -math.inf

    def _histograms_due(self, epoch: int) -> bool:
        now = time.perf_counter()
        if (self.histogram_interval <= 0 or epoch in (1, self.cfg.epochs)
                or now - self._last_histogram >= self.histogram_interval):
            self._last_histogram = now
            return True
        return False

    #: steps between in-memory checkpoints when ``pause_on_divergence`` is on
    CHECKPOINT_EVERY = 25

    def _snapshot(self) -> tuple[dict, dict]:
        return self.model.state_dict(), self.optimizer.state_dict()

    def _restore(self, snap: tuple[dict, dict]) -> None:
        """Copy a checkpoint back *into* the existing arrays (the fused step holds references)."""
        weights, opt = snap
        for group in (self.model.params, self.model.state):
            for nid, d in group.items():
                for k, a in d.items():
                    np.copyto(a, weights[f"{nid}/{k}"])
        self.optimizer.t = int(opt["t"])
        saved = opt["slots"]
        for key, slots in self.optimizer.slots.items():
            for name, arr in slots.items():
                full = f"{name}/{key}"
                if full in saved:
                    np.copyto(arr, saved[full])
                else:
                    arr[...] = 0

    def _divergence_message(self, epoch: int, batch: int, pausing: bool = False) -> str:
        head = (f"training diverged at epoch {epoch}, batch {batch + 1}: the loss became NaN or infinite. "
                f"The weights from before that batch are kept. ")
        if pausing:
            head = head.replace("The weights from before that batch are kept. ",
                                f"The weights were rolled back to a checkpoint at most {self.CHECKPOINT_EVERY} "
                                f"steps earlier. ")
            return head + (f"Training is paused: Resume retries with half the learning rate "
                           f"({self.optimizer.lr:g} -> {self.optimizer.lr / 2:g}), Stop ends the run. "
                           f"Gradient clipping or standardised inputs also help.")
        return head + (f"Try a lower learning rate (now {self.optimizer.lr:g}; e.g. {self.optimizer.lr / 10:g}), "
                       f"gradient clipping, or standardised inputs.")

    # ------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict:
        """Everything needed to resume: weights, optimizer slots, counters, RNG states, history."""
        return {
            "weights": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch, "step": self.step,
            "shuffle_rng": self.shuffle_rng.bit_generator.state,
            "dropout_rng": self.dropout_rng.bit_generator.state,
            "history": [dict(h) for h in self.history],
            "best": {"value": self.best_value, "epoch": self.best_epoch, "bad_epochs": self.bad_epochs},
            "lr_scale": self.lr_scale,
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["weights"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.shuffle_rng.bit_generator.state = state["shuffle_rng"]
        self.dropout_rng.bit_generator.state = state["dropout_rng"]
        self.history = [dict(h) for h in state.get("history", [])]
        best = state.get("best", {})
        self.best_value, self.best_epoch = best.get("value"), int(best.get("epoch", 0))
        self.bad_epochs = int(best.get("bad_epochs", 0))
        self.lr_scale = float(state.get("lr_scale", 1.0))


def train(graph: GraphSpec, dataset, config: TrainConfig | None = None, *, stop: threading.Event | None = None,
          pause: threading.Event | None = None, weights: dict | None = None) -> Iterator[TrainEvent]:
    """Compile inside the generator (so JIT warm-up happens on the consumer's thread) and train."""
    trainer = Trainer(graph, dataset, config, weights=weights)
    yield from trainer.run(stop=stop, pause=pause)


__all__ = ["TrainConfig", "train_fields", "LOSS_LABELS", "MONITORS", "TRAIN_GROUPS", "Trainer", "train", "TrainError", "TrainStarted", "Status", "BatchEnded",
           "EpochEnded", "TrainFinished", "TrainFailed", "Diverged", "LossError", "histogram"]
