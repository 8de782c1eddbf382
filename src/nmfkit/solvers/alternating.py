"""The alternating scheme every Frobenius solver shares.

Each outer iteration solves (exactly or approximately) two convex sub-problems,

    H ← argmin_{H ≥ 0} ½‖X − WH‖²    given  A = WᵀW (k x k),  B = WᵀX (k x n)
    Wᵀ ← argmin_{Wᵀ ≥ 0} ½‖Xᵀ − HᵀWᵀ‖² given  A = HHᵀ (k x k),  B = HXᵀ (k x m)

and the solvers differ only in how they solve one sub-problem from ``(A, B)``: an
*update rule* ``update(U, A, B, l1, l2, state) -> U_new`` acting on a k x r factor
(``H`` or ``Wᵀ``).  This module holds the loop: the two expensive products per
iteration, the objective from the trace identity (free given the products,
see :mod:`nmfkit.objectives`), extrapolation, and the calls to the monitor.

W is kept transposed (k x m) so that every update rule works on rows, which are
contiguous in memory.

Extrapolation (Ang & Gillis 2019, "Accelerating nonnegative matrix factorization
algorithms using extrapolation"): after updating H, step further along the last
change, Ĥ = [H_new + β(H_new − H_prev)]₊, update W from Ĥ, and likewise for W.  The
objective of every candidate pair is available from products already computed,
so a step is accepted only when it lowers the objective by more than the objective's
rounding (:func:`extrapolation_margin`: a smaller gain cannot be told from rounding,
which differs between dense and sparse products of the same X);
otherwise the plain step is taken and β shrinks (β ← β/η, β̄ ← last good β).  The
accepted sequence is therefore monotone, like the plain method's.
"""
from __future__ import annotations

import sys

import numpy as np

from .. import _backends, _data, _sums, _threads
from ..objectives import frobenius_rounding
from . import _kernels
from .result import SolverResult

#: Factor dtypes the compiled NumPy kernels take.
_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# Ang & Gillis 2019, section 3: growth factors and restart shrink factor.
BETA0 = 0.5
GAMMA = 1.05
GAMMA_BAR = 1.01
ETA = 1.5


#: Gillis & Glineur 2012: at most this many inner passes per update, whatever the cost
#: model says (``Settings.max_inner`` overrides it).
MAX_INNER_DEFAULT = 20

# A deterministic cost model for ρ, the cost of the products behind an update over that
# of one pass (timing would make results depend on machine load), with rates typical
# of a 2-core machine: dense products run at
# BLAS-3 speed, twice as fast in float32; sparse products at a fraction of it; a HALS
# pass on a k x r factor is k matrix-vector products that each read the factor from
# cache, plus the array calls' overhead per row.
GEMM_FLOPS = 75e9  # dense X, float64; float32 counts twice as fast
SPARSE_FLOPS = 8e9  # sparse X
SWEEP_BANDWIDTH = 50e9  # bytes per second a pass reads its factor from cache
ROW_SECONDS = 5e-6  # array-call overhead of one row of a pass


def inner_budget(k, r, nnz, sparse, itemsize=8, alpha=0.5):
    """1 + alpha·ρ passes, ρ = estimated cost of the products behind an update / one pass."""
    rate = SPARSE_FLOPS if sparse else GEMM_FLOPS * (8 / itemsize)
    product = 2.0 * nnz * k / rate
    one_pass = k * (k * r * itemsize / SWEEP_BANDWIDTH + ROW_SECONDS)
    return int(min(MAX_INNER_DEFAULT, 1 + alpha * product / one_pass))


