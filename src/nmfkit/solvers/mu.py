"""Multiplicative updates: Lee & Seung 2001 (Frobenius), Févotte & Idier 2011 (any β).

Frobenius (β = 2, all entries observed), on the shared alternating driver:

    U ← U ∘ B / (A U + l1 + l2 U)

(B = WᵀX, A = WᵀW for H; B = HXᵀ, A = HHᵀ for Wᵀ), a majorisation–minimisation step, so
the objective never increases.  The denominator is floored at the dtype's machine
epsilon so a zero row of A U never divides by zero; entries that reach zero stay at
zero (the known property of MU).

Any β, and fits on observed entries only (``missing='mask'``), with Y = WH:

    H ← H ∘ [ Wᵀ(X ∘ Y^(β−2)) / (Wᵀ Y^(β−1) + l1 + l2 H) ]^γ(β)

and symmetrically for W (Févotte & Idier 2011, "Algorithms for nonnegative matrix
factorization with the β-divergence", eq. 11 with the exponent of Table 2):
γ(β) = 1/(2 − β) for β < 1, 1 for 1 ≤ β ≤ 2, 1/(β − 1) for β > 2.  With this exponent
each update minimises a majorising auxiliary function, so the β-divergence never
increases (their Theorem 1); γ = 1 (the heuristic update) is not monotone outside
[1, 2].  With masked entries the sums run over observed entries only (the mask is a
weight in the divergence, so the same majorisation holds).  How WH is evaluated —
dense, at the stored entries of sparse X, or at the observed entries — is
:class:`nmfkit.objectives.BetaData`'s business.

Between these iterations, extrapolation with restarts (Ang & Gillis 2019) on the loop
Newton-CD uses (:func:`alternating.restarted_iterations`): an iteration starts from an
extrapolated pair, floored above zero (:func:`floored_candidate`), and is run again from
the plain pair if it raised the objective, so the reported objectives never rise.  Not
on masked fits by default (the registry's default for this solver).
"""
from __future__ import annotations

import functools

import numpy as np

from .. import _backends, _data
from ..objectives import BetaData
from . import alternating
from ._kernels import mu_step
from .result import SolverResult

#: Factor dtypes the compiled step takes (others run the array-API form).
_COMPILED = (np.dtype(np.float32), np.dtype(np.float64))


def update(U, A, B, l1, l2, state):
    """Multiplicative updates of U (k x r) from the Gram matrix A and B.

    Repeated with the same A, B while it pays (Gillis & Glineur 2012's accelerated
    MU); each repetition is itself a descent step.  For NumPy factors the elementwise
    part of a step is one compiled pass (:func:`nmfkit.solvers._kernels.mu_step`, the
    NumPy backend's form of the lines below).
    """
    if _backends.all_numpy(U, A, B) and U.dtype in _COMPILED:
        dtype = U.dtype
        tiny, l1, l2 = dtype.type(np.finfo(dtype).eps), dtype.type(l1), dtype.type(l2)

        def compiled(U):
            out = np.empty(U.shape, dtype)
            return out, mu_step(U, A @ U, B, l1, l2, tiny, out)

        return alternating.repeat(compiled, U, state)
    xp = _backends.namespace(U, A, B)
    tiny = xp.finfo(U.dtype).eps
    B = xp.maximum(B, 0)

    def step(U):
        denominator = A @ U
        if l2:
            denominator = denominator + l2 * U
        if l1:
            denominator = denominator + l1
        return U * (B / xp.maximum(denominator, tiny)), None

    return alternating.repeat(step, U, state)


def mm_exponent(beta):
    """γ(β) of Févotte & Idier 2011 (Table 2): makes the update a majorisation step."""
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


def beta_update(U, numerator, denominator, l1, l2, gamma):
    """U ∘ [numerator / (denominator + l1 + l2 U)]^γ: one MM step on one factor."""
    xp = _backends.namespace(U, numerator, denominator)
    if l2:
        denominator = denominator + l2 * U
    if l1:
        denominator = denominator + l1
    ratio = xp.maximum(numerator, 0) / xp.maximum(denominator, xp.finfo(U.dtype).eps)
    if gamma != 1.0:
        ratio = ratio ** gamma
    return U * ratio


