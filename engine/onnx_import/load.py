"""Reading an .onnx file within bounds (size, external data, damaged protobufs)."""
from __future__ import annotations

from pathlib import Path

from engine.onnx_import import MAX_EXTERNAL_BYTES, MAX_MODEL_BYTES, OnnxImportError


def _fmt_size(n: int) -> str:
    return f"{n / 1024 ** 2:.0f} MB" if n >= 1024 ** 2 else f"{n} bytes"


def read_model(path: Path, *, max_bytes: int = MAX_MODEL_BYTES):
    """-> ``onnx.ModelProto`` with any external data loaded (from the model's folder only)."""
    try:
        import onnx
        from google.protobuf.message import DecodeError
    except ImportError:  # pragma: no cover - onnx is a dependency
        raise OnnxImportError("importing ONNX needs the 'onnx' package (pip install onnx)") from None
    path = Path(path)
    if not path.exists():
        raise OnnxImportError(f"{path} does not exist")
    if path.is_dir():
        raise OnnxImportError(f"{path} is a folder, not an ONNX file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise OnnxImportError(f"could not open {path}: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise OnnxImportError(f"{path.name} is {_fmt_size(size)}; NN Studio imports ONNX models of at most "
                              f"{_fmt_size(max_bytes)}")
    if size == 0:
        raise OnnxImportError(f"{path.name} is empty")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OnnxImportError(f"could not read {path}: {exc.strerror or exc}") from None
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, RuntimeError, ValueError, TypeError) as exc:
        raise OnnxImportError(f"{path.name} is not an ONNX model (damaged, or another format): "
                              f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
                              ) from None
    if not model.HasField("graph") or (len(model.graph.node) == 0 and len(model.graph.input) == 0):
        raise OnnxImportError(f"{path.name} is not an ONNX model: it has no graph")
    _load_external(model, path)
    check(model, path.name)
    return model


def check(model, name: str) -> None:
    """The ONNX checker (attribute types, input counts, opset imports): a damaged model is one message."""
    import onnx

    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError, RuntimeError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxImportError(f"{name} is not a valid ONNX model: {text[:300]}") from None


def _external_info(tensor) -> dict[str, str]:
    return {e.key: e.value for e in tensor.external_data}


def _tensors(graph):
    """Every tensor held by the graph: initializers and ``Constant`` node values."""
    yield from graph.initializer
    for node in graph.node:
        for a in node.attribute:
            if a.HasField("t"):
                yield a.t


def _load_external(model, path: Path) -> None:
    from onnx import TensorProto

    folder = path.resolve().parent
    total = 0
    for t in _tensors(model.graph):
        if t.data_location != TensorProto.EXTERNAL:
            continue
        info = _external_info(t)
        loc = info.get("location", "")
        rel = Path(loc)
        if not loc or rel.is_absolute() or ".." in rel.parts or "\x00" in loc:
            raise OnnxImportError(f"{path.name}: tensor {t.name[:80]!r} keeps its data in {loc[:120]!r}; only "
                                  "files in the model's own folder are read")
        target = (folder / rel)
        try:
            real = target.resolve(strict=True)
        except (OSError, RuntimeError):
            raise OnnxImportError(f"{path.name}: the external data file {loc[:120]!r} of tensor "
                                  f"{t.name[:80]!r} does not exist beside the model") from None
        if not real.is_relative_to(folder) or not real.is_file():
            raise OnnxImportError(f"{path.name}: the external data file {loc[:120]!r} lies outside the model's "
                                  "folder (or is not a file); it is not read")
        try:
            offset = int(info.get("offset", "0") or 0)
            length = int(info["length"]) if info.get("length") else None
        except ValueError:
            raise OnnxImportError(f"{path.name}: tensor {t.name[:80]!r} has a damaged external-data "
                                  "offset or length") from None
        fsize = real.stat().st_size
        if length is None:
            length = fsize - offset
        if offset < 0 or length < 0 or offset + length > fsize:
            raise OnnxImportError(f"{path.name}: tensor {t.name[:80]!r} asks for bytes {offset}..{offset + length} "
                                  f"of {loc[:120]!r}, which holds {fsize}")
        total += length
        if total > MAX_EXTERNAL_BYTES:
            raise OnnxImportError(f"{path.name}: the external data files hold more than "
                                  f"{_fmt_size(MAX_EXTERNAL_BYTES)}; NN Studio does not import models this large")
        with open(real, "rb") as fh:
            fh.seek(offset)
            raw = fh.read(length)
        if len(raw) != length:
            raise OnnxImportError(f"{path.name}: {loc[:120]!r} ended early")
        t.raw_data = raw
        del t.external_data[:]
        t.data_location = TensorProto.DEFAULT
