"""Headless command line: ``python main.py train|evaluate|predict|export|template|import ...``.

Uses exactly the engine the GUI uses and never imports Qt.  Every user error
is one line on stderr and a non-zero exit status, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

EXIT_ERROR = 1

GUI_EPILOG = """\
Without a command, NN Studio opens its window:
  python main.py                  open with the demo project
  python main.py PROJECT.nnsp     open a project
  python main.py --screenshot F   render the main window (demo project) to the PNG file F and exit

Run 'python main.py COMMAND --help' for the options of a command.
"""


class CliError(Exception):
    pass


def app_version() -> str:
    from engine.userdirs import app_version as v
    return v()


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is written for the user: every engine error derives from
    :class:`engine.errors.UserError`; anything else is a bug in NN Studio."""
    from engine.errors import UserError
    return (CliError, UserError)


# ------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python main.py", description="NN Studio: build neural networks visually and train them locally.",
        epilog=GUI_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"NN Studio {app_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a graph or project on data and save the trained project",
                       description="Train a model headless. Prints one JSON object per epoch on stdout.",
                       usage="python main.py train GRAPH_OR_PROJECT --out PROJECT [--data PATH] [options]")
    t.add_argument("graph", metavar="GRAPH_OR_PROJECT",
                   help="a graph .json file (docs/graph-format.md) or an .nnsp project")
    _add_data_args(t, required=False)
    _add_train_flags(t)
    t.add_argument("--resume", action="store_true", help="start from the project's saved weights instead of a fresh initialisation")
    t.add_argument("--out", required=True, metavar="PROJECT", help="where to write the trained project (.nnsp)")
    t.add_argument("--force", action="store_true",
                   help="overwrite an existing --out project even when the run diverges "
                        "(otherwise a diverged run is saved beside it as NAME.diverged.nnsp)")
    t.add_argument("--quiet", action="store_true", help="print only the final summary")

    e = sub.add_parser("evaluate", help="evaluate a trained project and print metrics as JSON")
    e.add_argument("project", metavar="PROJECT")
    _add_data_args(e, required=False)
    e.add_argument("--split", default=None, choices=("auto", "train", "val", "test", "all"),
                   help="which split of the data to evaluate (default auto: test, else validation, else "
                        "training, as in the app; with --data, all rows of the file)")

    pr = sub.add_parser("predict", help="predict with a trained project and write the predictions")
    pr.add_argument("project", metavar="PROJECT")
    pr.add_argument("--data", metavar="PATH",
                    help="a CSV or .xlsx file with the feature columns, an image file or a folder of images, or a .npz with array x")
    pr.add_argument("--out", metavar="FILE", help="output CSV (a predictions column plus class probabilities)")
    pr.add_argument("--row", action="append", metavar="COLUMN=VALUE",
                    help="predict one row typed here instead of --data (repeat for each column; a raw sentence for "
                         "a text column; the value alone when the model reads one column); prints JSON")
    _add_encoding_arg(pr)
    pr.add_argument("--out-encoding", metavar="NAME",
                    help="text encoding of the output CSV (default: the input's, e.g. gb18030 for a GBK file)")

    ex = sub.add_parser("export", help="export a trained project (weights or model) for other tools")
    ex.add_argument("project", metavar="PROJECT")
    ex.add_argument("--format", required=True, choices=("npz", "safetensors", "onnx", "pytorch"),
                    help="npz or safetensors weights (with a JSON sidecar), an ONNX model, or PyTorch code")
    ex.add_argument("--out", required=True, metavar="FILE")
    from app.template_cli import add_parser as add_template_parser
    add_template_parser(sub)
    from app.explain_cli import add_parsers as add_explain_parsers
    add_explain_parsers(sub)
    from app.import_cli import add_parser as add_import_parser  # ONNX import (app/import_cli.py)
    add_import_parser(sub)
    return p


def _add_data_args(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--data", required=required, metavar="PATH",
                   help="a CSV or .xlsx file, an image folder (one subfolder per class), a .npz with arrays x and y, "
                        "or sample:NAME (xor, circles, moons, spirals, blobs, digits, iris, wine, breast_cancer; "
                        "sentiment, sentiment_zh: texts; seasonal: a time series)")
    _add_option_flags(p)


