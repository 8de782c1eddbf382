"""Orthogonal NMF: X ≈ WH with H ≥ 0, HHᵀ = I (ONMF-H), or W ≥ 0, WᵀW = I (ONMF-W).

Non-negative rows of H that are orthogonal have disjoint supports: every column of X
is represented by exactly one component, so ONMF-H is a clustering of the columns of
X (Ding et al. 2006; Pompili, Gillis, Absil & Glineur 2014, "Two algorithms for
orthogonal nonnegative matrix factorization with application to clustering").  This
module implements their EM-like algorithm (ONMF-EM, Pompili et al. 2014, section 3),
which keeps the constraint exactly at every iterate:

1. assignment: column j goes to the component c maximising u_cᵀx_j (u_c = w_c/‖w_c‖),
   which minimises ‖x_j − u_c u_cᵀ x_j‖;
2. factors: h_cj = u_cᵀx_j on the columns J_c of cluster c, rows of H scaled to unit
   norm, then W = XHᵀ (the exact minimiser given H, since HHᵀ = I).

Step 2 is one power iteration on each X_{J_c}X_{J_c}ᵀ, whose leading singular pair is
the exact cluster factor (non-negative by Perron–Frobenius); a power step never
decreases the Rayleigh quotient of a PSD matrix, and the objective is
½(‖X‖² − ‖W‖²_F), so the objective never increases.  An emptied cluster takes the
column worst represented by its own cluster (as in k-means) among the clusters that
keep another column, so no cluster ends empty while X has k non-zero columns.  ONMF-W
is ONMF-H of Xᵀ.
Cost per iteration: the two products UᵀX and XHᵀ.
"""
from __future__ import annotations

from .. import _backends, _data, _sums
from ..objectives import frobenius_from_factors
from .result import SolverResult


def _unit_columns(xp, W):
    norms = xp.sqrt(xp.sum(W * W, axis=0))
    return W / xp.where(norms > 0, norms, 1)[None, :]


def _solve_H(X, W, H, *, params, monitor):
    xp = _backends.namespace(W, H)
    k, n = H.shape
    normX2 = params.squared_norm(X)
    column_norms2 = xp.asarray(_data.column_squared_norms(X))
    columns = xp.arange(n)
    U = _unit_columns(xp, xp.asarray(W, copy=True))
    loss = frobenius_from_factors(X, W, H, normX2)
    monitor.start(loss)
    n_iter, stopped = 0, False
    for n_iter in range(1, params.max_iter + 1):
        B = _data.Wt_times_X(U, X)  # k x n: u_cᵀ x_j
        labels = xp.argmax(B, axis=0)
        best = B[labels, columns]
        sizes = xp.sum(xp.astype(labels[None, :] == xp.arange(k)[:, None], xp.int64), axis=1)
        empty = [c for c in range(k) if int(sizes[c]) == 0]
        if empty:
            residual = column_norms2 - xp.astype(best, xp.float64) ** 2
        for c in empty:
            # Refill an empty cluster with the worst represented column (largest
            # residual, as k-means relocates an empty centre) of a cluster that keeps
            # another column: taking a cluster's only column would empty it in turn.
            donor = xp.where((sizes[labels] > 1) & (column_norms2 > 0), residual, -xp.inf)
            j = int(xp.argmax(donor))
            if float(donor[j]) == -float("inf"):  # fewer non-zero columns than clusters
                break
            sizes[labels[j]] -= 1
            labels[j], best[j] = c, xp.sqrt(column_norms2[j])
            sizes[c] = 1
            residual[j] = 0.0  # represented exactly by its own cluster now
        H = xp.zeros((k, n), dtype=W.dtype)
        H[labels, columns] = xp.astype(best, W.dtype)
        norms = xp.sqrt(xp.sum(H * H, axis=1))
        H = H / xp.where(norms > 0, norms, 1)[:, None]
        W = _data.X_times_Ht(X, H)
        # HHᵀ = I, W = XHᵀ: ‖X − WH‖² = ‖X‖² − ‖W‖².
        loss = 0.5 * max(normX2 - _sums.vdot64(W, W), 0.0)
        U = _unit_columns(xp, W)
        if monitor(n_iter, W, H, loss):
            stopped = True
            break
    # HHᵀ = I and W = XHᵀ make the objective exact for sparse X (no cancellation of a
    # dense product's rounding); dense X is measured anew by nmfkit.solvers.run.
    exact = _backends.is_sparse(X) and n_iter > 0
    return SolverResult.finish(monitor, W, H, n_iter, loss, stopped,
                               divergence=loss if exact else None)


class _Transposed:
    """Monitor seen from the transposed problem: reports (W, H) in the user's orientation."""

    def __init__(self, monitor):
        self._monitor = monitor

    def start(self, loss):
        self._monitor.start(loss)

    def __call__(self, iteration, W, H, loss):
        return self._monitor(iteration, H.T, W.T, loss)

    def close(self):
        self._monitor.close()

    def __getattr__(self, name):  # stop_reason, converged, ...
        return getattr(self._monitor, name)


def solve(X, W, H, *, params, monitor):
    """Fit ``X ≈ WH`` with HHᵀ = I (``params.orthogonal='H'``) or WᵀW = I ('W')."""
    if params.orthogonal == "W":
        result = _solve_H(_backends.transpose(X), H.T, W.T, params=params,
                          monitor=_Transposed(monitor))
        result.W, result.H = result.H.T, result.W.T
        return result
    return _solve_H(X, W, H, params=params, monitor=monitor)
