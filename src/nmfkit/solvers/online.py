"""Online multiplicative updates over mini-batches of rows (Lefèvre, Bach & Févotte 2011).

The rows of X arrive in mini-batches X_b (b rows).  For each batch:

1. **W step** (the batch's rows only): W_b ≥ 0 for the current H by the β-divergence
   multiplicative update of :func:`nmfkit.solvers.mu.beta_update`, one step from the
   batch's previous W_b, or — with ``fresh_restarts``, in ``partial_fit``, and wherever
   the caller keeps no W — solved from a constant start by up to
   ``fresh_restarts_max_iter`` steps (stopping when W_b moves by less than ``tol``).
2. **H step with forgetting** (Lefèvre et al. 2011, Algorithm 1, the online form of the
   majorisation–minimisation update of Févotte & Idier 2011).  The numerator and the
   denominator of the H update are accumulated over the batches, the past weighted by
   ρ per step:

       A ← ρ A + H^(1/γ) ∘ N_b,      B ← ρ B + D_b + l1 + l2 H,      H ← (A / B)^γ

   with N_b, D_b the two halves of the batch's MU ratio for H and γ the MM exponent of
   :func:`nmfkit.solvers.mu.mm_exponent`.  The start is A = H₀, B = 1 (scikit-learn's
   ``MiniBatchNMF``, which a given start and batch order reproduce to rounding).

**Online HALS** (``solver='hals'``, Frobenius loss; Mairal, Bach, Ponce & Sapiro 2010,
"Online learning for matrix factorization and sparse coding", Algorithm 1 with
non-negative factors): each batch's W_b is the non-negative least-squares fit for H by
HALS sweeps from the clipped least-squares W_b (:func:`nmfkit.solvers.hals.update` on
W_bᵀ with HHᵀ and HX_bᵀ,
as many sweeps as the products pay for), the sufficient statistics of the past are kept
with forgetting, A ← ρA + W_bᵀW_b (k x k) and B ← ρB + W_bᵀX_b (k x n), and H takes HALS
sweeps (:func:`nmfkit.solvers.hals.update`, warm-started) on
min_H≥0 ½⟨H, AH⟩ − ⟨B, H⟩ + the H penalty, scaled by the rows the statistics hold
(R ← ρR + b).  Each step minimises the forgetful surrogate of all batches seen, so H
converges in a few passes where multiplicative updates take many.

The halves of each ratio are the batch solvers': for the Frobenius loss the Gram forms
X_b Hᵀ, W_b (HHᵀ) and W_bᵀX_b, (W_bᵀW_b) H (Lee & Seung 2001), which never form W_b H;
for other β those of :class:`nmfkit.objectives.BetaData` (dense, or at the stored
entries of sparse X; Févotte & Idier 2011 eq. 11).  As in scikit-learn, entries of W
below float64's epsilon are set to zero for β < 1, and of H for β ≤ 1, for stability.

Stopping (scikit-learn's rules for ``MiniBatchNMF``): after a step, when H moved by less
than ``tol`` relative to its norm (‖H_t − H_{t−1}‖_F ≤ tol·‖H_t‖_F); or when an
exponentially weighted average of the batch objectives (weight b / (n_samples + 1) per
step) has not reached a new minimum for ``max_no_improvement`` steps; or after
``max_iter`` passes over the rows.  The first step is not checked (H has just left its
start).

These are pure functions: they check nothing the user gave, never print, and report each
step to a :class:`nmfkit.monitor.Monitor` (``monitor(step, W_b, H, batch_cost)``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .. import _backends, _data, _sums
from ..objectives import EPSILON, BetaData, Penalty, beta_divergence, frobenius_from_factors
from . import hals
from .mu import beta_update, mm_exponent

#: Entries of a factor below this are set to zero after its update where the loss makes
#: small entries unstable (scikit-learn's rule: W for β < 1, H for β ≤ 1).
STABILITY_FLOOR = float(np.finfo(np.float64).eps)

#: Rows of W_b H formed at once when the exact Frobenius divergence of a dense batch is
#: measured: the temporary stays a small fraction of the batch.
RESIDUAL_ROWS = 256


@dataclass(frozen=True)
class OnlineParams:
    """Numerical settings of an online fit.

    Attributes
    ----------
    beta : float
        β of the β-divergence (2 = Frobenius).
    alpha_W, alpha_H, l1_ratio : float
        scikit-learn's penalty parameters (``alpha_H`` already resolved from 'same'); a
        batch of b rows gets :meth:`nmfkit.objectives.Penalty.from_alphas` for its shape,
        so the H penalty is scaled by b, as scikit-learn scales it per mini-batch.
    rho : float
        Forgetting of one step, ``forget_factor ** (batch_size / n_samples)``.
    n_samples : int
        Rows of one pass (the weight of a batch in the averaged objective).
    steps_per_epoch : int
        Batches of one pass, ``ceil(n_samples / batch_size)``.
    max_iter : int
        Passes over the rows.
    tol : float
        Relative change of H (and, in a W solve, of W) below which the fit stops.
    max_no_improvement : int or None
        Steps without a new minimum of the averaged objective before the fit stops.
    fresh_restarts : bool
        Solve each batch's W from a constant start instead of one step from its last W.
    fresh_restarts_max_iter : int
        Iterations of that solve.
    solver : {'mu', 'hals'}
        The update of the module docstring: online multiplicative updates (any β) or
        online HALS (Frobenius).
    """

    beta: float = 2.0
    alpha_W: float = 0.0
    alpha_H: float = 0.0
    l1_ratio: float = 0.0
    rho: float = 0.7
    n_samples: int = 1
    steps_per_epoch: int = 1
    max_iter: int = 200
    tol: float = 1e-4
    max_no_improvement: int | None = 10
    fresh_restarts: bool = False
    fresh_restarts_max_iter: int = 30
    solver: str = "mu"

    @property
    def gamma(self) -> float:
        return mm_exponent(self.beta)


class Batch:
    """One mini-batch of rows, with what the updates on it reuse: its penalty (scaled
    by its shape) and its :class:`~nmfkit.objectives.BetaData` layout (β ≠ 2) or ‖X_b‖²
    (β = 2)."""

    def __init__(self, X, params: OnlineParams):
        self.X = X
        self.rows = X.shape[0]
        self.beta = float(params.beta)
        self.gamma = params.gamma
        self.penalty = Penalty.from_alphas(params.alpha_W, params.alpha_H, params.l1_ratio,
                                           X.shape)
        self.data = None if self.beta == 2.0 else BetaData(X, self.beta)
        self._normX2 = None

    # -- the two halves of each update ------------------------------------------------
    def terms_W(self, W, H, XHt=None, HHt=None):
        """(numerator, denominator) of the MU ratio for W_b (b x k)."""
        if self.data is None:
            XHt = _data.X_times_Ht(self.X, H) if XHt is None else XHt
            HHt = H @ H.T if HHt is None else HHt
            return XHt, W @ HHt
        return self.data.terms_W(W, H, self.data.model(W, H))

    def terms_H(self, W, H):
        """(numerator, denominator) of the MU ratio for H from this batch (k x n)."""
        if self.data is None:
            return _data.Wt_times_X(W, self.X), (W.T @ W) @ H
        return self.data.terms_H(W, H, self.data.model(W, H))

    # -- the objective --------------------------------------------------------------
    def divergence(self, W, H, *, exact=False) -> float:
        """D_β(X_b | W_b H) (float64).  For the Frobenius loss the trace identity (no
        b x n temporary) unless ``exact``: then a dense batch's residual, formed
        :data:`RESIDUAL_ROWS` rows at a time."""
        if self.data is None:
            if exact and not _backends.is_sparse(self.X):
                return 0.5 * _data.residual_squared_norm(self.X, W, H, chunk_rows=RESIDUAL_ROWS)
            if self._normX2 is None:
                self._normX2 = _sums.squared_norm(self.X)
            return frobenius_from_factors(self.X, W, H, self._normX2)
        return self.data.value(self.data.model(W, H), W, H)

    def cost(self, W, H) -> float:
        """The batch's penalised objective per row (scikit-learn's "mean batch cost")."""
        return (self.divergence(W, H) + self.penalty.value(W, H)) / self.rows


def constant_start(X, k, dtype):
    """W₀ = √(mean(X) / k) everywhere (scikit-learn's start of a W solve), floored above
    zero so that a batch of zeros does not start from a factor MU cannot leave."""
    total = float(X.sum()) if _backends.is_sparse(X) else float(np.sum(X, dtype=np.float64))
    mean = total / max(1, X.shape[0] * X.shape[1])
    value = math.sqrt(max(mean, 0.0) / k) or float(np.finfo(dtype).tiny)
    return np.full((X.shape[0], k), value, dtype=dtype)


def solve_W(batch: Batch, H, *, max_iter, tol, W=None, solver="mu"):
    """W ≥ 0 for X_b ≈ W H with H fixed.

    ``solver='mu'``: MU steps from ``W`` (default: the constant start) until W moves by
    less than ``tol`` relative to its norm, or ``max_iter`` steps.  ``'hals'``: HALS
    sweeps on Wᵀ from the clipped least-squares W (the problem is convex: any start
    reaches its minimiser) until a sweep moves W by less than ``tol`` times the first sweep did, or
    ``max_iter`` sweeps; ``max_iter=None``: as many as the products pay for
    (:func:`nmfkit.solvers.alternating.repeat`).
    """
    if solver == "hals":
        return _hals_W(batch, H, {"max_inner": max_iter, "inner_delta": tol})
    W = constant_start(batch.X, H.shape[0], H.dtype) if W is None else W
    pen, gamma = batch.penalty, batch.gamma
    # For the Frobenius loss X_b Hᵀ and HHᵀ stay the same while H does.
    XHt = HHt = None
    if batch.data is None:
        XHt, HHt = _data.X_times_Ht(batch.X, H), H @ H.T
    for _ in range(max_iter):
        numerator, denominator = batch.terms_W(W, H, XHt, HHt)
        W_new = beta_update(W, numerator, denominator, pen.l1_W, pen.l2_W, gamma)
        change = _relative_change(W_new, W)
        W = W_new
        if tol > 0 and change <= tol:
            break
    return W


def update_W(batch: Batch, W, H):
    """One MU step of W_b for the current H."""
    numerator, denominator = batch.terms_W(W, H)
    pen = batch.penalty
    return beta_update(W, numerator, denominator, pen.l1_W, pen.l2_W, batch.gamma)


def update_H(batch: Batch, W, H, A, B, rho):
    """The H step with forgetting (module docstring): returns the new (H, A, B)."""
    xp = _backends.namespace(W, H, A, B)
    numerator, denominator = batch.terms_H(W, H)
    pen, gamma = batch.penalty, batch.gamma
    if batch.beta == 1:
        # scikit-learn's rule for KL: a component no row of the batch uses (a zero
        # column of W_b) gets denominator 1, so its accumulated statistics are forgotten
        # at rate ρ instead of kept, and a batch of zeros still moves H.
        denominator = xp.where(denominator == 0, 1.0, denominator)
    if pen.l1_H:
        denominator = denominator + pen.l1_H
    if pen.l2_H:
        denominator = denominator + pen.l2_H * H
    denominator = xp.where(denominator == 0, EPSILON, denominator)
    numerator = numerator * (H if gamma == 1.0 else H ** (1.0 / gamma))
    A = rho * A + numerator
    B = rho * B + denominator
    H = A / B
    if gamma != 1.0:
        H = H ** gamma
    if batch.beta <= 1:
        H = xp.where(H < STABILITY_FLOOR, 0.0, H)
    return H, A, B


class OnlineState:
    """What an online fit carries from step to step: H, the accumulated statistics
    (A, B) of its update, the rows they hold and the steps taken.  ``(H, A, B)`` is
    replaced as one triple after each step, so an interrupted fit always finds a
    consistent one.

    For ``solver='mu'`` A and B are the numerator and denominator of the H update
    (k x n; the start A = H₀, B = 1); for ``'hals'`` A = Σ ρ W_bᵀW_b (k x k) and
    B = Σ ρ W_bᵀX_b (k x n), zero at the start.
    """

    def __init__(self, H, A=None, B=None, n_steps=0, rows=0.0, solver="mu"):
        xp = _backends.namespace(H)
        k, n = H.shape
        if A is None:
            A = xp.asarray(H, copy=True) if solver == "mu" else xp.zeros((k, k), dtype=H.dtype)
        if B is None:
            B = xp.ones_like(H) if solver == "mu" else xp.zeros_like(H)
        self.triple = (H, A, B)
        self.n_steps = int(n_steps)
        self.rows = float(rows)

    @property
    def H(self):
        return self.triple[0]

    @property
    def A(self):
        return self.triple[1]

    @property
    def B(self):
        return self.triple[2]


def step(batch: Batch, W, state: OnlineState, params: OnlineParams):
    """One mini-batch step: W step, the batch objective, H step.

    Parameters
    ----------
    batch : Batch
    W : array (b, k) or None
        The batch's previous W (one MU step from it), or None to solve W_b afresh.
    state : OnlineState
        Updated in place (new H, A and B, one more step).
    params : OnlineParams

    Returns
    -------
    (W_b, cost)
        The batch's W and its objective per row, measured after the W step and before
        H learns from the batch.
    """
    if params.solver == "hals":
        return _step_hals(batch, state, params)
    H, A, B = state.triple
    if W is None or params.fresh_restarts:
        W = solve_W(batch, H, max_iter=params.fresh_restarts_max_iter, tol=params.tol)
    else:
        W = update_W(batch, W, H)
    if batch.beta < 1:
        W = _backends.namespace(W).where(W < STABILITY_FLOOR, 0.0, W)
    cost = batch.cost(W, H)
    state.triple = update_H(batch, W, H, A, B, params.rho)
    state.rows = params.rho * state.rows + batch.rows
    state.n_steps += 1
    return W, cost


def _hals_W(batch: Batch, H, budget):
    """W_b by HALS sweeps on W_bᵀ with the inner budget ``budget``, from the
    unconstrained least-squares W clipped at zero (from zero, the first sweep's change
    is all of W, and the relative stopping rule would end the sweeps at once)."""
    xp = _backends.namespace(H)
    sparse = _backends.is_sparse(batch.X)
    state = {"nnz": batch.X.nnz if sparse else batch.rows * H.shape[1], "sparse": sparse,
             **{key: value for key, value in budget.items() if value is not None}}
    pen = batch.penalty
    HHt, HXt = H @ H.T, _data.H_times_Xt(H, batch.X)
    k = H.shape[0]
    # A ridge of 1e-12 of HHᵀ's scale keeps the start defined for a vanished component.
    ridge = (1e-12 * float(xp.max(xp.abs(HHt)) + 1e-300) + pen.l2_W) * _backends.eye_like(k, HHt)
    start = xp.linalg.solve(HHt + ridge, HXt - pen.l1_W if pen.l1_W else HXt)
    start = xp.maximum(start, 0)
    Wt = hals.update(start, HHt, HXt, pen.l1_W, pen.l2_W, state)
    return _backends.contiguous(Wt.T)


def _step_hals(batch: Batch, state: OnlineState, params: OnlineParams):
    """One online HALS step (module docstring): W_b, statistics, H sweeps."""
    H, A, B = state.triple
    W = _hals_W(batch, H, {})
    cost = batch.cost(W, H)
    rho = params.rho
    A = rho * A + W.T @ W
    B = rho * B + _data.Wt_times_X(W, batch.X)
    rows = rho * state.rows + batch.rows
    # The H penalty of all the rows the statistics hold, as a batch scales it by its own.
    alpha_H, l1_ratio = params.alpha_H, params.l1_ratio
    sparse = _backends.is_sparse(batch.X)
    H = hals.update(H, A, B, alpha_H * l1_ratio * rows, alpha_H * (1.0 - l1_ratio) * rows,
                    {"nnz": batch.X.nnz if sparse else batch.rows * H.shape[1],
                     "sparse": sparse})
    state.triple, state.rows = (H, A, B), rows
    state.n_steps += 1
    return W, cost


class EarlyStopping:
    """scikit-learn's two stopping rules for mini-batch NMF (module docstring)."""

    def __init__(self, tol, max_no_improvement, n_samples):
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.n_samples = n_samples
        self.ewa = None
        self.ewa_min = None
        self.no_improvement = 0

    def __call__(self, n_step, cost, rows, H, H_previous):
        """None to go on, else why to stop ('converged' or 'no improvement')."""
        if n_step == 1:
            return None
        alpha = min(rows / (self.n_samples + 1), 1.0)
        self.ewa = cost if self.ewa is None else self.ewa * (1 - alpha) + cost * alpha
        if self.tol > 0 and _relative_change(H, H_previous) <= self.tol:
            return "converged"
        if self.ewa_min is None or self.ewa < self.ewa_min:
            self.no_improvement, self.ewa_min = 0, self.ewa
        else:
            self.no_improvement += 1
        if self.max_no_improvement is not None and self.no_improvement >= self.max_no_improvement:
            return "no improvement"
        return None


@dataclass
class OnlineResult:
    """How an online fit ended.

    Attributes
    ----------
    H, A, B : arrays
        The components and the accumulated statistics of their update
        (:class:`OnlineState`; to go on with ``partial_fit``).
    rows : float
        The rows the statistics hold (with forgetting).
    W : array (n_samples, k) or None
        The rows' W when the caller kept one, else None.
    n_steps : int
        Mini-batches processed in all (counting those of earlier fits of the state).
    n_iter : int
        Passes over the rows started, ``ceil(n_steps / steps_per_epoch)``.
    loss : float
        The last batch objective per row.
    converged : bool
        A stopping rule ended the fit ('converged' or 'no improvement').
    message : str
        'converged', 'no improvement', 'max_iter reached' or the monitor's reason
        ('callback').
    """

    H: Any
    A: Any
    B: Any
    rows: float
    W: Any
    n_steps: int
    n_iter: int
    loss: float
    converged: bool
    message: str


def solve(batches: Callable, state: OnlineState, *, params: OnlineParams, monitor, W=None):
    """Fit H over passes of mini-batches.

    Parameters
    ----------
    batches : callable
        ``batches()`` returns an iterator over one pass: ``(first_row, X_b)`` pairs, the
        same batches in the same order on every call.
    state : OnlineState
        The start (H₀, A, B); updated in place, step by step.
    params : OnlineParams
    monitor : callable
        ``monitor(step, W_b, H, cost, fresh=True) -> bool`` after every step (True stops).
    W : array (n_samples, k) or None
        The rows' W, kept between passes and updated in place by one MU step per batch
        (scikit-learn's fit); None: each batch's W is solved afresh.

    Returns
    -------
    OnlineResult
    """
    stopper = EarlyStopping(params.tol, params.max_no_improvement, params.n_samples)
    keep_W = W is not None and not params.fresh_restarts and params.solver == "mu"
    message, cost = "max_iter reached", float("nan")
    first_step = state.n_steps
    done = False
    for _ in range(params.max_iter):
        for start, X_b in batches():
            batch = Batch(X_b, params)
            W_b = W[start:start + batch.rows] if keep_W else None
            H_previous = state.H
            W_b, cost = step(batch, W_b, state, params)
            if keep_W:
                W[start:start + batch.rows] = W_b
            if monitor(state.n_steps, W_b, state.H, cost, fresh=True):
                message, done = getattr(monitor, "stop_reason", "callback"), True
                break
            reason = stopper(state.n_steps - first_step, cost, batch.rows, state.H, H_previous)
            if reason is not None:
                message, done = reason, True
                break
            del batch, X_b, W_b  # freed before the next batch is read
        if done:
            break
    n_iter = int(math.ceil((state.n_steps - first_step) / max(1, params.steps_per_epoch)))
    return OnlineResult(H=state.H, A=state.A, B=state.B, rows=state.rows,
                        W=W if keep_W else None,
                        n_steps=state.n_steps, n_iter=n_iter, loss=float(cost),
                        converged=message in ("converged", "no improvement"), message=message)


def divergence_pass(batches, H, params: OnlineParams, *, max_iter=200):
    """Each batch's W solved for H as ``transform`` solves it (:func:`solve_W`: for MU,
    ``max_iter`` steps from the constant start, stopping at ``params.tol``) and D_β(X_b | W_b H), exactly, over
    one pass of ``(first_row, X_b)`` batches: a generator of
    ``(first_row, W_b, divergence_b)``."""
    for start, X_b in batches:
        batch = Batch(X_b, params)
        W_b = solve_W(batch, H, max_iter=max_iter, tol=params.tol, solver=params.solver)
        if batch.data is None:
            value = batch.divergence(W_b, H, exact=True)
        else:
            value = beta_divergence(X_b, W_b, H, params.beta)
        yield start, W_b, value
        del batch, X_b, W_b  # freed before the next batch is read


def _relative_change(new, old) -> float:
    """‖new − old‖_F / ‖new‖_F (0 when both are zero)."""
    norm = math.sqrt(_sums.sumsq(new))
    diff = math.sqrt(_sums.sumsq(new - old))
    if norm == 0:
        return 0.0 if diff == 0 else math.inf
    return diff / norm
