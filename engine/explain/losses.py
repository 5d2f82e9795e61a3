"""The loss a trained model was trained with, and its targets, as the trainer sets them up.

Mirrors :class:`engine.trainer.Trainer` (``auto`` loss choice, fused output
activation, targets shaped for the loss) without building an optimizer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.losses import Loss, default_loss_for, get_loss


@dataclass
class LossSetup:
    loss: Loss
    fused: bool         # run the model with logits=True
    from_logits: bool   # the loss reads logits
    task: str

    def targets(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        name = self.loss.name
        if self.task == "classification":
            yi = np.asarray(y).astype(np.int64)
            if name == "cce":
                return np.eye(pred.shape[-1], dtype=pred.dtype)[yi]
            if name in ("bce", "mse", "mae", "huber") and pred.ndim == 2 and pred.shape[1] == 1:
                return yi.reshape(-1, 1).astype(pred.dtype)
            if name in ("bce", "mse", "mae", "huber"):
                return np.eye(pred.shape[-1], dtype=pred.dtype)[yi]
            return yi
        y = np.asarray(y, dtype=pred.dtype)
        return y.reshape(pred.shape) if y.size == pred.size else y


def loss_setup(model, task: str | None, loss_name: str | None = None) -> LossSetup:
    act = model.output_activation
    n_out = int(np.prod(model.output_shape))
    if task is None:
        task = "classification" if act in ("softmax", "sigmoid") else "regression"
    if not loss_name or loss_name == "auto":
        loss_name = default_loss_for(act, n_out, task)
    loss = get_loss(loss_name)
    fused = loss.fuses is not None and act == loss.fuses
    from_logits = fused or (loss.fuses is not None and act is None)
    return LossSetup(loss, fused, from_logits, task)
