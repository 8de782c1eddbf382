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

#: The non-zero entries (observed non-zeros and NaN) are listed when they are at most this
#: fraction of X's entries (a sparse matrix with entries held out); above it the start
#: takes X densely and the solvers form their own layouts.
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
    low, high : float
        The smallest and largest observed entry, each bounded by 0 (min(0, ·) and
        max(0, ·)): X's values are valid (non-negative and finite) when ``low == 0`` and
        ``high`` is finite.
    nan_rows, nan_cols : ndarray of int64
        Positions of the NaN entries, in row-major (CSR) order.
    stored : tuple of ndarray or None
        (rows, cols, values) of every entry that is not 0 (the observed non-zeros and
        the NaN, values as in X) in CSR order, when they are at most
        :data:`SPARSE_MAX_FILL` of X; None otherwise.
    """

    shape: tuple
    unobserved: int
    nonzero: int
    observed_sum: float
    low: float
    high: float
    nan_rows: np.ndarray
    nan_cols: np.ndarray
    stored: tuple | None

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def valid(self) -> bool:
        """Whether every observed entry is non-negative and finite."""
        return self.low == 0 and np.isfinite(self.high)

    def observed_counts(self, axis):
        """Observed entries per row (``axis=1``) or per column (``axis=0``)."""
        m, n = self.shape
        if axis == 1:
            return n - np.bincount(self.nan_rows, minlength=m)
        return m - np.bincount(self.nan_cols, minlength=n)

    def zero_filled(self, dtype):
        """X with its NaN as 0, as CSR of the observed non-zeros; only when
        :attr:`stored` is listed."""
        rows, cols, values = self.stored
        keep = ~np.isnan(values)
        return _data.csr_from_positions(self.shape, rows[keep], cols[keep],
                                        values[keep].astype(dtype, copy=False))


def census(X) -> Census:
    """The :class:`Census` of a dense 2-D NumPy X (NaN unobserved)."""
    A = np.asarray(X)
    m, n = A.shape
    # Read in memory order: a column-major X (a DataFrame's values) as its transpose's
    # rows, its positions then put in row-major order by a stable sort on the row.
    by_columns = A.flags.f_contiguous and not A.flags.c_contiguous
    flat = (A.T if by_columns else np.ascontiguousarray(A)).reshape(-1)
    unobserved, nonzero, total, low, high = _counts(flat)
    listed = unobserved + nonzero <= SPARSE_MAX_FILL * flat.size
    at = np.empty(unobserved + nonzero if listed else unobserved, dtype=np.int64)
    if at.size:
        _positions(flat, at, listed)
    if by_columns:
        cols, rows = np.divmod(at, m) if m else (at, at)
        order = np.argsort(rows, kind="stable")
        at, rows, cols = at[order], rows[order], cols[order]
    else:
        rows, cols = np.divmod(at, n) if n else (at, at)
    stored = None
    if listed:
        values = flat[at]
        stored = (rows, cols, values)
        nan = np.isnan(values)
        rows, cols = rows[nan], cols[nan]
    return Census(shape=(m, n), unobserved=int(unobserved), nonzero=int(nonzero),
                  observed_sum=float(total), low=float(low), high=float(high),
                  nan_rows=rows, nan_cols=cols, stored=stored)


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _counts(flat):
    """(NaN count, observed non-zero count, Σ observed in float64, min(0, observed),
    max(0, observed)) in one pass, written without branches (NaN read as 0 by a select)
    and with the sum reassociated, so that the loop vectorises and the pass runs at
    about the speed of reading X."""
    unobserved = 0
    nonzero = 0
    total = 0.0
    low = 0.0
    high = 0.0
    for e in range(flat.size):
        x = flat[e]
        nan = x != x
        y = 0.0 if nan else np.float64(x)
        unobserved += nan
        nonzero += y != 0
        total += y
        low = y if y < low else low
        high = y if y > high else high
    return unobserved, nonzero, total, low, high


#: Entries :func:`_positions` tests together before it looks at them one by one.
_BLOCK = 64


@njit(cache=True, nogil=True)
def _positions(flat, at, nonzero):
    """Flat positions, in order, of the NaN entries or (``nonzero``) of every entry that
    is not 0, NaN included, into ``at`` (sized by :func:`_counts`).  A block of entries
    is tested as a whole first, in a loop that vectorises; only a block with a hit is
    walked entry by entry, and on a mostly-zero X few are."""
    a = 0
    for start in range(0, flat.size, _BLOCK):
        stop = min(start + _BLOCK, flat.size)
        hit = False
        for e in range(start, stop):
            x = flat[e]
            hit |= (x != 0) if nonzero else (x != x)
        if hit:
            for e in range(start, stop):
                x = flat[e]
                if (x != 0) if nonzero else (x != x):
                    at[a] = e
                    a += 1
