"""Progress of long work, for the command line and the app alike: reading a ``progress`` callback's
arguments, and the time left (ETA) at the rate so far.  Numbers only; each caller words them
(the app translated, ``python main.py train`` as an ``eta_s`` field of its epoch lines)."""
from __future__ import annotations

import math
import time


def progress_parts(args) -> tuple[float | None, str]:
    """Read a progress callback's arguments: ``(done, total)``, ``(fraction, text)`` or ``(text,)``.
    Returns the fraction done (``None`` when unknown or not in [0, 1]) and the text."""
    text = next((a for a in args if isinstance(a, str)), "")
    nums = [float(a) for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
    frac = None
    if len(nums) >= 2 and nums[1] > 0:
        frac = nums[0] / nums[1]
    elif len(nums) == 1:
        frac = nums[0]
    if frac is not None and not (math.isfinite(frac) and 0.0 <= frac <= 1.0):
        frac = None
    return frac, text


def eta_seconds(done: float, total: float, elapsed: float) -> float | None:
    """Seconds left for ``total - done`` more units at the average rate of the ``done`` so far
    (``None`` before the first unit, or when the numbers make no sense)."""
    if not (done > 0 and elapsed > 0 and total >= done) or not all(map(math.isfinite, (done, total, elapsed))):
        return None
    return elapsed * (total - done) / done


class Clock:
    """An ETA clock that starts at the first report (so a compile step before it does not count) and
    leaves pauses out: ``pause()``/``resume()`` shift its start by the paused time."""

    def __init__(self, now=time.monotonic):
        self._now = now
        self._t0: float | None = None
        self._done0 = 0.0
        self._paused: float | None = None

    @property
    def started(self) -> bool:
        return self._t0 is not None

    @property
    def paused(self) -> bool:
        return self._paused is not None

    def report(self, done: float) -> None:
        """Called with each progress report; the first one starts the clock at ``done``."""
        if self._t0 is None:
            self._t0, self._done0 = self._now(), float(done)

    def pause(self) -> None:
        if self._paused is None:
            self._paused = self._now()

    def resume(self) -> None:
        if self._paused is not None:
            if self._t0 is not None:
                self._t0 += self._now() - self._paused
            self._paused = None

    def eta(self, done: float, total: float) -> float | None:
        """Seconds left, from the rate since the clock started (``None`` until there is one)."""
        if self._t0 is None:
            return None
        now = self._paused if self._paused is not None else self._now()
        return eta_seconds(done - self._done0, total - self._done0, now - self._t0)
