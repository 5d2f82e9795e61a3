"""Image folders: scanning, decoding (one shared :func:`load_image`), caching, splitting.

Layouts: ``root/<class>/...`` or ``root/train/<class>/...`` with optional
``root/test/<class>/...`` (and ``root/val/<class>/...``).  Files are recognised by
content; hidden and system files are ignored; files that cannot be decoded are
skipped and listed in the report.  The user's folder is only ever read.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from engine.data.errors import DataError, LoadCancelled, one_line
from engine.data.split import natural_key, natural_sorted, split_counts, split_indices
from engine.files import not_regular, os_reason

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")
MAX_PIXELS = 50_000_000          # decompression-bomb guard (Pillow's own default is ~89 M)
SYSTEM_NAMES = frozenset({"thumbs.db", "desktop.ini", "__macosx", "@eadir", ".ds_store", "$recycle.bin",
                          "system volume information", ".trashes", ".spotlight-v100", ".fseventsd"})
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "F", "I;16", "I;16B", "I;16L", "I;16N"})
KEEP_SIZE_MAX_PIXELS = 64 * 64   # same-size images up to this many pixels keep their size
DEFAULT_GRAY_SIZE = (28, 28)
DEFAULT_RGB_SIZE = (32, 32)
SPLIT_DIRS = {"train": "train", "training": "train", "test": "test", "testing": "test",
              "val": "val", "valid": "val", "validation": "val"}
CACHE_VERSION = 1
N_SAMPLES_LISTED = 8


class ImageDecodeError(DataError):
    """One image file that cannot be used.  ``reason`` is the short text shown in the
    report; the message is ``"<file name>: <reason>"``.  Loading a folder skips such
    files; :func:`load_image` called directly raises it (a :class:`DataError`)."""

    def __init__(self, reason: str, path=None):
        self.reason = one_line(reason)
        super().__init__(f"{os.path.basename(str(path))}: {self.reason}" if path is not None else self.reason)


def _reason(exc: BaseException) -> str:
    text = one_line(str(exc).strip() or type(exc).__name__)
    return text if len(text) <= 120 else text[:119] + "…"


def is_hidden(name: str) -> bool:
    n = name.casefold()
    return n.startswith(".") or n.startswith("~$") or n in SYSTEM_NAMES


# ---------------------------------------------------------------------------- decoding
def _open(path) -> Image.Image:
    # (no warnings.catch_warnings here: it is not thread-safe, and our own pixel limit
    # below is stricter than Pillow's warning threshold)
    kind = not_regular(path)
    if kind is not None:
        raise ImageDecodeError(f"{kind}, not an image file")
    try:
        im = Image.open(path, formats=FORMATS)
    except Image.UnidentifiedImageError:
        raise ImageDecodeError("not a PNG, JPEG, BMP or GIF image") from None
    except Image.DecompressionBombError:
        raise ImageDecodeError("image too large (decompression-bomb guard)") from None
    except MemoryError:
        raise ImageDecodeError("not enough memory to read") from None
    except Exception as exc:  # noqa: BLE001 - a decoder fed a broken file may raise anything
        raise ImageDecodeError(f"cannot read: {_reason(exc)}") from None
    w, h = im.size
    if w * h > MAX_PIXELS:
        im.close()
        raise ImageDecodeError(f"image too large ({w}x{h} pixels; limit {MAX_PIXELS:,}; decompression-bomb guard)")
    if w < 1 or h < 1:
        im.close()
        raise ImageDecodeError("image has no pixels")
    return im


def _is_gray(im: Image.Image) -> bool:
    if im.mode in GRAY_MODES:
        return True
    if im.mode == "P":
        try:
            pal = im.getpalette() or []
        except Exception:  # noqa: BLE001 - broken palette: treat as colour
            return False
        pal = np.asarray(pal[: 3 * (len(pal) // 3)]).reshape(-1, 3)
        return bool(len(pal)) and bool(np.all(pal[:, 0] == pal[:, 1]) and np.all(pal[:, 1] == pal[:, 2]))
    return False


def _to_mode(im: Image.Image, mode: str) -> Image.Image:
    m = im.mode
    if m in ("I", "F") or m.startswith("I;16"):
        a = np.asarray(im, dtype=np.float64)
        if m.startswith("I;16"):
            a = a / 257.0
        else:
            lo, hi = float(a.min()), float(a.max())
            if lo >= 0 and hi <= 255:
                pass
            elif lo >= 0 and hi <= 65535:
                a = a / 257.0
            else:
                a = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
        im = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")
        m = "L"
    if m in ("P", "PA"):
        im = im.convert("RGBA" if (m == "PA" or "transparency" in im.info) else "RGB")
        m = im.mode
    if m in ("RGBA", "LA", "La", "RGBa"):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))  # transparent -> white
        im = Image.alpha_composite(bg, rgba).convert("RGB")
        m = "RGB"
    if m not in ("L", "RGB"):
        im = im.convert("RGB")  # CMYK, YCbCr, LAB, HSV, 1 ...
    return im.convert(mode) if im.mode != mode else im


def load_image(path, size: tuple[int, int] | None = None, mode: str = "RGB") -> np.ndarray:
    """Decode one image file to uint8 ``(H, W, C)`` (C = 1 for ``mode="L"``, 3 for ``"RGB"``).

    The single decoding path for training, caching and predict: first frame of
    animations, EXIF orientation applied, any Pillow mode converted (alpha composited
    on white, 16-bit scaled down), then resized to ``size = (height, width)`` with
    bilinear (anti-aliased) resampling, aspect ratio not kept.  Raises
    :class:`ImageDecodeError` (a :class:`DataError`) naming the file, with ``.reason``.
    """
    try:
        return _load_image(path, size, mode)
    except ImageDecodeError as exc:
        if exc.args and exc.args[0] == exc.reason:  # add the file name once
            raise ImageDecodeError(exc.reason, path) from None
        raise


def _load_image(path, size: tuple[int, int] | None = None, mode: str = "RGB") -> np.ndarray:
    if mode not in ("L", "RGB"):
        raise ValueError(f"mode must be 'L' or 'RGB', got {mode!r}")
    im = _open(path)
    try:
        try:
            if getattr(im, "n_frames", 1) > 1:
                im.seek(0)
            if size is not None and im.format == "JPEG":
                side = max(size)
                im.draft("L" if mode == "L" else "RGB", (side, side))
            im.load()
            try:
                im2 = ImageOps.exif_transpose(im)
            except Exception:  # noqa: BLE001 - broken EXIF must not lose the picture
                im2 = im
            im2 = _to_mode(im2, mode)
            if size is not None:
                h, w = int(size[0]), int(size[1])
                if im2.size != (w, h):
                    im2 = im2.resize((w, h), Image.Resampling.BILINEAR, reducing_gap=3.0)
            arr = np.asarray(im2, dtype=np.uint8)
        except Image.DecompressionBombError:
            raise ImageDecodeError("image too large (decompression-bomb guard)") from None
        except MemoryError:
            raise ImageDecodeError("not enough memory to decode") from None
        except Exception as exc:  # noqa: BLE001 - a decoder fed a broken file may raise anything
            raise ImageDecodeError(f"cannot decode: {_reason(exc)}") from None
    finally:
        im.close()
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return np.ascontiguousarray(arr)


# ---------------------------------------------------------------------------- scanning
def _walk_files(folder: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = natural_sorted(d for d in dirnames if not is_hidden(d))
        for f in natural_sorted(filenames):
            if not is_hidden(f):
                out.append(Path(dirpath) / f)
    return out


def _class_dirs(folder: Path, skipped: list | None = None) -> list[Path]:
    """Class subfolders of ``folder``.  A symlink to a folder that is already listed (or to the
    folder itself or one of its parents) is left out, so a linked folder is not a second class."""
    try:
        entries = [e for e in folder.iterdir() if e.is_dir() and not is_hidden(e.name)]
    except OSError as exc:
        raise DataError(f"{folder}: cannot list folder ({os_reason(exc)})") from None
    entries.sort(key=lambda p: (p.is_symlink(), natural_key(p.name)))
    seen: dict[str, Path] = {}
    here = os.path.realpath(folder)
    out = []
    for e in entries:
        real = os.path.realpath(e)
        if real in seen or here == real or here.startswith(real + os.sep):
            if skipped is not None:
                other = seen[real].name if real in seen else folder.name
                skipped.append({"file": str(e), "reason": f"a link to the folder '{other}', not a class of its own"})
            continue
        seen[real] = e
        out.append(e)
    return sorted(out, key=lambda p: natural_key(p.name))


def _scan(root) -> dict:
    """Header-only scan: every candidate file is opened (not decoded) to check it."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: folder not found")
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    top = _class_dirs(root)
    split_dirs = {SPLIT_DIRS[d.name.casefold()]: d for d in top if d.name.casefold() in SPLIT_DIRS}
    if "train" in split_dirs and _class_dirs(split_dirs["train"]):
        layout = "train/test"
        groups = [(s, split_dirs[s]) for s in ("train", "val", "test") if s in split_dirs]
    else:
        layout = "classes"
        groups = [("all", root)]
    classes: list[str] = []
    files: list[tuple[str, str, str]] = []   # (path, class, split)
    skipped: list[dict] = []
    for split, folder in groups:
        for cdir in _class_dirs(folder, skipped):
            if split in ("all", "train"):
                if cdir.name not in classes:
                    classes.append(cdir.name)
            elif cdir.name not in classes:
                for f in _walk_files(cdir):
                    skipped.append({"file": str(f), "reason": f"class '{cdir.name}' has no train/ folder"})
                continue
            for f in _walk_files(cdir):
                files.append((str(f), cdir.name, split))
    info = []
    good = []
    for path, cls, split in files:
        try:
            im = _open(path)
        except ImageDecodeError as exc:
            skipped.append({"file": path, "reason": exc.reason})
            continue
        try:
            info.append((im.size[1], im.size[0], _is_gray(im)))
        finally:
            im.close()
        good.append((path, cls, split))
    classes = natural_sorted(classes)
    return {"root": str(root), "layout": layout, "classes": classes, "files": good, "info": info,
            "skipped": skipped}


