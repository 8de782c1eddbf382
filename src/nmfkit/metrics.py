"""Quality measures: of a factorization, of its factors, of a consensus, of a clustering.

- How well WH fits X: :func:`residual_sum_of_squares` (‖X − WH‖²_F) and
  :func:`explained_variance` (1 − RSS / ‖X‖²_F, the NMF field's "evar", not centred).
  Sparse X is never made dense; NaN entries are missing data, left out.
- How sparse the factors are: :func:`sparseness`, Hoyer's measure (Hoyer 2004,
  "Non-negative matrix factorization with sparseness constraints", JMLR 5, eq. 1),
  sparseness(x) = (√n − ‖x‖₁ / ‖x‖₂) / (√n − 1): 1 for a vector with a single non-zero
  entry, 0 for a vector whose entries are all equal in magnitude, and in between
  otherwise.
- How stable the clusters of several runs are, for choosing k: :func:`consensus_matrix`
  (Brunet, Tamayo, Golub & Mesirov 2004, "Metagenes and molecular pattern discovery
  using matrix factorization", PNAS 101:4164), its :func:`cophenetic_correlation`
  (ibid.) and :func:`dispersion` (Kim & Park 2007, "Sparse non-negative matrix
  factorizations via alternating non-negativity-constrained least squares for
  microarray data analysis", Bioinformatics 23:1495).
- How well clusters agree with known classes: :func:`purity` and :func:`entropy` (Zhao &
  Karypis 2004, "Empirical and theoretical comparisons of selected criterion functions
  for document clustering", Machine Learning 55:311) and :func:`adjusted_rand_index`
  (Hubert & Arabie 1985, "Comparing partitions", Journal of Classification 2:193).
- How alike two factorizations are (two seeds, two solvers, two subsamples):
  :func:`match_components` pairs their components up to permutation, and
  :func:`factor_similarity` is the mean correlation of the pairs.
"""
from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.cluster.hierarchy import cophenet, linkage
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import squareform

from . import _backends, _data, _sums

__all__ = [
    "sparseness",
    "residual_sum_of_squares",
    "explained_variance",
    "consensus_matrix",
    "cophenetic_correlation",
    "dispersion",
    "purity",
    "entropy",
    "adjusted_rand_index",
    "match_components",
    "factor_similarity",
]


def sparseness(M, axis=None):
    """Hoyer's sparseness of a vector, or of each row or column of a matrix.

    Parameters
    ----------
    M : array-like or sparse matrix
        Vector or matrix (a factor W or H).
    axis : {None, 0, 1}, default=None
        None: M as one vector (all entries).  0: one value per column (use it for the
        columns of W).  1: one value per row (the rows of H, the parts).

    Returns
    -------
    float or ndarray
        In [0, 1].  A vector of zeros has no direction; its sparseness is reported as
        1.0 (nothing is active).  A vector of length 1 is 1.0.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.metrics import sparseness
    >>> float(sparseness([0.0, 0.0, 3.0, 0.0]))
    1.0
    >>> float(sparseness([1.0, 1.0, 1.0, 1.0]))
    0.0
    >>> sparseness(np.array([[1.0, 0.0], [1.0, 1.0]]), axis=1).round(6).tolist()
    [1.0, 0.0]
    """
    if _backends.is_sparse(M):
        M = M.toarray() if np.prod(M.shape) <= 10**7 else M
    A = np.abs(np.asarray(_backends.to_numpy(M) if not isinstance(M, (list, tuple)) else M,
                          dtype=np.float64))
    if A.ndim == 1 or axis is None:
        A = A.reshape(1, -1)
        axis_, squeeze = 1, True
    elif axis in (0, 1):
        axis_, squeeze = axis, False
    else:
        raise ValueError(f"axis must be None, 0 or 1, got {axis!r}.")
    n = A.shape[axis_]
    l1 = A.sum(axis=axis_)
    l2 = np.sqrt((A * A).sum(axis=axis_))
    if n <= 1:
        out = np.ones_like(l1)
    else:
        root = np.sqrt(n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (root - l1 / np.where(l2 > 0, l2, 1)) / (root - 1)
        out = np.where(l2 > 0, np.clip(out, 0.0, 1.0), 1.0)
    return float(out[0]) if squeeze else out


# --------------------------------------------------------------------------- fit of WH to X
#: Entries of X per block when the residual is formed block by block (8 MiB of float64).
_BLOCK_ENTRIES = 1 << 20


def _host(A):
    """A dense array-like (ndarray, list, DataFrame, tensor, CuPy array) as NumPy."""
    if isinstance(A, (pd.DataFrame, pd.Series)):
        return A.to_numpy()
    if isinstance(A, (list, tuple)):
        return np.asarray(A)
    return np.asarray(_backends.to_numpy(A))


def _numeric(A, what, function):
    """``A`` with a float dtype (integers and booleans become float64)."""
    if A.dtype.kind in "biu":
        return A.astype(np.float64)
    if A.dtype.kind != "f":
        raise ValueError(f"{function}: {what} must hold numbers, got dtype {A.dtype}.")
    return A


def _first(mask):
    """(row, column) of the first True of a 2-D boolean array."""
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))


