"""Project files and atomic writes.

A project (``.nnsp``) is a zip archive, never a pickle::

    metadata.json        {"format": "nn-studio-project", "schema_version": 1, "app_version": ...}
    graph.json           GraphSpec.to_dict()
    train.json           training settings (engine.trainer.TrainConfig.to_dict())
    data.json            data source description (engine.data.DataSpec.to_dict()) or null
    preprocessing.json   the fitted preprocessing (scaler statistics, category maps, labels) or null
    weights.npz          "node_id/param" -> array, loaded with allow_pickle=False (absent if untrained)
    history.json         list of runs: {"name", "settings", "epochs": [{"epoch", "loss", ...}]}

Every write goes to a temporary file in the destination folder and is then
renamed over the target, so a crash mid-save never leaves a half-written file.
"""
from __future__ import annotations

import glob
import io
import json
import os
import stat
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine import safe_json
from engine.errors import UserError
from engine.files import os_reason, regular_file_problem
from engine.spec import GraphSpec, SpecError
from engine.userdirs import app_version

FORMAT = "nn-studio-project"
PROJECT_SCHEMA = 1
PROJECT_SUFFIX = ".nnsp"
_MAX_MEMBER = 2 * 1024 ** 3  # refuse absurd members (zip bombs)


class ProjectError(UserError):
    """A project file that cannot be read or written; the message is for the user."""


@dataclass
class Project:
    graph: GraphSpec
    train_config: dict = field(default_factory=dict)
    data_spec: dict | None = None
    preprocessing: dict | None = None
    weights: dict[str, np.ndarray] | None = None
    history: list[dict] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)


# ------------------------------------------------------------------- atomic writes
def _read_umask() -> int:
    """The process umask (read once: setting it to read it is not thread-safe later)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


_UMASK = _read_umask()
#: leftovers of a save that was killed half-way are removed by a later save once this old (seconds)
STALE_TEMP_AGE = 600.0


def _remove_stale_temps(folder: Path, name: str) -> None:
    now = time.time()
    for p in folder.glob(f".{glob.escape(name)}.*.tmp"):
        try:
            if now - p.lstat().st_mtime > STALE_TEMP_AGE:
                p.unlink()
        except OSError:
            pass


def atomic_write(path: str | os.PathLike, write: Callable[[io.BufferedWriter], None]) -> None:
    """Call ``write(fileobj)`` on a temp file beside ``path``, fsync, then rename over ``path``.

    The result has the permissions of the file it replaces, or for a new file the usual
    ``0o666 & ~umask`` (not the private 0o600 of a temporary file). A symlink is written through
    (its target is replaced, the link stays). The temp file is ``.NAME.XXXX.tmp`` beside the
    target; one left by a killed save is removed by a later save of the same file.
    """
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ProjectError(f"folder {folder} does not exist")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = 0o666 & ~_UMASK
    _remove_stale_temps(folder, path.name)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_bytes(path, data: bytes) -> None:
    atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _clean_arrays(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    clean = {}
    for k, v in arrays.items():
        a = np.asarray(v)
        if not a.flags.c_contiguous:
            a = np.ascontiguousarray(a)   # (not for every array: it would turn a 0-d one into shape (1,))
        if a.dtype == object:
            raise ProjectError(f"array {k!r} has dtype object and cannot be saved safely")
        clean[k] = a
    return clean


#: bytes of an array handed to the compressor at a time by :func:`write_npz`
NPZ_CHUNK = 1 << 20


def write_npz(fh, arrays: dict[str, np.ndarray]) -> None:
    """Write a compressed .npz of C-contiguous numeric arrays (no object arrays, ever) to ``fh``,
    which need not be seekable (a zip member).  The same file ``np.savez_compressed`` writes (one
    ``NAME.npy`` member per array), but streamed in 1 MiB slices of the array itself: NumPy's writer
    copies 16 MiB pieces twice, and a buffer would hold the whole compressed file."""
    clean = _clean_arrays(arrays)
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, a in clean.items():
            with zf.open(f"{key}.npy", "w", force_zip64=True) as fid:
                header = np.lib.format.header_data_from_array_1_0(a)
                try:
                    np.lib.format.write_array_header_1_0(fid, header)
                except ValueError:   # a header longer than version 1.0 allows
                    np.lib.format.write_array_header_2_0(fid, header)
                flat = a.reshape(-1)
                step = max(1, NPZ_CHUNK // max(1, a.itemsize))
                for i in range(0, flat.size, step):
                    fid.write(memoryview(flat[i:i + step]).cast("B"))


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A compressed .npz of C-contiguous numeric arrays (no object arrays, ever)."""
    buf = io.BytesIO()
    write_npz(buf, arrays)
    return buf.getvalue()


