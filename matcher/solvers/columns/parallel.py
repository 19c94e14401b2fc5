"""Parallel kernels that give the same result on any number of threads.

The pair search and the pricing run their numba kernels over :data:`PARTS` fixed parts of
their rows (sites or classes), not one part per thread: each part writes its own slots or
lists, folded together in part order, so the columns (hence the plan) are the same on every
machine. :func:`threads` runs the kernels on the plan's ``workers`` threads, one plan at a
time.

>>> parts(np.array([1, 1, 1, 1]), 2).tolist()
[0, 2, 4]
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numba
import numpy as np
import numpy.typing as npt

__all__ = ["PARTS", "parts", "threads"]

PARTS = 16
"""Pricing splits the sites, and the classes, into this many parts, priced in parallel.

A fixed number, not the number of threads, so the columns (hence the plan) are the same
on every machine."""

_PARALLEL = threading.Lock()


@contextmanager
def threads(workers: int) -> Iterator[None]:
    """Run the parallel kernels on ``workers`` threads, one plan at a time.

    numba's ``workqueue`` threading layer (its fallback when neither TBB nor OpenMP is
    installed) aborts the process if two Python threads launch parallel kernels at once.
    """
    with _PARALLEL:
        before = numba.get_num_threads()
        most = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
        numba.set_num_threads(max(1, min(workers, most)))
        try:
            yield
        finally:
            numba.set_num_threads(before)


def parts(work: npt.NDArray[np.generic], n_parts: int | None = None) -> npt.NDArray[np.int64]:
    """Split ``0..len(work)`` into ``n_parts`` (default :data:`PARTS`) consecutive ranges of
    about equal summed ``work``; returns their ``len + 1`` bounds."""
    n = PARTS if n_parts is None else n_parts
    cum = np.cumsum(work, dtype=np.float64)
    total = cum[-1] if len(cum) else 0.0
    cuts = np.searchsorted(cum, total * np.arange(1, n) / n, side="right")
    return np.concatenate(([0], cuts, [len(work)])).astype(np.int64)
