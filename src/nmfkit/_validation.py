"""Every check of user input, and every message a user reads about it.

Each estimator declares its parameters once, with their valid values, in a table
(``nmfkit.estimators.nmf.NMF_PARAMETERS``), as scikit-learn does; :func:`check_params`
reads it and raises :class:`InvalidParameterError` (a ``ValueError``) that lists the
valid values.  Data
checks run before any work and say what is wrong, where, and what to do.  Which solver
can fit which problem is the solver registry's to say (:func:`nmfkit.solvers.resolve`).
"""
from __future__ import annotations

import os
import sys
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp

from . import _census, _data


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter with a value it cannot take (a ValueError, and a TypeError
    for a value of the wrong type, as scikit-learn's own parameter errors are)."""


class Interval:
    """Numbers of ``kind`` (Integral or Real) between ``left`` and ``right`` (None: no
    bound), ``closed`` 'left', 'right', 'both' or 'neither'."""

    def __init__(self, kind, left, right, *, closed):
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def __call__(self, value):
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        if self.left is not None:
            if value < self.left or (value == self.left and self.closed in ("right", "neither")):
                return False
        if self.right is not None:
            if value > self.right or (value == self.right and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self):
        name = "an int" if self.kind is Integral else "a float"
        lo = "-inf" if self.left is None else self.left
        hi = "inf" if self.right is None else self.right
        opening = "[" if self.closed in ("left", "both") and self.left is not None else "("
        closing = "]" if self.closed in ("right", "both") and self.right is not None else ")"
        return f"{name} in the range {opening}{lo}, {hi}{closing}"


class Options:
    """One of the given strings; ``options`` may be a callable returning them (read when
    checked, e.g. the solver registry's names)."""

    def __init__(self, options):
        self._options = options

    @property
    def options(self):
        return tuple(self._options() if callable(self._options) else self._options)

    def __call__(self, value):
        return isinstance(value, str) and value in self.options

    def __str__(self):
        return "a str among {" + ", ".join(repr(o) for o in self.options) + "}"


def _is_random_state(value):
    return value is None or isinstance(value, (np.random.RandomState, np.random.Generator)) or (
        isinstance(value, Integral) and not isinstance(value, bool))


_NAMED_CHECKS = {
    "random_state": (_is_random_state, "an int, a numpy RandomState or None"),
    "boolean": (lambda v: isinstance(v, (bool, np.bool_)), "a bool"),
    "verbose": (lambda v: isinstance(v, (bool, np.bool_)) or (
        isinstance(v, Integral) and v >= 0), "an int >= 0 or a bool"),
    "callable": (callable, "a callable"),
    "dict": (lambda v: isinstance(v, dict), "a dict"),
}


def check_params(estimator, table):
    """Check every constructor parameter of ``estimator`` against ``table`` (name → list
    of allowed kinds: an :class:`Interval`, :class:`Options`, None, a type, or a name of
    :data:`_NAMED_CHECKS`; or the string ``"no_validation"``).

    Raises
    ------
    InvalidParameterError
        Naming the parameter, what it must be and what it got.
    """
    params = estimator.get_params(deep=False)
    for name, allowed in table.items():
        if allowed == "no_validation" or name not in params:
            continue
        value = params[name]
        texts = []
        for constraint in allowed:
            if constraint is None:
                ok, text = value is None, "None"
            elif isinstance(constraint, str):
                test, text = _NAMED_CHECKS[constraint]
                ok = test(value)
            elif isinstance(constraint, type):
                ok, text = isinstance(value, constraint), f"an instance of {constraint.__name__}"
            else:
                ok, text = constraint(value), str(constraint)
            if ok:
                break
            texts.append(text)
        else:
            expected = texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " or " + texts[-1]
            raise InvalidParameterError(
                f"The {name!r} parameter of {type(estimator).__name__} must be {expected}. "
                f"Got {value!r} instead.")


INIT_NAMES = ("auto", "random", "nndsvd", "nndsvda", "nndsvdar", "custom")
BETA_NAMES = ("frobenius", "kullback-leibler", "itakura-saito")

BETA_BY_NAME = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}


def beta_value(beta_loss) -> float:
    return BETA_BY_NAME[beta_loss] if isinstance(beta_loss, str) else float(beta_loss)