def _add_option_flags(p: argparse.ArgumentParser, names: tuple[str, ...] | None = None) -> None:
    """One flag per DataSpec option, generated from its metadata (``engine.data.spec.data_options``);
    ``names``: only those."""
    from engine.data.spec import data_options

    groups: dict[str, argparse._ArgumentGroup] = {}
    for o in data_options():
        if names is not None and o.name not in names:
            continue
        g = p if o.group == "data" else groups.setdefault(o.group, p.add_argument_group(o.group))
        kw: dict = {"dest": o.dest, "default": None, "help": _option_help(o)}
        if o.kind == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        elif o.kind == "choice":
            kw.update(choices=o.choices)
        elif o.kind == "int":
            kw.update(type=int, metavar=o.metavar or "N")
        elif o.kind == "float":
            kw.update(type=float, metavar=o.metavar or "X")
        else:
            kw.update(type=str, metavar=o.metavar or o.name.upper())
        g.add_argument(o.flag, **kw)


def _option_help(o) -> str:
    parts = [o.help]
    if o.suggestions:
        parts.append("e.g. " + ", ".join(o.suggestions))
    if o.kind in ("int", "float") and o.min is not None and o.max is not None:
        parts.append(f"{_num(o.min)} to {_num(o.max)}")
    if o.implies:
        parts.append("turns on " + ", ".join(_flag(k) for k in o.implies))
    text = "; ".join(parts)
    if o.default is not None and "default" not in o.help:
        d = ("on" if o.default else "off") if o.kind == "bool" else _num(o.default) \
            if isinstance(o.default, (int, float)) else o.default
        text += f" (default {d})"
    return text.replace("%", "%%")


def _add_encoding_arg(p: argparse.ArgumentParser) -> None:
    _add_option_flags(p, ("encoding", "sheet"))


# -------------------------------------------------------------------------- helpers
def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _num(v) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else f"{v:g}"


def _when(fi) -> str:
    """``--optimizer sgd/rmsprop and --early-stopping``: the settings under which a field matters."""
    return " and ".join(_flag(k) if v == (True,) else f"{_flag(k)} {'/'.join(map(str, v))}"
                        for k, v in (fi.visible_when or {}).items())


def _flag_help(fi) -> str:
    """``--help`` text of a training flag, from the field's metadata."""
    parts = [fi.help or fi.label]
    if fi.kind == "choice":
        labels = fi.choice_labels or {}
        parts.append(", ".join(f"{c}: {labels[c]}" if str(labels.get(c, c)).lower() != str(c).lower() else str(c)
                               for c in fi.choices))
    elif fi.suggestions:
        parts.append("e.g. " + ", ".join(fi.suggestions))
    if fi.kind in ("int", "float") and fi.min is not None and fi.max is not None:
        parts.append(f"{_num(fi.min)} to {_num(fi.max)}")
    if fi.visible_when:
        parts.append("only with " + _when(fi))
    default = ("on" if fi.default else "off") if fi.kind == "bool" else \
        _num(fi.default) if fi.kind in ("int", "float") else fi.default
    return ("; ".join(parts) + f" (default {default})").replace("%", "%%")


def _add_train_flags(t: argparse.ArgumentParser) -> None:
    """One flag per user-facing TrainConfig field, generated from its metadata (engine.trainer.train_fields)."""
    from engine.trainer import train_fields

    g = t.add_argument_group("training settings", "Each one defaults to the project's setting (an .nnsp), else to the default shown.")
    for fi in train_fields():
        kw: dict = {"dest": fi.name, "default": None, "help": _flag_help(fi)}
        if fi.kind == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        elif fi.kind == "choice":
            kw.update(choices=fi.choices, metavar="|".join(map(str, fi.choices)))
        elif fi.kind == "int":
            kw.update(type=int, metavar="N")
        elif fi.kind == "float":
            kw.update(type=float, metavar="X")
        else:
            kw.update(type=str, metavar=fi.name.upper())
        g.add_argument(_flag(fi.name), **kw)


def _data_spec(args, base: dict | None):
    from engine.data import DataSpec

    if args.data is None:
        if not base:
            raise CliError("no data given: use --data PATH (a CSV, an image folder, a .npz or sample:NAME)")
        spec = DataSpec.from_dict(base)
    else:
        spec = DataSpec.parse_cli(args.data)
        from engine.data.sources import PATH_NAME, source_for

        if source_for(spec).path != PATH_NAME and not Path(spec.path).exists():
            raise CliError(f"data not found: {spec.path}")
    changes = _option_changes(args)
    if changes:
        spec = DataSpec.from_dict({**spec.to_dict(), **changes})
    return spec