def _check_factor(A, what, function):
    A = _numeric(_host(A), what, function)
    if A.ndim != 2:
        raise ValueError(f"{function}: {what} must be a 2-D array, got {A.ndim}-D "
                         f"(shape {A.shape}).")
    bad = ~np.isfinite(A)
    if bad.any():
        r, c = _first(bad)
        raise ValueError(f"{function}: {what} has {int(bad.sum())} NaN or infinite "
                         f"value(s) (first at row {r}, column {c}); pass finite factors.")
    return A.astype(np.float64, copy=False)


def _check_factorization(X, W, H, function):
    """Checked ``X`` (float NumPy or CSR, never densified), float64 ``W`` and ``H``, and
    the NaN mask of X (over ``X.data`` for sparse X), or None when X has no NaN."""
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        if not X.has_canonical_format:  # duplicates would be counted apart in ‖X‖²
            X = X.copy()
            X.sum_duplicates()
        if X.dtype.kind != "f":
            X = X.astype(np.float64)
        values, where = X.data, "its stored entries"
    else:
        X = _numeric(_host(X), "X", function)
        if X.ndim != 2:
            raise ValueError(f"{function}: X must be a 2-D matrix, got {X.ndim}-D "
                             f"(shape {X.shape}).")
        values, where = X, None
    infinite = np.isinf(values)
    if infinite.any():
        at = "" if where else " (first at row {}, column {})".format(*_first(infinite))
        raise ValueError(f"{function}: X has {int(infinite.sum())} infinite value(s){at}; "
                         "the residual would be infinite. Remove or replace them (NaN "
                         "entries, unlike infinities, are left out as missing).")
    W = _check_factor(W, "W", function)
    H = _check_factor(H, "H", function)
    m, n = X.shape
    if W.shape[0] != m:
        hint = " (did you pass W.T?)" if W.shape[1] == m else ""
        raise ValueError(f"{function}: W has shape {W.shape} but X has {m} rows; W must be "
                         f"m x k = {m} x k, one row per row of X{hint}.")
    if H.shape[1] != n:
        hint = " (did you pass H.T?)" if H.shape[0] == n else ""
        raise ValueError(f"{function}: H has shape {H.shape} but X has {n} columns; H must "
                         f"be k x n = k x {n}, components as rows like "
                         f"NMF.components_{hint}.")
    if W.shape[1] != H.shape[0]:
        raise ValueError(f"{function}: W has {W.shape[1]} columns but H has {H.shape[0]} "
                         "rows; both must be k, the number of components.")
    missing = np.isnan(values)
    return X, W, H, (missing if missing.any() else None)


