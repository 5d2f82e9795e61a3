"""Built-in samples: seeded 2-D toy problems and small real data sets shipped as .npz.

Nothing is downloaded.  The real data sets were generated once from scikit-learn by
``resources/samples/make_samples.py`` (see ``docs/data.md`` for sources and licences).  The
text samples (``sentiment``, ``sentiment_zh``: short film reviews, positive/negative) are
*generated* from templates by ``resources/samples/make_text_samples.py``, not collected.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

from engine.data.errors import DataError

TOY_NAMES = ("xor", "circles", "moons", "spirals", "blobs")
SHIPPED_NAMES = ("digits", "iris", "wine", "breast_cancer")
SERIES_NAMES = ("seasonal",)      # time series, shipped as CSV (engine.data.timeseries)
TEXT_SAMPLES = ("sentiment", "sentiment_zh")
SAMPLE_NAMES = TOY_NAMES + SHIPPED_NAMES + TEXT_SAMPLES
SAMPLE_NAMES += SERIES_NAMES
IMAGE_SAMPLES = ("digits",)
CLASS_COLUMN = "class"


def samples_dir() -> Path:
    try:
        import resources  # noqa: PLC0415

        base = Path(resources.__file__).resolve().parent
    except ImportError:  # pragma: no cover - running from an unusual layout
        base = Path(__file__).resolve().parents[2] / "resources"
    return base / "samples"


def _per_class(n: int, k: int) -> list[int]:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def make_toy(name: str, n_samples: int = 500, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(x float64 (N, 2), y int64 (N,))`` for one toy problem; same seed, same data.

    ``noise`` is the standard deviation of Gaussian jitter added to every point (for
    ``spirals`` half of it, since the arms are close; for ``blobs`` it widens the
    clusters: std = 0.2 + noise).  Points lie roughly in [-1.5, 1.5].
    """
    if name not in TOY_NAMES:
        raise DataError(f"unknown toy sample '{name}' (expected one of {', '.join(TOY_NAMES)})")
    rng = np.random.default_rng(seed)
    n = int(n_samples)
    xs, ys = [], []
    if name == "xor":
        for c, m in enumerate(_per_class(n, 2)):  # class 1 where the signs differ
            mag = rng.uniform(0.0, 1.0, size=(m, 2))
            s1 = rng.choice([-1.0, 1.0], size=m)
            p = mag * np.c_[s1, -s1 if c else s1]
            xs.append(p + rng.normal(0.0, noise, size=p.shape))
            ys.append(np.full(m, c))
    elif name == "circles":
        for c, (m, r) in enumerate(zip(_per_class(n, 2), (1.0, 0.5))):
            t = rng.uniform(0.0, 2 * np.pi, m)
            xs.append(np.c_[r * np.cos(t), r * np.sin(t)] + rng.normal(0.0, noise, (m, 2)))
            ys.append(np.full(m, c))
    elif name == "moons":
        m0, m1 = _per_class(n, 2)
        t0, t1 = rng.uniform(0.0, np.pi, m0), rng.uniform(0.0, np.pi, m1)
        xs.append(np.c_[np.cos(t0) - 0.5, np.sin(t0) - 0.25] + rng.normal(0.0, noise, (m0, 2)))
        xs.append(np.c_[0.5 - np.cos(t1), 0.25 - np.sin(t1)] + rng.normal(0.0, noise, (m1, 2)))
        ys = [np.zeros(m0), np.ones(m1)]
    elif name == "spirals":
        for c, m in enumerate(_per_class(n, 2)):
            t = np.sqrt(rng.uniform(0.02, 1.0, m)) * 2.5 * np.pi   # one turn and a quarter per arm
            r = t / (2.5 * np.pi)
            a = t + c * np.pi
            # arms are only 0.4 apart, so the jitter is halved to keep noise=0.1 learnable
            xs.append(np.c_[r * np.cos(a), r * np.sin(a)] + rng.normal(0.0, 0.5 * noise, (m, 2)))
            ys.append(np.full(m, c))
    else:  # blobs
        angles = np.deg2rad([90.0, 210.0, 330.0])
        for c, m in enumerate(_per_class(n, 3)):
            centre = np.array([np.cos(angles[c]), np.sin(angles[c])])
            xs.append(centre + rng.normal(0.0, 0.2 + noise, (m, 2)))
            ys.append(np.full(m, c))
    x = np.concatenate(xs).astype(np.float64)
    y = np.concatenate(ys).astype(np.int64)
    perm = rng.permutation(len(y))
    return x[perm], y[perm]


