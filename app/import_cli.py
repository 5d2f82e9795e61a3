"""``python main.py import MODEL.onnx --out PROJECT.nnsp``: an ONNX model as an NN Studio project.

The graph (auto-laid-out) and its weights; no data set yet.  What the import changed (channels-last
inputs, per-channel constants held by BatchNorm layers) is printed on stderr; a model that cannot be
mapped fails with one message naming every operator, node and attribute in the way.  Never imports Qt.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("import", help="turn an ONNX model into a project (graph and weights)",
                       description="Import an ONNX model (e.g. from torch.onnx.export or tf2onnx) as an NN Studio "
                                   "project: its layers on the canvas with their weights, images and sequences "
                                   "channels-last (docs/export.md, Importing ONNX).")
    p.add_argument("model", metavar="MODEL.onnx", help="the ONNX file")
    p.add_argument("--out", required=True, metavar="PROJECT", help="the project to write (.nnsp)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out project")
    return p


def cmd_import(args) -> int:
    from app.cli import CliError
    from engine.io import PROJECT_SUFFIX, save_project
    from engine.onnx_import import import_onnx

    out = Path(args.out)
    if out.suffix.lower() != PROJECT_SUFFIX:
        out = out.with_name(out.name + PROJECT_SUFFIX)
    src = Path(args.model)
    if out.exists() and not args.force:
        raise CliError(f"{out} already exists; use --force to overwrite it")
    if out.exists() and src.exists() and out.resolve() == src.resolve():
        raise CliError("--out must not be the ONNX file itself")
    result = import_onnx(src)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    save_project(out, result.project)
    graph = result.project.graph
    print(json.dumps({"project": str(out), "layers": len(graph.nodes),
                      "parameters": int(sum(v.size for v in (result.project.weights or {}).values()))}))
    return 0
