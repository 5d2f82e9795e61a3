"""A compiled, runnable model: topologically ordered layers plus their parameters.

``compile_graph(spec)`` validates a spec (:func:`engine.compile.analyse`), checks that its
weights fit in memory (:mod:`engine.memory`) and builds the :class:`CompiledModel`.

Parameters live here, keyed ``node_id -> {name: array}``, never on the layers.
``state_dict()`` flattens them to ``"n3/W"`` keys (buffers such as BatchNorm's
running statistics included), which is also the key format of every export.
"""
from __future__ import annotations

import numpy as np

from engine import memory
from engine.compile import Analysis, analyse
from engine.errors import UserError
from engine.registry import Ctx, Layer
from engine.spec import GraphSpec

_UNSET = object()


class StateError(UserError):
    """Weights that do not fit the model (missing keys, wrong shapes)."""


class InputNameError(UserError):
    """Named input data (``{name: array}``) without an array for one of the graph's Input layers."""


class CompiledModel:
    def __init__(self, spec: GraphSpec, analysis: Analysis, *, seed: int = 0, dtype=np.float32):
        self.spec = spec
        self.dtype = np.dtype(dtype)
        self.order: list[str] = list(analysis.order)
        self.layers: dict[str, Layer] = dict(analysis.layers)
        self.shapes: dict[str, tuple] = {k: v for k, v in analysis.shapes.items() if v is not None}
        self.input_ids: list[str] = [n for n in self.order if n in analysis.inputs]
        self.output_id: str = analysis.output
        self.sources: dict[str, list[str]] = {nid: [e.src for e in spec.inputs_of(nid)] for nid in self.order}
        # free an activation as soon as its last consumer has run (pyqtgraph Flowchart idea)
        last_use: dict[str, int] = {}
        for i, nid in enumerate(self.order):
            for s in self.sources[nid]:
                last_use[s] = i
        self._free_after: dict[int, list[str]] = {}
        for s, i in last_use.items():
            if s != self.output_id:
                self._free_after.setdefault(i, []).append(s)
        self.seed = seed
        self._logits_layer = _UNSET
        self.reset_parameters(seed)

    # ------------------------------------------------------------------ parameters
    def reset_parameters(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.params: dict[str, dict[str, np.ndarray]] = {}
        self.state: dict[str, dict[str, np.ndarray]] = {}
        for nid in self.order:
            layer = self.layers[nid]
            in_shapes = [self.shapes[s] for s in self.sources[nid]]
            self.params[nid] = layer.init_params(in_shapes, rng, self.dtype)
            self.state[nid] = layer.init_state(in_shapes, self.dtype)

    @property
    def input_shape(self) -> tuple:
        return self.shapes[self.input_ids[0]]

    @property
    def output_shape(self) -> tuple:
        return self.shapes[self.output_id]

    def n_params(self) -> int:
        return int(sum(p.size for d in self.params.values() for p in d.values()))

    def trainable(self) -> dict[str, np.ndarray]:
        """Flat view ``"nid/name" -> array`` of the trainable parameters (same objects)."""
        return {f"{nid}/{k}": v for nid in self.order for k, v in self.params[nid].items()}

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of all parameters and buffers, ``"nid/name"`` keys, C-contiguous."""
        out = {}
        for nid in self.order:
            for k, v in {**self.params[nid], **self.state[nid]}.items():
                out[f"{nid}/{k}"] = np.ascontiguousarray(v).copy()
        return out

    def load_state_dict(self, weights: dict[str, np.ndarray], strict: bool = True) -> None:
        expected = {}
        for nid in self.order:
            for group in (self.params[nid], self.state[nid]):
                for k, v in group.items():
                    expected[f"{nid}/{k}"] = (group, k, v.shape)
        missing = [k for k in expected if k not in weights]
        unexpected = [k for k in weights if k not in expected]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append("missing " + ", ".join(missing[:5]) + ("…" if len(missing) > 5 else ""))
            if unexpected:
                parts.append("unexpected " + ", ".join(unexpected[:5]) + ("…" if len(unexpected) > 5 else ""))
            raise StateError("weights do not match the graph: " + "; ".join(parts))
        for key, (group, k, shape) in expected.items():
            if key not in weights:
                continue
            arr = np.asarray(weights[key])
            if arr.shape != shape:
                raise StateError(f"weight {key} has shape {arr.shape}, the graph needs {shape}")
            group[k] = np.ascontiguousarray(arr, dtype=self.dtype).copy()

    # ------------------------------------------------------------------- running
    @property
    def input_names(self) -> list[str]:
        """The Input layers' names (their id when unnamed), in the order of :attr:`input_ids`."""
        return [self.spec.node(nid).label for nid in self.input_ids]

    @property
    def input_shapes(self) -> dict[str, tuple]:
        """``{Input name: sample shape}``, in the order of :attr:`input_ids`."""
        return {name: self.shapes[nid] for name, nid in zip(self.input_names, self.input_ids)}

    def _named_inputs(self, x: dict) -> list:
        """Arrays of a ``{Input name or id: array}`` dict, in the order of :attr:`input_ids`."""
        out, missing = [], []
        for nid, name in zip(self.input_ids, self.input_names):
            arr = x.get(name, x.get(nid))
            if arr is None:
                missing.append(name)
            out.append(arr)
        if missing:
            raise InputNameError(f"no data for the Input layer(s) {', '.join(missing)}; the data has "
                                 f"{', '.join(map(str, x)) or 'none'} (name each Input layer after its data)")
        return out

    def _as_inputs(self, x) -> list[np.ndarray]:
        if isinstance(x, dict):
            x = self._named_inputs(x)
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        if len(xs) != len(self.input_ids):
            raise ValueError(f"the model has {len(self.input_ids)} inputs, got {len(xs)} arrays")
        out = []
        for nid, arr in zip(self.input_ids, xs):
            arr = np.asarray(arr)
            want = self.shapes[nid]
            if tuple(arr.shape[1:]) != tuple(want):
                raise ValueError(f"input '{nid}' expects samples of shape {want}, got {tuple(arr.shape[1:])}")
            if arr.dtype != self.dtype and np.issubdtype(arr.dtype, np.floating):
                arr = arr.astype(self.dtype)
            out.append(arr)
        return out

    def _layer(self, nid: str, logits: bool) -> Layer | None:
        if logits and nid == self.output_id:
            if self._logits_layer is _UNSET:
                self._logits_layer = self.layers[nid].without_output_activation()
            return self._logits_layer
        return self.layers[nid]

    @property
    def output_activation(self) -> str | None:
        """``"softmax"``/``"sigmoid"`` when the output layer ends in one (a loss may fuse it)."""
        return self.layers[self.output_id].output_activation()

    def forward(self, x, *, train: bool = False, rng: np.random.Generator | None = None,
                logits: bool = False) -> np.ndarray:
        """Inference (or a training-mode pass without gradients)."""
        ctx = Ctx(train=train, rng=rng)
        values: dict[str, np.ndarray] = dict(zip(self.input_ids, self._as_inputs(x)))
        for i, nid in enumerate(self.order):
            layer = self._layer(nid, logits)
            xs = [values[s] for s in self.sources[nid]] or [values[nid]]
            if layer is None:
                values[nid] = xs[0]
            else:
                values[nid], _ = layer.forward(self.params[nid], self.state[nid], xs, ctx)
            for s in self._free_after.get(i, ()):
                values.pop(s, None)
        return values[self.output_id]

    def predict(self, x, batch_size: int = 1024) -> np.ndarray:
        """Evaluation-mode outputs in batches (probabilities if the model ends in softmax)."""
        xs = self._as_inputs(x)
        n = xs[0].shape[0]
        outs = [self.forward([a[i:i + batch_size] for a in xs]) for i in range(0, n, batch_size)]
        if not outs:
            return np.zeros((0, *self.output_shape), dtype=self.dtype)
        return np.concatenate(outs, axis=0)

    def forward_train(self, x, *, rng: np.random.Generator | None = None, train: bool = True,
                      logits: bool = False, input_grads: bool = False):
        """Forward pass that returns ``(y, backprop)``.

        ``backprop(dy)`` returns ``(grads, input_grads)``: ``grads[nid][name]``
        matches ``self.params``; with ``input_grads=True``, ``input_grads[input_nid]``
        is dL/dx (otherwise layers fed only by inputs may skip that work).
        """
        ctx = Ctx(train=train, rng=rng)
        first_ctx = ctx if input_grads else Ctx(train=train, rng=rng, need_input_grad=False)
        inputs = set(self.input_ids)
        values: dict[str, np.ndarray] = dict(zip(self.input_ids, self._as_inputs(x)))
        backs = {}
        for nid in self.order:
            layer = self._layer(nid, logits)
            xs = [values[s] for s in self.sources[nid]] or [values[nid]]
            srcs = self.sources[nid]
            c = first_ctx if srcs and all(s in inputs for s in srcs) else ctx
            if layer is None:
                values[nid], backs[nid] = xs[0], (lambda dy: ([dy], {}))
            else:
                values[nid], backs[nid] = layer.forward(self.params[nid], self.state[nid], xs, c)
        y = values[self.output_id]
        del values
        input_grads_wanted = input_grads

        def backprop(dy: np.ndarray):
            pending: dict[str, np.ndarray] = {self.output_id: dy}
            grads: dict[str, dict[str, np.ndarray]] = {}
            input_grads: dict[str, np.ndarray] = {}
            for nid in reversed(self.order):
                g = pending.pop(nid, None)
                if g is None:
                    grads[nid] = {k: np.zeros_like(v) for k, v in self.params[nid].items()}
                    continue
                dxs, pg = backs[nid](g)
                grads[nid] = pg
                srcs = self.sources[nid]
                if not srcs:
                    if input_grads_wanted:
                        input_grads[nid] = dxs[0]
                    continue
                for s, dx in zip(srcs, dxs):
                    if dx is None:
                        continue
                    if s in pending:
                        pending[s] = pending[s] + dx
                    else:
                        pending[s] = dx
            return grads, input_grads

        return y, backprop

    def summary(self) -> list[dict]:
        """One row per node: id, type, output shape, parameter count."""
        return [{"id": nid, "type": self.spec.node(nid).type, "shape": self.shapes[nid],
                 "params": int(sum(p.size for p in self.params[nid].values()))} for nid in self.order]


def compile_graph(spec: GraphSpec, *, seed: int = 0, dtype=np.float32, check_memory: bool = True) -> CompiledModel:
    """Validate ``spec`` and build a model with freshly initialised parameters.

    The first problem :func:`engine.compile.analyse` finds is raised as its
    :class:`engine.compile.GraphError`.  A model whose weights would not fit in the
    available memory is refused first (:class:`engine.memory.MemoryCheckError`, a
    ``GraphError`` naming the biggest layer).
    """
    a = analyse(spec)
    err = a.first_error()
    if err is not None:
        raise err
    if check_memory:
        memory.check(memory.estimate(spec, a, dtype=dtype))  # the weights, before drawing them
    return CompiledModel(spec, a, seed=seed, dtype=dtype)


def input_shape_problem(model: CompiledModel, data_shape) -> str | None:
    """Why samples of ``data_shape`` cannot go into ``model``'s Input, with the fix, or ``None``
    when they fit: one wording for training, evaluation and explanation."""
    return shape_problem(model.input_shape, data_shape)


def shape_problem(input_shape, data_shape) -> str | None:
    """:func:`input_shape_problem` for an Input layer's shape (e.g. from ``analyse``) instead of a model."""
    want = tuple(int(d) for d in input_shape)
    have = tuple(int(d) for d in data_shape)
    if want == have:
        return None
    return (f"the Input layer expects samples of shape {want} but the data has {have}; "
            f"set the Input shape to {', '.join(map(str, have))}")