def _first_position(mask):
    """(row, column) of the first True in a boolean array, in row-major order."""
    flat = int(np.argmax(mask.ravel()))
    return np.unravel_index(flat, mask.shape)


def check_values(X, *, what="X", allow_nan=False, who="NMF"):
    """Raise ValueError for negative, NaN or infinite entries of a validated matrix;
    ``who`` names the estimator the data were passed to."""
    if sp.issparse(X):
        values, rows, cols = X.data, _LazyCoordinates(X, "row"), _LazyCoordinates(X, "col")
    else:
        values = np.asarray(X)
        rows = cols = None

    if values.size:
        # Fast path, two reductions and no mask (a third of the time of building the
        # masks): min ≥ 0 fails on NaN and −inf, and a finite max rules out +inf.  With
        # NaN allowed, fmin/fmax skip them (and give NaN only when all entries are NaN).
        low, high = (np.min, np.max) if not allow_nan else (np.fmin.reduce, np.fmax.reduce)
        if low(values, axis=None) >= 0 and np.isfinite(high(values, axis=None)):
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
            f"column {c}); {who} needs finite values — {advice}."
        )
    with np.errstate(invalid="ignore"):
        negative = values < 0
    if negative.any():
        r, c, at = _locate(negative, rows, cols)
        first = values[r, c] if at is None else values[at]
        count = int(negative.sum())
        raise ValueError(
            f"Negative values in data passed to {who} ({what}): {count} negative "
            f"{'entry' if count == 1 else 'entries'} (first at row {r}, column {c}, value "
            f"{first:.6g}); {who} needs {what} >= 0 "
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


def as_matrix(estimator, X, *, reset, allow_nan=False, with_census=False):
    """Validate ``X`` as a 2-D float matrix (float64, or float32 kept) and check its values.

    Uses scikit-learn's ``validate_data`` for the shape, dtype and feature-name rules
    (1-D input, empty input, strings, a wrong number of columns at transform all raise
    its messages), then :func:`check_values`.  With ``with_census`` (a masked fit),
    returns ``(X, census)``: a dense X's :class:`nmfkit._census.Census`, whose pass over
    X also checks its values (:func:`check_values` then runs only to name a bad entry),
    or None for a sparse X.
    """
    from sklearn.utils.validation import validate_data

    who = type(estimator).__name__
    check_form(X, who)
    try:
        X = validate_data(
            estimator, X, reset=reset,
            accept_sparse=("csr", "csc"),
            dtype=[np.float64, np.float32],
            ensure_all_finite=False,
        )
    except (TypeError, ValueError) as exc:
        raise_with_numeric_advice(exc, who)
        if not reset and "features" in str(exc):
            # Bad values are the first thing to report, whatever the width (as
            # scikit-learn's estimators do).
            _check_values_of_any_width(X, allow_nan, who)
        raise
    if sp.issparse(X):
        X.sum_duplicates()
    census = None
    if with_census and isinstance(X, np.ndarray):
        census = _census.census(X)
        if not census.valid:
            check_values(X, allow_nan=allow_nan, who=who)
    else:
        check_values(X, allow_nan=allow_nan, who=who)
    if X.dtype == np.float32 and not float32_holds(X, None if census is None else census.high):
        X = X.astype(np.float64)
    return (X, census) if with_census else X


#: float32 keeps ‖X‖², the Gram matrices and the products with X finite and normal for
#: data of largest magnitude within these bounds (its range is about 1e±38).
FLOAT32_SAFE_MAX_SQUARED_SUM = 1e30
FLOAT32_SAFE_MIN_MAX = 1e-15


def float32_holds(X, largest=None) -> bool:
    """Whether a float32 X can be fitted in float32: the squares of its entries, summed
    over all of them, neither overflow nor underflow float32.  Outside, the fit runs in
    float64 (the factors are then float64): with entries near 1e30 ‖X‖² is infinite in
    float32, and with entries near 1e-30 the Gram matrices vanish.  ``largest``: the
    largest |entry|, when the caller knows it."""
    values = X.data if sp.issparse(X) else X
    if values.size == 0:
        return True
    if largest is None:
        largest = float(np.nanmax(np.abs(values)))
    if largest == 0.0:
        return True
    return (largest >= FLOAT32_SAFE_MIN_MAX
            and largest * largest * values.size <= FLOAT32_SAFE_MAX_SQUARED_SUM)


def _check_values_of_any_width(X, allow_nan, who):
    """:func:`check_values` on X as it came, when X's width is also wrong."""
    try:
        values = X if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return
    if values.ndim == 2:
        check_values(values, allow_nan=allow_nan, who=who)


def check_form(X, who):
    """What scikit-learn's array checks report poorly, reported before them: complex
    values and ragged rows."""
    if _is_complex(X):
        raise ValueError(f"Complex data not supported: {who} needs real, non-negative X; "
                         "pass np.abs(X) or the real part.")
    check_not_ragged(X, who)


def raise_with_numeric_advice(exc, who):
    """Re-raise scikit-learn's 'could not convert' error with what to do; other errors
    are left to the caller."""
    text = str(exc)
    if "convert" in text or "argument must be" in text:
        # Keep scikit-learn's wording (its checks match on it) and add what to do.
        raise type(exc)(f"{text}. {who} needs numeric X: encode categorical columns "
                        "(e.g. with OneHotEncoder) or drop text columns.") from exc


def check_not_ragged(X, who):
    """A list of rows of different lengths names the first short or long row (NumPy's
    own message speaks of 'an inhomogeneous shape')."""
    if not isinstance(X, (list, tuple)) or not X:
        return
    lengths = [len(row) if isinstance(row, (list, tuple, np.ndarray)) else None for row in X]
    if None in lengths or len(set(lengths)) == 1:
        return
    first = next(i for i, n in enumerate(lengths) if n != lengths[0])
    raise ValueError(f"X is ragged: row 0 has {lengths[0]} values but row {first} has "
                     f"{lengths[first]}; {who} needs a rectangular matrix, every row the "
                     "same length.")


def warn_if_all_zero(X, who):
    """A matrix of zeros has nothing to factorize: the fit returns zero factors, and says
    so rather than a silent 'converged'."""
    data = X.data if sp.issparse(X) else X
    if data.size == 0 or not np.any(data):
        warnings.warn(f"X is all zeros: {who} has nothing to factorize, and its factors are "
                      "zero.", UserWarning, stacklevel=3)


#: The largest factors and Gram matrices a fit may ask for, as a share of the machine's
#: memory, before it refuses n_components (a typo such as 10**6 must fail fast, not swap).
MAX_FACTOR_MEMORY_SHARE = 0.5


def check_factor_memory(k, shape, itemsize=8, who="NMF"):
    """Refuse a rank whose factors (m·k + k·n) and k x k Gram matrices would not fit in
    half of the machine's memory, before any allocation."""
    m, n = shape
    need = itemsize * (k * (m + n) + 2 * k * k)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not a POSIX system: no bound known
        return
    if need > MAX_FACTOR_MEMORY_SHARE * total:
        raise ValueError(
            f"n_components={k} needs {need / 2**30:,.1f} GiB for the factors of a "
            f"{m} x {n} matrix, more than half of this machine's {total / 2**30:,.1f} GiB; "
            f"{who} fits k up to min(n_samples, n_features) = {min(m, n)} usefully — pass a "
            "smaller n_components.")


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
    check_factor_memory(n_components, shape)
    if init in ("nndsvd", "nndsvda", "nndsvdar") and n_components > min(m, n):
        raise ValueError(
            f"init='{init}' can only be used when n_components <= min(n_samples, n_features) "
            f"= {min(m, n)}; got n_components={n_components} for X of shape {shape}. "
            "Use init='random' or a smaller n_components."
        )
    return n_components


def warn_unused_factors(init, W, H, *, stacklevel=2):
    """RuntimeWarning when W or H are passed to a fit whose ``init`` is not 'custom':
    they are not used (scikit-learn's rule and message)."""
    if init != "custom" and (W is not None or H is not None):
        warnings.warn("When init!='custom', provided W or H are ignored. Set init='custom' "
                      "to use them as initialization.", RuntimeWarning,
                      stacklevel=stacklevel + 1)


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


def check_checkpoint_arguments(estimator, checkpoint, checkpoint_every, resume):
    """``fit(..., checkpoint=, checkpoint_every=, resume=)``: a path in an existing
    folder, a positive iteration count, a file to resume that exists."""
    who = type(estimator).__name__
    if checkpoint is not None:
        if not isinstance(checkpoint, (str, os.PathLike)):
            raise TypeError(f"{who}.fit: checkpoint must be a file path, got "
                            f"{type(checkpoint).__name__}.")
        folder = os.path.dirname(os.path.abspath(os.fspath(checkpoint)))
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"{who}.fit: the folder of checkpoint={os.fspath(checkpoint)!r} "
                                    f"does not exist ({folder}); create it first.")
        if not os.access(folder, os.W_OK):
            raise PermissionError(f"{who}.fit: cannot write checkpoint={os.fspath(checkpoint)!r}: "
                                  f"the folder {folder} is not writable.")
        if os.path.isdir(os.fspath(checkpoint)):
            raise IsADirectoryError(f"{who}.fit: checkpoint={os.fspath(checkpoint)!r} is a "
                                    "folder; give a file path inside it.")
    if (isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, Integral)
            or checkpoint_every < 1):
        raise ValueError(f"{who}.fit: checkpoint_every must be a positive number of "
                         f"iterations, got {checkpoint_every!r}.")
    if resume is not None:
        if not isinstance(resume, (str, os.PathLike)):
            raise TypeError(f"{who}.fit: resume must be the path of a checkpoint file, got "
                            f"{type(resume).__name__}.")
        if not os.path.isfile(os.fspath(resume)):
            raise FileNotFoundError(f"{who}.fit: no checkpoint file at resume="
                                    f"{os.fspath(resume)!r}; fit with checkpoint= to write one.")


