"""Accurate sums: inner products, Gram matrices and norms accumulated in float64.

The Frobenius objective comes from the trace identity, which subtracts nearly equal
numbers when the fit is good; its terms are therefore summed in float64 even for
float32 factors, without a float64 copy of a large factor (cache-sized blocks are
cast one at a time).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._backends import is_sparse, namespace


#: Entries per float64 chunk of the blocked sums (512 KiB of float64: stays in cache).
DOT_CHUNK = 1 << 16


def _rowwise_dot64(A, B) -> float:
    """Σ A∘B for NumPy arrays, products and sums in float64, without a float64 copy of
    A or B: lower-precision rows are cast a cache-sized chunk at a time.  (Summed along
    rows in float32, with float32 Gram matrices, the objective of a converged float32 fit
    is off by much more than its own rounding: the terms nearly cancel.)"""
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


#: The dtypes :func:`_dot64` is compiled for.
_COMPILED = (np.dtype(np.float32), np.dtype(np.float64))


@njit(fastmath={"reassoc"}, cache=True, nogil=True, error_model="numpy")
def _dot64(A, B):
    """Σ A∘B over two 2-D arrays of one shape, each product and the sum in float64:
    one compiled pass, whatever the arrays' dtype and strides (no float64 copy, no
    BLAS call, whose thread wake-up costs more than a small dot)."""
    total = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            total += np.float64(A[i, j]) * np.float64(B[i, j])
    return total


def gram64(U):
    """``U Uᵀ`` (k x k) for a k x r factor, products and sums in float64 (a float64
    array); lower-precision factors are cast a cache-sized column block at a time.
    With float32 Gram matrices (r = 6,000), the float32 objective of
    ``test_float32_objective_is_the_exact_objective`` (2·10⁻⁴ of ½‖X‖²) was up to
    4·10⁻⁴ off, relative; the test allows 10⁻⁴."""
    if type(U) is np.ndarray and U.dtype == np.float64:
        return U @ U.T
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
    if (type(A) is np.ndarray and type(B) is np.ndarray and A.ndim == 2
            and A.shape == B.shape and A.dtype in _COMPILED and B.dtype in _COMPILED):
        return float(_dot64(A, B))
    if isinstance(A, np.ndarray) and isinstance(B, np.ndarray):
        return _rowwise_dot64(A, B)
    xp = namespace(A, B)
    return float(xp.sum(xp.astype(A, xp.float64, copy=False) * xp.astype(B, xp.float64, copy=False)))


def _sumsq64(A) -> float:
    """``Σ A²`` of a 2-D NumPy array, products and sums in float64; lower precisions are
    cast a cache-sized row block at a time (one cast, where ``_rowwise_dot64(A, A)``
    casts each block twice)."""
    # einsum, not np.dot: BLAS's ddot on cache-sized blocks is slower (a thread wake-up
    # per call).
    if A.dtype == np.float64:
        return float(np.einsum("ij,ij->", A, A))
    rows = max(1, DOT_CHUNK // max(1, A.shape[1]))
    total = 0.0
    for start in range(0, A.shape[0], rows):
        a = A[start:start + rows].astype(np.float64)
        total += float(np.einsum("ij,ij->", a, a))
    return total
