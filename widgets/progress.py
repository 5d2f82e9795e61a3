"""A progress bar that never paints synchronously.

``QProgressBar.setValue`` calls ``repaint()`` (a synchronous paint, flushed to the screen
at once) whenever the bar's chunk moves by a pixel.  A training run moves it every frame,
and in a docked window each of those repaints cost tens of milliseconds on the GUI thread
(measured: 1.8 s of 7.9 s GUI time in a 300-epoch demo run).  :class:`ProgressBar` turns
that into ``update()``: the bar is drawn with the rest of the frame, at most once.
"""
from __future__ import annotations

from PySide6.QtWidgets import QProgressBar


class ProgressBar(QProgressBar):
    """A QProgressBar whose value changes are painted with the next frame, not at once."""

    def _deferred(self, change) -> None:
        was = self.updatesEnabled()
        self.setUpdatesEnabled(False)     # repaint() does nothing while updates are off ...
        try:
            change()
        finally:
            self.setUpdatesEnabled(was)   # ... and turning them back on schedules one update()

    def setValue(self, value: int) -> None:  # noqa: N802 - Qt's name
        if value != self.value():
            self._deferred(lambda: super(ProgressBar, self).setValue(value))

    def setRange(self, minimum: int, maximum: int) -> None:  # noqa: N802 - Qt's name
        if (minimum, maximum) != (self.minimum(), self.maximum()):
            self._deferred(lambda: super(ProgressBar, self).setRange(minimum, maximum))
