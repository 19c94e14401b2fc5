"""Index arrays the model is built with: compressed rows (CSR) and ids to positions.

>>> ptr, items = csr(np.array([1, 0, 1]), np.array([7, 8, 9]), 2)
>>> ptr.tolist(), items.tolist()
([0, 1, 3], [8, 7, 9])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["ArrayRows", "IntArray", "csr", "csr_expand", "empty_pairs", "id_codes", "id_index"]

IntArray = npt.NDArray[np.int64]
"""Indices and counts."""

_I = np.int64


class ArrayRows:
    """Arrays of one length held as fields, one row per index (suppliers, arcs): its
    ``len()`` is that length, read from the first field."""

    def __len__(self) -> int:
        return len(next(iter(vars(self).values())))


def empty_pairs() -> tuple[IntArray, IntArray]:
    """Two empty index arrays: no pairs."""
    return np.zeros(0, dtype=_I), np.zeros(0, dtype=_I)


def csr(rows: np.ndarray, items: np.ndarray, n_rows: int) -> tuple[IntArray, IntArray]:
    """Group ``items`` by ``rows`` (values in ``0..n_rows-1``) as CSR ``(ptr, items)``.

    Items keep their relative order within each row (stable).
    """
    order = np.argsort(rows, kind="stable")
    counts = np.bincount(rows, minlength=n_rows) if len(rows) else np.zeros(n_rows, dtype=_I)
    ptr = np.zeros(n_rows + 1, dtype=_I)
    np.cumsum(counts, out=ptr[1:])
    return ptr, items[order].astype(_I, copy=False)


def csr_expand(ptr: np.ndarray, items: np.ndarray, rows: np.ndarray) -> tuple[IntArray, IntArray]:
    """For each entry of ``rows``, every item of that CSR row.

    Returns ``(owner, item)``: ``owner`` indexes ``rows``; both ``int64``.

    Examples
    --------
    >>> ptr, items = np.array([0, 2, 3]), np.array([7, 8, 9])
    >>> [a.tolist() for a in csr_expand(ptr, items, np.array([1, 0]))]
    [[0, 1, 1], [9, 7, 8]]
    """
    rows = rows.astype(_I, copy=False)
    counts = ptr[rows + 1] - ptr[rows]
    total = int(counts.sum())
    if total == 0:
        return empty_pairs()
    owner = np.repeat(np.arange(len(rows), dtype=_I), counts)
    ends = np.cumsum(counts)
    within = np.arange(total, dtype=_I) - np.repeat(ends - counts, counts)
    return owner, items[np.repeat(ptr[rows], counts) + within]


def id_index(ids: pd.Series) -> dict[str, int]:
    """Each id's position in ``ids``."""
    return {v: i for i, v in enumerate(ids.tolist())}


def id_codes(values: pd.Series, index: dict[str, int]) -> IntArray:
    """Positions of ``values`` in ``index``; -1 for an empty cell."""
    return np.asarray(values.map(index).fillna(-1), dtype=_I)
