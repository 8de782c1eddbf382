"""The one monitor every solver reports to, once per iteration.

A solver calls ``monitor(iteration, W, H, loss)`` after each iteration and stops when
it returns True.  The monitor owns everything around the numerics: the stopping rule,
the history that becomes ``loss_curve_``, the progress bar and log, the user's
callback and the snapshot kept for Ctrl-C.

Stopping rule (documented in :class:`nmfkit.NMF`): stop when, over the last
``window`` iterations, the objective fell on average by less than ``tol`` times its
scale per iteration, i.e.
``L[t − window] − L[t] ≤ window · tol · max(S[t], 10⁻³ · tol · L[0])`` (the second term
ends fits that approach an exact factorization ever more slowly); or when the
objective is below ``floor`` (an exact fit up to rounding).  The scale ``S[t]`` is
``L[t]``, or, when the estimator gives ``null_loss`` (the objective of W = 0, ½‖X‖² for
Frobenius), the smaller of ``L[t]`` and ``null_loss − L[t]``: the part of the data the
model explains (½‖WH‖² at a stationary point).  On data a rank-k model explains only
partly (a tf-idf matrix at 97 % relative error), a fall of ``tol·L`` per iteration is
still a large change of the factors; measured against what the model explains, the
rule waits until the factors, not just the objective, stop moving.  With ``tol=0`` only ``max_iter``, the
callback or an exact fit stop the solver.
"""
from __future__ import annotations

import sys
import time

from . import _backends


class Monitor:
    """Per-iteration bookkeeping shared by all solvers.

    Parameters
    ----------
    tol : float
        Average relative decrease of the objective per iteration, over the last
        ``window`` iterations, below which the solver has converged.
    max_iter : int
        Iteration budget (used for the progress bar's length).
    window : int
        Number of iterations over which the decrease is measured.
    floor : float
        Objective value treated as an exact fit.
    null_loss : float or None
        Objective of the zero model (W = 0); when given, the decrease is measured
        against ``min(L, null_loss − L)`` instead of ``L``.
    callback : callable or None
        ``callback(iteration, W, H, loss)``; returning True stops the solver.
    verbose : int
        0 silent, 1 progress bar (tqdm), 2 one log line per iteration.
    snapshot : bool
        Keep a copy of the latest factors, so an interrupted fit keeps its result.
    checkpoint : callable or None
        ``checkpoint(W, H, S, history)``, called with the snapshot every
        ``checkpoint_every`` iterations (it writes them to disk).
    history : list or None
        The history of a fit being resumed: iterations are numbered on from its last
        one, its seconds continue, and the stopping rule's window reaches back into it.
    """

    def __init__(self, *, tol=1e-4, max_iter=200, window=10, floor=0.0, null_loss=None,
                 callback=None, verbose=0, snapshot=True, description="NMF",
                 checkpoint=None, checkpoint_every=10, history=None):
        self.tol = tol
        self.null_loss = null_loss
        self.max_iter = max_iter
        self.window = window
        self.floor = floor
        self.callback = callback
        self.verbose = verbose
        self.snapshot = snapshot
        self.description = description
        self.history = list(history or [])  # (iteration, seconds, loss)
        #: Iterations run before this monitor started (by the fit being resumed).
        self.offset = int(self.history[-1][0]) if self.history else 0
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.converged = False
        self.stop_reason = "max_iter"
        self.last = None  # (W, H, loss) copies, when snapshot is set
        self.last_S = None  # and S, for a tri-factorization W S H
        self._t0 = None
        self._bar = None

    def start(self, loss):
        """Record the objective of the initial factors (iteration 0, or the resumed fit's
        last iteration, already in the history)."""
        self._t0 = time.perf_counter()
        if self.history:
            self._t0 -= self.history[-1][1]
        else:
            self.history.append((0, 0.0, float(loss)))
        if self.verbose == 1:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.max_iter, desc=self.description, unit="it",
                             leave=False, file=sys.stderr)
        elif self.verbose >= 2:
            print(f"{self.description}: iteration 0, loss {loss:.6g}", file=sys.stderr)

    def __call__(self, iteration, W, H, loss, *, fresh=False, S=None) -> bool:
        """Record one iteration; True: stop.  ``S``: the middle factor of a
        tri-factorization X ≈ W S H (kept in the snapshot; the callback sees W and H)."""
        if self._t0 is None:
            self.start(loss)
        iteration += self.offset
        loss = float(loss)
        seconds = time.perf_counter() - self._t0
        self.history.append((iteration, seconds, loss))
        if self.snapshot:
            # ``fresh``: the solver will not write into these arrays again; keep them.
            self.last = (W, H, loss) if fresh else (_backends.copy(W), _backends.copy(H), loss)
            self.last_S = None if S is None else _backends.copy(S)
        if self.checkpoint is not None and iteration % self.checkpoint_every == 0:
            self.checkpoint(W, H, S, self.history)  # written before the solver goes on
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{loss:.5g}", refresh=False)
        elif self.verbose >= 2:
            print(f"{self.description}: iteration {iteration}, loss {loss:.6g}, "
                  f"{seconds:.2f}s", file=sys.stderr)

        if self.callback is not None and self.callback(iteration, W, H, loss) is True:
            self.stop_reason = "callback"
            return True
        if loss <= self.floor:
            self.converged, self.stop_reason = True, "exact fit"
            return True
        if self.tol > 0 and len(self.history) > self.window:
            before = self.history[-1 - self.window][2]
            scale = loss
            if self.null_loss is not None and 0 < self.null_loss - loss < loss:
                scale = self.null_loss - loss  # the part of the data the model explains
            if before - loss <= self.window * self.tol * max(scale, 1e-3 * self.tol * self.history[0][2]):
                self.converged, self.stop_reason = True, "converged"
                return True
        return False

    def resume(self):
        """Take back a convergence verdict: the fit goes on (a float32 phase that met
        the rule hands over to float64, :mod:`nmfkit.solvers.precision`)."""
        self.converged, self.stop_reason = False, "max_iter"

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
