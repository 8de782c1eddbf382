"""Cyclic coordinate descent with Newton steps on the stored entries of X.

For the generalised Kullback–Leibler divergence (β = 1) this is the CCD method of
Hsieh & Dhillon 2011 ("Fast coordinate descent methods with variable selection for
non-negative matrix factorization", KDD, section 4): each variable W_ir (then H_rj)
is moved by a projected Newton step on its one-variable sub-problem,

    g = Σ_j H_rj (1 − X_ij / (WH)_ij) + l1 + l2 W_ir,      h = Σ_j H_rj² X_ij / (WH)_ij² + l2,
    W_ir ← max(0, W_ir − g / h),

keeping WH up to date at the entries where X ≠ 0 only: the zeros of X enter g through
Σ_j H_rj, so a sweep costs O(nnz·k), never O(mnk), and no m x n array is formed (their
key observation).  The one-variable KL problem is convex with a decreasing second
derivative, so a Newton step that increases a variable never overshoots its minimiser;
one that decreases it can, so a single step is not guaranteed to lower the objective
(it did on every problem tested; MU is the solver with that guarantee).  Steps are
vectorised over the rows of W (independent sub-problems) and taken component by
component (Gauss–Seidel in r), on blocks of rows small enough to stay in cache; H's
side is the same sweep on Xᵀ ≈ HᵀWᵀ.  Before the first sweep WH is scaled to the
KL-optimal level ΣWH = ΣX, which MU reaches in one step and CD would otherwise
approach by zeroing variables from far above.

For least squares on the observed entries only (β = 2 with ``missing='mask'``) the same
sweep with g = −Σ_{j∈Ω_i} H_rj (X_ij − (WH)_ij) + l1 + l2 W_ir and h = Σ_{j∈Ω_i} H_rj² + l2
is exact coordinate descent: weighted HALS (Ho 2008; Gillis 2020, §8.3.3 with a 0/1
weight), in O(nnz·k) time and memory per iteration.
"""
from __future__ import annotations

import numpy as np

from .. import _array
from ..objectives import EPSILON, BetaData
from .result import SolverResult

#: Newton steps per variable per sweep.  Hsieh & Dhillon iterate each one-variable
#: problem to convergence; here every step is a pass over the stored entries, and one
#: step per sweep reached a given objective soonest (benchmarks/kl_speed.py).
NEWTON_STEPS = 1


#: Stored entries per block: the k Newton steps of a block run on arrays that stay in
#: cache (a sweep is otherwise ~9k passes over nnz-sized arrays, bound by memory).
BLOCK_ENTRIES = 1 << 17


def _sweep(S, blocks, y, U, other, *, beta, missing, l1, l2, work):
    """One Gauss–Seidel sweep over the k rows of U, block of X's rows by block.

    U (k x m) is the factor on S's row side (Wᵀ for X, H for Xᵀ), ``other`` (k x n)
    the fixed one; ``y`` holds WH at S's entries, in S's order (updated in place).
    Rows of U's columns are independent sub-problems, so blocks can be swept one at a
    time: the result is the same Gauss–Seidel sweep.
    """
    x = S.values
    k = U.shape[0]
    counts = None
    if beta == 1 and not missing:
        totals = other.sum(axis=1)  # Σ_j H_rj over all j, zeros of X included
    else:
        # Over observed entries only: Σ_{j∈Ω_i} H_rj (KL) or Σ_{j∈Ω_i} H_rj² (LS).
        powered = other if beta == 1 else other * other
        counts = _array.pattern_times(S, np.ones_like(x), powered.T)  # m x k
    other_sq = other * other
    t_all, u_all, cb_all = work
    for a, b, ea, eb, P in blocks:
        xb, yb, cols, per = x[ea:eb], y[ea:eb], S.cols[ea:eb], S.rows_per[a:b]
        t, u_e, cb = t_all[:eb - ea], u_all[:eb - ea], cb_all[:eb - ea]
        for r in range(k):
            o = other[r]
            if beta == 1:
                np.divide(xb, yb, out=t)
                P.data = t
                grad = -(P @ o)
                grad += totals[r] if counts is None else counts[a:b, r]
                np.divide(t, yb, out=u_e)
                P.data = u_e
                hess = P @ other_sq[r]
            else:
                np.subtract(xb, yb, out=t)
                P.data = t
                grad = -(P @ o)
                hess = counts[a:b, r].copy()
            u = U[r, a:b]
            if l1:
                grad += l1
            if l2:
                grad += l2 * u
                hess += l2
            live = hess > 0
            # A variable with no curvature (no stored entry) goes to 0 when g > 0.
            target = np.where(live, u - grad / np.where(live, hess, 1.0),
                              np.where(grad > 0, 0.0, u))
            step = np.maximum(target, 0.0) - u
            if not step.any():
                continue
            U[r, a:b] = u + step
            # WH changes by step ⊗ other[r] at the block's entries.
            np.take(o, cols, out=cb, mode="clip")
            change = np.repeat(step, per)
            change *= cb
            yb += change
            np.maximum(yb, EPSILON, out=yb)
    return U


