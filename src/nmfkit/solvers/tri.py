"""Orthogonal non-negative matrix tri-factorization, X ≈ F S Gᵀ, by multiplicative updates.

Ding, Li, Peng & Park 2006 ("Orthogonal nonnegative matrix t-factorizations for
clustering", KDD) fit

    min ½‖X − F S Gᵀ‖²_F   over F ≥ 0 (m x k), S ≥ 0 (k x l), G ≥ 0 (n x l),
    subject to FᵀF = I and GᵀG = I,

a co-clustering of the rows (F) and the columns (G) of X, S holding the weight of each
block.  Their multiplicative rules (the bi-orthogonal tri-factorization updates of the
paper) come from the KKT conditions of the Lagrangian, with the Lagrange multipliers of
the orthogonality constraints eliminated:

    G ← G ⊙ √( XᵀFS / (G Gᵀ Xᵀ F S) )
    F ← F ⊙ √( X G Sᵀ / (F Fᵀ X G Sᵀ) )
    S ← S ⊙ √( Fᵀ X G / (Fᵀ F S Gᵀ G) )

The denominators G Gᵀ(·) and F Fᵀ(·) take the place of Lee & Seung's G SᵀFᵀF S and
F S GᵀG Sᵀ: they are the gradient with the multipliers substituted, so the factors are
pulled towards orthogonal columns (disjoint supports: one cluster per row and per
column); the constraint is approached, not imposed.  The S rule is a damped Lee & Seung
step and never increases the objective; the F and G rules descend on the Lagrangian,
not on the plain objective, which they can raise while they move the factors towards
orthogonality.

Two additions keep S from lagging behind F and G, a lag that raises the objective over
the first iterations after a start (the stopping rule then ends the fit there, as if it
had converged).  Both only decrease the objective, and a fixed point of Ding et al.'s
rules is one of the iteration with them, and conversely:

- S is first scaled by the exact least-squares factor c = ⟨FᵀXG, S⟩ / ⟨FᵀF S GᵀG, S⟩
  (c = 1 at a fixed point of the S rule);
- the S rule is repeated ``Settings.max_inner`` times (default :data:`S_STEPS`) on the
  same products, as Gillis & Glineur 2012 repeat cheap inner updates: each repetition
  costs O(k·l·(k + l)), nothing against the products with X.

For a symmetric A (the adjacency matrix of a graph) the same paper fits A ≈ H S Hᵀ,
H ≥ 0 (n x k), HᵀH = I, with

    H ← H ⊙ √( A H S / (H Hᵀ A H S) ),      S ← S ⊙ √( Hᵀ A H / (Hᵀ H S Hᵀ H) )

(:func:`solve_symmetric`).

Cost per iteration: the two products X G and Xᵀ F (one product A H for the symmetric
form), O(nnz·(k + l)) for a sparse X, which is never densified; everything else is on
(m + n) x (k + l) factors and k x l matrices.  The objective comes from the trace
identity ½(‖X‖² − 2⟨FᵀXG, S⟩ + ⟨FᵀF S GᵀG, S⟩), so F S Gᵀ is never formed.
"""
from __future__ import annotations

from .. import _backends, _data, _sums
from .result import SolverResult


#: Repetitions of the S rule per iteration (``Settings.max_inner`` overrides it).
S_STEPS = 10


def _tiny(xp, dtype) -> float:
    """Added to every denominator: √(smallest normal) keeps 0/0 at 0 and any ratio finite."""
    return float(xp.finfo(dtype).tiny) ** 0.5


def _sqrt_ratio(xp, numerator, denominator, tiny):
    return xp.sqrt(numerator / (denominator + tiny))


def _tri_loss(normX2, FtXG, S, FtF, GtG) -> float:
    """½‖X − F S Gᵀ‖² by the trace identity, in float64 (FtF, GtG are float64 Grams)."""
    S64 = _backends.like(S, FtF)
    fit = normX2 - 2.0 * _sums.vdot64(FtXG, S) + _sums.vdot64(FtF @ S64 @ GtG, S64)
    return 0.5 * max(fit, 0.0)


