"""Least squares on the observed entries by imputation (β = 2, ``missing='mask'``).

The EM procedure for weighted NMF (Zhang, Wang, Ford & Makedon 2006, "Learning from
incomplete ratings using non-negative matrix factorization", SDM, section 3): fill the
unobserved entries of X with the current model, X̃ = P_Ω(X) + P_Ω̄(WH), and take an
ordinary NMF step on X̃.  ½‖X̃ − WH‖² equals the masked objective ½‖P_Ω(X − WH)‖² at the
pair that made the fill and exceeds it at any other (the unobserved entries add
(X̃_ij − (W'H')_ij)² ≥ 0), so it majorises the masked objective there: every step that
lowers it lowers the masked objective (an MM step), and the iterates never go up.

The step is HALS's (:func:`nmfkit.solvers.hals.update`, several exact sweeps), with X̃
refilled before each factor's update.  What makes it pay is the cost of an iteration:
X̃ is stored with the pattern of X's observed non-zeros and the h unobserved entries
(CSR when that pattern is sparse, else dense), so the products cost O((nnz + h)·k) by
sparse or dense BLAS, where weighted coordinate descent on the observed entries
(Newton-CD's masked sweep) costs O(|Ω|·k) in gathers: a mostly-zero X with a few entries
held out (a fold of rank selection's cross-validation on a sparse X, a dense copy with NaN
at the held-out entries) keeps the price of an unmasked sparse fit.  X itself must be
dense: with a sparse X every unstored entry is unobserved, and X̃ would be dense.  The
price is the rate: each fill moves the unobserved entries' part of the objective only as
far as the last step did, so the more entries are unobserved the more iterations EM
takes; the registry runs it for ``solver='auto'`` only when at most
:data:`MAX_HIDDEN` of the entries are unobserved.

The objective comes from the trace identity on X̃ (its squared norm changes with each
fill, by the fill's Σ (WH)²_ij), exact for the pair that made the fill.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .. import _backends, _data, _sums
from . import alternating, hals
from .result import SolverResult

#: solver='auto' fits masked least squares by EM when at most this fraction of X's
#: entries is unobserved (rank selection's folds hold out a tenth); above it weighted
#: coordinate descent on the observed entries reaches a given objective sooner.
MAX_HIDDEN = 0.25
#: ... and when X is mostly zeros: the observed non-zeros and the unobserved entries
#: together at most this fraction of the entries (X̃ is then sparse; on a dense X the
#: weighted sweep's cost is no higher and it converges in fewer iterations).
MAX_FILL = 0.3
#: X̃ is held as CSR when its pattern (observed non-zeros and unobserved entries) covers
#: at most this fraction of the m·n entries, else as a dense array.
SPARSE_MAX_FILL = 0.3


def pays(stats) -> bool:
    """Whether solver='auto' runs EM for X of these :class:`nmfkit.solvers.DataStats`."""
    return (0 < stats.unobserved <= MAX_HIDDEN
            and stats.unobserved + stats.nonzero <= MAX_FILL)


class Filled:
    """X̃ = P_Ω(X) + P_Ω̄(WH): the observed entries of X and, at the unobserved ones, the
    model's values of the last :meth:`fill`.

    Parameters
    ----------
    X : ndarray with NaN at the unobserved entries
    census : nmfkit._census.Census or None
        X's census, when taken: its list of X's non-zero entries, where it has one.
    """

    def __init__(self, X, census=None):
        m, n = X.shape
        X = np.asarray(X)
        dtype = X.dtype
        # One pass finds the observed non-zeros and the unobserved entries together,
        # already in CSR order (the census has made it, for a mostly-zero X).
        if census is not None and census.stored is not None and census.shape == (m, n):
            rows, cols, values = census.stored
            values = values.astype(dtype)  # a copy: its NaN are zeroed below
        else:
            rows, cols, values = _data.nonzero_entries(X)
        unobserved = np.isnan(values)
        self.shape, self.dtype = (m, n), dtype
        self.rows, self.cols = rows[unobserved], cols[unobserved]
        self.hidden = int(self.rows.size)
        values[unobserved] = 0
        self.observed_norm2 = _sums.vdot64(values, values)
        entries = rows.size
        self.sparse = entries <= SPARSE_MAX_FILL * m * n
        if self.sparse:
            # One CSR matrix for both parts; ``slots`` says where each unobserved entry's
            # value sits in its data array.
            self.matrix = _data.csr_from_positions((m, n), rows, cols, values)
            self.slots = np.flatnonzero(unobserved)
        else:
            self.matrix = np.where(np.isnan(X), 0, X)
        self.nnz = entries if self.sparse else m * n
        self._entries = _data.entries_at((m, n), self.rows, self.cols, dtype)
        self.fill_norm2 = 0.0

    def fill(self, W, H):
        """Put (WH)_ij at every unobserved entry; ‖X̃‖² follows."""
        if not self.hidden:
            return
        values = _data.values_at(self._entries, W, H)
        if self.sparse:
            self.matrix.data[self.slots] = values
        else:
            self.matrix[self.rows, self.cols] = values
        self.fill_norm2 = _sums.vdot64(values, values)

    @property
    def squared_norm(self) -> float:
        return self.observed_norm2 + self.fill_norm2


def solve(X, W, H, *, params, monitor):
    """Fit the observed entries of ``X ≈ WH`` by HALS steps on the filled X̃."""
    if float(params.beta) != 2.0:
        raise ValueError(f"em fits the Frobenius loss (beta=2) only, got {params.beta}")
    pen, settings = params.penalty, params.settings
    data = Filled(X, params.census)
    Wt = np.array(_backends.to_numpy(W).T, order="C", copy=True, dtype=data.dtype)
    H = np.array(_backends.to_numpy(H), order="C", copy=True, dtype=data.dtype)
    shared = {"max_inner": settings.max_inner, "inner_alpha": settings.inner_alpha,
              "inner_delta": settings.inner_delta, "nnz": data.nnz, "sparse": data.sparse}
    state_H, state_W = dict(shared), dict(shared)
    Xf = data.matrix

    def objective(B_H, WtW, H):
        """The masked objective at (W, H), B_H = WᵀX̃ with X̃ filled from that pair."""
        return alternating._objective(data.squared_norm, _sums.vdot64(B_H, H), WtW,
                                      _sums.gram64(H), pen.value(Wt, H))

    data.fill(Wt.T, H)
    WtW = _sums.gram64(Wt)
    B_H = _data.Wt_times_X(Wt.T, Xf)
    loss = objective(B_H, WtW, H)
    monitor.start(loss)
    n_iter, stopped = 0, False
    for n_iter in range(1, params.max_iter + 1):
        if params.update_H:
            H = hals.update(H, WtW.astype(data.dtype, copy=False), B_H, pen.l1_H, pen.l2_H,
                            state_H)
            data.fill(Wt.T, H)
        B_W = _data.H_times_Xt(H, Xf)
        HHt = _sums.gram64(H).astype(data.dtype, copy=False)
        Wt = hals.update(Wt, HHt, B_W, pen.l1_W, pen.l2_W, state_W)
        data.fill(Wt.T, H)
        WtW = _sums.gram64(Wt)
        B_H = _data.Wt_times_X(Wt.T, Xf)
        loss = objective(B_H, WtW, H)
        if monitor(n_iter, Wt.T, H, loss, fresh=True):
            stopped = True
            break
    # The exact divergence of the returned pair: the filled residual (the fill is this
    # pair's), by dense blocks; for a sparse X̃ the trace identity the loop used.
    divergence = loss if data.sparse and not pen.active else (
        0.5 * _data.residual_squared_norm(Xf, Wt.T, H))
    return SolverResult.finish(monitor, Wt.T, H, n_iter, loss, stopped,
                               divergence=divergence)