def _rss(X, W, H, missing):
    """‖X − WH‖²_F over the entries of X that are not NaN."""
    if missing is None:
        return _data.residual_squared_norm(X, W, H)
    if sp.issparse(X):
        # A stored NaN is a zero in the trace identity of residual_squared_norm, so it
        # adds (WH)_ij²; that is taken back out, with (WH)_ij at just those entries.
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))[missing]
        cols = X.indices[missing]
        model = np.einsum("ij,ji->i", W[rows], H[:, cols])
        observed = X.copy()
        observed.data[missing] = 0.0
        return max(_data.residual_squared_norm(observed, W, H) - float(model @ model), 0.0)
    total = 0.0
    step = max(1, _BLOCK_ENTRIES // max(1, X.shape[1]))
    for start in range(0, X.shape[0], step):
        R = X[start:start + step] - W[start:start + step] @ H
        R[missing[start:start + step]] = 0.0
        total += _sums.squared_norm(R)
    return total


def _observed_squared_norm(X, missing):
    """‖X‖²_F over the entries of X that are not NaN (not centred)."""
    if missing is None:
        return _sums.squared_norm(X)
    values = X.data if sp.issparse(X) else X
    kept = values[~missing].astype(np.float64, copy=False)
    return float(kept @ kept)


def residual_sum_of_squares(X, W, H):
    """Residual sum of squares ‖X − WH‖²_F of a factorization.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (m, n)
        The data.  A sparse X is never made dense: the sum comes from the identity
        ‖X‖² − 2⟨X, WH⟩ + ⟨WᵀW, HHᵀ⟩ (sparse products, float64), and its absent entries
        are zeros of X.  NaN entries (of a dense X, or stored in a sparse one) are
        missing data and are left out of the sum.
    W : array-like of shape (m, k)
        The first factor, as ``W = model.fit_transform(X)``.
    H : array-like of shape (k, n)
        The second factor, components as rows: ``H = model.components_``.

    Returns
    -------
    float
        Σ (X − WH)²_ij over the entries of X that are not NaN; ≥ 0.  Twice scikit-learn's
        Frobenius objective, and ``model.reconstruction_err_ ** 2`` for a model fitted
        with ``beta_loss='frobenius'`` (no NaN).

    Raises
    ------
    ValueError
        When the shapes do not fit (W m x k, H k x n), W or H is not finite, or X has an
        infinite entry.

    Notes
    -----
    For a sparse X the identity subtracts nearly equal numbers when the fit is very good;
    it is clipped at 0, and its absolute error is about 10⁻¹⁶ ‖X‖².

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.metrics import residual_sum_of_squares
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> W = np.array([[1.0], [1.0]]); H = np.array([[2.0, 3.0]])
    >>> residual_sum_of_squares(X, W, H)         # residual [[-1, -1], [1, 1]]
    4.0
    >>> residual_sum_of_squares(np.array([[1.0, np.nan], [3.0, 4.0]]), W, H)
    3.0
    """
    X, W, H, missing = _check_factorization(X, W, H, "residual_sum_of_squares")
    return float(_rss(X, W, H, missing))


def explained_variance(X, W, H):
    """Explained variance of a factorization: 1 − ‖X − WH‖²_F / ‖X‖²_F.

    This is the NMF field's definition (``evar`` of the R package NMF: Gaujoux &
    Seoighe 2010, "A flexible R package for nonnegative matrix factorization", BMC
    Bioinformatics 11:367): the denominator is the sum of squares of X itself, **not
    centred** on its mean, because NMF models X, not its deviations from the mean.  It
    is therefore larger than the statistician's R² = 1 − RSS / ‖X − mean(X)‖²_F.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (m, n)
        The data; as in :func:`residual_sum_of_squares`, a sparse X is never made dense
        and NaN entries are left out of both sums.
    W : array-like of shape (m, k)
        The first factor.
    H : array-like of shape (k, n)
        The second factor, components as rows.

    Returns
    -------
    float
        At most 1 (an exact fit).  W = 0 gives 0; a fit worse than W = 0 gives a
        negative value.

    Raises
    ------
    ValueError
        As :func:`residual_sum_of_squares`; and when X is 0 on all its observed entries
        (‖X‖² = 0, nothing to explain).

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.metrics import explained_variance
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]])      # ‖X‖² = 30
    >>> W = np.array([[1.0], [1.0]]); H = np.array([[2.0, 3.0]])
    >>> round(explained_variance(X, W, H), 6)       # 1 − 4/30
    0.866667
    """
    X, W, H, missing = _check_factorization(X, W, H, "explained_variance")
    total = _observed_squared_norm(X, missing)
    if total == 0.0:
        raise ValueError("explained_variance: X is 0 on all its observed entries, so "
                         "‖X‖² = 0 and 1 − RSS/‖X‖² is undefined; use "
                         "residual_sum_of_squares instead.")
    return float(1.0 - _rss(X, W, H, missing) / total)


# --------------------------------------------------------------------------- consensus
def _label_runs(labels):
    """The runs' labels as an (n_runs, n) integer array, checked."""
    if isinstance(labels, np.ndarray) and labels.ndim == 2:
        runs = labels
    else:
        try:
            vectors = [np.asarray(run) for run in labels]
        except TypeError:
            raise ValueError("consensus_matrix: labels must be a sequence of label "
                             "vectors, one per run (n_runs x n samples), got "
                             f"{type(labels).__name__}.") from None
        if vectors and vectors[0].ndim == 0:
            raise ValueError("consensus_matrix: labels must be a sequence of label "
                             "vectors, one per run (n_runs x n samples), got a single "
                             "vector; for one run, pass [labels].")
        for r, run in enumerate(vectors):
            if run.ndim != 1:
                raise ValueError(f"consensus_matrix: run {r} has shape {run.shape}; each "
                                 "run must be a 1-D vector of n labels.")
            if len(run) != len(vectors[0]):
                raise ValueError(f"consensus_matrix: run {r} has {len(run)} labels but "
                                 f"run 0 has {len(vectors[0])}; every run must label the "
                                 "same samples.")
        runs = np.array(vectors) if vectors else np.empty((0, 0), dtype=np.intp)
    if runs.shape[0] == 0 or runs.shape[1] == 0:
        raise ValueError(f"consensus_matrix: labels has shape {runs.shape}; it needs at "
                         "least one run of at least one sample.")
    if runs.dtype.kind not in "iu":
        raise ValueError("consensus_matrix: labels must be integer cluster ids (-1 for "
                         f"unassigned), got dtype {runs.dtype}; cast with .astype(int) or "
                         "number the clusters.")
    bad = runs < -1
    if bad.any():
        r, i = _first(bad)
        raise ValueError(f"consensus_matrix: run {r} gives sample {i} the label "
                         f"{int(runs[r, i])}; labels must be cluster ids ≥ 0, or -1 for "
                         "an unassigned sample.")
    return runs


def consensus_matrix(labels):
    """Consensus matrix of several clusterings of the same samples.

    Entry (i, j) is the fraction of runs in which samples i and j fall in the same
    cluster: the mean of the runs' connectivity matrices (Brunet, Tamayo, Golub &
    Mesirov 2004, "Metagenes and molecular pattern discovery using matrix
    factorization", PNAS 101:4164).  With NMF, a run's labels are usually
    ``H.argmax(axis=0)`` (each column's strongest component) from a fit with another
    seed.

    Parameters
    ----------
    labels : sequence of 1-D int arrays, or 2-D int array of shape (n_runs, n)
        One vector of cluster ids per run.  -1 marks a sample that run left unassigned
        (e.g. it was not in that run's subsample); a pair with such a sample is not
        counted for that run, so entry (i, j) is over the runs that assigned both i and
        j (the resampled consensus of Monti, Tamayo, Mesirov & Golub 2003, "Consensus
        clustering", Machine Learning 52:91).

    Returns
    -------
    ndarray of shape (n, n)
        Symmetric, entries in [0, 1], diagonal 1 (for every sample that some run
        assigned).  A pair that no run assigned together
        has no consensus: its entry is NaN (and :func:`cophenetic_correlation` and
        :func:`dispersion` refuse the matrix until it is dropped or filled).

    Raises
    ------
    ValueError
        When the runs have different lengths, the labels are not integers, or a label is
        below -1.

    Examples
    --------
    >>> from nmfkit.metrics import consensus_matrix
    >>> consensus_matrix([[0, 0, 1], [0, 1, 1]])
    array([[1. , 0.5, 0. ],
           [0.5, 1. , 0.5],
           [0. , 0.5, 1. ]])
    """
    runs = _label_runs(labels)
    n = runs.shape[1]
    together = np.zeros((n, n))
    counted = np.zeros((n, n))
    for run in runs:
        assigned = run != -1
        both = assigned[:, None] & assigned[None, :]
        together += (run[:, None] == run[None, :]) & both
        counted += both
    with np.errstate(invalid="ignore"):
        return together / counted


def _check_consensus(C, function, *, min_size):
    """A consensus matrix as a float64 array: square, symmetric, finite, in [0, 1]."""
    if sp.issparse(C):
        raise ValueError(f"{function}: C must be a dense array (a consensus matrix is "
                         "dense); pass C.toarray().")
    C = _numeric(_host(C), "C", function).astype(np.float64, copy=False)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"{function}: C must be a square n x n consensus matrix, got "
                         f"shape {C.shape}.")
    if C.shape[0] < min_size:
        raise ValueError(f"{function}: C is {C.shape[0]} x {C.shape[0]}; it needs at least "
                         f"{min_size} samples.")
    nan = np.isnan(C)
    if nan.any():
        r, c = _first(nan)
        raise ValueError(f"{function}: C has {int(nan.sum())} NaN entries (first at row "
                         f"{r}, column {c}), pairs that no run assigned together; drop "
                         "those samples or give each pair a run that assigns both.")
    if not ((C >= -1e-12) & (C <= 1 + 1e-12)).all():
        outside = (C < -1e-12) | (C > 1 + 1e-12)
        r, c = _first(outside)
        raise ValueError(f"{function}: C has entries outside [0, 1] (first at row {r}, "
                         f"column {c}: {float(C[r, c])!r}); a consensus matrix holds "
                         "fractions of runs, as consensus_matrix returns.")
    asymmetry = np.abs(C - C.T)
    if (asymmetry > 1e-8).any():
        r, c = _first(asymmetry > 1e-8)
        raise ValueError(f"{function}: C is not symmetric (C[{r}, {c}] = "
                         f"{float(C[r, c])!r} but C[{c}, {r}] = {float(C[c, r])!r}); a "
                         "consensus matrix is.")
    return np.clip(C, 0.0, 1.0)


