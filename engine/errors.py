"""The one base class of every error a user can cause.

Each engine module raises its own subclass (``DataError``, ``GraphError``,
``ProjectError``, ``ExportError``, ...) with a message written for the user; callers that
only need to tell "the user's input" from "a bug in NN Studio" catch :class:`UserError`.
Anything else that escapes is an internal error.  ``UserError`` is a ``ValueError`` so that
code written against the older classes keeps working.
"""
from __future__ import annotations


class UserError(ValueError):
    """Input, settings or files that NN Studio cannot use; ``str(exc)`` is the message for the user."""
