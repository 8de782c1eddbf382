"""A float64 fit started in float32 (mixed precision).

The two products with X are most of an iteration's time on a large dense X, and BLAS
multiplies float32 about twice as fast as float64 (on a small sparse X, the passes over
the factors are much of it, and they read half the bytes).  Until the objective nears its
minimum, a float32 iteration makes the progress a float64 one makes, so a float64 fit
runs its first iterations on float32 copies of X and of the factors, and finishes in
float64 from where they ended.  The objective is always taken from the float64 data:
‖X‖² from the float64 X, Gram matrices and inner products accumulated in float64
(:func:`nmfkit._sums.gram64`, :func:`nmfkit._sums.vdot64`); only the products with X
are rounded to float32, so the objectives recorded before the switch carry their
rounding (``Settings.precision_noise_factor``), and those after it are exact.

The float32 phase ends when its objective falls per iteration, on average over the
monitor's window, by less than ``Settings.precision_switch_tol`` of itself or than the rounding error
of its float32 products, whichever is larger (below that, the float32 objective cannot
tell progress from rounding, and float32 iterates stall: on data with a large offset
they stalled more than 10 % above the objective float64 then reached, which
`tests/test_precision.py` checks); or when the monitor's own stopping rule is met (then the
float64 phase has the last word: the rule is tested again on its iterations).  A time
limit, a callback asking to stop, or ``max_iter`` end the fit in either phase.  The
monitor sees one fit: iterations are numbered on across the switch, callbacks and
Ctrl-C snapshots get factors in the input's dtype, and the returned factors are in the
input's dtype.  The float32 copy of X adds half of X's memory (dense; sparse: a copy of
its indices and half of its values) while the phase runs.

By default (``Settings.mixed_precision=None``) only a float64 X of at least
``Settings.precision_min_entries`` entries (m·n) takes this path: dense (NumPy, PyTorch,
CuPy), or sparse with fewer than ``Settings.precision_sparse_max_nnz`` stored entries
(a large sparse X is multiplied on all cores, where float32 gains little, and its
float32 copy would cost memory); a small fit takes milliseconds either way.  Only
solvers whose registry record says ``mixed_precision`` run through
:func:`float32_first` (HALS does).
"""
from __future__ import annotations

import dataclasses
import sys

from .. import _backends
from ..objectives import frobenius_rounding


def applies(X, W, H, settings) -> bool:
    """Whether a fit of ``X ≈ WH`` runs a float32 phase first (see the module docstring;
    ``settings.mixed_precision`` False: never; True: any float64 X; None: by size)."""
    if settings.mixed_precision is False or X.ndim != 2:
        return False
    if settings.mixed_precision is None:
        if X.shape[0] * X.shape[1] < settings.precision_min_entries:
            return False
        if _backends.is_sparse(X) and X.nnz >= settings.precision_sparse_max_nnz:
            return False
    xp = _backends.namespace(X, W, H)
    return X.dtype == xp.float64 and W.dtype == xp.float64 and H.dtype == xp.float64


def float32_first(solve, X, W, H, *, params, monitor):
    """Run ``solve`` (the solver contract: ``solve(X, W, H, *, params, monitor)``) on
    float32 copies first when :func:`applies`, then in float64; see the module
    docstring.  Otherwise it is ``solve(X, W, H, params=params, monitor=monitor)``."""
    settings = params.settings
    if not applies(X, W, H, settings):
        return solve(X, W, H, params=params, monitor=monitor)
    normX2 = params.squared_norm(X)
    params = dataclasses.replace(params, squared_norm_X=normX2)
    noise = frobenius_rounding(normX2, 2.0 ** -23, H.shape[0], X.shape,
                               factor=settings.precision_noise_factor)
    first = _Phase(monitor, dtype=W.dtype, noise=noise,
                   switch_tol=settings.precision_switch_tol)
    try:
        low = solve(*map(_backends.as_float32, (X, W, H)), params=params, monitor=first)
    except KeyboardInterrupt:
        if monitor.last is not None:
            W_last, H_last, loss = monitor.last
            monitor.last = (first.cast(W_last), first.cast(H_last), loss)
        raise
    W = first.cast(low.W)
    if params.update_H:  # else H is the caller's, exact, in both phases' results
        H = first.cast(low.H)
    remaining = params.max_iter - low.n_iter
    if not first.switched or remaining <= 0:
        monitor.close()
        # The last objective carries the float32 products' rounding: measured anew.
        return dataclasses.replace(low, W=W, H=H, divergence=None)
    rest = solve(X, W, H, params=dataclasses.replace(params, max_iter=remaining),
                 monitor=_Phase(monitor, offset=low.n_iter))
    rest.n_iter += low.n_iter
    return rest


class _Phase:
    """The monitor as one phase of the fit sees it.

    The first phase (``dtype``: the input's; ``noise``: its objective's rounding error)
    stops its solver to switch, and hands the user's callback factors cast to ``dtype``;
    the second (``offset``: the first's iterations) numbers its iterations on and does
    not restart the history.
    """

    def __init__(self, monitor, *, dtype=None, noise=0.0, switch_tol=0.0, offset=0):
        self.monitor = monitor
        self.switch_tol = switch_tol
        self.dtype = dtype
        self.noise = noise
        self.offset = offset
        self.switched = False

    def cast(self, A):
        xp = _backends.namespace(A)
        return xp.astype(A, self.dtype, copy=False)

    def start(self, loss):
        if self.offset == 0:
            self.monitor.start(loss)

    def __call__(self, iteration, W, H, loss, *, fresh=False):
        monitor = self.monitor
        if self.dtype is None:
            return monitor(iteration + self.offset, W, H, loss, fresh=fresh)
        if monitor.callback is not None:
            W, H, fresh = self.cast(W), self.cast(H), True
        if monitor(iteration, W, H, loss, fresh=fresh):
            if monitor.converged:  # the float64 phase tests the rule again
                monitor.resume()
                return self._switch(iteration)
            return True
        history, window = monitor.history, monitor.window
        if len(history) > window:
            before = history[-1 - window][2]
            if before - loss <= window * max(self.switch_tol * loss, self.noise):
                return self._switch(iteration)
        return False

    def _switch(self, iteration):
        self.switched = True
        if self.monitor.verbose >= 2:
            print(f"{self.monitor.description}: float32 phase ends at iteration "
                  f"{iteration}; float64 from here", file=sys.stderr)
        return True

    def close(self):
        if self.dtype is None:
            self.monitor.close()

    @property
    def converged(self):
        return self.monitor.converged

    @property
    def stop_reason(self):
        return self.monitor.stop_reason

    @property
    def last(self):
        return self.monitor.last

    @last.setter
    def last(self, value):
        self.monitor.last = value