def repeat(step, U, state):
    """Apply ``step`` (one pass on U, same A and B) up to the inner budget.

    ``step(U)`` returns ``(U_new, change)`` with ``change = ‖U_new − U‖²``, or ``None``
    for change when the step does not measure it (then it is computed here).  Stops
    early when a pass moves U by less than ``state['inner_delta']`` times the first pass did.
    ``state['max_inner']`` (the user's cap) overrides the cost model, whose budget is
    ``1 + state['inner_alpha']·ρ`` (:func:`inner_budget`).
    """
    max_inner = state.get("max_inner")
    if max_inner is None:
        # The budget is fixed for a factor's shape and dtype: kept in the state, so the
        # cost model runs once per fit and factor, not once per update.
        cached = state.get("budget")
        if cached is not None and cached[0] == U.shape and cached[1] == U.dtype:
            max_inner = cached[2]
        else:
            k, r = U.shape
            max_inner = inner_budget(k, r, state.get("nnz", r * k), state.get("sparse", False),
                                     itemsize=getattr(U.dtype, "itemsize", 8),
                                     alpha=state.get("inner_alpha", 0.5))
            state["budget"] = (U.shape, U.dtype, max_inner)
    if max_inner <= 1:
        return step(U)[0]
    first = None
    delta2 = state.get("inner_delta", 0.1) ** 2
    for _ in range(max_inner):
        before = U
        U, change = step(U)
        if change is None:
            delta = U - before
            change = _sums.sumsq(delta)
        if first is None:
            first = change
        elif change <= delta2 * first:
            break
    return U


def _loss(normX2, B, U, WtW, HHt, penalty, H, Wt=None):
    """Penalised ½‖X − WH‖² from the trace identity, with the cross term ⟨B, U⟩ taken
    from either product: B = HXᵀ and U = Wᵀ, or B = WᵀX and U = H (then pass ``Wt``)."""
    return _objective(normX2, _sums.vdot64(B, U), WtW, HHt,
                      penalty.value(U if Wt is None else Wt, H))


#: The float64 rounding of the trace identity's last step, in units of ε₆₄·½‖X‖², with
#: room to spare: its three terms are each about ‖X‖² when the fit is good, so their sum
#: is off by a few units whatever the products' precision (dense and sparse products of
#: one X round differently, and both must take the same decisions), and an
#: extrapolation decision compares two such sums.
COMBINATION_ROUNDING = 20.0


def extrapolation_margin(normX2, eps, k, shape) -> float:
    """The gain an extrapolated step must bring to be kept: the objective's rounding, that
    of the products (:func:`nmfkit.objectives.frobenius_rounding`, ``eps`` their machine
    epsilon) or of the identity's float64 sum (:data:`COMBINATION_ROUNDING`), whichever
    is larger."""
    return max(frobenius_rounding(normX2, eps, k, shape),
               COMBINATION_ROUNDING * float(np.finfo(np.float64).eps) * 0.5 * float(normX2))


def next_beta(accepted, beta, beta_max, beta_good):
    """Ang & Gillis's step-size rule after a candidate was accepted or rejected:
    returns the new (β, β̄, last good β).  Newton-CD uses it too."""
    if not accepted:
        return beta / ETA, beta_good, beta_good
    return min(beta_max, GAMMA * beta), min(1.0, GAMMA_BAR * beta_max), beta


def _objective(normX2, cross, gram, HHt, penalty_value):
    """½‖X − WH‖² from the trace identity's terms (cross = ⟨HXᵀ, Wᵀ⟩ = ⟨WᵀX, H⟩,
    gram = WᵀW), plus the penalty's value."""
    value = normX2 - 2.0 * cross + _sums.vdot64(gram, HHt)
    return 0.5 * max(value, 0.0) + penalty_value


def extrapolated(new, prev, beta):
    """[new + β(new − prev)]₊ as one new array (for NumPy arrays, one compiled pass:
    :func:`nmfkit.solvers._kernels.extrapolate`)."""
    if _backends.all_numpy(new, prev) and new.ndim == 2 and new.dtype in _KERNEL_DTYPES:
        out = np.empty_like(new)
        _kernels.extrapolate(new, prev, beta, out)
        return out
    out = new - prev
    out *= beta
    out += new
    return _backends.clip_nonnegative_(out)


