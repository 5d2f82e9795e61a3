"""Generate a readable PyTorch ``nn.Module`` for a graph, plus a DDP training script.

Nothing here imports torch: this module only writes Python source.  The output
folder gets:

* ``<name>.py`` -- ``class NNStudioModel(nn.Module)`` taking the same channels-last
  arrays as NN Studio (it permutes to channels-first around convolutions and
  pooling), ``forward(x, logits=False)``, ``load_weights(path)`` reading the
  exported ``.safetensors``/``.npz`` with the layout transforms of
  :mod:`engine.export.layouts`, and ``nnstudio_state()`` for the way back;
* ``<name>.safetensors`` (+ ``.json`` sidecar) -- the weights and metadata;
* ``train_ddp.py`` -- a minimal ``DistributedDataParallel`` training script
  (``torchrun --nproc_per_node=2 train_ddp.py --data data.npz``).

Adding a layer type: write ``_gen_<name>(c) -> _Code`` and put it in :data:`GENERATORS` under its
versioned type (``"Dense.v1"``).
"""
from __future__ import annotations

import json
import keyword
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.export import layouts as L
from engine.export.common import ExportError, describe_node, export_weights, python_identifier, write_sidecar
from engine.files import os_reason

CLASS_NAME = "NNStudioModel"


@dataclass
class _Code:
    init: list[str] = field(default_factory=list)      # lines inside __init__
    fwd: list[str] = field(default_factory=list)       # lines inside forward
    wmap: dict = field(default_factory=dict)           # "nid/param" -> (torch path, transform, block, n_blocks)


@dataclass
class _Ctx:
    nid: str
    var: str            # python name of this node's output (also its submodule name)
    layer: object
    cfg: object
    xs: list            # python names of the inputs
    in_shapes: list
    out_shape: tuple
    is_output: bool
    params: list        # parameter/buffer names of this node


def _act(name: str, expr: str) -> str:
    return {
        "linear": expr,
        "relu": f"torch.relu({expr})",
        "leaky_relu": f"F.leaky_relu({expr}, negative_slope=0.01)",
        "elu": f"F.elu({expr}, alpha=1.0)",
        "gelu": f'F.gelu({expr}, approximate="tanh")',
        "sigmoid": f"torch.sigmoid({expr})",
        "tanh": f"torch.tanh({expr})",
        "softmax": f"torch.softmax({expr}, dim=-1)",
    }[name]


def _finish(c: _Ctx, expr: str, act: str, code: _Code) -> _Code:
    """Assign ``act(expr)`` to the node's variable; the model output skips a final
    softmax/sigmoid when ``logits=True``."""
    if c.is_output and act in ("softmax", "sigmoid"):
        code.fwd.append(f"{c.var} = {expr}")
        code.fwd.append(f"{c.var} = {c.var} if logits else {_act(act, c.var)}")
    else:
        code.fwd.append(f"{c.var} = {_act(act, expr)}")
    return code


def _wm(c: _Ctx, mapping: dict) -> dict:
    return {f"{c.nid}/{k}": v for k, v in mapping.items() if k in c.params}


# -------------------------------------------------------------------- generators
def _gen_dense(c):
    code = _Code(init=[f"self.{c.var} = nn.Linear({c.in_shapes[0][-1]}, {c.cfg.units}, bias={c.cfg.use_bias})"],
                 wmap=_wm(c, {"W": (f"{c.var}.weight", "T"), "b": (f"{c.var}.bias", "id")}))
    return _finish(c, f"self.{c.var}({c.xs[0]})", c.cfg.activation, code)


def _gen_activation(c):
    fn, cfg, x = c.layer.fn, c.cfg, c.xs[0]
    if fn == "leaky_relu":
        return _Code(fwd=[f"{c.var} = F.leaky_relu({x}, negative_slope={float(cfg.negative_slope)!r})"])
    if fn == "elu":
        return _Code(fwd=[f"{c.var} = F.elu({x}, alpha={float(cfg.alpha)!r})"])
    if fn == "gelu":
        return _Code(fwd=[f"{c.var} = F.gelu({x}, approximate={cfg.approximate!r})"])
    if fn == "softmax" and cfg.axis != -1:
        dim = c.layer.axis_index(len(c.in_shapes[0])) + 1
        return _Code(fwd=[f"{c.var} = torch.softmax({x}, dim={dim})"])
    return _finish(c, x, fn, _Code())


def _gen_flatten(c):
    return _Code(fwd=[f"{c.var} = {c.xs[0]}.reshape({c.xs[0]}.shape[0], -1)"])


def _gen_reshape(c):
    return _Code(fwd=[f"{c.var} = {c.xs[0]}.reshape({c.xs[0]}.shape[0], {', '.join(map(str, c.out_shape))})"])


