"""A project's trained model: compile the graph and load its weights, with user messages."""
from __future__ import annotations

from engine.errors import UserError


class JobError(UserError):
    """A job that cannot run on this project or data; the message says what to do."""


def trained_model(graph, weights, *, file: str | None = None, no_weights: str | None = "",
                  error: type[UserError] = JobError):
    """The compiled model of ``graph`` with ``weights`` loaded: the one place that does it for evaluate,
    predict, explain, export and import.  Raises ``error`` (default :class:`JobError`) with one line:
    ``no_weights`` (or a default) when there are none (``None``: none is fine, for a graph without
    parameters), and the graph's or the weights' problem, naming ``file`` when they come from one."""
    from engine.compile import GraphError
    from engine.model import StateError, compile_graph

    if not weights and no_weights is not None:
        raise error(no_weights or "the model has no trained weights yet; train it first")
    try:
        model = compile_graph(graph)
    except GraphError as exc:
        raise error(f"the graph in {file} cannot be compiled: {exc}" if file
                    else f"the graph cannot be compiled: {exc}") from None
    try:
        model.load_state_dict(weights or {})
    except StateError as exc:
        raise error(f"the weights in {file} do not fit its graph: {exc}" if file
                    else f"the saved weights do not fit the graph: {exc}") from None
    return model


def check_input_shape(model, dataset) -> None:
    """Refuse data whose samples do not have the shape the model's Input expects."""
    shapes = getattr(dataset, "input_shapes", None)
    if len(model.input_ids) != 1 or shapes:
        want = model.input_shapes
        have = dict(shapes or {})
        if set(want) != set(have):
            raise JobError(f"the model's Input layers are {', '.join(want)} but the data's inputs are "
                           f"{', '.join(have) or 'one unnamed input'}")
        for name, shape in want.items():
            if tuple(shape) != tuple(have[name]):
                raise JobError(f"the data's input '{name}' has samples of shape {tuple(have[name])} but the model "
                               f"expects {tuple(shape)}")
        return
    from engine.model import input_shape_problem

    problem = input_shape_problem(model, dataset.input_shape)
    if problem:
        raise JobError(problem)