def update_S(S, FtXG, FtF, GtG, *, steps, tiny):
    """Ding et al.'s S rule, S ← S ⊙ √(FᵀXG / (FᵀF S GᵀG)), ``steps`` times on the same
    products, after scaling S by the least-squares factor ⟨FᵀXG, S⟩ / ⟨FᵀF S GᵀG, S⟩.

    Each step is a damped Lee & Seung step: the objective never increases.

    Parameters
    ----------
    S : array (k, l)
    FtXG : array (k, l)
    FtF, GtG : arrays (k, k), (l, l)
        In S's dtype.
    steps : int
    tiny : float
        Added to the denominators.

    Returns
    -------
    S : array (k, l), a new array.
    """
    xp = _backends.namespace(S)
    model = FtF @ S @ GtG
    curvature = _sums.vdot64(model, S)
    if curvature > 0:
        S = S * (_sums.vdot64(FtXG, S) / curvature)
        model = FtF @ S @ GtG
    for step in range(steps):
        if step:
            model = FtF @ S @ GtG
        S = S * _sqrt_ratio(xp, FtXG, model, tiny)
    return S


def start_S(FtF, FtXG, GtG):
    """The middle factor's start: the least-squares S for fixed F, G,
    (FᵀF)⁺ FᵀXG (GᵀG)⁺, with entries below a small fraction of FᵀXG's mean raised to it.

    A multiplicative rule never revives an entry at 0, so the start is kept positive
    wherever FᵀXG is (a zero block of FᵀXG stays zero: nothing can fill it).

    Parameters
    ----------
    FtF : array (k, k), float64
    FtXG : array (k, l)
    GtG : array (l, l), float64

    Returns
    -------
    S : array (k, l), in FtXG's dtype
    """
    xp = _backends.namespace(FtXG)
    B = _backends.like(FtXG, FtF)
    S = xp.linalg.pinv(FtF) @ B @ xp.linalg.pinv(GtG)
    positive = xp.astype(B > 0, B.dtype)
    floor = 1e-2 * float(xp.mean(B))
    S = xp.where(S > floor, S, floor) * positive
    return _backends.like(S, FtXG)


def solve(X, W, H, *, params, monitor):
    """Fit X ≈ F S Gᵀ (Ding et al. 2006 multiplicative updates).

    Parameters
    ----------
    X : array or sparse matrix (m, n)
    W : array (m, k)
        F₀, the start of the row factor.
    H : array (l, n)
        G₀ᵀ, the start of the column factor (transposed, as the registry passes it).
    params : SolverParams
        ``max_iter`` and ``squared_norm_X`` are read.
    monitor : Monitor
        Called as ``monitor(iteration, F, Gᵀ, loss, S=S)``.

    Returns
    -------
    SolverResult
        ``W`` = F, ``H`` = Gᵀ, ``S`` = S (X ≈ W S H).
    """
    xp = _backends.namespace(W, H)
    normX2 = params.squared_norm(X)
    X = _data.operand(X, min_nnz=params.settings.split_min_nnz)
    tiny = _tiny(xp, W.dtype)
    steps = params.settings.max_inner or S_STEPS
    F = xp.asarray(W, copy=True)
    Gt = _backends.contiguous(xp.asarray(H, copy=True))
    XG = _data.X_times_Ht(X, Gt)  # m x l
    FtXG = F.T @ XG
    FtF, GtG = _sums.gram64(F.T), _sums.gram64(Gt)
    S = start_S(FtF, FtXG, GtG)
    loss = _tri_loss(normX2, FtXG, S, FtF, GtG)
    monitor.start(loss)
    n_iter, stopped = 0, False
    for n_iter in range(1, params.max_iter + 1):
        # G rule, in the orientation of Gᵀ: (XᵀFS)ᵀ = SᵀFᵀX and (GGᵀXᵀFS)ᵀ = (SᵀFᵀX G) Gᵀ.
        StFtX = S.T @ _data.Wt_times_X(F, X)  # l x n
        Gt = Gt * _sqrt_ratio(xp, StFtX, (StFtX @ Gt.T) @ Gt, tiny)
        # F rule with the new G.
        XG = _data.X_times_Ht(X, Gt)
        XGSt = XG @ S.T  # m x k
        F = F * _sqrt_ratio(xp, XGSt, F @ (F.T @ XGSt), tiny)
        # S rule with the new F and G.
        FtXG = F.T @ XG
        FtF, GtG = _sums.gram64(F.T), _sums.gram64(Gt)
        S = update_S(S, FtXG, _backends.like(FtF, S), _backends.like(GtG, S),
                     steps=steps, tiny=tiny)
        loss = _tri_loss(normX2, FtXG, S, FtF, GtG)
        # Every rule returns new arrays: the monitor may keep them without a copy.
        if monitor(n_iter, F, Gt, loss, fresh=True, S=S):
            stopped = True
            break
    # The trace identity is how the exact objective of a sparse X is measured anyway.
    exact = _backends.is_sparse(X) or isinstance(X, _data.RowSplit)
    return SolverResult.finish(monitor, F, Gt, n_iter, loss, stopped,
                               divergence=loss if exact else None, S=S)


