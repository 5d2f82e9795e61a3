"""Live views: curves, histograms, decision boundary, confusion matrix (synthetic events)."""
from __future__ import annotations

import numpy as np
import pytest

from engine.trainer import BatchEnded, EpochEnded, TrainStarted, histogram
from widgets.confusion import ConfusionView
from widgets.decision_boundary import DecisionBoundaryView, probability_image, value_image
from widgets.histograms import WeightHistograms, rebin
from widgets.plots import GrowBuffer, TrainingCurves, ema, finite_xy


def npts(item) -> int:
    x, _ = item.getData()
    return 0 if x is None else len(x)


def started(steps=4, task="classification"):
    return TrainStarted(epochs=3, steps_per_epoch=steps, n_train=100, n_val=20, n_params=10, loss="sparse_cce",
                        task=task)


def batch(step, losses, epoch=1):
    a = np.asarray(losses, dtype=np.float64)
    a.setflags(write=False)
    return BatchEnded(epoch, step, float(np.mean(a)), a, 0.5, 100.0)


def epoch_ev(e, loss, val_loss, acc=0.5, hist=None, grads=None, cm=None):
    return EpochEnded(e, {"loss": loss, "accuracy": acc, "val_loss": val_loss, "val_accuracy": acc, "lr": 0.01},
                      1.0, 100.0, hist or {}, grads or {}, cm)


def test_grow_buffer_doubles_and_keeps_values():
    b = GrowBuffer(2)
    for i in range(5):
        b.append([i, i + 0.5])
    assert len(b) == 10 and b.capacity == 16
    np.testing.assert_array_equal(b.view()[:4], [0, 0.5, 1, 1.5])


def test_ema_is_debiased_incremental_and_zero_is_identity():
    v = np.array([1.0, 2.0, 3.0, 4.0])
    whole, _ = ema(v, 0.5)
    a, st = ema(v[:2], 0.5)
    b, _ = ema(v[2:], 0.5, st)
    np.testing.assert_allclose(np.concatenate([a, b]), whole)
    assert whole[0] == 1.0  # debiased: the first value is itself
    np.testing.assert_array_equal(ema(v, 0.0)[0], v)
    out, _ = ema(np.array([1.0, np.nan, 1.0]), 0.9)
    assert np.isnan(out[1]) and out[2] == pytest.approx(1.0)


def test_finite_xy_masks_nan_inf_and_nonpositive_on_log():
    x = np.arange(5.0)
    y = np.array([1.0, np.nan, np.inf, 0.0, -1.0])
    fx, fy, bad = finite_xy(x, y)
    assert list(fx) == [0, 3, 4] and bad == 2
    fx, fy, bad = finite_xy(x, y, log=True)
    assert list(fx) == [0] and bad == 4


