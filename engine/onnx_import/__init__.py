"""Import an ONNX model (``torch.onnx.export``, ``tf2onnx``) as an NN Studio graph with its weights.

``import_onnx(path) -> ImportResult`` (a :class:`engine.io.Project` plus notes for the user).

* :mod:`.load` reads the file within bounds: a size limit, external-data files only inside the
  model's folder, one-line messages for damaged files.
* :mod:`.convert` walks the ONNX graph once, in its (topological) order.  Every value is either a
  constant (initializers, ``Constant`` nodes and everything computed from them: the shape plumbing
  that exporters emit is folded here), a shape vector that holds the batch size symbolically, or a
  tensor computed by an NN Studio node together with its *layout*: which axis of NN Studio's
  channels-last tensor each ONNX axis is.  ``Transpose``, ``Squeeze`` and ``Unsqueeze`` only change
  the layout; layers that need channels on axis 1 (``Conv``, pooling, ``BatchNormalization``) check it.
* :mod:`.attention` finds self-attention blocks (MatMul -> Softmax -> MatMul with their projections and
  head plumbing) before the walk, reads their weights by evaluating them and checks the result; the
  walk leaves their nodes out and puts one MultiHeadAttention layer in their place.
* :mod:`.ops` is the table ``ONNX operator -> mapper``.  A mapper either returns the values of the
  node's outputs or raises :class:`Unsupported` naming the attribute it cannot map
  (``"pads=[1, 2, 1, 2] is not supported yet"``).  Every problem of a file is collected and
  reported in one :class:`OnnxImportError` message, one line per node.

Adding an operator (or a new layer option): write ``_map_<op>(cx)`` in :mod:`.ops` and put it in
:data:`ops.OPS`; ``cx`` gives the node's attributes and inputs (:class:`convert.NodeCtx`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.export import ExportError

#: files larger than this are refused (NN Studio trains small models on a CPU)
MAX_MODEL_BYTES = 512 * 1024 ** 2
#: all external-data files of one model together may hold at most this much
MAX_EXTERNAL_BYTES = 2 * 1024 ** 3
#: a constant computed while folding may hold at most this many values
MAX_FOLDED_VALUES = 10_000_000
#: at most this many problems are listed in the message (the rest are counted)
MAX_LISTED_PROBLEMS = 25


class OnnxImportError(ExportError):
    """An ONNX file that cannot be read or mapped onto NN Studio layers; the message is for the user."""


@dataclass
class ImportResult:
    project: object                       # engine.io.Project
    notes: list[str] = field(default_factory=list)
    #: per ONNX input name, the layout of NN Studio's Input: ``axes[i]`` is the NN Studio axis
    #: (batch included) holding ONNX axis ``i`` (:func:`to_nn_layout` converts data)
    input_axes: dict[str, tuple] = field(default_factory=dict)
    #: the same for the output; ``None`` marks an ONNX axis of size 1 NN Studio does not have
    output_axes: tuple = ()


def to_nn_layout(x, axes):
    """An array in the ONNX model's layout -> NN Studio's (e.g. NCHW -> NHWC)."""
    import numpy as np

    x = np.asarray(x)
    real = [i for i, a in enumerate(axes) if a is not None]
    x = x.reshape([x.shape[i] for i in real])
    order = [a for a in axes if a is not None]
    return np.ascontiguousarray(np.transpose(x, np.argsort(order)))


def to_onnx_layout(y, axes):
    """NN Studio's output -> the ONNX model's layout (e.g. NHWC -> NCHW, singleton axes put back)."""
    import numpy as np

    y = np.asarray(y)
    order = [a for a in axes if a is not None]
    y = np.transpose(y, order)
    it = iter(y.shape)
    return np.ascontiguousarray(y.reshape([1 if a is None else next(it) for a in axes]))


def import_onnx(path, *, max_bytes: int = MAX_MODEL_BYTES) -> ImportResult:
    """Read ``path`` and turn it into a project: graph (auto-laid-out), weights, no data yet."""
    from engine.onnx_import.convert import convert_model
    from engine.onnx_import.load import read_model

    path = Path(path)
    model = read_model(path, max_bytes=max_bytes)
    return convert_model(model, path.name, stem=path.stem)