def _gen_dropout(c):
    return _Code(init=[f"self.{c.var} = nn.Dropout(p={c.cfg.rate!r})"], fwd=[f"{c.var} = self.{c.var}({c.xs[0]})"])


def _gen_batchnorm(c):
    ch = c.in_shapes[0][-1]
    code = _Code(init=[f"self.{c.var} = nn.BatchNorm1d({ch}, eps={c.cfg.epsilon!r}, momentum={c.cfg.momentum!r})"],
                 wmap=_wm(c, {"gamma": (f"{c.var}.weight", "id"), "beta": (f"{c.var}.bias", "id"),
                              "running_mean": (f"{c.var}.running_mean", "id"),
                              "running_var": (f"{c.var}.running_var", "id")}))
    x = c.xs[0]
    if len(c.in_shapes[0]) == 1:
        code.fwd.append(f"{c.var} = self.{c.var}({x})")
    else:  # channels last: normalise every position's channel vector
        code.fwd.append(f"{c.var} = self.{c.var}({x}.reshape(-1, {ch})).reshape({x}.shape)")
    return code


def _gen_layernorm(c):
    d = c.in_shapes[0][-1]
    return _Code(init=[f"self.{c.var} = nn.LayerNorm({d}, eps={c.cfg.epsilon!r})"],
                 fwd=[f"{c.var} = self.{c.var}({c.xs[0]})"],
                 wmap=_wm(c, {"gamma": (f"{c.var}.weight", "id"), "beta": (f"{c.var}.bias", "id")}))


def _gen_add(c):
    return _Code(fwd=[f"{c.var} = " + " + ".join(c.xs)])


def _gen_concatenate(c):
    ax = c.layer._axis(len(c.in_shapes[0])) + 1
    return _Code(fwd=[f"{c.var} = torch.cat([{', '.join(c.xs)}], dim={ax})"])


def _first(x: str, nd: int) -> str:
    return f"{x}.transpose(1, 2)" if nd == 1 else f"{x}.permute(0, 3, 1, 2)"


def _last(x: str, nd: int) -> str:
    return f"{x}.transpose(1, 2)" if nd == 1 else f"{x}.permute(0, 2, 3, 1)"


def _torch_pads(spatial, k, stride, dilation, padding):
    """F.pad tuple (last axis first) or None."""
    if padding != "same":
        return None
    pads = [L.same_pads(n, k, stride, dilation) for n in spatial]
    if not any(a or b for a, b in pads):
        return None
    out = []
    for a, b in reversed(pads):
        out += [a, b]
    return tuple(out)


def _gen_conv(c):
    spatial = c.in_shapes[0][:-1]
    nd = len(spatial)
    cfg = c.cfg
    cin = c.in_shapes[0][-1]
    explicit = c.layer.pads_per_axis(nd) if cfg.padding == "explicit" else None
    symmetric = explicit is not None and all(b == a for b, a in explicit)
    pad_arg = f", padding={tuple(b for b, _ in explicit)!r}" if symmetric and any(b for b, _ in explicit) else ""
    code = _Code(init=[f"self.{c.var} = nn.Conv{nd}d({cin}, {cfg.filters}, kernel_size={cfg.kernel_size}, "
                       f"stride={cfg.strides}{pad_arg}, dilation={cfg.dilation}, bias={cfg.use_bias})"],
                 wmap=_wm(c, {"W": (f"{c.var}.weight", "conv"), "b": (f"{c.var}.bias", "id")}))
    code.fwd.append(f"{c.var} = {_first(c.xs[0], nd)}  # channels first")
    if explicit is not None and not symmetric:
        pads = tuple(v for b, a in reversed(explicit) for v in (b, a))
        code.fwd.append(f"{c.var} = F.pad({c.var}, {pads!r})  # explicit padding, per side")
    else:
        pads = _torch_pads(spatial, cfg.kernel_size, cfg.strides, cfg.dilation, cfg.padding)
        if pads:
            code.fwd.append(f"{c.var} = F.pad({c.var}, {pads})  # 'same' padding (TensorFlow split)")
    return _finish(c, _last(f"self.{c.var}({c.var})", nd), cfg.activation, code)