def floored_candidate(new, prev, step, *, fraction, lift=True):
    """[new + step·(new − prev)] floored at ``fraction`` times new's mean; with
    ``lift=False``, entries of new already below that floor stay as they are.

    Floored above zero, not at zero (Ang & Gillis's [·]₊): an entry MU has taken near
    zero leaves it only slowly, and one at zero never does, so zeroing entries the
    plain updates would have kept made extrapolated MU end above plain MU; lifting
    every entry below the floor is where the gain is.  A factor with an L1 penalty is
    the exception (``lift=False``): there an entry on its way to zero should get there
    (lifted, dead components sat at a uniform floor instead of 0).
    """
    xp = _backends.namespace(new, prev)
    floor = fraction * float(xp.mean(new))  # ≥ 0: max(x, floor) = max([x]₊, floor)
    out = xp.maximum(alternating.extrapolated(new, prev, step), floor)
    return out if lift else xp.where(new > floor, out, new)


def solve_beta(X, W, H, *, params, monitor):
    """Fit ``X ≈ WH`` in β-divergence (masked or not) by MM multiplicative updates,
    extrapolated between iterations with restarts when ``params.settings.extrapolate``."""
    xp = _backends.namespace(W, H)
    data = BetaData(X, params.beta, missing=params.missing)
    gamma = mm_exponent(params.beta)
    pen = params.penalty
    W, H = xp.asarray(W, copy=True), xp.asarray(H, copy=True)
    # WH of the last iterate: the next iteration's H update starts from it, unless it
    # starts from an extrapolated pair.  Every WH of the fit, and KL's weights X/WH, are
    # written into this one array (BetaData.model's ``out``, the terms' ``overwrite``):
    # each is used up before the next is formed.
    model = {"of": (W, H), "Y": data.model(W, H)}
    loss = data.value(model["Y"], W, H) + pen.value(W, H)
    monitor.start(loss)

    def iterate(factors):
        """One H update then one W update (new arrays); returns them and the objective."""
        W, H = factors
        Y = model["Y"]
        if not all(a is b for a, b in zip(factors, model["of"])):
            Y = data.model(W, H, out=Y)
        model["of"] = None  # Y is written again below
        if params.update_H:
            numerator, denominator = data.terms_H(W, H, Y, overwrite=True)
            H = beta_update(H, numerator, denominator, pen.l1_H, pen.l2_H, gamma)
            Y = data.model(W, H, out=Y)
        numerator, denominator = data.terms_W(W, H, Y, overwrite=True)
        W = beta_update(W, numerator, denominator, pen.l1_W, pen.l2_W, gamma)
        model["of"], model["Y"] = (W, H), data.model(W, H, out=Y)
        return (W, H), data.value(model["Y"], W, H) + pen.value(W, H)

    def plain():
        factors = (W, H)
        while True:
            factors, value = iterate(factors)
            yield factors, value

    extrapolate = bool(params.settings.extrapolate) and params.update_H
    fraction = params.settings.mu_candidate_floor
    candidates = tuple(functools.partial(floored_candidate, fraction=fraction, lift=not l1)
                       for l1 in (pen.l1_W, pen.l1_H))
    steps = alternating.restarted_iterations(iterate, (W, H), loss, in_place=False,
                                             candidate=candidates) if extrapolate else plain()
    n_iter, stopped = 0, False
    for n_iter, ((W, H), loss) in zip(range(1, params.max_iter + 1), steps):
        if monitor(n_iter, W, H, loss, fresh=True):
            stopped = True
            break
    return SolverResult.finish(monitor, W, H, n_iter, loss, stopped)


def solve(X, W, H, *, params, monitor):
    """Fit ``X ≈ WH`` by multiplicative updates.

    A Frobenius fit of every entry ends with one exact W step for the final H: MU
    approaches the optimal W for a fixed H only sublinearly, and with the exact step
    (which can only lower the objective) ``fit_transform(X)`` and ``transform(X)`` agree,
    as scikit-learn's estimator checks require.
    """
    if params.beta != 2.0 or params.missing:
        return solve_beta(X, W, H, params=params, monitor=monitor)
    result = alternating.run(X, W, H, params=params, monitor=monitor, update=update)
    if params.update_H:
        from .anls import nnls

        pen = params.penalty
        H = result.H
        Wt = nnls(H @ H.T, _data.H_times_Xt(H, X), l1=pen.l1_W, l2=pen.l2_W)
        result.W = _backends.contiguous(Wt.T)
        result.divergence = None  # a new pair: measured by nmfkit.solvers.run
    return result
