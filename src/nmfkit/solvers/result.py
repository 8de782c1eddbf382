"""What every solver takes and returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import _sums
from ..objectives import Penalty
from .settings import Settings


@dataclass(frozen=True)
class SolverParams:
    """Numerical settings of one solve.

    Attributes
    ----------
    max_iter : int
        Outer iterations (one update of H and one of W each).
    penalty : Penalty
        L1/L2 penalties on W and H (scikit-learn's scaling).
    beta : float
        β of the β-divergence (2 = Frobenius).
    update_H : bool
        False keeps H fixed and only solves for W (``transform``).
    shuffle : bool
        Visit coordinates in a random order (HALS/CD), as scikit-learn's ``shuffle``.
    random_state : int, RandomState or None
        Seed for ``shuffle``.
    missing : bool
        Fit observed entries only: NaN entries of dense X and absent entries of sparse X
        are unobserved (``missing='mask'``).
    orthogonal : {None, 'W', 'H'}
        Constrain WᵀW = I or HHᵀ = I (solvers that support it).
    squared_norm_X : float or None
        ‖X‖²_F, when the caller has computed it already (the Frobenius objective's
        trace identity needs it); None: the solver computes it.
    census : nmfkit._census.Census or None
        A masked dense X's census, when the estimator took one: where its NaN and (for a
        mostly-zero X) its non-zeros are, so that a solver's layout of X need not scan
        it again.  None: the solver reads X itself.
    settings : Settings
        Tuning settings (:class:`nmfkit.solvers.Settings`).  By the time a solver runs,
        :func:`nmfkit.solvers.run` has replaced ``extrapolate`` and ``mixed_precision``
        left at None by the solver's defaults, so solvers read plain booleans.
    """

    max_iter: int = 200
    penalty: Penalty = field(default_factory=Penalty)
    beta: float = 2.0
    update_H: bool = True
    shuffle: bool = False
    random_state: Any = None
    missing: bool = False
    orthogonal: str | None = None
    squared_norm_X: float | None = None
    census: Any = None
    settings: Settings = field(default_factory=Settings)

    def squared_norm(self, X) -> float:
        """‖X‖²_F: the caller's value when it gave one, else computed here."""
        if self.squared_norm_X is not None:
            return float(self.squared_norm_X)
        return _sums.squared_norm(X)


@dataclass
class SolverResult:
    """Factors and how the solve ended (scipy.optimize-style result).

    Attributes
    ----------
    W, H : arrays
        The factors, in the input's array type and dtype.
    n_iter : int
        Iterations run.
    loss : float
        The penalised objective of (W, H).
    converged : bool
        The stopping rule was met (not ``max_iter``, a callback or an interruption).
    message : str
        Why the solve ended.
    divergence : float or None
        The exact β-divergence D_β(X | WH) of the returned pair, without penalties
        (½‖X − WH‖² for β = 2).  A solver sets it when it has it exactly anyway; else
        None, and :func:`nmfkit.solvers.run` measures it before returning, so the
        estimator always gets it.
    S : array or None
        The middle factor of a tri-factorization X ≈ W S H (``problem='tri'`` solvers);
        None for the others.
    """

    W: Any
    H: Any
    n_iter: int
    loss: float
    converged: bool
    message: str = ""
    divergence: float | None = None
    S: Any = None

    @classmethod
    def finish(cls, monitor, W, H, n_iter, loss, stopped, *, divergence=None, S=None):
        """Close the monitor and package the outcome of a solver's loop.

        ``stopped``: the monitor asked to stop (else the iteration budget ran out);
        ``divergence``: the pair's exact divergence, when the solver has it.
        """
        monitor.close()
        message = monitor.stop_reason if stopped else "max_iter reached"
        return cls(W=W, H=H, n_iter=n_iter, loss=loss, converged=monitor.converged,
                   message=message, divergence=divergence, S=S)