def cophenetic_correlation(C):
    """Cophenetic correlation coefficient ρ of a consensus matrix (Brunet et al. 2004).

    The Pearson correlation between the distances 1 − C between samples (each pair
    once) and the cophenetic distances of the average-linkage (UPGMA) tree built from
    them: how faithfully a hierarchy represents the consensus.  Brunet et al. choose the
    rank k where ρ begins to fall, as k grows.

    Parameters
    ----------
    C : array-like of shape (n, n)
        A consensus matrix (:func:`consensus_matrix`): square, symmetric, entries in
        [0, 1], n ≥ 2.

    Returns
    -------
    float
        In [-1, 1], in practice in [0, 1]; 1.0 for a perfect consensus (every entry 0
        or 1, the runs all agree).  When all the distances are equal (e.g. C all ones,
        or all 0.5; always so for n = 2) the correlation is undefined: the tree then
        reproduces the distances exactly, and 1.0 is returned.  That includes a
        consensus of 0.5 everywhere, which is not stable at all; :func:`dispersion`
        tells the two apart (1 and 0).

    Raises
    ------
    ValueError
        When C is not square, not symmetric, has NaN or entries outside [0, 1], or has
        fewer than 2 samples.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.metrics import cophenetic_correlation
    >>> C = np.array([[1.0, 0.8, 0.2], [0.8, 1.0, 0.4], [0.2, 0.4, 1.0]])
    >>> round(cophenetic_correlation(C), 4)          # 5 / (2√7)
    0.9449
    >>> cophenetic_correlation(np.kron(np.eye(2), np.ones((2, 2))))   # perfect
    1.0
    """
    C = _check_consensus(C, "cophenetic_correlation", min_size=2)
    D = 1.0 - C
    np.fill_diagonal(D, 0.0)
    distances = squareform(D, checks=False)  # the upper triangle, row by row
    if np.ptp(distances) <= 1e-12:
        return 1.0
    rho, _ = cophenet(linkage(distances, method="average"), distances)
    return float(rho)