def _gen_pool(c):
    spatial = c.in_shapes[0][:-1]
    nd = len(spatial)
    cfg = c.layer.cfg
    k, s = cfg.pool_size, c.layer.stride
    code = _Code(fwd=[f"{c.var} = {_first(c.xs[0], nd)}"])
    plain = (cfg.padding in ("valid", "same") and not cfg.ceil_mode and cfg.dilation == 1
             and not getattr(cfg, "count_include_pad", False))
    if not plain:
        # padding per side, ceil_mode, dilation, count_include_pad: one general helper (see its doc)
        geo = c.layer.geometry(spatial)
        out = tuple(o for o, _, _ in geo)
        pads = tuple((b, a) for _, b, a in geo)
        code.fwd.append(f"{c.var} = _pool_nd({c.var}, {c.layer.mode!r}, {k}, {s}, {cfg.dilation}, {pads!r}, "
                        f"{out!r}, {bool(getattr(cfg, 'count_include_pad', False))!r})")
        code.fwd.append(f"{c.var} = {_last(c.var, nd)}")
        return code
    pads = _torch_pads(spatial, k, s, 1, cfg.padding)
    if c.layer.mode == "max":
        if pads:
            code.fwd.append(f'{c.var} = F.pad({c.var}, {pads}, value=float("-inf"))')
        code.fwd.append(f"{c.var} = F.max_pool{nd}d({c.var}, {k}, {s})")
    elif pads:
        code.fwd.append(f"{c.var} = _avg_pool_valid({c.var}, {k}, {s}, {pads})  # padding not counted")
    else:
        code.fwd.append(f"{c.var} = F.avg_pool{nd}d({c.var}, {k}, {s})")
    code.fwd.append(f"{c.var} = {_last(c.var, nd)}")
    return code


def _gen_global_avg_pool(c):
    dims = tuple(range(1, len(c.in_shapes[0])))
    return _Code(fwd=[f"{c.var} = {c.xs[0]}.mean(dim={dims if len(dims) > 1 else dims[0]})"])


def _gen_global_max_pool(c):
    return _Code(fwd=[f"{c.var} = {c.xs[0]}.flatten(1, -2).amax(dim=1)"])


def _gen_upsampling(c):
    k = c.cfg.size
    return _Code(fwd=[f"{c.var} = {c.xs[0]}.repeat_interleave({k}, dim=1).repeat_interleave({k}, dim=2)"])


def _gen_embedding(c):
    return _Code(init=[f"self.{c.var} = nn.Embedding({c.cfg.vocab_size}, {c.cfg.dim})"],
                 fwd=[f"{c.var} = self.{c.var}({c.xs[0]}.long())"],
                 wmap=_wm(c, {"W": (f"{c.var}.weight", "id")}))


def _gen_recurrent(cls: str, extra: str = ""):
    def gen(c):
        cin = c.in_shapes[0][-1]
        cfg = c.cfg
        u = cfg.units
        bi = cfg.bidirectional
        module = f"nn.{cls}"
        if cls == "GRU" and not cfg.linear_before_reset:
            module = "_GRUResetFirst"  # PyTorch's GRU has only linear_before_reset=1
        mapping = {}
        for sfx in c.layer.directions:
            mapping.update({"W_ih" + sfx: (f"{c.var}.weight_ih_l0{sfx}", "id"),
                            "W_hh" + sfx: (f"{c.var}.weight_hh_l0{sfx}", "id"),
                            "b_ih" + sfx: (f"{c.var}.bias_ih_l0{sfx}", "id"),
                            "b_hh" + sfx: (f"{c.var}.bias_hh_l0{sfx}", "id")})
        code = _Code(init=[f"self.{c.var} = {module}({cin}, {u}, batch_first=True{extra}"
                           f"{', bidirectional=True' if bi else ''})"], wmap=_wm(c, mapping))
        x = c.xs[0]
        if not bi:
            code.fwd.append(f"{c.var}, _ = self.{c.var}({x})")
            if not cfg.return_sequences:
                code.fwd.append(f"{c.var} = {c.var}[:, -1]  # last hidden state")
            return code
        state = "(h_n, _)" if cls == "LSTM" else "h_n"  # LSTM returns (h_n, c_n)
        code.fwd.append(f"{c.var}, {state} = self.{c.var}({x})  # h_n[1]: the reverse direction after the "
                        f"whole sequence")
        if cfg.return_sequences:
            if cfg.merge_mode == "sum":
                code.fwd.append(f"{c.var} = {c.var}[..., :{u}] + {c.var}[..., {u}:]")
        elif cfg.merge_mode == "sum":
            code.fwd.append(f"{c.var} = h_n[0] + h_n[1]")
        else:
            code.fwd.append(f"{c.var} = torch.cat([h_n[0], h_n[1]], dim=-1)")
        return code
    return gen


def _gen_reverse_sequence(c):
    return _Code(fwd=[f"{c.var} = torch.flip({c.xs[0]}, dims=[1])"])


