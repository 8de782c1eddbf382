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
extrapolated pair, floored above zero (:data:`CANDIDATE_FLOOR`), and is run again from
the plain pair if it raised the objective, so the reported objectives never rise.  Not
on masked fits (:data:`EXTRAPOLATE_MASKED`).
"""
from __future__ import annotations

import functools

from .. import _array
from ..objectives import BetaData
from . import alternating
from .result import SolverResult


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
    xp = _array.namespace(U, numerator, denominator)
    if l2:
        denominator = denominator + l2 * U
    if l1:
        denominator = denominator + l1
    ratio = xp.maximum(numerator, 0) / xp.maximum(denominator, xp.finfo(U.dtype).eps)
    if gamma != 1.0:
        ratio = ratio ** gamma
    return U * ratio


#: Extrapolated factors are floored at this fraction of their mean, not at zero.  An
#: entry MU has taken near zero leaves it only slowly, and one at zero never does:
#: Ang & Gillis's [·]₊ zeroed entries the plain updates would have kept, and its runs
#: ended above plain MU's; with the floor, extrapolated MU reached 0.1 % of the best
#: sooner (`benchmarks/micro.py mu-extrapolate`).  The floor lifts every entry below it,
#: and that lift is where the gain is: keeping entries the updates had already taken
#: below the floor, and flooring only what the step pushed down, cost most of it in
#: scratch comparisons.  A factor with an L1 penalty is the exception: there an entry
#: on its way to zero should get there, so such entries are left where they are (lifted,
#: the dead components of tests/test_sparse_nmf.py sat at a uniform floor instead of 0).
CANDIDATE_FLOOR = 1e-6

#: Extrapolate between iterations of the β-divergence updates by default ...
EXTRAPOLATE = True
#: ... but not on observed entries only (``missing='mask'``): there, extrapolated runs
#: started faster but ended well above plain ones after the same time
#: (`benchmarks/micro.py mu-extrapolate`).
EXTRAPOLATE_MASKED = False


def floored_candidate(new, prev, step, *, lift=True):
    """[new + step·(new − prev)] floored at ``CANDIDATE_FLOOR`` times new's mean; with
    ``lift=False``, entries of new already below that floor stay as they are."""
    xp = _array.namespace(new, prev)
    floor = CANDIDATE_FLOOR * float(xp.mean(new))  # ≥ 0: max(x, floor) = max([x]₊, floor)
    out = xp.maximum(alternating.extrapolated(new, prev, step), floor)
    return out if lift else xp.where(new > floor, out, new)


def solve_beta(X, W, H, *, params, monitor):
    """Fit ``X ≈ WH`` in β-divergence (masked or not) by MM multiplicative updates,
    extrapolated between iterations with restarts (:data:`EXTRAPOLATE`)."""
    xp = _array.namespace(W, H)
    data = BetaData(X, params.beta, missing=params.missing)
    gamma = mm_exponent(params.beta)
    pen = params.penalty
    W, H = xp.asarray(W, copy=True), xp.asarray(H, copy=True)
    # WH of the last iterate: the next iteration's H update starts from it, unless it
    # starts from an extrapolated pair
    model = {"of": (W, H), "Y": data.model(W, H)}
    loss = data.value(model["Y"], W, H) + pen.value(W, H)
    monitor.start(loss)

    def iterate(factors):
        """One H update then one W update (new arrays); returns them and the objective."""
        W, H = factors
        Y = model["Y"] if all(a is b for a, b in zip(factors, model["of"])) else None
        if params.update_H:
            numerator, denominator = data.terms_H(W, H, data.model(W, H) if Y is None else Y)
            H = beta_update(H, numerator, denominator, pen.l1_H, pen.l2_H, gamma)
            Y = None
        numerator, denominator = data.terms_W(W, H, data.model(W, H) if Y is None else Y)
        W = beta_update(W, numerator, denominator, pen.l1_W, pen.l2_W, gamma)
        model["of"], model["Y"] = (W, H), None  # the old Y is freed before the new one
        model["Y"] = data.model(W, H)
        return (W, H), data.value(model["Y"], W, H) + pen.value(W, H)

    def plain():
        factors = (W, H)
        while True:
            factors, value = iterate(factors)
            yield factors, value

    default = EXTRAPOLATE_MASKED if params.missing else EXTRAPOLATE
    extrapolate = (default if params.extrapolate is None else params.extrapolate) \
        and params.update_H
    candidates = tuple(functools.partial(floored_candidate, lift=not l1)
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
    """Fit ``X ≈ WH`` by multiplicative updates (extrapolation only when asked)."""
    if params.beta != 2.0 or params.missing:
        return solve_beta(X, W, H, params=params, monitor=monitor)
    extrapolate = False if params.extrapolate is None else params.extrapolate
    return alternating.run(X, W, H, params=params, monitor=monitor, update=update,
                           extrapolate=extrapolate)