def solve(X, W, H, *, params, monitor):
    """Fit ``X ≈ WH`` (KL, or least squares on observed entries) by Newton-CD sweeps."""
    beta = float(params.beta)
    if beta not in (1.0, 2.0):
        raise ValueError(f"newton-cd minimises beta = 1 or 2 (masked), got {beta}")
    data = BetaData(X, beta, missing=params.missing, stored=True)
    S = data.S
    pen = params.penalty
    Wt = np.array(_array.to_numpy(W).T, order="C", copy=True)
    H = np.array(_array.to_numpy(H), order="C", copy=True)
    y = np.maximum(data.model(Wt.T, H), EPSILON)
    if beta == 1 and params.update_H and not pen.active:
        # The KL-optimal scale c of WH (argmin_c D(X|c·WH): c = ΣX / ΣWH): one multiplicative
        # step reaches it, coordinate steps from far above it first zero many variables.
        total_y = float(Wt.sum(axis=1) @ H.sum(axis=1)) if not params.missing else float(y.sum())
        if total_y > 0 and float(S.values.sum()) > 0:
            c = float(S.values.sum()) / total_y
            Wt *= np.sqrt(c)
            H *= np.sqrt(c)
            y *= c
    loss = data.value(y, Wt.T, H) + pen.value(Wt.T, H)
    monitor.start(loss)
    n_iter, stopped = 0, False
    blocks = S.row_blocks(BLOCK_ENTRIES)
    if params.update_H:
        # H's side sweeps Xᵀ ≈ HᵀWᵀ: the same entries in Xᵀ's row order.
        ST, perm = S.transposed()
        blocks_T = ST.row_blocks(BLOCK_ENTRIES)
        y_T = np.empty_like(y)
    work = tuple(np.empty(max([eb - ea for _, _, ea, eb, _ in blocks] +
                              ([eb - ea for _, _, ea, eb, _ in blocks_T]
                               if params.update_H else []) + [1])) for _ in range(3))
    for n_iter in range(1, params.max_iter + 1):
        _sweep(S, blocks, y, Wt, H, beta=beta, missing=params.missing,
               l1=pen.l1_W, l2=pen.l2_W, work=work)
        if params.update_H:
            np.take(y, perm, out=y_T)
            _sweep(ST, blocks_T, y_T, H, Wt, beta=beta, missing=params.missing,
                   l1=pen.l1_H, l2=pen.l2_H, work=work)
            y[perm] = y_T
        if n_iter % 10 == 0:  # rounding drift of the running WH
            y = np.maximum(data.model(Wt.T, H), EPSILON)
        loss = data.value(y, Wt.T, H) + pen.value(Wt.T, H)
        if monitor(n_iter, Wt.T, H, loss):
            stopped = True
            break
    return SolverResult.finish(monitor, np.ascontiguousarray(Wt.T), H, n_iter, loss, stopped)