def _propose(scan: dict) -> tuple[tuple[int, int], bool]:
    info = scan["info"]
    gray = bool(info) and all(g for _, _, g in info)
    sizes = {(h, w) for h, w, _ in info}
    if len(sizes) == 1:
        (h, w), = sizes
        if h * w <= KEEP_SIZE_MAX_PIXELS:
            return (h, w), gray
    return (DEFAULT_GRAY_SIZE if gray else DEFAULT_RGB_SIZE), gray


def scan_image_folder(path) -> dict:
    """Describe an image folder without decoding pixels.

    ``{"classes", "counts", "skipped": [{"file", "reason"}], "samples": {class: [paths]},
    "layout": "classes" | "train/test", "n_images", "split_counts", "sizes": {"HxW": n},
    "grayscale", "proposed_size": [h, w]}``.  Files that fail to *decode* are found only
    when loading.
    """
    s = _scan(path)
    counts = {c: 0 for c in s["classes"]}
    samples: dict[str, list[str]] = {c: [] for c in s["classes"]}
    per_split: dict[str, int] = {}
    for p, c, split in s["files"]:
        counts[c] += 1
        per_split[split] = per_split.get(split, 0) + 1
        if len(samples[c]) < N_SAMPLES_LISTED:
            samples[c].append(p)
    sizes: dict[str, int] = {}
    for h, w, _ in s["info"]:
        sizes[f"{h}x{w}"] = sizes.get(f"{h}x{w}", 0) + 1
    size, gray = _propose(s)
    return {"classes": s["classes"], "counts": counts, "skipped": s["skipped"], "samples": samples,
            "layout": s["layout"], "n_images": len(s["files"]), "split_counts": per_split,
            "sizes": dict(sorted(sizes.items(), key=lambda kv: -kv[1])[:10]),
            "grayscale": gray, "proposed_size": list(size)}


