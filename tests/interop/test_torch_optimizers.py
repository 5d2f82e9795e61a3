"""The optimizers as a TrainConfig sets them up (every hyperparameter of the form/CLI: beta1, beta2,
eps, rho, momentum, nesterov, weight decay) follow torch.optim step for step in float64."""
from __future__ import annotations

import numpy as np
import pytest

from engine.optimizers import make_optimizer
from engine.trainer import TrainConfig, optimizer_kwargs

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.interop

CASES = [
    ("sgd", {"lr": 0.05, "momentum": 0.8}, lambda p, c: torch.optim.SGD(p, lr=c.lr, momentum=c.momentum)),
    ("sgd", {"lr": 0.05, "momentum": 0.7, "nesterov": True},
     lambda p, c: torch.optim.SGD(p, lr=c.lr, momentum=c.momentum, nesterov=True)),
    ("rmsprop", {"lr": 0.01, "rho": 0.8, "rmsprop_eps": 1e-4},
     lambda p, c: torch.optim.RMSprop(p, lr=c.lr, alpha=c.rho, eps=c.rmsprop_eps)),
    ("rmsprop", {"lr": 0.01, "rho": 0.95, "rmsprop_eps": 1e-6, "momentum": 0.5},
     lambda p, c: torch.optim.RMSprop(p, lr=c.lr, alpha=c.rho, eps=c.rmsprop_eps, momentum=c.momentum)),
    ("adam", {"lr": 0.02, "beta1": 0.8, "beta2": 0.99, "eps": 1e-5},
     lambda p, c: torch.optim.Adam(p, lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps)),
    ("adam", {"lr": 0.02}, lambda p, c: torch.optim.Adam(p, lr=c.lr)),  # the defaults are torch's
    ("adamw", {"lr": 0.02, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3, "weight_decay": 0.2},
     lambda p, c: torch.optim.AdamW(p, lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps,
                                    weight_decay=c.weight_decay)),
]


def grads_of(params: dict[str, np.ndarray], a: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Gradient of sum(a * w^2 / 2 + sin(w)): depends on the weights, so trajectories must agree."""
    return {k: a[k] * w + np.cos(w) for k, w in params.items()}


@pytest.mark.parametrize("name,settings,make_torch", CASES,
                         ids=[f"{n}-{'-'.join(map(str, s.values()))}" for n, s, _ in CASES])
def test_trainconfig_optimizers_match_torch_in_float64(name, settings, make_torch):
    cfg = TrainConfig(optimizer=name, **settings)
    ours = make_optimizer(cfg.optimizer, **optimizer_kwargs(cfg))
    rng = np.random.default_rng(3)
    params = {"d/kernel": rng.standard_normal((4, 3)), "d/bias": rng.standard_normal(3)}
    a = {k: rng.uniform(0.5, 3.0, v.shape) for k, v in params.items()}
    tparams = {k: torch.tensor(v.copy(), dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    topt = make_torch(list(tparams.values()), cfg)
    for _ in range(25):
        g = grads_of(params, a)
        ours.step(params, g)
        for k, t in tparams.items():
            t.grad = torch.tensor(a[k] * t.detach().numpy() + np.cos(t.detach().numpy()), dtype=torch.float64)
        topt.step()
    for k, t in tparams.items():
        np.testing.assert_allclose(params[k], t.detach().numpy(), rtol=1e-12, atol=1e-13, err_msg=k)


def test_defaults_keep_the_optimizers_own_defaults():
    """Adding the fields changed nothing for existing projects: the defaults are the optimizers' own."""
    from engine.optimizers import optimizer_options
    d = TrainConfig()
    for name in ("sgd", "rmsprop", "adam", "adamw"):
        own = optimizer_options(name)
        for k, v in optimizer_kwargs(TrainConfig(optimizer=name)).items():
            if k != "lr":
                assert v == own[k], (name, k)
    assert (d.beta1, d.beta2, d.eps, d.rho, d.rmsprop_eps) == (0.9, 0.999, 1e-8, 0.9, 1e-7)
