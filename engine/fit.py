"""Does a graph fit a data set, and how to make it fit (pure Python, no Qt).

Shared by the app (the "fit the graph to the data" offer, the Train button's
reason) and the command line (``python main.py template NAME --data PATH``).

A graph *fits* a data set when its single Input layer has the data's sample
shape and its output has as many values as the task needs:

* classification with ``k > 2`` classes: ``k`` outputs (softmax),
* binary classification: 1 output (sigmoid) or 2 outputs (softmax),
* regression with ``t`` targets: ``t`` outputs (linear).

:func:`fit_problems` lists what does not fit (each with its fix) and
:func:`fit_to_data` returns the graph with the Input shape and the last Dense
layer's ``units``/``activation`` changed to fit, plus a sentence per change.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.compile import Analysis, analyse, describe
from engine.spec import GraphSpec

INPUT_TYPE = "Input.v1"
DENSE_TYPE = "Dense.v1"
#: single-input layers that keep the shape and hold no parameters: the output
#: head is looked for behind them (``Dense -> Dropout -> Softmax`` ends in the Dense)
PASS_THROUGH = frozenset({"Dropout.v1", "ReLU.v1", "LeakyReLU.v1", "ELU.v1", "GELU.v1", "Sigmoid.v1",
                          "Tanh.v1", "Softmax.v1", "Identity.v1"})
ACTIVATION_LAYERS = {"Sigmoid.v1": "sigmoid", "Softmax.v1": "softmax"}


@dataclass(frozen=True)
class DataInfo:
    """What the graph must match: one sample's shape, the task and its output count."""
    input_shape: tuple
    task: str                     # "classification" or "regression"
    n_outputs: int                # classes (classification) or target columns (regression)
    vocab_size: int | None = None  # token ids of the data's text columns run from 0 to vocab_size-1
    input_shapes: dict | None = None  # several inputs: {Input name: sample shape}

    @classmethod
    def of(cls, data) -> DataInfo:
        """From a loaded ``Dataset`` or its ``summary()`` dict."""
        if isinstance(data, DataInfo):
            return data
        if isinstance(data, dict):
            vocab = data.get("vocab_size")
            return cls(tuple(int(v) for v in data["input_shape"]), str(data["task"]), int(data["n_outputs"]),
                       int(vocab) if isinstance(vocab, int) else None, _shapes(data.get("input_shapes")))
        from engine.data.dataset import text_summary  # noqa: PLC0415

        text = text_summary(getattr(data, "preprocessing", None))
        return cls(tuple(int(v) for v in data.input_shape), str(data.task), int(data.n_outputs),
                   max(t["vocab_size"] for t in text) if text else None,
                   _shapes(getattr(data, "input_shapes", None)))

    def of_input(self, name: str) -> DataInfo:
        """The same data seen through one of its named inputs (for messages about that input)."""
        return DataInfo(tuple(self.input_shapes[name]), self.task, self.n_outputs)

    def describe_input(self) -> str:
        if len(self.input_shape) == 1:
            n = self.input_shape[0]
            return f"{n} feature{'s' if n != 1 else ''} per sample"
        return "samples of shape " + "×".join(map(str, self.input_shape))

    def describe_task(self) -> str:
        if self.task == "classification":
            return "binary classification" if self.n_outputs == 2 else f"{self.n_outputs} classes"
        return f"regression with {self.n_outputs} target{'s' if self.n_outputs != 1 else ''}"


@dataclass
class FitResult:
    spec: GraphSpec
    changes: list[str] = field(default_factory=list)   # one sentence per change, in order
    problems: list[str] = field(default_factory=list)  # what could not be fitted automatically

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _shapes(shapes) -> dict | None:
    if not isinstance(shapes, dict) or not shapes:
        return None
    return {str(k): tuple(int(v) for v in s) for k, s in shapes.items()}


def _named_input_problems(spec: GraphSpec, info: DataInfo, inputs: list[str]) -> list[str]:
    """Several named inputs: one Input layer per input, named after it (the shapes are fitted)."""
    names = [spec.node(i).label for i in inputs]
    want = list(info.input_shapes)
    if sorted(names) != sorted(want):
        return [f"the data has the inputs {', '.join(want)} but the graph's Input layers are "
                f"{', '.join(names) or 'none'}; name one Input layer after each input"]
    return []


