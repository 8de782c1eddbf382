"""Cyclic coordinate descent with Newton steps for KL (and least squares on observed entries).

For the generalised Kullback–Leibler divergence (β = 1) this is the CCD method of
Hsieh & Dhillon 2011 ("Fast coordinate descent methods with variable selection for
non-negative matrix factorization", KDD, section 4): each variable W_ir (then H_rj)
is moved by a projected Newton step on its one-variable sub-problem,

    g = Σ_j H_rj (1 − X_ij / (WH)_ij) + l1 + l2 W_ir,      h = Σ_j H_rj² X_ij / (WH)_ij² + l2,
    W_ir ← max(0, W_ir − g / h),

keeping WH up to date after every step.  The one-variable KL problem is convex with a
decreasing second derivative, so a Newton step that increases a variable never
overshoots its minimiser; one that decreases it can, and then raise the objective.  An
iteration whose objective rose is therefore run again from where it began with every
step down bounded by the multiplicative (majorisation) step of that one variable, which
cannot raise it (:func:`._kernels.kl_step`); the bound is off otherwise, as it slows the
steps that did not need it.  Rows of W are independent sub-problems; each row's steps are taken
component by component (Gauss–Seidel in r), one Newton step per variable per sweep
(Hsieh & Dhillon iterate each one-variable problem to convergence; one step reached a
given objective soonest in our measurements); H's side is the same sweep on
Xᵀ ≈ HᵀWᵀ.  Before the first sweep WH is scaled to the KL-optimal level ΣWH = ΣX,
which MU reaches in one step and CD would otherwise approach by zeroing variables from
far above.

Between iterations, extrapolation with restarts (Ang & Gillis 2019), as the alternating
driver does for HALS: each iteration starts from [U_k + s(U_k − U_{k−1})]₊ (both
factors), and keeps its result only if the objective is no higher than the last;
otherwise it is run again from the plain iterate.  It is this solver's default: the
accepted steps cut the iterations a given objective takes by more than the refused
ones cost.

The rule (:func:`._kernels.newton_step`) is written once; where X and WH live is the
layout's business, one of two compiled kernels:

- dense rows (:func:`._kernels.kl_dense_rows`; KL on a dense, mostly non-zero X): one
  row at a time, its n values of WH formed once and kept in L1 cache through the row's k
  steps, each one pass over the row; rows are split over ``_kernels.threads()``
  threads.  Scratch is float32 where ``Settings.newton_float32_scratch_min`` says, with
  sums in float32 blocks (``_kernels.SUM_BLOCK``) and a vectorised log
  (``_sums._log``).
- stored entries (:func:`._kernels.stored_rows`; sparse X, dense X with many zeros, and
  masked X): WH is needed at the stored (observed) entries only — the zeros of X enter
  g through Σ_j H_rj — so a sweep costs O(nnz·k), never O(mnk), and no m x n array is
  formed (Hsieh & Dhillon's key observation).  One CSR row at a time: the other
  factor's values at the row's columns are gathered once, the row's WH is formed afresh,
  rows are split over threads by entries.

For least squares on the observed entries only (β = 2 with ``missing='mask'``) the same
sweep with g = −Σ_{j∈Ω_i} H_rj (X_ij − (WH)_ij) + l1 + l2 W_ir and h = Σ_{j∈Ω_i} H_rj² + l2
is exact coordinate descent: weighted HALS (Ho 2008; Gillis 2020, §8.3.3 with a 0/1
weight), in O(nnz·k) time and memory per iteration.
"""
from __future__ import annotations


import numpy as np

from .. import _backends
from ..objectives import EPSILON, BetaData
from . import alternating
from ._kernels import (column_outers, gram_rows, kl_dense_rows, over_rows, stored_rows, threads,
                       xlogx_rows)
from .result import SolverResult

#: Dense X with at least this fraction of non-zeros is swept by the dense-row kernel,
#: by scratch precision (``Settings.newton_dense_min_fill`` overrides both); sparser X by
#: the stored-entry kernel.  A dense pass visits the zeros too but reads memory in
#: order; a stored-entry pass gathers, so the dense kernel wins once enough of X is
#: non-zero, and sooner in float32, whose dense passes read half the bytes.
DENSE_MIN_FILL = {"float32": 0.3, "float64": 0.4}

