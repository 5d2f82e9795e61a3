"""Fused training step for plain MLPs (``Input -> Dense -> ... -> Dense``).

:class:`engine.trainer.Trainer` asks :func:`build_fast_step` once; when the
graph, loss and optimizer qualify it gets a :class:`FastMLPStep` and calls
:meth:`FastMLPStep.step` instead of its generic step.  The maths is the same
(forward, fused loss on logits, backward, finiteness check, optimizer update
with the optimizer's own slot arrays and step counter), so results agree with
the generic path to rounding and ``Trainer.state_dict()``/resume keep working.

Eligible when (checked once, except the last three which are checked every
step because a caller may change them):

* one Input, then only Dense layers, each fed by the previous node;
* hidden activations linear/relu/tanh/sigmoid/leaky_relu/elu (the output
  layer too, unless the loss fuses its sigmoid/softmax);
* loss ``bce`` or ``sparse_cce`` on logits (the trainer's fused/from_logits
  decision) or ``mse``;
* optimizer sgd (plain, momentum, Nesterov), rmsprop, adam or adamw;
* float32 or float64 model;
* no L1/L2 penalty, no gradient clipping, the trainer's optimizer unchanged.

A batch the fast step cannot take (unusual target dtypes or shapes, targets
out of range, slots of another dtype, ...) makes :meth:`FastMLPStep.step`
return None and the trainer runs its generic step, which also produces the
user-facing error messages.

Two strategies: for small layers one Numba call does the whole step with
hand-written matmuls (:func:`engine.kernels.mlp.mlp_step_small`); for larger
ones NumPy/BLAS does the matmuls into reused buffers and Numba the fused
element-wise parts.  ``NNSTUDIO_NO_FASTPATH=1`` disables the fast path.

Depth: up to :data:`TUPLE_MAX_LAYERS` layers the kernels take the per-layer arrays as
tuples; deeper chains pass them as ``numba.typed.List``s, so one compiled kernel serves
every depth and compile time does not grow with it.  Should Numba still refuse a graph
(any ``NumbaError``), the step logs it, records why in ``disabled`` and the trainer goes on
with the generic step for the rest of the run.
"""
from __future__ import annotations

import logging
import math
import os
import re

import numpy as np
from numba.core.errors import NumbaError
from numba.typed import List

from engine.kernels import mlp as K
from engine.optimizers import SGD, Adam, RMSprop

#: a step whose largest layer does at most this many multiply-adds (batch x in x out)
#: runs as one Numba call with hand-written loops; above it BLAS does the matmuls
SMALL_MAX_MACS = 32_768
#: a BLAS step whose largest matrix product has at least this many multiply-adds (batch x in x
#: out) splits its products in row blocks over two of our threads, with BLAS on one thread
#: (:meth:`FastMLPStep.splits_work`), only with ``NNSTUDIO_FAST_SPLIT=1``: on a quiet machine the
#: split run was 1.7x slower than BLAS's own two threads (W3 73,500 vs 129,200 samples/s), so it is
#: opt-in for a machine whose other core is busy
SPLIT_MIN_MACS = 4_000_000
#: row blocks per product (work items shared by the two threads: whoever is running takes the next)
SPLIT_BLOCKS = 4
#: up to this many Dense layers the kernels get the per-layer arrays as tuples; deeper
#: chains get them as ``numba.typed.List``s.  Numba compiles a kernel again for every tuple
#: length, and indexing a tuple with a loop variable becomes a branch over all its items,
#: so compile time grew faster than the depth (50 layers 41 s, 100 layers 138 s, 200 layers
#: > 400 s); with lists one compiled kernel serves every depth.
TUPLE_MAX_LAYERS = 8

_LOSS_KINDS = {"bce": K.LOSS_BCE_LOGITS, "sparse_cce": K.LOSS_SPARSE_CE_LOGITS, "mse": K.LOSS_MSE}


