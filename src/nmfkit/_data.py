"""Data matrices: products with a dense or sparse X, and the stored entries of X.

Every product that involves the data matrix X goes through here, so a sparse X is
never densified: dense X, scipy.sparse X, and :class:`RowSplit` (a large CSR matrix
multiplied on all cores).  Losses other than Frobenius, and fits on observed entries
only, need the model WH at the stored (or observed) entries of X; the
:class:`StoredEntries` helpers keep those fits at O(nnz·k) time and O(nnz + (m + n)k)
memory.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit

from ._backends import contiguous, is_sparse, namespace, to_numpy
from ._sums import _sumsq64, gram64, squared_norm, vdot64
from . import _threads


class RowSplit:
    """A CSR matrix cut into row blocks that share its buffers, multiplied in threads.

    scipy multiplies a sparse matrix by a dense one on one thread (releasing the GIL), so
    the products behind every solver iteration would use one core of several.  The
    blocks are views of X's ``data`` and ``indices`` (no copy of X), balanced by entries.
    """

    #: Skipped by :func:`nmfkit._backends.namespace`, like a sparse matrix.
    is_data_matrix = True

    def __init__(self, X, parts):
        X = X.tocsr()
        m, n = X.shape
        cuts = entry_cuts(X.indptr, parts)
        bounds = [0, *sorted(set(int(c) for c in cuts) - {0, m}), m]
        self.blocks = []
        for a, b in zip(bounds[:-1], bounds[1:]):
            parts_of_x = _rows_of(X, a, b)
            # The block and its transpose (a CSC view), kept: building either through
            # scipy's constructor or ``.T`` copies a slice of a larger buffer ("prune").
            self.blocks.append((a, b, _view(sp.csr_matrix, *parts_of_x, (b - a, n)),
                                _view(sp.csc_matrix, *parts_of_x, (n, b - a))))
        # For Xᵀ W: one span of consecutive blocks per core, so that each core forms one
        # n x k product (a product per block would allocate n x k per block).
        per = -(-len(self.blocks) // max(1, min(_threads.cores(), len(self.blocks))))
        self.spans = []
        for g in range(0, len(self.blocks), per):
            a, b = self.blocks[g][0], self.blocks[min(g + per, len(self.blocks)) - 1][1]
            self.spans.append((a, b, _view(sp.csc_matrix, *_rows_of(X, a, b), (n, b - a))))
        self.shape, self.nnz, self.dtype, self.csr = X.shape, X.nnz, X.dtype, X

    def times(self, B):
        """X @ B for a dense B (n x k) -> m x k."""
        out = np.empty((self.shape[0], B.shape[1]), dtype=np.result_type(self.dtype, B.dtype))

        def one(item):
            a, b, block, _ = item
            out[a:b] = block @ B

        list(_threads.pool().map(one, self.blocks))
        return out

    def times_transposed(self, H):
        """(X Hᵀ)ᵀ = H Xᵀ for a dense H (k x n) -> k x m, row-major, written block by
        block (no m x k intermediate beside the result)."""
        Ht = H.T
        out = np.empty((H.shape[0], self.shape[0]), dtype=np.result_type(self.dtype, H.dtype))

        def one(item):
            a, b, block, _ = item
            out[:, a:b] = (block @ Ht).T

        list(_threads.pool().map(one, self.blocks))
        return out

    def transposed_times(self, W):
        """Xᵀ @ W for a dense W (m x k) -> n x k: each core multiplies its span of rows
        (:attr:`spans`), and the cores' n x k products are summed into the first."""
        parts = list(_threads.pool().map(lambda span: span[2] @ W[span[0]:span[1]], self.spans))
        total = parts[0]
        for part in parts[1:]:
            total += part
        return total

    def row_blocks(self, max_rows):
        """``[(a, b, X[a:b]) ...]``: consecutive row blocks of at most ``max_rows`` rows
        (views of X's buffers, like :attr:`blocks`), for work done block by block."""
        X, out = self.csr, []
        for a in range(0, self.shape[0], max(1, max_rows)):
            b = min(a + max(1, max_rows), self.shape[0])
            out.append((a, b, _view(sp.csr_matrix, *_rows_of(X, a, b), (b - a, self.shape[1]))))
        return out


def entry_cuts(indptr, parts):
    """The ``parts - 1`` row indices (each in 0..m) that cut a CSR matrix with row
    pointers ``indptr`` into consecutive row ranges of about equal numbers of entries."""
    m = len(indptr) - 1
    return np.clip(np.searchsorted(indptr, np.linspace(0, indptr[-1], parts + 1)[1:-1]), 0, m)