def restarted_iterations(iterate, factors, loss, *, in_place, candidate=extrapolated,
                         plain=None):
    """Iterations started from extrapolated points, with restarts (Ang & Gillis 2019),
    for solvers whose objective is known only after an iteration: yields
    ``(factors, loss)`` after each one, for ever (the caller stops).

    ``iterate(factors) -> (factors, loss)`` is one whole iteration (every factor
    updated once).  Each starts from ``candidate(U_k, U_{k−1}, step)`` of every factor
    (``candidate`` may be a tuple, one function per factor; the first iteration starts
    from U_0) and keeps its result if the objective is no higher than the last;
    otherwise the iteration is run again from the plain U_k, and the step shrinks
    (:func:`next_beta`).  The yielded objectives therefore never rise when the plain
    iteration's do not.  The step starts at ``BETA0``.  ``plain(factors, loss) ->
    (factors, loss)``, if given, runs the iterations from a plain iterate (the first, and
    each re-run) instead of ``iterate``, told that iterate's objective: a solver whose
    plain iteration can raise the objective makes it monotone there.

    ``in_place``: ``iterate`` writes into the arrays it is given.  Then it only ever gets
    new arrays (a candidate, or a copy of U_k written into the refused candidate's), so
    the yielded factors are never written into again and may be kept without a copy.
    Otherwise ``iterate`` must return new arrays and leave its inputs as they were.
    Newton-CD and the multiplicative β-divergence updates run on this; the alternating
    driver below tests candidates more cheaply, from products it has anyway.
    """
    step, step_max, step_good = BETA0, 1.0, BETA0
    prev = None
    candidates = candidate if isinstance(candidate, tuple) else (candidate,) * len(factors)
    if plain is None:
        def plain(factors, loss):
            return iterate(factors)
    while True:
        last = factors
        if prev is None:
            start = tuple(_backends.copy(U) for U in last) if in_place else last
            factors, loss_new = plain(start, loss)
        else:
            start = tuple(c(U, P, step) for c, U, P in zip(candidates, last, prev))
            factors, loss_new = iterate(start)
            step, step_max, step_good = next_beta(loss_new <= loss, step, step_max, step_good)
            if loss_new > loss:  # the extrapolated start hurt: the plain iteration
                if in_place:
                    for U, L in zip(factors, last):
                        U[...] = L
                    factors, loss_new = plain(factors, loss)
                else:
                    factors, loss_new = plain(last, loss)
        prev, loss = last, loss_new
        yield factors, loss


def _extrapolated_loss(normX2, B_W, new, prev, beta, HHt, penalty, H, out=None):
    """Objective of Tᵀ = [new + β(new − prev)]₊ (with B_W = HXᵀ), block by block.

    T is formed one cache-sized column block at a time and written to ``out`` only if
    ``out`` is given (it may be ``prev``, whose block is read first), so a rejected
    extrapolation allocates no factor-sized array.  Returns (loss, TTᵀ).
    """
    if (_backends.all_numpy(new, prev, B_W) and new.dtype in _KERNEL_DTYPES
            and B_W.dtype in _KERNEL_DTYPES):
        # The same terms from one compiled pass per block (no temporary when out is given).
        if _threads.one_column_block(new):
            T = out if out is not None else np.empty(new.shape, new.dtype)
            cross, total = _kernels.extrapolate_terms(new, prev, beta, T, B_W)
            gram = _sums.gram64(T)
            sq = float(np.trace(gram)) if penalty.l2_W else 0.0
            return _objective(normX2, cross, gram, HHt, penalty.value_from(total, sq, H)), gram

        def block(cols):
            T = (out[:, cols] if out is not None
                 else np.empty((new.shape[0], cols.stop - cols.start), new.dtype))
            cross, total = _kernels.extrapolate_terms(new[:, cols], prev[:, cols], beta, T,
                                                      B_W[:, cols])
            return _sums.gram64(T), cross, total
    else:
        xp = _backends.namespace(new, prev)
        want_sum = bool(penalty.l1_W)

        def block(cols):
            T = new[:, cols] - prev[:, cols]
            T *= beta
            T += new[:, cols]
            T = _backends.clip_nonnegative_(T)
            if out is not None:
                out[:, cols] = T
            return (_sums.gram64(T), _sums.vdot64(B_W[:, cols], T),
                    float(xp.sum(T)) if want_sum else 0.0)

    parts = _threads.map_column_blocks(block, new)
    gram = parts[0][0]
    for g, _, _ in parts[1:]:
        gram = gram + g
    xp = _backends.namespace(gram)
    sq = float(xp.sum(xp.linalg.diagonal(gram))) if penalty.l2_W else 0.0
    loss = _objective(normX2, sum(p[1] for p in parts), gram, HHt,
                      penalty.value_from(sum(p[2] for p in parts), sq, H))
    return loss, gram