#: Most bytes a least-squares side's column outer products may hold (n x k² float64,
#: :func:`._kernels.column_outers`); above it each row forms its Gram matrix from the
#: factor itself.  Small enough to stay in cache, where the rows read it k² at a time.
OUTER_BYTES = 8 * 2**20

# Dense X of at least Settings.newton_float32_scratch_min entries is swept in float32
# scratch (X, WH and the other factor; the factors, the steps and the objective stay in
# the factors' precision; sums run in float32 blocks, in float64 across them): float32
# halves the bytes and doubles the SIMD width of every pass.  The price: each Newton
# step carries a rounding error of ~1e-7 of its sums, so the iterates follow float64
# ones to ~1e-6 and the objective to ~1e-7 (tests/test_beta.py), not to 1e-12.  float32
# X always uses it; smaller float64 problems, where time matters less, stay exact.


def dense_scratch(X, beta, missing, settings):
    """Scratch dtype of the dense row-block layout for X (KL on a dense X full enough
    that it pays), or None for the stored-entry layout."""
    if beta != 1 or missing or _backends.is_sparse(X):
        return None
    A = _backends.to_numpy(X)
    if A.size == 0:
        return None
    dtype = np.dtype(np.float32 if A.dtype == np.float32
                     or A.size >= settings.newton_float32_scratch_min else np.float64)
    fill = settings.newton_dense_min_fill
    fill = DENSE_MIN_FILL[dtype.name] if fill is None else fill
    return dtype if np.count_nonzero(A) >= fill * A.size else None


def gram_layout(S, k, settings):
    """Whether least squares on the observed entries S is swept by row Gram matrices
    (:func:`._kernels.gram_rows`) rather than entry by entry: for an X with few
    unobserved entries, whose Gram matrices are OOᵀ less k² work per unobserved entry,
    against about 8·k per observed entry for the entry sweep
    (``Settings.newton_gram_max_ratio``).  Where most of X is unobserved (ratings),
    the entry sweep's single pass is the cheaper.  Decided on the counts only, so a
    dense X with NaN and a sparse X of the same observed entries take the same steps."""
    unobserved = S.shape[0] * S.shape[1] - S.nnz
    return unobserved * k <= settings.newton_gram_max_ratio * S.nnz


