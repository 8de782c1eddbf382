"""Projected gradient descent with an Armijo line search (Lin 2007).

Each sub-problem ``min_{U ≥ 0} f(U) = ½⟨U, AU⟩ − ⟨B, U⟩`` is solved by projected
gradient steps U ← [U − α∇f]₊, with α found by Lin's "improved projected gradient"
search (Lin 2007, "Projected gradient methods for non-negative matrix
factorization", Algorithm 4): start from the last accepted α, grow it by 1/β while
the sufficient-decrease condition

    (1 − σ)⟨∇f, Δ⟩ + ½⟨Δ, AΔ⟩ ≤ 0

holds, shrink it by β until it does.  The sub-problem stops when the norm of the
projected gradient falls below a tolerance that starts at 10⁻³ of its first value
and tightens tenfold whenever a sub-problem is solved in one step (Lin's rule).
"""
from __future__ import annotations

from .. import _backends, _sums
from . import alternating

SIGMA = 0.01
BETA = 0.1
MAX_INNER_DEFAULT = 20
MAX_SEARCH = 20


def _projected_gradient_norm(xp, U, G):
    mask = (G < 0) | (U > 0)
    return float(xp.sqrt(xp.sum(xp.where(mask, G * G, 0))))


def update(U, A, B, l1, l2, state):
    xp = _backends.namespace(U, A, B)
    k = A.shape[0]
    if l2:
        A = A + l2 * _backends.eye_like(k, A)
    if l1:
        B = B - l1
    max_inner = state.get("max_inner") or MAX_INNER_DEFAULT
    alpha = state.get("alpha", 1.0)
    G = A @ U - B
    if "tol" not in state:
        state["tol"] = 1e-3 * _projected_gradient_norm(xp, U, G)
    inner = 0
    for inner in range(1, max_inner + 1):
        if _projected_gradient_norm(xp, U, G) <= state["tol"]:
            break
        previous = None
        grow = None
        for _ in range(MAX_SEARCH):
            U_new = _backends.clip_nonnegative_(U - alpha * G)
            d = U_new - U
            decrease = (1 - SIGMA) * _sums.vdot64(G, d) + 0.5 * _sums.vdot64(d, A @ d)
            sufficient = decrease <= 0
            if grow is None:
                grow = sufficient
            if grow:
                if not sufficient or (previous is not None and bool(xp.all(previous == U_new))):
                    U_new = previous if previous is not None else U
                    alpha *= BETA
                    break
                previous = U_new
                alpha /= BETA
            else:
                if sufficient:
                    break
                alpha *= BETA
        U = U_new
        G = A @ U - B
    if inner == 1:
        state["tol"] *= 0.1
    state["alpha"] = alpha
    return U


def solve(X, W, H, *, params, monitor):
    """Fit ``X ≈ WH`` by alternating projected gradient (Lin 2007)."""
    return alternating.run(X, W, H, params=params, monitor=monitor, update=update)
