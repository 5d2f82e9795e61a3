"""PNG pictures of an explanation, drawn with Pillow (no Qt): heat maps, bar charts, map grids.

Colours: signed values (saliency, importance, unit maps with negative values) on a
blue–white–red scale symmetric about 0; activations and unsigned unit maps (ReLU,
probabilities) on a dark-blue–yellow scale between their minimum and maximum.
Every write is atomic (engine.io).
"""
from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.io import atomic_write_bytes

#: feature maps shown per conv layer (the first ones) and the size they are drawn at
MAX_MAPS = 64
CELL = 64

_SEQ = np.array([[0.27, 0.00, 0.33], [0.23, 0.32, 0.55], [0.13, 0.57, 0.55], [0.37, 0.79, 0.38],
                 [0.99, 0.91, 0.14]])           # viridis-like anchors


def sequential_rgb(a: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    a = np.nan_to_num(np.asarray(a, dtype=np.float64))
    lo = float(a.min()) if lo is None else lo
    hi = float(a.max()) if hi is None else hi
    t = np.clip((a - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(a)
    pos = t * (len(_SEQ) - 1)
    i = np.minimum(pos.astype(int), len(_SEQ) - 2)
    f = (pos - i)[..., None]
    rgb = _SEQ[i] * (1 - f) + _SEQ[i + 1] * f
    return (rgb * 255).astype(np.uint8)


def diverging_rgb(a: np.ndarray, scale: float | None = None) -> np.ndarray:
    a = np.nan_to_num(np.asarray(a, dtype=np.float64))
    s = float(np.abs(a).max()) if scale is None else scale
    t = np.clip(a / s, -1, 1) if s > 0 else np.zeros_like(a)
    white = np.ones(a.shape + (3,))
    red = np.array([0.80, 0.10, 0.15])
    blue = np.array([0.13, 0.35, 0.75])
    pos = np.clip(t, 0, 1)[..., None]
    neg = np.clip(-t, 0, 1)[..., None]
    rgb = white * (1 - pos - neg) + red * pos + blue * neg
    return (rgb * 255).astype(np.uint8)


def _font():
    return ImageFont.load_default()


def _save(img: Image.Image, path: Path) -> Path:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
    return path


def _upscale(rgb: np.ndarray, size: int) -> Image.Image:
    h, w = rgb.shape[:2]
    k = max(1, size // max(h, w))
    return Image.fromarray(rgb).resize((w * k, h * k), Image.NEAREST)


def _display_image(x: np.ndarray) -> np.ndarray:
    """An (H, W, C) model input as RGB for display (min–max stretched)."""
    x = np.asarray(x, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    t = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    if t.shape[-1] == 1:
        t = np.repeat(t, 3, axis=-1)
    elif t.shape[-1] != 3:
        t = np.repeat(t.mean(axis=-1, keepdims=True), 3, axis=-1)
    return (t * 255).astype(np.uint8)


def map_grid(maps: np.ndarray, cell: int = CELL, cols: int | None = None, signed: bool = False) -> Image.Image:
    """(k, H, W) maps side by side, one colour scale for all of them."""
    maps = np.asarray(maps, dtype=np.float64)
    k = len(maps)
    cols = cols or max(1, int(math.ceil(math.sqrt(k))))
    rows = int(math.ceil(k / cols))
    gap = 2
    tiles = [_upscale(diverging_rgb(m, float(np.abs(maps).max())) if signed else
                      sequential_rgb(m, float(maps.min()), float(maps.max())), cell) for m in maps]
    tw, th = tiles[0].size
    img = Image.new("RGB", (cols * (tw + gap) + gap, rows * (th + gap) + gap), (255, 255, 255))
    for i, t in enumerate(tiles):
        img.paste(t, (gap + (i % cols) * (tw + gap), gap + (i // cols) * (th + gap)))
    return img


def bars(names: list[str], values, errors=None, title: str = "", width: int = 640) -> Image.Image:
    """Horizontal bars for signed values (with optional ± error bars), one row per name."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64))
    errors = None if errors is None else np.nan_to_num(np.asarray(errors, dtype=np.float64))
    font = _font()
    row, left, pad = 18, 180, 10
    n = len(values)
    img = Image.new("RGB", (width, pad * 2 + row * (n + 1)), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.text((pad, pad), title, fill=(0, 0, 0), font=font)
    span = float(np.max(np.abs(values) + (errors if errors is not None else 0))) if n else 0.0
    span = span or 1.0
    plot_w = width - left - pad
    zero = left + plot_w // 2
    for i, (name, v) in enumerate(zip(names, values)):
        y = pad + row * (i + 1)
        d.text((pad, y + 2), _short(str(name), 28), fill=(0, 0, 0), font=font)
        x1 = zero + int(v / span * plot_w / 2)
        colour = (204, 26, 38) if v >= 0 else (33, 89, 191)
        d.rectangle([min(zero, x1), y + 3, max(zero, x1), y + row - 3], fill=colour)
        if errors is not None:
            e = int(errors[i] / span * plot_w / 2)
            d.line([x1 - e, y + row // 2, x1 + e, y + row // 2], fill=(0, 0, 0), width=1)
            d.line([x1 - e, y + 4, x1 - e, y + row - 4], fill=(0, 0, 0))
            d.line([x1 + e, y + 4, x1 + e, y + row - 4], fill=(0, 0, 0))
    d.line([zero, pad + row, zero, pad + row * (n + 1)], fill=(120, 120, 120))
    return img


def strip(values: np.ndarray, cell: int = 12, signed: bool = False) -> Image.Image:
    """A (D,) vector as one row of coloured cells, or (L, D) as L rows."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[None]
    rgb = diverging_rgb(v) if signed else sequential_rgb(v)
    return Image.fromarray(rgb).resize((v.shape[1] * cell, v.shape[0] * cell), Image.NEAREST)


def token_strip(tokens, values, cell: int = 36) -> Image.Image:
    """Token ids in boxes coloured by their (signed) attribution, 16 per line."""
    tokens = [str(t) for t in tokens]
    rgb = diverging_rgb(np.asarray(values, dtype=np.float64).reshape(-1))
    per_line = 16
    lines = max(1, int(math.ceil(len(tokens) / per_line)))
    img = Image.new("RGB", (min(len(tokens), per_line) * (cell + 2) + 2, lines * (cell // 2 + 8) + 2), (255, 255, 255))
    d = ImageDraw.Draw(img)
    font = _font()
    for i, (t, c) in enumerate(zip(tokens, rgb)):
        x = 2 + (i % per_line) * (cell + 2)
        y = 2 + (i // per_line) * (cell // 2 + 8)
        d.rectangle([x, y, x + cell, y + cell // 2 + 4], fill=tuple(int(v) for v in c))
        d.text((x + 3, y + 3), _short(t, 6), fill=(0, 0, 0), font=font)
    return img


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def safe_name(text: str) -> str:
    """A node id or name as a file name part (letters, digits, - and _ only)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text)[:60] or "node"


def write_pngs(result: dict, out_dir, max_maps: int = MAX_MAPS) -> list[Path]:
    """The pictures of :func:`engine.explain.report.explain`'s result into ``out_dir``."""
    out = Path(out_dir)
    written: list[Path] = []
    sal = result.get("saliency")
    acts = result.get("activations") or []
    x = result["sample"]["input"] if result.get("sample") else None
    if sal is not None and x is not None:
        a = np.asarray(sal["attributions"], dtype=np.float64)
        if a.ndim == 3:                      # an image: the input beside the heat map (channels summed)
            heat = _upscale(diverging_rgb(a.sum(axis=-1)), 256)
            pic = _upscale(_display_image(x), 256)
            img = Image.new("RGB", (pic.width + heat.width + 6, max(pic.height, heat.height)), (255, 255, 255))
            img.paste(pic, (0, 0))
            img.paste(heat, (pic.width + 6, 0))
        elif acts and sal.get("where") != acts[0]["id"]:   # token ids: attributions per token
            img = token_strip([int(t) for t in np.asarray(x).reshape(-1)], a)
        elif "groups" in sal:
            g = sal["groups"]
            img = bars([r["name"] for r in g], [r["value"] for r in g], title=f"saliency, class {sal['target']}")
        else:                                # table rows without names, per-token values, sequences
            img = strip(a.reshape(a.shape[0], -1) if a.ndim > 1 else a, cell=16, signed=True)
        written.append(_save(img, out / "saliency.png"))
    imp = result.get("importance")
    if imp:
        f = imp["features"]
        written.append(_save(bars([r["name"] for r in f], [r["importance"] for r in f], [r["std"] for r in f],
                                  title=f"permutation importance ({imp['metric']}, {imp['repeats']} repeats)"),
                             out / "importance.png"))
    if acts:
        (out / "activations").mkdir(exist_ok=True)
    for i, a in enumerate(acts):
        v = np.asarray(a["values"], dtype=np.float64)
        if a["kind"] == "maps":
            img = map_grid(np.moveaxis(v, -1, 0)[:max_maps])
        elif a["kind"] == "sequence":
            img = strip(v, cell=8)
        else:
            img = strip(v, cell=12)
        written.append(_save(img, out / "activations" / f"{i:02d}_{safe_name(a['id'])}.png"))
        if "attention" in a:
            att = np.asarray(a["attention"])
            written.append(_save(map_grid(att, cell=128, cols=len(att)),
                                 out / "activations" / f"{i:02d}_{safe_name(a['id'])}_attention.png"))
    um = result.get("unit_maps")
    if um:
        (out / "unit_maps").mkdir(exist_ok=True)
        for layer in um["layers"]:
            maps = np.asarray(layer["maps"])[:, ::-1]   # row 0 at the top is the largest y
            written.append(_save(map_grid(maps, cell=96, signed=bool(maps.min() < 0)), out / "unit_maps" / f"{safe_name(layer['id'])}.png"))
    return written
