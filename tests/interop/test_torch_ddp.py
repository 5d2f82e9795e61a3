"""The generated train_ddp.py runs under torchrun and its output imports back into NN Studio."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from engine.export import export_model, import_weights
from engine.model import compile_graph
from tests.engine.test_export_models import build, sample_input

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.interop


def test_train_ddp_one_epoch_with_torchrun(tmp_path):
    model = build("dense")
    export_model(model, "pytorch", tmp_path / "out", {"task": "classification",
                                                      "class_names": ["a", "b", "c", "d"]})
    x = sample_input(model, n=24)
    y = np.random.default_rng(0).integers(0, 4, 24)
    np.savez(tmp_path / "tiny.npz", x=x, y=y)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MASTER_", "WORLD_SIZE", "RANK",
                                                                        "LOCAL_RANK"))}
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc_per_node=1",
           "train_ddp.py", "--data", str(tmp_path / "tiny.npz"), "--epochs", "1", "--batch-size", "8",
           "--lr", "0.01", "--out", str(tmp_path / "trained.npz")]
    res = subprocess.run(cmd, cwd=tmp_path / "out", env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    logs = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert logs and logs[0]["epoch"] == 1 and np.isfinite(logs[0]["loss"])
    # the trained weights (NN Studio layout + metadata) import back and differ from the start
    proj = import_weights(tmp_path / "trained.npz")
    trained = compile_graph(proj.graph)
    trained.load_state_dict(proj.weights)
    assert proj.metadata["class_names"] == ["a", "b", "c", "d"]
    assert not np.allclose(trained.predict(x), model.predict(x))


@pytest.mark.parametrize("cfg, cls, group", [
    ({"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True}, "SGD",
     {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ({"optimizer": "rmsprop", "lr": 0.01, "rho": 0.8}, "RMSprop", {"alpha": 0.8, "eps": 1e-7}),
    ({"optimizer": "adamw", "weight_decay": 0.1}, "AdamW", {"weight_decay": 0.1, "betas": (0.9, 0.999)}),
    ({"optimizer": "adam", "beta1": 0.8}, "Adam", {"betas": (0.8, 0.999), "eps": 1e-8}),
])
def test_train_ddp_builds_the_projects_optimizer(tmp_path, monkeypatch, cfg, cls, group):
    import importlib
    export_model(build("dense"), "pytorch", tmp_path / "out", {"task": "classification", "train_config": cfg})
    monkeypatch.syspath_prepend(str(tmp_path / "out"))
    for mod in ("train_ddp", "model"):
        sys.modules.pop(mod, None)
    script = importlib.import_module("train_ddp")
    opt = script.make_optimizer([torch.nn.Parameter(torch.zeros(2))], script.OPTIMIZER["lr"])
    assert type(opt).__name__ == cls
    for k, v in group.items():
        assert opt.param_groups[0][k] == pytest.approx(v), k
