"""Alternating least squares with clipping (the classic teaching algorithm).

Solve the unconstrained (ridge-penalised) least-squares problem for one factor,
set its negative entries to zero, then do the same for the other:

    U ← [ (A + l2 I)⁻¹ (B − l1) ]₊

Cheap and often good in early iterations, but not a descent method: the clipping
can increase the objective, so the objective may oscillate.  Use ``'anls'`` for
the exact non-negative version.
"""
from __future__ import annotations

from .. import _backends
from . import alternating

RIDGE = 1e-10  # relative ridge keeping A invertible when a component vanishes


def update(U, A, B, l1, l2, state):
    xp = _backends.namespace(U, A, B)
    k = A.shape[0]
    trace = float(xp.sum(xp.linalg.diagonal(A))) if hasattr(xp, "linalg") else 0.0
    # At least 10 ε of the dtype: a smaller ridge is rounded away in float32.
    ridge = max(RIDGE, 10 * float(xp.finfo(A.dtype).eps))
    A = A + (l2 + ridge * max(trace, 1e-30) / k) * _backends.eye_like(k, A)
    rhs = B - l1 if l1 else B
    return _backends.clip_nonnegative_(xp.linalg.solve(A, rhs))


def solve(X, W, H, *, params, monitor):
    """Fit ``X ≈ WH`` by ALS with clipping."""
    return alternating.run(X, W, H, params=params, monitor=monitor, update=update)