def dispersion(C):
    """Dispersion coefficient of a consensus matrix (Kim & Park 2007).

    ρ = (1/n²) Σ_ij 4 (C_ij − ½)² (Kim & Park 2007, "Sparse non-negative matrix
    factorizations via alternating non-negativity-constrained least squares for
    microarray data analysis", Bioinformatics 23:1495): how far the entries are
    from the undecided 0.5, on average over all n² entries (the diagonal included).

    Parameters
    ----------
    C : array-like of shape (n, n)
        A consensus matrix (:func:`consensus_matrix`): square, symmetric, entries in
        [0, 1].

    Returns
    -------
    float
        In [0, 1]: 1 for a perfect consensus (every entry 0 or 1), 0 when every entry
        is 0.5.  The rank with the largest dispersion is the most stable.

    Raises
    ------
    ValueError
        When C is not square, not symmetric, or has NaN or entries outside [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.metrics import dispersion
    >>> dispersion(np.kron(np.eye(2), np.ones((2, 2))))
    1.0
    >>> dispersion(np.full((3, 3), 0.5))
    0.0
    """
    C = _check_consensus(C, "dispersion", min_size=1)
    return float(np.mean(4.0 * (C - 0.5) ** 2))


# --------------------------------------------------------------------------- known labels
def _label_vector(labels, what, function):
    """Labels as a 1-D array of integer codes 0, 1, ... in order of first appearance (any
    hashable labels: no sorting, so strings and numbers may mix, and 1 is not "1")."""
    if isinstance(labels, (np.ndarray, pd.Series, pd.Index)):
        values = np.asarray(labels)
    else:  # object entries one by one, so that tuples stay labels, not rows
        values = np.fromiter(labels, dtype=object)
    if values.ndim != 1:
        raise ValueError(f"{function}: {what} must be a 1-D sequence of labels, got shape "
                         f"{values.shape}.")
    try:
        codes, _ = pd.factorize(values, use_na_sentinel=False)
    except TypeError:
        first = next(v for v in values if not isinstance(v, Hashable))
        raise ValueError(f"{function}: {what} must be a 1-D sequence of hashable labels; "
                         f"it holds a {type(first).__name__} ({first!r}).") from None
    return codes