def _shape_text(shape) -> str:
    return ", ".join(str(int(v)) for v in shape)


def _input_nodes(spec: GraphSpec) -> list[str]:
    return [n.id for n in spec.nodes if n.type == INPUT_TYPE]


EMBEDDING_TYPE = "Embedding.v1"


def _token_embeddings(spec: GraphSpec) -> list[str]:
    """Embedding layers fed straight by an Input: they read the data's token ids."""
    return [n.id for n in spec.nodes if n.type == EMBEDDING_TYPE
            and any(spec.has_node(e.src) and spec.node(e.src).type == INPUT_TYPE for e in spec.inputs_of(n.id))]


def _output_node(spec: GraphSpec, analysis: Analysis) -> str | None:
    if analysis.output is not None:
        return analysis.output
    sinks = [n.id for n in spec.nodes if not spec.outputs_of(n.id) and n.type != INPUT_TYPE]
    return sinks[0] if len(sinks) == 1 else None


def _head(spec: GraphSpec, out: str) -> tuple[str | None, list[str]]:
    """The Dense layer that produces the output and the pass-through layers after it."""
    trail: list[str] = []
    nid = out
    while spec.has_node(nid):
        node = spec.node(nid)
        if node.type == DENSE_TYPE:
            return nid, trail
        ins = spec.inputs_of(nid)
        if node.type not in PASS_THROUGH or len(ins) != 1:
            return None, trail
        trail.append(nid)
        nid = ins[0].src
    return None, trail


def _trailing_activation(spec: GraphSpec, trail: list[str]) -> str | None:
    for nid in trail:  # nearest the output first
        act = ACTIVATION_LAYERS.get(spec.node(nid).type)
        if act is not None:
            return act
    return None


def wanted_output(info: DataInfo, units: int | None = None, activation: str | None = None) -> tuple[int, str]:
    """(units, activation) of the output layer for ``info``'s task, keeping a valid binary choice."""
    if info.task == "classification":
        k = max(int(info.n_outputs), 2)
        if k == 2:
            if units == 1:
                return 1, "sigmoid"
            return 2, "softmax"
        return k, "softmax"
    return max(int(info.n_outputs), 1), "linear"


def _n_values(shape) -> int:
    n = 1
    for v in shape:
        n *= int(v)
    return n


def fit_problems(spec: GraphSpec, data, analysis: Analysis | None = None) -> list[str]:
    """Why ``spec`` cannot be trained on ``data`` as it is (empty when it fits).

    Each entry names what differs and the fix.  Errors inside the graph itself
    (a missing connection, an impossible shape) are not repeated here.
    """
    info = DataInfo.of(data)
    a = analysis if analysis is not None else analyse(spec)
    problems: list[str] = []
    inputs = _input_nodes(spec)
    if info.input_shapes:
        problems += _named_input_problems(spec, info, inputs)
        for nid in inputs:
            node, name = spec.node(nid), spec.node(nid).label
            have = tuple(int(v) for v in node.config.get("shape", ()))
            if name in info.input_shapes and have != info.input_shapes[name]:
                want = info.input_shapes[name]
                problems.append(f"the data has {info.of_input(name).describe_input()} but {describe(node)} "
                                f"expects {_shape_text(have) or '()'}; set the Input shape to {_shape_text(want)}")
    elif len(inputs) > 1:
        problems.append(f"the graph has {len(inputs)} Input layers but the data has one input; keep one Input layer")
    elif len(inputs) == 1:
        have = tuple(int(v) for v in spec.node(inputs[0]).config.get("shape", ()))
        if have != info.input_shape:
            problems.append(f"the data has {info.describe_input()} but {describe(spec.node(inputs[0]))} "
                            f"expects {_shape_text(have) or '()'}; set the Input shape to {_shape_text(info.input_shape)}")
    if info.vocab_size is not None:
        for nid in _token_embeddings(spec):
            have_v = int(spec.node(nid).config.get("vocab_size", 1000))
            if have_v < info.vocab_size:
                problems.append(f"the data's token ids run up to {info.vocab_size - 1} but {describe(spec.node(nid))} "
                                f"has vocab_size {have_v}; set its vocab_size to {info.vocab_size}")
    if not a.ok or a.output is None:
        return problems
    out_shape = a.shapes.get(a.output) or ()
    n_out = _n_values(out_shape)
    try:
        act = a.layers[a.output].output_activation()
    except Exception:  # noqa: BLE001 - a layer without the hook: no activation check
        act = None
    out_node = describe(spec.node(a.output))
    if info.task == "classification":
        k = info.n_outputs
        if n_out == 1 and k == 2:
            if act == "softmax":
                problems.append(f"{out_node} has 1 unit with softmax, which always outputs 1; "
                                "use 1 unit with sigmoid or 2 units with softmax")
        elif n_out != k:
            units, a_want = wanted_output(info)
            problems.append(f"the data has {k} classes but {out_node} gives {n_out} output"
                            f"{'s' if n_out != 1 else ''}; set its units to {units} ({a_want})")
    else:
        t = info.n_outputs
        if n_out != t:
            problems.append(f"the data has {t} regression target{'s' if t != 1 else ''} but {out_node} gives "
                            f"{n_out} output{'s' if n_out != 1 else ''}; set its units to {t} (linear)")
        elif act == "softmax":
            problems.append(f"{out_node} ends in softmax, which suits classes, not regression targets; "
                            "set its activation to linear")
    return problems