def _gen_attention(c):
    seq_len, d = c.in_shapes[0]
    code = _Code(init=[f"self.{c.var} = nn.MultiheadAttention({d}, {c.cfg.num_heads}, batch_first=True)"],
                 wmap=_wm(c, {"W_q": (f"{c.var}.in_proj_weight", "T", 0, 3),
                              "W_k": (f"{c.var}.in_proj_weight", "T", 1, 3),
                              "W_v": (f"{c.var}.in_proj_weight", "T", 2, 3),
                              "b_q": (f"{c.var}.in_proj_bias", "id", 0, 3),
                              "b_k": (f"{c.var}.in_proj_bias", "id", 1, 3),
                              "b_v": (f"{c.var}.in_proj_bias", "id", 2, 3),
                              "W_o": (f"{c.var}.out_proj.weight", "T"),
                              "b_o": (f"{c.var}.out_proj.bias", "id")}))
    x = c.xs[0]
    if c.cfg.causal:
        code.fwd.append(f"mask = torch.triu(torch.ones({x}.shape[1], {x}.shape[1], dtype=torch.bool, "
                        f"device={x}.device), diagonal=1)  # causal")
        code.fwd.append(f"{c.var}, _ = self.{c.var}({x}, {x}, {x}, attn_mask=mask, need_weights=False)")
    else:
        code.fwd.append(f"{c.var}, _ = self.{c.var}({x}, {x}, {x}, need_weights=False)")
    return code


#: versioned layer type -> source generator: a new version of a layer (``Dense.v2``) exports only once it has its own entry
GENERATORS: dict[str, Callable] = {
    "Dense.v1": _gen_dense, "Flatten.v1": _gen_flatten, "Reshape.v1": _gen_reshape, "Dropout.v1": _gen_dropout,
    "BatchNorm.v1": _gen_batchnorm, "LayerNorm.v1": _gen_layernorm, "Add.v1": _gen_add, "Concatenate.v1": _gen_concatenate,
    "ReLU.v1": _gen_activation, "LeakyReLU.v1": _gen_activation, "ELU.v1": _gen_activation, "GELU.v1": _gen_activation,
    "Sigmoid.v1": _gen_activation, "Tanh.v1": _gen_activation, "Softmax.v1": _gen_activation,
    "Conv1D.v1": _gen_conv, "Conv2D.v1": _gen_conv,
    "MaxPool1D.v1": _gen_pool, "MaxPool2D.v1": _gen_pool, "AvgPool1D.v1": _gen_pool, "AvgPool2D.v1": _gen_pool,
    "GlobalAvgPool.v1": _gen_global_avg_pool, "GlobalMaxPool.v1": _gen_global_max_pool, "UpSampling2D.v1": _gen_upsampling, "Embedding.v1": _gen_embedding,
    "SimpleRNN.v1": _gen_recurrent("RNN", ', nonlinearity="tanh"'),
    "LSTM.v1": _gen_recurrent("LSTM"), "GRU.v1": _gen_recurrent("GRU"), "ReverseSequence.v1": _gen_reverse_sequence,
    "MultiHeadAttention.v1": _gen_attention,
}

