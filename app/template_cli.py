"""``python main.py template NAME [--data PATH ...] [--out graph.json]`` and ``template --list``.

Writes a template graph (docs/graph-format.md), fitted to a data set when one
is given: the same :func:`engine.fit.fit_to_data` the app's "Fit graph to
data" uses.  Never imports Qt.
"""
from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("template", help="write a template graph, fitted to a data set if given",
                       description="Write one of the ready-made graphs as graph JSON. With --data, its Input "
                                   "shape and output layer are set to fit the data (as the app's "
                                   "Model > Fit graph to data does).")
    p.add_argument("name", nargs="?", metavar="NAME", help="template key (see --list)")
    p.add_argument("--list", action="store_true", help="list the templates and exit")
    from app.cli import _add_data_args
    _add_data_args(p, required=False)
    p.add_argument("--out", metavar="FILE", help="graph JSON file to write (default: print it)")
    return p


def cmd_template(args) -> int:
    from app.cli import CliError
    from engine.templates import all_templates, get_template

    if args.list:
        for t in all_templates():
            print(f"{t.key:<10} {t.name}: {t.description}")
        return 0
    if not args.name:
        raise CliError("give a template name (python main.py template --list shows them)")
    try:
        tpl = get_template(args.name)
    except KeyError:
        keys = ", ".join(t.key for t in all_templates())
        raise CliError(f"unknown template {args.name!r}; choose one of {keys}") from None
    spec = tpl.build()
    if args.data is not None:
        spec = _fit(spec, args)
    text = spec.to_json()
    if args.out:
        from engine.io import atomic_write_text
        atomic_write_text(args.out, text + "\n")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def _fit(spec, args):
    from app.cli import CliError, _data_spec, _report_dropped_columns
    from engine.data import load_dataset
    from engine.fit import DataInfo, fit_to_data

    dataset = load_dataset(_data_spec(args, None))
    _report_dropped_columns(dataset)
    info = DataInfo.of(dataset)
    result = fit_to_data(spec, info)
    for change in result.changes:
        print(f"fitted: {change}", file=sys.stderr)
    if result.problems:
        raise CliError(f"the template does not fit the data ({info.describe_input()}, {info.describe_task()}): "
                       + "; ".join(result.problems))
    if not result.changes:
        print("the template already fits the data", file=sys.stderr)
    return result.spec
