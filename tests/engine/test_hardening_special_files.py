"""Named pipes, devices and linked folders never hang a load, and deep JSON in exported
metadata gets the reader's own error (issue 17).

Each read below would block forever (a FIFO) or read until memory runs out
(``/dev/zero``) without the check; pytest-timeout turns such a hang into a failure.
"""
import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.data import DataError, DataSpec, load_dataset
from engine.data.images import scan_image_folder
from engine.export import METADATA_KEY, ExportError
from engine.export.importer import read_export
from engine.files import not_regular, regular_file_problem
from engine.io import ProjectError, load_project

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")]

DEEP = "[" * 100_000 + "]" * 100_000


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def zero(path: Path) -> Path:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    path.symlink_to("/dev/zero")
    return path


def test_kinds_are_named(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("x")
    assert not_regular(f) is None
    assert not_regular(tmp_path / "missing") is None          # the caller reports "not found"
    assert not_regular(fifo(tmp_path / "p")) == "a named pipe"
    assert not_regular(tmp_path) == "a folder"
    assert "is a character device, not a regular file" in regular_file_problem(zero(tmp_path / "z"))
    link = tmp_path / "link.txt"
    link.symlink_to(f)
    assert not_regular(link) is None                           # a link to a regular file is fine


@pytest.mark.parametrize("make", [fifo, zero], ids=["fifo", "dev-zero"])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".npz"])
def test_data_files_that_are_not_regular_are_refused(tmp_path, make, suffix):
    kind = "csv" if suffix in (".csv", ".xlsx") else "npz"
    p = make(tmp_path / f"data{suffix}")
    with pytest.raises(DataError, match="not a regular file"):
        load_dataset(DataSpec(kind=kind, path=str(p)))


@pytest.mark.parametrize("make", [fifo, zero], ids=["fifo", "dev-zero"])
def test_projects_and_exports_that_are_not_regular_are_refused(tmp_path, make):
    with pytest.raises(ProjectError, match="not a regular file"):
        load_project(make(tmp_path / "p.nnsp"))
    for suffix in (".npz", ".safetensors"):
        with pytest.raises(ExportError, match="not a regular file"):
            read_export(make(tmp_path / f"w{suffix}"))


def _images(root: Path) -> None:
    rng = np.random.default_rng(0)
    for c in ("cat", "dog"):
        (root / c).mkdir(parents=True)
        for i in range(4):
            Image.fromarray((rng.random((8, 8, 3)) * 255).astype("uint8")).save(root / c / f"{i}.png")


def test_a_pipe_in_an_image_folder_is_skipped_and_reported(tmp_path):
    _images(tmp_path)
    fifo(tmp_path / "cat" / "pipe.png")
    scan = scan_image_folder(tmp_path)
    assert scan["counts"] == {"cat": 4, "dog": 4}
    assert [s["reason"] for s in scan["skipped"]] == ["a named pipe, not an image file"]
    ds = load_dataset(DataSpec(kind="images", path=str(tmp_path), val_split=0.25))
    assert list(ds.class_names) == ["cat", "dog"]


def test_a_linked_folder_is_not_a_second_class(tmp_path):
    _images(tmp_path)
    (tmp_path / "doggy").symlink_to(tmp_path / "dog")
    (tmp_path / "dog" / "loop").symlink_to(tmp_path)          # a link back to the root
    scan = scan_image_folder(tmp_path)
    assert scan["classes"] == ["cat", "dog"]
    reasons = {Path(s["file"]).name: s["reason"] for s in scan["skipped"]}
    assert reasons["doggy"] == "a link to the folder 'dog', not a class of its own"


def test_a_linked_class_folder_alone_is_still_a_class(tmp_path):
    """Linking classes in from elsewhere is a normal way to build a data set."""
    elsewhere = tmp_path / "elsewhere"
    _images(elsewhere)
    root = tmp_path / "root"
    root.mkdir()
    for c in ("cat", "dog"):
        (root / c).symlink_to(elsewhere / c)
    assert scan_image_folder(root)["counts"] == {"cat": 4, "dog": 4}


def _safetensors_with_metadata(path: Path, text: str) -> Path:
    header = json.dumps({"__metadata__": {"nnstudio": text},
                         "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + np.zeros(1, np.float32).tobytes())
    return path


def test_deep_json_in_export_metadata_gets_an_export_error(tmp_path):
    with pytest.raises(ExportError, match="nested"):
        read_export(_safetensors_with_metadata(tmp_path / "m.safetensors", DEEP))
    npz = tmp_path / "m.npz"
    np.savez(npz, w=np.zeros(1), **{METADATA_KEY: np.frombuffer(DEEP.encode(), np.uint8)})
    with pytest.raises(ExportError, match="nested"):
        read_export(npz)
    bare = tmp_path / "bare.npz"
    np.savez(bare, w=np.zeros(1))
    (tmp_path / "bare.npz.json").write_text(DEEP)
    (tmp_path / "bare.json").write_text(DEEP)
    with pytest.raises(ExportError, match="nested"):
        read_export(bare)


def test_deep_json_class_names_in_a_data_npz_get_a_data_error(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, x=np.zeros((4, 2)), y=np.zeros(4, np.int64), class_names=np.array(DEEP))
    with pytest.raises(DataError, match="class_names"):
        load_dataset(DataSpec(kind="npz", path=str(p)))