def _json_names(z, key: str) -> list[str] | None:
    if key not in z.files:
        return None
    try:
        names = json.loads(str(z[key][()]))
    except (ValueError, TypeError):
        raise DataError(f"sample file: '{key}' is not a JSON list") from None
    if not isinstance(names, list):
        raise DataError(f"sample file: '{key}' is not a JSON list")
    return [str(v) for v in names]


def load_shipped(name: str) -> dict:
    """``{"x", "y", "class_names", "feature_names", "source"}`` from ``resources/samples/<name>.npz``."""
    if name not in SHIPPED_NAMES:
        raise DataError(f"unknown sample '{name}' (expected one of {', '.join(SAMPLE_NAMES)})")
    path = samples_dir() / f"{name}.npz"
    if not path.is_file():
        raise DataError(f"sample file {path} is missing from the installation")
    with np.load(path, allow_pickle=False) as z:
        return {"x": z["x"], "y": z["y"].astype(np.int64),
                "class_names": _json_names(z, "class_names"),
                "feature_names": _json_names(z, "feature_names"),
                "source": str(z["source"][()]) if "source" in z.files else ""}


#: the time column of the time-series samples
SERIES_TIME_COLUMN = "time"


def series_frame(name: str) -> pd.DataFrame:
    """A time-series sample (``resources/samples/<name>.csv``, made by ``make_timeseries.py``) as read
    from its CSV file: rows in time order, ``time`` then the measured columns."""
    if name not in SERIES_NAMES:
        raise DataError(f"unknown sample '{name}' (expected one of {', '.join(SAMPLE_NAMES)})")
    path = samples_dir() / f"{name}.csv"
    if not path.is_file():
        raise DataError(f"sample file {path} is missing from the installation")
    from engine.data.csvio import read_csv_frame  # noqa: PLC0415

    return read_csv_frame(path, "utf-8", typed=True)[0]


def sample_frame(name: str, spec) -> pd.DataFrame:
    """A tabular sample as a DataFrame with the class in column ``"class"``."""
    import pandas as pd  # noqa: PLC0415 - only tabular loading needs pandas (not the app's start)

    if name in TOY_NAMES:
        x, y = make_toy(name, spec.n_samples, spec.noise, spec.seed)
        df = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1]})
        df[CLASS_COLUMN] = y
        return df
    if name in TEXT_SAMPLES:
        return text_sample_frame(name)
    d = load_shipped(name)
    df = pd.DataFrame(d["x"].astype(np.float64), columns=d["feature_names"])
    df[CLASS_COLUMN] = np.asarray(d["class_names"], dtype=object)[d["y"]]
    return df


def text_sample_frame(name: str) -> pd.DataFrame:
    """A text sample (``resources/samples/<name>.csv``, UTF-8): columns ``text`` and ``class``."""
    from engine.data.csvio import read_csv_frame  # noqa: PLC0415

    if name not in TEXT_SAMPLES:
        raise DataError(f"unknown sample '{name}' (expected one of {', '.join(SAMPLE_NAMES)})")
    path = samples_dir() / f"{name}.csv"
    if not path.is_file():
        raise DataError(f"sample file {path} is missing from the installation")
    df, _meta, _labels = read_csv_frame(path, "utf-8", typed=True)
    return df