# ------------------------------------------------------------------ file templates
_HEADER = '''\
"""An NN Studio model as a PyTorch module (MODEL_NAME below says which).

Generated by NN Studio (version in NNSTUDIO_VERSION).  Needs numpy and torch only.

Input: float32 array of shape (N, {in_shape_str}) -- the same (channels-last) layout
NN Studio uses; the model permutes to channels-first around convolutions itself.
Output: (N, {out_shape_str}){out_note}

    import numpy as np, torch
    from {module} import {cls}
    model = {cls}()
    model.load_weights({weights!r})
    model.eval()
    with torch.no_grad():
        y = model(torch.from_numpy(x.astype(np.float32))).numpy()
"""
import json
import struct
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# Names and labels from the NN Studio project are data, decoded from JSON here.
MODEL_NAME = json.loads({name_json!r})
NNSTUDIO_VERSION = json.loads({version_json!r})
INPUT_SHAPES = {input_shapes!r}
OUTPUT_SHAPE = {out_shape!r}
OUTPUT_ACTIVATION = {out_act!r}
TASK = json.loads({task_json!r})
CLASS_NAMES = json.loads({class_names_json!r})


def _avg_pool_valid(x, k, s, pads):
    """Average pooling over zero padding that divides by the number of real values."""
    nd = x.dim() - 2
    pool = F.avg_pool1d if nd == 1 else F.avg_pool2d
    ones = torch.ones_like(x[:, :1])
    return pool(F.pad(x, pads), k, s) / pool(F.pad(ones, pads), k, s)


def _pool_nd(x, mode, k, s, d, pads, out, count_pad):
    """Max ("max") or average pooling of channels-first ``x`` as NN Studio computes it, for
    any padding per side (``pads``: (before, after) per spatial axis), dilation ``d`` and
    output size ``out`` (ceil_mode).  Padding never wins a max; an average divides by the
    real values of its window or, with ``count_pad``, by its taps inside the padded input."""
    nd = x.dim() - 2
    size = x.shape[2:]
    # grow the end so that all `out` windows fit in floor mode, then crop to `out`
    grow = [max((o - 1) * s + (k - 1) * d + 1 - n - p[0], 0) for o, n, p in zip(out, size, pads)]
    spec = [v for p, g in zip(reversed(pads), reversed(grow)) for v in (p[0], g)]
    crop = (..., *(slice(0, o) for o in out))
    if mode == "max":
        pool = F.max_pool1d if nd == 1 else F.max_pool2d
        return pool(F.pad(x, spec, value=float("-inf")), k, s, 0, d)[crop]
    conv = F.conv1d if nd == 1 else F.conv2d
    c = x.shape[1]
    sums = conv(F.pad(x, spec), x.new_ones((c, 1) + (k,) * nd), stride=s, dilation=d, groups=c)
    mask = x.new_ones((1, 1) + tuple(size))
    if count_pad:  # the padded extent counts; what lies past it (ceil_mode) does not
        mask = F.pad(mask, [v for p in reversed(pads) for v in p], value=1.0)
        mask = F.pad(mask, [v for p, g in zip(reversed(pads), reversed(grow)) for v in (0, g - p[1])])
    else:
        mask = F.pad(mask, spec)
    counts = conv(mask, x.new_ones((1, 1) + (k,) * nd), stride=s, dilation=d)
    return (sums / counts)[crop]


def _to_torch(a, how):
    """NN Studio layout -> PyTorch layout (see engine/export/layouts.py)."""
    if how == "T":  # Dense (in, out) -> Linear (out, in)
        return a.T
    if how == "conv":  # (k..., Cin, F) -> (F, Cin, k...)
        nd = a.ndim - 2
        return a.transpose(nd + 1, nd, *range(nd))
    return a


def _from_torch(a, how):
    if how == "T":
        return a.T
    if how == "conv":
        nd = a.ndim - 2
        return a.transpose(*range(2, nd + 2), 1, 0)
    return a


def read_arrays(path):
    """Arrays of an exported .safetensors or .npz file (no pickle, no extra packages)."""
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {{k: z[k] for k in z.files if not k.startswith("__")}}
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    dtypes = {{"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64}}
    out = {{}}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        start, end = info["data_offsets"]
        buf = data[8 + n + start:8 + n + end]
        out[key] = np.frombuffer(buf, dtype=dtypes[info["dtype"]]).reshape(info["shape"]).copy()
    return out

'''

_CLASS = '''
class {cls}(nn.Module):
    """{doc}"""

    #: NN Studio weight -> (PyTorch parameter, layout transform[, block, number of blocks])
    WEIGHT_MAP = {wmap}

    def __init__(self):
        super().__init__()
{init}

    def forward(self, {args}, logits=False):
        """``logits=True`` skips a final softmax/sigmoid (for losses that fuse it)."""
{fwd}

    def _target(self, path):
        obj = self
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    def load_weights(self, path):
        """Load NN Studio weights (exported .safetensors or .npz, or a dict of arrays)."""
        arrays = path if isinstance(path, dict) else read_arrays(path)
        missing = [k for k in self.WEIGHT_MAP if k not in arrays]
        if missing:
            raise ValueError(f"weights file lacks {{', '.join(missing[:5])}}")
        with torch.no_grad():
            for key, (target, how, *block) in self.WEIGHT_MAP.items():
                t = self._target(target)
                a = np.ascontiguousarray(_to_torch(np.asarray(arrays[key], dtype=np.float32), how))
                if block:
                    i, nb = block
                    size = t.shape[0] // nb
                    t = t[i * size:(i + 1) * size]
                if tuple(t.shape) != a.shape:
                    raise ValueError(f"{{key}} has shape {{a.shape}} after layout change, "
                                     f"{{target}} needs {{tuple(t.shape)}}")
                t.copy_(torch.from_numpy(a))
        return self

    def nnstudio_state(self):
        """Weights in NN Studio's layout (``"node_id/param"`` keys), e.g. after training here."""
        out = {{}}
        for key, (target, how, *block) in self.WEIGHT_MAP.items():
            t = self._target(target).detach().cpu()
            if block:
                i, nb = block
                size = t.shape[0] // nb
                t = t[i * size:(i + 1) * size]
            out[key] = np.ascontiguousarray(_from_torch(t.numpy().astype(np.float32), how))
        return out
'''

