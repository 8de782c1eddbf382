"""The distributed fit: the solvers' iterations, with X's row blocks on the workers.

Frobenius loss, for any rule of the alternating solvers (``update(U, A, B, l1, l2,
state)``: HALS, MU, ANLS, ALS), the iteration of :func:`nmfkit.solvers.alternating.run`
in one round (two with an extrapolated W):

- on the client, H ← update(H, WᵀW, WᵀX), the solver's rule on the k x n problem;
- on each block, given H: B_p = H X_pᵀ, Wᵀ_p ← update(Wᵀ_p, HHᵀ, B_p) (the rows of W are
  independent given H), and the block's ⟨B_p, Wᵀ_p⟩, Wᵀ_pW_p and, unless W is to be
  extrapolated, W_pᵀX_p (the next H update's product): one read of X_p for both;
- those k x k and k x n parts are summed across blocks (a tree on the workers), and the
  objective comes from the trace identity (:mod:`nmfkit.objectives`).

The traffic per iteration is H out and O((n + k)k) back per block, whatever the number
of rows.  Extrapolation is the solver's (Ang & Gillis 2019): Ĥ is kept only if the
objective falls by more than its rounding, else the W update is redone from the plain H
and the step shrinks; the extrapolated W is tested from terms the same round returns,
and the next WᵀX, of whichever W is kept, then takes a second round (a second read of
X).  MU ends with one exact W step, as :func:`nmfkit.solvers.mu.solve` does.

β-divergence (MU, Févotte & Idier 2011): the iterations of
:func:`nmfkit.solvers.mu.solve_beta`, extrapolated between iterations by the solvers'
own :func:`nmfkit.solvers.alternating.restarted_iterations`.  A round updates each W_p
given the new H and returns the block's D_β and its part of H's next MU ratio
(Wᵀ(X∘Y^(β−2)), Wᵀ Y^(β−1)); an iteration from an extrapolated pair first sums those
terms at that pair (a second round).

Each block's inner sweeps stop by the solvers' rule applied to that block (the rows of
W are independent sub-problems, as the lean driver for large sparse X has it), with
the sweep budget of the whole W; so with ``solver_options={"inner_delta": 0}`` (sweeps until the budget or
until nothing moves) the iterates are the in-memory solver's, up to rounding.  There is
no float32 phase (:mod:`nmfkit.solvers.precision`): the fit runs in X's dtype.
"""
from __future__ import annotations

import functools

import numpy as np

from .. import _sums
from ..solvers import alternating, mu
from ..solvers.result import SolverResult
from . import blocks
from .cluster import literal, task, tree_sum


class Rows:
    """W on the workers: one block per row block of X, and what the driver knows of it.

    Attributes
    ----------
    blocks : list of dask.delayed.Delayed
        Wᵀ_p (k x m_p) when ``transposed``, else W_p (m_p x k), held on the workers.
    transposed : bool
    total : float or None
        ΣW (the β driver's extrapolation floors at a fraction of W's mean).
    value : float or None
        D_β(X | WH) for the H of the pair these blocks were computed with (β driver).
    """

    def __init__(self, blocks_, *, transposed, total=None, value=None):
        self.blocks = list(blocks_)
        self.transposed = transposed
        self.total = total
        self.value = value

    def as_dask(self, data, k):
        """W (m x k) as a dask array with X's row chunks (lazy: nothing is computed)."""
        import dask.array as da

        pieces = []
        for block, rows in zip(self.blocks, data.row_chunks):
            if self.transposed:
                block = task(blocks.transposed)(block)
            pieces.append(da.from_delayed(block, shape=(rows, k), dtype=data.dtype))
        return da.concatenate(pieces, axis=0)


