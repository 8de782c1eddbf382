"""What every solver takes and returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import _array
from ..objectives import Penalty


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
    extrapolate : bool or None
        Extrapolate between iterations with restarts (Ang & Gillis 2019); None lets
        the solver choose its default.
    max_inner : int or None
        Cap on inner sweeps per update for solvers that repeat cheap sweeps with the
        same products (Gillis & Glineur 2012); None lets the solver choose.
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
    """

    max_iter: int = 200
    penalty: Penalty = field(default_factory=Penalty)
    beta: float = 2.0
    update_H: bool = True
    extrapolate: bool | None = None
    max_inner: int | None = None
    shuffle: bool = False
    random_state: Any = None
    missing: bool = False
    orthogonal: str | None = None
    squared_norm_X: float | None = None

    def squared_norm(self, X) -> float:
        """‖X‖²_F: the caller's value when it gave one, else computed here."""
        if self.squared_norm_X is not None:
            return float(self.squared_norm_X)
        return _array.squared_norm(X)


@dataclass
class SolverResult:
    """Factors and how the solve ended (scipy.optimize-style result)."""

    W: Any
    H: Any
    n_iter: int
    loss: float
    converged: bool
    message: str = ""
    #: The loss came from float32 products (a fit that ended in :mod:`.precision`'s
    #: float32 phase): right to the float32 products' rounding, not to float64's.
    float32_loss: bool = False

    @classmethod
    def finish(cls, monitor, W, H, n_iter, loss, stopped):
        """Close the monitor and package the outcome of a solver's loop.

        ``stopped``: the monitor asked to stop (else the iteration budget ran out).
        """
        monitor.close()
        message = monitor.stop_reason if stopped else "max_iter reached"
        return cls(W=W, H=H, n_iter=n_iter, loss=loss, converged=monitor.converged,
                   message=message)