def _label_codes(labels_true, labels_pred, function):
    """Both labelings as integer codes, checked to label the same samples."""
    true = _label_vector(labels_true, "labels_true", function)
    pred = _label_vector(labels_pred, "labels_pred", function)
    if len(true) != len(pred):
        raise ValueError(f"{function}: labels_true has {len(true)} labels but labels_pred "
                         f"has {len(pred)}; both must label the same samples, in the same "
                         "order.")
    if len(true) == 0:
        raise ValueError(f"{function}: the labelings are empty; there is nothing to "
                         "compare.")
    return true, pred


def _contingency(labels_true, labels_pred, function):
    """n_ij: how many samples of true class i are in predicted cluster j."""
    true, pred = _label_codes(labels_true, labels_pred, function)
    q, K = true.max() + 1, pred.max() + 1
    return np.bincount(true * K + pred, minlength=q * K).reshape(q, K)


def purity(labels_true, labels_pred):
    """Purity of a clustering against known classes.

    Purity = (1/n) Σ_r max_i n_ir, where n_ir is the number of samples of class i in
    cluster r: each cluster is credited with its most frequent class (Zhao & Karypis
    2004, "Empirical and theoretical comparisons of selected criterion functions for
    document clustering", Machine Learning 55:311; Manning, Raghavan & Schütze
    2008, Introduction to Information Retrieval, §16.3).

    Parameters
    ----------
    labels_true : sequence of shape (n,)
        The known classes; any hashable values (strings, ints, ...).
    labels_pred : sequence of shape (n,)
        The clusters found (e.g. ``W.argmax(axis=1)``); any hashable values.

    Returns
    -------
    float
        In (0, 1]; 1 when every cluster holds one class.  Putting every sample in a
        cluster of its own also gives 1: read it beside the number of clusters, or use
        :func:`entropy` or :func:`adjusted_rand_index`.

    Raises
    ------
    ValueError
        When the two labelings have different lengths, or are empty.

    Examples
    --------
    >>> from nmfkit.metrics import purity
    >>> purity(["a", "a", "a", "b", "b", "c"], [0, 0, 1, 1, 1, 1])   # (2 + 2) / 6
    0.6666666666666666
    """
    counts = _contingency(labels_true, labels_pred, "purity")
    return float(counts.max(axis=0).sum() / counts.sum())


