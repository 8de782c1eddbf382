"""HALS: hierarchical alternating least squares (exact coordinate descent).

Each sweep updates one row of U (a row of H, or a column of W) at a time to its
exact minimiser with the others fixed (Cichocki & Phan 2009; Gillis 2020, §8.3.3):

    u_j ← [u_j + (b_j − a_jᵀ U − l1) / (a_jj + l2)]₊   (with l2 folded into A)

Accelerated as in Gillis & Glineur 2012 ("Accelerated multiplicative updates and
hierarchical ALS algorithms for NMF"): a sweep costs O(k² r) while the products
A, B cost O(nnz·k), so several sweeps reuse the same A, B; they stop when a sweep
changes U by less than a tenth of the first sweep's change, or when their
estimated cost reaches half that of the products (:func:`alternating.repeat`).
Between iterations, extrapolation with restarts (Ang & Gillis 2019) is on by default.

``solver='cd'`` is this solver: scikit-learn's coordinate descent is HALS.
"""
from __future__ import annotations

from .. import _array
from . import alternating

def hals_sweep(U, A, B, order=None):
    """One in-place Gauss–Seidel sweep over the rows of U.

    Minimises ½⟨U, AU⟩ − ⟨B, U⟩ over U ≥ 0 row by row (A: k x k, B, U: k x r), where
    A and B have been divided row-wise by diag(A) (so a_jj = 1) and rows with a zero
    diagonal are skipped (a vanished component: its row is undetermined).
    """
    xp = _array.namespace(U, A, B)
    for j in (range(U.shape[0]) if order is None else order):
        U[j, :] = xp.maximum(U[j, :] + (B[j, :] - A[j, :] @ U), 0)


def update(U, A, B, l1, l2, state):
    """Several HALS sweeps on U from products (A, B); returns a new array."""
    xp = _array.namespace(U, A, B)
    k, r = U.shape
    if l2:
        A = A + l2 * _array.eye_like(k, A)
    if l1:
        B = B - l1
    diag = xp.linalg.diagonal(A)
    live = diag > 0
    scale = xp.where(live, 1 / xp.where(live, diag, 1), 0)[:, None]
    # Row j of U moves by (b_j − a_jᵀU)/a_jj: pre-divide rows once per update.
    A, B = A * scale, B * scale
    rng = state.get("rng")

    def sweep(U):
        hals_sweep(U, A, B, None if rng is None else rng.permutation(k))
        return U

    return alternating.repeat(sweep, xp.asarray(U, copy=True), state)


def solve(X, W, H, *, params, monitor):
    """Fit ``X ≈ WH`` by accelerated HALS; see the module docstring."""
    extrapolate = True if params.extrapolate is None else params.extrapolate
    return alternating.run(X, W, H, params=params, monitor=monitor, update=update,
                           extrapolate=extrapolate)
