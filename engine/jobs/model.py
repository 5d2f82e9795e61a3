"""A project's trained model: compile the graph and load its weights, with user messages."""
from __future__ import annotations

from engine.errors import UserError


class JobError(UserError):
    """A job that cannot run on this project or data; the message says what to do."""


def trained_model(graph, weights):
    """The compiled model of ``graph`` with ``weights`` loaded (raises :class:`JobError`)."""
    from engine.model import StateError, compile_graph

    if not weights:
        raise JobError("the model has no trained weights yet; train it first")
    model = compile_graph(graph)
    try:
        model.load_state_dict(weights)
    except StateError as exc:
        raise JobError(f"the saved weights do not fit the graph: {exc}") from None
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
