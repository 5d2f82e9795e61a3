"""Messages users meet while training and evaluating come out in Chinese, values untouched."""
import numpy as np
import pytest

from engine import i18n
from engine.evaluate import EvaluateError, evaluate_arrays
from engine.losses import LossError, get_loss


def _zh(exc) -> str:
    return i18n.message(exc, "zh_CN")


def test_loss_errors_about_targets_are_translated():
    loss = get_loss("sparse_cce")
    pred = np.zeros((4, 3))
    with pytest.raises(LossError) as e:
        loss.value(pred, np.array([0, 1, 2, 7]))
    zh = _zh(e.value)
    assert "7" in zh and "3" in zh and "类别" in zh, (str(e.value), zh)


def test_evaluate_errors_are_translated():
    from engine.io import demo_project
    from engine.model import compile_graph
    model = compile_graph(demo_project().graph)
    x = np.zeros((5, 2), dtype=np.float32)
    with pytest.raises(EvaluateError) as e:
        evaluate_arrays(model, x, np.zeros(4, dtype=np.int64), task="classification")
    assert _zh(e.value) == "5 个样本却有 4 个目标值", (str(e.value), _zh(e.value))


@pytest.mark.parametrize("english, chinese", [
    ("paused at epoch 3, batch 7", "已在第 3 轮第 7 批暂停"),
    ("compiling kernels for the first step…", "正在为第一步编译计算内核…"),
    ("resumed with the learning rate halved (x0.5 of the schedule)", "已继续训练，学习率减半（为调度值的 x0.5）"),
])
def test_trainer_status_texts_are_translated(english, chinese):
    assert i18n.translate(english, "zh_CN") == chinese


def test_divergence_message_is_translated():
    from engine.trainer import Trainer
    msg = Trainer._divergence_message.__get__(type("T", (), {"CHECKPOINT_EVERY": 20, "optimizer":
                                                         type("O", (), {"lr": 0.1})()})())(2, 4, pausing=True)
    zh = i18n.translate(msg, "zh_CN")
    assert zh.startswith("训练在第 2 轮第 5 批发散") and "0.1 -> 0.05" in zh and "20" in zh, zh
    plain = Trainer._divergence_message.__get__(type("T", (), {"CHECKPOINT_EVERY": 20, "optimizer":
                                                           type("O", (), {"lr": 0.1})()})())(2, 4)
    assert "学习率" in i18n.translate(plain, "zh_CN")
