"""Every check of user input, and every message a user reads about it.

Parameter tables follow scikit-learn's ``_parameter_constraints`` convention, so
``BaseEstimator._validate_params`` raises ``InvalidParameterError`` (a ``ValueError``)
that lists the valid values.  Data checks run before any work and say what is
wrong, where, and what to do.
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions


SOLVER_NAMES = {"auto", "hals", "cd", "mu", "als", "anls", "pgd"}
INIT_NAMES = {"auto", "random", "nndsvd", "nndsvda", "nndsvdar", "custom"}
BETA_NAMES = {"frobenius", "kullback-leibler", "itakura-saito"}

NMF_PARAMETERS: dict = {
    "n_components": [Interval(Integral, 1, None, closed="left"), None, StrOptions({"auto"})],
    "init": [StrOptions(INIT_NAMES), None],
    "solver": [StrOptions(SOLVER_NAMES)],
    "beta_loss": [StrOptions(BETA_NAMES), Real],
    "tol": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
    "alpha_W": [Interval(Real, 0, None, closed="left")],
    "alpha_H": [Interval(Real, 0, None, closed="left"), StrOptions({"same"})],
    "l1_ratio": [Interval(Real, 0, 1, closed="both")],
    "verbose": ["verbose"],
    "shuffle": ["boolean"],
    "n_init": [Interval(Integral, 1, None, closed="left")],
    "callback": [callable, None],
    "orthogonal": [StrOptions({"W", "H"}), None],
    "missing": [StrOptions({"error", "mask"})],
    "device": "no_validation",  # checked by check_not_implemented (CPU only for now)
}

BETA_BY_NAME = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}


def beta_value(beta_loss) -> float:
    return BETA_BY_NAME[beta_loss] if isinstance(beta_loss, str) else float(beta_loss)


def _first_position(mask):
    """(row, column) of the first True in a boolean array, in row-major order."""
    flat = int(np.argmax(mask.ravel()))
    return np.unravel_index(flat, mask.shape)


def check_values(X, *, what="X", allow_nan=False):
    """Raise ValueError for negative, NaN or infinite entries of a validated matrix."""
    if sp.issparse(X):
        values, rows, cols = X.data, _LazyCoordinates(X, "row"), _LazyCoordinates(X, "col")
    else:
        values = np.asarray(X)
        rows = cols = None

    if not allow_nan and values.size:
        # Fast path, two reductions and no mask: min ≥ 0 fails on NaN and −inf, and a
        # finite max rules out +inf (on (d)'s 20,000 x 2,000 float32, 7 ms against 21 ms,
        # `benchmarks/micro.py setup`).
        if values.min() >= 0 and np.isfinite(values.max()):
            return
    bad_nan = np.isnan(values)
    bad_inf = np.isinf(values)
    if (bad_nan.any() and not allow_nan) or bad_inf.any():
        kind, mask = ("infinite", bad_inf) if bad_inf.any() else ("NaN", bad_nan)
        r, c, _ = _locate(mask, rows, cols)
        advice = ("remove or replace them" if kind == "infinite" else
                  "impute them, or pass missing='mask' to fit on the observed entries only")
        raise ValueError(
            f"Input {what} contains {int(mask.sum())} {kind} value(s) (first at row {r}, "
            f"column {c}); NMF needs finite values — {advice}."
        )
    with np.errstate(invalid="ignore"):
        negative = values < 0
    if negative.any():
        r, c, at = _locate(negative, rows, cols)
        first = values[r, c] if at is None else values[at]
        raise ValueError(
            f"Negative values in data passed to NMF ({what}): {int(negative.sum())} negative "
            f"entries (first at row {r}, column {c}, value {first:.6g}); NMF needs {what} >= 0 "
            "— shift or clip the data, or use missing='mask' for unknown entries."
        )


class _LazyCoordinates:
    """Row or column index of each stored entry of a sparse X, built only when an error
    needs a position (a COO copy of a large X costs more memory than the fit itself)."""

    def __init__(self, X, which):
        self.X, self.which = X, which

    def __getitem__(self, index):
        # tocoo() lists the entries in the order of X.data, so indices into data apply.
        coo = self.X.tocoo()
        return (coo.row if self.which == "row" else coo.col)[index]


def _locate(mask, rows, cols):
    """(row, column, flat index into the values) of the first flagged entry."""
    if rows is None:
        r, c = (int(i) for i in _first_position(mask))
        return r, c, None
    # Sparse: the smallest (row, column) among the flagged stored entries.
    flagged = np.flatnonzero(mask)
    r, c = rows[flagged], cols[flagged]
    first = np.lexsort((c, r))[0]
    return int(r[first]), int(c[first]), int(flagged[first])


def as_matrix(estimator, X, *, reset, allow_nan=False):
    """Validate ``X`` as a 2-D float matrix (float64, or float32 kept) and check its values.

    Uses scikit-learn's ``validate_data`` for the shape, dtype and feature-name rules
    (1-D input, empty input, strings, a wrong number of columns at transform all raise
    its messages), then :func:`check_values`.
    """
    from sklearn.utils.validation import validate_data

    if _is_complex(X):
        raise ValueError("Complex data not supported: NMF needs real, non-negative X; "
                         "pass np.abs(X) or the real part.")
    try:
        X = validate_data(
            estimator, X, reset=reset,
            accept_sparse=("csr", "csc"),
            dtype=[np.float64, np.float32],
            ensure_all_finite=False,
        )
    except (TypeError, ValueError) as exc:
        text = str(exc)
        if "convert" in text or "argument must be" in text:
            # Keep scikit-learn's wording (its checks match on it) and add what to do.
            raise type(exc)(f"{text}. NMF needs numeric X: encode categorical columns "
                            "(e.g. with OneHotEncoder) or drop text columns.") from exc
        raise
    if sp.issparse(X):
        X.sum_duplicates()
    check_values(X, allow_nan=allow_nan)
    return X


def _is_complex(X):
    dtype = getattr(X, "dtype", None)
    if dtype is None or not hasattr(dtype, "kind"):
        try:
            dtype = np.asarray(X).dtype
        except Exception:  # let validate_data produce its own message
            return False
    return getattr(dtype, "kind", "") == "c"


def check_n_components(n_components, shape, init):
    """Resolve ``n_components`` (None/'auto' → n_features) and check it against X."""
    m, n = shape
    if n_components in (None, "auto"):
        return n
    if init in ("nndsvd", "nndsvda", "nndsvdar") and n_components > min(m, n):
        raise ValueError(
            f"init='{init}' can only be used when n_components <= min(n_samples, n_features) "
            f"= {min(m, n)}; got n_components={n_components} for X of shape {shape}. "
            "Use init='random' or a smaller n_components."
        )
    return n_components


def check_custom_factors(X, W, H, n_components, *, update_H=True):
    """Check user-supplied initial W and H for init='custom'; returns (W, H, k)."""
    m, n = X.shape
    if H is None or (update_H and W is None):
        raise ValueError("init='custom' needs both W and H: call fit(X, W=W0, H=H0).")
    H = np.asarray(H)
    k = H.shape[0] if n_components in (None, "auto") else n_components
    expected = {"W": (m, k), "H": (k, n)}
    out = {}
    for name, M in (("W", W), ("H", H)):
        if M is None:
            continue
        M = np.asarray(M)
        if M.shape != expected[name]:
            raise ValueError(
                f"Array with wrong shape passed to NMF (custom init): {name} has shape "
                f"{M.shape}, expected {expected[name]} for X of shape {X.shape} and "
                f"n_components={k}."
            )
        if not np.all(np.isfinite(M)):
            raise ValueError(f"Custom init {name} contains NaN or infinity: pass finite factors.")
        if np.any(M < 0):
            raise ValueError(f"Negative values in data passed to NMF (custom init {name}): "
                             "initial factors must be >= 0.")
        if np.max(M, initial=0) == 0:
            raise ValueError(f"Array passed to NMF (custom init {name}) is full of zeros: "
                             "an all-zero factor cannot be updated; pass a non-zero start.")
        # No private copy (one only where the dtype or, for H, the layout differs): no
        # solver writes into its start (tests/test_solvers.py checks every one), and a
        # copy would stay alive for the whole fit — one factor-size of peak memory on a
        # large sparse X.  The driver makes Wᵀ row-major itself, a copy it drops after
        # the first iteration.
        out[name] = (np.asarray(M, dtype=X.dtype) if name == "W"
                     else np.ascontiguousarray(M, dtype=X.dtype))
    return out.get("W"), out["H"], k


def check_not_implemented(estimator, beta):
    """Parameters whose features belong to later work raise instead of being ignored."""
    if str(estimator.device) != "cpu":
        raise NotImplementedError(f"device={estimator.device!r}: only device='cpu' is "
                                  "implemented in this version of nmfkit.")


#: Solvers that minimise each kind of objective (checked before any work).
_MASK_SOLVERS = ("auto", "mu", "hals", "cd")


def check_variant(estimator, beta):
    """Raise ValueError when the solver cannot fit the chosen loss / mask / orthogonality.

    - β ≠ 2: 'mu' (any β), 'cd' (β = 1: coordinate descent with Newton steps), 'auto';
    - ``missing='mask'``: 'mu' (any β), 'hals'/'cd' (β = 2, or β = 1 for 'cd'), 'auto';
    - ``orthogonal``: 'auto' (ONMF-EM), Frobenius loss, no mask, no penalties.
    """
    solver, loss = estimator.solver, estimator.beta_loss
    masked = estimator.missing == "mask"
    if estimator.orthogonal is not None:
        what = f"orthogonal={estimator.orthogonal!r}"
        if solver != "auto":
            raise ValueError(
                f"{what} is fitted by its own algorithm (ONMF-EM, Pompili et al. 2014), which "
                f"keeps the factor exactly orthogonal; solver={solver!r} cannot keep the "
                "constraint. Use solver='auto'.")
        if beta != 2.0:
            raise ValueError(f"{what} is implemented for the Frobenius loss only; got "
                             f"beta_loss={loss!r}. Use beta_loss='frobenius'.")
        if masked:
            raise ValueError(f"{what} cannot be combined with missing='mask'; impute the "
                             "missing entries first or use orthogonal=None.")
        alpha_H = estimator.alpha_W if estimator.alpha_H == "same" else estimator.alpha_H
        if estimator.alpha_W or alpha_H:
            raise ValueError(f"{what} takes no alpha_W/alpha_H penalty (the constraint already "
                             "makes the factor sparse: one non-zero per column); set them to 0.")
        return
    if beta != 2.0:
        allowed = ("auto", "mu", "cd") if beta == 1.0 else ("auto", "mu")
        if solver not in allowed:
            names = "solver='mu', 'cd' or 'auto'" if beta == 1.0 else "solver='mu' (or 'auto')"
            raise ValueError(
                f"solver={solver!r} minimises the Frobenius loss only; "
                f"beta_loss={loss!r} needs {names}.")
    if masked and solver not in _MASK_SOLVERS:
        raise ValueError(
            f"missing='mask' needs a solver that fits observed entries only: solver='mu', "
            f"'hals'/'cd' or 'auto'; got solver={solver!r}.")
    if masked and beta not in (1.0, 2.0) and solver in ("hals", "cd"):
        raise ValueError(f"missing='mask' with beta_loss={loss!r} needs solver='mu' (or "
                         f"'auto'); solver={solver!r} handles beta_loss 'frobenius' and "
                         "'kullback-leibler' only.")


def check_data_for_loss(X, beta, *, masked, what="X", axes=("row", "column")):
    """Data checks that depend on the loss and the mask (after :func:`as_matrix`).

    - β ≤ 0 (Itakura–Saito and below) is undefined where X = 0: ValueError with the
      count and first position, suggesting a small offset;
    - with ``missing='mask'``, a row or column with no observed entry has no data to fit.
    """
    if masked:
        if sp.issparse(X):
            finite = X.tocsr().copy()
            finite.data = (~np.isnan(finite.data)).astype(np.int8)
            finite.eliminate_zeros()
            row_counts = np.diff(finite.indptr)
            col_counts = np.bincount(finite.indices, minlength=X.shape[1])
        else:
            observed = ~np.isnan(np.asarray(X))
            row_counts, col_counts = observed.sum(axis=1), observed.sum(axis=0)
        for axis_name, counts in (("row", row_counts), ("column", col_counts)):
            if axis_name not in axes:
                continue
            empty = np.flatnonzero(counts == 0)
            if empty.size:
                absent = ("NaN" if not sp.issparse(X) else "absent (unstored)")
                raise ValueError(
                    f"With missing='mask', {what} has {empty.size} {axis_name}(s) with no "
                    f"observed entry (first: {axis_name} {int(empty[0])}; all its entries are "
                    f"{absent}): nothing constrains its factor. Drop those {axis_name}s, or "
                    "give them at least one observed value.")
    if beta > 0:
        return
    name = "itakura-saito" if beta == 0 else f"beta_loss={beta}"
    if sp.issparse(X):
        C = X.tocsr()
        stored_zero = C.data == 0
        if masked:
            n_zero = int(stored_zero.sum())
            if n_zero:
                rows = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))[stored_zero]
                first = (int(rows[0]), int(C.indices[stored_zero][0]))
        else:
            n_zero = C.shape[0] * C.shape[1] - int((C.data != 0).sum())
            if n_zero:
                first = _first_sparse_zero(C)
    else:
        A = np.asarray(X)
        with np.errstate(invalid="ignore"):
            zero = A == 0
        n_zero = int(zero.sum())
        if n_zero:
            first = tuple(int(i) for i in _first_position(zero))
    if n_zero:
        raise ValueError(
            f"{name} divergence is undefined where {what} = 0, and {what} has {n_zero} zero "
            f"entries (first at row {first[0]}, column {first[1]}). Add a small offset "
            f"(e.g. X + 1e-6 * X.max()), use beta_loss > 0 such as 'kullback-leibler'"
            + (", or missing='mask' with the zeros unstored." if sp.issparse(X) else "."))


def _first_sparse_zero(C):
    """(row, column) of the first zero (implicit or stored) of a CSR matrix."""
    n = C.shape[1]
    for i in range(C.shape[0]):
        start, stop = C.indptr[i], C.indptr[i + 1]
        nonzero = np.zeros(n, dtype=bool)
        nonzero[C.indices[start:stop][C.data[start:stop] != 0]] = True
        if not nonzero.all():
            return i, int(np.argmin(nonzero))
    return 0, 0
