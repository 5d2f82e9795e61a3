"""Training throughput of the NN Studio engine against PyTorch CPU, in one run.

    python benchmarks/bench_engine.py [--only W1,W2] [--threads 2] [--epochs 1] [--repeat 3] [--memory] [--json out.json]

Same data, same model, same batch size, same optimizer and the same number of
threads for both (BLAS threads for NumPy via threadpoolctl, torch.set_num_threads
for PyTorch).  Each workload first runs one warm-up epoch (JIT compilation and
allocator warm-up), then times ``--epochs`` full epochs; with ``--repeat N`` it
does that N times and reports the best (the machine may be shared, and
interference only ever makes a run slower).  Prints one JSON line
per workload; ``--markdown`` prints the table rows used in BENCHMARKS.md.

Workloads (issue: engine core; W4/W5 from the convolution/recurrent issue):
  W1  MLP 2-8-8-1 tanh, sigmoid+BCE, 1000 2-D spiral points, batch 10, SGD
  W2  MLP 30-64-64-2 ReLU, softmax CE, 5000 rows, batch 32, Adam
  W3  MLP 784-256-128-10 ReLU, softmax CE, 60000 rows, batch 128, Adam
  W4  CNN Conv(32,3x3)-ReLU-MaxPool2-Conv(64,3x3)-ReLU-MaxPool2-Flatten-Dense128-ReLU-Dense10, 10000 28x28x1, batch 64, Adam
  W5  LSTM(16->64) over length-50 sequences, last state -> Dense(10), 5000 sequences, batch 32, Adam
  W6  GRU(16->64), otherwise as W5 (PyTorch's GRU form: linear_before_reset on)
  W7  2 transformer encoder blocks on length-64 sequences of 64 features (post-norm as PyTorch's
      nn.TransformerEncoderLayer(64, nhead=4, dim_feedforward=128, dropout=0, batch_first=True):
      x + MHA(x) -> LayerNorm -> + Dense128-ReLU-Dense64 -> LayerNorm), mean over positions
      -> Dense10, 1024 sequences, batch 32, Adam
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.spec import GraphSpec, sequential  # noqa: E402
from engine.trainer import BatchEnded, EpochEnded, TrainConfig, Trainer  # noqa: E402


class Arrays:
    """The smallest dataset the trainer accepts: everything is training data."""

    def __init__(self, x, y, task):
        self.x, self.y, self.task = x, y, task
        self.input_shape = x.shape[1:]
        self.n_outputs = int(y.max()) + 1 if task == "classification" else y.shape[1]
        self.class_names = None

    def n(self, split):
        return len(self.x) if split == "train" else 0

    def get_batch(self, split, idx):
        return self.x[idx], self.y[idx]


def spirals(n, rng):
    t = np.sqrt(rng.uniform(0, 1, n // 2)) * 3 * np.pi
    a = np.stack([t * np.cos(t), t * np.sin(t)], 1) / 10
    x = np.concatenate([a, -a]) + 0.05 * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n // 2), np.ones(n // 2)]).astype(np.int64)
    return x.astype(np.float32), y


def workloads(rng):
    x1, y1 = spirals(1000, rng)
    x2 = rng.standard_normal((5000, 30)).astype(np.float32)
    y2 = (x2[:, :5].sum(1) > 0).astype(np.int64)
    x3 = rng.standard_normal((60000, 784)).astype(np.float32)
    y3 = rng.integers(0, 10, 60000).astype(np.int64)
    x4 = rng.standard_normal((10000, 28, 28, 1)).astype(np.float32)
    y4 = rng.integers(0, 10, 10000).astype(np.int64)
    x5 = rng.standard_normal((5000, 50, 16)).astype(np.float32)
    y5 = rng.integers(0, 10, 5000).astype(np.int64)
    x7 = rng.standard_normal((1024, 64, 64)).astype(np.float32)
    y7 = rng.integers(0, 10, 1024).astype(np.int64)
    D = "Dense.v1"
    return {
        "W1": dict(x=x1, y=y1, batch=10, opt="sgd", lr=0.1, loss="bce", layers=[
            ("Input.v1", {"shape": [2]}), (D, {"units": 8, "activation": "tanh"}),
            (D, {"units": 8, "activation": "tanh"}), (D, {"units": 1, "activation": "sigmoid"})]),
        "W2": dict(x=x2, y=y2, batch=32, opt="adam", lr=1e-3, loss="sparse_cce", layers=[
            ("Input.v1", {"shape": [30]}), (D, {"units": 64, "activation": "relu"}),
            (D, {"units": 64, "activation": "relu"}), (D, {"units": 2, "activation": "softmax"})]),
        "W3": dict(x=x3, y=y3, batch=128, opt="adam", lr=1e-3, loss="sparse_cce", layers=[
            ("Input.v1", {"shape": [784]}), (D, {"units": 256, "activation": "relu"}),
            (D, {"units": 128, "activation": "relu"}), (D, {"units": 10, "activation": "softmax"})]),
        "W4": dict(x=x4, y=y4, batch=64, opt="adam", lr=1e-3, loss="sparse_cce", layers=[
            ("Input.v1", {"shape": [28, 28, 1]}),
            ("Conv2D.v1", {"filters": 32, "kernel_size": 3, "activation": "relu"}), ("MaxPool2D.v1", {"pool_size": 2}),
            ("Conv2D.v1", {"filters": 64, "kernel_size": 3, "activation": "relu"}), ("MaxPool2D.v1", {"pool_size": 2}),
            ("Flatten.v1", {}), (D, {"units": 128, "activation": "relu"}), (D, {"units": 10, "activation": "softmax"})]),
        "W5": dict(x=x5, y=y5, batch=32, opt="adam", lr=1e-3, loss="sparse_cce", layers=[
            ("Input.v1", {"shape": [50, 16]}), ("LSTM.v1", {"units": 64}),
            (D, {"units": 10, "activation": "softmax"})]),
        "W6": dict(x=x5, y=y5, batch=32, opt="adam", lr=1e-3, loss="sparse_cce", layers=[
            ("Input.v1", {"shape": [50, 16]}), ("GRU.v1", {"units": 64}),
            (D, {"units": 10, "activation": "softmax"})]),
        "W7": dict(x=x7, y=y7, batch=32, opt="adam", lr=1e-3, loss="sparse_cce", layers=None,
                   graph=encoder_graph, torch_model=torch_encoder,
                   shape=dict(length=64, dim=64, heads=4, ff=128, blocks=2, classes=10)),
    }


def encoder_graph(length, dim, heads, ff, blocks, classes):
    """W7 in our layers: post-norm encoder blocks (residual Adds), mean over positions, Dense."""
    spec, x = GraphSpec().add_node("Input.v1", {"shape": [length, dim]})
    y = 0.0

    def add(spec, type_id, cfg, *srcs):
        nonlocal y
        y += 90.0
        spec, nid = spec.add_node(type_id, cfg, pos=(0.0, y))
        for port, src in enumerate(srcs):
            spec = spec.connect(src, nid, port)
        return spec, nid

    for _ in range(blocks):
        spec, a = add(spec, "MultiHeadAttention.v1", {"num_heads": heads}, x)
        spec, r = add(spec, "Add.v1", {}, x, a)
        spec, n1 = add(spec, "LayerNorm.v1", {"epsilon": 1e-5}, r)
        spec, f1 = add(spec, "Dense.v1", {"units": ff, "activation": "relu", "last_axis": True}, n1)
        spec, f2 = add(spec, "Dense.v1", {"units": dim, "last_axis": True}, f1)
        spec, r2 = add(spec, "Add.v1", {}, n1, f2)
        spec, x = add(spec, "LayerNorm.v1", {"epsilon": 1e-5}, r2)
    spec, p = add(spec, "GlobalAvgPool.v1", {}, x)
    spec, _ = add(spec, "Dense.v1", {"units": classes, "activation": "softmax"}, p)
    return spec


def torch_encoder(length, dim, heads, ff, blocks, classes):
    from torch import nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([
                nn.TransformerEncoderLayer(dim, heads, dim_feedforward=ff, dropout=0.0, batch_first=True)
                for _ in range(blocks)])
            self.head = nn.Linear(dim, classes)

        def forward(self, x):
            for b in self.blocks:
                x = b(x)
            return self.head(x.mean(dim=1))

    return Encoder()


# ------------------------------------------------------------------ our engine
def build_graph(w):
    return w["graph"](**w["shape"]) if w.get("graph") else sequential(w["layers"])


def run_engine(w, epochs, repeat=1, memory=False):
    """Returns (samples/s, first epoch seconds, memory dict or None).

    With ``memory``, one more (untimed) epoch runs under ``tracemalloc``: NumPy
    reports its array allocations to it, so the peak is the most memory the
    training steps of one epoch held at once on top of what existed before
    (weights, optimizer slots and the data set are not counted).  The trainer's
    end-of-epoch evaluation pass is excluded (tracing stops at the epoch's last
    BatchEnded, which comes before it with ``report_interval=3600``).
    """
    import tracemalloc
    ds = Arrays(w["x"], w["y"], "classification")
    cfg = TrainConfig(epochs=epochs * repeat + 1 + int(memory), batch_size=w["batch"], optimizer=w["opt"],
                      lr=w["lr"], loss=w["loss"], seed=0, report_interval=3600)
    trainer = Trainer(build_graph(w), ds, cfg)
    # the per-epoch evaluation pass is not training throughput: time the epochs' own seconds
    secs = []
    t_first = None
    mem = None
    n_timed = epochs * repeat
    t0 = time.perf_counter()
    for ev in trainer.run():
        if isinstance(ev, EpochEnded):
            if t_first is None:
                t_first = time.perf_counter() - t0
            elif len(secs) < n_timed:
                secs.append(ev.seconds)
            if memory and len(secs) == n_timed and mem is None:
                mem = {}
                tracemalloc.start()
        elif memory and mem == {} and isinstance(ev, BatchEnded) and tracemalloc.is_tracing():
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            mem = {"epoch_peak_numpy_mb": round(peak / 2 ** 20, 1)}
    if tracemalloc.is_tracing():
        tracemalloc.stop()
    best = min(sum(secs[i:i + epochs]) for i in range(0, len(secs), epochs))
    return len(w["x"]) * epochs / best, t_first, mem


def first_epoch_seconds(name, cache_dir, epochs_small=True):
    """Seconds of the first epoch (compile included) in a fresh process with the given Numba cache dir."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r});"
            "import numpy as np, time, json;"
            "from benchmarks.bench_engine import workloads, Arrays;"
            "from benchmarks.bench_engine import build_graph;"
            "from engine.trainer import Trainer, TrainConfig, EpochEnded;"
            f"w = workloads(np.random.default_rng(0))[{name!r}];"
            "n = min(len(w['x']), 2000);"
            "ds = Arrays(w['x'][:n], w['y'][:n], 'classification');"
            "t0 = time.perf_counter();"
            "tr = Trainer(build_graph(w), ds, TrainConfig(epochs=1, batch_size=w['batch'], optimizer=w['opt'], lr=w['lr'], loss=w['loss']));"
            "[None for ev in tr.run()];"
            "print(json.dumps(time.perf_counter() - t0))")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- PyTorch
