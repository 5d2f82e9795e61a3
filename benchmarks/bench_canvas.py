"""The canvas on large graphs (issue #18): GUI-thread CPU of a real ``MainWindow`` (offscreen).

    python benchmarks/bench_canvas.py [--quick] [--markdown] [--json out.json]

* ``open``: opening a saved project of 1 000 / 10 000 / 20 000 nodes (``big_graph(n)`` from
  ``tests/engine/scale_graphs.py`` laid out with ``engine.graph_layout.layered_layout``) with
  *File > Open* (``ProjectController.open_project``) until the window has painted; beside it,
  ``headless``: reading the file and ``analyse`` alone in the same process (what no canvas can
  avoid).
* ``edit``: one setting changed on the 1 000-node graph through the property editor's path
  (``GraphController.set_config``: undo step, analysis, canvas, status) and the repaint.
* ``frames``: the 20 000-node graph scrolled at *Zoom to fit* and at 100 %: CPU per repaint of
  the canvas (the mean of 8 frames, scrolled by a sixth of the view between them); and a worst case, the same nodes on a 100-wide grid zoomed out to 10 % (~4 000
  nodes in view); ``zoom_step``: CPU per wheel step zooming in from 10 % to 40 % (every node in
  view is drawn again at its new size).

Every point runs in a fresh process; GUI time is ``time.thread_time()`` of the GUI thread
(less sensitive to other work on a shared machine than wall time, which is also given); the
load average (1 min) at the start of each point is recorded.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_scale import _run, markdown  # _run: a fresh interpreter per point

_PRELUDE = """
    import os, tempfile
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["NNSTUDIO_LANG"] = "en"
    os.environ["NNSTUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="nnstudio-bench-canvas-")
    from PySide6.QtWidgets import QApplication
    from PySide6.QtGui import QTransform
    qapp = QApplication.instance() or QApplication([])
    from app.main_window import MainWindow
    from engine.compile import analyse
    from engine.graph_layout import layered_layout
    from engine.io import Project, demo_project, load_project, save_project
    from tests.engine.scale_graphs import big_graph

    def window():
        w = MainWindow(demo_project())
        w.project.maybe_save = lambda *a, **k: True
        w.resize(1400, 900)
        w.show()
        qapp.processEvents()
        return w

    def painted(w):
        for _ in range(3):
            qapp.processEvents()
        w.view.viewport().repaint()

    def timed(fn):
        t, c = time.perf_counter(), time.thread_time()
        fn()
        return round(time.perf_counter() - t, 3), round(time.thread_time() - c, 3)

    def project_file(n, grid=False):
        g = big_graph(n, seed=1)
        pos = ({nd.id: ((i % 100) * 230.0, (i // 100) * 110.0) for i, nd in enumerate(g.nodes)} if grid
               else layered_layout(g))
        g = g.move_nodes(pos)
        path = os.path.join(os.environ["NNSTUDIO_DATA_DIR"], f"big{n}.nnsp")
        save_project(path, Project(graph=g))
        return g, path
"""


def bench_open(quick: bool) -> list[dict]:
    rows = []
    for n in ([1000, 5000] if quick else [1000, 10000, 20000]):
        rows.append(_run(_PRELUDE + f"""
    g, path = project_file({n})
    w = window()
    analyse(big_graph(50, seed=2))   # first-use caches outside the timing
    hwall, hcpu = timed(lambda: analyse(load_project(path).graph))
    wall, cpu = timed(lambda: (w.project.open_project(path), painted(w)))
    sc = w.view.graph_scene
    assert len(sc.nodes) == {n}
    out = dict(target="open", nodes={n}, edges=len(g.edges), items=len(sc.items()), gui_cpu_s=cpu, wall_s=wall,
               headless_cpu_s=hcpu)
    if {n} == 1000:
        nid = next(x.id for x in g.nodes if x.type == "Dense.v1")
        act = "tanh" if g.node(nid).config.get("activation") != "tanh" else "relu"
        ewall, ecpu = timed(lambda: (w.graph.set_config(nid, "activation", act), painted(w)))
        out.update(edit_gui_cpu_ms=round(1000 * ecpu, 1), edit_wall_ms=round(1000 * ewall, 1),
                   edit_nodes_refreshed=getattr(sc, "stats", {{}}).get("nodes_refreshed", ""))
    w.project.timer.stop()
    print(json.dumps(out))
"""))
    return rows


def bench_frames(quick: bool) -> list[dict]:
    n = 5000 if quick else 20000
    rows = []
    for grid, zooms in ((False, ("fit", 1.0)), (True, (0.1, 0.39, 1.0))):
        rows.append(_run(_PRELUDE + f"""
    g, path = project_file({n}, grid={grid})
    w = window()
    w.project.open_project(path)
    painted(w)
    v = w.view
    out = dict(target="frames", nodes={n}, layout="100-wide grid" if {grid} else "layered")
    for z in {zooms!r}:
        if z == "fit":
            v.zoom_to_fit()
        else:
            v.set_view_transform(QTransform.fromScale(z, z))
        c = v.graph_scene.nodes_rect().center()   # the middle of the graph
        v.centerOn(c)
        painted(w)
        def scroll():
            for k in range(8):   # scroll down by a sixth of the view between frames
                v.centerOn(c.x(), c.y() + (k + 1) * v.viewport().height() / 6 / v.zoom())
                v.viewport().repaint()
        frame_cpu = timed(scroll)[1] / 8
        key = "fit" if z == "fit" else f"{{int(round(z * 100))}}%"
        out[f"zoom_{{key}}"] = round(v.zoom(), 2)
        out[f"items_in_view_{{key}}"] = len(v.items(v.viewport().rect()))
        out[f"frame_cpu_ms_{{key}}"] = round(1000 * frame_cpu, 1)
    # zooming in with the wheel from 10 % to 40 % (each step repaints every node in view at a new size)
    v.set_view_transform(QTransform.fromScale(0.1, 0.1))
    v.centerOn(v.graph_scene.nodes_rect().center())
    painted(w)
    def zoom_in():
        for _ in range(10):
            v.zoom_by(1.15)
            v.viewport().repaint()
    out["zoom_step_cpu_ms"] = round(1000 * timed(zoom_in)[1] / 10, 1)
    w.project.timer.stop()
    print(json.dumps(out))
"""))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="open,frames")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke test of this script)")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    rows: list[dict] = []
    for name in args.only.split(","):
        for r in {"open": bench_open, "frames": bench_frames}[name](args.quick):
            print(json.dumps(r), flush=True)
            rows.append(r)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.markdown:
        print(markdown(rows, ("open", "frames")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