def solve_symmetric(A, W, H, *, params, monitor):
    """Fit A ≈ H S Hᵀ for a symmetric A (Ding et al. 2006, the graph form).

    Parameters
    ----------
    A : array or sparse matrix (n, n), symmetric
    W : array (n, k)
        H₀.
    H : array (k, n)
        H₀ᵀ (not read: the registry's calling convention for a tri-factorization).
    params : SolverParams
    monitor : Monitor
        Called as ``monitor(iteration, H, Hᵀ, loss, S=S)``.

    Returns
    -------
    SolverResult
        ``W`` = H, ``H`` = Hᵀ, ``S`` = S, symmetric (A ≈ W S H).
    """
    xp = _backends.namespace(W)
    normA2 = params.squared_norm(A)
    A = _data.operand(A, min_nnz=params.settings.split_min_nnz)
    tiny = _tiny(xp, W.dtype)
    steps = params.settings.max_inner or S_STEPS
    Hf = xp.asarray(W, copy=True)
    AH = _data.X_times_Ht(A, Hf.T)  # n x k
    HtAH = Hf.T @ AH
    HtH = _sums.gram64(Hf.T)
    S = start_S(HtH, HtAH, HtH)
    # HᵀAH is symmetric in exact arithmetic only; the rule keeps a symmetric S symmetric.
    S = 0.5 * (S + S.T)
    loss = _tri_loss(normA2, HtAH, S, HtH, HtH)
    monitor.start(loss)
    n_iter, stopped = 0, False
    for n_iter in range(1, params.max_iter + 1):
        AHS = AH @ S
        Hf = Hf * _sqrt_ratio(xp, AHS, Hf @ (Hf.T @ AHS), tiny)
        # A H with the new H serves the S rule, the objective and the next H rule.
        AH = _data.X_times_Ht(A, Hf.T)
        HtAH = Hf.T @ AH
        HtAH = 0.5 * (HtAH + HtAH.T)
        HtH = _sums.gram64(Hf.T)
        HtH_ = _backends.like(HtH, S)
        S = update_S(S, HtAH, HtH_, HtH_, steps=steps, tiny=tiny)
        loss = _tri_loss(normA2, HtAH, S, HtH, HtH)
        if monitor(n_iter, Hf, Hf.T, loss, fresh=True, S=S):
            stopped = True
            break
    exact = _backends.is_sparse(A) or isinstance(A, _data.RowSplit)
    return SolverResult.finish(monitor, Hf, Hf.T, n_iter, loss, stopped,
                               divergence=loss if exact else None, S=S)