def run(X, W, H, *, params, monitor, update):
    """Alternate ``update`` on H and Wᵀ until the monitor stops it.

    ``update(U, A, B, l1, l2, state)`` must return a new array and leave its inputs
    untouched; ``state`` is a dict the rule may use to carry information between
    its calls on the same factor (warm starts, step sizes).  Extrapolates when
    ``params.settings.extrapolate`` is set.

    For sparse X without penalties the result's ``divergence`` is the last objective:
    the trace identity on the returned pair, which a new product with X would only
    repeat.  For dense X it is left to :func:`nmfkit.solvers.run` to measure exactly
    (the identity subtracts nearly equal numbers, and the products are rounded in X's
    dtype).
    """
    settings = params.settings
    extrapolate = bool(settings.extrapolate)
    normX2 = params.squared_norm(X)
    m, n = X.shape
    sparse = _backends.is_sparse(X)
    nnz = X.nnz if sparse else m * n
    # Size of X, for rules that weigh the cost of the products against cheaper passes.
    shared = {"max_inner": settings.max_inner, "inner_alpha": settings.inner_alpha,
              "inner_delta": settings.inner_delta, "nnz": nnz, "sparse": sparse}
    exact = sparse and not params.penalty.active
    # An extrapolated step is kept only if it gains more than the objective's rounding
    # (module docstring).
    margin = extrapolation_margin(normX2, _backends.namespace(W, H).finfo(W.dtype).eps,
                                  H.shape[0], X.shape)
    X = _data.operand(X, min_nnz=settings.split_min_nnz)  # large sparse X: all cores
    if lean(X, W, params):
        result = _run_lean(X, W, H, normX2, params=params, monitor=monitor, update=update,
                           shared=shared, extrapolate=extrapolate, margin=margin)
        if exact:
            result.divergence = result.loss
        return result
    pen = params.penalty
    # Nothing below writes into Wt or H (update rules return new arrays), so the
    # caller's arrays are used as they are; Wt is made row-major once.
    Wt = _backends.contiguous(W.T)
    state_H, state_W = dict(shared), dict(shared)
    if params.shuffle:
        from sklearn.utils import check_random_state

        rng = check_random_state(params.random_state)
        state_W["rng"] = state_H["rng"] = rng

    WtW = _sums.gram64(Wt)
    HHt = _sums.gram64(H)
    B_H = B_W = None
    if params.update_H:
        # The first H update needs WᵀX: the starting objective comes from it too
        # (⟨WᵀX, H⟩ = ⟨HXᵀ, Wᵀ⟩), one product fewer than from HXᵀ.
        B_H = _data.Wt_times_X(Wt.T, X)
        loss = _loss(normX2, B_H, H, WtW, HHt, pen, H, Wt=Wt)
    else:
        B_W = _data.H_times_Xt(H, X)  # H is fixed: every W update reuses it
        loss = _loss(normX2, B_W, Wt, WtW, HHt, pen, H)
    monitor.start(loss)

    beta, beta_max, beta_good = BETA0, 1.0, BETA0
    H_prev = Wt_prev = None
    n_iter = 0
    stopped = False

    for n_iter in range(1, params.max_iter + 1):
        # --- H given W -------------------------------------------------------
        if params.update_H:
            B_W = None  # the last iteration's; free it before its successor is computed
            if B_H is None:
                B_H = _data.Wt_times_X(Wt.T, X)
            H_new = update(H, _backends.like(WtW, H), B_H, pen.l1_H, pen.l2_H, state_H)
            B_H = None
            H_hat = H_new
            if extrapolate and H_prev is not None:
                H_hat = extrapolated(H_new, H_prev, beta)
            HHt = _sums.gram64(H_hat)
            B_W = _data.H_times_Xt(H_hat, X)
        else:
            H_new = H_hat = H

        # --- W given H -------------------------------------------------------
        Wt_new = update(Wt, _backends.like(HHt, Wt), B_W, pen.l1_W, pen.l2_W, state_W)
        WtW_new = _sums.gram64(Wt_new)
        loss_new = _loss(normX2, B_W, Wt_new, WtW_new, HHt, pen, H_hat)

        if extrapolate and H_hat is not H_new:
            accepted = loss_new <= loss - margin
            beta, beta_max, beta_good = next_beta(accepted, beta, beta_max, beta_good)
            if not accepted:
                # The extrapolated H did not help: take the plain step instead (β has shrunk).
                H_hat = H_new
                HHt = _sums.gram64(H_hat)
                B_W = _data.H_times_Xt(H_hat, X)
                Wt_new = update(Wt, _backends.like(HHt, Wt), B_W, pen.l1_W, pen.l2_W, state_W)
                WtW_new = _sums.gram64(Wt_new)
                loss_new = _loss(normX2, B_W, Wt_new, WtW_new, HHt, pen, H_hat)

        # --- extrapolate W, kept only if it lowers the objective (beyond rounding) --
        Wt_next, WtW_next, loss_next = Wt_new, WtW_new, loss_new
        if extrapolate and Wt_prev is not None:
            # Wt_prev is replaced below, so its buffer can take the candidate, unless it
            # is the current iterate (reported: the monitor and callbacks may hold it).
            reuse = Wt_prev is not Wt
            loss_hat, WtW_hat = _extrapolated_loss(normX2, B_W, Wt_new, Wt_prev, beta, HHt,
                                                   pen, H_hat, out=Wt_prev if reuse else None)
            if loss_hat <= loss_new - margin:
                if reuse:
                    Wt_hat = Wt_prev
                else:
                    if params.update_H:
                        B_W = None  # recomputed next iteration: free it first
                    Wt_hat = extrapolated(Wt_new, Wt_prev, beta)
                Wt_next, WtW_next, loss_next = Wt_hat, WtW_hat, loss_hat

        if extrapolate:
            H_prev, Wt_prev = H_new, Wt_new
        H, Wt, WtW, loss = H_hat, Wt_next, WtW_next, loss_next

        # Update rules return new arrays and nothing here writes into W or H once
        # reported, so the monitor may keep them without a copy.
        if monitor(n_iter, Wt.T, H, loss, fresh=True):
            stopped = True
            break

    return SolverResult.finish(monitor, Wt.T, H, n_iter, loss, stopped,
                               divergence=loss if exact else None)