def why_not_fast(trainer) -> str | None:
    """None when the trainer's setup can use the fused step, else the reason (for tests and logs)."""
    if os.environ.get("NNSTUDIO_NO_FASTPATH"):
        return "disabled by NNSTUDIO_NO_FASTPATH"
    model = trainer.model
    if model.dtype not in (np.float32, np.float64):
        return f"model dtype {model.dtype}"
    if len(model.input_ids) != 1 or model.order[0] != model.input_ids[0]:
        return "not a single-input chain"
    spec = model.spec
    if not spec.node(model.order[0]).type.startswith("Input."):
        return "first node is not an Input"
    if len(model.order) < 2:
        return "no Dense layer"
    if len(model.shapes[model.order[0]]) != 1:
        return "the input is not flat"  # Dense with last_axis on a (length, features) input
    prev = model.order[0]
    for nid in model.order[1:]:
        if not spec.node(nid).type.startswith("Dense."):
            return f"layer {nid} is {spec.node(nid).type}"
        if model.sources[nid] != [prev]:
            return "not a chain"
        if model.state[nid]:
            return f"layer {nid} has buffers"
        if set(model.params[nid]) - {"W", "b"} or "W" not in model.params[nid]:
            return f"layer {nid} has unexpected parameters"
        prev = nid
    if model.output_id != prev:
        return "the last Dense is not the output"
    loss = trainer.loss.name
    if loss not in _LOSS_KINDS:
        return f"loss {loss}"
    if loss in ("bce", "sparse_cce") and not trainer.from_logits:
        return "cross-entropy on probabilities"
    if loss == "sparse_cce" and trainer.task != "classification":
        return "sparse_cce outside classification"
    for nid in model.order[1:]:
        act = model.layers[nid].cfg.activation
        if nid == model.output_id and trainer.fused:
            act = "linear"
        if act not in K.ACT_CODES:
            return f"activation {act}"
    opt = trainer.optimizer
    if type(opt) not in (SGD, Adam, RMSprop):
        return f"optimizer {type(opt).__name__}"
    return None


def build_fast_step(trainer) -> "FastMLPStep | None":
    """A :class:`FastMLPStep` for the trainer, or None if its setup is not eligible."""
    if why_not_fast(trainer) is not None:
        return None
    return FastMLPStep(trainer)


