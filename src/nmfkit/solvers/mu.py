"""Multiplicative updates (Lee & Seung 2001) for the Frobenius objective.

    U ← U ∘ B / (A U + l1 + l2 U)

(B = WᵀX, A = WᵀW for H; B = HXᵀ, A = HHᵀ for Wᵀ), a majorisation–minimisation step, so the objective never increases.  The
denominator is floored at the dtype's machine epsilon so a zero row of A U never
divides by zero; entries that reach zero stay at zero (the known property of MU).
"""
from __future__ import annotations

from .. import _array
from . import alternating


def update(U, A, B, l1, l2, state):
    """Multiplicative updates of U (k x r) from the Gram matrix A and B.

    Repeated with the same A, B while it pays (Gillis & Glineur 2012's accelerated
    MU); each repetition is itself a descent step.
    """
    xp = _array.namespace(U, A, B)
    tiny = xp.finfo(U.dtype).eps
    B = xp.maximum(B, 0)

    def step(U):
        denominator = A @ U
        if l2:
            denominator = denominator + l2 * U
        if l1:
            denominator = denominator + l1
        return U * (B / xp.maximum(denominator, tiny))

    return alternating.repeat(step, U, state)


def solve(X, W, H, *, params, monitor):
    """Fit ``X ≈ WH`` by multiplicative updates (extrapolation only when asked)."""
    extrapolate = False if params.extrapolate is None else params.extrapolate
    return alternating.run(X, W, H, params=params, monitor=monitor, update=update,
                           extrapolate=extrapolate)