def run_torch(w, epochs, threads, repeat=1):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if w.get("torch_model"):
        model = w["torch_model"](**w["shape"])
    else:
        model = torch_sequential(w)
    return _torch_train(w, model, epochs, repeat)


def torch_sequential(w):
    from torch import nn

    mods = []
    shape = None
    for t, cfg in w["layers"]:
        kind = t.split(".")[0]
        if kind == "Input":
            shape = list(cfg["shape"])
            if len(shape) == 3:  # NHWC data -> NCHW for torch convs
                mods.append(Permute((0, 3, 1, 2)))
                shape = [shape[2], shape[0], shape[1]]
        elif kind == "Dense":
            mods.append(nn.Linear(shape[-1], cfg["units"]))
            shape = [cfg["units"]]
            act = cfg.get("activation", "linear")
            if act in ("relu", "tanh"):
                mods.append(nn.ReLU() if act == "relu" else nn.Tanh())
        elif kind == "Conv2D":
            mods.append(nn.Conv2d(shape[0], cfg["filters"], cfg["kernel_size"]))
            k = cfg["kernel_size"]
            shape = [cfg["filters"], shape[1] - k + 1, shape[2] - k + 1]
            mods.append(nn.ReLU())
        elif kind == "MaxPool2D":
            mods.append(nn.MaxPool2d(cfg["pool_size"]))
            shape = [shape[0], shape[1] // 2, shape[2] // 2]
        elif kind == "Flatten":
            mods.append(nn.Flatten())
            shape = [int(np.prod(shape))]
        elif kind in ("LSTM", "GRU"):
            mods.append(LastLSTM(shape[-1], cfg["units"], kind))
            shape = [cfg["units"]]
    return nn.Sequential(*mods)


def _torch_train(w, model, epochs, repeat):
    import torch
    from torch import nn

    if w["loss"] == "bce":
        loss_fn = nn.BCEWithLogitsLoss()
        y_all = torch.from_numpy(w["y"].astype(np.float32)).reshape(-1, 1)
    else:
        loss_fn = nn.CrossEntropyLoss()
        y_all = torch.from_numpy(w["y"])
    x_all = torch.from_numpy(w["x"])
    opt = (torch.optim.SGD if w["opt"] == "sgd" else torch.optim.Adam)(model.parameters(), lr=w["lr"])
    n, bs = len(x_all), w["batch"]
    g = torch.Generator().manual_seed(0)

    def epoch():
        perm = torch.randperm(n, generator=g)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            xb, yb = x_all[idx], y_all[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()

    t0 = time.perf_counter()
    epoch()
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(epochs):
            epoch()
        best = min(best, time.perf_counter() - t0)
    return n * epochs / best, first


def _torch_helpers():
    from torch import nn

    class Permute(nn.Module):
        def __init__(self, dims):
            super().__init__()
            self.dims = dims

        def forward(self, x):
            return x.permute(*self.dims)

    class LastLSTM(nn.Module):
        """The last output step of an LSTM (or GRU), as our layer without return_sequences."""

        def __init__(self, n_in, units, kind="LSTM"):
            super().__init__()
            self.lstm = (nn.LSTM if kind == "LSTM" else nn.GRU)(n_in, units, batch_first=True)

        def forward(self, x):
            return self.lstm(x)[0][:, -1]

    return Permute, LastLSTM


def peak_rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="W1,W2,W3,W4,W5,W6,W7")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="time the epochs N times and report the best")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--compile-times", action="store_true", help="also measure first-epoch time with cold and warm Numba cache")
    ap.add_argument("--json", help="append results to this JSON-lines file")
    ap.add_argument("--memory", action="store_true",
                    help="run one more epoch of ours under tracemalloc and report its peak (epoch_peak_numpy_mb)")
    ap.add_argument("--markdown", action="store_true", help="also print table rows (workload, ours, torch, ratio)")
    ap.add_argument("--engine-blas-threads", type=int, default=None,
                    help="BLAS threads while our engine trains (default: --threads). With 1, the "
                         "convolution and recurrent kernels still split their work over --threads "
                         "threads; PyTorch always gets --threads")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    # our row-split kernels (engine/kernels/threads.py) get the same thread budget as BLAS and torch
    os.environ["NNSTUDIO_KERNEL_THREADS"] = str(args.threads)

    global Permute, LastLSTM
    have_torch = False
    if not args.no_torch:
        try:
            import torch
            Permute, LastLSTM = _torch_helpers()
            have_torch = True
        except ImportError:
            print("torch not installed: engine numbers only (pip install -e .[bench])", file=sys.stderr)
    rng = np.random.default_rng(0)
    ws = workloads(rng)
    results = []
    with threadpool_limits(limits=args.threads):
        for name in args.only.split(","):
            w = ws[name]
            try:
                if args.engine_blas_threads:
                    with threadpool_limits(limits=args.engine_blas_threads, user_api="blas"):
                        ours, ours_first, mem = run_engine(w, args.epochs, args.repeat, memory=args.memory)
                else:
                    ours, ours_first, mem = run_engine(w, args.epochs, args.repeat, memory=args.memory)
            except Exception as exc:  # a layer family not available yet
                print(json.dumps({"workload": name, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
                continue
            row = {"workload": name, "engine_samples_per_s": round(ours, 1),
                   "engine_first_epoch_s": round(ours_first, 3), "threads": args.threads,
                   "epochs": args.epochs, "repeat": args.repeat,
                   # what BLAS had in our runs: one for models with convolutions (blas_for_run), unless asked
                   "engine_blas_threads": args.engine_blas_threads or (
                       1 if any(l[0].startswith("Conv") for l in (w.get("layers") or [])) else args.threads),
                   "peak_rss_mb": round(peak_rss_mb(), 1)}
            if mem:
                row.update(mem)
            if have_torch:
                theirs, theirs_first = run_torch(w, args.epochs, args.threads, args.repeat)
                row.update(torch_samples_per_s=round(theirs, 1), ratio=round(ours / theirs, 2))
            if args.compile_times:
                import tempfile
                with tempfile.TemporaryDirectory() as d:
                    row["first_epoch_cold_cache_s"] = round(first_epoch_seconds(name, d), 3)
                    row["first_epoch_warm_cache_s"] = round(first_epoch_seconds(name, d), 3)
            results.append(row)
            print(json.dumps(row), flush=True)
    meta = {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
            "cpus": os.cpu_count()}
    try:
        import numba
        meta["numba"] = numba.__version__
    except ImportError:
        pass
    if have_torch:
        import torch
        meta["torch"] = torch.__version__
    print(json.dumps({"meta": meta}), flush=True)
    if args.markdown:
        print("| workload | ours (samples/s) | PyTorch (samples/s) | ratio |")
        print("|---|---:|---:|---:|")
        for r in results:
            theirs = r.get("torch_samples_per_s")
            t_txt = "-" if theirs is None else f"{theirs:,.0f}"
            ratio = "-" if theirs is None else f"{r['ratio']:.2f}x"
            print(f"| {r['workload']} | {r['engine_samples_per_s']:,.0f} | {t_txt} | {ratio} |")
    if args.json:
        with open(args.json, "a", encoding="utf-8") as fh:
            for r in results:
                fh.write(json.dumps({**r, **meta}) + "\n")


if __name__ == "__main__":
    main()