_TRAIN = '''\
"""Train the exported {cls} with DistributedDataParallel (CPU, gloo backend).

    torchrun --nproc_per_node=2 train_ddp.py --data data.npz --epochs 5
    python train_ddp.py --data data.npz            # single process also works

data.npz holds ``x`` (N, {in_shape_str}) in the model's input layout (already
preprocessed) and ``y``: class indices (N,) for classification, targets for
regression.  Starts from the exported weights; writes the trained weights in
NN Studio's layout (with the export metadata) so NN Studio can import them back.
"""
import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from {module} import OUTPUT_ACTIVATION, TASK, {cls}

HERE = Path(__file__).resolve().parent
# the optimizer and settings the project trained with in NN Studio (JSON: numbers and names only)
OPTIMIZER = json.loads({optimizer_json!r})


def make_optimizer(params, lr):
    """The project's optimizer with the same settings (NN Studio's rules match torch.optim's)."""
    o = OPTIMIZER
    name = o.get("name", "adam")
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=o.get("momentum", 0.0), nesterov=o.get("nesterov", False))
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=o.get("rho", 0.9), eps=o.get("eps", 1e-7),
                                   momentum=o.get("momentum", 0.0))
    betas = (o.get("beta1", 0.9), o.get("beta2", 0.999))
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas, eps=o.get("eps", 1e-8),
                                 weight_decay=o.get("weight_decay", 0.01))
    return torch.optim.Adam(params, lr=lr, betas=betas, eps=o.get("eps", 1e-8))


def loss_fn(out, y):
    if TASK == "classification" or OUTPUT_ACTIVATION in ("softmax", "sigmoid"):
        if out.shape[-1] == 1:  # one sigmoid output: binary
            return F.binary_cross_entropy_with_logits(out[:, 0], y.float())
        return F.cross_entropy(out, y.long())
    return F.mse_loss(out, y.reshape(out.shape).float())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help=".npz with arrays x and y")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=OPTIMIZER.get("lr", 1e-3))
    ap.add_argument("--batch-size", type=int, default=32, help="per process")
    ap.add_argument("--weights", default=str(HERE / {weights!r}), help="starting weights ('' = random)")
    ap.add_argument("--out", default="trained.npz", help="trained weights (NN Studio layout)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1 or "LOCAL_RANK" in os.environ
    if distributed:
        dist.init_process_group("gloo")
    rank = dist.get_rank() if distributed else 0
    torch.manual_seed(args.seed)

    model = {cls}()
    if args.weights:
        model.load_weights(args.weights)
    net = DistributedDataParallel(model) if distributed else model

    with np.load(args.data, allow_pickle=False) as z:
        x = torch.from_numpy(np.ascontiguousarray(z["x"], dtype=np.float32))
        y = torch.from_numpy(np.ascontiguousarray(z["y"]))
    data = TensorDataset(x, y)
    sampler = DistributedSampler(data, shuffle=True, seed=args.seed) if distributed else None
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler, shuffle=sampler is None)
    opt = make_optimizer(net.parameters(), args.lr)

    for epoch in range(args.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        net.train()
        total = torch.zeros(2)
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(net(xb, logits=True), yb)
            loss.backward()
            opt.step()
            total += torch.tensor([loss.item() * len(xb), len(xb)])
        if distributed:
            dist.all_reduce(total)
        if rank == 0:
            print(json.dumps({{"epoch": epoch + 1, "loss": float(total[0] / max(total[1], 1))}}), flush=True)

    if rank == 0:
        arrays = model.nnstudio_state()
        meta = Path(str(args.weights) + ".json") if args.weights else None
        if meta is not None and meta.is_file():
            arrays["__metadata__.json"] = np.frombuffer(meta.read_bytes(), dtype=np.uint8)
        np.savez(args.out, **arrays)
        print(f"saved {{args.out}}", flush=True)
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
'''


