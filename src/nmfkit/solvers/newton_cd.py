"""Cyclic coordinate descent with Newton steps for KL (and least squares on observed entries).

For the generalised Kullback–Leibler divergence (β = 1) this is the CCD method of
Hsieh & Dhillon 2011 ("Fast coordinate descent methods with variable selection for
non-negative matrix factorization", KDD, section 4): each variable W_ir (then H_rj)
is moved by a projected Newton step on its one-variable sub-problem,

    g = Σ_j H_rj (1 − X_ij / (WH)_ij) + l1 + l2 W_ir,      h = Σ_j H_rj² X_ij / (WH)_ij² + l2,
    W_ir ← max(0, W_ir − g / h),

keeping WH up to date after every step.  The one-variable KL problem is convex with a
decreasing second derivative, so a Newton step that increases a variable never
overshoots its minimiser; one that decreases it can, so a single step is not guaranteed
to lower the objective (it did on every problem tested; MU is the solver with that
guarantee).  Rows of W are independent sub-problems; each row's steps are taken
component by component (Gauss–Seidel in r), one Newton step per variable per sweep
(Hsieh & Dhillon iterate each one-variable problem to convergence; one step reached a
given objective soonest, benchmarks/kl_speed.py); H's side is the same sweep on
Xᵀ ≈ HᵀWᵀ.  Before the first sweep WH is scaled to the KL-optimal level ΣWH = ΣX,
which MU reaches in one step and CD would otherwise approach by zeroing variables from
far above.

The rule (:func:`._kernels.newton_step`) is written once; where X and WH live is the
layout's business, one of two:

- stored entries (sparse X, or dense X with many zeros): WH is needed at the entries
  where X ≠ 0 only — the zeros of X enter g through Σ_j H_rj — so a sweep costs
  O(nnz·k), never O(mnk), and no m x n array is formed (Hsieh & Dhillon's key
  observation).  For KL a compiled kernel (:func:`._kernels.kl_csr_rows`) takes one CSR
  row at a time, gathers the other factor's values at the row's columns once and forms
  the row's WH afresh, rows split over threads by entries: 12.3 -> 5.0 ms per iteration
  on the critics' texts' word counts (5,526 x 6,293, 62,000 entries, k = 20) against the
  numpy blocks below, same iterates (`benchmarks/micro.py kl-sparse` with nmfkit at
  168fd8c and at the commit that added the kernel).  Masked fits (KL or least squares on observed entries)
  keep those numpy blocks (:class:`_StoredBlock`): WH carried at the entries from sweep
  to sweep, steps vectorised over the rows of a cache-sized block;
- dense rows (:func:`._kernels.kl_dense_rows`; dense, mostly non-zero X): a compiled
  kernel takes one row at a time, forms its n values of WH once and keeps them in L1
  cache through the row's k steps, each one pass over the row; rows are split over
  ``_kernels.threads()`` threads.  2.7x less time per iteration than the numpy/BLAS row
  blocks it replaced, same steps (``benchmarks/profile_nmfkit.py c`` at f024e8b and at
  f4ed3d8: 18.4 and 6.7 ms).  Scratch is float32 where ``SCRATCH_FLOAT32`` says.

For least squares on the observed entries only (β = 2 with ``missing='mask'``) the same
sweep with g = −Σ_{j∈Ω_i} H_rj (X_ij − (WH)_ij) + l1 + l2 W_ir and h = Σ_{j∈Ω_i} H_rj² + l2
is exact coordinate descent: weighted HALS (Ho 2008; Gillis 2020, §8.3.3 with a 0/1
weight), in O(nnz·k) time and memory per iteration.
"""
from __future__ import annotations

import numpy as np

from .. import _array
from ..objectives import EPSILON, BetaData
from ._kernels import kl_csr_rows, kl_dense_rows, newton_steps, over_rows, threads
from .result import SolverResult

#: Entries per block: the k Newton steps of a block run on arrays that stay in cache
#: (a sweep is otherwise ~9k passes over nnz-sized arrays, bound by memory).
BLOCK_ENTRIES = 1 << 17