def solve(X, W, H, *, params, monitor):
    """Fit ``X ≈ WH`` (KL, or least squares on observed entries) by Newton-CD sweeps."""
    beta = float(params.beta)
    if beta not in (1.0, 2.0):
        raise ValueError(f"newton-cd minimises beta = 1 or 2 (masked), got {beta}")
    pen = params.penalty
    dtype = dense_scratch(X, beta, params.missing, params.settings)
    dense = dtype is not None
    Wt = np.array(_backends.to_numpy(W).T, order="C", copy=True)
    H = np.array(_backends.to_numpy(H), order="C", copy=True)
    n_threads = threads()
    split = params.settings.kernel_split_min_work
    gram = None
    if dense:
        data = BetaData(_backends.to_numpy(X), beta)
        x_total = float(np.sum(data.X, dtype=np.float64))
    else:
        data = BetaData(X, beta, missing=params.missing, stored=True)
        S = data.S
        x_total = float(S.values.sum())
        ST = S.transposed()[0] if params.update_H else None
        if beta == 2 and gram_layout(S, Wt.shape[0], params.settings):
            # b_i = Σ_{j observed} x_ij o_j for all rows as one product: BLAS on a dense X
            # with its unobserved entries zeroed, or the observed entries' CSR
            if _backends.is_sparse(X):
                gram = (S.pattern, ST.pattern if params.update_H else None)
            else:
                A = _backends.to_numpy(X)
                X0 = np.where(np.isnan(A), 0.0, np.asarray(A, dtype=np.float64))
                gram = (X0, X0.T)
    if beta == 1 and params.update_H and not pen.active:
        # The KL-optimal scale c of WH (argmin_c D(X|c·WH): c = ΣX / ΣWH): one multiplicative
        # step reaches it, coordinate steps from far above it first zero many variables.
        total_y = (float(Wt.sum(axis=1) @ H.sum(axis=1)) if not params.missing
                   else float(data.model(Wt.T, H).sum()))
        if total_y > 0 and x_total > 0:
            c = x_total / total_y
            Wt *= np.sqrt(c)
            H *= np.sqrt(c)

    if dense:
        Z = np.ascontiguousarray(data.X, dtype=dtype)
        # Σ x log x (of the scratch X the sweeps measure against) on all cores
        data.cache_x_sums(over_rows(xlogx_rows, Z.shape[0], n_threads, Z, work=Z.size,
                                    min_work=split), x_total)
        rows, rows_T = Z, (np.ascontiguousarray(Z.T) if params.update_H else None)
        eps = dtype.type(EPSILON)

        def sweep(Zs, U, other, l1, l2, *, measure, steps=True, bounded=False):
            """Rows of Zs ≈ Uᵀ·other in the dense kernel; Σ x log WH if measured."""
            O = other.astype(dtype)
            lin = other.sum(axis=1)
            return over_rows(kl_dense_rows, Zs.shape[0], n_threads, Zs, U, O, lin,
                             float(l1), float(l2), bounded, eps, steps, measure,
                             work=Zs.size * U.shape[0], min_work=split)
    elif gram is not None:
        settings = params.settings
        k = Wt.shape[0]

        def side(Xz, observed):
            """A side's operands: (X zeroed where unobserved, its observed entries,
            sweeps per row, work per sweep call), fixed for the fit."""
            m_rows, n_cols = observed.shape
            fewer = int(np.minimum(observed.rows_per, n_cols - observed.rows_per).sum())
            if settings.max_inner is not None:
                sweeps = max(1, int(settings.max_inner))
            else:  # Gillis & Glineur's budget: products over one k x k sweep per row
                rho = n_cols / k + fewer / max(1, m_rows)
                sweeps = min(20, 1 + int(settings.inner_alpha * rho))
            # The columns' outer products, formed once per call, make each row's Gram
            # matrix a sum of contiguous k² rows; they pay where the rows sum at least one
            # per column between them, and are held only up to OUTER_BYTES.
            formed = fewer >= n_cols and n_cols * k * k * 8 <= OUTER_BYTES
            outer = np.empty((n_cols if formed else 0, k * k))
            return Xz, observed, sweeps, (fewer + m_rows * sweeps) * k * k, outer

        rows = side(gram[0], S)
        rows_T = side(gram[1], ST) if params.update_H else None
        x_squares = float(np.dot(S.values.astype(np.float64), S.values.astype(np.float64)))
        delta = float(settings.inner_delta)

        def sweep(Xs, U, other, l1, l2, *, measure, steps=True, bounded=False):
            """Rows of X ≈ Uᵀ·other (observed entries) from each row's Gram matrix;
            Σ_i (uᵀQ_i u − 2u·b_i) if measured."""
            Xz, observed, sweeps, work, outer = Xs
            O = np.asarray(other, dtype=np.float64)
            OT = np.ascontiguousarray(O.T)
            if outer.shape[0]:
                column_outers(OT, outer)
            return over_rows(gram_rows, observed.shape[0], n_threads, np.asarray(Xz @ O.T),
                             O @ O.T, observed.indptr, observed.cols, OT, outer, U, float(l1),
                             float(l2), sweeps, delta, steps, measure, work=work,
                             min_work=split)
    else:
        rows, rows_T = S, ST
        # Σ_j of the other factor over all j enters KL's gradient when the unstored
        # entries are zeros of X; over the observed j only (a mask, or least squares'
        # curvature) the kernel sums its gathered rows itself.
        shared_sum = beta == 1 and not params.missing
        from_entries = np.zeros((0, 1))

        def sweep(Ss, U, other, l1, l2, *, measure, steps=True, bounded=False):
            """Rows of the stored entries Ss ≈ Uᵀ·other in the stored-entry kernel;
            [Σ x log WH or Σ (x − WH)², Σ WH] over the entries if measured."""
            lin = other.sum(axis=1)[None, :] if shared_sum else from_entries
            return over_rows(stored_rows, Ss.shape[0], n_threads, Ss.indptr, Ss.cols, Ss.values,
                             U, np.ascontiguousarray(other.T, dtype=np.float64), lin,
                             beta == 2, float(l1), float(l2), bounded, EPSILON, steps,
                             measure, indptr=Ss.indptr, work=Ss.nnz * U.shape[0],
                             min_work=split)

    def objective(measured, Wt, H):
        """The fit's objective from a kernel's measurement of the final sweep."""
        if dense:
            value = data.kl_from_xlogy(measured, Wt.T, H)
        elif gram is not None:
            value = 0.5 * max(x_squares + float(measured), 0.0)
        elif beta == 2:
            value = 0.5 * float(measured[0])
        else:
            value = data.kl_from_xlogy(measured[0], Wt.T, H,
                                       y_sum=float(measured[1]) if params.missing else None)
        return value + pen.value(Wt.T, H)

    def iterate(Wt, H, bounded=False):
        """One W sweep then one H sweep, in place; returns the objective after them."""
        measured = sweep(rows, Wt, H, pen.l1_W, pen.l2_W, measure=not params.update_H,
                         bounded=bounded)
        if params.update_H:
            measured = sweep(rows_T, H, Wt, pen.l1_H, pen.l2_H, measure=True,
                             bounded=bounded)
        return objective(measured, Wt, H)

    # Measure the start without moving anything (WH is formed row by row, never whole).
    loss = objective(sweep(rows, Wt, H, 0.0, 0.0, measure=True, steps=False), Wt, H)
    monitor.start(loss)

    # Extrapolation (module docstring): iterations on new arrays, so reported factors
    # are never written into and the monitor keeps them without a copy.
    extrapolate = bool(params.settings.extrapolate) and params.update_H

    def whole(factors):
        """One iteration, in place, as ``restarted_iterations`` calls it."""
        return factors, iterate(*factors)

    # KL's Newton steps down can overshoot (module docstring): an iteration from a plain
    # iterate whose objective rose by more than its sums' rounding is run again from
    # the same point with every step down bounded (_kernels.kl_step), which cannot rise.
    if beta == 1:
        size = data.kl_term_size() + abs(loss)
        rounding = size * (16 * float(np.finfo(np.float32).eps) if dense and dtype == np.float32
                           else np.sqrt(max(1, rows.size if dense else rows.nnz))
                           * float(np.finfo(np.float64).eps))

    def plain(factors, loss):
        """One iteration from a plain iterate whose objective is ``loss``, never above
        it (beyond rounding)."""
        if beta != 1:  # least squares' steps are exact: each lowers the objective
            return whole(factors)
        before = [U.copy() for U in factors]
        new = iterate(*factors)
        if new > loss + rounding:
            for U, B in zip(factors, before):
                U[...] = B
            new = iterate(*factors, bounded=True)
        return factors, new

    def plain_iterations(factors, loss):
        while True:
            factors, loss = plain(factors, loss)
            yield factors, loss

    if extrapolate:
        steps = alternating.restarted_iterations(whole, (Wt, H), loss, in_place=True,
                                                 plain=plain)
    else:
        steps = plain_iterations((Wt, H), loss)
    n_iter, stopped = 0, False
    for n_iter, ((Wt, H), loss) in zip(range(1, params.max_iter + 1), steps):
        if monitor(n_iter, Wt.T, H, loss, fresh=extrapolate):
            stopped = True
            break
    # The objective was measured entry by entry in the last sweep's final pass over the
    # returned factors: a new pass over X would only repeat it.
    return SolverResult.finish(monitor, np.ascontiguousarray(Wt.T), H, n_iter, loss, stopped,
                               divergence=max(0.0, loss - pen.value(Wt.T, H)))