def _rows_of(X, a, b):
    """(data, indices, indptr) of rows a:b of a CSR ``X``: views of its buffers, with the
    row pointers rebased (a copy of b - a + 1 integers)."""
    s, e = X.indptr[a], X.indptr[b]
    return X.data[s:e], X.indices[s:e], X.indptr[a:b + 1] - s


def _view(cls, data, indices, indptr, shape):
    """A compressed sparse matrix on the given buffers, without any copy."""
    M = cls(shape, dtype=data.dtype)
    M.data, M.indices, M.indptr = data, indices, indptr.astype(indices.dtype, copy=False)
    return M


#: Below this many stored entries, threads cost more than they save (the default of
#: ``Settings.split_min_nnz``).
SPLIT_MIN_NNZ = 1_000_000
#: Row blocks per core: smaller blocks keep each block's m_b x k product temporary small.
BLOCKS_PER_CORE = 4


def operand(X, *, min_nnz=SPLIT_MIN_NNZ):
    """X ready for repeated products: a :class:`RowSplit` for a sparse X of at least
    ``min_nnz`` stored entries on a machine with several cores, else X itself."""
    if is_sparse(X) and X.nnz >= min_nnz and _threads.cores() > 1 and X.format in ("csr", "csc"):
        return RowSplit(X, _threads.cores() * BLOCKS_PER_CORE)
    return X


def X_times_Ht(X, H):
    """``X @ H.T`` (m x k) for dense or sparse ``X``; never densifies ``X``."""
    if isinstance(X, RowSplit):
        return X.times(H.T)
    if is_sparse(X):
        return np.asarray(X @ H.T)
    return X @ H.T


def Wt_times_X(W, X):
    """``W.T @ X`` (k x n, row-major) for dense or sparse ``X``; never densifies ``X``.

    Computed as ``(Xᵀ W)ᵀ``: BLAS is faster producing the tall n x k result, and
    scipy multiplies a sparse matrix by a dense one, not the reverse.
    """
    if isinstance(X, RowSplit):
        return contiguous(X.transposed_times(W).T)
    return contiguous((X.T @ W).T)


def H_times_Xt(H, X):
    """``H @ X.T`` (k x m, row-major): the right-hand side of the problem for ``Wᵀ``."""
    if isinstance(X, RowSplit):
        return X.times_transposed(H)
    return contiguous((X @ H.T).T)


def residual_squared_norm(X, W, H, *, chunk_rows: int = 4096) -> float:
    """``‖X − WH‖²_F``: exactly, row block by row block (bounded memory), for dense X;
    from the trace identity ‖X‖² − 2⟨WᵀX, H⟩ + ⟨WᵀW, HHᵀ⟩ for sparse X, so that WH is
    never formed (clipped at 0, which rounding can cross when the fit is exact)."""
    if is_sparse(X) or isinstance(X, RowSplit):
        value = (squared_norm(X.csr if isinstance(X, RowSplit) else X)
                 - 2.0 * vdot64(Wt_times_X(W, X), H) + vdot64(gram64(W.T), gram64(H)))
        return max(value, 0.0)
    xp = namespace(X, W, H)
    total = 0.0
    m = X.shape[0]
    for start in range(0, m, chunk_rows):
        R = W[start:start + chunk_rows] @ H
        if isinstance(R, np.ndarray):  # in place: one block-sized temporary in all
            np.subtract(X[start:start + chunk_rows], R, out=R)
            total += _sumsq64(R)
        else:
            R = xp.astype(X[start:start + chunk_rows] - R, xp.float64)
            total += float(xp.sum(R * R))
    return total


# --------------------------------------------------------------------------- stored entries
# Losses other than Frobenius, and fits on observed entries only, need the model WH at
# the stored (or observed) entries of X and products of sparse matrices with X's pattern.
# These helpers keep such fits at O(nnz·k) time and O(nnz + (m + n)k) memory.