# ----------------------------------------------------------------------------- Frobenius
def solve_frobenius(X, W, H, *, params, monitor, update, exact_last_W=False):
    """Fit ``X ≈ WH`` for a :class:`nmfkit.distributed.data.DaskMatrix` X by the
    alternating rule ``update`` (see the module docstring).

    ``W`` is the start's row blocks (delayed m_p x k arrays), ``H`` the start's H on the
    client.  ``exact_last_W``: end with the exact W for the final H (MU).  Returns a
    :class:`nmfkit.solvers.SolverResult` whose W is a dask array with X's row chunks.
    """
    runner, pen, settings = X.runner, params.penalty, params.settings
    m, n = X.shape
    k = H.shape[0]
    dtype = X.dtype
    normX2 = X.squared_norm
    extrapolate = bool(settings.extrapolate)
    shared = {"max_inner": settings.max_inner, "inner_alpha": settings.inner_alpha,
              "inner_delta": settings.inner_delta, "nnz": X.nnz, "sparse": X.sparse}
    state_H = dict(shared)
    # Every block sweeps as often as the whole W would (the budget weighs the products
    # with all of X against a sweep of all of W); only the early stop is the block's.
    state_W = dict(shared, max_inner=settings.max_inner or alternating.inner_budget(
        k, m, X.nnz, X.sparse, itemsize=dtype.itemsize, alpha=settings.inner_alpha))
    margin = alternating.extrapolation_margin(normX2, np.finfo(dtype).eps, k, X.shape)

    def objective(terms, H, prefix=""):
        gram = terms[prefix + "WtW"]
        sq_W = float(np.trace(gram)) if pen.l2_W else 0.0
        return alternating._objective(normX2, terms[prefix + "cross"], gram, _sums.gram64(H),
                                      pen.value_from(terms[prefix + "sum_W"], sq_W, H))

    def w_round(Wt, H, Wt_prev, beta):
        """Every block's W update given H; returns (Wᵀ blocks, summed terms): with the
        terms of the candidate extrapolated from ``Wt_prev`` by ``beta``, if given, else
        with the next WᵀX."""
        H_key = literal(H)
        A_key = literal(np.asarray(_sums.gram64(H), dtype=dtype))
        steps = [task(blocks.frobenius_step, nout=2)(
            X_p, Wt_p, H_key, A_key, update, pen.l1_W, pen.l2_W, state_W,
            None if Wt_prev is None else Wt_prev[p], beta)
            for p, (X_p, Wt_p) in enumerate(zip(X.blocks, Wt))]
        return runner.step([s[0] for s in steps], [s[1] for s in steps])

    starts = [task(blocks.frobenius_start, nout=2)(X_p, W_p, dtype.str, pen.l1_W)
              for X_p, W_p in zip(X.blocks, W)]
    Wt, terms = runner.step([s[0] for s in starts], [s[1] for s in starts])
    WtW, B_H = terms["WtW"], terms["WtX"]
    loss = alternating._objective(
        normX2, _sums.vdot64(B_H, H), WtW, _sums.gram64(H),
        pen.value_from(terms["sum_W"], float(np.trace(WtW)) if pen.l2_W else 0.0, H))
    monitor.start(loss)

    beta, beta_max, beta_good = alternating.BETA0, 1.0, alternating.BETA0
    H_prev = Wt_prev = None
    n_iter, stopped = 0, False
    for n_iter in range(1, params.max_iter + 1):
        # --- H given W, on the client ---------------------------------------------
        H_new = update(H, np.asarray(WtW, dtype=dtype), np.asarray(B_H, dtype=dtype),
                       pen.l1_H, pen.l2_H, state_H)
        H_hat = H_new
        if extrapolate and H_prev is not None:
            H_hat = alternating.extrapolated(H_new, H_prev, beta)
        # --- W given H, on the blocks ---------------------------------------------
        # The W candidate is extrapolated by the β the H test will leave if it accepts
        # Ĥ; if it refuses, the round is redone with the shrunk β anyway.
        beta_W = beta if H_hat is H_new else alternating.next_beta(
            True, beta, beta_max, beta_good)[0]
        Wt_new, terms = w_round(Wt, H_hat, Wt_prev, beta_W)
        loss_new = objective(terms, H_hat)
        if H_hat is not H_new:
            accepted = loss_new <= loss - margin
            beta, beta_max, beta_good = alternating.next_beta(accepted, beta, beta_max,
                                                              beta_good)
            if not accepted:  # the extrapolated H did not help: the plain step instead
                H_hat = H_new
                Wt_new, terms = w_round(Wt, H_hat, Wt_prev, beta)
                loss_new = objective(terms, H_hat)
        # --- extrapolated W, kept only if it lowers the objective beyond rounding -----
        Wt_next, WtW, loss_next = Wt_new, terms["WtW"], loss_new
        if Wt_prev is not None:
            if objective(terms, H_hat, "candidate_") <= loss_new - margin:
                Wt_next = [task(alternating.extrapolated)(new, old, beta)
                           for new, old in zip(Wt_new, Wt_prev)]
                WtW, loss_next = terms["candidate_WtW"], objective(terms, H_hat, "candidate_")
            # The next H update's WᵀX, of the W kept (a second read of X).
            Wt_next, sums = runner.step(Wt_next, [task(blocks.products)(X_p, Wt_p)
                                                  for X_p, Wt_p in zip(X.blocks, Wt_next)])
            B_H = sums["WtX"]
        else:
            B_H = terms["WtX"]
        if extrapolate:
            H_prev, Wt_prev = H_new, Wt_new
        Wt, H, loss = Wt_next, H_hat, loss_next
        if monitor(n_iter, Rows(Wt, transposed=True).as_dask(X, k), H, loss, fresh=True):
            stopped = True
            break

    if exact_last_W:
        # mu.solve's last step: the exact W for the final H (nmfkit.solvers.anls.nnls).
        HHt = literal(H @ H.T)
        H_key = literal(H)
        steps = [task(blocks.nnls_step, nout=2)(X_p, H_key, HHt, pen.l1_W, pen.l2_W)
                 for X_p in X.blocks]
        Wt, terms = runner.step([s[0] for s in steps], [s[1] for s in steps])
        divergence = terms["divergence"]
    elif X.sparse and not pen.active:
        divergence = loss  # the trace identity on the returned pair, as the solver says
    else:
        H_key = literal(H)
        divergence = runner.compute(tree_sum([task(blocks.residual)(X_p, Wt_p, H_key)
                                           for X_p, Wt_p in zip(X.blocks, Wt)]))[0]["divergence"]
    result = SolverResult.finish(monitor, Rows(Wt, transposed=True).as_dask(X, k), H,
                                 n_iter, loss, stopped, divergence=divergence)
    return result


