"""Row labels for messages ("line 1234", "sheet 'data', row 7"), made only when a message needs one.

A 10-million-row CSV used to carry one Python string per row (about 70 bytes each) from the parse
to the end of the load, only so that an error could name its row. :class:`RowLabels` keeps the
row numbers (8 bytes each) and a fixed prefix; indexing with one position gives the text, indexing
with a slice, an index array or a mask gives the labels of those rows.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class RowLabels(Sequence):
    def __init__(self, numbers, prefix: str = "line "):
        self.numbers = np.asarray(numbers, dtype=np.int64).reshape(-1)
        self.prefix = str(prefix)

    def __len__(self) -> int:
        return int(self.numbers.shape[0])

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            return f"{self.prefix}{int(self.numbers[i])}"
        return RowLabels(self.numbers[i], self.prefix)

    def __array__(self, dtype=None, copy=None):
        return np.array(self.tolist(), dtype=object)

    def tolist(self) -> list[str]:
        return [f"{self.prefix}{int(n)}" for n in self.numbers.tolist()]

    def __eq__(self, other) -> bool:
        return list(self) == list(other)

    def __repr__(self) -> str:
        return f"RowLabels({len(self)} rows, prefix={self.prefix!r})"


def as_row_labels(labels, n: int):
    """``labels`` for indexing (a :class:`RowLabels` stays lazy); ``None``: "row 1" … "row n"."""
    if labels is None:
        return RowLabels(np.arange(1, n + 1), "row ")
    if isinstance(labels, RowLabels):
        return labels
    return np.asarray(labels, dtype=object)
