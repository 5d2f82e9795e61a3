"""The record of a training run and the project it leaves behind (the same from the CLI and the app)."""
from __future__ import annotations

import datetime as _dt


def run_name(history: list) -> str:
    """``"Run N"`` for the next run of a project with ``history``."""
    return f"Run {len(history or []) + 1}"


def new_run(history: list, config: dict, data: dict | None, name: str | None = None) -> dict:
    """The record a run starts with; its ``epochs`` fill as it trains."""
    return {"name": name or run_name(history), "started": _dt.datetime.now().isoformat(timespec="seconds"),
            "settings": dict(config), "data": data, "epochs": []}


def trained_metadata(metadata: dict | None, dataset, loss: str | None) -> dict:
    """A project's metadata after training on ``dataset`` with ``loss``: what evaluate, predict
    and export need to read the model's outputs (task, class names, loss, input shape)."""
    meta = dict(metadata or {})
    meta.update({"task": getattr(dataset, "task", None), "class_names": getattr(dataset, "class_names", None),
                 "input_shape": list(getattr(dataset, "input_shape", ()) or ())})
    if loss is not None:
        meta["loss"] = loss
    return meta


def finish_run(project, run: dict, *, reason: str, dataset, weights, loss: str | None, config: dict | None = None,
               data: dict | None = None):
    """The project after a run: the run appended to its history, the weights, the data's
    transform and what the model predicts (task, class names, loss, input shape) in its metadata.
    Returns a new :class:`engine.io.Project`; ``project`` is left as it was."""
    from engine.io import Project

    run = {**run, "reason": reason}
    history = [*list(project.history or []), run]
    meta = trained_metadata(project.metadata, dataset, loss)
    if reason == "interrupted":
        meta["interrupted"] = True
    else:
        meta.pop("interrupted", None)
    return Project(graph=project.graph, train_config=dict(config if config is not None else run["settings"]),
                   data_spec=data if data is not None else run.get("data"),
                   preprocessing=getattr(dataset, "preprocessing", None), weights=weights, history=history,
                   metadata=meta)
