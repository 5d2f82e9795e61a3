"""Growth curves for issue #18 (Scale): three sizes per target, each in a fresh process.

    python benchmarks/bench_scale.py [--only analyse,csv,wide,deep,init] [--quick] [--markdown] [--json out.json]

* ``analyse``: ``engine.compile.analyse`` of generated graphs of 1 000 / 10 000 / 20 000 nodes
  (``tests/engine/scale_graphs.py``), and one canvas edit (a setting changed) re-analysed on
  the 1 000-node graph.
* ``csv``: loading a numeric CSV (12 columns: 11 features and a class) of 100 000 / 500 000 /
  2 000 000 rows with ``load_dataset``: wall and CPU time, peak RSS of the process and its
  ratio to the file size, and the preview of the largest file.
* ``wide``: preview and load of a 100-row CSV of 5 000 / 10 000 / 20 000 columns.
* ``deep``: the first training epoch of an MLP of 50 / 100 / 200 Dense layers (8 wide, 64
  rows, batch 32, Adam) with an empty Numba cache (cold: includes compiling the fused step),
  and 200 layers again with that cache filled (warm).
* ``init``: peak RSS of ``compile_graph`` for one Dense layer of 10 M / 50 M / 100 M weights.

Data goes to a temporary folder that is deleted afterwards.  Every row records the load
average (1 min) at its start: on a shared machine the times are upper bounds; CPU time is
less sensitive to other work than wall time.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, env: dict | None = None, timeout: int = 1800) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    prelude = textwrap.dedent("""
        import json, os, resource, sys, time
        def peak_mb():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000  # kB -> MB (10**6 bytes)
    """)
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    r = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=ROOT, env=full_env,
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-3000:])
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["load1"] = round(os.getloadavg()[0], 2)
    return out


def bench_analyse(quick: bool) -> list[dict]:
    rows = []
    for n in ([1000, 5000] if quick else [1000, 10000, 20000]):
        rows.append(_run(f"""
            from engine.compile import analyse
            from tests.engine.scale_graphs import big_graph
            g = big_graph({n}, seed=1)
            analyse(big_graph(50, seed=2))  # imports and first-use caches outside the timing
            t = time.perf_counter(); c = time.process_time()
            a = analyse(g)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            assert a.ok
            out = dict(target="analyse", nodes={n}, edges=len(g.edges), wall_s=round(wall, 3), cpu_s=round(cpu, 3))
            if {n} == 1000:
                nid = next(x.id for x in g.nodes if x.type == "Dense.v1")
                t = time.perf_counter()
                g2 = g.set_config(nid, units=g.node(nid).config["units"])
                analyse(g2)
                out["edit_ms"] = round(1000 * (time.perf_counter() - t), 1)
            print(json.dumps(out))
        """))
    return rows


def _write_numeric_csv(path: Path, rows: int, cols: int = 12, seed: int = 0) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    with open(path, "w") as fh:
        fh.write(",".join(f"f{j}" for j in range(cols - 1)) + ",label\n")
        for s in range(0, rows, 50_000):
            k = min(50_000, rows - s)
            a = rng.standard_normal((k, cols - 1))
            lab = rng.integers(0, 3, k)
            body = np.column_stack([a, lab])
            np.savetxt(fh, body, fmt=["%.6f"] * (cols - 1) + ["%d"], delimiter=",")


def bench_csv(quick: bool, tmp: Path) -> list[dict]:
    rows = []
    sizes = [20_000, 100_000] if quick else [100_000, 500_000, 2_000_000]
    for n in sizes:
        p = tmp / f"rows{n}.csv"
        _write_numeric_csv(p, n)
        mb = p.stat().st_size / 1e6
        out = _run(f"""
            from engine.data import DataSpec, load_dataset, preview_csv
            base = peak_mb()
            t = time.perf_counter(); c = time.process_time()
            ds = load_dataset(DataSpec(kind="csv", path={str(p)!r}))
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            x = ds.x("train")
            t = time.perf_counter(); preview_csv({str(p)!r}); prev = time.perf_counter() - t
            print(json.dumps(dict(target="csv", rows={n}, cols=12, file_mb=round({mb}, 1), wall_s=round(wall, 2),
                                  cpu_s=round(cpu, 2), peak_mb=round(peak_mb()), base_mb=round(base),
                                  preview_s=round(prev, 3), x_dtype=str(x.dtype))))
        """)
        out["peak_per_file"] = round((out["peak_mb"] - out["base_mb"]) / mb, 2)
        rows.append(out)
        p.unlink()
    return rows


def bench_wide(quick: bool, tmp: Path) -> list[dict]:
    import numpy as np

    rows = []
    for w in ([2000, 5000] if quick else [5000, 10000, 20000]):
        p = tmp / f"wide{w}.csv"
        rng = np.random.default_rng(1)
        a = rng.standard_normal((100, w - 1))
        with open(p, "w") as fh:
            fh.write(",".join(f"f{j}" for j in range(w - 1)) + ",label\n")
            np.savetxt(fh, np.column_stack([a, rng.integers(0, 3, 100)]), fmt=["%.5f"] * (w - 1) + ["%d"],
                       delimiter=",")
        rows.append(_run(f"""
            from engine.data import DataSpec, load_dataset, preview_csv
            t = time.perf_counter(); preview_csv({str(p)!r}); prev = time.perf_counter() - t
            t = time.perf_counter(); c = time.process_time()
            ds = load_dataset(DataSpec(kind="csv", path={str(p)!r}))
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            print(json.dumps(dict(target="wide", cols={w}, rows=100, preview_s=round(prev, 2), wall_s=round(wall, 2),
                                  cpu_s=round(cpu, 2), features=ds.input_shape[0])))
        """))
        p.unlink()
    return rows


_DEEP = """
    import numpy as np
    from engine.spec import sequential
    from engine.trainer import Trainer, TrainConfig
    L = {L}
    class A:
        task = "classification"; input_shape = (8,); n_outputs = 2; class_names = None
        def __init__(s):
            r = np.random.default_rng(0)
            s.x = r.standard_normal((64, 8)).astype(np.float32); s.y = (s.x[:, 0] > 0).astype(np.int64)
        def n(s, split): return 64 if split == "train" else 0
        def get_batch(s, split, idx): return s.x[idx], s.y[idx]
    t = time.perf_counter()
    spec = sequential([("Input.v1", {{"shape": [8]}})] + [("Dense.v1", {{"units": 8, "activation": "relu"}})] * L
                      + [("Dense.v1", {{"units": 2, "activation": "softmax"}})])
    tr = Trainer(spec, A(), TrainConfig(epochs=1, batch_size=32, optimizer="adam"))
    for ev in tr.run():
        pass
    print(json.dumps(dict(target="deep", layers=L, cache="{cache}", first_epoch_s=round(time.perf_counter() - t, 2),
                          fused=tr.fast_step is not None)))