def fit_to_data(spec: GraphSpec, data) -> FitResult:
    """``spec`` with its Input shape and output layer changed to fit ``data``.

    Only the Input layer's ``shape`` and the last Dense layer's ``units`` and
    ``activation`` change; everything else (ids, names, positions, other
    layers) stays.  What cannot be fitted this way is listed in ``problems``.
    """
    info = DataInfo.of(data)
    result = FitResult(spec)
    inputs = _input_nodes(spec)
    if not inputs:
        result.problems.append("the graph has no Input layer; add one from the palette")
        return result
    if info.input_shapes:
        result.problems += _named_input_problems(spec, info, inputs)
        if result.problems:
            return result
    elif len(inputs) > 1:
        result.problems.append(f"the graph has {len(inputs)} Input layers but the data has one input; "
                               "keep one Input layer")
        return result
    for nid in inputs:
        inp = spec.node(nid)
        each = info.of_input(inp.label) if info.input_shapes else info
        have = tuple(int(v) for v in inp.config.get("shape", ()))
        if have != each.input_shape:
            spec = spec.set_config(inp.id, shape=list(each.input_shape))
            result.changes.append(f"{describe(inp)} shape {_shape_text(have) or '()'} → {_shape_text(each.input_shape)} "
                                  f"({each.describe_input()})")
    if info.vocab_size is not None:
        for nid in _token_embeddings(spec):
            node = spec.node(nid)
            have_v = int(node.config.get("vocab_size", 1000))
            if have_v != info.vocab_size:
                spec = spec.set_config(nid, vocab_size=int(info.vocab_size))
                result.changes.append(f"{describe(node)} vocab_size {have_v} → {info.vocab_size} "
                                      f"(the vocabulary of the data's text)")
    a = analyse(spec)
    out = _output_node(spec, a)
    head, trail = (None, []) if out is None else _head(spec, out)
    if head is None:
        result.spec = spec
        where = f" ({describe(spec.node(out))} is not a Dense layer)" if out is not None else ""
        result.problems.append(f"cannot size the output automatically{where}; end the graph with a Dense layer "
                               f"of {wanted_output(info)[0]} units")
        return result
    node = spec.node(head)
    units = int(node.config.get("units", 32))
    activation = str(node.config.get("activation", "linear"))
    trailing = _trailing_activation(spec, trail)
    current_act = trailing or activation
    want_units, want_act = wanted_output(info, units, current_act)
    changes = {}
    if units != want_units:
        changes["units"] = want_units
    if trailing is not None:
        if trailing != want_act:
            result.problems.append(f"the graph ends in a {trailing.capitalize()} layer but {info.describe_task()} "
                                   f"needs {want_act}; replace or remove that layer")
    elif activation != want_act:
        changes["activation"] = want_act
    if changes:
        spec = spec.set_config(head, **changes)
        parts = []
        if "units" in changes:
            parts.append(f"units {units} → {want_units}")
        if "activation" in changes:
            parts.append(f"activation {activation} → {want_act}")
        result.changes.append(f"{describe(node)} {', '.join(parts)} ({info.describe_task()})")
    result.spec = spec
    after = analyse(spec)
    err = after.first_error()
    if err is not None:
        result.problems.append(err.message)
    return result
