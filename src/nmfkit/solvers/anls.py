"""ANLS: alternating non-negative least squares, each sub-problem solved exactly.

The sub-problem ``min_{U ≥ 0} ½⟨U, AU⟩ − ⟨B, U⟩`` (one column of U per column of B)
is solved by block principal pivoting (Kim & Park 2011, "Fast nonnegative matrix
factorization: an active-set-like method and comparisons", Algorithm 2 with
multiple right-hand sides): guess the passive set F (the variables allowed to be
positive), solve the unconstrained system on F, and exchange every infeasible
variable at once; if the number of infeasible variables stops falling for three
rounds, fall back to exchanging one (the largest index), which guarantees
termination.  All columns are solved together as a batch of masked k x k systems,
so no Python loop runs over columns.  Warm-started from the previous passive set.
"""
from __future__ import annotations

from .. import _backends
from . import alternating

MAX_EXCHANGES_FACTOR = 5  # cap on rounds: 5k + 10, far above what BPP needs in practice
CHUNK_BYTES = 64 * 2**20  # memory for one batch of masked k x k systems


def _solve_passive(A, B, F):
    """Least squares on the passive sets: returns (x, y) with y = A x − B, both k x c."""
    xp = _backends.namespace(A, B)
    k = A.shape[0]
    Fc = xp.asarray(F.T, dtype=A.dtype)  # c x k, 1.0 where passive
    eye = _backends.eye_like(k, A)
    M = A[None, :, :] * (Fc[:, :, None] * Fc[:, None, :]) + eye[None, :, :] * (1 - Fc)[:, None, :]
    rhs = (B.T * Fc)[:, :, None]
    x = xp.linalg.solve(M, rhs)[:, :, 0].T * Fc.T
    y = (A @ x - B) * (1 - Fc.T)
    return x, y


def nnls(A, B, passive=None, *, l1=0.0, l2=0.0):
    """Exact solution of ``min_{U ≥ 0} ½⟨U, (A + l2 I)U⟩ − ⟨B − l1, U⟩``, column by column.

    Parameters
    ----------
    A : array (k, k)
        Symmetric positive semi-definite Gram matrix.
    B : array (k, r)
        Right-hand sides.
    passive : bool array (k, r) or None
        Initial guess of the positive entries (a warm start).

    Returns
    -------
    U : array (k, r), U ≥ 0.
    """
    xp = _backends.namespace(A, B)
    k, r = B.shape
    if l2:
        A = A + l2 * _backends.eye_like(k, A)
    if l1:
        B = B - l1
    # A vanished or repeated component (a zero, or rank-deficient, A) makes the system
    # singular; a ridge of 1e-12 of A's scale removes that, and at least 10 ε of the
    # dtype so that it is not rounded away in float32.
    ridge = max(1e-12, 10 * float(xp.finfo(A.dtype).eps))
    A = A + ridge * float(xp.max(xp.abs(A)) + 1e-300) * _backends.eye_like(k, A)
    itemsize = 8 if A.dtype == xp.float64 else 4
    chunk = max(1, int(CHUNK_BYTES // (itemsize * k * k * 2)))
    out = xp.zeros((k, r), dtype=B.dtype, device=_backends.device(B))
    for start in range(0, r, chunk):
        stop = min(r, start + chunk)
        F0 = None if passive is None else passive[:, start:stop]
        out[:, start:stop] = _bpp(A, B[:, start:stop], F0)
    return out


def _bpp(A, B, F):
    xp = _backends.namespace(A, B)
    k, r = B.shape
    scale = float(xp.max(xp.abs(B))) if r else 0.0
    tol = 1e3 * float(xp.finfo(B.dtype).eps) * max(scale, 1e-300)
    where = _backends.device(B)
    if F is None:
        F = xp.zeros((k, r), dtype=xp.bool, device=where)
    else:
        F = xp.asarray(F, copy=True)
    X, Y = _solve_passive(A, B, F)
    alpha = xp.full((r,), 3, dtype=xp.int64, device=where)
    beta = xp.full((r,), k + 1, dtype=xp.int64, device=where)
    index = xp.arange(k, device=where)[:, None]
    for _ in range(MAX_EXCHANGES_FACTOR * k + 10):
        V = (F & (X < -tol)) | (~F & (Y < -tol))
        nV = xp.sum(xp.astype(V, xp.int64), axis=0)
        todo = nV > 0
        if not bool(xp.any(todo)):
            break
        cols = xp.nonzero(todo)[0]
        Vc, nVc = V[:, cols], nV[cols]
        fewer = nVc < beta[cols]
        alpha_c = xp.where(fewer, 3, alpha[cols])
        beta_c = xp.where(fewer, nVc, beta[cols])
        full_exchange = fewer | (alpha_c >= 1)
        alpha_c = xp.where(~fewer & full_exchange, alpha_c - 1, alpha_c)
        # Backup rule: only the infeasible variable with the largest index.
        last = xp.max(xp.where(Vc, index, -1), axis=0)
        single = index == last[None, :]
        exchange = xp.where(full_exchange[None, :], Vc, single & Vc)
        alpha[cols], beta[cols] = alpha_c, beta_c
        Fc = F[:, cols] ^ exchange
        F[:, cols] = Fc
        Xc, Yc = _solve_passive(A, B[:, cols], Fc)
        X[:, cols], Y[:, cols] = Xc, Yc
    return xp.maximum(X, 0)


def update(U, A, B, l1, l2, state):
    """Exact block update of U, warm-started from the current positive entries."""
    return nnls(A, B, U > 0, l1=l1, l2=l2)


def solve(X, W, H, *, params, monitor):
    """Fit ``X ≈ WH`` by ANLS with block principal pivoting."""
    return alternating.run(X, W, H, params=params, monitor=monitor, update=update)
