"""Image folders (``kind="images"``): one subfolder per class (``engine.data.images``)."""
from __future__ import annotations

import os

from engine.data.sources.base import PATH_FOLDER, PREVIEW_IMAGES, DataSource, SavedForm

THUMBS_PER_CLASS = 6
THUMB_SIZE = (48, 48)


def load(spec, *, progress=None, cancel=None, memory_budget=None, fixed=None):
    from engine.data.images import load_image_folder  # noqa: PLC0415

    return load_image_folder(spec, progress=progress, cancel=cancel, memory_budget=memory_budget, fixed=fixed)


def preview(spec, cancel=None):
    """``("images", scan_image_folder(...), {class: [thumbnail uint8 arrays]})``."""
    from engine.data.images import load_image, scan_image_folder  # noqa: PLC0415

    scan = scan_image_folder(spec.path)
    thumbs = {}
    mode = "L" if scan.get("grayscale") else "RGB"
    for cls, paths in (scan.get("samples") or {}).items():
        if cancel is not None and cancel.is_set():
            break
        imgs = []
        for p in paths[:THUMBS_PER_CLASS]:
            try:
                imgs.append(load_image(p, size=THUMB_SIZE, mode=mode))
            except (ValueError, OSError):
                continue
        thumbs[cls] = imgs
    return (PREVIEW_IMAGES, scan, thumbs)


SOURCE = DataSource(
    kind="images", label="Image folder", load=load, path=PATH_FOLDER, preview=preview,
    dialog_title="Image folder (one subfolder per class)",
    claim=lambda d: d if os.path.isdir(d) else None,
    options=("task", "val_split", "test_split", "seed", "scaling", "image_size", "grayscale"),
)

IMAGE_FORM = SavedForm(kind="images", predict_input="image", folder=True)