def test_curves_hold_one_point_per_batch_and_epoch(qtbot):
    w = TrainingCurves()
    qtbot.addWidget(w)
    items = dict(w.items)
    w.start(started(steps=4))
    w.add_batch(batch(2, [1.0, 0.9]))
    w.add_batch(batch(4, [0.8, 0.7]))
    w.add_epoch(epoch_ev(1, 0.85, 0.9, 0.6))
    w.add_batch(batch(7, [0.6, 0.5, 0.4]))
    w.redraw()
    x, y = w.items["batch_raw"].getData()
    np.testing.assert_allclose(x, np.arange(1, 8) / 4)
    np.testing.assert_allclose(y, [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    assert len(w.items["batch_smooth"].getData()[0]) == 7
    assert list(w.items["loss"].getData()[0]) == [1.0]
    assert list(w.items["val_loss"].getData()[1]) == [0.9]
    assert list(w.items["metric"].getData()[1]) == [0.6]
    assert w.metric_name == "accuracy" and w.metric_combo.count() == 1
    assert w.items == items  # no item created after construction


def test_curves_sanitise_nan_and_log_mode(qtbot):
    w = TrainingCurves()
    qtbot.addWidget(w)
    w.start(started(steps=2))
    w.add_batch(batch(3, [1.0, np.nan, 0.0]))
    w.add_epoch(epoch_ev(1, float("inf"), 0.5))
    w.redraw()
    x, y = w.items["batch_raw"].getData()
    assert np.all(np.isfinite(y)) and len(y) == 2
    assert npts(w.items["loss"]) == 0
    assert "not drawn" in w.notice.text()
    w.set_log_loss(True)
    assert npts(w.items["batch_raw"]) == 1  # the 0.0 is masked on a log axis
    assert w.loss_plot.getPlotItem().ctrl.logYCheck.isChecked()
    w.set_log_loss(False)
    assert npts(w.items["batch_raw"]) == 2


def test_smoothing_recomputes_from_full_resolution(qtbot):
    w = TrainingCurves()
    qtbot.addWidget(w)
    w.start(started(steps=10))
    w.add_batch(batch(4, [4.0, 0.0, 4.0, 0.0]))
    w.set_smoothing(0.0)
    w.redraw()
    np.testing.assert_allclose(w.items["batch_smooth"].getData()[1], [4, 0, 4, 0])
    w.smooth_slider.setValue(90)
    w.redraw()
    s = w.items["batch_smooth"].getData()[1]
    assert s[0] == pytest.approx(4.0) and 0 < s[1] < 4


def test_overlay_and_readout(qtbot):
    w = TrainingCurves()
    qtbot.addWidget(w)
    w.start(started())
    w.add_epoch(epoch_ev(1, 0.5, 0.6, 0.7))
    run = {"name": "Run 1", "epochs": [{"epoch": 1, "loss": 0.9, "val_loss": 1.0, "accuracy": 0.5},
                                       {"epoch": 2, "loss": 0.7, "val_loss": None, "accuracy": 0.6}]}
    w.set_overlay(run)
    w.redraw()
    assert list(w.items["overlay_loss"].getData()[1]) == [0.9, 0.7]
    assert list(w.items["overlay_val_loss"].getData()[0]) == [1.0]
    assert list(w.items["overlay_metric"].getData()[1]) == [0.5, 0.6]
    text = w.readout_at(1.2)
    assert "epoch 1" in text and "val_loss 0.6" in text
    w.set_overlay(None)
    w.redraw()
    assert npts(w.items["overlay_loss"]) == 0


def test_redraw_timer_pushes_data(qtbot):
    w = TrainingCurves(redraw_ms=10)
    qtbot.addWidget(w)
    w.start(started())
    w.add_batch(batch(1, [0.3]))
    qtbot.waitUntil(lambda: npts(w.items["batch_raw"]) == 1, timeout=5000)
    assert not w._dirty


def test_histograms_per_key_stats_heatmap_and_grads(qtbot):
    w = WeightHistograms()
    qtbot.addWidget(w)
    rng = np.random.default_rng(0)
    for e in (1, 2, 3):
        hist = {"n2/W": histogram(rng.normal(0, e, 500)), "n2/b": histogram(np.zeros(4))}
        w.add_epoch(epoch_ev(e, 1.0, 1.0, hist=hist, grads={"n2": 0.5 * e, "n3": float("nan")}))
    assert [w.combo.itemText(i) for i in range(w.combo.count())] == ["n2/W", "n2/b"]
    x, y = w.hist_item.getData()
    assert len(x) == 31 and len(y) == 30
    assert "mean" in w.stats.text() and "epoch 3" in w.stats.text()
    img, lo, hi = w.heat_image("n2/W")
    assert img.shape[0] == 3 and np.allclose(img.sum(axis=1), 500)
    w.combo.setCurrentText("n2/b")
    assert "zeros 100.0%" in w.stats.text()
    assert list(w.grad_item.opts["height"]) == [1.5, 0.0]
    w.reset()
    assert w.combo.count() == 0


def test_rebin_keeps_totals():
    counts = np.array([1.0, 2.0, 3.0])
    out = rebin(counts, np.array([0.0, 1.0, 2.0, 3.0]), np.linspace(-1, 4, 11))
    assert out.sum() == 6


def test_decision_boundary_images(qtbot):
    v = DecisionBoundaryView()
    qtbot.addWidget(v)
    probs = np.zeros((8, 10, 2), np.float32)
    probs[..., 0] = np.linspace(0, 1, 10)[None, :]
    probs[..., 1] = 1 - probs[..., 0]
    v.set_payload({"epoch": 1, "task": "classification", "x_range": (-1, 1), "y_range": (-2, 2),
                   "values": probs, "points": np.array([[0, 0], [0.5, 0.5], [np.nan, 0]]),
                   "labels": np.array([0, 1, 1])})
    assert v.rgb.shape == (8, 10, 3)
    assert v.image.image.shape[:2] == (10, 8)  # column-major: x first
    assert len(v.scatter.data) == 2  # the NaN point is not drawn
    rgb = probability_image(np.full((2, 2, 3), 1 / 3))
    assert np.all(rgb > 200)  # unsure -> nearly white
    reg = value_image(np.array([[0.0, 1.0]]))
    assert tuple(reg[0, 0]) != tuple(reg[0, 1])
    v.set_payload({"epoch": 2, "task": "regression", "x_range": (0, 1), "y_range": (0, 1),
                   "values": np.zeros((4, 4, 1)), "points": np.zeros((3, 2)), "labels": np.ones((3, 1))})
    assert v.rgb.shape == (4, 4, 3)


def test_confusion_matrix_view(qtbot):
    v = ConfusionView()
    qtbot.addWidget(v)
    v.set_matrix(np.array([[5, 1], [2, 7]]), ["cat", "dog"], epoch=3)
    assert v.table.rowCount() == 2 and v.table.item(1, 1).text() == "7"
    assert v.table.verticalHeaderItem(0).text() == "cat"
    assert "80.0%" in v.label.text()


def test_peak_decimate_keeps_extremes_and_the_newest_point():
    from widgets.plots import peak_decimate
    rng = np.random.default_rng(1)
    x = np.arange(10_007, dtype=np.float64)
    y = rng.normal(size=x.size)
    y[1234], y[8000] = 50.0, -40.0                     # spikes must survive
    dx, dy = peak_decimate(x, y, 2000)
    assert len(dx) <= 2002 and np.all(np.diff(dx) >= 0)
    assert dy.max() == 50.0 and dy.min() == -40.0
    assert dx[-1] == x[-1] and dy[-1] == y[-1]
    sx, sy = peak_decimate(x[:100], y[:100], 2000)    # short curves are untouched
    assert sx is not None and len(sx) == 100


def test_epoch_dots_only_while_few_epochs(qtbot):
    from widgets.plots import SYMBOL_LIMIT
    c = TrainingCurves(redraw_ms=10_000)
    qtbot.addWidget(c)
    c.start(started())
    for e in range(1, SYMBOL_LIMIT + 1):
        c.add_epoch(epoch_ev(e, 1.0 / e, 1.1 / e))
    c.redraw()
    assert c.items["loss"].opts["symbol"] == "o"
    c.add_epoch(epoch_ev(SYMBOL_LIMIT + 1, 0.01, 0.02))
    c.redraw()
    assert c.items["loss"].opts["symbol"] is None and npts(c.items["loss"]) == SYMBOL_LIMIT + 1
    c.start(started())                                  # a new run starts with dots again
    c.add_epoch(epoch_ev(1, 1.0, 1.0))
    c.redraw()
    assert c.items["loss"].opts["symbol"] == "o"


def test_one_paint_per_redraw_while_the_range_moves(qtbot):
    """The axes follow new data in the same paint (pyqtgraph would otherwise paint twice per update)."""
    from PySide6.QtCore import QEvent, QObject

    class Count(QObject):
        n = 0

        def eventFilter(self, obj, ev):
            if ev.type() == QEvent.Paint:
                Count.n += 1
            return False

    c = TrainingCurves(redraw_ms=10_000)
    qtbot.addWidget(c)
    c.resize(900, 300)
    c.show()
    qtbot.waitExposed(c)
    c.start(started(steps=10))
    counter = Count()
    c.loss_plot.viewport().installEventFilter(counter)
    step = 0
    for e in range(1, 31):
        c.add_batch(batch(step + 10, np.linspace(2.0 / e, 1.0 / e, 10), epoch=e))
        step += 10
        c.add_epoch(epoch_ev(e, 1.0 / e, 1.2 / e))
        c.redraw()
        for _ in range(5):
            qtbot.wait(5)
    assert 25 <= Count.n <= 35, Count.n
    # the view moves in steps, not on every frame: fewer new axis ticks to lay out
    assert 1 <= c.range_changes <= 15, c.range_changes


def test_the_epoch_axis_spans_the_planned_run_from_its_start(qtbot):
    from widgets.plots import PLANNED_PAD
    c = TrainingCurves(redraw_ms=10_000)
    qtbot.addWidget(c)
    c.resize(900, 300)
    c.show()
    qtbot.waitExposed(c)
    ev = TrainStarted(epochs=40, steps_per_epoch=10, n_train=100, n_val=20, n_params=10, loss="sparse_cce",
                      task="classification")
    c.start(ev)
    ranges, step = set(), 0
    for e in range(1, 41):
        c.add_batch(batch(step + 10, np.linspace(2.0 / e, 1.0 / e, 10), epoch=e))
        step += 10
        c.add_epoch(epoch_ev(e, 1.0 / e, 1.2 / e))
        c.redraw()
        for p in (c.loss_plot, c.metric_plot):
            ranges.add(tuple(round(v, 6) for v in p.getViewBox().viewRange()[0]))
    assert ranges == {(0.0, round(40 * PLANNED_PAD, 6))}
    # beyond the plan (a run resumed past it) the axis grows as before
    c.add_epoch(epoch_ev(60, 0.01, 0.02))
    c.redraw()
    assert c.loss_plot.getViewBox().viewRange()[0][1] >= 60


def test_sticky_range():
    from widgets.plots import sticky_range
    assert sticky_range((0, 10), (0, 7)) == (0, 10)                 # fits and fills more than half: kept
    assert sticky_range((0, 10), (0, 12), floor_zero=True) == (0, 20)
    assert sticky_range((0, 20), (0, 21), floor_zero=True) == (0, 25)
    assert sticky_range((0, 100), (1, 9)) == (0.0, 10.0)          # fills less than half: shrinks
    lo, hi = sticky_range((0, 1), (0.5, 0.5))
    assert lo < 0.5 < hi
    assert sticky_range((0, 1), (float("nan"), 1)) == (0, 1)
    # data from 0 keep 0 as the lower edge, also when symbol padding reaches a little below it
    assert sticky_range((0, 1), (-0.5, 200.7), floor_zero=True) == (0.0, 250.0)
    assert sticky_range((0, 0.1), (0.001, 1.0))[0] == 0.0


def test_the_users_zoom_is_kept_until_auto_range(qtbot):
    c = TrainingCurves(redraw_ms=10_000)
    qtbot.addWidget(c)
    c.start(started(steps=10))
    for e in range(1, 4):
        c.add_epoch(epoch_ev(e, 1.0 / e, 1.2 / e))
    c.redraw()
    vb = c.loss_plot.getViewBox()
    vb.setRange(xRange=(1.5, 2.5), padding=0)
    vb.sigRangeChangedManually.emit([True, True])     # what a mouse zoom emits
    c.add_epoch(epoch_ev(4, 0.1, 0.1))
    c.redraw()
    assert vb.viewRange()[0] == [1.5, 2.5]
    vb.enableAutoRange()                               # pyqtgraph's "A" button
    c.redraw()
    assert vb.viewRange()[0][1] >= 4


def test_boundary_points_share_one_brush_per_class(qtbot):
    """pyqtgraph renders one symbol per distinct brush object: 500 points of 2 classes must
    cost 2 renders, not 500 (issue 10: 0.5 s of GUI time on the first boundary frame)."""
    from widgets.decision_boundary import shared_brushes
    v = DecisionBoundaryView()
    qtbot.addWidget(v)
    rng = np.random.default_rng(0)
    probs = np.full((8, 8, 2), 0.5, np.float32)
    v.set_payload({"epoch": 1, "task": "classification", "x_range": (-1, 1), "y_range": (-1, 1),
                   "values": probs, "points": rng.normal(size=(500, 2)), "labels": rng.integers(0, 2, 500)})
    brushes = v.scatter.data["brush"]
    assert len(brushes) == 500 and len({id(b) for b in brushes}) == 2
    cont = shared_brushes(rng.integers(0, 256, size=(400, 3)), exact=False)
    assert len(cont) == 400 and len({id(b) for b in cont}) <= 33 ** 3
    assert shared_brushes(np.zeros((0, 3))) == []


def test_a_long_planned_run_keeps_its_epoch_axis_while_the_dots_are_drawn(qtbot):
    """A 3000-epoch run drew its first epochs with dots: their padding (a few pixels, tens of
    epochs at this scale) reached below zero and the axis left the planned run for 0-500, 0-1000..."""
    from widgets.plots import PLANNED_PAD
    c = TrainingCurves(redraw_ms=10_000)
    qtbot.addWidget(c)
    c.resize(600, 300)
    c.show()
    qtbot.waitExposed(c)
    ev = TrainStarted(epochs=3000, steps_per_epoch=4, n_train=64, n_val=16, n_params=10, loss="sparse_cce",
                      task="classification")
    c.start(ev)
    ranges, step = set(), 0
    for e in range(1, 301):
        c.add_batch(batch(step + 4, np.linspace(2.0 / e, 1.0 / e, 4), epoch=e))
        step += 4
        c.add_epoch(epoch_ev(e, 1.0 / e, 1.2 / e))
        if e % 10 == 0 or e < 5:
            c.redraw()
            for p in (c.loss_plot, c.metric_plot):
                ranges.add(tuple(round(v, 6) for v in p.getViewBox().viewRange()[0]))
    assert ranges == {(0.0, round(3000 * PLANNED_PAD, 6))}
