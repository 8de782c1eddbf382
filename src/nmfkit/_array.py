"""The one module that knows about concrete array libraries.

Solvers are written once against the array-API namespace returned by
:func:`namespace`; the few operations the standard lacks, and every product that
involves a (possibly sparse) data matrix ``X``, live here.  Nothing else in the
package mentions scipy.sparse, torch or cupy by name.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from array_api_compat import array_namespace


def is_sparse(X) -> bool:
    """True for a scipy.sparse matrix or array."""
    return sp.issparse(X)


_NAMESPACES: dict = {}


def namespace(*arrays):
    """Array-API namespace of the dense arrays among ``arrays`` (sparse ``X`` is skipped).

    Memoised by the arrays' types: solvers ask once per row sweep, and
    ``array_namespace`` took 9 % of a large sparse fit's time when asked afresh.
    """
    dense = [a for a in arrays if a is not None and not is_sparse(a)
             and not isinstance(a, RowSplit)]
    key = tuple({type(a) for a in dense})
    xp = _NAMESPACES.get(key)
    if xp is None:
        xp = array_namespace(*dense) if dense else array_namespace(np.empty(0))
        _NAMESPACES[key] = xp
    return xp


def to_numpy(A) -> np.ndarray:
    """Host NumPy copy (or view) of a dense array of any backend."""
    if isinstance(A, np.ndarray):
        return A
    if hasattr(A, "detach"):  # a torch tensor, possibly on a GPU
        return A.detach().cpu().numpy()
    if hasattr(A, "get"):  # cupy
        return A.get()
    return np.asarray(A)


def contiguous(A):
    """Row-major copy of A when A is a strided NumPy view (rows of factors are swept)."""
    if isinstance(A, np.ndarray):
        return np.ascontiguousarray(A)
    return A


class RowSplit:
    """A CSR matrix cut into row blocks that share its buffers, multiplied in threads.

    scipy multiplies a sparse matrix by a dense one on one thread (releasing the GIL), so
    the products behind every solver iteration use one core of several; two blocks
    measured 1.7-2x faster on a 200,000 x 20,000 matrix with 20 million entries.  The
    blocks are views of X's ``data`` and ``indices`` (no copy of X), balanced by entries.
    """

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
        per = -(-len(self.blocks) // max(1, min(_cores(), len(self.blocks))))
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

        list(_pool().map(one, self.blocks))
        return out

    def times_transposed(self, H):
        """(X Hᵀ)ᵀ = H Xᵀ for a dense H (k x n) -> k x m, row-major, written block by
        block (no m x k intermediate beside the result)."""
        Ht = H.T
        out = np.empty((H.shape[0], self.shape[0]), dtype=np.result_type(self.dtype, H.dtype))

        def one(item):
            a, b, block, _ = item
            out[:, a:b] = (block @ Ht).T

        list(_pool().map(one, self.blocks))
        return out

    def transposed_times(self, W):
        """Xᵀ @ W for a dense W (m x k) -> n x k: each core multiplies its span of rows
        (:attr:`spans`), and the cores' n x k products are summed into the first."""
        parts = list(_pool().map(lambda span: span[2] @ W[span[0]:span[1]], self.spans))
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


_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=_cores(), thread_name_prefix="nmfkit")
    return _POOL


def _cores() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


#: Below this many stored entries, threads cost more than they save.
SPLIT_MIN_NNZ = 1_000_000
#: Row blocks per core: smaller blocks keep each block's m_b x k product temporary small.
BLOCKS_PER_CORE = 4


def operand(X):
    """X ready for repeated products: a :class:`RowSplit` for a large sparse X on a
    machine with several cores, else X itself."""
    if is_sparse(X) and X.nnz >= SPLIT_MIN_NNZ and _cores() > 1 and X.format in ("csr", "csc"):
        return RowSplit(X, _cores() * BLOCKS_PER_CORE)
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


# Entries per float64 chunk in _rowwise_dot64 (512 KiB of float64: stays in cache).
DOT_CHUNK = 1 << 16