def load_npz_bytes(data: bytes, what: str = "weights") -> dict[str, np.ndarray]:
    if not data.startswith(b"PK"):
        kind = "a single .npy array" if data.startswith(b"\x93NUMPY") else "not an .npz archive"
        raise ProjectError(f"the {what} are damaged: {kind}")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError) as exc:
        raise ProjectError(f"the {what} are damaged ({os_reason(exc)})") from None
    for k, a in out.items():
        if a.dtype.kind not in "biuf":
            raise ProjectError(f"the {what} are damaged: {k} holds {a.dtype} values, not numbers")
    return out


# ------------------------------------------------------------------------ projects
def save_project(path: str | os.PathLike, project: Project) -> None:
    meta = {"format": FORMAT, "schema_version": PROJECT_SCHEMA, "app_version": app_version(),
            **{k: v for k, v in project.metadata.items() if k not in ("format", "schema_version")}}
    members = {
        "metadata.json": json.dumps(meta, indent=2),
        "graph.json": project.graph.to_json(),
        "train.json": json.dumps(project.train_config, indent=2),
        "data.json": json.dumps(project.data_spec, indent=2),
        "preprocessing.json": json.dumps(project.preprocessing),
        "history.json": json.dumps(project.history),
    }
    try:
        for name, text in members.items():  # noqa: B007 - the failing member is named below
            json.loads(text)  # guarantees valid JSON (NaN is written as NaN by json; accepted by json)
    except (TypeError, ValueError) as exc:  # pragma: no cover - json.dumps raises first
        raise ProjectError(f"cannot save {name}: {exc}") from None
    weights = _clean_arrays(project.weights) if project.weights else None   # refused before any write

    def write(fh):
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, text in members.items():
                zf.writestr(name, text)
            if weights is not None:
                # streamed into the member: the file is written as it is compressed (a 269 M-weight model
                # would otherwise hold two more copies of its weights while saving)
                info = zipfile.ZipInfo("weights.npz", date_time=time.localtime(time.time())[:6])
                info.compress_type = zipfile.ZIP_STORED
                with zf.open(info, "w", force_zip64=True) as member:
                    write_npz(member, weights)

    try:
        atomic_write(path, write)
    except OSError as exc:
        raise ProjectError(f"could not save {path}: {os_reason(exc)}") from None