_DEVICES = ("None (where X lives)", "'cpu'", "'cuda'", "'cuda:N'", "a torch.device")


def check_device(estimator):
    """The estimator's ``device`` checked before any work: None, ``'cpu'`` (when torch
    is not needed to say so) or a ``torch.device`` that PyTorch can run on."""
    device = getattr(estimator, "device", None)
    who = type(estimator).__name__
    if device is None or (isinstance(device, str) and device == "cpu"):
        return device
    torch = sys.modules.get("torch")
    if not (isinstance(device, str) or (torch is not None and isinstance(device, torch.device))):
        raise TypeError(f"{who}: device={device!r} is not a device; pass one of "
                        f"{', '.join(_DEVICES)}.")
    try:
        import torch
    except ImportError:
        raise ImportError(f"{who}: device={device!r} runs the fit on PyTorch, which is not "
                          "installed; `pip install torch` (a CUDA build for a GPU), or "
                          "leave device at None to fit on NumPy.") from None
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{who}: device={device!r} is not a device PyTorch knows; pass "
                         f"one of {', '.join(_DEVICES)}.") from None
    if parsed.type == "cpu":
        return parsed
    if parsed.type != "cuda":
        raise ValueError(f"{who}: device={device!r}: nmfkit runs on 'cpu' and 'cuda' "
                         f"devices; pass one of {', '.join(_DEVICES)}.")
    if not torch.cuda.is_available():
        raise ValueError(f"{who}: device={device!r} but PyTorch sees no CUDA GPU "
                         "(torch.cuda.is_available() is False: no GPU on this machine, or "
                         "a CPU-only build of torch); pass device='cpu', or install a "
                         "CUDA build of torch on a machine with a GPU.")
    count = torch.cuda.device_count()
    index = 0 if parsed.index is None else parsed.index
    if index >= count:
        raise ValueError(f"{who}: device={device!r} but PyTorch sees {count} CUDA "
                         f"device(s), numbered 0 to {count - 1}.")
    return torch.device("cuda", index)