#: Dense X with at least this fraction of non-zeros is swept by the dense-row kernel,
#: by scratch precision; sparser X by the stored-entry kernel.  A dense pass visits the
#: zeros too but reads memory in order; a stored-entry pass gathers.  Crossovers of the
#: two compiled kernels on Poisson counts, k = 10, two threads (`benchmarks/micro.py
#: kl-fill`): about 0.3 at 2,000 x 1,000 (float32 scratch), 0.4 at 600 x 500 (float64).
DENSE_MIN_FILL = {"float32": 0.3, "float64": 0.4}

#: Dense X of at least this many entries is swept in float32 scratch (X, WH and the
#: other factor; the factors, the steps and the objective stay in the factors'
#: precision, sums accumulated in float64).  float32 halves the bytes and doubles the
#: SIMD width of every pass: 2.3x less time per iteration on the KL benchmark with the
#: numpy/BLAS layout this was measured on, same iterations to every target.  The price:
#: each Newton step carries a rounding error of ~1e-7 of its sums, so the iterates follow float64 ones to ~1e-6 and
#: the objective to ~1e-7 (tests/test_beta.py), not to 1e-12.  float32 X always uses it;
#: smaller float64 problems, where time matters less, stay exact.
SCRATCH_FLOAT32 = 1 << 20


class _StoredBlock:
    """Rows a:b of the stored entries, with WH at those entries (``y``, updated in place
    and carried from sweep to sweep)."""

    def __init__(self, S, block, y, work):
        self.a, self.b, ea, eb, self.P = block
        self.x, self.y, self.cols = S.values[ea:eb], y[ea:eb], S.cols[ea:eb]
        self.per = S.rows_per[self.a:self.b]
        self.t, self.u, self.cb = (w[:eb - ea] for w in work)

    def start(self, U, other):
        self.floored = False

    def derivatives(self, o, o_sq, beta):
        """(Σ_j o_j x_j/y_j, Σ_j o_j² x_j/y_j²) for KL; (Σ_j o_j (x_j − y_j), None) for LS."""
        P = self.P
        if beta == 1:
            np.divide(self.x, self.y, out=self.t)
            P.data = self.t
            s = P @ o
            np.divide(self.t, self.y, out=self.u)
            P.data = self.u
            return s, P @ o_sq
        np.subtract(self.x, self.y, out=self.t)
        P.data = self.t
        return P @ o, None

    def add(self, step, o):
        """WH += step ⊗ o at the block's entries (floored where divided by)."""
        np.take(o, self.cols, out=self.cb, mode="clip")
        change = np.repeat(step, self.per)
        change *= self.cb
        self.y += change
        if self.y.min() < EPSILON:  # a min() pass is cheaper than np.maximum's
            np.maximum(self.y, EPSILON, out=self.y)
            self.floored = True


def _sweep(blocks, U, other, *, beta, linear, quad, l1, l2):
    """One Gauss–Seidel sweep over the k rows of U (k x m), stored block by block.

    ``other`` (k x n) is the fixed factor, in the blocks' dtype.  The gradient's x-free
    part is ``linear`` (k: Σ_j other_rj over all j; or m x k: over observed j only), and
    for least squares the curvature is ``quad`` (m x k: Σ_{j∈Ω} other_rj²).  Rows of U's
    columns are independent sub-problems, so blocks are swept one at a time: the result
    is the same Gauss–Seidel sweep.  Returns whether a block floored WH (its running
    values then differ from WH: the next sweep starts from WH afresh, as the dense
    layout always does).
    """
    k = U.shape[0]
    other_sq = other * other
    for blk in blocks:
        a, b = blk.a, blk.b
        blk.start(U, other)
        for r in range(k):
            s, hess = blk.derivatives(other[r], other_sq[r], beta)
            if hess is None:
                grad, hess = -s, quad[a:b, r]
            else:
                grad = -s + (linear[r] if linear.ndim == 1 else linear[a:b, r])
            u = U[r, a:b]
            step = newton_steps(u, grad, hess, l1, l2)
            if not step.any():
                continue
            U[r, a:b] = u + step
            blk.add(step, other[r])
    return any(blk.floored for blk in blocks)