def _rowwise_dot64(A, B) -> float:
    """Σ A∘B for NumPy arrays, products and sums in float64, without a float64 copy of
    A or B: lower-precision rows are cast a cache-sized chunk at a time.  (Summed along
    rows in float32, with float32 Gram matrices, the objective of a converged float32 fit
    worth 3·10⁻⁵ of ‖X‖² was 0.08 % off: ``benchmarks/micro.py float32-loss``.)"""
    if A.ndim == 1:
        return float(np.dot(A.astype(np.float64), B.astype(np.float64)))
    if A.dtype == np.float64 and B.dtype == np.float64:
        return float(np.einsum("ij,ij->i", A, B).sum())
    rows = max(1, DOT_CHUNK // max(1, A.shape[1]))
    total = 0.0
    for start in range(0, A.shape[0], rows):
        a = A[start:start + rows].astype(np.float64)
        b = B[start:start + rows].astype(np.float64)
        total += float(np.einsum("ij,ij->", a, b))
    return total


def gram64(U):
    """``U Uᵀ`` (k x k) for a k x r factor, products and sums in float64 (a float64
    array); lower-precision factors are cast a cache-sized column block at a time.
    With float32 Gram matrices (r = 6,000), the float32 objective of
    ``test_float32_objective_is_the_exact_objective`` (2·10⁻⁴ of ½‖X‖²) was up to
    4·10⁻⁴ off, relative; the test allows 10⁻⁴."""
    xp = namespace(U)
    if U.dtype == xp.float64:
        return U @ U.T
    if not isinstance(U, np.ndarray):
        V = xp.astype(U, xp.float64)
        return V @ V.T
    k, r = U.shape
    width = max(1, DOT_CHUNK // max(1, k))
    G = np.zeros((k, k))
    for start in range(0, r, width):
        V = U[:, start:start + width].astype(np.float64)
        G += V @ V.T
    return G


def as_float32(X):
    """X (dense of any backend, or scipy.sparse) as a float32 copy."""
    if is_sparse(X):
        return X.astype(np.float32)
    xp = namespace(X)
    return xp.astype(X, xp.float32)


def like(A, U):
    """``A`` in ``U``'s dtype (no copy when it already is)."""
    return namespace(U).astype(A, U.dtype, copy=False)


def sumsq(A) -> float:
    """``Σ A²`` in A's own precision: for step sizes and stopping tests, where float32
    is enough and a float64 cast of a float32 factor would add a pass over it in memory.
    Objective terms use :func:`vdot64`."""
    if isinstance(A, np.ndarray):
        flat = A.reshape(-1)  # a view when A is contiguous
        return float(np.dot(flat, flat))
    xp = namespace(A)
    return float(xp.sum(A * A))


def squared_norm(X) -> float:
    """``‖X‖²_F`` accumulated in float64, for dense or sparse ``X``."""
    if is_sparse(X):
        data = X.data
        return float(np.dot(data.astype(np.float64, copy=False), data.astype(np.float64, copy=False)))
    if isinstance(X, np.ndarray):
        return _sumsq64(X) if X.ndim == 2 else _rowwise_dot64(X, X)
    xp = namespace(X)
    Xd = xp.astype(X, xp.float64, copy=False)
    return float(xp.sum(Xd * Xd))


def vdot64(A, B) -> float:
    """``⟨A, B⟩ = Σ A∘B`` accumulated in float64 (A and B are small: k x n or k x k)."""
    if isinstance(A, np.ndarray) and isinstance(B, np.ndarray):
        return _rowwise_dot64(A, B)
    xp = namespace(A, B)
    return float(xp.sum(xp.astype(A, xp.float64, copy=False) * xp.astype(B, xp.float64, copy=False)))


#: NumPy's ``maximum`` against a scalar runs 3-5x slower than against an array of zeros
#: (1.2 against 0.4 µs on 2,000 float32 values, 92 against 30 µs on 200,000 float64:
#: the scalar loop is not vectorised; `benchmarks/micro.py clip`), so large arrays are
#: clipped against a shared read-only zero array, this many values at a time.
CLIP_CHUNK = 1 << 16
#: Below this many values the scalar form is as fast (no slicing).
CLIP_MIN = 1024
_ZEROS: dict = {}


def clip_nonnegative_(A):
    """``A ← max(A, 0)`` in place where the backend allows it; returns the result.

    NaN stays NaN, as with ``np.maximum``.
    """
    if isinstance(A, np.ndarray):
        if A.size < CLIP_MIN or A.dtype.kind != "f" or not A.flags.c_contiguous:
            return np.maximum(A, 0, out=A)
        zeros = _ZEROS.get(A.dtype)
        if zeros is None:
            zeros = np.zeros(CLIP_CHUNK, A.dtype)
            zeros.flags.writeable = False
            zeros = _ZEROS.setdefault(A.dtype, zeros)
        flat = A.reshape(-1)
        if flat.size <= CLIP_CHUNK:
            np.maximum(flat, zeros[:flat.size], out=flat)
            return A
        for a in range(0, flat.size, CLIP_CHUNK):
            part = flat[a:a + CLIP_CHUNK]
            np.maximum(part, zeros[:part.size], out=part)
        return A
    if hasattr(A, "clamp_"):  # torch
        return A.clamp_(min=0)
    return namespace(A).maximum(A, 0)


#: Width of the column blocks a factor is swept in: about this many bytes of a k x r
#: factor, so that a block's k rows stay in cache while all k rows are updated.  On the
#: benchmark machine a 20 x 200,000 float64 HALS sweep took 18 ms as one block and 14 ms
#: in 4 MB blocks on two threads; factors under 8 MB are one block (same time either way)
#: (`benchmarks/micro.py sweep`).
SWEEP_BLOCK_BYTES = 4 << 20


def map_column_blocks(fn, U):
    """``[fn(slice) ...]`` over cache-sized column blocks of a k x r factor ``U``.

    For an update whose columns are independent (every Frobenius sub-problem: column j
    of Wᵀ is row j of W).  Large NumPy factors are cut into blocks of
    :data:`SWEEP_BLOCK_BYTES`, run on all cores with BLAS held at one thread; small
    ones, and other backends (a GPU wants the whole factor at once), get one block.
    """
    k, r = U.shape
    if not isinstance(U, np.ndarray):
        return [fn(slice(0, r))]
    width = max(1, SWEEP_BLOCK_BYTES // max(1, k * U.itemsize))
    if r < 2 * width:
        return [fn(slice(0, r))]
    return map_threads(fn, [slice(a, min(a + width, r)) for a in range(0, r, width)])


def map_threads(fn, items):
    """``[fn(item) ...]`` on all cores (the shared pool), with BLAS held at one thread.

    Called from one of the pool's own threads (work already split), it runs in that
    thread.  If the caller is interrupted (Ctrl-C), items not yet started are cancelled
    and those running are waited for before the exception goes on, so nothing writes
    into the caller's arrays afterwards.
    """
    import threading

    if _cores() == 1 or len(items) < 2 or threading.current_thread().name.startswith("nmfkit"):
        return [fn(item) for item in items]
    with _blas_controller().limit(limits=1, user_api="blas"):
        futures = [_pool().submit(fn, item) for item in items]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            from concurrent.futures import wait

            wait(futures)
            raise


def interrupts_deferred():
    """A context in which Ctrl-C (SIGINT) is held back and delivered when it ends: for
    work that writes into arrays in place and must not be left half done.  Outside the
    main thread (where Python never delivers signals) it does nothing; nor where SIGINT
    is ignored (a process started in the background: there is nothing to hold back) or
    handled outside Python (a handler it could not put back)."""
    import contextlib
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, None):
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def held():
        caught = []
        previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
            if caught:
                signal.raise_signal(signal.SIGINT)  # to the handler that was there before

    return held()


_CONTROLLER = None


def _blas_controller():
    """threadpoolctl's controller, built once (6 µs per limit, against 80 µs afresh)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def eye_like(k, A):
    xp = namespace(A)
    return xp.eye(k, dtype=A.dtype, device=device(A))


def device(A):
    """The device an array lives on (array-API ``device``); new arrays go there too."""
    from array_api_compat import device as array_device

    return array_device(A)


def copy(A):
    xp = namespace(A)
    return xp.asarray(A, copy=True)


def dense_residual_squared_norm(X, W, H, *, chunk_rows: int = 4096) -> float:
    """``‖X − WH‖²_F`` computed exactly, row block by row block (bounded memory).

    For sparse ``X`` the trace identity is used instead, so ``WH`` is never formed.
    """
    if is_sparse(X):
        from .objectives import frobenius_from_factors

        return 2.0 * frobenius_from_factors(X, W, H)
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


def _sumsq64(A) -> float:
    """``Σ A²`` of a 2-D NumPy array, products and sums in float64; lower precisions are
    cast a cache-sized row block at a time (one cast, where ``_rowwise_dot64(A, A)``
    casts each block twice)."""
    # einsum, not np.dot: BLAS's ddot on cache-sized blocks was slower (a thread wake-up
    # per call).  19 ms against 24 ms for _rowwise_dot64 on (d)'s 20,000 x 2,000 float32
    # (`benchmarks/micro.py setup`).
    if A.dtype == np.float64:
        return float(np.einsum("ij,ij->", A, A))
    rows = max(1, DOT_CHUNK // max(1, A.shape[1]))
    total = 0.0
    for start in range(0, A.shape[0], rows):
        a = A[start:start + rows].astype(np.float64)
        total += float(np.einsum("ij,ij->", a, a))
    return total


# Below this many flops per product, BLAS threads cost more than they save: on two
# busy cores OpenBLAS's threads were measured 10-100x slower than one thread on
# digits-sized products (1,797 x 64, k = 10).
SMALL_PRODUCT_FLOPS = 5e7


def blas_threads_for(X, k):
    """Context limiting BLAS to one thread when the products with X are small.

    Never raises the thread count a user has set; large problems keep it.
    """
    import contextlib

    nnz = X.nnz if is_sparse(X) else X.shape[0] * X.shape[1]
    if 2.0 * nnz * k >= SMALL_PRODUCT_FLOPS:
        return contextlib.nullcontext()
    return _blas_controller().limit(limits=1, user_api="blas")


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

    def row_blocks(self, entries):
        """Consecutive row ranges holding about ``entries`` stored entries each, as
        (row start, row stop, entry start, entry stop, CSR pattern of the block)."""
        blocks, a, m = [], 0, self.shape[0]
        while a < m:
            b = int(np.searchsorted(self.indptr, self.indptr[a] + entries, side="right")) - 1
            b = min(m, max(b, a + 1))
            ea, eb = int(self.indptr[a]), int(self.indptr[b])
            P = sp.csr_matrix((self.values[ea:eb], self.cols[ea:eb], self.indptr[a:b + 1] - ea),
                              shape=(b - a, self.shape[1]), copy=False)
            blocks.append((a, b, ea, eb, P))
            a = b
        return blocks


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
        keep = ~np.isnan(A) if observed == "finite" else (A != 0)
        rows, cols = np.nonzero(keep)  # row-major order: already CSR order
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=A.shape[0]))])
        C = sp.csr_matrix((A[rows, cols], cols, indptr), shape=A.shape)
    dtype = dtype or C.dtype
    # 32-bit positions where they fit: the gathers of a sweep are bound by reading them.
    index = np.int32 if max(C.shape) < 2**31 else np.int64
    indptr = C.indptr.astype(np.int64)
    rows = np.repeat(np.arange(C.shape[0], dtype=index), np.diff(indptr))
    return StoredEntries(C.shape, rows, C.indices.astype(index),
                         np.asarray(C.data, dtype=dtype), indptr)


def _drop(C, keep):
    """CSR matrix C without the stored entries where ``keep`` is False."""
    rows = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))
    counts = np.bincount(rows[keep], minlength=C.shape[0])
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return sp.csr_matrix((C.data[keep], C.indices[keep], indptr), shape=C.shape)


CHUNK_ENTRIES = 1 << 18  # entries per block when evaluating WH at stored entries


def values_at(S, W, H, out=None):
    """``(WH)_{ij}`` at the stored entries of S (CSR order), O(nnz·k), bounded temporaries."""
    Wn, Hn = to_numpy(W), to_numpy(H)
    HT = np.ascontiguousarray(Hn.T)
    if out is None:
        out = np.empty(S.nnz, dtype=np.result_type(Wn.dtype, Hn.dtype))
    for start in range(0, S.nnz, CHUNK_ENTRIES):
        stop = min(S.nnz, start + CHUNK_ENTRIES)
        r, c = S.rows[start:stop], S.cols[start:stop]
        np.einsum("ek,ek->e", Wn[r], HT[c], out=out[start:stop])
    return out


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


def take(v, idx):
    """``v[idx]`` for an integer index array (``take`` of the array API)."""
    return np.take(to_numpy(v), idx)


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


def transpose(X):
    """Xᵀ for dense or sparse X (a view where the library allows it)."""
    return X.T
