"""Seeded train/validation/test splitting (stratified for classes) and natural sorting."""
from __future__ import annotations

import re
import unicodedata

import numpy as np

from engine.data.errors import DataError

_CHUNK = re.compile(r"(\d+)")


def natural_key(s: str) -> tuple:
    """Sort key: case-folded, accent-stripped text with digit runs compared as numbers
    ("img2" < "img10", "été" < "hiver").

    Ties (names equal after folding) are broken by the raw string, so the order is
    total and deterministic.
    """
    parts = []
    for i, chunk in enumerate(_CHUNK.split(str(s))):
        if i % 2:
            parts.append((1, int(chunk), ""))
        elif chunk:
            folded = unicodedata.normalize("NFKD", chunk.casefold())
            parts.append((0, 0, "".join(ch for ch in folded if not unicodedata.combining(ch))))
    return (tuple(parts), str(s))


def natural_sorted(items) -> list[str]:
    return sorted((str(i) for i in items), key=natural_key)


def split_counts(n: int, val_split: float, test_split: float, *, what: str = "data",
                 min_train: int = 2) -> tuple[int, int, int]:
    """(n_train, n_val, n_test); a non-zero fraction always gets at least one row."""
    n_test = max(1, int(round(n * test_split))) if test_split > 0 else 0
    n_val = max(1, int(round(n * val_split))) if val_split > 0 else 0
    n_train = n - n_val - n_test
    if n_train < min_train:
        need = min_train + (1 if val_split > 0 else 0) + (1 if test_split > 0 else 0)
        raise DataError(f"{what}: too few rows ({n}) for a validation split of {val_split:g} and a test split of "
                        f"{test_split:g}; need at least {max(need, n + min_train - n_train)} rows")
    return n_train, n_val, n_test


def _spread(m: int, k: int, u: float) -> np.ndarray:
    """k positions spread evenly over range(m) with a random phase u in [0, 1)."""
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    pos = np.floor((np.arange(k) + u) * (m / k)).astype(np.int64)
    return np.minimum(pos, m - 1)


def split_indices(n: int, val_split: float, test_split: float, seed: int,
                  y: np.ndarray | None = None, *, what: str = "data", min_train: int = 2) -> dict[str, np.ndarray]:
    """Sorted row indices per split.  With class labels ``y`` the split is stratified:
    each class's share in every split is within one row of proportional."""
    n_train, n_val, n_test = split_counts(n, val_split, test_split, what=what, min_train=min_train)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    if y is not None:
        # group by class (stable, so rows stay shuffled within a class); evenly spaced
        # picks over this order then take each class in proportion.
        perm = perm[np.argsort(np.asarray(y)[perm], kind="stable")]
    taken = np.zeros(n, dtype=bool)
    test_pos = _spread(n, n_test, rng.random())
    taken[test_pos] = True
    rest = np.flatnonzero(~taken)
    val_pos = rest[_spread(len(rest), n_val, rng.random())]
    is_val = np.zeros(n, dtype=bool)
    is_val[val_pos] = True
    train_pos = np.flatnonzero(~taken & ~is_val)
    out = {"train": np.sort(perm[train_pos]), "val": np.sort(perm[val_pos]), "test": np.sort(perm[test_pos])}
    assert len(out["train"]) == n_train
    return out