#: written after the model class when a GRU has linear_before_reset off (plain source, no format fields)
_GRU_RESET_FIRST = '''

class _GRUResetFirst(nn.Module):
    """nn.GRU (one layer, batch_first) with ONNX's default linear_before_reset=0:
    n = tanh(W_in x + b_in + W_hn (r * h) + b_hn).  Same parameter names and the same
    (output, h_n) as nn.GRU; PyTorch has no such option."""

    def __init__(self, input_size, hidden_size, batch_first=True, bidirectional=False):
        super().__init__()
        self.hidden_size = hidden_size
        self.suffixes = ["", "_reverse"] if bidirectional else [""]
        bound = 1.0 / hidden_size ** 0.5
        for sfx in self.suffixes:
            for name, shape in (("weight_ih_l0", (3 * hidden_size, input_size)),
                                ("weight_hh_l0", (3 * hidden_size, hidden_size)),
                                ("bias_ih_l0", (3 * hidden_size,)), ("bias_hh_l0", (3 * hidden_size,))):
                setattr(self, name + sfx, nn.Parameter(torch.empty(shape).uniform_(-bound, bound)))

    def forward(self, x):
        u = self.hidden_size
        outs, last = [], []
        for sfx in self.suffixes:
            w_ih, w_hh = getattr(self, "weight_ih_l0" + sfx), getattr(self, "weight_hh_l0" + sfx)
            b_ih, b_hh = getattr(self, "bias_ih_l0" + sfx), getattr(self, "bias_hh_l0" + sfx)
            seq = x.flip(1) if sfx else x
            gx = seq @ w_ih.T + b_ih
            h = x.new_zeros(x.shape[0], u)
            steps = []
            for t in range(seq.shape[1]):
                rz = torch.sigmoid(gx[:, t, :2 * u] + h @ w_hh[:2 * u].T + b_hh[:2 * u])
                r, z = rz[:, :u], rz[:, u:]
                n = torch.tanh(gx[:, t, 2 * u:] + (r * h) @ w_hh[2 * u:].T + b_hh[2 * u:])
                h = (1 - z) * n + z * h
                steps.append(h)
            out = torch.stack(steps, 1)
            outs.append(out.flip(1) if sfx else out)
            last.append(h)
        return torch.cat(outs, -1), torch.stack(last, 0)
'''


def _var_names(model) -> dict[str, str]:
    used = {"x", "self", "logits", "mask", "h_n", "F", "nn", "torch", "np"}
    out = {}
    for nid in model.order:
        v = python_identifier(nid, "node")
        if re.fullmatch(r"n[0-9]+", v) is None:
            # ids the app did not make could shadow nn.Module attributes ("forward",
            # "training") or the module's globals ("torch", "np"): prefix them
            v = "layer_" + v
        base, i = v, 1
        while v in used:
            i += 1
            v = f"{base}_{i}"
        used.add(v)
        out[nid] = v
    return out


_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}")


def _check_names(model, module: str, weights: str) -> None:
    """Refuse anything that would not be a plain name in the generated code.

    Node ids are checked when a graph is read (:func:`engine.spec.check_node_id`); this is
    the second fence for graphs built in code.  Display names, the project name and class
    names never reach the code: comments quote them with ``ascii()`` and values go through
    :func:`_json_literal`.
    """
    from engine.spec import SpecError, check_node_id

    for nid in model.order:
        try:
            check_node_id(nid)
        except SpecError as exc:
            raise ExportError(f"cannot export to PyTorch: {exc}") from None
    if not (module.isascii() and module.isidentifier()) or keyword.iskeyword(module):
        raise ExportError(f"{module!r} cannot be a Python module name")
    if _FILE_NAME.fullmatch(weights) is None:
        raise ExportError(f"{weights!r} cannot be the weights file name of a PyTorch export")


