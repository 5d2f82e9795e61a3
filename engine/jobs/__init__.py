"""What a user does with a project, once, for the command line and the app alike.

Each job takes plain arguments (a graph, weights, a data description, settings) plus
optional ``progress(done, total_or_text)`` and ``cancel`` (a ``threading.Event``) and
returns plain data.  ``python main.py evaluate|predict|train`` and the app's controllers
are thin callers, so the two can never drift apart (issue 14): one split policy, one run
record, one way to turn a project into a trained model.  Nothing here imports Qt; the
texts are English and :mod:`engine.i18n` translates them.

* :mod:`engine.jobs.model`    -- a project's trained model (``trained_model``)
* :mod:`engine.jobs.evaluate` -- the evaluation split policy and the evaluation itself
* :mod:`engine.jobs.runs`     -- the record of a training run and the project after it
* :mod:`engine.jobs.progress` -- reading progress reports, and the time left (ETA)
"""
from engine.jobs.evaluate import choose_split, evaluate
from engine.jobs.model import JobError, check_input_shape, trained_model
from engine.jobs.progress import Clock, eta_seconds, progress_parts
from engine.jobs.runs import finish_run, run_name

__all__ = ["Clock", "JobError", "check_input_shape", "choose_split", "eta_seconds", "evaluate", "finish_run",
           "progress_parts", "run_name", "trained_model"]
