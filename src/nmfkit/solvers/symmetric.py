"""Symmetric NMF, A ≈ HHᵀ with H ≥ 0, by dropping the symmetry and penalising it back.

Fitting A ≈ HHᵀ directly is a quartic problem in H with no exact block updates.  Kuang,
Yun & Park 2015 ("SymNMF: nonnegative low-rank approximation of a similarity matrix for
graph clustering", J. Glob. Optim. 62, §4.1) and Zhu, Li, Liu & Li 2018 ("Dropping
symmetry for fast symmetric nonnegative matrix factorization", NeurIPS, eq. 3) fit two
factors instead and pull them together:

    min_{W, V ≥ 0}  ½‖A − WVᵀ‖²_F + ½α‖W − V‖²_F.

For fixed V the problem in W is a non-negative least-squares problem with Gram matrix
VᵀV + αI and right-hand side AV + αV (and the same for V given W), so the NMF block
rules apply unchanged: exact ANLS by block principal pivoting (Kuang et al.'s SymANLS)
or HALS sweeps (Zhu et al.'s SymHALS).  Both decrease the penalised objective at every
step.  Zhu et al. (Theorem 1) show that for α large enough every limit point has
W = V, a critical point of the symmetric problem; Kuang et al. take α = max(A)² for a
similarity matrix scaled to [0, 1].  Here α = max(A): the same for such matrices and for
0/1 adjacency matrices, and it scales with A as the rest of the objective does (A → cA
scales both factors by √c, the fit term by c², the penalty term by αc).

Cost per iteration: two products of A with an n x k factor (O(nnz·k) for sparse A,
which is never densified) and the k x k Gram matrices.  The returned H is V.
"""
from __future__ import annotations

from .. import _backends, _data, _sums
from . import anls, hals
from .result import SolverResult


def coupling(A) -> float:
    """α of the penalty ½α‖W − V‖² (see the module docstring)."""
    if _backends.is_sparse(A):
        value = float(A.data.max()) if A.nnz else 0.0
    else:
        xp = _backends.namespace(A)
        value = float(xp.max(A))
    return value if value > 0 else 1.0


def _solve(A, W, H, *, params, monitor, update):
    xp = _backends.namespace(W, H)
    settings = params.settings
    normA2 = params.squared_norm(A)
    alpha = coupling(A)
    n = A.shape[0]
    sparse = _backends.is_sparse(A)
    shared = {"max_inner": settings.max_inner, "inner_alpha": settings.inner_alpha,
              "inner_delta": settings.inner_delta, "nnz": A.nnz if sparse else n * n,
              "sparse": sparse}
    state_W, state_V = dict(shared), dict(shared)
    A = _data.operand(A, min_nnz=settings.split_min_nnz)
    # Rows are components (k x n), as the block rules take them; W starts equal to V.
    Vt = _backends.contiguous(xp.asarray(H, copy=True))
    Wt = xp.asarray(Vt, copy=True)
    VtA = _data.Wt_times_X(Vt.T, A)  # (AV)ᵀ: A is symmetric
    GV = _sums.gram64(Vt)
    # At W = V the penalised objective is the symmetric one, ½‖A − VVᵀ‖².
    loss = 0.5 * max(normA2 - 2.0 * _sums.vdot64(VtA, Vt) + _sums.vdot64(GV, GV), 0.0)
    monitor.start(loss)
    n_iter, stopped = 0, False
    for n_iter in range(1, params.max_iter + 1):
        Wt = update(Wt, _backends.like(GV, Wt), VtA + alpha * Vt, 0.0, alpha, state_W)
        GW = _sums.gram64(Wt)
        WtA = _data.Wt_times_X(Wt.T, A)
        Vt = update(Vt, _backends.like(GW, Vt), WtA + alpha * Wt, 0.0, alpha, state_V)
        GV = _sums.gram64(Vt)
        # ½‖A − WVᵀ‖² by the trace identity, with ⟨AW, V⟩ from the product just used.
        fit = normA2 - 2.0 * _sums.vdot64(WtA, Vt) + _sums.vdot64(GW, GV)
        loss = 0.5 * max(fit, 0.0) + 0.5 * alpha * _sums.sumsq(Wt - Vt)
        # The block rules return new arrays: the monitor may keep V without a copy.
        if monitor(n_iter, Vt.T, Vt, loss, fresh=True):
            stopped = True
            break
        VtA = _data.Wt_times_X(Vt.T, A)
    return SolverResult.finish(monitor, Vt.T, Vt, n_iter, loss, stopped)


def solve_hals(A, W, H, *, params, monitor):
    """SymHALS (Zhu et al. 2018): HALS sweeps on each factor (``W`` = H₀, ``H`` = H₀ᵀ)."""
    return _solve(A, W, H, params=params, monitor=monitor, update=hals.update)


def solve_anls(A, W, H, *, params, monitor):
    """SymANLS (Kuang et al. 2015): exact non-negative least squares on each factor."""
    return _solve(A, W, H, params=params, monitor=monitor, update=anls.update)