"""


def bench_deep(quick: bool, tmp: Path) -> list[dict]:
    rows = []
    depths = [20, 50] if quick else [50, 100, 200]
    for L in depths:
        cache = tempfile.mkdtemp(prefix="numba-", dir=tmp)
        rows.append(_run(_DEEP.format(L=L, cache="cold"), env={"NUMBA_CACHE_DIR": cache}))
        if L == depths[-1]:
            rows.append(_run(_DEEP.format(L=L, cache="warm"), env={"NUMBA_CACHE_DIR": cache}))
        shutil.rmtree(cache, ignore_errors=True)
    return rows


def bench_init(quick: bool) -> list[dict]:
    rows = []
    for m in ([2, 10] if quick else [10, 50, 100]):
        n_in = 10_000
        units = m * 1_000_000 // n_in
        rows.append(_run(f"""
            import numpy as np
            from engine.model import compile_graph
            from engine.spec import sequential
            compile_graph(sequential([("Input.v1", {{"shape": [4]}}), ("Dense.v1", {{"units": 2}})]))  # imports
            base = peak_mb()
            spec = sequential([("Input.v1", {{"shape": [{n_in}]}}), ("Dense.v1", {{"units": {units}, "activation": "relu"}})])
            t = time.perf_counter()
            model = compile_graph(spec)
            wall = time.perf_counter() - t
            w = model.params["n2"]["W"]
            extra = peak_mb() - base
            del model, w
            # before issue #18: the whole array drawn in float64, then converted
            base2 = peak_mb()
            old = np.ascontiguousarray(np.random.default_rng(0).standard_normal(({n_in}, {units})) * 0.01, dtype=np.float32)
            print(json.dumps(dict(target="init", weights_m={m}, wall_s=round(wall, 2), float32_mb=round(old.nbytes / 1e6),
                                  peak_extra_mb=round(extra), before_peak_extra_mb=round(max(peak_mb(), base2) - base))))
        """))
    return rows


def markdown(rows: list[dict], targets=("analyse", "csv", "wide", "deep", "init")) -> str:
    out = []
    for target in targets:
        sel = [r for r in rows if r["target"] == target]
        if not sel:
            continue
        keys = [k for k in sel[0] if k != "target"]
        for r in sel[1:]:
            keys += [k for k in r if k not in keys and k != "target"]
        out.append(f"\n{target}\n")
        out.append("| " + " | ".join(keys) + " |")
        out.append("|" + "---|" * len(keys))
        for r in sel:
            out.append("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="analyse,csv,wide,deep,init")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke test of this script)")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="nnstudio-bench-scale-"))
    rows: list[dict] = []
    try:
        for name, fn in (("analyse", lambda: bench_analyse(args.quick)), ("csv", lambda: bench_csv(args.quick, tmp)),
                         ("wide", lambda: bench_wide(args.quick, tmp)), ("deep", lambda: bench_deep(args.quick, tmp)),
                         ("init", lambda: bench_init(args.quick))):
            if name in only:
                for r in fn():
                    print(json.dumps(r), flush=True)
                    rows.append(r)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.markdown:
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
