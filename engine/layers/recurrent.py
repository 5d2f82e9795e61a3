"""Recurrent layers: SimpleRNN, LSTM, GRU over sequences (N, L, C).

Gate conventions and parameter layout are PyTorch's, so weights map 1:1 to
``torch.nn.LSTM/GRU/RNN`` (single layer, ``batch_first=True``)::

    W_ih (G*units, C), W_hh (G*units, units), b_ih (G*units,), b_hh (G*units,)

* SimpleRNN (G=1): ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)``
* LSTM (G=4, gate order i, f, g, o)::

      i, f, o = sigmoid(...), g = tanh(...)   from W_ih x + b_ih + W_hh h + b_hh
      c' = f * c + i * g,  h' = o * tanh(c')

* GRU (G=3, gate order r, z, n)::

      r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
      z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
      n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
      h' = (1 - z) * n + z * h

  With ``linear_before_reset=False`` (ONNX's default; PyTorch has only the form above)::

      n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)

The initial state is zero.  Output: the last hidden state (units,) or, with
``return_sequences``, every hidden state (L, units).

``bidirectional`` runs a second set of weights (``W_ih_reverse`` ... as PyTorch's
``*_l0_reverse``) over the reversed sequence; its states are put back in the
original time order and joined with the forward ones (``merge_mode`` "concat":
forward then reverse along the features, (L, 2*units) / (2*units,); "sum").  The
last state of the reverse direction is its state after the whole reversed
sequence (PyTorch's ``h_n[1]``, Keras ``Bidirectional``), i.e. at time step 0.  Each direction's
whole time loop is one Numba call (:mod:`engine.kernels.recurrent`: per step the recurrent
matmul and the gate maths), and so is backprop through time; the LSTM folds the input
projection into that per-step matmul (``[x_t, h_t] @ [W_ih^T; W_hh^T]``), the GRU and
SimpleRNN project all time steps with one GEMM first.  The weight gradients are GEMMs over
all steps at once.

Initialisation (Keras-style, trains well out of the box): ``W_ih`` Glorot
uniform, ``W_hh`` orthogonal, biases zero except the LSTM forget-gate part of
``b_ih`` which is 1.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.initializers import init_weight
from engine.kernels.alloc import tune_malloc
from engine.kernels.threads import blas_one_thread, kernel_threads, run_items, run_rows
from engine.layers.core import fmt_shape
from engine.lazy import LazyModule
from engine.registry import Layer, ShapeError, register_layer

#: the Numba kernels, imported when a recurrent layer first computes
K = LazyModule("engine.kernels.recurrent")
MERGE_MODES = ("concat", "sum")


@dataclass(frozen=True)
class RNNConfig:
    units: int = field(default=32, metadata={"min": 1, "max": 8192,
                                             "help": "Size of the hidden state (and of each output step)"})
    return_sequences: bool = field(default=False, metadata={
        "help": "Output the hidden state at every step (length, units) instead of only the last one"})
    bidirectional: bool = field(default=False, metadata={
        "help": "Also read the sequence backwards with a second set of weights and join both outputs "
                "(PyTorch bidirectional=True, ONNX direction bidirectional, Keras Bidirectional)"})
    merge_mode: str = field(default="concat", metadata={
        "choices": MERGE_MODES, "visible_when": {"bidirectional": (True,)},
        "help": "How a bidirectional layer joins its two outputs: concat (2 × units features, forward "
                "first, as PyTorch) or sum"})


@dataclass(frozen=True)
class GRUConfig(RNNConfig):
    linear_before_reset: bool = field(default=True, metadata={
        "help": "On: n = tanh(W_in·x + r·(W_hn·h + b_hn)) as PyTorch and Keras (reset_after); "
                "off: n = tanh(W_in·x + W_hn·(r·h) + b_hn), ONNX's default"})


def _orthogonal(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    return q if rows >= cols else q.T


PARAM_NAMES = ("W_ih", "W_hh", "b_ih", "b_hh")
#: a weight-gradient GEMM below this many multiply-adds runs as one call (the hand-off costs more)
SPLIT_MACS = 1 << 22


def gemm_tn(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a.T @ b`` for a (R, M), b (R, K): a weight gradient summed over all steps and rows.

    Large ones are two GEMMs on two threads, each for half of the M output rows (BLAS on one
    thread; the calls release the GIL).  An output element is summed over R in the same order
    either way, so the bits are the same as one call (``tests/engine/test_kernels_recurrent.py``).
    W5's LSTM (R = 1600, M = 256, K = 80): 0.74 ms as one single-thread call, 0.37 ms each half.
    """
    r, m = a.shape
    if kernel_threads() < 2 or r * m * b.shape[1] < SPLIT_MACS or m < 16:
        return a.T @ b
    out = np.empty((m, b.shape[1]), dtype=np.result_type(a, b))
    half = (m // 2 + 7) // 8 * 8
    parts = (slice(0, half), slice(half, m))

    def work(take):
        while (i := take()) is not None:
            np.matmul(a[:, parts[i]].T, b, out=out[parts[i]])

    with blas_one_thread():
        run_items(work, 2)
    return out


class _RecurrentBase(Layer):
    category = "Recurrent"
    Config = RNNConfig
    gates = 1
    # the time loops run on our own two threads (batch halves): a training run with such a layer gives
    # BLAS one thread (engine.kernels.threads.blas_for_run)
    SPLITS_WORK = True

    @property
    def directions(self) -> tuple[str, ...]:
        """Parameter-name suffix of each direction: ``("",)`` or ``("", "_reverse")``."""
        return ("", "_reverse") if self.cfg.bidirectional else ("",)

    @property
    def out_units(self) -> int:
        bi = self.cfg.bidirectional and self.cfg.merge_mode == "concat"
        return 2 * self.cfg.units if bi else self.cfg.units

    def output_shape(self, in_shapes):
        s = tuple(in_shapes[0])
        if len(s) != 2:
            hint = ("add Reshape (e.g. length, 1) or Embedding before it" if len(s) == 1
                    else "add Reshape to make it (length, features)")
            raise ShapeError(f"expects a sequence (length, features), got {fmt_shape(s)}; {hint}")
        u = self.out_units
        return (s[0], u) if self.cfg.return_sequences else (u,)

    def param_shapes(self, in_shapes):
        c, u, g = in_shapes[0][-1], self.cfg.units, self.gates
        out = {}
        for sfx in self.directions:
            out.update({"W_ih" + sfx: (g * u, c), "W_hh" + sfx: (g * u, u), "b_ih" + sfx: (g * u,),
                        "b_hh" + sfx: (g * u,)})
        return out

    def init_params(self, in_shapes, rng, dtype):
        c = in_shapes[0][-1]
        u, g = self.cfg.units, self.gates
        p = {}
        for sfx in self.directions:
            W_ih = init_weight("glorot", (g * u, c), c, g * u, rng, dtype)
            W_hh = np.empty((g * u, u), dtype=dtype)  # one gate's float64 block at a time
            for i in range(g):
                W_hh[i * u:(i + 1) * u] = _orthogonal(u, u, rng)
            b_ih = np.zeros(g * u, dtype=dtype)
            if self.gates == 4:
                b_ih[u:2 * u] = 1.0  # forget gate open at the start
            p.update({"W_ih" + sfx: W_ih, "W_hh" + sfx: W_hh, "b_ih" + sfx: b_ih,
                      "b_hh" + sfx: np.zeros(g * u, dtype=dtype)})
        return p

    def summary(self):
        parts = [f"{self.cfg.units}"]
        if self.cfg.return_sequences:
            parts.append("sequences")
        if self.cfg.bidirectional:
            parts.append("bidirectional" + (", sum" if self.cfg.merge_mode == "sum" else ""))
        return ", ".join(parts)

    def forward(self, params, state, xs, ctx):
        if ctx.train:
            # see engine/kernels/alloc.py: the step's (L, N, G*u) arrays are reused instead of
            # page-faulted in again (the LSTM layer of W5: 2.8-4.0 -> 2.2-2.4 ms a batch)
            tune_malloc()
        x = xs[0]
        n, L, c = x.shape
        u, g = self.cfg.units, self.gates
        dt = x.dtype
        xt = np.ascontiguousarray(x.transpose(1, 0, 2))              # (L, N, C) time-major
        runs = []
        for sfx in self.directions:
            xin = xt if not sfx else np.ascontiguousarray(xt[::-1])  # the reverse direction reads L-1 .. 0
            W_ih, W_hh, b_ih, b_hh = (params[k + sfx] for k in PARAM_NAMES)
            hs = np.zeros((L + 1, n, u), dtype=dt)                   # hs[0] = initial state
            cache = self._run(xin, W_ih, b_ih, W_hh, b_hh, hs)
            runs.append((sfx, xin, W_ih, W_hh, hs, cache))
        outs = []
        for sfx, _, _, _, hs, _ in runs:
            if self.cfg.return_sequences:
                seq = hs[1:] if not sfx else hs[:0:-1]               # back in the original time order
                outs.append(seq.transpose(1, 0, 2))
            else:
                outs.append(hs[L])
        if len(outs) == 1:
            y = np.ascontiguousarray(outs[0]) if self.cfg.return_sequences else outs[0].copy()
        elif self.cfg.merge_mode == "concat":
            y = np.concatenate(outs, axis=-1)
        else:
            y = outs[0] + outs[1]
        need_dx = ctx.need_input_grad
        merge = self.cfg.merge_mode

        def backprop(dy):
            grads = {}
            dx = None
            for i, (sfx, xin, W_ih, W_hh, hs, cache) in enumerate(runs):
                if len(runs) == 1 or merge == "sum":
                    dpart = dy
                else:
                    dpart = dy[..., i * u:(i + 1) * u]
                if self.cfg.return_sequences:
                    dh_out = np.ascontiguousarray(dpart.transpose(1, 0, 2))   # (L, N, u)
                    if sfx:
                        dh_out = np.ascontiguousarray(dh_out[::-1])
                    dlast = None
                else:
                    dh_out = None
                    dlast = np.ascontiguousarray(dpart)
                dgx, dgh = self._back(dh_out, dlast, W_hh, hs, cache)
                dgx2 = dgx.reshape(L * n, g * u)
                dgh2 = dgh.reshape(L * n, g * u)
                ones = np.ones(L * n, dtype=dt)
                db_ih = ones @ dgx2                                  # BLAS column sums
                dW_ih, dW_hh = self._weight_grads(dgx2, dgh2, xin, hs, cache)
                grads.update({"W_ih" + sfx: dW_ih, "W_hh" + sfx: dW_hh,
                              "b_ih" + sfx: db_ih, "b_hh" + sfx: db_ih.copy() if dgh is dgx else ones @ dgh2})
                if need_dx:
                    d = (dgx2 @ W_ih).reshape(L, n, c)
                    if sfx:
                        d = d[::-1]
                    dx = d if dx is None else dx + d
            if not need_dx:  # the layer reads the model's input: nobody needs dL/dx
                return [None], grads
            return [np.ascontiguousarray(dx.transpose(1, 0, 2))], grads

        return y, backprop

    def _weight_grads(self, dgx2, dgh2, xin, hs, cache):
        """(dL/dW_ih, dL/dW_hh) from the gate gradients (L*N, G*u) of the input and hidden side."""
        L, n, c = xin.shape
        return gemm_tn(dgx2, xin.reshape(L * n, c)), self._grad_W_hh(dgh2, hs, cache)

    @staticmethod
    def _grad_W_hh(dgh2, hs, cache):
        """dL/dW_hh from the hidden-side gate gradients (L*N, G*u) and the states fed to W_hh."""
        L1, n, u = hs.shape
        return gemm_tn(dgh2, hs[:-1].reshape((L1 - 1) * n, u))

    @staticmethod
    def _project(xt, W_ih, bias):
        """Input projection of every time step at once: (L, N, C) -> (L, N, G*u)."""
        L, n, c = xt.shape
        xw = (xt.reshape(L * n, c) @ W_ih.T).reshape(L, n, W_ih.shape[0])
        xw += bias
        return xw


@register_layer
class SimpleRNN(_RecurrentBase):
    type_id = "SimpleRNN.v1"
    label = "SimpleRNN"
    description = "Plain recurrent layer: h = tanh(W·x + U·h + b) at every step of a sequence."
    gates = 1

    def _run(self, xt, W_ih, b_ih, W_hh, b_hh, hs):
        xw = self._project(xt, W_ih, b_ih + b_hh)
        run_rows(K.rnn_forward, hs.shape[1], xw, np.ascontiguousarray(W_hh.T), hs)
        return None

    def _back(self, dh_out, dy_last, W_hh, hs, cache):
        dpre = np.empty(hs[1:].shape, dtype=hs.dtype)
        run_rows(K.rnn_backward, hs.shape[1], *_dh_args(dh_out, dy_last, hs), np.ascontiguousarray(W_hh), hs,
                 dpre)
        return dpre, dpre


def _dh_args(dh_out, dy_last, hs):
    """The kernels' (dh_seq, dlast) pair: an empty sequence when only the last state is an output."""
    n, u = hs.shape[1], hs.shape[2]
    if dh_out is None:
        return np.empty((0, n, u), dtype=hs.dtype), np.ascontiguousarray(dy_last, dtype=hs.dtype)
    return np.ascontiguousarray(dh_out, dtype=hs.dtype), np.empty((n, u), dtype=hs.dtype)


@register_layer
class LSTM(_RecurrentBase):
    type_id = "LSTM.v1"
    label = "LSTM"
    description = ("Long short-term memory: a recurrent layer with gates that decide what to keep, "
                   "forget and output; good at long sequences.")
    gates = 4

    def _run(self, xt, W_ih, b_ih, W_hh, b_hh, hs):
        L, n, u = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        c = xt.shape[2]
        g4 = 4 * u
        dt = xt.dtype
        # one matmul per step over [x_t, h_t] (L, N, C+u) against [W_ih^T; W_hh^T]: the input
        # projection runs inside the time loop (no (L, N, 4u) array written and read back) and
        # the weight gradients are one GEMM against the same [x, h] rows.
        # sigmoid(a) = 0.5 + 0.5 tanh(a/2): the 1/2 of the i, f, o columns is folded into
        # the weights and biases, then one tanh per gate value.
        scale = np.full(g4, 0.5, dtype=dt)
        scale[2 * u:3 * u] = 1.0
        W_cat = np.empty((c + u, g4), dtype=dt)
        np.multiply(W_ih.T, scale, out=W_cat[:c])
        np.multiply(W_hh.T, scale, out=W_cat[c:])
        bias = ((b_ih + b_hh) * scale).astype(dt, copy=False)
        xh = np.empty((L, n, c + u), dtype=dt)
        xh[:, :, :c] = xt
        cs = np.empty((L + 1, n, u), dtype=dt)
        cs[0] = 0
        acts = np.empty((L, n, g4), dtype=dt)   # i, f, g, o after their nonlinearity
        tcs = np.empty((L, n, u), dtype=dt)     # tanh(c')
        run_rows(K.lstm_forward, n, xh, W_cat, bias, hs, cs, acts, tcs)
        return cs, acts, tcs, xh

    def _back(self, dh_out, dy_last, W_hh, hs, cache):
        cs, acts, tcs, _ = cache
        dg = np.empty_like(acts)
        run_rows(K.lstm_backward, hs.shape[1], *_dh_args(dh_out, dy_last, hs), np.ascontiguousarray(W_hh),
                 acts, cs, tcs, dg)
        return dg, dg

    def _weight_grads(self, dgx2, dgh2, xin, hs, cache):
        xh = cache[3]
        L, n, cu = xh.shape
        c = xin.shape[2]
        dW = gemm_tn(dgx2, xh.reshape(L * n, cu))   # (4u, C+u): [dL/dW_ih, dL/dW_hh]
        return np.ascontiguousarray(dW[:, :c]), np.ascontiguousarray(dW[:, c:])


@register_layer
class GRU(_RecurrentBase):
    type_id = "GRU.v1"
    label = "GRU"
    description = ("Gated recurrent unit: a lighter gated recurrent layer (reset and update gates); "
                   "often as good as LSTM.")
    gates = 3
    Config = GRUConfig

    def _run(self, xt, W_ih, b_ih, W_hh, b_hh, hs):
        if not self.cfg.linear_before_reset:
            return self._run_reset_first(xt, W_ih, b_ih, W_hh, b_hh, hs)
        xw = self._project(xt, W_ih, b_ih)
        L, n, g3 = xw.shape
        u = hs.shape[2]
        dt = xw.dtype
        # r, z: sigmoid(a) = 0.5 + 0.5 tanh(a/2) with the halving folded into the weights
        scale = np.ones(g3, dtype=dt)
        scale[:2 * u] = 0.5
        xr = xw  # fresh from the projection: scaled in place
        xr[..., :2 * u] += b_hh[:2 * u]
        xr[..., :2 * u] *= dt.type(0.5)
        W_s = np.ascontiguousarray(W_hh.T * scale)
        b_hn = np.ascontiguousarray(b_hh[2 * u:])
        acts = np.empty_like(xw)   # r, z, n after their nonlinearity
        ghn = np.empty((L, n, u), dtype=dt)
        run_rows(K.gru_forward, n, xr, W_s, b_hn, hs, acts, ghn, np.empty((n, g3), dtype=dt))
        return acts, ghn

    def _back(self, dh_out, dy_last, W_hh, hs, cache):
        if not self.cfg.linear_before_reset:
            return self._back_reset_first(dh_out, dy_last, W_hh, hs, cache)
        acts, ghn = cache
        dgx = np.empty_like(acts)
        dgh = np.empty_like(acts)
        run_rows(K.gru_backward, hs.shape[1], *_dh_args(dh_out, dy_last, hs), np.ascontiguousarray(W_hh), hs,
                 acts, ghn, dgx, dgh)
        return dgx, dgh

    # --- linear_before_reset=False (ONNX's default): the reset gate scales h before W_hn,
    # so a step is two matmuls (r first), and the n-block of dL/dW_hh is taken against r*h.
    def _run_reset_first(self, xt, W_ih, b_ih, W_hh, b_hh, hs):
        xw = self._project(xt, W_ih, b_ih)
        L, n, g3 = xw.shape
        u = hs.shape[2]
        dt = xw.dtype
        W_rzT = np.ascontiguousarray(W_hh[:2 * u].T)
        W_nT = np.ascontiguousarray(W_hh[2 * u:].T)
        b_rz, b_n = np.ascontiguousarray(b_hh[:2 * u]), np.ascontiguousarray(b_hh[2 * u:])
        acts = np.empty_like(xw)             # r, z, n after their nonlinearity
        rh = np.empty((L, n, u), dtype=dt)   # r * h, the input of W_hn
        run_rows(K.gru_reset_first_forward, n, xw, W_rzT, b_rz, W_nT, b_n, hs, acts, rh,
                 np.empty((n, 2 * u), dtype=dt), np.empty((n, u), dtype=dt))
        return acts, rh

    def _back_reset_first(self, dh_out, dy_last, W_hh, hs, cache):
        acts, rh = cache
        u = hs.shape[2]
        W_rz, W_n = np.ascontiguousarray(W_hh[:2 * u]), np.ascontiguousarray(W_hh[2 * u:])
        dg = np.empty_like(acts)
        run_rows(K.gru_reset_first_backward, hs.shape[1], *_dh_args(dh_out, dy_last, hs), W_rz, W_n, hs, acts,
                 dg, np.empty((hs.shape[1], u), dtype=hs.dtype))
        return dg, dg

    def _grad_W_hh(self, dgh2, hs, cache):
        if self.cfg.linear_before_reset:
            return _RecurrentBase._grad_W_hh(dgh2, hs, cache)
        L1, n, u = hs.shape
        rows = (L1 - 1) * n
        return np.concatenate([gemm_tn(dgh2[:, :2 * u], hs[:-1].reshape(rows, u)),
                               gemm_tn(dgh2[:, 2 * u:], cache[1].reshape(rows, u))], axis=0)

    def summary(self):
        text = super().summary()
        return text if self.cfg.linear_before_reset else text + ", reset first"


@register_layer
class ReverseSequence(Layer):
    """Reverses the time axis: (L, ...) -> (L, ...) with step t taken from step L-1-t."""

    type_id = "ReverseSequence.v1"
    label = "ReverseSequence"
    category = "Recurrent"
    description = ("Reverses the order of the steps of a sequence (the first axis of each sample), "
                   "e.g. to read it backwards with a recurrent layer.")

    def output_shape(self, in_shapes):
        s = tuple(in_shapes[0])
        if len(s) < 1:
            raise ShapeError(f"expects a sequence (length, ...), got {fmt_shape(s)}")
        return s

    def forward(self, params, state, xs, ctx):
        return np.ascontiguousarray(xs[0][:, ::-1]), lambda dy: ([np.ascontiguousarray(dy[:, ::-1])], {})
