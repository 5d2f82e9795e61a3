"""One base class for every error a user can cause (issue 14)."""
import importlib
import inspect
import pkgutil

import engine
from engine.errors import UserError

#: exception classes in the engine that are not the user's doing, with the reason
NOT_USER_ERRORS = {
    "LoadCancelled": "the user's own cancel; a DataError subclass so that callers stop loading",
    "WireError": "a broken frame between NN Studio's own processes is a bug, never the user's input",
    "ProcessGone": "the training process died (killed, crashed); the run fails with its own message",
    "Unsupported": "inside the ONNX importer only: collected into one OnnxImportError (an ExportError)",
    "_Poisoned": "inside the ONNX importer only: a node after a failed one is skipped",
    "BlockError": "inside the ONNX importer only: why an attention block is refused, reported in the one "
                  "OnnxImportError",
}


def _engine_modules():
    for info in pkgutil.walk_packages(engine.__path__, "engine."):
        if info.name.startswith("engine.locale"):
            continue
        yield importlib.import_module(info.name)


def test_every_engine_error_is_a_user_error():
    found = {}
    for mod in _engine_modules():
        for name, cls in vars(mod).items():
            if inspect.isclass(cls) and issubclass(cls, Exception) and cls.__module__ == mod.__name__:
                found[f"{mod.__name__}.{name}"] = cls
    assert len(found) >= 15
    wrong = [n for n, c in found.items() if not issubclass(c, UserError) and n.rsplit(".", 1)[1] not in NOT_USER_ERRORS]
    assert not wrong, f"engine exceptions that do not derive from engine.errors.UserError: {wrong}"


def test_registry_errors_are_not_key_errors():
    """A KeyError's str() is the repr of its message, and the GUI took it for a bug."""
    from engine.registry import RegistryError, get_layer_class
    try:
        get_layer_class("Nope.v1")
    except RegistryError as exc:
        assert not isinstance(exc, KeyError) and str(exc) == "unknown layer type 'Nope.v1'"
    else:
        raise AssertionError("no error")