class FastMLPStep:
    """The fused step bound to one trainer (its model, loss decision and optimizer)."""

    def __init__(self, trainer, strategy: str = "auto"):
        self.trainer = trainer
        model = trainer.model
        self.model = model
        self.optimizer = trainer.optimizer
        self.dtype = model.dtype
        self.ids = list(model.order[1:])
        self.n_in = int(model.shapes[model.order[0]][0])
        self.units = [int(model.shapes[n][0]) for n in self.ids]
        acts = []
        for nid in self.ids:
            act = model.layers[nid].cfg.activation
            if nid == model.output_id and trainer.fused:
                act = "linear"
            acts.append(K.ACT_CODES[act])
        self.acts = np.array(acts, dtype=np.int64)
        self.loss_name = trainer.loss.name
        self.loss_kind = _LOSS_KINDS[self.loss_name]
        self.task = trainer.task
        self.n_out = self.units[-1]
        self._strategy = strategy
        self.keys = []
        for nid in self.ids:
            self.keys.append(f"{nid}/W")
            self.keys.append(f"{nid}/b")
        self._empty = np.zeros(0, dtype=self.dtype)
        self._empty2 = np.zeros((0, 0), dtype=self.dtype)
        self._noint = np.zeros(0, dtype=np.int64)
        self._hyp = np.zeros(K.N_HYPER, dtype=self.dtype)
        self._firsts = np.zeros(2 * len(self.ids), dtype=np.bool_)
        self._grads_for: tuple | None = None
        self._bufs: dict[int, tuple] = {}
        self._small: dict[int, bool] = {}
        self._checked: tuple | None = None
        self._packed: tuple | None = None
        self.deep = len(self.ids) > TUPLE_MAX_LAYERS
        self.disabled: str | None = None  # why the fused step gave up for this run (a Numba error)
        #: set by the trainer for a run that holds BLAS to one thread (engine.kernels.threads.blas_for_run):
        #: the products are then split over our two threads (:meth:`_mm`)
        self.split = False

    def splits_work(self, batch: int) -> bool:
        """Whether a run at this batch size should split the products over two of our threads.

        With BLAS's two threads a product is cut in two fixed halves; when the other core is
        busy (the window drawing beside the training process), every product waits for the
        descheduled half.  Blocks taken by whichever thread is running do not wait.  Opt-in
        (``NNSTUDIO_FAST_SPLIT=1``): on a quiet machine it is slower than BLAS's own threads."""
        if os.environ.get("NNSTUDIO_FAST_SPLIT", "").strip() != "1" or self.strategy == "small":
            return False
        from engine.kernels.threads import kernel_threads  # noqa: PLC0415

        if kernel_threads() < 2 or self._use_small(batch):
            return False
        widths = [self.n_in, *self.units]
        return batch * max(widths[i] * widths[i + 1] for i in range(len(self.units))) >= SPLIT_MIN_MACS

    @property
    def strategy(self) -> str:
        """``"auto"`` (by layer size), ``"small"`` (one Numba call) or ``"blas"`` (NumPy matmuls)."""
        return self._strategy

    @strategy.setter
    def strategy(self, value: str) -> None:
        if value not in ("auto", "small", "blas"):
            raise ValueError(f"unknown fast-path strategy {value!r}")
        self._strategy = value
        self._small.clear()

    # ---------------------------------------------------------------- helpers
    def _use_small(self, n: int) -> bool:
        if self.strategy != "auto":
            return self.strategy == "small"
        widths = [self.n_in, *self.units]
        return n * max(widths[i] * widths[i + 1] for i in range(len(self.units))) <= SMALL_MAX_MACS

    def _targets(self, y, n: int):
        """``(yi, yf)`` for the kernel, or None when the generic path should handle this batch."""
        y = np.asarray(y)
        if self.loss_kind == K.LOSS_SPARSE_CE_LOGITS:
            if y.dtype.kind not in "iu" or y.size != n or y.ndim not in (1, 2):
                return None
            return np.ascontiguousarray(y.reshape(n), dtype=np.int64), self._empty2
        k = self.n_out
        if self.task == "classification":
            if k == 1:
                if y.size != n:
                    return None
                return self._noint, np.ascontiguousarray(y.reshape(n, 1), dtype=self.dtype)
            if y.dtype.kind not in "iu" or y.size != n:
                return None
            yl = y.reshape(n).astype(np.int64, copy=False)
            if n and (yl.min() < 0 or yl.max() >= k):
                return None
            yf = np.zeros((n, k), dtype=self.dtype)
            yf[np.arange(n), yl] = 1
            return self._noint, yf
        if y.size != n * k or (y.ndim and y.shape[0] != n):
            return None
        return self._noint, np.ascontiguousarray(y.reshape(n, k), dtype=self.dtype)

    def _params(self):
        """The layers' (W, b) tuples; None when an array does not suit the kernels."""
        params = self.model.params
        Ws, bs = [], []
        for nid in self.ids:
            d = params[nid]
            Ws.append(d["W"])
            bs.append(d.get("b", self._empty))
        Ws, bs = tuple(Ws), tuple(bs)
        for a in Ws + bs:
            if a.dtype != self.dtype or not a.flags.c_contiguous or not a.flags.writeable:
                return None, None
        return Ws, bs

    def _grads(self, Ws, bs):
        shapes = tuple(a.shape for a in Ws + bs)
        if self._grads_for != shapes:
            self.dWs = tuple(np.zeros_like(w) for w in Ws)
            self.dbs = tuple(np.zeros_like(b) for b in bs)
            self.grads = {}
            for nid, _w, b, dw, db in zip(self.ids, Ws, bs, self.dWs, self.dbs):
                self.grads[f"{nid}/W"] = dw
                if b.size:
                    self.grads[f"{nid}/b"] = db
            self._grads_for = shapes
        return self.dWs, self.dbs

    def _prepare(self, opt):
        """Parameters, gradients and slots for this step: ``(Ws, bs, dWs, dbs, slot_cols, new_slots)``.

        The result is cached while the parameter arrays, the optimizer's slot
        dict and its size stay the same objects (load_state_dict, reset and
        the first step all change one of them).
        """
        params = self.model.params
        c = self._checked
        if c is not None and c[0] is opt.slots and c[1] == len(opt.slots):
            Ws, bs = c[2], c[3]
            i = 0
            for nid in self.ids:
                d = params[nid]
                if d["W"] is not Ws[i] or d.get("b", self._empty) is not bs[i]:
                    break
                i += 1
            else:
                return c[2:]
        self._checked = None
        Ws, bs = self._params()
        if Ws is None:
            return None
        slot_cols, new_slots = self._slots(opt, Ws, bs)
        if slot_cols is None:
            return None
        dWs, dbs = self._grads(Ws, bs)
        if not new_slots:
            self._checked = (opt.slots, len(opt.slots), Ws, bs, dWs, dbs, slot_cols, new_slots)
        return Ws, bs, dWs, dbs, slot_cols, new_slots

    def _slots(self, opt, Ws, bs):
        """Per-layer slot tuples ``(s1W, s1b, s2W, s2b)`` and the slots to register on success."""
        names = opt._slots_needed()
        slots = opt.slots
        new = {}
        firsts = self._firsts
        cols: list[list] = [[], [], [], []]
        for i, (w, b) in enumerate(zip(Ws, bs)):
            for j, (key, p) in enumerate(((self.keys[2 * i], w), (self.keys[2 * i + 1], b))):
                if j == 1 and p.size == 0:
                    firsts[2 * i + 1] = False
                    cols[1].append(p)
                    cols[3].append(p)
                    continue
                d = slots.get(key)
                if d is None:
                    d = {s: np.zeros(p.shape, dtype=p.dtype) for s in names}
                    new[key] = d
                    firsts[2 * i + j] = True
                else:
                    firsts[2 * i + j] = False
                arrs = []
                for s in names:
                    a = d.get(s)
                    if a is None or a.shape != p.shape or a.dtype != p.dtype or not a.flags.c_contiguous:
                        return None, None
                    arrs.append(a)
                # unused slots get the parameter itself as a placeholder (never written)
                s1 = arrs[0] if arrs else p
                s2 = arrs[1] if len(arrs) > 1 else p
                cols[j].append(s1)
                cols[2 + j].append(s2)
        return tuple(tuple(c) for c in cols), new

    def _hyper(self, opt) -> int | None:
        lr = float(opt.lr)
        if not math.isfinite(lr) or lr < 0:
            return None  # the generic step raises the message
        h = self._hyp
        hp = opt.hyper
        h[K.H_LR] = lr
        if isinstance(opt, SGD):
            mom = hp["momentum"]
            h[K.H_MOMENTUM] = mom
            if mom == 0:
                return K.OPT_SGD
            return K.OPT_NESTEROV if hp["nesterov"] else K.OPT_MOMENTUM
        if isinstance(opt, Adam):
            t = opt.t + 1
            b1, b2 = hp["beta1"], hp["beta2"]
            h[K.H_STEP_SIZE] = lr / (1.0 - b1 ** t)
            h[K.H_BETA2] = b2
            h[K.H_1MB1] = 1.0 - b1
            h[K.H_1MB2] = 1.0 - b2
            h[K.H_BC2_SQRT] = math.sqrt(1.0 - b2 ** t)
            h[K.H_EPS] = hp["eps"]
            h[K.H_DECAY] = 1.0 - lr * hp.get("weight_decay", 0.0)
            return K.OPT_ADAM
        h[K.H_ALPHA] = hp["rho"]
        h[K.H_1MALPHA] = 1.0 - hp["rho"]
        h[K.H_EPS] = hp["eps"]
        h[K.H_MOMENTUM] = hp["momentum"]
        return K.OPT_RMSPROP

    # ------------------------------------------------------------------- step
    def step(self, x, y):
        """One training step; ``(loss, grads)`` like the trainer's, or None to use the generic path.

        ``grads`` maps ``"nid/W"``/``"nid/b"`` to gradient arrays that are
        reused (overwritten) by the next step.
        """
        tr = self.trainer
        cfg = tr.cfg
        opt = tr.optimizer
        if cfg.l1 or cfg.l2 or cfg.clip_norm or opt is not self.optimizer or tr.model is not self.model:
            return None
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_in or x.shape[0] == 0:
            return None
        if x.dtype != self.dtype or not x.flags.c_contiguous or not x.flags.writeable:
            if x.dtype.kind not in "fiub":
                return None
            with np.errstate(over="ignore", invalid="ignore"):
                # a fresh writable copy: read-only arrays would need their own compiled kernels
                x = np.array(x, dtype=self.dtype, order="C")
        n = x.shape[0]
        with np.errstate(over="ignore", invalid="ignore"):
            tg = self._targets(y, n)
        if tg is None:
            return None
        yi, yf = tg
        if not (yi.flags.writeable and yf.flags.writeable):
            yi, yf = yi.copy(), yf.copy()
        kind = self._hyper(opt)
        if kind is None:
            return None
        prep = self._prepare(opt)
        if prep is None:
            return None
        Ws, bs, dWs, dbs, (s1W, s1b, s2W, s2b), new_slots = prep
        small = self._small.get(n)
        if small is None:
            small = self._small[n] = self._use_small(n)
        kw = Ws, bs, dWs, dbs, s1W, s1b, s2W, s2b
        if self.deep:
            kw = self._pack(kw)
        try:
            if small:
                value, status = K.mlp_step_small(x, yi, yf, kw[0], kw[1], self.acts, self.loss_kind, kw[2], kw[3],
                                                 *kw[4:], self._firsts, kind, self._hyp)
            else:
                value, status = self._step_blas(x, yi, yf, Ws, bs, dWs, dbs, kw, kind)
        except NumbaError as exc:  # a graph the kernels cannot be compiled for: the generic step
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()  # Numba colours its messages
            self.disabled = f"{type(exc).__name__}: {text.splitlines()[0] if text else '-'}"
            logging.getLogger(__name__).warning("fused MLP step unavailable, using the generic step (%s)",
                                                self.disabled)
            self.trainer.fast_step = None
            return None
        if status == K.BAD_TARGETS:
            return None
        if status == K.OK:
            opt.t += 1
            if new_slots:
                opt.slots.update(new_slots)
            return float(value), self.grads
        return (float(value) if math.isfinite(value) else float("nan")), self.grads

    def _buffers(self, n: int):
        b = self._bufs.get(n)
        if b is None:
            if len(self._bufs) > 4:
                self._bufs.clear()
            outs = tuple(np.empty((n, u), dtype=self.dtype) for u in self.units)
            grads = tuple(np.empty((n, u), dtype=self.dtype) for u in self.units)
            b = self._bufs[n] = (outs, grads)
        return b

    def _pack(self, arrays: tuple) -> tuple:
        """The per-layer tuples as typed lists (same arrays), kept while the tuples are the same."""
        p = self._packed
        if p is not None and all(a is b for a, b in zip(p[0], arrays)):
            return p[1]
        packed = tuple(List(t) for t in arrays)
        self._packed = (arrays, packed)
        return packed

    def _mm(self, a, b, out) -> None:
        """``np.matmul(a, b, out=out)``; with :attr:`split`, in :data:`SPLIT_BLOCKS` blocks of output
        rows on two threads (each block one single-thread BLAS call, so each output element is
        summed in the same order as by one call: the bits do not depend on who did which block)."""
        m = out.shape[0]
        if not self.split or m < 2 * SPLIT_BLOCKS or m * a.shape[1] * out.shape[1] < SPLIT_MIN_MACS // 4:
            np.matmul(a, b, out=out)
            return
        from engine.kernels.threads import run_items  # noqa: PLC0415

        step = -(-m // SPLIT_BLOCKS)
        step = -(-step // 8) * 8
        cuts = list(range(0, m, step)) + [m]

        def work(take):
            while (i := take()) is not None:
                sl = slice(cuts[i], cuts[i + 1])
                np.matmul(a[sl], b, out=out[sl])

        run_items(work, len(cuts) - 1)

    def _step_blas(self, x, yi, yf, Ws, bs, dWs, dbs, kw, kind):
        outs_buf, g_buf = self._buffers(x.shape[0])
        acts = self.acts
        L = len(Ws)
        mm = self._mm
        outs = [x]
        for i in range(L):
            z = outs_buf[i]
            mm(outs[i], Ws[i], z)
            K.bias_act_forward(z, bs[i], acts[i])
            outs.append(z)
        g = g_buf[L - 1]
        value, status = K.loss_grad(outs[L], yi, yf, self.loss_kind, g)
        if status != K.OK:
            return value, status
        if not math.isfinite(value):
            return value, K.NONFINITE
        for i in range(L - 1, -1, -1):
            K.act_backward(g, outs[i + 1], acts[i])
            mm(outs[i].T, g, dWs[i])
            if bs[i].size:
                K.column_sums(g, dbs[i])
            if i > 0:
                da = g_buf[i - 1]
                mm(g, Ws[i].T, da)
                g = da
        if not K.apply_updates(*kw, self._firsts, kind, self._hyp):
            return value, K.NONFINITE
        return value, K.OK