def entropy(labels_true, labels_pred):
    """Entropy of a clustering against known classes (Zhao & Karypis 2004).

    For cluster r of size n_r, E_r = −(1/log q) Σ_i (n_ir/n_r) log(n_ir/n_r), q the
    number of classes, and the entropy is Σ_r (n_r/n) E_r (Zhao & Karypis 2004,
    "Empirical and theoretical comparisons of selected criterion functions for document
    clustering", Machine Learning 55:311): how mixed the clusters are, on
    average weighted by their sizes; lower is better.

    Parameters
    ----------
    labels_true : sequence of shape (n,)
        The known classes; any hashable values.
    labels_pred : sequence of shape (n,)
        The clusters found; any hashable values.

    Returns
    -------
    float
        In [0, 1]; 0 when every cluster holds one class (and when there is one class
        only, q = 1), 1 when every cluster holds all q classes in equal shares.

    Raises
    ------
    ValueError
        When the two labelings have different lengths, or are empty.

    Examples
    --------
    >>> from nmfkit.metrics import entropy
    >>> round(entropy(["a", "a", "a", "b", "b", "c"], [0, 0, 1, 1, 1, 1]), 4)
    0.6309
    >>> entropy(["a", "a", "b"], ["x", "x", "y"])
    0.0
    """
    counts = _contingency(labels_true, labels_pred, "entropy")
    q = counts.shape[0]
    if q == 1:
        return 0.0
    sizes = counts.sum(axis=0)
    share = counts / sizes
    plogp = np.where(counts > 0, share * np.log(np.where(counts > 0, share, 1.0)), 0.0)
    per_cluster = -plogp.sum(axis=0) / np.log(q)
    # 0.0 first: max keeps it over the −0.0 of a pure clustering.
    return float(max(0.0, per_cluster @ (sizes / sizes.sum())))


def adjusted_rand_index(labels_true, labels_pred):
    """Adjusted Rand index of two labelings (Hubert & Arabie 1985).

    scikit-learn's :func:`sklearn.metrics.adjusted_rand_score`, on labels of any
    hashable type (they are numbered first, which the index does not see).

    Parameters
    ----------
    labels_true : sequence of shape (n,)
        The known classes (or a first clustering); any hashable values.
    labels_pred : sequence of shape (n,)
        The clusters found (or a second clustering); any hashable values.

    Returns
    -------
    float
        1 for identical partitions (up to renaming), about 0 for independent ones, and
        negative for less agreement than chance.

    Raises
    ------
    ValueError
        When the two labelings have different lengths, or are empty.

    Examples
    --------
    >>> from nmfkit.metrics import adjusted_rand_index
    >>> adjusted_rand_index(["a", "a", "b", "b"], [1, 1, 0, 0])
    1.0
    >>> round(adjusted_rand_index([0, 0, 1, 1], [0, 0, 1, 2]), 4)   # 4/7
    0.5714
    """
    from sklearn.metrics import adjusted_rand_score

    true, pred = _label_codes(labels_true, labels_pred, "adjusted_rand_index")
    return float(adjusted_rand_score(true, pred))


# --------------------------------------------------------------------- two factorizations
def _check_components(A, what, function):
    if sp.issparse(A):
        raise ValueError(f"{function}: {what} is sparse; correlations centre each row, "
                         f"which makes it dense: pass {what}.toarray().")
    A = _numeric(_host(A), what, function)
    if A.ndim != 2:
        raise ValueError(f"{function}: {what} must be 2-D, components as rows (k x n, like "
                         f"H or NMF.components_), got shape {A.shape}; for one component "
                         "use reshape(1, -1).")
    if A.shape[0] == 0:
        raise ValueError(f"{function}: {what} has no components (shape {A.shape}).")
    bad = ~np.isfinite(A)
    if bad.any():
        r, c = _first(bad)
        raise ValueError(f"{function}: {what} has {int(bad.sum())} NaN or infinite "
                         f"value(s) (first at row {r}, column {c}); pass finite factors.")
    return A.astype(np.float64, copy=False)