# ---------------------------------------------------------------------------- memory / cache
def total_ram() -> int:
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return 8 * 2**30


def default_memory_budget() -> int:
    """Bytes of float32 image data kept in RAM: min(25 % of RAM, 2 GiB)."""
    return int(min(total_ram() // 4, 2 * 2**30))


def cache_dir() -> Path:
    """Where memory-mapped image caches go (``NNSTUDIO_CACHE_DIR`` overrides); never the data folder."""
    env = os.environ.get("NNSTUDIO_CACHE_DIR")
    if env:
        base = Path(env)
    else:
        try:
            import platformdirs  # noqa: PLC0415

            base = Path(platformdirs.user_cache_dir("nnstudio", appauthor=False))
        except ImportError:  # pragma: no cover
            base = Path(tempfile.gettempdir()) / "nnstudio-cache"
    return base / "image-cache"


def _cache_key(files: list[str], size, mode) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([CACHE_VERSION, list(size), mode]).encode())
    for f in files:
        try:
            st = os.stat(f)
            h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogatepass"))
        except OSError:
            h.update(f"{f}\0missing\n".encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:32]


def _atomic_write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(obj), encoding="utf-8")
    os.replace(tmp, path)


def decode_files(files: list[str], size, mode: str, out: np.ndarray, *, progress=None,
                 cancel: threading.Event | None = None, workers: int | None = None) -> dict[int, str]:
    """Decode ``files`` into ``out[i]`` on background threads; ``{index: reason}`` of failures.

    ``progress(done, total)`` is called from the calling thread; setting ``cancel``
    stops the work and raises :class:`LoadCancelled`.
    """
    n = len(files)
    failures: dict[int, str] = {}
    chunk = 32
    starts = list(range(0, n, chunk))

    def work(start: int) -> dict[int, str]:
        bad = {}
        for i in range(start, min(start + chunk, n)):
            if cancel is not None and cancel.is_set():
                break
            try:
                out[i] = load_image(files[i], size, mode)
            except ImageDecodeError as exc:
                bad[i] = exc.reason
        return bad

    workers = workers or max(1, min(4, os.cpu_count() or 1))
    if progress:
        progress(0, n)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nn-decode") as ex:
        futures = [ex.submit(work, s) for s in starts]
        try:
            for k, fut in enumerate(futures):
                while True:
                    if cancel is not None and cancel.is_set():
                        raise LoadCancelled("loading cancelled")
                    try:
                        failures.update(fut.result(timeout=0.1))
                        break
                    except TimeoutError:
                        continue
                if progress:
                    progress(min((k + 1) * chunk, n), n)
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    if cancel is not None and cancel.is_set():
        raise LoadCancelled("loading cancelled")
    return failures


