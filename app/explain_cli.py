"""``python main.py analyze PROJECT [--data PATH]`` and ``python main.py explain PROJECT --data PATH [--out DIR]``.

Both run :mod:`engine.explain` and never import Qt.  ``analyze`` prints the
per-layer table as JSON (with the post-training checks when ``--data`` is given and
the project is trained); ``explain`` computes activations, saliency, unit maps and
permutation importance for one sample and writes ``explain.json`` and PNGs into
``--out`` (without ``--out`` it prints the JSON).  See docs/explain.md.
"""
from __future__ import annotations

import json
from pathlib import Path

METHODS = {"ig": "integrated_gradients", "integrated_gradients": "integrated_gradients",
           "gxi": "gradient_x_input", "gradient_x_input": "gradient_x_input"}


def add_parsers(sub) -> None:
    from app.cli import _add_data_args

    a = sub.add_parser("analyze", help="print the per-layer analysis table of a graph or project as JSON",
                       description="Per layer: output shape, parameters (trainable or not), multiply-adds per "
                                   "sample and activation memory per batch. With --data and trained weights, "
                                   "also dead ReLUs, saturated sigmoid/tanh units and exploding or vanishing "
                                   "gradients on one batch of that data.")
    a.add_argument("project", metavar="GRAPH_OR_PROJECT", help="an .nnsp project or a graph .json file")
    _add_data_args(a, required=False)
    a.add_argument("--batch-size", type=int, metavar="N",
                   help="batch size for the activation memory (default: the project's, else 32)")

    e = sub.add_parser("explain", help="explain a trained project's prediction for one sample (JSON and PNGs)",
                       description="Activations of every layer, saliency (integrated gradients or gradient x "
                                   "input) and, for table data, permutation importance on the validation split.")
    e.add_argument("project", metavar="PROJECT")
    _add_data_args(e, required=True)
    e.add_argument("--out", metavar="DIR", help="folder for explain.json and the PNGs (default: print the JSON)")
    e.add_argument("--split", default="val", choices=("train", "val", "test"),
                   help="split the sample and the importance rows come from (default val; train if val is empty)")
    e.add_argument("--sample", type=int, default=0, metavar="N", help="row of that split to explain (default 0)")
    e.add_argument("--class", dest="explain_class", metavar="CLASS",
                   help="class to explain, by name or number (default: the predicted class)")
    e.add_argument("--method", default="ig", choices=sorted(METHODS),
                   help="ig (integrated gradients, default) or gxi (gradient x input)")
    e.add_argument("--baseline", default="zeros", choices=("zeros", "mean", "blur"),
                   help="integrated-gradients baseline: zeros, the mean training sample, or a blurred copy (images)")
    e.add_argument("--steps", type=int, default=32, metavar="N", help="integrated-gradients steps (default 32)")
    e.add_argument("--score", default="logit", choices=("logit", "output"),
                   help="explain the class's logit (default) or the model's output (a probability)")
    e.add_argument("--repeats", type=int, default=5, metavar="N", help="permutation-importance repeats (default 5)")
    e.add_argument("--metric", default="loss", choices=("loss", "accuracy", "mae", "rmse", "r2"),
                   help="score whose drop measures importance (default loss)")
    e.add_argument("--per", default="column", choices=("column", "feature"),
                   help="importance per original column (one-hot columns together, default) or per model input")
    e.add_argument("--no-importance", action="store_true", help="skip permutation importance")
    e.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the permutations (default 0)")


def _cli_error(exc):
    from app.cli import CliError
    return CliError(str(exc))


def _load_data(args, project):
    from app.cli import _data_spec
    from engine.data import load_dataset

    spec = _data_spec(args, project.data_spec)
    if project.preprocessing:
        return load_dataset(spec, preprocessing=project.preprocessing)
    return load_dataset(spec)


def _model(project, need_weights: bool):
    from app.cli import CliError, _trained_model
    from engine.model import compile_graph

    if project.weights:
        return _trained_model(project)
    if need_weights:
        raise CliError("the project has no trained weights; train it first (python main.py train ...)")
    return compile_graph(project.graph)