def _option_changes(args) -> dict:
    """The DataSpec fields the flags given set (and what they imply: ``--window`` turns time series on)."""
    from engine.data.spec import data_options

    changes: dict = {}
    implied: dict = {}
    for o in data_options():
        v = getattr(args, o.dest, None)
        if v is None:
            continue
        changes[o.name] = o.parse(v)
        implied.update(o.implies)
    return {**implied, **changes}


def _load_graph_or_project(path: str):
    from engine.files import regular_file_problem
    from engine.io import Project, load_project
    from engine.spec import GraphSpec

    p = Path(path)
    if not p.exists():
        raise CliError(f"file not found: {path}")
    if p.suffix.lower() == ".json":
        problem = regular_file_problem(p)
        if problem:
            raise CliError(problem)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"could not read {path}: {exc}") from None
        return Project(graph=GraphSpec.from_json(text))
    return load_project(p)


def _json_default(o):
    import numpy as np
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _emit(obj: dict) -> None:
    print(json.dumps({k: _clean(v) for k, v in obj.items()}, default=_json_default), flush=True)


# -------------------------------------------------------------------------- commands
def _check_settings(settings: dict) -> None:
    """Bounded training options (a typo such as --epochs 10**30 must not run forever), named by their flag."""
    from engine.trainer import train_fields

    for fi in train_fields():
        v = settings.get(fi.name)
        if v is None or fi.kind not in ("int", "float") or (fi.min is None and fi.max is None):
            continue
        flag = _flag(fi.name)
        if fi.label and fi.label.lower() != fi.name.replace("_", " "):
            flag += f" ({fi.label})"  # --lr (learning rate)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (fi.kind == "int" and not isinstance(v, int)):
            raise CliError(f"{flag} must be a {'whole ' if fi.kind == 'int' else ''}number, got {v!r}")
        if not math.isfinite(v):
            raise CliError(f"{flag} must be a finite number, got {v}")
        lo = fi.min if fi.min is not None else -math.inf
        hi = fi.max if fi.max is not None else math.inf
        if not lo <= v <= hi:
            raise CliError(f"{flag} must be between {_num(lo)} and {_num(hi)}, got {_num(v)}")


def _train_config(args, saved: dict | None):
    """The run's TrainConfig: the project's settings, overridden by the flags given."""
    from engine.trainer import TrainConfig, train_fields

    overrides = {fi.name: getattr(args, fi.name) for fi in train_fields() if getattr(args, fi.name, None) is not None}
    settings = {**(saved or {}), **overrides}
    _check_settings(settings)
    return TrainConfig.from_dict(settings)


def _ineffective_flags(args, cfg) -> list[str]:
    """Notes on flags that the other settings make pointless (``--momentum`` with adam)."""
    from engine.trainer import train_fields

    values, notes = cfg.to_dict(), []
    for fi in train_fields():
        if getattr(args, fi.name, None) is not None and not fi.visible(values):
            notes.append(f"note: {_flag(fi.name)} has no effect here; it applies only with {_when(fi)}")
    return notes


def _metric_names(task: str) -> list[str]:
    """Every metric an epoch reports for ``task`` (the names --monitor accepts)."""
    if task == "classification":
        base = ["loss", "accuracy"]
    else:
        import numpy as np

        from engine.evaluate import regression_metrics
        base = ["loss"] + [k for k in regression_metrics(np.zeros((2, 1)), np.ones((2, 1))) if k != "mse"]
    return base + [f"val_{k}" for k in base]


def _check_output(out: Path, inputs: list[str | None], flag: str = "--out") -> None:
    """Refuse an output that cannot be written, or that is one of the inputs, before any work starts."""
    for src in inputs:
        if src and Path(src).exists() and out.exists() and os.path.samefile(src, out):
            raise CliError(f"{flag} {out} is one of the input files; choose another output file")
    if out.is_dir():
        raise CliError(f"{flag} {out} is a folder; give a file name, e.g. {out / 'model.nnsp'}")
    parent = out.parent
    probe = parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise CliError(f"cannot write {out}: {probe} is a file, not a folder")
    if not parent.exists():
        raise CliError(f"output folder does not exist: {parent}")
    from engine.userdirs import writable
    if not writable(parent):
        raise CliError(f"cannot write to the folder {parent} (read-only or no permission); choose another {flag}")