def check_data_for_loss(X, beta, *, masked, what="X", axes=("row", "column"), census=None):
    """Data checks that depend on the loss and the mask (after :func:`as_matrix`).

    - β ≤ 0 (Itakura–Saito and below) is undefined where X = 0: ValueError with the
      count and first position, suggesting a small offset;
    - with ``missing='mask'``, a row or column with no observed entry has no data to fit
      (counted from X's :class:`nmfkit._census.Census` when given).
    """
    if masked:
        if census is not None:
            row_counts, col_counts = census.observed_counts(1), census.observed_counts(0)
        elif sp.issparse(X):
            finite = X.tocsr().copy()
            finite.data = (~np.isnan(finite.data)).astype(np.int8)
            finite.eliminate_zeros()
            row_counts = np.diff(finite.indptr)
            col_counts = np.bincount(finite.indices, minlength=X.shape[1])
        else:
            # Counted from the NaN positions: an axis sum of an m x n mask costs more,
            # and few entries are NaN where a dense X is fitted masked.
            m, n = X.shape
            rows, cols = _data.positions(np.isnan(np.asarray(X)))
            row_counts = n - np.bincount(rows, minlength=m)
            col_counts = m - np.bincount(cols, minlength=n)
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


# --------------------------------------------------------------------------- graphs
def is_graph(X) -> bool:
    """Whether X is a networkx graph (checked without importing networkx)."""
    return any(cls.__module__.split(".")[0] == "networkx" and cls.__name__ == "Graph"
               for cls in type(X).__mro__)