class StoredEntries:
    """The entries of X a fit looks at, in row-major (CSR) order.

    Attributes
    ----------
    shape : (m, n)
    rows, cols : int arrays (nnz,)
        Position of each entry.
    values : array (nnz,)
        X at those positions.
    pattern : scipy.sparse.csr_matrix
        X's pattern; :func:`pattern_with` puts new values on it for products.
    """

    def __init__(self, shape, rows, cols, values, indptr):
        self.shape = tuple(shape)
        self.rows, self.cols, self.values = rows, cols, values
        self.nnz = int(values.shape[0])
        self.pattern = sp.csr_matrix((values, cols, indptr), shape=shape, copy=False)
        self.indptr = indptr
        self.rows_per = np.diff(indptr)  # entries per row: s[rows] is np.repeat(s, rows_per)

    def transposed(self):
        """(Sᵀ, perm): the same entries as those of Xᵀ in its CSR order, and the
        permutation with ``values_T = values[perm]``."""
        order = sp.csr_matrix((np.arange(self.nnz, dtype=np.float64), self.cols, self.indptr),
                              shape=self.shape).T.tocsr()
        perm = order.data.astype(np.int64)
        indptr = order.indptr.astype(np.int64)
        index = self.rows.dtype
        rows = np.repeat(np.arange(self.shape[1], dtype=index), np.diff(indptr))
        ST = StoredEntries((self.shape[1], self.shape[0]), rows, order.indices.astype(index),
                           self.values[perm], indptr)
        return ST, perm


def stored_entries(X, *, observed="stored", dtype=None):
    """Entries of ``X`` a fit uses, as a :class:`StoredEntries`.

    ``observed='stored'``: the stored entries of a sparse X, or the non-zero entries of
    a dense X (the zeros of X enter KL only through Σ WH, which needs no entry).
    ``observed='finite'``: the non-NaN entries of a dense X, or the stored non-NaN
    entries of a sparse X (``missing='mask'``: everything else is unobserved).
    """
    if is_sparse(X):
        C = X.tocsr()
        C.sum_duplicates()
        keep = ~np.isnan(C.data) if observed == "finite" else C.data != 0
        if not keep.all():
            C = _drop(C, keep)
    else:
        A = to_numpy(X)
        C = _csr_where(~np.isnan(A) if observed == "finite" else (A != 0), A)
    return _entries_of(C, dtype or C.dtype)


def entries_where(mask, dtype=np.float64):
    """The entries where the dense boolean ``mask`` is True, as a :class:`StoredEntries`
    with zero values (e.g. the unobserved entries of a dense X, ``np.isnan(X)``)."""
    return _entries_of(_csr_where(mask, None, dtype), dtype)


def entries_at(shape, rows, cols, dtype=np.float64):
    """The entries at (rows, cols), given in CSR order, as a :class:`StoredEntries` with
    zero values."""
    return _entries_of(csr_from_positions(shape, rows, cols, np.zeros(rows.size, dtype)),
                       dtype)


def positions(mask):
    """(rows, cols) of the True entries of a 2-D boolean array, in row-major (CSR) order.

    ``np.nonzero`` of a 2-D array is several times slower than the flat indices and one
    division where few entries are True (a dense fold of a sparse matrix, the NaN of a
    few held-out entries), and such masks are scanned once per masked fit."""
    flat = np.flatnonzero(mask)
    return np.divmod(flat, mask.shape[1]) if flat.size else (flat, flat)


def nonzero_entries(X):
    """(rows, cols, values) of the entries of a dense X that are not 0, NaN included, in
    CSR order: one pass over X gives both the observed non-zeros and the unobserved
    entries of a masked X (split them by ``np.isnan(values)``)."""
    rows, cols = positions(X != 0)  # NaN != 0
    return rows, cols, X[rows, cols]


def csr_from_positions(shape, rows, cols, values):
    """CSR matrix of ``values`` at (rows, cols), given in CSR order (no sort)."""
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    return sp.csr_matrix((values, cols, indptr), shape=shape)


def _csr_where(keep, A, dtype=None):
    """CSR matrix of A's entries where the boolean ``keep`` is True (zeros if A is None)."""
    rows, cols = positions(keep)
    values = np.zeros(rows.size, dtype=dtype) if A is None else A[rows, cols]
    return csr_from_positions(keep.shape, rows, cols, values)


def _entries_of(C, dtype):
    """The entries of the CSR matrix C as a :class:`StoredEntries` of values ``dtype``."""
    # 32-bit positions where they fit: the gathers of a sweep are bound by reading them.
    index = np.int32 if max(C.shape) < 2**31 else np.int64
    indptr = C.indptr.astype(np.int64)
    rows = np.repeat(np.arange(C.shape[0], dtype=index), np.diff(indptr))
    return StoredEntries(C.shape, rows, C.indices.astype(index),
                         np.asarray(C.data, dtype=dtype), indptr)


def observed_residual_squared_norm(X, W, H, *, chunk_rows: int = 4096) -> float:
    """``Σ (X_ij − (WH)_ij)²`` over the non-NaN entries of a dense X, exactly, by row
    blocks of WH (dense products: cheaper than gathering the observed entries when most
    of X is observed)."""
    total = 0.0
    for start in range(0, X.shape[0], chunk_rows):
        R = W[start:start + chunk_rows] @ H
        np.subtract(X[start:start + chunk_rows], R, out=R)
        np.square(R, out=R)
        total += float(np.nansum(R, dtype=np.float64))
    return total


