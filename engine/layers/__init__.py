"""Built-in layers. Importing this package registers all of them."""
# Optional layer families are registered when their modules exist.
import importlib as _importlib

from engine.layers import activations, core, merge, norm  # noqa: F401

for _mod in ("conv", "pool", "recurrent", "attention", "embedding", "layernorm"):
    try:
        _importlib.import_module(f"engine.layers.{_mod}")
    except ModuleNotFoundError as _exc:  # pragma: no cover - only while a family is unwritten
        if _exc.name != f"engine.layers.{_mod}":
            raise
