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


def namespace(*arrays):
    """Array-API namespace of the dense arrays among ``arrays`` (sparse ``X`` is skipped)."""
    dense = [a for a in arrays if a is not None and not is_sparse(a)]
    if not dense:
        return array_namespace(np.empty(0))
    return array_namespace(*dense)


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


def X_times_Ht(X, H):
    """``X @ H.T`` (m x k) for dense or sparse ``X``; never densifies ``X``."""
    if is_sparse(X):
        return np.asarray(X @ H.T)
    return X @ H.T


def Wt_times_X(W, X):
    """``W.T @ X`` (k x n, row-major) for dense or sparse ``X``; never densifies ``X``.

    Computed as ``(Xᵀ W)ᵀ``: BLAS is faster producing the tall n x k result, and
    scipy multiplies a sparse matrix by a dense one, not the reverse.
    """
    return contiguous((X.T @ W).T)


def H_times_Xt(H, X):
    """``H @ X.T`` (k x m, row-major): the right-hand side of the problem for ``Wᵀ``."""
    return contiguous((X @ H.T).T)


def squared_norm(X) -> float:
    """``‖X‖²_F`` accumulated in float64, for dense or sparse ``X``."""
    if is_sparse(X):
        data = X.data
        return float(np.dot(data.astype(np.float64, copy=False), data.astype(np.float64, copy=False)))
    xp = namespace(X)
    Xd = xp.astype(X, xp.float64) if X.dtype != xp.float64 else X
    return float(xp.sum(Xd * Xd))


def vdot64(A, B) -> float:
    """``⟨A, B⟩ = Σ A∘B`` accumulated in float64 (A and B are small: k x n or k x k)."""
    xp = namespace(A, B)
    return float(xp.sum(xp.astype(A, xp.float64) * xp.astype(B, xp.float64)))


def eye_like(k, A):
    xp = namespace(A)
    return xp.eye(k, dtype=A.dtype, device=_device(A))


def _device(A):
    from array_api_compat import device

    return device(A)


def copy(A):
    xp = namespace(A)
    return xp.asarray(A, copy=True)


def take_columns(A, mask):
    """Columns of ``A`` where the boolean ``mask`` holds (shape depends on data)."""
    return A[:, mask]


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
        R = X[start:start + chunk_rows] - W[start:start + chunk_rows] @ H
        R = xp.astype(R, xp.float64)
        total += float(xp.sum(R * R))
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
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
