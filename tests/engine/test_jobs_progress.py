"""engine.jobs.progress: the progress reading and the ETA that the app and the CLI share."""
from __future__ import annotations

import pytest

from engine.jobs.progress import Clock, eta_seconds, progress_parts


def test_progress_parts():
    assert progress_parts((3, 4)) == (0.75, "")
    assert progress_parts((0.5, "half")) == (0.5, "half")
    assert progress_parts(("reading",)) == (None, "reading")
    assert progress_parts((5, 4)) == (None, "")          # more than the whole: unknown, not 125 %
    assert progress_parts((True, 2)) == (None, "")        # a flag is not a count
    assert progress_parts((float("nan"),)) == (None, "")


def test_eta_seconds():
    assert eta_seconds(1000, 5000, 3.0) == pytest.approx(12.0)
    assert eta_seconds(0, 5000, 3.0) is None and eta_seconds(10, 5, 1.0) is None
    assert eta_seconds(5, 5, 2.0) == 0.0
    assert eta_seconds(1, 2, float("inf")) is None


def test_the_clock_starts_at_the_first_report_and_leaves_pauses_out():
    t = [100.0]
    c = Clock(lambda: t[0])
    assert c.eta(5, 10) is None and not c.started
    t[0] = 130.0            # 30 s of compiling before the first report: not counted
    c.report(0)
    t[0] = 140.0
    assert c.eta(2, 10) == pytest.approx(40.0)       # 2 units in 10 s: 8 more take 40 s
    c.pause()
    t[0] = 1000.0           # a long pause
    assert c.eta(2, 10) == pytest.approx(40.0)       # frozen while paused
    c.resume()
    t[0] = 1010.0
    assert c.eta(4, 10) == pytest.approx(30.0)       # 4 units in 20 running seconds
    c.report(9)             # later reports do not restart it
    assert c.eta(4, 10) == pytest.approx(30.0)