def decode_to_cache(files: list[str], size, mode: str, *, progress=None, cancel=None) -> tuple[np.memmap, dict, str]:
    """Decode into (or reuse) a memory-mapped uint8 cache file; ``(memmap, failures, path)``."""
    h, w = size
    c = 1 if mode == "L" else 3
    shape = (len(files), h, w, c)
    d = cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create image cache folder {d}: {os_reason(exc)}") from None
    key = _cache_key(files, size, mode)
    data_path, meta_path = d / f"{key}.u8", d / f"{key}.json"
    if data_path.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("complete") and tuple(meta.get("shape", ())) == shape:
                if progress:
                    progress(len(files), len(files))
                mm = np.memmap(data_path, dtype=np.uint8, mode="r", shape=shape)
                return mm, {int(k): v for k, v in meta.get("failures", {}).items()}, str(data_path)
        except (OSError, ValueError):
            pass
    part = d / f"{key}.u8.{os.getpid()}.partial"
    try:
        mm = np.memmap(part, dtype=np.uint8, mode="w+", shape=shape)
        failures = decode_files(files, size, mode, mm, progress=progress, cancel=cancel)
        mm.flush()
        del mm
        os.replace(part, data_path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DataError(f"cannot write image cache {data_path}: {os_reason(exc)}") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    _atomic_write_json(meta_path, {"complete": True, "shape": list(shape), "mode": mode,
                                   "failures": {str(k): v for k, v in failures.items()}})
    return np.memmap(data_path, dtype=np.uint8, mode="r", shape=shape), failures, str(data_path)


# ---------------------------------------------------------------------------- building data sets
def _channel_stats(src: np.ndarray, rows: np.ndarray, value_max: float) -> tuple[list[float], list[float]]:
    c = src.shape[-1]
    s = np.zeros(c)
    ss = np.zeros(c)
    count = 0
    rows = np.sort(rows)
    for k in range(0, len(rows), 512):
        b = np.asarray(src[rows[k:k + 512]], dtype=np.float64) / value_max
        b = b.reshape(-1, c)
        s += b.sum(0)
        ss += (b * b).sum(0)
        count += len(b)
    mean = s / max(count, 1)
    var = np.maximum(ss / max(count, 1) - mean * mean, 0.0)
    std = np.sqrt(var)
    std = np.where(std > 1e-6, std, 1.0)
    return [float(v) for v in mean], [float(v) for v in std]


def build_image_dataset(src: np.ndarray, y: np.ndarray, class_names: list[str], spec, *, rows_by_split: dict,
                        value_max: float, report: list[dict], memory_budget: int | None,
                        cache_path: str | None = None, mode: str | None = None, extra: dict | None = None,
                        fixed: dict | None = None):
    """Fit scaling on train rows (or apply a saved ``fixed`` one) and produce a Dataset
    over ``src`` (N, H, W, C) -- or a float sequence array (N, L, C) from a .npz file."""
    from engine.data.dataset import Dataset, ImageArray  # noqa: PLC0415
    from engine.data.preprocess import Preprocessor  # noqa: PLC0415

    _n, c = src.shape[0], src.shape[-1]
    spatial = [int(v) for v in src.shape[1:-1]]
    if mode is None and len(spatial) == 2:
        mode = {1: "L", 3: "RGB"}.get(c)
    if fixed is not None:
        prep = dict(fixed)
        # the saved transform's statistics, this source's pixel range
        pre = Preprocessor.from_dict({**fixed, "value_max": float(value_max)})
    else:
        prep = {"version": 1, "kind": "images", "task": "classification", "class_names": list(class_names),
                "image_size": spatial, "mode": mode, "input_shape": [*spatial, int(c)],
                "value_max": float(value_max), "scaling": spec.scaling}
        if spec.scaling == "standard":
            prep["mean"], prep["std"] = _channel_stats(src, rows_by_split["train"], value_max)
        if extra:
            prep.update(extra)
        pre = Preprocessor.from_dict(prep)
        prep = pre.to_dict()
    budget = default_memory_budget() if memory_budget is None else int(memory_budget)
    total = sum(len(r) for r in rows_by_split.values())
    in_ram = cache_path is None and total * int(np.prod(src.shape[1:])) * 4 <= budget
    xs, ys = {}, {}
    for s, rows in rows_by_split.items():
        rows = np.asarray(rows, dtype=np.int64)
        xs[s] = pre.scale_uint8(src[rows]) if in_ram else ImageArray(src, rows, pre)
        ys[s] = np.asarray(y[rows], dtype=np.int64)
    return Dataset(spec=spec, task="classification", input_shape=tuple(src.shape[1:]), n_outputs=len(class_names),
                   class_names=class_names, feature_names=None, preprocessing=prep, report=report,
                   x=xs, y=ys, split_indices={s: np.asarray(r) for s, r in rows_by_split.items()},
                   cache_path=cache_path)


def _drop_empty_classes(y_names: list[str], classes: list[str], report: list[dict], src_name: str):
    present = [c for c in classes if c in set(y_names)]
    for c in classes:
        if c not in present:
            report.append({"file": c, "reason": f"class '{c}' has no readable images; class dropped"})
    if not y_names:
        raise DataError(f"{src_name}: no readable images found (expected one subfolder of images per class)")
    if len(present) < 2:
        raise DataError(f"{src_name}: only one class ('{present[0]}') has images; "
                        f"classification needs at least two class subfolders")
    return present


def load_image_folder(spec, *, progress=None, cancel=None, memory_budget=None, fixed: dict | None = None):
    scan = _scan(spec.path)
    root = scan["root"]
    if fixed is not None:
        if fixed.get("kind") != "images" or fixed.get("mode") not in ("L", "RGB"):
            raise DataError(f"{root}: the saved preprocessing is not for image files")
        known = set(fixed["class_names"])
        unknown = [f for f in scan["files"] if f[1] not in known]
        scan["skipped"] += [{"file": f, "reason": f"class '{c}' was not in the training data"} for f, c, _ in unknown]
        scan["info"] = [i for i, f in zip(scan["info"], scan["files"]) if f[1] in known]
        scan["files"] = [f for f in scan["files"] if f[1] in known]
        scan["classes"] = list(fixed["class_names"])
    if not scan["files"]:
        raise DataError(f"{root}: no images found (expected one subfolder of PNG/JPEG/BMP/GIF images per class)")
    proposed_size, all_gray = _propose(scan)
    size = tuple(spec.image_size) if spec.image_size is not None else proposed_size
    gray = all_gray if spec.grayscale is None else bool(spec.grayscale)
    if fixed is not None:
        size, gray = tuple(fixed["image_size"]), fixed["mode"] == "L"
    mode = "L" if gray else "RGB"
    c = 1 if gray else 3
    files = [f for f, _, _ in scan["files"]]
    n = len(files)
    budget = default_memory_budget() if memory_budget is None else int(memory_budget)
    need = n * size[0] * size[1] * c * 4
    cache_path = None
    if need <= budget:
        src = np.zeros((n, size[0], size[1], c), dtype=np.uint8)
        failures = decode_files(files, size, mode, src, progress=progress, cancel=cancel)
    else:
        src, failures, cache_path = decode_to_cache(files, size, mode, progress=progress, cancel=cancel)
    report = list(scan["skipped"]) + [{"file": files[i], "reason": r} for i, r in sorted(failures.items())]
    ok = np.array([i not in failures for i in range(n)], dtype=bool)
    names = [cls for (_, cls, _), good in zip(scan["files"], ok) if good]
    if fixed is not None:
        if not names:
            raise DataError(f"{root}: no readable images found")
        classes = list(fixed["class_names"])
    else:
        classes = _drop_empty_classes(names, scan["classes"], report, root)
    min_train = 1 if fixed is not None else 2
    index = {c_: i for i, c_ in enumerate(classes)}
    y = np.full(n, -1, dtype=np.int64)
    for i, (_, cls, _) in enumerate(scan["files"]):
        if ok[i]:
            y[i] = index.get(cls, -1)
    usable = ok & (y >= 0)
    split_of = np.array([s for _, _, s in scan["files"]], dtype=object)
    rows: dict[str, np.ndarray] = {}
    if scan["layout"] == "classes":
        pos = np.flatnonzero(usable)
        sp = split_indices(len(pos), spec.val_split, spec.test_split, spec.seed, y[pos], what=root,
                           min_train=min_train)
        rows = {s: pos[v] for s, v in sp.items()}
    else:
        train_pos = np.flatnonzero(usable & (split_of == "train"))
        have_val = bool(np.any(usable & (split_of == "val")))
        have_test = bool(np.any(usable & (split_of == "test")))
        val_frac = 0.0 if have_val else spec.val_split
        test_frac = 0.0 if have_test else spec.test_split
        if val_frac + test_frac > 0:
            sp = split_indices(len(train_pos), val_frac, test_frac, spec.seed, y[train_pos], what=f"{root}/train",
                               min_train=min_train)
            rows = {s: train_pos[v] for s, v in sp.items()}
        else:
            split_counts(len(train_pos), 0.0, 0.0, what=f"{root}/train", min_train=min_train)
            rows = {"train": train_pos, "val": train_pos[:0], "test": train_pos[:0]}
        if have_val:
            rows["val"] = np.flatnonzero(usable & (split_of == "val"))
        if have_test:
            rows["test"] = np.flatnonzero(usable & (split_of == "test"))
    return build_image_dataset(src, y, classes, spec, rows_by_split=rows, value_max=255.0, report=report,
                               memory_budget=budget, cache_path=cache_path, mode=mode,
                               extra={"layout": scan["layout"]}, fixed=fixed)


def transform_images(pre, paths: list[str]) -> np.ndarray:
    """Image files -> float32 (N, H, W, C) model input of the fitted
    :class:`~engine.data.preprocess.Preprocessor` ``pre``, decoded exactly as in training."""
    pre._image_check()
    size = tuple(pre.d["image_size"])
    mode = pre.d["mode"]
    h, w = size
    u8 = np.zeros((len(paths), h, w, 1 if mode == "L" else 3), dtype=np.uint8)
    for i, p in enumerate(paths):
        try:
            u8[i] = load_image(p, size, mode)
        except ImageDecodeError as exc:
            raise DataError(f"{p}: {exc.reason}") from None
    return pre.scale_uint8(u8, 255.0)
