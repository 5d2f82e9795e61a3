"""Deferred imports, so that starting the app does not load Numba (or pandas) before it is needed.

The canvas, palette and property editor need the layer classes but no kernel; the kernels
(and ``import numba``, about half a second) are loaded the first time a layer computes or an
optimizer steps.  Training runs in its own process, which imports them while the window
opens.

* :class:`LazyModule` -- ``K = LazyModule("engine.kernels.recurrent")``; ``K.f`` imports on
  first use.
* :func:`lazy_njit` -- ``@lazy_njit(cache=True)`` for kernels called from Python only (never
  from another Numba function, which needs a real dispatcher when it compiles).
"""
from __future__ import annotations

import functools
import importlib


class LazyModule:
    """A module imported on its first attribute access."""

    def __init__(self, name: str):
        self.__dict__["_name"] = name

    def __getattr__(self, attr: str):
        mod = importlib.import_module(self.__dict__["_name"])
        value = getattr(mod, attr)
        self.__dict__[attr] = value          # later look-ups skip __getattr__
        return value

    def __repr__(self) -> str:
        return f"<lazy module {self.__dict__['_name']!r}>"


def lazy_njit(**options):
    """``numba.njit(**options)`` applied at the first call (Numba imported then)."""
    def wrap(fn):
        compiled = []

        @functools.wraps(fn)
        def call(*args):
            if not compiled:
                from numba import njit
                compiled.append(njit(**options)(fn))
            return compiled[0](*args)

        call.py_func = fn
        return call
    return wrap