def _unit_centred_rows(A):
    """Rows of A centred and scaled to norm 1, so that U Vᵀ holds Pearson correlations;
    a constant row (max = min, tested on the raw values so rounding in the mean cannot
    make it look varied) becomes 0, i.e. correlation 0 with everything."""
    U = A - A.mean(axis=1, keepdims=True)
    norms = np.sqrt(np.einsum("ij,ij->i", U, U))
    varied = A.max(axis=1) > A.min(axis=1)
    U[~varied] = 0.0
    U[varied] /= norms[varied, None]
    return U


def match_components(A, B):
    """Pair the components of two factorizations, up to permutation.

    NMF finds its components in no particular order, so two runs (seeds, solvers,
    subsamples) are compared after matching: the Pearson correlation between every row
    of A and every row of B, then the one-to-one assignment that maximises the total
    correlation of the pairs (the Hungarian method, scipy's
    :func:`scipy.optimize.linear_sum_assignment`).

    Parameters
    ----------
    A : array-like of shape (k1, n)
        First factor, components as rows (like H or ``NMF.components_``); pass ``W.T``
        to compare W factors.
    B : array-like of shape (k2, n)
        Second factor, the same n columns (features, or samples for ``W.T``).

    Returns
    -------
    permutation : ndarray of shape (k1,)
        Integers: ``permutation[i]`` is the row of B matched to row i of A.  When
        k1 ≤ k2 every row of A is matched and, for k1 = k2, ``B[permutation]`` puts B
        in A's order; when k1 > k2 the k1 − k2 rows of A left unmatched get -1.
    correlations : ndarray of shape (min(k1, k2),)
        The correlations of the matched pairs, in the order of A's matched rows:
        ``correlations[t]`` belongs to row ``rows[t]`` of A, with
        ``rows = np.flatnonzero(permutation >= 0)`` (simply row t when k1 ≤ k2).

    Raises
    ------
    ValueError
        When A and B have different numbers of columns, are not 2-D, are empty, or hold
        NaN or infinite values.

    Notes
    -----
    A constant row (all entries equal, e.g. a component that died at 0) has no
    direction, so its correlation with anything is undefined; it is taken as 0.
    Correlation ignores scale, which NMF leaves free (W D, D⁻¹ H is the same fit).

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.metrics import match_components
    >>> A = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    >>> B = np.array([[6.0, 4.0, 2.0], [2.0, 4.0, 6.0]])   # A's rows, swapped and scaled
    >>> permutation, correlations = match_components(A, B)
    >>> permutation.tolist(), correlations.round(6).tolist()
    ([1, 0], [1.0, 1.0])
    """
    A = _check_components(A, "A", "match_components")
    B = _check_components(B, "B", "match_components")
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"match_components: A has shape {A.shape} and B has shape "
                         f"{B.shape}: they need the same number of columns n. Components "
                         "are rows (k x n, like H or NMF.components_); to compare W "
                         "factors, pass W.T.")
    R = np.clip(_unit_centred_rows(A) @ _unit_centred_rows(B).T, -1.0, 1.0)
    rows, cols = linear_sum_assignment(R, maximize=True)
    permutation = np.full(A.shape[0], -1, dtype=np.intp)
    permutation[rows] = cols
    return permutation, R[rows, cols]


def factor_similarity(A, B):
    """Similarity of two factors up to permutation: the mean matched correlation.

    The mean of the ``correlations`` of :func:`match_components`: 1 when B's components
    are A's (in any order and scale), near 0 for unrelated factors.

    Parameters
    ----------
    A : array-like of shape (k1, n)
        First factor, components as rows; pass ``W.T`` for W.
    B : array-like of shape (k2, n)
        Second factor, the same n columns.

    Returns
    -------
    float
        In [-1, 1], over the min(k1, k2) matched pairs.

    Raises
    ------
    ValueError
        As :func:`match_components`.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.metrics import factor_similarity
    >>> rng = np.random.default_rng(0)
    >>> H = rng.random((3, 50))
    >>> round(factor_similarity(H, 2.0 * H[[2, 0, 1]]), 6)
    1.0
    """
    _, correlations = match_components(A, B)
    return float(correlations.mean())