def _check_space(out: Path, n_params: int) -> None:
    import shutil
    need = 4 * int(n_params) + 2**20  # float32 weights + history and preprocessing
    try:
        free = shutil.disk_usage(out.parent).free
    except OSError:
        return
    if free < need:
        raise CliError(f"not enough disk space for {out}: about {need / 2**20:.1f} MB needed, "
                       f"{free / 2**20:.1f} MB free in {out.parent}")


class _Interrupts:
    """SIGINT/SIGTERM during training: the first sets ``stop`` (the run ends at the next batch
    and is saved), a second one aborts."""

    def __init__(self, stop):
        self.stop = stop
        self.signal: int | None = None
        self._old: dict = {}

    def __enter__(self):
        import signal
        import threading
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        import signal
        if self.stop.is_set():
            raise KeyboardInterrupt
        self.signal = signum
        self.stop.set()
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        print(f"{name}: stopping after this batch and saving the project (press Ctrl-C again to abort)",
              file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        import signal
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False


def cmd_train(args) -> int:
    import threading
    import time

    from engine.data import load_dataset
    from engine.jobs.progress import Clock
    from engine.trainer import BatchEnded, Diverged, EpochEnded, TrainConfig, Trainer, TrainFailed, TrainFinished

    project = _load_graph_or_project(args.graph)
    out = Path(args.out)
    _check_output(out, [args.data])
    cfg = _train_config(args, project.train_config)
    data_spec = _data_spec(args, project.data_spec)
    dataset = load_dataset(data_spec)
    names = _metric_names(dataset.task)
    if args.monitor is not None and args.monitor not in names:
        raise CliError(f"--monitor {args.monitor}: no such metric for {dataset.task}; "
                       f"choose one of {', '.join(names)}")
    _report_dropped_columns(dataset)
    for note in _ineffective_flags(args, cfg):
        print(note, file=sys.stderr)
    weights = project.weights if args.resume else None
    if args.resume and not weights:
        raise CliError("--resume needs a project with trained weights")
    existed = out.exists()
    t0 = time.perf_counter()
    # the app's divergence mechanism: an in-memory checkpoint at most 25 steps old to roll back to
    run_cfg = TrainConfig.from_dict({**cfg.to_dict(), "pause_on_divergence": True})
    trainer = Trainer(project.graph, dataset, run_cfg, weights=weights)
    _check_space(out, trainer.model.n_params())
    start = _start_point(trainer) if weights else None
    stop, pause = threading.Event(), threading.Event()
    final, diverged = None, None
    eta = Clock()   # the app's ETA: from the first batch (after compiling), at the run's rate so far
    with _Interrupts(stop) as interrupts:
        for ev in trainer.run(stop=stop, pause=pause):
            if isinstance(ev, BatchEnded):
                eta.report(ev.epoch - 1)
            elif isinstance(ev, EpochEnded):
                if not args.quiet:
                    left = eta.eta(ev.epoch, cfg.epochs)
                    _emit({"epoch": ev.epoch, **ev.logs, "samples_per_s": round(ev.samples_per_s, 1),
                           "seconds": round(ev.seconds, 4), **({} if left is None else {"eta_s": round(left, 1)})})
            elif isinstance(ev, (Diverged, TrainFailed)):
                diverged = ev
                stop.set()  # end the run: the CLI does not retry with a smaller learning rate
                if isinstance(ev, TrainFailed):
                    break
            elif isinstance(ev, TrainFinished):
                final = ev
        state, best_epoch = (final.state, final.best_epoch) if final else (None, trainer.best_epoch)
        if diverged is not None:
            reason = "diverged"
            # "last good": the best weights seen (an epoch's, or those resumed from), from before the
            # loss blew up; with neither, the in-memory checkpoint
            state = trainer.best_state or diverged.state
            kept = f"the weights of epoch {trainer.best_epoch}" if trainer.best_state else \
                f"a checkpoint at most {Trainer.CHECKPOINT_EVERY} steps before the divergence"
            if start is not None and (trainer.best_state is None or trainer._improved(start[0])):
                state, kept, best_epoch = start[1], "the weights this run resumed from", 0
        elif interrupts.signal is not None:
            reason = "interrupted"
            if cfg.early_stopping and cfg.restore_best and trainer.best_state is not None:
                state = trainer.best_state
        else:
            reason = final.reason
        target = out
        if reason == "diverged" and existed and not args.force:
            target = out.with_name(out.stem + ".diverged" + (out.suffix or ".nnsp"))
        saved = _save_trained(project, target, data_spec, dataset, cfg, trainer, state, reason)
    summary = {"done": reason != "diverged", "reason": reason, "epochs": trainer.epoch, "best_epoch": best_epoch,
               "seconds": round(time.perf_counter() - t0, 3), "out": str(saved)}
    if reason == "interrupted":
        summary["interrupted"] = True
    if saved != out and reason != "diverged":
        summary["saved_instead"] = True
    if dataset.n("test") and reason != "diverged":
        summary.update({f"test_{k}": v for k, v in trainer.evaluate("test").items()})
    _emit(summary)
    if reason == "diverged":
        where = (f"{out} was not overwritten (it existed before this run; --force overwrites it); "
                 f"{kept} were saved to {saved}" if target != out else f"{kept[0].upper()}{kept[1:]} were saved to {saved}")
        raise CliError(f"{diverged.message.split(' The weights')[0]} {where}.")
    if saved != target:
        return EXIT_ERROR
    if reason == "interrupted":
        import signal
        return 128 + int(interrupts.signal or signal.SIGINT)
    return 0


def _start_point(trainer) -> tuple[float, dict] | None:
    """The monitored metric of the weights a resumed run starts from, and those weights."""
    logs = dict(trainer.evaluate("train", rows=trainer._train_probe()))
    logs.update({f"val_{k}": v for k, v in trainer.evaluate("val").items()})
    value = trainer._monitor_value(logs)
    if value is None or not math.isfinite(value):
        return None
    return value, trainer.model.state_dict()


#: image files named one by one in the "skipped" notes; the rest are counted
SKIPPED_FILES_SHOWN = 5


def _report_dropped_columns(dataset) -> None:
    """Say on stderr which CSV columns were left out of the features (identifier-like or
    empty) and which image files were skipped (unreadable, not regular files, linked folders).
    ``dataset``: a Dataset or a job result with a ``report`` entry."""
    files = []
    report = dataset.get("report") if isinstance(dataset, dict) else getattr(dataset, "report", None)
    for item in report or []:
        if not isinstance(item, dict):
            continue
        if item.get("column") and "free-text column" in str(item.get("reason")):
            print(f"note: column '{item['column']}': {item['reason']} (name it in --text-columns to use it "
                  f"as text)", file=sys.stderr)
        elif item.get("column") and "not used as a feature" in str(item.get("reason")):
            print(f"note: column '{item['column']}' was left out: {item['reason']} "
                  f"(name it in --features to use it)", file=sys.stderr)
        elif item.get("file"):
            files.append(item)
    for item in files[:SKIPPED_FILES_SHOWN]:
        print(f"note: skipped {item['file']}: {item.get('reason', '')}", file=sys.stderr)
    if len(files) > SKIPPED_FILES_SHOWN:
        print(f"note: {len(files) - SKIPPED_FILES_SHOWN} more files skipped ({len(files)} in all)", file=sys.stderr)


def _save_trained(project, out, data_spec, dataset, cfg, trainer, state, reason) -> Path:
    """Save the trained project to ``out``; if that fails, keep it in the user cache and say where."""
    from engine.files import os_reason
    from engine.io import ProjectError, save_project
    from engine.jobs.runs import finish_run, new_run

    run = new_run(project.history, cfg.to_dict(), data_spec.to_dict())
    run["epochs"] = trainer.history
    trained = finish_run(project, run, reason=reason, dataset=dataset, weights=state, loss=trainer.loss.name)
    try:
        save_project(out, trained)
        return Path(out)
    except (OSError, ProjectError) as exc:
        problem = os_reason(exc) if isinstance(exc, OSError) else str(exc)
    import time

    from engine.userdirs import user_dir
    folder = user_dir("cache")
    if folder is not None:
        spare = folder / "unsaved" / f"{Path(out).stem}-{time.strftime('%Y%m%d-%H%M%S')}.nnsp"
        try:
            spare.parent.mkdir(parents=True, exist_ok=True)
            save_project(spare, trained)
        except (OSError, ProjectError):
            pass
        else:
            print(f"error: could not save {out}: {problem}; the trained project was kept at {spare}",
                  file=sys.stderr)
            return spare
    raise CliError(f"could not save {out}: {problem} (and no cache folder was writable to keep it)")


def _trained_model(project):
    from engine.jobs import JobError, trained_model

    try:
        return trained_model(project.graph, project.weights,
                             no_weights="the project has no trained weights; train it first (python main.py train ...)")
    except JobError as exc:
        raise CliError(str(exc)) from None


def cmd_evaluate(args) -> int:
    from engine.io import load_project
    from engine.jobs import evaluate

    project = load_project(args.project)
    _trained_model(project)
    spec = _data_spec(args, project.data_spec)
    split = args.split
    if split is None:
        # a new file: evaluate every row, unless split fractions were asked for
        split = "all" if args.data is not None and args.val_split is None and args.test_split is None else "auto"
    res = evaluate(project.graph, project.weights, spec, preprocessing=project.preprocessing or None,
                   loss=(project.metadata or {}).get("loss"), split=split)
    _report_dropped_columns(res)
    print(json.dumps({"split": res["split"], "n": res["n"], "where": res["where"], **res["metrics"]},
                     default=_json_default, indent=None))
    return 0


def _row_values(items: list[str], columns: list[str]) -> dict:
    """``--row`` items: ``COLUMN=VALUE`` each, or one bare value for a model that reads one column."""
    row = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or name.strip() not in columns:
            if len(columns) == 1 and len(items) == 1:
                return {columns[0]: item}
            if not eq:
                raise CliError(f"--row {item!r}: write COLUMN=VALUE (columns: {', '.join(columns)})")
        row[name.strip()] = value
    return row


def cmd_predict(args) -> int:
    from engine.evaluate import predict_file, predict_rows
    from engine.io import load_project

    if args.row is not None:
        if args.data is not None:
            raise CliError("give either --data (a file) or --row (one row), not both")
        project = load_project(args.project)
        model = _trained_model(project)
        from engine.data.sources import saved_form

        pre = project.preprocessing or {}
        if not getattr(saved_form(pre), "rows", False):
            raise CliError("--row predicts a row of a table; this model was not trained on a table "
                           "(use --data FILE --out FILE)")
        columns = [str(c.get("name")) for c in pre.get("columns") or []]
        (result,) = predict_rows(model, project, [_row_values(args.row, columns)])
        print(json.dumps(result, ensure_ascii=False))
        return 0
    if args.data is None or args.out is None:
        raise CliError("predict needs --data FILE and --out FILE (or --row COLUMN=VALUE for one row)")
    _check_output(Path(args.out), [args.project, args.data])
    project = load_project(args.project)
    model = _trained_model(project)
    n = predict_file(model, project, args.data, args.out, encoding=args.encoding or "auto",
                     out_encoding=args.out_encoding, sheet=args.sheet)
    print(json.dumps({"predictions": n, "out": args.out}))
    return 0


def cmd_export(args) -> int:
    from engine.export import export_project
    from engine.io import load_project

    _check_output(Path(args.out), [args.project])
    project = load_project(args.project)
    _trained_model(project)
    written = export_project(project, args.format, args.out)
    print(json.dumps({"format": args.format, "files": [str(w) for w in written]}))
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "export": cmd_export}


def _cmd_template(args) -> int:
    from app.template_cli import cmd_template
    return cmd_template(args)


COMMANDS["template"] = _cmd_template
from app.explain_cli import COMMANDS as _EXPLAIN_COMMANDS  # noqa: E402  (analyze, explain)

COMMANDS.update(_EXPLAIN_COMMANDS)


def _cmd_import(args) -> int:  # ONNX import (app/import_cli.py)
    from app.import_cli import cmd_import
    return cmd_import(args)


COMMANDS["import"] = _cmd_import


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed its one-line usage error (or --help)
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return 0
    errors = _user_errors()
    try:
        return COMMANDS[args.command](args)
    except errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory; try a smaller batch size or image size", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        from engine.files import os_reason

        print(f"error: {os_reason(exc)}" + (f": {exc.filename}" if exc.filename else ""), file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # an internal bug: still one line, and a way to see more
        if os.environ.get("NNSTUDIO_DEBUG"):
            raise
        print(f"internal error ({type(exc).__name__}: {exc}); set NNSTUDIO_DEBUG=1 for details",
              file=sys.stderr)
        return 3