def _drop(C, keep):
    """CSR matrix C without the stored entries where ``keep`` is False."""
    rows = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))
    counts = np.bincount(rows[keep], minlength=C.shape[0])
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return sp.csr_matrix((C.data[keep], C.indices[keep], indptr), shape=C.shape)


def values_at(S, W, H, out=None):
    """``(WH)_{ij}`` at the stored entries of S (CSR order), O(nnz·k), in the result type
    of W and H."""
    Wn, Hn = to_numpy(W), to_numpy(H)
    dtype = np.result_type(Wn.dtype, Hn.dtype)
    if out is None:
        out = np.empty(S.nnz, dtype=dtype)
    # Both factors row-major (an m x k copy of a solver's Wᵀ view is cheap next to the
    # entries' gathers), each entry's k products read from two contiguous rows.
    _values_at(S.rows, S.cols, np.ascontiguousarray(Wn, dtype=dtype),
               np.ascontiguousarray(Hn.T, dtype=dtype), out)
    return out


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _values_at(rows, cols, W, HT, out):
    """out[e] = W[rows[e]] · HT[cols[e]], the products summed in float64; one pass with no
    temporaries, where NumPy's gathers would copy two nnz x k arrays first."""
    k = W.shape[1]
    for e in range(rows.size):
        i, j = rows[e], cols[e]
        total = 0.0
        for q in range(k):
            total += np.float64(W[i, q]) * np.float64(HT[j, q])
        out[e] = total


def divide_floored(X, Y, eps, out):
    """``out ← X / max(Y, eps)`` for NumPy arrays of one shape, 1-D or 2-D (``out`` may
    be ``Y``): the KL weights X/WH of the multiplicative updates (Févotte & Idier 2011,
    eq. 11 at β = 1), in ``out``'s dtype, each operation rounded as NumPy's
    ``np.divide(X, np.maximum(Y, eps))`` rounds it, in one pass instead of two."""
    if X.ndim == 1:  # stored entries: views as one row
        X, Y, out_2d = X[None, :], Y[None, :], out[None, :]
        _divide_floored(X, Y, out.dtype.type(eps), out_2d)
        return out
    if X.flags.f_contiguous and Y.flags.f_contiguous and out.flags.f_contiguous and not (
            X.flags.c_contiguous and Y.flags.c_contiguous and out.flags.c_contiguous):
        _divide_floored(X.T, Y.T, out.dtype.type(eps), out.T)  # in memory order
    else:
        _divide_floored(X, Y, out.dtype.type(eps), out)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _divide_floored(X, Y, eps, out):
    """out[i, j] = X[i, j] / max(Y[i, j], eps) in out's dtype (max as np.maximum takes
    it: NaN stays NaN); no fastmath, so the division is exact-rounded like NumPy's."""
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            y = out.dtype.type(Y[i, j])
            out[i, j] = out.dtype.type(X[i, j]) / (eps if y < eps else y)


def pattern_with(S, data, transposed=False):
    """Sparse matrix with S's pattern and ``data`` (CSR order of X) as its values.

    ``transposed=True`` gives the n x m matrix Pᵀ (a CSC view, no copy).  The matrix
    object is S's own, re-filled: it is valid until the next call.
    """
    P = S.pattern
    P.data = data
    return P.T if transposed else P


def pattern_times(S, data, M, transposed=False):
    """``P @ M`` for P = :func:`pattern_with` (S, data); M is a vector or a dense matrix."""
    return np.asarray(pattern_with(S, data, transposed) @ to_numpy(M))


def row_blocks(m, n, *, budget_bytes=64 * 2**20, itemsize=8):
    """Row ranges whose m_b x n blocks fit in ``budget_bytes`` (for dense WH by blocks)."""
    step = max(1, int(budget_bytes // max(1, n * itemsize)))
    return [(start, min(m, start + step)) for start in range(0, m, step)]


def column_squared_norms(X):
    """``‖x_j‖²`` for every column of dense or sparse X (float64, length n)."""
    if is_sparse(X):
        Xc = X.tocsc()
        data = Xc.data.astype(np.float64, copy=False)
        return np.add.reduceat(np.concatenate([data * data, [0.0]]),
                               np.minimum(Xc.indptr[:-1], Xc.nnz))  * (np.diff(Xc.indptr) > 0)
    xp = namespace(X)
    Xd = xp.astype(X, xp.float64)
    return xp.sum(Xd * Xd, axis=0)
