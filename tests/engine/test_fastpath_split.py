"""The fused MLP step's products split in row blocks over two threads (engine.fastpath, SPLIT_*): same
bits as one block, taken only when asked for (NNSTUDIO_FAST_SPLIT=1), for big layers and only while the
run holds BLAS to one thread."""
import numpy as np
import pytest

from engine import fastpath
from engine.spec import sequential
from engine.trainer import EpochEnded, TrainConfig, Trainer, TrainFinished
from tests.engine.fakes import ArrayDataset


def _w3_like(seed=0, n=640):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 196), dtype=np.float32)
    y = rng.integers(0, 10, n)
    graph = sequential([("Input.v1", {"shape": [196]}), ("Dense.v1", {"units": 256, "activation": "relu"}),
                        ("Dense.v1", {"units": 128, "activation": "relu"}),
                        ("Dense.v1", {"units": 10, "activation": "softmax"})])
    return graph, ArrayDataset(x, y)


def _train(monkeypatch, blocks, min_macs=1_000_000):
    monkeypatch.setattr(fastpath, "SPLIT_BLOCKS", blocks)
    monkeypatch.setattr(fastpath, "SPLIT_MIN_MACS", min_macs)
    graph, ds = _w3_like()
    trainer = Trainer(graph, ds, TrainConfig(epochs=2, batch_size=128, optimizer="adam", lr=1e-3, seed=3))
    seen = []
    real = fastpath.FastMLPStep._mm

    def spy(self, a, b, out):
        seen.append(self.split)
        return real(self, a, b, out)

    monkeypatch.setattr(fastpath.FastMLPStep, "_mm", spy)
    events = list(trainer.run())
    assert trainer.fast_step is not None and trainer.fast_step.split is False   # reset after the run
    fin = next(e for e in events if isinstance(e, TrainFinished))
    losses = [e.logs["loss"] for e in events if isinstance(e, EpochEnded)]
    return fin.state, losses, seen


def test_split_products_give_the_bits_of_one_block(monkeypatch):
    monkeypatch.setenv("NNSTUDIO_KERNEL_THREADS", "2")
    monkeypatch.setenv("NNSTUDIO_FAST_SPLIT", "1")
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(v, raising=False)
    one, l1, seen1 = _train(monkeypatch, 1)
    four, l4, seen4 = _train(monkeypatch, 4)
    assert all(seen1) and all(seen4)          # the run held BLAS to one thread and split
    assert l1 == l4
    for k in one:
        np.testing.assert_array_equal(one[k], four[k])


@pytest.mark.parametrize("threads,min_macs", [("1", 1_000_000), ("2", 10**12)])
def test_no_split_on_one_thread_or_for_small_layers(monkeypatch, threads, min_macs):
    monkeypatch.setenv("NNSTUDIO_KERNEL_THREADS", threads)
    monkeypatch.setenv("NNSTUDIO_FAST_SPLIT", "1")
    _, _, seen = _train(monkeypatch, 4, min_macs)
    assert seen and not any(seen)


@pytest.mark.parametrize("value", [None, "0", "yes"])
def test_the_split_is_off_unless_asked_for(monkeypatch, value):
    monkeypatch.setenv("NNSTUDIO_KERNEL_THREADS", "2")
    if value is None:
        monkeypatch.delenv("NNSTUDIO_FAST_SPLIT", raising=False)
    else:
        monkeypatch.setenv("NNSTUDIO_FAST_SPLIT", value)
    _, _, seen = _train(monkeypatch, 4)
    assert seen and not any(seen)