def _read_json(zf: zipfile.ZipFile, name: str, default: Any = None, required: bool = False) -> Any:
    try:
        info = zf.getinfo(name)
    except KeyError:
        if required:
            raise ProjectError(f"the project file has no {name}; it is not an NN Studio project or is damaged") from None
        return default
    raw = _read_member(zf, info)
    what = f"{name} in the project"
    try:
        return safe_json.loads(raw, what)
    except safe_json.JsonLimitError as exc:
        detail = str(exc).removeprefix(what).strip()
        raise ProjectError(f"{what} is damaged: it {detail}" if detail.startswith("is ") else
                           f"{what} is damaged: {detail}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProjectError(f"{name} in the project is damaged ({exc})") from None


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int = _MAX_MEMBER) -> bytes:
    """A member's bytes; absurdly large (over ``limit``), encrypted, unsupported or damaged members
    are a ProjectError."""
    if info.file_size > limit:
        raise ProjectError(f"{info.filename} in the project is implausibly large ({info.file_size} bytes)")
    if info.flag_bits & 0x1:
        raise ProjectError(f"{info.filename} in the project is encrypted; NN Studio never encrypts projects, "
                           "so this file was made elsewhere")
    try:
        return zf.read(info)
    except NotImplementedError as exc:       # e.g. a compression method zipfile cannot read
        raise ProjectError(f"{info.filename} in the project uses an unsupported compression ({exc})") from None
    except (RuntimeError, zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:   # RuntimeError: password
        raise ProjectError(f"{info.filename} in the project cannot be read ({os_reason(exc)})") from None


def weights_limit(graph: GraphSpec) -> int:
    """The most bytes a weights archive of ``graph`` can need: every parameter and state value
    as float64, plus headers.  This is also the only size limit on the weights, so whatever a
    graph's training saves can be opened again, however large.  A graph with errors (sizes
    unknown) gets the general member cap."""
    from engine import memory
    from engine.compile import analyse

    a = analyse(graph)
    if not a.ok:
        return _MAX_MEMBER
    layers = [p for p in memory.estimate(graph, a, dtype=np.float64).parts if p.kind == "layer"]
    return sum(p.weight_bytes for p in layers) + 1024 * sum(p.n_arrays for p in layers) + 64 * 1024


def _check_declared_size(name: str, size: int, limit: int) -> None:
    if size > limit:
        raise ProjectError(f"{name} in the project declares {size:,} bytes, but its graph needs at most "
                           f"{limit:,}; the file is damaged or was not written by NN Studio")


def _check_inner_sizes(raw: bytes, limit: int) -> None:
    """The weights archive's own members, by their declared sizes, before any is decompressed."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as inner:
            declared = sum(i.file_size for i in inner.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return      # not an archive: load_npz_bytes says what it is
    _check_declared_size("weights.npz", declared, limit)


def migrate_project(meta: dict) -> dict:
    """Upgrade project metadata from older schemas (schema 0: no 'format' key)."""
    version = meta.get("schema_version", 0)
    if not isinstance(version, int):
        raise ProjectError("the project's schema_version is not a number")
    if version > PROJECT_SCHEMA:
        raise ProjectError(f"this project was saved by a newer NN Studio (project schema {version}); "
                           f"this version reads up to {PROJECT_SCHEMA}")
    meta = dict(meta)
    if version == 0:
        meta.setdefault("format", FORMAT)
        meta["schema_version"] = 1
    return meta


def load_project(path: str | os.PathLike) -> Project:
    path = Path(path)
    if not path.exists():
        raise ProjectError(f"{path} does not exist")
    if path.is_dir():
        raise ProjectError(f"{path} is a folder, not a project file")
    problem = regular_file_problem(path)
    if problem:
        raise ProjectError(problem)
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ProjectError(f"{path.name} is not an NN Studio project (not a zip archive, or damaged)") from None
    except OSError as exc:
        raise ProjectError(f"could not open {path}: {os_reason(exc)}") from None
    with zf:
        meta = _read_json(zf, "metadata.json", required=True)
        if not isinstance(meta, dict) or meta.get("format", FORMAT) != FORMAT:
            raise ProjectError(f"{path.name} is not an NN Studio project")
        meta = migrate_project(meta)
        try:
            graph = GraphSpec.from_dict(_read_json(zf, "graph.json", required=True))
        except SpecError as exc:
            raise ProjectError(f"the graph in {path.name} is damaged: {exc}") from None
        train = _read_json(zf, "train.json", {}) or {}
        data_spec = _read_json(zf, "data.json", None)
        pre = _read_json(zf, "preprocessing.json", None)
        history = _read_json(zf, "history.json", []) or []
        if not isinstance(train, dict) or not isinstance(history, list) \
                or not isinstance(data_spec, (dict, type(None))) or not isinstance(pre, (dict, type(None))):
            raise ProjectError(f"{path.name}: training settings, data or history have the wrong structure")
        weights = None
        if "weights.npz" in zf.namelist():
            info = zf.getinfo("weights.npz")
            limit = weights_limit(graph)
            _check_declared_size(info.filename, info.file_size, limit)
            raw = _read_member(zf, info, limit)
            _check_inner_sizes(raw, limit)
            weights = load_npz_bytes(raw, f"weights in {path.name}")
    return Project(graph=graph, train_config=train, data_spec=data_spec, preprocessing=pre,
                   weights=weights, history=history, metadata=meta)


def demo_project() -> Project:
    """What the app opens with: a small classifier for the two-spirals sample."""
    from engine.spec import sequential

    graph = sequential([
        ("Input.v1", {"shape": [2]}),
        ("Dense.v1", {"units": 16, "activation": "tanh"}),
        ("Dense.v1", {"units": 16, "activation": "tanh"}),
        ("Dense.v1", {"units": 2, "activation": "softmax"}),
    ], spacing=110.0)
    train = {"epochs": 200, "batch_size": 16, "optimizer": "adam", "lr": 0.01, "loss": "auto", "seed": 0}
    data = {"kind": "sample", "path": "spirals", "val_split": 0.2, "test_split": 0.0, "seed": 0,
            "noise": 0.1, "n_samples": 500}
    return Project(graph=graph, train_config=train, data_spec=data,
                   metadata={"name": "Two spirals (demo)"})
