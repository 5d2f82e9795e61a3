"""The JSON examples in docs/graph-format.md must stay valid."""
import re
from pathlib import Path

from engine.model import compile_graph
from engine.spec import GraphSpec

DOC = Path(__file__).resolve().parents[2] / "docs" / "graph-format.md"


def test_graph_format_examples_compile():
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 2
    shapes = []
    for text in blocks:
        spec = GraphSpec.from_json(text)
        assert GraphSpec.from_dict(spec.to_dict()) == spec
        shapes.append(compile_graph(spec).shapes)
    assert shapes[0]["n3"] == (3,)
    assert shapes[1]["n4"] == (8,) and shapes[1]["n5"] == (16,)
    assert shapes[2]["n4"] == (5, 25) and shapes[2]["n5"] == (125,)   # the MNIST-1D CNN
