"""See inside a network: the analysis table, activations, saliency and feature importance.

Qt-free; the CLI (``app/explain_cli.py``) and the Analyze panel (``app/explain_ui.py``)
both call these functions.  See ``docs/explain.md``.
"""
from engine.explain.activations import attention_weights, sample_activations, unit_maps
from engine.explain.analyze import analyze, layer_macs
from engine.explain.importance import feature_groups, permutation_importance
from engine.explain.saliency import make_baseline, saliency
from engine.explain.trace import ExplainCancelled, ExplainError, output_values

__all__ = ["analyze", "layer_macs", "sample_activations", "attention_weights", "unit_maps", "saliency",
           "make_baseline", "permutation_importance", "feature_groups", "output_values", "ExplainError",
           "ExplainCancelled"]
