"""A project's trained model: compile the graph and load its weights, with user messages."""
from __future__ import annotations

from engine.errors import UserError


class JobError(UserError):
    """A job that cannot run on this project or data; the message says what to do."""


def trained_model(graph, weights):
    """The compiled model of ``graph`` with ``weights`` loaded (raises :class:`JobError`)."""
    from engine.compile import compile_graph
    from engine.model import StateError

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
    if tuple(model.input_shape) != tuple(dataset.input_shape):
        raise JobError(f"the data has samples of shape {tuple(dataset.input_shape)} but the model expects "
                       f"{tuple(model.input_shape)}")