# ----------------------------------------------------------------------------- β-divergence
def solve_beta(X, W, H, *, params, monitor):
    """Fit ``X ≈ WH`` in β-divergence for a :class:`nmfkit.distributed.data.DaskMatrix` X
    by the MM multiplicative updates, extrapolated when ``params.settings.extrapolate``
    (see the module docstring)."""
    runner, pen = X.runner, params.penalty
    beta, gamma = float(params.beta), mu.mm_exponent(params.beta)
    k = H.shape[0]
    dtype = X.dtype
    x_sums = X.block_x_sums or [None] * len(X.blocks)
    extrapolate = bool(params.settings.extrapolate)

    def summed(terms, H):
        """The objective, and H's MU ratio (when the blocks returned it)."""
        loss = terms["value"] + pen.value_from(terms["sum_W"], terms["sq_W"], H)
        ratio = None
        if "numerator" in terms:
            ratio = (np.asarray(terms["numerator"], dtype=dtype),
                     np.asarray(terms["denominator"], dtype=dtype))
        return loss, ratio

    starts = [task(blocks.beta_start, nout=2)(X_p, W_p, literal(H), beta, s, dtype.str)
              for X_p, W_p, s in zip(X.blocks, W, x_sums)]
    held, terms = runner.step([s[0] for s in starts], [s[1] for s in starts])
    loss, ratio = summed(terms, H)
    first = Rows(held, transposed=False, total=terms["sum_W"], value=terms["value"])
    # H's MU ratio at the pair it was computed for: the next iteration's, unless that one
    # starts from an extrapolated pair (then it is summed there).
    known = {"of": (first, H), "ratio": ratio}
    monitor.start(loss)

    def iterate(factors):
        """One H update (on the client) then one W update (on the blocks)."""
        rows, H = factors
        if known["of"][0] is rows and known["of"][1] is H and known["ratio"] is not None:
            numerator, denominator = known["ratio"]
        else:
            H_key = literal(H)
            parts = [task(blocks.beta_terms_H)(X_p, W_p, H_key, beta, s)
                     for X_p, W_p, s in zip(X.blocks, rows.blocks, x_sums)]
            # The extrapolated blocks are held: the W update below reads them again.
            held, terms = runner.step(rows.blocks, parts)
            rows = Rows(held, transposed=False)
            numerator = np.asarray(terms["numerator"], dtype=dtype)
            denominator = np.asarray(terms["denominator"], dtype=dtype)
        H = mu.beta_update(H, numerator, denominator, pen.l1_H, pen.l2_H, gamma)
        H_key = literal(H)
        steps = [task(blocks.beta_step, nout=2)(X_p, W_p, H_key, beta, gamma, pen.l1_W,
                                                 pen.l2_W, s, not extrapolate)
                 for X_p, W_p, s in zip(X.blocks, rows.blocks, x_sums)]
        held, terms = runner.step([s[0] for s in steps], [s[1] for s in steps])
        new = Rows(held, transposed=False, total=terms["sum_W"], value=terms["value"])
        loss, ratio = summed(terms, H)
        known["of"], known["ratio"] = (new, H), ratio
        return (new, H), loss

    def plain():
        factors = (first, H)
        while True:
            factors, value = iterate(factors)
            yield factors, value

    if extrapolate:
        fraction = params.settings.mu_candidate_floor
        candidates = (functools.partial(_candidate_rows, fraction=fraction, lift=not pen.l1_W,
                                        size=X.shape[0] * k),
                      functools.partial(mu.floored_candidate, fraction=fraction,
                                        lift=not pen.l1_H))
        steps = alternating.restarted_iterations(iterate, (first, H), loss, in_place=False,
                                                 candidate=candidates)
    else:
        steps = plain()
    rows, n_iter, stopped = first, 0, False
    for n_iter, ((rows, H), loss) in zip(range(1, params.max_iter + 1), steps):
        if monitor(n_iter, rows.as_dask(X, k), H, loss, fresh=True):
            stopped = True
            break
    return SolverResult.finish(monitor, rows.as_dask(X, k), H, n_iter, loss, stopped,
                               divergence=rows.value)


def _candidate_rows(new, prev, step, *, fraction, lift, size):
    """The extrapolated W of :func:`nmfkit.solvers.mu.floored_candidate`, block by block
    (lazy), floored at ``fraction`` of the whole W's mean."""
    floor = fraction * new.total / size
    return Rows([task(blocks.beta_candidate)(W_p, P_p, step, floor, lift)
                 for W_p, P_p in zip(new.blocks, prev.blocks)], transposed=False)
