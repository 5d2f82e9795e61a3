import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_engine_never_imports_qt():
    code = ("import sys, engine, engine.trainer, engine.io, engine.compile, engine.layers, engine.registry\n"
            "import engine.data, engine.export, engine.jobs, engine.explain\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'app', 'widgets')]\n"
            "print(bad); sys.exit(1 if bad else 0)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_cli_does_not_import_qt():
    code = ("import sys, app.cli\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'widgets')]\n"
            "print(bad); sys.exit(1 if bad else 0)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_no_pickle_anywhere():
    offenders = []
    for folder in ("engine", "app", "widgets"):
        for f in (ROOT / folder).rglob("*.py"):
            text = f.read_text(encoding="utf-8")
            if "import pickle" in text or "allow_pickle=True" in text or "cloudpickle" in text:
                offenders.append(str(f.relative_to(ROOT)))
    assert not offenders, offenders


def test_import_contracts_hold():
    """app -> widgets -> engine, and the engine never imports Qt (import-linter contracts in pyproject.toml)."""
    import shutil
    local = Path(sys.executable).with_name("lint-imports")
    exe = str(local) if local.exists() else shutil.which("lint-imports")
    assert exe, "import-linter is part of the test extra: pip install -e .[test]"
    r = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_ruff_finds_nothing():
    """Lint and import order (ruff, configured in pyproject.toml) are clean; CI runs this test."""
    import shutil
    local = Path(sys.executable).with_name("ruff")
    exe = str(local) if local.exists() else shutil.which("ruff")
    assert exe, "ruff is part of the test extra: pip install -e .[test]"
    r = subprocess.run([exe, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
