"""Accurate sums: inner products, Gram matrices and norms accumulated in float64.

The Frobenius objective comes from the trace identity, which subtracts nearly equal
numbers when the fit is good; its terms are therefore summed in float64 even for
float32 factors, without a float64 copy of a large factor (cache-sized blocks are
cast one at a time).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

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


# --------------------------------------------------------------------------- Σ x log y
@intrinsic
def _bits(typingctx, v):
    """The 64 bits of a float64, as an int64 (a bitcast: no instruction, vectorises)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, b):
    """The float64 whose 64 bits are ``b``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


_LN2 = 0.6931471805599453
_MANTISSA = (1 << 52) - 1
_EXPONENT_ONE = 1023 << 52
_SQRT2 = 1.4142135623730951


@njit(fastmath={"reassoc", "contract"}, cache=True, nogil=True, error_model="numpy")
def _log(v):
    """Natural log of a positive, normal float64, within a few ulps of ``np.log``
    (tests/test_beta.py allows 4), written so that a loop over it vectorises.

    libm's log is a scalar call, and KL needs Σ x log WH, one log per entry of X, in
    every objective and in the Newton-CD sweeps (:mod:`nmfkit.solvers._kernels` uses
    this one): a scalar call per entry costs more than the products behind an
    iteration, where this one vectorises with the loop.

    v = 2^e·m with m in [√½, √2) from the bits, and log m = 2 atanh(s) with
    s = (m − 1)/(m + 1), |s| ≤ 0.172, summed to s²¹ (the next term is below 1e-17).
    Zero, infinite or NaN v are not handled (callers floor WH at eps first); a
    subnormal v gets a finite, wrong log, harmless in Σ x log x, where it is multiplied
    by v.
    """
    b = _bits(v)
    e = (b >> 52) - 1023
    m = _from_bits((b & _MANTISSA) | _EXPONENT_ONE)
    if m > _SQRT2:
        m *= 0.5
        e += 1
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = 1.0 / 21.0
    for d in (19.0, 17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0):
        p = p * z + 1.0 / d
    return e * _LN2 + 2.0 * s * p


@njit(fastmath={"reassoc", "contract"}, cache=True, nogil=True, error_model="numpy")
def _xlogy_floored(X, Y, eps):
    """Σ X∘log max(Y, eps) over two 2-D arrays of one shape, row by row, in float64."""
    total = 0.0
    for i in range(X.shape[0]):
        row = 0.0
        for j in range(X.shape[1]):
            y = np.float64(Y[i, j])
            row += np.float64(X[i, j]) * _log(eps if y < eps else y)
        total += row
    return total


def xlogy64(X, Y, eps) -> float:
    """``Σ x·log max(y, eps)`` over NumPy arrays X, Y of one shape, 1-D or 2-D (float32
    or float64), logs, products and sums in float64: the KL divergence's one term that
    needs WH (Févotte & Idier 2011, eq. 2 at β = 1).

    One compiled pass with no temporary, where NumPy takes three over an m x n
    scratch array (floor, log, dot) and its log is a scalar libm call per entry.  ``eps``
    must be a positive normal float64 (it floors y, so every log is of a normal
    number).  A zero of X adds 0·log y = 0.
    """
    if X.ndim == 1:  # stored entries: views as one row
        X, Y = X[None, :], Y[None, :]
    if X.flags.f_contiguous and Y.flags.f_contiguous and not (
            X.flags.c_contiguous and Y.flags.c_contiguous):
        X, Y = X.T, Y.T  # the same sum, read in memory order
    return float(_xlogy_floored(X, Y, float(eps)))
