"""Compiled inner loops (numba) for the one solver whose hot loop vectorising did not fix.

Two layouts of the same sweep: :func:`kl_dense_rows` (dense X) and :func:`stored_rows`
(the stored entries of a sparse or mostly-zero X, or the observed entries of a masked X;
KL or least squares).

Newton-CD for KL on a dense X (``newton_cd.py``) needs, for every variable of a row and
after every step, two sums over the row's n entries, Σ_j h_j x_j/y_j and
Σ_j h_j² x_j/y_j², where y = WH changes with each step.  As numpy and BLAS calls on row
blocks this was ten passes over a block per variable (two divisions, two matrix-vector
products, a rank-one update), bound by memory and single-threaded divisions.  Here a row
is one task: its y (n values) stays in L1 cache for all k steps, each step is one pass
that divides once, and rows run on several threads (the kernels release the GIL).
Same steps, same order (Gauss–Seidel over the components, rows independent): the
iterates equal the vectorised ones up to rounding (tests/test_beta.py).

The Newton step itself is written once, :func:`newton_step`, and both kernels call it.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from .._array import entry_cuts

# Reassociation lets LLVM vectorise the sums (their order changes, not their precision:
# they are accumulated in float64); no approximate division, no NaN/Inf assumptions.
# error_model='numpy': a division by zero gives inf like numpy's instead of raising;
# Python's model tests every divisor, which keeps the loops from vectorising (4.6x
# slower, `benchmarks/micro.py kl-kernel`; WH is floored at eps, so no divisor is zero
# anyway).
_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
_FASTMATH = {"reassoc", "contract"}


@njit(**_JIT)
def newton_step(u, grad, hess, l1, l2):
    """Projected Newton step of one variable's sub-problem: the change to u.

    ``grad`` and ``hess`` are the data part of the derivatives at u; the elastic-net
    penalty is added here.  A variable with no curvature (no observed entry) goes to 0
    when its gradient is positive and stays otherwise.
    """
    grad = grad + l1 + l2 * u
    hess = hess + l2
    if hess > 0:
        target = u - grad / hess
    elif grad > 0:
        target = 0.0
    else:
        target = u
    return max(target, 0.0) - u


# The row-level pieces both layouts share (numba inlines these small functions).

@njit(fastmath=_FASTMATH, **_JIT)
def _row_model(y, U, i, O, eps, floor):
    """y ← Σ_r U[r, i]·O[r, :] (a row of WH, in y's dtype), floored at ``eps`` when
    ``floor`` (KL divides by it)."""
    y[:] = 0
    for r in range(U.shape[0]):
        u = y.dtype.type(U[r, i])
        for j in range(y.shape[0]):
            y[j] += u * O[r, j]
    if floor:
        for j in range(y.shape[0]):
            if y[j] < eps:
                y[j] = eps


@njit(fastmath=_FASTMATH, **_JIT)
def _kl_sums(x, y, o, o2):
    """(Σ_j o_j x_j/y_j, Σ_j o2_j x_j/y_j²) over a row: the data part of a KL variable's
    gradient and curvature; one division per entry, sums in float64."""
    one = y.dtype.type(1.0)
    s = 0.0
    h = 0.0
    for j in range(y.shape[0]):
        inv = one / y[j]
        q = x[j] * inv
        s += q * o[j]
        h += q * inv * o2[j]
    return s, h


@njit(fastmath=_FASTMATH, **_JIT)
def _add_step(y, step, o, eps, floor):
    """y ← y + step·o after a variable moved, floored at ``eps`` when ``floor``."""
    st = y.dtype.type(step)
    for j in range(y.shape[0]):
        v = y[j] + st * o[j]
        y[j] = v if (not floor or v > eps) else eps


@njit(fastmath=_FASTMATH, **_JIT)
def _xlogy(x, y):
    """Σ_j x_j log y_j in float64 (y ≥ eps: a zero of x adds 0·log y = 0)."""
    acc = 0.0
    for j in range(y.shape[0]):
        acc += x[j] * np.log(y[j])
    return acc


@njit(fastmath=_FASTMATH, **_JIT)
def kl_dense_rows(Z, U, O, O2, linear, l1, l2, eps, steps, measure, a, b):
    """One Gauss–Seidel Newton sweep of rows a:b of Z ≈ Uᵀ·O for KL; returns Σ z log(WH).

    Z (m x n), O and O2 = O² (k x n) are in the scratch dtype; U (k x m) is the factor
    swept in place (column i of U holds row i's k variables); ``linear`` (k) is Σ_j O_rj,
    where the zeros of X enter the gradient.  y = WH of the row is formed once, floored
    at ``eps`` like every later update of it.  With ``measure``, the return value is
    Σ_j z_ij log y_ij over the rows after their steps (float64), else 0.  Without
    ``steps``, nothing moves: the call only measures.
    """
    y = np.empty(Z.shape[1], Z.dtype)
    total = 0.0
    for i in range(a, b):
        _row_model(y, U, i, O, eps, True)
        for r in range(U.shape[0] if steps else 0):
            s, h = _kl_sums(Z[i], y, O[r], O2[r])
            step = newton_step(U[r, i], linear[r] - s, h, l1, l2)
            if step != 0.0:
                U[r, i] += step
                _add_step(y, step, O[r], eps, True)
        if measure:
            total += _xlogy(Z[i], y)
    return total


@njit(fastmath=_FASTMATH, **_JIT)
def stored_rows(indptr, cols, x, U, OT, linear, quad, least_squares, l1, l2, eps, steps,
                measure, a, b):
    """:func:`kl_dense_rows` for the stored (or observed) entries of X only, given as CSR
    (``indptr``, ``cols``, ``x``); returns [Σ x log WH, Σ WH] (KL) or [Σ (x − WH)², Σ WH]
    (least squares) over the entries when ``measure``, else zeros.

    ``OT`` (n x k, float64) is the other factor transposed: a row gathers the k values
    at each of its columns once into a k x nnz_i buffer, and its steps then run on
    contiguous memory.  WH at the row's entries is formed afresh (floored at ``eps`` for
    KL, which divides by it), so nothing is carried between sweeps.

    KL: g = linear − Σ_q o_q x_q/y_q, h = Σ_q o_q² x_q/y_q², where ``linear`` holds
    Σ_j o_rj over all j (1 x k: the zeros of X enter there) or over the row's observed
    j (m x k, a mask).  Least squares on observed entries: g = −Σ_q o_q (x_q − y_q),
    h = ``quad[i, r]`` = Σ_{j observed} o_rj², the exact step (weighted HALS).  A row
    without entries has no curvature: its variables go to 0 when their gradient is
    positive, as :func:`newton_step` says.
    """
    k = U.shape[0]
    longest = 0
    for i in range(a, b):
        longest = max(longest, indptr[i + 1] - indptr[i])
    G = np.empty((k, longest))
    G2 = np.empty((k, longest))
    buffer = np.empty(longest)
    sums = np.zeros(2)
    shared = linear.shape[0] == 1
    for i in range(a, b):
        p0 = indptr[i]
        L = indptr[i + 1] - p0
        xi, y = x[p0:p0 + L], buffer[:L]
        for q in range(L):
            c = cols[p0 + q]
            for r in range(k):
                G[r, q] = OT[c, r]
                G2[r, q] = OT[c, r] * OT[c, r]
        _row_model(y, U, i, G, eps, not least_squares)
        for r in range(k if steps else 0):
            if least_squares:
                s = 0.0
                for q in range(L):
                    s += (xi[q] - y[q]) * G[r, q]
                step = newton_step(U[r, i], -s, quad[i, r], l1, l2)
            else:
                s, h = _kl_sums(xi, y, G[r], G2[r])
                step = newton_step(U[r, i], linear[0 if shared else i, r] - s, h, l1, l2)
            if step != 0.0:
                U[r, i] += step
                _add_step(y, step, G[r], eps, not least_squares)
        if measure:
            if least_squares:
                for q in range(L):
                    sums[0] += (xi[q] - y[q]) ** 2
            else:
                sums[0] += _xlogy(xi, y)
            sums[1] += y.sum()
    return sums


@njit(fastmath=_FASTMATH, **_JIT)
def xlogx_rows(Z, a, b):
    """Σ z log z over rows a:b of Z (0 log 0 = 0), logs and sums in float64: KL's
    x-only term, on all cores (one log per entry is the whole cost)."""
    total = 0.0
    for i in range(a, b):
        acc = 0.0
        for j in range(Z.shape[1]):
            z = np.float64(Z[i, j])
            acc += z * np.log(z if z > 0.0 else 1.0)
        total += acc
    return total


def threads():
    """Threads the kernels use: numba's count (``NUMBA_NUM_THREADS``, or
    ``numba.set_num_threads``; all cores by default).  Not the BLAS count: nmfkit holds
    BLAS to one thread for small products, where a thread costs more than the product,
    while a kernel's rows are independent work of ~10·k operations per entry."""
    import numba

    return max(1, int(numba.get_num_threads()))


_POOL = {}


def over_rows(kernel, m, n_threads, *args, indptr=None):
    """Run ``kernel(*args, a, b)`` over rows 0:m in ``n_threads`` contiguous chunks, in
    parallel (the kernels release the GIL); returns the sum of the results.  With a CSR
    ``indptr`` the chunks hold about equal numbers of entries, not of rows."""
    if n_threads <= 1 or m < 2 * n_threads:
        return kernel(*args, 0, m)
    if indptr is None:
        cuts = np.linspace(0, m, n_threads + 1).astype(int)
    else:
        cuts = np.concatenate([[0], entry_cuts(indptr, n_threads), [m]])
    pool = _POOL.get(n_threads)
    if pool is None:
        pool = _POOL[n_threads] = ThreadPoolExecutor(n_threads, thread_name_prefix="nmfkit")
    futures = [pool.submit(kernel, *args, int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:])]
    return sum(f.result() for f in futures)