# ----------------------------------------------------------------------------- lean
#: W updates from the rejected W, at most, after H's extrapolation was refused
#: (:func:`_run_lean`).
LEAN_REDOS = 3


def lean(X, W, params) -> bool:
    """Whether the fit of ``X ≈ WH`` runs the lean, in-place W update: a large sparse X
    multiplied on all cores and a W of at least ``Settings.lean_min_bytes`` (below it the
    copies saved are small); not with a shuffled order (blocks run concurrently)."""
    return (isinstance(X, _data.RowSplit) and not params.shuffle
            and W.shape[0] * W.shape[1] * W.dtype.itemsize >= params.settings.lean_min_bytes)


def _held_elsewhere(W, monitor) -> bool:
    """Whether anything but the lean loop and the monitor's snapshot holds ``W`` (a
    callback kept it): then the next W goes to a new array, not into this one."""
    ours = 3  # the loop's name for it, this function's and getrefcount's argument
    if monitor.last is not None and monitor.last[0] is W:
        ours += 1
    return sys.getrefcount(W) > ours


def _run_lean(X, W, H, normX2, *, params, monitor, update, shared, extrapolate,
              margin=0.0):
    """The alternating loop for a large sparse X and a tall W, in the memory of one W.

    W is m x k, row-major (the caller's is copied once) and updated in place, row block
    by row block on all cores: the objective is a sum over W's rows, and a row's update
    given H reads only that row, so the blocks are independent.  Each block's part of
    H Xᵀ is formed, used by the rule and by the block's objective terms, and dropped, so
    no k x m array is ever formed.  Ctrl-C during an update is held back until the
    update and its report to the monitor are done
    (:func:`nmfkit._threads.interrupts_deferred`), so the monitor's snapshot is always a pair with its
    objective.  A W that a callback kept is not written into: the next goes to a new
    array.

    Extrapolation of H as in :func:`run` (Ang & Gillis 2019): the W update from the
    extrapolated Ĥ is kept if the pair's objective is below the last by more than its
    rounding.  If not,
    the update is redone from the plain H, starting from the W just computed (the one
    before it is gone: keeping it would take a second copy of W), and repeated, up to
    :data:`LEAN_REDOS` times, until the objective is no higher than the last.  The
    repeats head for the best W for the plain H, whose objective is no higher than the
    last; in practice the first is enough.  If they all fell short, the last would be
    kept and the objective would rise.  W is not extrapolated: that would take two more
    copies (the previous iterate and the candidate), for a step that on large sparse
    problems is rarely accepted.
    """
    pen = params.penalty
    k = H.shape[0]
    W = np.array(W, order="C", copy=True)
    rows = max(1, params.settings.lean_block_bytes // (k * W.itemsize))
    blocks = X.row_blocks(rows)
    state_H = dict(shared)
    states = [dict(shared, nnz=block.nnz) for _, _, block in blocks]
    want_sum = bool(pen.l1_W)

    WtW = _sums.gram64(W.T)
    HHt = _sums.gram64(H)
    B_H = _data.Wt_times_X(W, X)
    loss = _loss(normX2, B_H, H, WtW, HHt, pen, H, Wt=W.T)
    monitor.start(loss)
    beta, beta_max, beta_good = BETA0, 1.0, BETA0
    H_prev = None
    n_iter, stopped = 0, False

    def update_W(W, H, HHt, out):
        """The W update given H, from ``W`` into ``out`` (may be W); returns
        (loss, WᵀW)."""
        A, Ht = _backends.like(HHt, W), H.T

        def one(i):
            a, b, block = blocks[i]
            B = _backends.contiguous((block @ Ht).T)
            U = update(_backends.contiguous(W[a:b].T), A, B, pen.l1_W, pen.l2_W, states[i])
            out[a:b] = U.T
            return (_sums.vdot64(B, U), _sums.gram64(U),
                    float(np.sum(U)) if want_sum else 0.0)

        parts = _threads.map_threads(one, range(len(blocks)))
        cross, gram, total = (sum(p[j] for p in parts) for j in range(3))
        sq_W = float(np.trace(gram)) if pen.l2_W else 0.0  # ‖W‖² = trace WᵀW
        return _objective(normX2, cross, gram, HHt, pen.value_from(total, sq_W, H)), gram

    for n_iter in range(1, params.max_iter + 1):
        H_new = H
        if params.update_H:
            if B_H is None:
                B_H = _data.Wt_times_X(W, X)
            H_new = update(H, _backends.like(WtW, H), B_H, pen.l1_H, pen.l2_H, state_H)
        H_hat = H_new
        if extrapolate and params.update_H and H_prev is not None:
            H_hat = extrapolated(H_new, H_prev, beta)
        B_H = None
        if extrapolate:
            H_prev = H_new
        out = np.empty_like(W) if _held_elsewhere(W, monitor) else W
        with _threads.interrupts_deferred():
            try:
                HHt = _sums.gram64(H_hat)
                loss_new, WtW_new = update_W(W, H_hat, HHt, out)
                if H_hat is not H_new:
                    accepted = loss_new <= loss - margin
                    beta, beta_max, beta_good = next_beta(accepted, beta, beta_max, beta_good)
                    if not accepted:  # the extrapolated H hurt: redo from the plain one
                        H_hat = H_new
                        HHt = _sums.gram64(H_hat)
                        for _ in range(max(1, LEAN_REDOS)):
                            loss_new, WtW_new = update_W(out, H_hat, HHt, out)
                            if loss_new <= loss:
                                break
            except BaseException:
                if out is W:
                    monitor.last = None  # W is half updated: nothing to keep
                raise
            W, H, out = out, H_hat, None
            loss, WtW = loss_new, WtW_new
            stopped = monitor(n_iter, W, H, loss, fresh=True)
        if stopped:
            break

    return SolverResult.finish(monitor, W, H, n_iter, loss, stopped)
