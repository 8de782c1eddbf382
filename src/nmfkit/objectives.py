"""Objectives: losses and penalties, with their cheap forms.

The Frobenius objective is ``½‖X − WH‖²_F`` (scikit-learn's β = 2 divergence).  It is
evaluated from products a solver already has, by the trace identity

    ‖X − WH‖² = ‖X‖² − 2⟨WᵀX, H⟩ + ⟨WᵀW, HHᵀ⟩,

so neither ``WH`` nor a dense temporary of ``X``'s size is ever formed.  The terms are
accumulated in float64 even for float32 factors: the identity subtracts nearly equal
numbers when the fit is good.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _backends, _data, _sums
from ._validation import beta_value


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
        xp = _backends.namespace(W, H)
        sum_W = float(xp.sum(W)) if self.l1_W else 0.0
        sq_W = _sums.vdot64(W, W) if self.l2_W else 0.0
        return self.value_from(sum_W, sq_W, H)

    def value_from(self, sum_W, sq_W, H) -> float:
        """The penalty from ΣW and ‖W‖² (for a W that is never formed) and H."""
        if not self.active:
            return 0.0
        total = self.l1_W * sum_W + 0.5 * self.l2_W * sq_W
        xp = _backends.namespace(H)
        if self.l1_H:
            total += self.l1_H * float(xp.sum(H))
        if self.l2_H:
            total += 0.5 * self.l2_H * _sums.vdot64(H, H)
        return total


def frobenius_from_products(normX2, WtX, H, WtW, HHt) -> float:
    """``½‖X − WH‖²`` from ``‖X‖²``, ``WᵀX`` (k x n), ``H``, ``WᵀW`` and ``HHᵀ``.

    Cost O(k n + k²) given the products: the trace identity of the module docstring.
    Clipped at zero, which rounding can cross when the fit is exact.
    """
    value = normX2 - 2.0 * _sums.vdot64(WtX, H) + _sums.vdot64(WtW, HHt)
    return 0.5 * max(value, 0.0)


#: The rounding error of ``½‖X − WH‖²`` from the trace identity, in units of
#: ε·½‖X‖²/√(k·min(m, n)) (ε: the machine epsilon of the products with X).
ROUNDING_FACTOR = 10.0


def frobenius_rounding(normX2, eps, k, shape, factor=ROUNDING_FACTOR) -> float:
    """The rounding error of the Frobenius objective evaluated by the trace identity:
    ``factor · ε · ½‖X‖² / √(k·min(m, n))``.

    Each term of the identity is about ½‖X‖² when the fit is good, and is rounded at ε
    of the products' dtype; the errors of the k·min(m, n) products behind it are
    independent and partly cancel.  Two objectives closer than this cannot be told
    apart: the solvers accept an extrapolated step only when it gains more (closer, the
    choice would be made by the rounding, which differs between dense and sparse
    products of the same X), and the float32 phase of a float64 fit ends when its
    progress falls below it (:mod:`nmfkit.solvers.precision`).
    """
    m, n = shape
    return factor * float(eps) * 0.5 * float(normX2) / math.sqrt(max(1, k * min(m, n)))


def frobenius_from_factors(X, W, H, normX2=None) -> float:
    """``½‖X − WH‖²`` for dense or sparse ``X`` without forming ``WH``."""
    if normX2 is None:
        normX2 = _sums.squared_norm(X)
    WtX = _data.Wt_times_X(W, X)
    return frobenius_from_products(normX2, WtX, H, W.T @ W, H @ H.T)


# --------------------------------------------------------------------------- β-divergences
#: Floor of WH where a divergence divides by it or takes its log (scikit-learn's EPSILON).
EPSILON = float(np.finfo(np.float32).eps)


def _divergence_at(x, y, beta, *, zero_term_apart):
    """Σ d_β(x|y) over the given entries, in float64.

    d_β(x|y) = (x^β + (β−1)y^β − βxy^(β−1)) / (β(β−1)), with its limits
    x log(x/y) − x + y (β = 1, generalised KL) and x/y − log(x/y) − 1 (β = 0, IS)
    (Févotte & Idier 2011, eq. 2).  With ``zero_term_apart`` the part d_β(0|y) is left
    out (the caller adds Σ d_β(0|y) over all entries, which needs no entry of X).

    For β ≤ 0, d_β(0|y) is infinite; an entry x = 0 counts as scikit-learn counts it
    (``_beta_divergence``: 0^β = 0, and for IS the log term left out), y^β/β for β < 0
    and −1 for β = 0, so the function returns scikit-learn's number for such X.  No fit
    sees it: the estimators refuse β ≤ 0 on X with zeros.
    """
    import numpy as _np

    x = _np.asarray(x, dtype=_np.float64)
    y = _np.maximum(_np.asarray(y, dtype=_np.float64), EPSILON)
    if beta == 1:
        with _np.errstate(divide="ignore", invalid="ignore"):
            xlog = _np.where(x > 0, x * _np.log(_np.where(x > 0, x, 1) / y), 0.0)
        total = float(_np.sum(xlog) - _np.sum(x))
        return total if zero_term_apart else total + float(_np.sum(y))
    zeros = beta <= 0 and x.size and not x.min() > 0
    if beta == 0:
        if zeros:
            positive = x > 0
            ratio = x[positive] / y[positive]
            return float(_np.sum(ratio - _np.log(ratio) - 1.0)) - float(x.size - ratio.size)
        ratio = x / y
        return float(_np.sum(ratio - _np.log(ratio) - 1.0))
    x_beta = _np.where(x > 0, _np.where(x > 0, x, 1) ** beta, 0.0) if zeros else x ** beta
    total = float(_np.sum(x_beta) - beta * _np.dot(x.ravel(), (y ** (beta - 1)).ravel()))
    if not zero_term_apart:
        total += (beta - 1) * float(_np.sum(y ** beta))
    return total / (beta * (beta - 1))


class BetaData:
    """X seen by a β-divergence fit: the model WH where it is needed, the divergence and
    the two halves of its gradient, for dense, sparse and masked X.

    Three layouts, chosen once:

    - dense X (``missing=False``): WH is formed (X already has that size);
    - sparse X: WH only at the stored entries; the zeros of X enter through
      Σ d_β(0|WH), which for KL is ``sum(W, 0)·sum(H, 1)`` (no entry needed) and for other
      β is accumulated over row blocks of WH (bounded memory, O(mnk) time);
    - ``missing=True`` (dense with NaN, or sparse): only observed entries count, so WH is
      needed at those entries only: O(nnz·k) per evaluation, no m x n array.

    Parameters
    ----------
    X : array or sparse matrix (m, n)
    beta : float
    missing : bool
        NaN entries of dense X, and absent entries of sparse X, are unobserved.
    stored : bool
        Use the stored-entry layout for dense X too (its non-zeros; for solvers that
        maintain WH at those entries, such as coordinate descent for KL).
    """

    def __init__(self, X, beta, *, missing=False, stored=False):
        self.beta = float(beta)
        self.shape = X.shape
        self.missing = bool(missing)
        self.dense = not missing and not stored and not _backends.is_sparse(X)
        if self.dense:
            self.X = X
            self.S = None
        else:
            self.X = None
            self.S = _data.stored_entries(X, observed="finite" if missing else "stored")
        # Zeros of X are entries too unless masked; for β ≤ 0 there are none (checked upstream).
        self.zero_term = not missing and self.beta > 0

    # -- the model --------------------------------------------------------------------
    def model(self, W, H, out=None):
        """WH where the fit needs it: dense m x n, or its values at the stored entries.

        ``out``: an array an earlier call returned, written into when it fits (same
        layout, shape and dtype) instead of a new one: a solver that forms WH several
        times per iteration then keeps one m x n array for the whole fit, not a fresh
        one (paid for in page faults) each time.  Dense WH of NumPy factors is laid out
        as X is, so that passes over X and WH together read both in memory order.
        """
        if not self.dense:
            return _data.values_at(self.S, W, H, out=_fits(out, self.S.nnz, W, H))
        if not (_backends.all_numpy(W, H) and isinstance(self.X, np.ndarray)):
            return W @ H
        out = _fits(out, self.shape, W, H)
        if out is None:
            order = "F" if self.X.flags.f_contiguous and not self.X.flags.c_contiguous else "C"
            out = np.empty(self.shape, np.result_type(W, H), order=order)
        return np.matmul(W, H, out=out)

    def value(self, Y, W, H) -> float:
        """D_β(X | WH) from ``Y = model(W, H)`` (float64)."""
        beta = self.beta
        if beta == 1:
            return self._kl(Y, W, H)
        if self.dense:
            x, y = _backends.to_numpy(self.X), _backends.to_numpy(Y)
            if not self.zero_term:
                return _divergence_at(x, y, beta, zero_term_apart=False)
            return _divergence_at(x, y, beta, zero_term_apart=True) + self._zero_sum(W, H, Y)
        part = _divergence_at(self.S.values, Y, beta, zero_term_apart=self.zero_term)
        if self.zero_term:
            return part + self._zero_sum(W, H)
        if not self.missing and beta <= 0:
            part += self._unstored_sum(W, H, Y)
        return part

    def _unstored_sum(self, W, H, Y) -> float:
        """Σ d_β(0|WH) over the entries of sparse X that are not stored, for β ≤ 0, as
        :func:`_divergence_at` counts an entry x = 0 (scikit-learn's convention)."""
        import numpy as _np

        unstored = self.shape[0] * self.shape[1] - len(self.S.values)
        if not unstored:
            return 0.0
        if self.beta == 0:
            return -float(unstored)
        total = 0.0
        Wn, Hn = _backends.to_numpy(W), _backends.to_numpy(H)
        for a, b in _data.row_blocks(*self.shape):
            block = _np.maximum(_np.asarray(Wn[a:b] @ Hn, dtype=_np.float64), EPSILON)
            total += float(_np.sum(block ** self.beta))
        stored = _np.maximum(_np.asarray(_backends.to_numpy(Y), dtype=_np.float64), EPSILON)
        return (total - float(_np.sum(stored ** self.beta))) / self.beta

    def _kl(self, Y, W, H) -> float:
        """KL = Σx log x − Σx log y − Σx + Σy: the x-only sums are computed once per fit,
        so an evaluation is one compiled pass over the entries (:func:`_sums.xlogy64`)."""
        import numpy as _np

        x = _backends.to_numpy(self.X if self.dense else self.S.values)
        xlogx, xsum = self._kl_x_sums()
        y = _backends.to_numpy(Y)
        if x.dtype in _PASS_DTYPES and y.dtype in _PASS_DTYPES and x.shape == y.shape:
            xlogy = _sums.xlogy64(x, y, EPSILON)
        else:
            logy = _np.log(_np.maximum(_np.asarray(y, _np.float64), EPSILON))
            xlogy = float(_np.vdot(_np.asarray(x, _np.float64), logy))
        total_y = self._zero_sum(W, H) if self.zero_term else float(
            _np.sum(y, dtype=_np.float64))
        return xlogx - xlogy - xsum + total_y

    def cache_x_sums(self, xlogx, xsum):
        """Take (Σ x log x, Σ x) from a caller that summed them faster (in parallel)."""
        self._x_sums = (float(xlogx), float(xsum))

    def _kl_x_sums(self):
        """(Σ x log x, Σ x) over the entries, computed once per fit."""
        import numpy as _np

        if not hasattr(self, "_x_sums"):
            x = _backends.to_numpy(self.X if self.dense else self.S.values)
            xd = _np.asarray(x, dtype=_np.float64)
            positive = xd[xd > 0]
            self._x_sums = (float(_np.dot(positive, _np.log(positive))), float(xd.sum()))
        return self._x_sums

    def kl_term_size(self) -> float:
        """|Σ x log x| + Σ x: the size of the KL objective's largest terms, which the
        rounding of its sums is relative to (the objective itself may be far smaller)."""
        xlogx, xsum = self._kl_x_sums()
        return abs(xlogx) + xsum

    def kl_from_xlogy(self, xlogy, W, H, *, y_sum=None) -> float:
        """KL divergence from ``xlogy`` = Σ x log(WH), summed by the caller — e.g. row by
        row while a row of WH is at hand, so that WH is never formed whole.  The other
        terms are the cached x-only sums and Σ WH: sum(W, 0)·sum(H, 1) over all entries,
        or ``y_sum``, the caller's sum over the observed entries of a masked fit."""
        xlogx, xsum = self._kl_x_sums()
        total_y = self._zero_sum(W, H) if y_sum is None else float(y_sum)
        return xlogx - float(xlogy) - xsum + total_y

    def _zero_sum(self, W, H, Y=None) -> float:
        """Σ over all entries of d_β(0|WH) = Σ (WH)^β / β (β > 0)."""
        import numpy as _np

        if self.beta == 1:
            xp = _backends.namespace(W, H)
            return float(_np.dot(_backends.to_numpy(xp.sum(W, axis=0)).astype(_np.float64),
                                 _backends.to_numpy(xp.sum(H, axis=1)).astype(_np.float64)))
        if Y is not None:
            return float(_np.sum(_np.asarray(_backends.to_numpy(Y), dtype=_np.float64) ** self.beta)) / self.beta
        total = 0.0
        Wn, Hn = _backends.to_numpy(W), _backends.to_numpy(H)
        for a, b in _data.row_blocks(*self.shape):
            total += float(_np.sum(_np.maximum(Wn[a:b] @ Hn, 0).astype(_np.float64) ** self.beta))
        return total / self.beta

    def _scratch(self, Y, x):
        """A NumPy buffer of Y's shape for a temporary that is used at once and dropped
        (the weights X/WH), the same one for the whole fit, of x's and Y's result type;
        None where either is not a NumPy array of a dtype the compiled passes take.  A
        fresh m x n array per use is paid for in page faults each time the allocator has
        handed its memory back to the system."""
        if not (isinstance(Y, np.ndarray) and isinstance(x, np.ndarray)):
            return None
        dtype = np.result_type(x, Y)
        if dtype not in _PASS_DTYPES:
            return None
        buffer = getattr(self, "_buffer", None)
        if buffer is None or buffer.shape != Y.shape or buffer.dtype != dtype:
            order = "F" if x.flags.f_contiguous and not x.flags.c_contiguous else "C"
            buffer = self._buffer = np.empty(Y.shape, dtype=dtype, order=order)
        return buffer

    # -- gradient halves (Févotte & Idier 2011, eq. 11): ∇ = den − num ------------------
    def _weights(self, Y, dtype, overwrite=False):
        """(X ∘ Y^(β−2), Y^(β−1)) at the entries the layout holds (floored Y); with
        ``overwrite``, KL's X/Y may be written into Y itself."""
        xp = _backends.namespace(Y)
        beta = self.beta
        x = self.X if self.dense else self.S.values
        if beta == 1:
            buffer = Y if overwrite and _holds(Y, x) else self._scratch(Y, x)
            if buffer is not None:
                return _data.divide_floored(x, Y, EPSILON, buffer), None
            return x / xp.maximum(Y, EPSILON), None
        Yf = xp.maximum(Y, EPSILON)
        if beta == 2:
            return x, Y
        if beta == 0:
            # Itakura–Saito: one division and products instead of the general power
            # (a logarithm and an exponential per entry); the values agree to rounding.
            inverse = 1 / Yf
            return x * (inverse * inverse), inverse
        return x * Yf ** (beta - 2), Yf ** (beta - 1)

    def terms_H(self, W, H, Y, *, overwrite=False):
        """``(Wᵀ(X∘Y^(β−2)), Wᵀ Y^(β−1))``, both k x n: the MU ratio for H.

        ``overwrite``: Y (from :meth:`model`) is not needed afterwards and may be
        written into, so that no m x n scratch array is needed beside it.
        """
        xp = _backends.namespace(W)
        P, Q = self._weights(Y, W.dtype, overwrite)
        if self.dense:
            num = _data.Wt_times_X(W, P)
            den = xp.sum(W, axis=0)[:, None] * xp.ones((1, self.shape[1]), dtype=W.dtype) \
                if Q is None else _data.Wt_times_X(W, Q)
            return num, den
        num = _backends.contiguous(_data.pattern_times(self.S, P, W, transposed=True).T)
        if not self.zero_term:  # masked: only observed entries
            ones = _np_ones_like(self.S.values) if Q is None else Q
            den = _backends.contiguous(_data.pattern_times(self.S, ones, W, transposed=True).T)
            return xp.asarray(num), xp.asarray(den)
        if self.beta == 1:
            den = xp.sum(W, axis=0)[:, None] * xp.ones((1, self.shape[1]), dtype=W.dtype)
            return xp.asarray(num), den
        return xp.asarray(num), self._dense_blocks_H(W, H, xp)

    def terms_W(self, W, H, Y, *, overwrite=False):
        """``((X∘Y^(β−2))Hᵀ, Y^(β−1)Hᵀ)``, both m x k: the MU ratio for W
        (``overwrite`` as in :meth:`terms_H`)."""
        xp = _backends.namespace(H)
        P, Q = self._weights(Y, H.dtype, overwrite)
        if self.dense:
            num = _data.X_times_Ht(P, H)
            den = xp.ones((self.shape[0], 1), dtype=H.dtype) * xp.sum(H, axis=1)[None, :] \
                if Q is None else _data.X_times_Ht(Q, H)
            return num, den
        num = _data.pattern_times(self.S, P, H.T)
        if not self.zero_term:
            ones = _np_ones_like(self.S.values) if Q is None else Q
            return xp.asarray(num), xp.asarray(_data.pattern_times(self.S, ones, H.T))
        if self.beta == 1:
            den = xp.ones((self.shape[0], 1), dtype=H.dtype) * xp.sum(H, axis=1)[None, :]
            return xp.asarray(num), den
        return xp.asarray(num), self._dense_blocks_W(W, H, xp)

    def _dense_blocks_H(self, W, H, xp):
        """Σ_blocks W_bᵀ (W_b H)^(β−1): the zeros of sparse X, one row block at a time."""
        den = None
        for a, b in _data.row_blocks(*self.shape):
            Q = xp.maximum(W[a:b] @ H, EPSILON) ** (self.beta - 1)
            part = W[a:b].T @ Q
            den = part if den is None else den + part
        return den

    def _dense_blocks_W(self, W, H, xp):
        parts = [(xp.maximum(W[a:b] @ H, EPSILON) ** (self.beta - 1)) @ H.T
                 for a, b in _data.row_blocks(*self.shape)]
        return xp.concat(parts, axis=0)


#: dtypes of the compiled passes over X and WH (others take the NumPy form).
_PASS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _holds(Y, x):
    """True when X/Y can be written into Y: a NumPy array of x's layout and of the
    result type of x and Y."""
    return (type(Y) is np.ndarray and type(x) is np.ndarray and Y.shape == x.shape
            and Y.dtype == np.result_type(x, Y) and Y.dtype in _PASS_DTYPES
            and (Y.flags.c_contiguous or Y.flags.f_contiguous))


def _fits(out, shape, W, H):
    """``out`` when WH of (W, H) can be written into it (a NumPy array of that shape
    and of W and H's result type), else None."""
    if (type(out) is np.ndarray and out.shape == (shape if isinstance(shape, tuple) else (shape,))
            and _backends.all_numpy(W, H) and out.dtype == np.result_type(W, H)):
        return out
    return None


def _np_ones_like(v):
    import numpy as _np

    return _np.ones_like(v)


#: A dense masked X with at least this fraction of its entries observed has its
#: Frobenius divergence measured from dense blocks of WH (BLAS), not at its observed
#: entries one by one.
DENSE_OBSERVED_MIN = 0.2


def _mostly_observed(X) -> bool:
    return np.count_nonzero(np.isnan(X)) <= (1 - DENSE_OBSERVED_MIN) * X.size


def beta_divergence(X, W, H, beta, *, missing=False) -> float:
    """β-divergence D_β(X | WH) summed over the (observed) entries of X.

    scikit-learn's definition (``sklearn.decomposition._nmf._beta_divergence``): β = 2
    gives ½‖X − WH‖²_F, β = 1 the generalised Kullback–Leibler divergence, β = 0
    Itakura–Saito; WH is floored at float32's machine epsilon where divided by.  Sparse X
    never has WH formed for β ∈ {1, 2}; with ``missing=True`` NaN (dense) or absent
    (sparse) entries are left out.  For β ≤ 0 the divergence is infinite where X = 0;
    such entries count as in scikit-learn (0^β = 0, and −1 each for Itakura–Saito),
    dense or sparse alike.

    Parameters
    ----------
    X : array or sparse matrix (m, n)
    W, H : arrays (m, k), (k, n)
    beta : float or {'frobenius', 'kullback-leibler', 'itakura-saito'}
    missing : bool, default=False

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> W, H = np.ones((2, 1)), np.array([[2.0, 3.0]])
    >>> round(beta_divergence(X, W, H, 2), 6)
    2.0
    >>> round(beta_divergence(X, W, H, "kullback-leibler"), 4)
    0.863
    """
    beta = beta_value(beta)
    if beta == 2 and not missing:
        return 0.5 * _data.residual_squared_norm(X, W, H)
    if beta == 2 and isinstance(X, np.ndarray) and _mostly_observed(X):
        return 0.5 * _data.observed_residual_squared_norm(X, _backends.to_numpy(W),
                                                          _backends.to_numpy(H))
    data = BetaData(X, beta, missing=missing)
    return data.value(data.model(W, H), W, H)
