"""Where Numba caches compiled kernels: beside them when writable, else the user cache folder."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = ("from engine.userdirs import configure_numba_cache; p = configure_numba_cache(); "
         "import numba; print(p); print(numba.config.CACHE_DIR)")


def run(env_extra: dict) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(env_extra, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout.split("\n")[:2]


def test_a_writable_install_keeps_numbas_own_place():
    path, _ = run({})
    assert Path(path) == ROOT / "engine" / "kernels" / "__pycache__"


def test_a_read_only_install_caches_in_the_user_folder(tmp_path):
    path, numba_dir = run({"NNSTUDIO_USER_NUMBA_CACHE": "1", "NNSTUDIO_CACHE_DIR": str(tmp_path)})
    assert Path(path) == tmp_path / "numba" and Path(numba_dir) == tmp_path / "numba"