def dense_scratch(X, beta, missing):
    """Scratch dtype of the dense row-block layout for X (KL on a dense X full enough
    that it pays), or None for the stored-entry layout."""
    if beta != 1 or missing or _array.is_sparse(X):
        return None
    A = _array.to_numpy(X)
    if A.size == 0:
        return None
    dtype = np.dtype(np.float32 if A.dtype == np.float32 or A.size >= SCRATCH_FLOAT32
                     else np.float64)
    return dtype if np.count_nonzero(A) >= DENSE_MIN_FILL[dtype.name] * A.size else None


def solve(X, W, H, *, params, monitor):
    """Fit ``X ≈ WH`` (KL, or least squares on observed entries) by Newton-CD sweeps."""
    beta = float(params.beta)
    if beta not in (1.0, 2.0):
        raise ValueError(f"newton-cd minimises beta = 1 or 2 (masked), got {beta}")
    pen = params.penalty
    dtype = dense_scratch(X, beta, params.missing)
    dense = dtype is not None
    # Where X and WH live: "dense" rows, "csr" rows of stored entries (both compiled
    # kernels that form WH afresh per row), or "stored" numpy blocks carrying WH at the
    # stored entries from sweep to sweep (masked fits: KL or least squares).
    layout = "dense" if dense else ("csr" if beta == 1 and not params.missing else "stored")
    kernel = layout != "stored"
    Wt = np.array(_array.to_numpy(W).T, order="C", copy=True)
    H = np.array(_array.to_numpy(H), order="C", copy=True)
    y = None  # WH at the stored entries, carried between sweeps ("stored" layout only)
    if dense:
        data = BetaData(_array.to_numpy(X), beta)
        x_total = float(np.sum(data.X, dtype=np.float64))
    else:
        data = BetaData(X, beta, missing=params.missing, stored=True)
        S = data.S
        x_total = float(S.values.sum())
        y = np.maximum(data.model(Wt.T, H), EPSILON) if layout == "stored" else None
    if beta == 1 and params.update_H and not pen.active:
        # The KL-optimal scale c of WH (argmin_c D(X|c·WH): c = ΣX / ΣWH): one multiplicative
        # step reaches it, coordinate steps from far above it first zero many variables.
        total_y = float(Wt.sum(axis=1) @ H.sum(axis=1)) if not params.missing else float(y.sum())
        if total_y > 0 and x_total > 0:
            c = x_total / total_y
            Wt *= np.sqrt(c)
            H *= np.sqrt(c)
            if y is not None:
                y *= c
    # The x-free parts of the derivatives: Σ_j H_rj over all j (KL: the zeros of X enter
    # here), or over observed entries only — Σ_{j∈Ω_i} H_rj (KL) or Σ_{j∈Ω_i} H_rj² (LS).
    def linear_quad(S, other):
        if beta == 1 and not params.missing:
            return other.sum(axis=1), None
        powered = other if beta == 1 else other * other
        counts = _array.pattern_times(S, np.ones_like(S.values), powered.T)  # m x k
        return (counts, None) if beta == 1 else (None, counts)

    if dense:
        Z = np.ascontiguousarray(data.X, dtype=dtype)
        blocks, blocks_T = Z, (np.ascontiguousarray(Z.T) if params.update_H else None)
        n_threads, eps = threads(), dtype.type(EPSILON)

        def sweep(Zs, U, other, lin, quad, l1, l2, *, measure, steps=True):
            """Rows of Zs ≈ Uᵀ·other in compiled kernels; (Σ x log WH if measured, False)."""
            O = other.astype(dtype)
            return over_rows(kl_dense_rows, Zs.shape[0], n_threads, Zs, U, O, O * O, lin,
                             float(l1), float(l2), eps, steps, measure), False
    elif layout == "csr":
        blocks = S
        blocks_T = S.transposed()[0] if params.update_H else None
        n_threads = threads()

        def sweep(Ss, U, other, lin, quad, l1, l2, *, measure, steps=True):
            """Rows of the stored entries Ss ≈ Uᵀ·other in compiled kernels."""
            OT = np.ascontiguousarray(other.T, dtype=np.float64)
            return over_rows(kl_csr_rows, Ss.shape[0], n_threads, Ss.indptr, Ss.cols, Ss.values,
                             U, OT, np.asarray(lin, dtype=np.float64), float(l1), float(l2),
                             EPSILON, steps, measure, indptr=Ss.indptr), False
    else:
        y_T = np.empty_like(y) if params.update_H else None
        if params.update_H:
            # H's side sweeps Xᵀ ≈ HᵀWᵀ: the same entries in Xᵀ's row order.
            ST, perm = S.transposed()
        sizes = [eb - ea for _, _, ea, eb, _ in S.row_blocks(BLOCK_ENTRIES)]
        if params.update_H:
            sizes += [eb - ea for _, _, ea, eb, _ in ST.row_blocks(BLOCK_ENTRIES)]
        work = tuple(np.empty(max(sizes + [1])) for _ in range(3))
        blocks = [_StoredBlock(S, blk, y, work) for blk in S.row_blocks(BLOCK_ENTRIES)]
        if params.update_H:
            blocks_T = [_StoredBlock(ST, blk, y_T, work) for blk in ST.row_blocks(BLOCK_ENTRIES)]

        def sweep(blocks, U, other, lin, quad, l1, l2, *, measure):
            return 0.0, _sweep(blocks, U, other, beta=beta, linear=lin, quad=quad, l1=l1, l2=l2)

    if kernel:  # Σ x log(WH) row by row, as every later objective (no m x n WH)
        loss = data.kl_from_xlogy(sweep(blocks, Wt, H, H.sum(axis=1), None, 0.0, 0.0,
                                        measure=True, steps=False)[0], Wt.T, H)
    else:
        loss = data.value(y, Wt.T, H)
    monitor.start(loss + pen.value(Wt.T, H))

    def refresh():
        """y = WH afresh (floored); True when the floor moved a value (y is then not WH)."""
        y[:] = data.model(Wt.T, H)
        floored = bool(y.min() < EPSILON)
        np.maximum(y, EPSILON, out=y)
        return floored

    # The running WH of the stored layout drifts from WH by rounding, and departs from it
    # where the floor moves a value: it is formed afresh every 10 iterations and before
    # any sweep that follows a floor, so that both layouts take the same steps (a dense
    # block forms its WH at every start).
    state = {"stale": layout == "stored" and bool(y.min() <= EPSILON)}

    def sweep_W(n_iter):
        if layout == "stored" and (state["stale"] or n_iter % 10 == 0):
            state["stale"] = refresh()
        lin, quad = linear_quad(None if kernel else S, H)
        xlogy, floor = sweep(blocks, Wt, H, lin, quad, pen.l1_W, pen.l2_W,
                             measure=kernel and not params.update_H)
        state["stale"] |= floor
        return xlogy

    def sweep_H():
        if layout == "stored":
            if state["stale"]:
                state["stale"] = refresh()
            np.take(y, perm, out=y_T)
        lin, quad = linear_quad(None if kernel else ST, Wt)
        xlogy, floor = sweep(blocks_T, H, Wt, lin, quad, pen.l1_H, pen.l2_H, measure=kernel)
        state["stale"] |= floor
        if layout == "stored":
            y[perm] = y_T
        return xlogy

    def objective(xlogy):
        value = data.kl_from_xlogy(xlogy, Wt.T, H) if kernel else data.value(y, Wt.T, H)
        return value + pen.value(Wt.T, H)

    n_iter, stopped = 0, False
    for n_iter in range(1, params.max_iter + 1):
        xlogy = sweep_W(n_iter)
        if params.update_H:
            xlogy = sweep_H()
        loss = objective(xlogy)
        if monitor(n_iter, Wt.T, H, loss):
            stopped = True
            break
    return SolverResult.finish(monitor, np.ascontiguousarray(Wt.T), H, n_iter, loss, stopped)
