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

import numpy as np

from .. import _backends, _sums, _threads
from . import alternating
from ._kernels import hals_columns


#: Factor dtypes the compiled sweep takes (others run the array-API form).
_COMPILED = (np.dtype(np.float32), np.dtype(np.float64))


def hals_sweep(U, A, B, inv, *, l1=0.0, order=None) -> float:
    """One in-place Gauss–Seidel sweep over the rows of U; returns ‖ΔU‖².

    Minimises ½⟨U, AU⟩ − ⟨B − l1, U⟩ over U ≥ 0 row by row (A: k x k, B, U: k x r);
    ``inv[j]`` is 1 / a_jj, or 0 for a vanished component (a_jj zero up to rounding,
    see :func:`update`: its row is undetermined and stays).  Columns of U are
    independent, so the sweep runs on cache-sized column blocks
    (:func:`nmfkit._threads.map_column_blocks`).

    Written once against the array-API namespace.  For NumPy factors the same sweep
    runs as one compiled loop per block (:func:`nmfkit.solvers._kernels.hals_columns`,
    that backend's implementation of it): the same steps in the same order, equal up
    to rounding, without the array calls' overhead per row that dominates small fits.
    """
    if _backends.all_numpy(U, A, B) and U.dtype in _COMPILED:
        dtype = U.dtype
        order = _NATURAL_ORDER if order is None else np.asarray(order, dtype=np.intp)
        return _compiled_sweep(U, np.ascontiguousarray(A, dtype=dtype),
                               np.ascontiguousarray(B, dtype=dtype),
                               np.asarray(inv, dtype=np.float64), dtype.type(l1), order)
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


#: ``order`` for :func:`nmfkit.solvers._kernels.hals_columns`: rows 0, 1, ..., k − 1;
#: ``inv``: from A's diagonal (:func:`nmfkit.solvers._kernels.hals_inverse_diagonal`).
_NATURAL_ORDER = np.empty(0, dtype=np.intp)
_FROM_DIAGONAL = np.empty(0)


def _compiled_sweep(U, A, B, inv, l1, order):
    """:func:`hals_sweep` for NumPy arrays (``inv`` float64 or :data:`_FROM_DIAGONAL`,
    ``l1`` a scalar in U's dtype, ``order`` integers or :data:`_NATURAL_ORDER`)."""
    if _threads.one_column_block(U):
        return hals_columns(U, A, B, inv, l1, order, 0, U.shape[1])
    return sum(_threads.map_column_blocks(
        lambda cols: hals_columns(U, A, B, inv, l1, order, cols.start, cols.stop), U))


def update(U, A, B, l1, l2, state):
    """Several HALS sweeps on U from products (A, B); returns a new array."""
    k = U.shape[0]
    if _backends.all_numpy(U, A, B) and U.dtype in _COMPILED:
        # The NumPy form of the lines below, with the per-update work compiled too.
        if l2:
            A = A + l2 * np.eye(k, dtype=A.dtype)
        step, rng = U.dtype.type(l1), state.get("rng")

        def sweep(U):  # inv from A's diagonal in the kernel, by the rule below
            order = _NATURAL_ORDER if rng is None else rng.permutation(k)
            return U, _compiled_sweep(U, A, B, _FROM_DIAGONAL, step, order)

        return alternating.repeat(sweep, np.array(U, order="C", copy=True), state)
    xp = _backends.namespace(U, A, B)
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