def cmd_analyze(args) -> int:
    from app.cli import CliError, _json_default, _load_graph_or_project
    from engine.explain import ExplainError, analyze

    project = _load_graph_or_project(args.project)
    model = _model(project, need_weights=False)
    batch = args.batch_size or int((project.train_config or {}).get("batch_size") or 32)
    if batch < 1:
        raise CliError(f"--batch-size must be at least 1, got {batch}")
    data = None
    if args.data is not None:
        if not project.weights:
            raise CliError("--data checks a trained model; this graph has no trained weights")
        data = _load_data(args, project)
    loss = (project.metadata or {}).get("loss") or (project.train_config or {}).get("loss")
    try:
        result = analyze(project.graph, model, data, batch_size=batch, task=getattr(data, "task", None), loss=loss)
    except ExplainError as exc:
        raise _cli_error(exc) from None
    from engine.explain.report import clean_json
    result = clean_json({"trained": bool(project.weights), **result})
    print(json.dumps(result, default=_json_default, allow_nan=False))
    return 0


def _target(args, dataset):
    from app.cli import CliError

    text = args.explain_class
    if text is None:
        return None
    names = getattr(dataset, "class_names", None) or []
    if text in names:
        return names.index(text)
    try:
        return int(text)
    except ValueError:
        known = ", ".join(names) if names else "class numbers"
        raise CliError(f"--class {text}: no such class; use one of {known}") from None


def _out_dir(text: str) -> Path:
    from app.cli import CliError
    from engine.userdirs import writable

    out = Path(text)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is a file; give a folder")
    if not out.exists():
        if not out.parent.is_dir():
            raise CliError(f"output folder does not exist: {out.parent}")
        out.mkdir()
    if not writable(out):
        raise CliError(f"cannot write to the folder {out} (read-only or no permission)")
    return out


def cmd_explain(args) -> int:
    from app.cli import CliError, _json_default
    from engine.explain import ExplainError
    from engine.explain.png import write_pngs
    from engine.explain.report import Options, explain, to_json
    from engine.io import atomic_write_text, load_project

    for flag, v, lo in (("--steps", args.steps, 1), ("--repeats", args.repeats, 1), ("--sample", args.sample, 0)):
        if v < lo:
            raise CliError(f"{flag} must be at least {lo}, got {v}")
    if args.steps > 4096 or args.repeats > 1000:
        raise CliError("--steps must be at most 4096 and --repeats at most 1000")
    out = _out_dir(args.out) if args.out else None
    project = load_project(args.project)
    model = _model(project, need_weights=True)
    dataset = _load_data(args, project)
    task = dataset.task
    metric = args.metric
    if task == "classification" and metric not in ("loss", "accuracy"):
        raise CliError(f"--metric {metric} is for regression; use loss or accuracy")
    if task != "classification" and metric == "accuracy":
        raise CliError("--metric accuracy is for classification; use loss, mae, rmse or r2")
    opts = Options(split=args.split, sample=args.sample, target=_target(args, dataset),
                   method=METHODS[args.method], baseline=args.baseline, steps=args.steps, score=args.score,
                   repeats=args.repeats, metric=metric, per=args.per, seed=args.seed,
                   importance=not args.no_importance,
                   batch_size=int((project.train_config or {}).get("batch_size") or 32))
    loss = (project.metadata or {}).get("loss") or (project.train_config or {}).get("loss")
    try:
        result = explain(model, dataset, project.graph, options=opts, loss=loss)
        doc = to_json(result)
        if out is None:
            print(json.dumps(doc, default=_json_default, allow_nan=False))
            return 0
        files = write_pngs(result, out)
    except ExplainError as exc:
        raise _cli_error(exc) from None
    atomic_write_text(out / "explain.json", json.dumps(doc, default=_json_default, indent=1, allow_nan=False))
    summary = {"out": str(out), "files": [str(out / "explain.json")] + [str(f) for f in files],
               "sample": doc["sample"]["index"], "split": doc["sample"]["split"],
               "class": doc["saliency"]["target"]}
    if doc.get("importance"):
        summary["most_important"] = [f["name"] for f in doc["importance"]["features"][:5]]
    print(json.dumps(summary, default=_json_default))
    return 0


def _run_analyze(args) -> int:
    return cmd_analyze(args)


def _run_explain(args) -> int:
    return cmd_explain(args)


COMMANDS = {"analyze": _run_analyze, "explain": _run_explain}