def _json_literal(value) -> str:
    """JSON text of ``value``; the templates write it as a string literal decoded at import."""
    try:
        return json.dumps(value, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ExportError(f"the export metadata is not JSON-able: {exc}") from None


def _node_comment(model, nid: str) -> str:
    node = model.spec.node(nid)
    text = f"{node.type.split('.')[0]} {nid}"
    if node.name:
        text += f" {ascii(node.name)}"  # a quoted literal: ASCII, no line breaks
    return text


def generate_module(model, meta: dict, module: str = "model", weights: str = "model.safetensors") -> str:
    """Source of the ``nn.Module`` file."""
    _check_names(model, module, weights)
    for nid in model.order:
        layer_type = model.spec.node(nid).type
        if nid not in model.input_ids and layer_type not in GENERATORS:
            raise ExportError(f"cannot export {describe_node(model, nid)} to PyTorch: there is no PyTorch "
                              f"generator for {layer_type} layers yet")
    names = _var_names(model)
    init, fwd, wmap = [], [], {}
    multi = len(model.input_ids) > 1
    for i, nid in enumerate(model.input_ids):
        fwd.append(f"{names[nid]} = {f'inputs[{i}]' if multi else 'x'}")
    for nid in model.order:
        if nid in model.input_ids:
            continue
        node = model.spec.node(nid)
        layer = model.layers[nid]
        srcs = model.sources[nid]
        c = _Ctx(nid=nid, var=names[nid], layer=layer, cfg=layer.cfg, xs=[names[s] for s in srcs],
                 in_shapes=[tuple(model.shapes[s]) for s in srcs], out_shape=tuple(model.shapes[nid]),
                 is_output=nid == model.output_id,
                 params=list(model.params[nid]) + list(model.state[nid]))
        code = GENERATORS[node.type](c)
        label = _node_comment(model, nid)
        if code.init:
            init.append(f"# {label}")
            init.extend(code.init)
        fwd.append(f"# {label} -> {tuple(model.shapes[nid])}")
        fwd.extend(code.fwd)
        wmap.update(code.wmap)
    fwd.append(f"return {names[model.output_id]}")
    missing = set(model.state_dict()) - set(wmap)
    if missing:  # pragma: no cover - a generator bug
        raise ExportError(f"the PyTorch generator does not place {', '.join(sorted(missing))}")
    wmap_src = "{\n" + "".join(f"        {k!r}: {tuple(v)!r},\n" for k, v in wmap.items()) + "    }"
    act = model.output_activation
    out_note = {"softmax": " class probabilities (softmax)", "sigmoid": " sigmoid probabilities"}.get(act, "")
    header = _HEADER.format(
        module=module, cls=CLASS_NAME,
        weights=weights, in_shape_str=", ".join(map(str, model.input_shape)),
        out_shape_str=", ".join(map(str, model.output_shape)), out_note=out_note,
        input_shapes=[tuple(model.shapes[i]) for i in model.input_ids], out_shape=tuple(model.output_shape),
        out_act=act, name_json=_json_literal(str(meta.get("name") or "")),
        version_json=_json_literal(str(meta.get("app_version") or "")),
        task_json=_json_literal(meta.get("task")), class_names_json=_json_literal(meta.get("class_names")))
    body = _CLASS.format(
        cls=CLASS_NAME, doc=f"Layers in NN Studio order: {', '.join(model.order)}.", wmap=wmap_src,
        init=textwrap.indent("\n".join(init) or "pass", " " * 8),
        args="*inputs" if multi else "x", fwd=textwrap.indent("\n".join(fwd), " " * 8))
    needs_gru = any(model.spec.node(nid).type.startswith("GRU.") and not model.layers[nid].cfg.linear_before_reset
                    for nid in model.order)
    return header + body + (_GRU_RESET_FIRST if needs_gru else "")


def train_optimizer(train_config: dict | None) -> dict:
    """The optimizer settings for ``train_ddp.py``: the project's (validated), else Adam's defaults."""
    from engine.trainer import TrainConfig, TrainError, optimizer_kwargs
    try:
        cfg = TrainConfig.from_dict(dict(train_config or {}))
    except (TrainError, ValueError, TypeError):
        cfg = TrainConfig()
    kw = optimizer_kwargs(cfg)
    return {"name": cfg.optimizer, **{k: (bool(v) if isinstance(v, bool) else float(v)) for k, v in kw.items()}}


def generate_train_script(model, module: str = "model", weights: str = "model.safetensors",
                          train_config: dict | None = None) -> str:
    _check_names(model, module, weights)
    return _TRAIN.format(cls=CLASS_NAME, module=module, weights=weights,
                         in_shape_str=", ".join(map(str, model.input_shape)),
                         optimizer_json=json.dumps(train_optimizer(train_config), sort_keys=True))


def _out_folder(out) -> tuple[Path, str]:
    p = Path(out)
    if p.suffix == ".py":
        return p.parent, python_identifier(p.stem)
    return p, "model"


def export_pytorch(model, out, meta: dict) -> list[Path]:
    """Write ``<name>.py``, ``<name>.safetensors`` (+ sidecar) and ``train_ddp.py`` into ``out``."""
    from engine.export.safetensors_io import write_safetensors
    from engine.io import atomic_write_text

    folder, name = _out_folder(out)
    if name in ("torch", "numpy", "train_ddp"):
        name = f"{name}_model"
    parent = folder.parent if str(folder.parent) else Path(".")
    if not folder.exists():
        if not parent.is_dir():
            raise ExportError(f"folder {parent} does not exist")
        try:
            folder.mkdir()
        except OSError as exc:
            raise ExportError(f"could not create {folder}: {os_reason(exc)}") from None
    elif not folder.is_dir():
        raise ExportError(f"{folder} exists and is not a folder")
    weights_name = f"{name}.safetensors"
    source = generate_module(model, meta, module=name, weights=weights_name)
    train = generate_train_script(model, module=name, weights=weights_name, train_config=meta.get("train_config"))
    wpath = folder / weights_name
    files = [write_safetensors(wpath, export_weights(model), meta), write_sidecar(wpath, meta)]
    try:
        for fname, text in ((f"{name}.py", source), ("train_ddp.py", train)):
            atomic_write_text(folder / fname, text)
            files.append(folder / fname)
    except OSError as exc:
        raise ExportError(f"could not write into {folder}: {os_reason(exc)}") from None
    return files

