"""One census of a dense X whose NaN entries are unobserved (``missing='mask'``).

A masked fit's set-up asks several things of X before its solver runs: how many entries
are unobserved and how many observed ones are non-zero (the registry's
:class:`~nmfkit.solvers.DataStats`), whether every row and column keeps an observed
entry, the observed sum (the start's rescale) and, for an X that is mostly zeros (a
sparse matrix with entries held out, as rank selection's folds are), where its non-zeros
are (the start's zero-filled CSR copy).  Asked one by one, each is a scan of the m x n
array, and rank selection repeats the set-up for every rank and fold; :func:`census`
answers them all from two compiled passes, the second reading only what it lists.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from . import _data

#: The observed non-zeros are listed (for the start's zero-filled CSR copy) when at most
#: this fraction of X's entries is non-zero; above it the start takes X densely.
SPARSE_MAX_FILL = 0.1


@dataclass(frozen=True)
class Census:
    """What a masked fit's set-up reads from a dense X (NaN unobserved).

    Attributes
    ----------
    shape : tuple of int
    unobserved : int
        Number of NaN entries.
    nonzero : int
        Number of observed entries that are not 0.
    observed_sum : float
        Σ of the observed entries (float64).
    nan_rows, nan_cols : ndarray of int64
        Positions of the NaN entries, in row-major (CSR) order.
    entries : tuple of ndarray or None
        (rows, cols, values) of the observed non-zeros in CSR order when they are at most
        :data:`SPARSE_MAX_FILL` of X; None otherwise.
    """

    shape: tuple
    unobserved: int
    nonzero: int
    observed_sum: float
    nan_rows: np.ndarray
    nan_cols: np.ndarray
    entries: tuple | None

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    def observed_counts(self, axis):
        """Observed entries per row (``axis=1``) or per column (``axis=0``)."""
        m, n = self.shape
        if axis == 1:
            return n - np.bincount(self.nan_rows, minlength=m)
        return m - np.bincount(self.nan_cols, minlength=n)

    def zero_filled(self, dtype):
        """X with its NaN as 0, as CSR; only when :attr:`entries` are listed."""
        rows, cols, values = self.entries
        return _data.csr_from_positions(self.shape, rows, cols, values.astype(dtype, copy=False))


def census(X) -> Census:
    """The :class:`Census` of a dense 2-D NumPy X (NaN unobserved)."""
    A = np.asarray(X)
    m, n = A.shape
    flat = A.reshape(-1) if A.flags.c_contiguous else np.ascontiguousarray(A).reshape(-1)
    unobserved, nonzero, total = _counts(flat)
    listed = nonzero <= SPARSE_MAX_FILL * flat.size
    nan_at = np.empty(unobserved, dtype=np.int64)
    value_at = np.empty(nonzero if listed else 0, dtype=np.int64)
    if nan_at.size or value_at.size:
        _positions(flat, nan_at, value_at)
    nan_rows, nan_cols = np.divmod(nan_at, n) if n else (nan_at, nan_at)
    entries = None
    if listed:
        rows, cols = np.divmod(value_at, n) if n else (value_at, value_at)
        entries = (rows, cols, flat[value_at])
    return Census(shape=(m, n), unobserved=int(unobserved), nonzero=int(nonzero),
                  observed_sum=float(total), nan_rows=nan_rows, nan_cols=nan_cols,
                  entries=entries)


@njit(cache=True, nogil=True)
def _counts(flat):
    """(NaN count, observed non-zero count, Σ observed in float64) in one pass."""
    unobserved = 0
    nonzero = 0
    total = 0.0
    for e in range(flat.size):
        x = flat[e]
        if x != x:
            unobserved += 1
        elif x != 0:
            nonzero += 1
            total += np.float64(x)
    return unobserved, nonzero, total


@njit(cache=True, nogil=True)
def _positions(flat, nan_at, value_at):
    """Flat positions of the NaN into ``nan_at`` and, when it has room for them, of the
    observed non-zeros into ``value_at`` (sized by :func:`_counts`)."""
    a = 0
    b = 0
    values = value_at.size > 0
    for e in range(flat.size):
        x = flat[e]
        if x != x:
            nan_at[a] = e
            a += 1
        elif values and x != 0:
            value_at[b] = e
            b += 1
