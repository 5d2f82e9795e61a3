"""Image folders: modes, corrupt/hidden files, layouts, caching, predict transform, errors."""
import os
import threading

import numpy as np
import pytest
from PIL import Image

from engine.data import (
    DataError,
    DataSpec,
    ImageArray,
    LoadCancelled,
    Preprocessor,
    load_dataset,
    load_image,
    scan_image_folder,
)
from engine.data import images as images_mod
from engine.data.images import transform_images
from engine.data.samples import load_shipped


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_CACHE_DIR", str(tmp_path / "cache"))


def _rgb(seed, size=(12, 10)):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)


def make_mixed(root):
    """Two classes, every kind of mode and format, plus junk that must be skipped or ignored."""
    for k, cls in enumerate(("cat", "dog")):
        d = root / cls
        d.mkdir(parents=True)
        base = Image.fromarray(_rgb(k))
        base.convert("L").save(d / "gray.png")
        base.save(d / "rgb.jpg", quality=95)
        base.convert("RGBA").save(d / "rgba.png")
        base.convert("P").save(d / "pal.gif")
        base.convert("CMYK").save(d / "cmyk.jpg")
        base.save(d / "bitmap.bmp")
        Image.fromarray(np.asarray(base.convert("L")).astype(np.uint16) * 257).save(d / "deep16.png")
        frames = [base, Image.fromarray(255 - np.asarray(base))]
        frames[0].save(d / "anim.gif", save_all=True, append_images=frames[1:])
        base.save(d / "no_extension", format="PNG")  # recognised by content, not by name
    # junk
    (root / "cat" / ".DS_Store").write_bytes(b"\x00\x01junk")
    (root / "cat" / "Thumbs.db").write_bytes(b"junk")
    (root / "cat" / "._rgb.jpg").write_bytes(b"junk")
    (root / "dog" / "notes.txt").write_text("not an image")
    good = (root / "dog" / "rgb.jpg").read_bytes()
    (root / "dog" / "truncated.jpg").write_bytes(good[: len(good) // 3])
    png = (root / "dog" / "gray.png").read_bytes()
    (root / "dog" / "broken.png").write_bytes(png[:40] + b"\x00" * 30)
    (root / "README.md").write_text("root files are ignored")
    (root / ".hidden_class").mkdir()
    base.save(root / ".hidden_class" / "x.png")


def listing(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_mixed_modes_corrupt_and_hidden(tmp_path):
    root = tmp_path / "pets"
    make_mixed(root)
    before = listing(root)
    info = scan_image_folder(root)
    assert info["classes"] == ["cat", "dog"]
    scan_skipped = {os.path.basename(r["file"]) for r in info["skipped"]}
    assert "notes.txt" in scan_skipped and scan_skipped <= {"notes.txt", "truncated.jpg", "broken.png"}
    assert info["counts"]["cat"] == 9 and info["counts"]["dog"] == 9 + 3 - len(scan_skipped)
    assert all(os.path.basename(p) not in scan_skipped for p in info["samples"]["dog"])
    ds = load_dataset(DataSpec(kind="images", path=str(root), image_size=(8, 8), val_split=0.25))
    skipped = {os.path.basename(r["file"]) for r in ds.report}
    assert skipped == {"notes.txt", "truncated.jpg", "broken.png"}  # decoding finds the rest
    assert all(r["reason"] for r in ds.report)
    assert ds.input_shape == (8, 8, 3)  # some images are colour -> RGB
    assert ds.class_names == ["cat", "dog"]
    assert ds.n("train") + ds.n("val") == 9 + 9  # every good file of both classes, junk ignored
    assert ds.x_train.dtype == np.float32 and np.isfinite(ds.x_train).all()
    assert listing(root) == before  # nothing written into the data folder


def test_modes_decode_to_expected_values(tmp_path):
    arr = _rgb(3)
    gray = np.asarray(Image.fromarray(arr).convert("L"))
    Image.fromarray(arr).convert("RGBA").save(tmp_path / "a.png")
    assert np.array_equal(load_image(tmp_path / "a.png", None, "RGB"), arr)
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "b.png")
    assert np.array_equal(load_image(tmp_path / "b.png", None, "L")[:, :, 0], gray)
    transparent = np.zeros((4, 4, 4), dtype=np.uint8)
    Image.fromarray(transparent, "RGBA").save(tmp_path / "t.png")
    assert np.all(load_image(tmp_path / "t.png", None, "RGB") == 255)  # alpha composited on white
    frames = [Image.fromarray(np.full((5, 5), v, dtype=np.uint8)).convert("P") for v in (10, 200)]
    frames[0].save(tmp_path / "g.gif", save_all=True, append_images=frames[1:])
    assert np.all(np.abs(load_image(tmp_path / "g.gif", (3, 3), "L").astype(int) - 10) <= 1)  # first frame
    assert load_image(tmp_path / "a.png", (5, 7), "L").shape == (5, 7, 1)


def test_exif_orientation_applied(tmp_path):
    arr = np.zeros((2, 6, 3), dtype=np.uint8)
    arr[:, :3] = 255  # white left half, wide image
    im = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    im.save(tmp_path / "o.jpg", exif=exif, quality=100)
    out = load_image(tmp_path / "o.jpg", None, "RGB")
    assert out.shape == (6, 2, 3)  # tall after rotation
    assert out[0].mean() > 200 and out[-1].mean() < 50  # white end on top


def test_mutated_files_decode_or_are_skipped(tmp_path):
    """Broken files of every format give ImageDecodeError (-> skipped), never another exception."""
    import io

    rng = np.random.default_rng(0)
    base = Image.fromarray(_rgb(1, (16, 20)))
    blobs = []
    for fmt in ("PNG", "JPEG", "GIF", "BMP"):
        b = io.BytesIO()
        base.save(b, format=fmt)
        blobs.append(b.getvalue())
    outcomes = set()
    for it in range(240):
        a = bytearray(blobs[it % len(blobs)])
        for _ in range(int(rng.integers(1, 6))):
            a[int(rng.integers(0, len(a)))] = int(rng.integers(0, 256))
        if it % 3 == 0:
            a = a[: int(rng.integers(1, len(a)))]
        (tmp_path / "f").write_bytes(bytes(a))
        try:
            assert load_image(tmp_path / "f", (8, 8), "L").shape == (8, 8, 1)
            outcomes.add("ok")
        except images_mod.ImageDecodeError as exc:
            assert isinstance(exc, DataError) and str(exc).startswith("f: ") and "\n" not in str(exc)
            assert exc.reason and "\n" not in exc.reason
            outcomes.add("skip")
    assert outcomes == {"ok", "skip"}


def test_decompression_bomb_guard(tmp_path, monkeypatch):
    Image.new("L", (100, 100)).save(tmp_path / "big.png")
    monkeypatch.setattr(images_mod, "MAX_PIXELS", 5000)
    with pytest.raises(images_mod.ImageDecodeError, match="decompression-bomb"):
        load_image(tmp_path / "big.png", (8, 8), "L")


def write_digits(root, n=300, layout="classes"):
    d = load_shipped("digits")
    x, y = d["x"][:n], d["y"][:n]
    for i in range(n):
        sub = root / (("train" if i % 5 else "test") if layout == "train/test" else "") / d["class_names"][y[i]]
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray((x[i, :, :, 0].astype(np.float64) * 255 / 16).round().astype(np.uint8)).save(
            sub / f"img{i}.png")
    return x, y


def test_digits_png_folder_matches_sample(tmp_path):
    root = tmp_path / "digits"
    x, y = write_digits(root)
    ds = load_dataset(DataSpec(kind="images", path=str(root), scaling="minmax", val_split=0.2, test_split=0.1))
    assert ds.input_shape == (8, 8, 1)  # all same small size and grayscale: kept
    assert ds.class_names == [str(i) for i in range(10)]
    files = sorted(root.rglob("*.png"), key=lambda p: (int(p.parent.name), int(p.stem[3:])))
    for s in ("train", "val", "test"):
        for row, pos in zip(ds.x(s), ds.split_indices[s]):
            i = int(files[pos].stem[3:])
            assert np.abs(row - x[i] / 16.0).max() <= 0.5 / 255 + 1e-6
        assert np.array_equal(ds.y(s), [y[int(files[p].stem[3:])] for p in ds.split_indices[s]])
    counts = ds.summary()["class_counts"]
    for name in ds.class_names:  # stratified
        total = sum(counts[s][name] for s in counts)
        assert abs(counts["val"][name] - 0.2 * total) <= 1
    # predict path: same decoding and scaling from the saved preprocessing
    pre = Preprocessor.from_dict(ds.preprocessing)
    paths = [str(files[p]) for p in ds.split_indices["val"][:5]]
    assert np.allclose(transform_images(pre, paths), ds.x_val[:5])
    assert pre.decode(ds.y_val[:2]) == [ds.class_names[i] for i in ds.y_val[:2]]


def test_standard_scaling_stats_from_train(tmp_path):
    root = tmp_path / "digits"
    write_digits(root, 120)
    ds = load_dataset(DataSpec(kind="images", path=str(root)))
    assert ds.preprocessing["scaling"] == "standard"
    assert abs(float(ds.x_train.mean())) < 1e-4 and abs(float(ds.x_train.std()) - 1) < 1e-3
    assert len(ds.preprocessing["mean"]) == 1


def test_train_test_layout(tmp_path):
    root = tmp_path / "split"
    write_digits(root, 200, layout="train/test")
    info = scan_image_folder(root)
    assert info["layout"] == "train/test" and info["split_counts"] == {"train": 160, "test": 40}
    ds = load_dataset(DataSpec(kind="images", path=str(root), val_split=0.25, test_split=0.3))
    assert ds.n("test") == 40  # from test/, test_split is not used
    assert ds.n("train") + ds.n("val") == 160 and ds.n("val") == 40


def test_resize_and_grayscale_choice(tmp_path):
    root = tmp_path / "sizes"
    for cls, size in (("a", (40, 30)), ("b", (50, 20))):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(_rgb(i, size)).save(root / cls / f"{i}.png")
    ds = load_dataset(DataSpec(kind="images", path=str(root), val_split=0.25))
    assert ds.input_shape == (32, 32, 3)  # mixed sizes, colour -> default 32x32 RGB
    ds = load_dataset(DataSpec(kind="images", path=str(root), val_split=0.25, grayscale=True, image_size=(10, 12)))
    assert ds.input_shape == (10, 12, 1)
    assert ds.preprocessing["mode"] == "L" and ds.preprocessing["image_size"] == [10, 12]


def test_memory_mapped_cache_matches_in_memory(tmp_path, monkeypatch):
    root = tmp_path / "digits"
    write_digits(root, 150)
    spec = DataSpec(kind="images", path=str(root), test_split=0.2)
    ram = load_dataset(spec)
    seen = []
    mm = load_dataset(spec, memory_budget=0, progress=lambda d, t: seen.append((d, t)))
    assert isinstance(mm.x_train, ImageArray) and mm.x_train.is_memmap and mm.cache_path
    assert not mm.cache_path.startswith(str(root)) and str(tmp_path / "cache") in mm.cache_path
    assert seen[-1] == (150, 150) and seen[0][0] == 0
    assert mm.x_train.shape == ram.x_train.shape and len(mm.x_val) == len(ram.x_val)
    idx = np.array([5, 0, 17, 5])
    xb, yb = mm.get_batch("train", idx)
    assert xb.dtype == np.float32 and np.allclose(xb, ram.x_train[idx]) and np.array_equal(yb, ram.y_train[idx])
    assert np.allclose(np.asarray(mm.x_test), ram.x_test)
    assert mm.preprocessing == ram.preprocessing
    # a second load reuses the finished cache without decoding
    monkeypatch.setattr(images_mod, "decode_files", lambda *a, **k: pytest.fail("decoded again"))
    again = load_dataset(spec, memory_budget=0)
    assert again.cache_path == mm.cache_path and np.allclose(again.x_val[:3], ram.x_val[:3])


def test_cancel_stops_loading_and_leaves_no_partial_cache(tmp_path):
    root = tmp_path / "digits"
    write_digits(root, 300)
    cancel = threading.Event()

    def progress(done, total):
        if done > 0:
            cancel.set()

    with pytest.raises(LoadCancelled):
        load_dataset(DataSpec(kind="images", path=str(root)), progress=progress, cancel=cancel, memory_budget=0)
    cache = tmp_path / "cache" / "image-cache"
    assert not any(p.name.endswith(".partial") for p in cache.iterdir())
    assert not any(p.suffix == ".json" for p in cache.iterdir())
    assert isinstance(LoadCancelled("x"), DataError)


# ---------------------------------------------------------------- errors
def test_error_no_images(tmp_path):
    (tmp_path / "empty" / "a").mkdir(parents=True)
    (tmp_path / "empty" / "a" / "x.txt").write_text("hi")
    with pytest.raises(DataError, match="no images found"):
        load_dataset(DataSpec(kind="images", path=str(tmp_path / "empty")))
    Image.new("L", (4, 4)).save(tmp_path / "empty" / "flat.png")  # images not in class folders
    with pytest.raises(DataError, match="no images found"):
        load_dataset(DataSpec(kind="images", path=str(tmp_path / "empty")))


def test_error_one_class(tmp_path):
    (tmp_path / "one" / "only").mkdir(parents=True)
    for i in range(5):
        Image.new("L", (4, 4), i).save(tmp_path / "one" / "only" / f"{i}.png")
    (tmp_path / "one" / "broken").mkdir()
    (tmp_path / "one" / "broken" / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(DataError, match=r"only one class \('only'\)"):
        load_dataset(DataSpec(kind="images", path=str(tmp_path / "one")))


def test_error_missing_folder_and_too_few(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_dataset(DataSpec(kind="images", path=str(tmp_path / "nope")))
    root = tmp_path / "few"
    for c in "ab":
        (root / c).mkdir(parents=True)
        Image.new("L", (4, 4)).save(root / c / "x.png")
    with pytest.raises(DataError, match="too few rows"):
        load_dataset(DataSpec(kind="images", path=str(root), test_split=0.3))


def test_predict_unreadable_file_is_dataerror(tmp_path):
    ds = load_dataset(DataSpec(kind="sample", path="digits"))
    pre = Preprocessor.from_dict(ds.preprocessing)
    (tmp_path / "bad.png").write_text("nope")
    with pytest.raises(DataError, match="bad.png"):
        transform_images(pre, [str(tmp_path / "bad.png")])
    with pytest.raises(DataError, match="takes images"):
        pre.transform_frame(__import__("pandas").DataFrame({"a": [1]}))
