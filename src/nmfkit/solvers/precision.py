"""A float64 fit started in float32 (mixed precision).

The two products with X are most of an iteration's time on a large dense X, and BLAS
multiplies float32 about twice as fast as float64 (on a small sparse X, the passes over
the factors are much of it, and they read half the bytes).  Until the objective nears its
minimum, a float32 iteration makes the progress a float64 one makes, so a float64 fit
runs its first iterations on float32 copies of X and of the factors, and finishes in
float64 from where they ended.  The objective is always taken from the float64 data:
‖X‖² from the float64 X, Gram matrices and inner products accumulated in float64
(:func:`nmfkit._array.gram64`, :func:`nmfkit._array.vdot64`); only the products with X
are rounded to float32, so the objectives recorded before the switch carry their
rounding (:data:`NOISE_FACTOR`), and those after it are exact.

The float32 phase ends when its objective falls per iteration, on average over the
monitor's window, by less than :data:`SWITCH_TOL` of itself or than the rounding error
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

Only a float64 X of at least :data:`MIN_ENTRIES` entries (m·n) takes this path: dense
(NumPy, PyTorch, CuPy), or sparse with fewer than :data:`SPARSE_MAX_NNZ` stored entries;
and only with solvers that opt in (their ``solve`` goes through
:func:`float32_first`; HALS does).
"""
from __future__ import annotations

import dataclasses
import math
import sys

from .. import _array

#: Dense float64 X with at least this many entries is fitted in float32 first.  The
#: phase reached 0.1 % of the best objective sooner on every size measured, from 300 x
#: 300 (0.048 against 0.067 s) to 2,000 x 1,000 (0.57 against 0.64 s; `benchmarks/
#: micro.py float32-phase`); below this size (512 x 512) a fit takes milliseconds and
#: stays in float64, a judgment.
MIN_ENTRIES = 1 << 18
#: The float32 phase ends when the objective fell by less than this, relative, per
#: iteration, on average over the monitor's window.
SWITCH_TOL = 1e-5
#: The rounding error of the float32 objective is taken as NOISE_FACTOR·ε₃₂·½‖X‖²/√(k·
#: min(m, n)) (ε₃₂ = 2⁻²³): the cross term ⟨HXᵀ, Wᵀ⟩ sums k·m rounded products that
#: are each about ε₃₂ off, relative, with random signs.  The error measured was 0.8-6.7
#: times the estimate without the factor on six dense problems (relative residuals
#: from 4·10⁻⁵ to 0.24), and 0.2-0.5 times on the sparse (b) (`benchmarks/micro.py
#: float32-noise`).
NOISE_FACTOR = 10.0
#: A sparse X takes the float32 phase only below this many stored entries, where its
#: products run on one thread and the HALS passes over the factors (which read half the
#: bytes in float32) are a large part of an iteration: on benchmark (b) (the critics'
#: tf-idf, 62,425 entries, k = 20) 0.1 % of the best came in 0.025-0.032 s against
#: 0.039-0.056 s from three starts (`benchmarks/micro.py knobs b precision.ENABLED=False
#: precision.ENABLED=True --seconds 1`).  On (e) (20 M entries, products on all cores)
#: it gained 3-10 % (1.00-1.05 against 1.07-1.14 s; two starts, two runs of `knobs e
#: precision.ENABLED=False precision.SPARSE_MAX_NNZ=1e18 --starts 0,1 --seconds 3`)
#: and its float32 copy of X would add 80 MB, a third of X, to a fit whose memory the
#: benchmark holds against scikit-learn's.  Between the two sizes it is not measured:
#: the bound is a judgment.
SPARSE_MAX_NNZ = _array.SPLIT_MIN_NNZ
#: Set to False to fit float64 input in float64 throughout.
ENABLED = True


def applies(X, W, H) -> bool:
    """Whether a fit of ``X ≈ WH`` runs a float32 phase first."""
    if not ENABLED or X.ndim != 2 or X.shape[0] * X.shape[1] < MIN_ENTRIES:
        return False
    if _array.is_sparse(X) and X.nnz >= SPARSE_MAX_NNZ:
        return False
    xp = _array.namespace(X, W, H)
    return X.dtype == xp.float64 and W.dtype == xp.float64 and H.dtype == xp.float64


def float32_first(solve, X, W, H, *, params, monitor):
    """Run ``solve`` (the solver contract: ``solve(X, W, H, *, params, monitor)``) on
    float32 copies first when :func:`applies`, then in float64; see the module
    docstring.  Otherwise it is ``solve(X, W, H, params=params, monitor=monitor)``."""
    if not applies(X, W, H):
        return solve(X, W, H, params=params, monitor=monitor)
    normX2 = params.squared_norm(X)
    params = dataclasses.replace(params, squared_norm_X=normX2)
    noise = NOISE_FACTOR * 2.0 ** -23 * 0.5 * normX2 / math.sqrt(H.shape[0] * min(X.shape))
    first = _Phase(monitor, dtype=W.dtype, noise=noise)
    try:
        low = solve(*map(_array.as_float32, (X, W, H)), params=params, monitor=first)
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
        return dataclasses.replace(low, W=W, H=H, float32_loss=True)
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

    def __init__(self, monitor, *, dtype=None, noise=0.0, offset=0):
        self.monitor = monitor
        self.dtype = dtype
        self.noise = noise
        self.offset = offset
        self.switched = False

    def cast(self, A):
        xp = _array.namespace(A)
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
            if before - loss <= window * max(SWITCH_TOL * loss, self.noise):
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
