"""Qt wiring of NN Studio: application start-up, main window, document, commands, controllers."""
import os

# Qt's raster engine hands every large fill (96 or more spans: a plot's background, a tab's frame)
# to a thread pool of its own and waits for it.  While a training run keeps both cores busy those
# pool threads wait for a core, and the window waits for them; they also take the core from the
# trainer.  With this set (read once, when Qt first paints) the fills stay on the GUI thread.
# Measured on P3 (benchmarks/bench_gui.py, docs/training.md).  NNSTUDIO_QT_PAINT_THREADS=1 keeps
# Qt's pool.
if not os.environ.get("NNSTUDIO_QT_PAINT_THREADS"):
    os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