def graph_adjacency(G, *, weight="weight", what="G"):
    """The weighted adjacency matrix of a networkx graph, CSR float64, and its nodes.

    ``weight``: the edge attribute holding the weight (edges without it weigh 1), or
    None for 0/1 adjacency.  A directed graph or a negative or non-finite weight raises
    ValueError naming the edge, before any work.

    Returns
    -------
    (scipy.sparse.csr_array, list)
        A[i, j] is the weight of the edge between ``nodes[i]`` and ``nodes[j]``.
    """
    import networkx as nx

    if G.is_directed():
        raise ValueError(
            f"{what} is a directed graph ({type(G).__name__}); these estimators factorize "
            "the symmetric adjacency matrix of an undirected graph. Pass "
            f"{what}.to_undirected() (an edge in either direction becomes one edge), or "
            "build a symmetric matrix yourself, e.g. (A + A.T) / 2.")
    if G.is_multigraph():
        raise ValueError(
            f"{what} is a multigraph; collapse parallel edges first (e.g. "
            f"nx.Graph({what}), or sum their weights into one edge).")
    nodes = list(G.nodes)
    if not nodes:
        raise ValueError(f"{what} has no nodes; a graph to cluster needs at least one edge.")
    if weight is not None:
        for u, v, w in G.edges(data=weight, default=1):
            try:
                w = float(w)
            except (TypeError, ValueError):
                raise ValueError(f"edge ({u!r}, {v!r}) of {what} has a non-numeric "
                                 f"{weight!r} attribute: {w!r}.") from None
            if not np.isfinite(w) or w < 0:
                raise ValueError(
                    f"edge ({u!r}, {v!r}) of {what} has {weight!r} = {w:g}; edge weights "
                    "must be finite and >= 0 (NMF models similarities). Drop or clip "
                    f"such edges, or pass weight=None to ignore the weights.")
    A = nx.to_scipy_sparse_array(G, nodelist=nodes, weight=weight, dtype=np.float64,
                                 format="csr")
    if A.nnz == 0:
        raise ValueError(f"{what} has no edges: there is nothing to cluster.")
    return A, nodes


def check_symmetric(A, *, what="A", rtol=1e-8):
    """Raise ValueError unless the square matrix A equals Aᵀ up to ``rtol·max|A|``;
    the message gives the largest asymmetry and where it is."""
    m, n = A.shape
    if m != n:
        raise ValueError(
            f"{what} must be a square symmetric matrix (an adjacency or similarity "
            f"matrix); got shape {A.shape}. For a rectangular matrix use NMF or TriNMF.")
    if sp.issparse(A):
        D = abs(sp.csr_matrix(A) - sp.csr_matrix(A).T).tocoo()
        if D.nnz == 0:
            return
        at = int(np.argmax(D.data))
        gap, i, j = float(D.data[at]), int(D.row[at]), int(D.col[at])
        scale = float(abs(A).max())
    else:
        D = np.abs(A - A.T)
        i, j = (int(v) for v in np.unravel_index(int(np.argmax(D)), D.shape))
        gap, scale = float(D[i, j]), float(np.max(np.abs(A)))
    if gap > rtol * max(scale, np.finfo(np.float64).tiny):
        i, j = min(i, j), max(i, j)
        raise ValueError(
            f"{what} is not symmetric: the largest asymmetry is |{what}[{i}, {j}] − "
            f"{what}[{j}, {i}]| = {gap:.6g} ({what}[{i}, {j}] = {float(A[i, j]):.6g}, "
            f"{what}[{j}, {i}] = {float(A[j, i]):.6g}). Symmetric NMF needs {what} = "
            f"{what}ᵀ: pass ({what} + {what}.T) / 2 to symmetrise it.")
