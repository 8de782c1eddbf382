"""HALS: hierarchical alternating least squares (exact coordinate descent).

Each sweep updates one row of U (a row of H, or a column of W) at a time to its
exact minimiser with the others fixed (Cichocki & Phan 2009; Gillis 2020, §8.3.3):

    u_j ← [u_j + (b_j − a_jᵀ U − l1) / (a_jj + l2)]₊   (with l2 folded into A)

Accelerated as in Gillis & Glineur 2012 ("Accelerated multiplicative updates and
hierarchical ALS algorithms for NMF"): a sweep costs O(k² r) while the products
A, B cost O(nnz·k), so several sweeps reuse the same A, B; they stop when a sweep
changes U by less than a tenth of the first sweep's change, or when their
estimated cost reaches half that of the products (:func:`alternating.repeat`).
Between iterations, extrapolation with restarts (Ang & Gillis 2019) is on by default,
and a large dense (or small sparse) float64 X is fitted in float32 first
(:mod:`nmfkit.solvers.precision`): both are this solver's defaults in the registry.

``solver='cd'`` is this solver: scikit-learn's coordinate descent is HALS.
"""
from __future__ import annotations

from .. import _backends, _sums, _threads
from . import alternating

def hals_sweep(U, A, B, inv, *, l1=0.0, order=None) -> float:
    """One in-place Gauss–Seidel sweep over the rows of U; returns ‖ΔU‖².

    Minimises ½⟨U, AU⟩ − ⟨B − l1, U⟩ over U ≥ 0 row by row (A: k x k, B, U: k x r);
    ``inv[j]`` is 1 / a_jj, or 0 for a vanished component (a_jj zero up to rounding,
    see :func:`update`: its row is undetermined and stays).  Columns of U are
    independent, so the sweep runs on cache-sized column blocks
    (:func:`nmfkit._threads.map_column_blocks`).
    """
    xp = _backends.namespace(U, A, B)
    rows = range(U.shape[0]) if order is None else order

    def block(cols):
        Ub, Bb = U[:, cols], B[:, cols]
        before = xp.asarray(Ub, copy=True)
        for j in rows:
            g = Bb[j, :] - A[j, :] @ Ub
            if l1:
                g -= l1
            g *= inv[j]
            g += Ub[j, :]
            Ub[j, :] = _backends.clip_nonnegative_(g)
        before -= Ub
        return _sums.sumsq(before)

    return sum(_threads.map_column_blocks(block, U))


def update(U, A, B, l1, l2, state):
    """Several HALS sweeps on U from products (A, B); returns a new array."""
    xp = _backends.namespace(U, A, B)
    k = U.shape[0]
    if l2:
        A = A + l2 * _backends.eye_like(k, A)
    diag = xp.linalg.diagonal(A)
    # A component whose row of the other factor is zero up to rounding (a_jj at most ε²
    # of the largest) has vanished: its step would divide rounding errors by a_jj.
    live = diag > float(xp.finfo(A.dtype).eps) ** 2 * float(xp.max(diag))
    inv = [float(v) for v in xp.where(live, 1 / xp.where(live, diag, 1), 0)]
    rng = state.get("rng")

    def sweep(U):
        return U, hals_sweep(U, A, B, inv, l1=l1,
                             order=None if rng is None else rng.permutation(k))

    return alternating.repeat(sweep, xp.asarray(U, copy=True), state)


def solve(X, W, H, *, params, monitor):
    """Fit ``X ≈ WH`` by accelerated HALS; see the module docstring."""
    return alternating.run(X, W, H, params=params, monitor=monitor, update=update)
