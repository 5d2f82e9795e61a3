"""The CLI keeps saved work and refuses bad options before any work starts (issue 17)."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.app.test_cli import IRIS_GRAPH, ROOT, run


@pytest.fixture()
def graph(tmp_path):
    g = tmp_path / "g.json"
    g.write_text(json.dumps(IRIS_GRAPH))
    return g


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("hard")
    g = d / "g.json"
    g.write_text(json.dumps(IRIS_GRAPH))
    out = d / "good.nnsp"
    r = run("train", g, "--data", "sample:iris", "--epochs", "20", "--lr", "0.01", "--quiet", "--out", out)
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("flags,message", [
    (["--epochs", str(10**30)], "--epochs must be between 1 and"),
    (["--seed", "-1"], "--seed must be between 0 and"),
    (["--patience", "-1"], "--patience must be between 1 and"),
    (["--batch-size", "0"], "--batch-size must be between 1 and"),
    (["--monitor", "val_f1"], "--monitor val_f1: no such metric for classification; choose one of loss"),
])
def test_bad_training_options_are_refused_with_the_flag_named(graph, tmp_path, flags, message):
    out = tmp_path / "x.nnsp"
    r = run("train", graph, "--data", "sample:iris", *flags, "--out", out)
    assert r.returncode == 1 and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_outputs_that_cannot_be_written_are_found_before_training(graph, tmp_path):
    (tmp_path / "folder").mkdir()
    r = run("train", graph, "--data", "sample:iris", "--out", tmp_path / "folder")
    assert r.returncode == 1 and "is a folder" in r.stderr and r.stdout == ""
    r = run("train", graph, "--data", "sample:iris", "--out", graph / "x.nnsp")
    assert r.returncode == 1 and f"{graph} is a file, not a folder" in r.stderr and r.stdout == ""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        r = run("train", graph, "--data", "sample:iris", "--out", ro / "x.nnsp")
        assert r.returncode == 1 and "read-only or no permission" in r.stderr and r.stdout == ""
    finally:
        ro.chmod(0o755)


def test_predict_and_export_refuse_to_overwrite_their_inputs(trained, tmp_path):
    before = trained.read_bytes()
    csv = tmp_path / "new.csv"
    csv.write_text("sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n")
    csv_before = csv.read_bytes()
    for out in (trained, csv):
        r = run("predict", trained, "--data", csv, "--out", out)
        assert r.returncode == 1 and "is one of the input files" in r.stderr, r.stderr
    r = run("export", trained, "--format", "npz", "--out", trained)
    assert r.returncode == 1 and "is one of the input files" in r.stderr
    assert trained.read_bytes() == before and csv.read_bytes() == csv_before


def test_a_diverged_run_does_not_overwrite_an_existing_project(trained, tmp_path):
    from engine.io import load_project
    proj = tmp_path / "p.nnsp"
    proj.write_bytes(trained.read_bytes())
    before = proj.read_bytes()
    good = load_project(proj).weights
    args = ("train", proj, "--resume", "--optimizer", "sgd", "--lr", "50", "--epochs", "20", "--quiet")
    r = run(*args, "--out", proj)
    assert r.returncode == 1 and "diverged" in r.stderr and "was not overwritten" in r.stderr, r.stderr
    assert proj.read_bytes() == before
    summary = json.loads(r.stdout.splitlines()[-1])
    assert summary["reason"] == "diverged" and not summary["done"]
    side = tmp_path / "p.diverged.nnsp"
    assert summary["out"] == str(side)
    kept = load_project(side)
    # the last good weights are the ones from before the loss blew up: here the resumed ones
    assert max(float(np.abs(w).max()) for w in kept.weights.values()) < 100
    for k, w in good.items():
        np.testing.assert_array_equal(kept.weights[k], w)
    assert kept.history[-1]["reason"] == "diverged"
    # asked for: --force overwrites
    r = run(*args, "--out", proj, "--force")
    assert r.returncode == 1 and "was not overwritten" not in r.stderr
    assert proj.read_bytes() != before
    assert load_project(proj).history[-1]["reason"] == "diverged"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_during_training_saves_the_project_marked_interrupted(graph, tmp_path, sig):
    from engine.io import load_project
    out = tmp_path / "run.nnsp"
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "train", str(graph), "--data", "sample:iris",
                             "--epochs", "100000", "--batch-size", "4", "--out", str(out)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["epoch"] == 1
        proc.send_signal(sig)
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err and "stopping after this batch" in err
    summary = json.loads(rest.splitlines()[-1])
    assert summary["reason"] == "interrupted" and summary["interrupted"] is True
    assert summary["epochs"] >= 1 and summary["out"] == str(out)
    p = load_project(out)
    assert p.metadata["interrupted"] is True and p.weights
    assert p.history[-1]["reason"] == "interrupted" and len(p.history[-1]["epochs"]) == summary["epochs"]


def test_a_failed_save_keeps_the_project_in_the_user_cache(graph, tmp_path, monkeypatch):
    """The folder became unwritable during training: the work goes to the cache folder."""
    import argparse

    from app import cli
    cache = tmp_path / "cache"
    monkeypatch.setenv("NNSTUDIO_CACHE_DIR", str(cache))
    out = tmp_path / "out.nnsp"
    import engine.io
    real = engine.io.save_project

    def failing(path, project):
        if Path(path) == out:
            raise OSError(28, "No space left on device")
        return real(path, project)
    monkeypatch.setattr(engine.io, "save_project", failing)
    args = cli.build_parser().parse_args(["train", str(graph), "--data", "sample:iris", "--epochs", "2",
                                          "--quiet", "--out", str(out)])
    assert isinstance(args, argparse.Namespace)
    assert cli.cmd_train(args) == 1
    kept = list((cache / "unsaved").glob("out-*.nnsp"))
    assert len(kept) == 1 and not out.exists()
    assert engine.io.load_project(kept[0]).weights


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"NN Studio {version('nn-studio')}"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")
@pytest.mark.timeout(120)
def test_pipes_and_devices_as_inputs_are_refused_not_waited_on(trained, graph, tmp_path):
    pipe = tmp_path / "rows.csv"
    os.mkfifo(pipe)
    r = run("predict", trained, "--data", pipe, "--out", tmp_path / "o.csv")
    assert r.returncode == 1 and "rows.csv: is a named pipe, not a regular file" in r.stderr, r.stderr
    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")
    r = run("train", graph, "--data", zero, "--out", tmp_path / "x.nnsp")
    assert r.returncode == 1 and "is a character device" in r.stderr and "Traceback" not in r.stderr
    pg = tmp_path / "g.json.pipe.json"
    os.mkfifo(pg)
    r = run("train", pg, "--data", "sample:iris", "--out", tmp_path / "x.nnsp")
    assert r.returncode == 1 and "is a named pipe" in r.stderr


def test_skipped_image_files_are_named_on_stderr(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(0)
    for c in ("cat", "dog"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(4):
            Image.fromarray((rng.random((28, 28)) * 255).astype("uint8")).save(tmp_path / "imgs" / c / f"{i}.png")
    (tmp_path / "imgs" / "cat" / "broken.png").write_bytes(b"not an image")
    (tmp_path / "imgs" / "doggy").symlink_to(tmp_path / "imgs" / "dog")
    g = tmp_path / "g.json"
    r = run("template", "cnn", "--data", tmp_path / "imgs", "--out", g)
    assert r.returncode == 0, r.stderr
    r = run("train", g, "--data", tmp_path / "imgs", "--epochs", "1", "--quiet", "--out", tmp_path / "c.nnsp")
    assert r.returncode == 0, r.stderr
    assert "note: skipped " in r.stderr and "broken.png" in r.stderr
    assert "doggy: a link to the folder 'dog', not a class of its own" in r.stderr
