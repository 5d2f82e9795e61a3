"""The exporters' converter tables are keyed by the versioned layer type (issue 14).

A new version of a layer (``Dense.v2``) may have other settings or maths than ``Dense.v1``:
it must be refused by name until its own converter exists, never exported with the old one.
"""
import pytest

from engine.export import ExportError
from engine.export.onnx_export import CONVERTERS, build_onnx
from engine.export.torch_codegen import GENERATORS, generate_module
from engine.registry import all_layers
from tests.engine.test_export_models import build

TABLES = {"onnx": CONVERTERS, "pytorch": GENERATORS}


def _export(target, model):
    if target == "onnx":
        pytest.importorskip("onnx")
        return build_onnx(model)
    return generate_module(model, {})


@pytest.mark.parametrize("target", list(TABLES))
def test_every_registered_layer_has_a_converter_and_every_key_is_a_registered_type(target):
    registered = {c.type_id for c in all_layers()}
    assert sorted(registered - set(TABLES[target]) - {"Input.v1"}) == []
    assert sorted(set(TABLES[target]) - registered) == []


@pytest.mark.parametrize("target,layer,label,what", [
    ("onnx", "GELU.v1", "GELU 'n15'", "to ONNX: there is no ONNX converter"),
    ("pytorch", "Concatenate.v1", "Concatenate 'n14'", "to PyTorch: there is no PyTorch generator"),
])
def test_a_layer_type_without_a_converter_is_named_with_its_version(monkeypatch, target, layer, label, what):
    monkeypatch.delitem(TABLES[target], layer)
    with pytest.raises(ExportError) as info:
        _export(target, build("dense"))
    assert str(info.value) == f"cannot export {label} {what} for {layer} layers yet"
