"""Objectives: losses and penalties, with their cheap forms.

The Frobenius objective is ``½‖X − WH‖²_F`` (scikit-learn's β = 2 divergence).  It is
evaluated from products a solver already has, by the trace identity

    ‖X − WH‖² = ‖X‖² − 2⟨WᵀX, H⟩ + ⟨WᵀW, HHᵀ⟩,

so neither ``WH`` nor a dense temporary of ``X``'s size is ever formed.  The terms are
accumulated in float64 even for float32 factors: the identity subtracts nearly equal
numbers when the fit is good.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import _array


@dataclass(frozen=True)
class Penalty:
    """Elastic-net penalties on W and H, in scikit-learn's scaling.

    Objective term: ``l1_W‖W‖₁ + ½ l2_W‖W‖²_F + l1_H‖H‖₁ + ½ l2_H‖H‖²_F``.
    """

    l1_W: float = 0.0
    l2_W: float = 0.0
    l1_H: float = 0.0
    l2_H: float = 0.0

    @classmethod
    def from_alphas(cls, alpha_W, alpha_H, l1_ratio, shape):
        """scikit-learn ≥ 1.2: ``alpha_W`` is scaled by n_features, ``alpha_H`` by n_samples."""
        n_samples, n_features = shape
        alpha_H = alpha_W if alpha_H == "same" else alpha_H
        return cls(
            l1_W=float(n_features * alpha_W * l1_ratio),
            l2_W=float(n_features * alpha_W * (1.0 - l1_ratio)),
            l1_H=float(n_samples * alpha_H * l1_ratio),
            l2_H=float(n_samples * alpha_H * (1.0 - l1_ratio)),
        )

    @property
    def active(self) -> bool:
        return any((self.l1_W, self.l2_W, self.l1_H, self.l2_H))

    def value(self, W, H) -> float:
        if not self.active:
            return 0.0
        xp = _array.namespace(W, H)
        total = 0.0
        if self.l1_W:
            total += self.l1_W * float(xp.sum(W))
        if self.l2_W:
            total += 0.5 * self.l2_W * _array.vdot64(W, W)
        if self.l1_H:
            total += self.l1_H * float(xp.sum(H))
        if self.l2_H:
            total += 0.5 * self.l2_H * _array.vdot64(H, H)
        return total

    def swapped(self) -> "Penalty":
        """The same penalty seen from the transposed problem Xᵀ ≈ HᵀWᵀ."""
        return Penalty(self.l1_H, self.l2_H, self.l1_W, self.l2_W)


def frobenius_from_products(normX2, WtX, H, WtW, HHt) -> float:
    """``½‖X − WH‖²`` from ``‖X‖²``, ``WᵀX`` (k x n), ``H``, ``WᵀW`` and ``HHᵀ``.

    Cost O(k n + k²) given the products: the trace identity of the module docstring.
    Clipped at zero, which rounding can cross when the fit is exact.
    """
    value = normX2 - 2.0 * _array.vdot64(WtX, H) + _array.vdot64(WtW, HHt)
    return 0.5 * max(value, 0.0)


def frobenius_from_factors(X, W, H, normX2=None) -> float:
    """``½‖X − WH‖²`` for dense or sparse ``X`` without forming ``WH``."""
    if normX2 is None:
        normX2 = _array.squared_norm(X)
    WtX = _array.Wt_times_X(W, X)
    return frobenius_from_products(normX2, WtX, H, W.T @ W, H @ H.T)


def frobenius_objective(X, W, H, penalty: Penalty | None = None, normX2=None) -> float:
    """Penalised Frobenius objective ``½‖X − WH‖² + penalty(W, H)``."""
    value = frobenius_from_factors(X, W, H, normX2)
    if penalty is not None:
        value += penalty.value(W, H)
    return value
