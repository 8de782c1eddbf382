"""Choosing the rank k: cross-validation, consensus, stability, bi-cross-validation, elbow.

:func:`select_rank` fits NMF at each rank of a range and scores every rank by one or
several criteria, side by side:

``'cv'``
    Masked cross-validation (Wold's holdout, as RcppML's ``crossValidate`` does):
    entries of X are hidden, NMF is fitted to the others with ``missing='mask'``, and
    the hidden entries are predicted.  The best rank minimises the held-out error.
``'bcv'``
    Bi-cross-validation (Owen & Perry 2009, "Bi-cross-validation of the SVD and the
    nonnegative matrix factorization", Annals of Applied Statistics 3:564): a block of
    about half the rows and half the columns is held out, NMF is fitted to the
    opposite block, and the held-out block predicted from the two others.
``'consensus'``
    Brunet, Tamayo, Golub & Mesirov 2004 ("Metagenes and molecular pattern discovery
    using matrix factorization", PNAS 101:4164), as R's NMF package does it: random
    restarts, the consensus matrix of the samples' hard assignments, its cophenetic
    correlation and Kim & Park's (2007, "Sparse non-negative matrix factorizations via
    alternating non-negativity-constrained least squares for microarray data
    analysis", Bioinformatics 23:1495) dispersion.
``'stability'``
    As cNMF does (Kotliar et al. 2019, "Identifying gene expression programs of cell-type
    identity and cellular activity with single-cell RNA-Seq", eLife 8:e43803): the
    components of many restarts, grouped across runs; a rank whose components come back
    in every run is a rank the data support.
``'error'``
    Residual sum of squares and explained variance per rank, with an elbow rule: the
    quick look.

The rule each method uses to pick its best rank is given in :func:`select_rank`.
Several methods in one call share their fits where they can (the restarts of
``'consensus'``, ``'stability'`` and ``'error'`` are the same runs), and every fit is
seeded from ``random_state`` and what the fit is (its rank, and its fold or run), never
from which other methods were asked for: each method gives the same answer alone as
beside others.  The one dependence on the other ranks asked for is ``warm_start``
(on by default for dense X): each cross-validation fit starts from the fold's fit at the
next lower rank asked for, which cuts the iterations several-fold for the same errors.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array

from . import _data, metrics
from ._validation import beta_value, check_data_for_loss, check_form, raise_with_numeric_advice
from .estimators._base import hard_labels
from .estimators.nmf import NMF
from .objectives import Penalty, beta_divergence
from .solvers import resolve
from .solvers.anls import nnls

__all__ = ["select_rank", "RankSelection", "METHODS", "DENSE_CV_MAX_ENTRIES",
           "SILHOUETTE_THRESHOLD", "CONSENSUS_MAX_SAMPLES"]

METHODS = ("cv", "consensus", "stability", "bcv", "error")
"""The methods :func:`select_rank` knows."""

DENSE_CV_MAX_ENTRIES = 2 * 10**7
"""``method='cv'`` on a sparse X with at most this many entries (m·n) fits each fold on
a dense copy whose held-out entries are NaN (exact: every other zero is observed); a
larger X on its stored entries plus a sample of its zeros (see :func:`select_rank`)."""

SILHOUETTE_THRESHOLD = 0.8
"""``method='stability'`` picks the largest rank whose silhouette reaches this.
Components that come back in every run score near 1; a rank at which even one
component changes from run to run falls well below (its cluster spreads, and its
members sit close to other clusters' members)."""

CONSENSUS_MAX_SAMPLES = 10_000
"""``method='consensus'`` builds an n_samples x n_samples matrix per rank; above this
many rows of X it refuses, before any work, rather than run out of memory."""

# The purposes of the seeds: a fit's seed is a function of (random_state, purpose, rank,
# fold or run), so it is the same whichever other methods and ranks are computed.
_RESTARTS, _CV, _BCV = 0, 1, 2

# What each method puts in the table: (column, spread column or None, axis label).
_CRITERIA = {
    "cv": [("cv_error", "cv_error_std", "held-out error")],
    "consensus": [("cophenetic", None, "cophenetic correlation"),
                  ("dispersion", None, "dispersion")],
    "stability": [("silhouette", None, "silhouette of the components"),
                  ("reproducibility", "reproducibility_std", "reproducibility")],
    "bcv": [("bcv_error", "bcv_error_std", "bi-cross-validation error")],
    "error": [("rss", None, "residual sum of squares"),
              ("explained_variance", None, "explained variance")],
}


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, repr=False)
class RankSelection:
    """What :func:`select_rank` found.

    Attributes
    ----------
    best_rank : int
        The best rank of the first method asked for.
    best : dict
        Method name → its best rank, for every method computed.
    table : pandas.DataFrame
        One row per rank (index named ``'rank'``), one column per criterion and, where a
        criterion has a spread over folds or pairs of runs, its standard deviation:
        ``cv_error``, ``cv_error_std`` (``'cv'``); ``cophenetic``, ``dispersion``
        (``'consensus'``); ``silhouette``, ``reproducibility``, ``reproducibility_std``
        (``'stability'``); ``bcv_error``, ``bcv_error_std`` (``'bcv'``); ``rss``,
        ``explained_variance`` (``'error'``).
    methods : tuple of str
        The methods computed, in the order asked.
    consensus_ : dict
        With ``'consensus'``: rank → the n_samples x n_samples consensus matrix
        (ndarray; entry (i, j) is the fraction of runs in which rows i and j of X had the
        same strongest component).  Empty otherwise.
    sample_names : list or None
        The index of X when it was a DataFrame (labels of :meth:`plot_consensus`).
    """

    best_rank: int
    best: dict
    table: pd.DataFrame
    methods: tuple
    consensus_: dict = field(default_factory=dict)
    sample_names: list | None = None

    def __repr__(self):
        ranks = self.table.index.tolist()
        shown = ranks if len(ranks) <= 6 else f"{ranks[0]}..{ranks[-1]}"
        return (f"RankSelection(best_rank={self.best_rank}, best={self.best}, "
                f"ranks={shown})")

    def to_dict(self):
        """The result as JSON-ready Python values (what a model file keeps of it):
        everything but the consensus matrices, which grow with the square of the
        samples."""
        table = self.table
        return {"best_rank": int(self.best_rank),
                "best": {method: int(k) for method, k in self.best.items()},
                "methods": list(self.methods),
                "ranks": [int(k) for k in table.index],
                "columns": list(table.columns),
                "values": [[None if np.isnan(v) else float(v) for v in row]
                           for row in table.to_numpy(dtype=float)],
                "sample_names": (None if self.sample_names is None
                                 else [str(v) for v in self.sample_names])}

    @classmethod
    def from_dict(cls, data):
        """The result :meth:`to_dict` wrote (without consensus matrices)."""
        table = pd.DataFrame(np.array(data["values"], dtype=float).reshape(
            len(data["ranks"]), len(data["columns"])),
            index=pd.Index(data["ranks"], name="rank"), columns=data["columns"])
        return cls(best_rank=int(data["best_rank"]),
                   best={method: int(k) for method, k in data["best"].items()},
                   table=table, methods=tuple(data["methods"]),
                   sample_names=data.get("sample_names"))

    def plot(self):
        """Each criterion against rank, the best rank of its method marked.

        Returns
        -------
        matplotlib.figure.Figure
            One axes per criterion (a column of :attr:`table` that is not a spread),
            with error bars of one standard deviation where the criterion has one.

        Examples
        --------
        >>> import numpy as np
        >>> from nmfkit.rank import select_rank
        >>> X = np.random.default_rng(0).random((30, 3)) @ np.random.default_rng(1).random((3, 20))
        >>> fig = select_rank(X, ranks=range(2, 6), method="error", random_state=0).plot()
        >>> len(fig.axes)
        2
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        panels = [(method, *criterion) for method in self.methods
                  for criterion in _CRITERIA[method]]
        n_columns = min(3, len(panels))
        n_rows = -(-len(panels) // n_columns)
        fig = Figure(figsize=(4.2 * n_columns, 3.2 * n_rows), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        ranks = self.table.index.to_numpy()
        for i, (method, column, spread, label) in enumerate(panels):
            ax = fig.add_subplot(n_rows, n_columns, i + 1)
            values = self.table[column].to_numpy(dtype=float)
            errors = self.table[spread].to_numpy(dtype=float) if spread else None
            ax.errorbar(ranks, values, yerr=errors, marker="o", markersize=4, capsize=3,
                        color="#2563eb")
            best = self.best[method]
            ax.axvline(best, color="#dc2626", linestyle="--", linewidth=1,
                       label=f"best k = {best}")
            ax.set_xlabel("rank k")
            ax.set_ylabel(label)
            ax.set_title(f"{method}: {column}", fontsize=10)
            ax.set_xticks(ranks if len(ranks) <= 20 else ranks[::max(1, len(ranks) // 10)])
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        return fig

    def plot_consensus(self, rank=None):
        """Heat map of the consensus matrix at ``rank``, samples in dendrogram order.

        Rows and columns are ordered by the leaves of the average-linkage tree of the
        distances 1 − C (the tree whose cophenetic correlation the table reports), so
        stable clusters show as blocks on the diagonal.

        Parameters
        ----------
        rank : int or None, default=None
            A rank of the table; None: the best rank of ``'consensus'``.

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        ValueError
            When ``'consensus'`` was not computed, or ``rank`` is not one of its ranks.

        Examples
        --------
        >>> import numpy as np
        >>> from nmfkit.rank import select_rank
        >>> X = np.kron(np.eye(3), np.ones((10, 8))) + 0.1
        >>> result = select_rank(X, ranks=[2, 3, 4], method="consensus", n_runs=4,
        ...                      random_state=0)
        >>> result.plot_consensus(3).axes[0].get_title()
        'consensus matrix, k = 3 (cophenetic 1.000)'
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from scipy.cluster.hierarchy import leaves_list, linkage
        from scipy.spatial.distance import squareform

        if not self.consensus_:
            raise ValueError("no consensus matrices in this result: call select_rank with "
                             "method='consensus' (or a list of methods that includes it).")
        if rank is None:
            rank = self.best["consensus"]
        if rank not in self.consensus_:
            raise ValueError(f"no consensus matrix at rank {rank!r}; the ranks computed are "
                             f"{sorted(self.consensus_)}.")
        C = self.consensus_[rank]
        n = C.shape[0]
        if n > 2:
            D = 1.0 - (C + C.T) / 2
            np.fill_diagonal(D, 0.0)
            order = leaves_list(linkage(squareform(D, checks=False), method="average"))
        else:
            order = np.arange(n)
        size = min(9.0, 3.0 + 0.05 * n)
        fig = Figure(figsize=(size + 1.2, size), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        image = ax.imshow(C[np.ix_(order, order)], vmin=0.0, vmax=1.0, cmap="viridis",
                          interpolation="nearest")
        fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of runs together")
        if self.sample_names is not None and n <= 60:
            labels = [str(self.sample_names[i]) for i in order]
            ax.set_xticks(np.arange(n), labels, rotation=90, fontsize=7)
            ax.set_yticks(np.arange(n), labels, fontsize=7)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
        ax.set_xlabel("samples (dendrogram order)")
        cophenetic = self.table.loc[rank, "cophenetic"]
        ax.set_title(f"consensus matrix, k = {rank} (cophenetic {cophenetic:.3f})")
        return fig


# --------------------------------------------------------------------------- the function
def select_rank(X, ranks=range(2, 16), method="cv", *, n_runs=None, n_folds=5, holdout=0.1,
                rule="min", warm_start="auto", random_state=None, n_jobs=None, verbose=0,
                **nmf_params):
    """Score NMF at each rank of ``ranks`` by one or several criteria; pick the best.

    Parameters
    ----------
    X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
        Finite and non-negative (NaN is refused: the cross-validation methods hide
        entries themselves).  A sparse X is never densified, except a small one by
        ``'cv'`` (see Notes).
    ranks : int or iterable of int, default=range(2, 16)
        The ranks to compare; each at most min(n_samples, n_features), and for
        ``'bcv'`` at most the size of the retained block (about half of each).
    method : str or list of str, default='cv'
        One of :data:`METHODS` or a list of them: ``'cv'``, ``'consensus'``,
        ``'stability'``, ``'bcv'``, ``'error'``.
    n_runs : int or None, default=None
        Restarts per rank for ``'consensus'`` and ``'stability'`` (at least 2; None:
        30), and for ``'error'`` (None: 1; with more, the lowest residual of the runs
        counts).  The methods share the runs: run r at rank k is one fit whichever
        methods read it.
    n_folds : int, default=5
        Folds of ``'cv'`` and of ``'bcv'`` (at least 2).
    holdout : float, default=0.1
        ``'cv'``: the fraction of entries each fold holds out (for sparse X, of stored
        entries; as many zeros are held out besides).  The folds hold out disjoint
        slices of one random permutation, so ``n_folds * holdout`` must be at most 1.
    rule : {'min', '1se'}, default='min'
        ``'cv'`` and ``'bcv'``: ``'min'`` takes the rank of lowest mean error over the
        folds; ``'1se'`` the smallest rank whose mean error is within one standard error
        (standard deviation over folds / √n_folds) of that minimum.
    warm_start : bool or 'auto', default='auto'
        ``'cv'``: each fold fits the ranks in increasing order, the lowest from ``init``
        and each next one from the fit before it plus, for its new components, NNDSVDa
        of the positive part of that fit's residual on the fold's visible entries
        (max(X − WH, 0)): the components found so far are kept where they are and the
        new ones start where the data are under-fitted.  The held-out errors are those
        of fits from scratch (to the spread between restarts) at a fraction of the
        iterations.  The folds run in parallel, the ranks of a fold one after another.
        False: every fit starts from ``init``, independently.  ``'auto'``: True for a
        dense X, False for a sparse one, where NNDSVDa from scratch starts so close to
        a mostly-zero X's optimum that warm starts took about twice the iterations
        (benchmarks/RESULTS.md).
    random_state : int, RandomState or Generator instance, or None, default=None
        Seed of the folds, splits and restarts.
    n_jobs : int or None, default=None
        Fits run in parallel by joblib (None: one at a time, unless inside a
        ``joblib.parallel_config`` context; -1: all cores).  With more than one job each
        fit keeps BLAS to one thread.  On a Dask cluster: call it inside
        ``joblib.parallel_config(backend="dask")`` with a ``distributed.Client``
        active, and each fit is a task on the cluster's workers.
    verbose : int, default=0
        1 or more: a progress bar over the fits (tqdm).
    **nmf_params
        Parameters of :class:`nmfkit.NMF` for every fit (``beta_loss``, ``solver``,
        ``max_iter``, ``tol``, ``init``, ``alpha_W``...).  ``n_components`` and
        ``missing`` are select_rank's to set.  ``init`` applies to the cross-validation
        fits and to the first restart of each rank; the other restarts are random, as
        Brunet et al.'s are.

    Returns
    -------
    RankSelection
        ``.best_rank``, ``.best`` (method → rank), ``.table`` (DataFrame indexed by
        rank), ``.plot()``, and for ``'consensus'`` ``.consensus_`` and
        ``.plot_consensus(rank)``.

    Raises
    ------
    ValueError
        Before any work: X negative, NaN or infinite; a rank not a positive int or too
        large; an unknown method (the message lists the valid ones); ``n_runs < 2`` for
        ``'consensus'`` or ``'stability'``; fewer than 3 ranks for ``'error'``; an
        ``nmf_params`` value NMF refuses.
    TypeError
        An ``nmf_params`` name that is not a parameter of :class:`nmfkit.NMF`.

    Notes
    -----
    How each method scores a rank, and which rank it calls best:

    ``'cv'``
        Each fold hides a disjoint random slice of ``holdout`` of the entries (no row
        or column is hidden whole), fits ``NMF(k, missing='mask')`` to the rest and
        scores the hidden entries: mean squared error for the Frobenius loss, the mean
        β-divergence D_β(x | WH) for another ``beta_loss``.  Every rank sees the same
        folds.  Best: lowest mean over folds (or ``rule='1se'``).  Sparse X: a fold
        hides ``holdout`` of the stored entries and as many zeros, so its error weighs
        the two alike.  Masked NMF treats the absent entries of a sparse X as
        unobserved, so the observed zeros must be stored: when m·n is at most
        :data:`DENSE_CV_MAX_ENTRIES` the fold is fitted on a dense copy with the hidden
        entries NaN (exact); above it, on the stored entries plus as many randomly
        chosen zeros, stored as explicit zeros (an approximation: the other zeros are
        left out of the fit, which then overrates small values; it keeps memory at
        O(nnz)).
    ``'bcv'``
        Owen & Perry 2009: each fold picks ⌊m/2⌋ rows I and ⌊n/2⌋ columns J at random,
        fits NMF of rank k to the retained block D = X[I', J'] (D ≈ W_D H_D), solves
        the non-negative least-squares problems X[I, J'] ≈ W_B H_D for W_B and
        X[I', J] ≈ W_D H_C for H_C, and predicts the held-out block X[I, J] ≈ W_B H_C;
        the error is its mean squared error (whatever ``beta_loss`` the fit of D used).
        Best: as ``'cv'``.
    ``'consensus'``
        ``n_runs`` restarts per rank; each labels every row i of X by its strongest
        component, the j of largest W_ij·‖h_j‖ (component j's part of row i of WH: raw
        W is not comparable across components, since W and H trade scale); the
        consensus matrix is the fraction of runs in which two rows share a label
        (:func:`nmfkit.metrics.consensus_matrix`), and the table gives its
        :func:`~nmfkit.metrics.cophenetic_correlation` and
        :func:`~nmfkit.metrics.dispersion`.  Best: the largest rank of largest
        dispersion (Kim & Park 2007), so among ranks whose runs all agree (fewer
        components merge whole clusters, and do it alike every run) the finest.  The
        cophenetic correlation is reported beside it, but not used to pick: when a
        rank above the true one splits a cluster differently from run to run, the
        consensus is still a set of nested blocks, which a tree represents almost
        exactly, so the correlation stays near 1 and its "largest drop" (Brunet et
        al.'s reading) tends to fall at the end of the range, where the curve
        steepens, rather than just after the true rank.
    ``'stability'``
        The components (rows of H, scaled to unit norm) of ``n_runs`` restarts per rank
        are grouped into k clusters by matching each run to the run of lowest
        objective (the Hungarian method, :func:`nmfkit.metrics.match_components`):
        unlike k-means on the pooled components, this keeps exactly one component of
        each run in each cluster and needs no seed.  ``silhouette`` is the silhouette
        of that grouping under the cosine distance, ``reproducibility`` the mean
        :func:`~nmfkit.metrics.factor_similarity` over all pairs of runs.  Best: the
        largest rank whose silhouette is at least :data:`SILHOUETTE_THRESHOLD`; if
        none, the rank of largest silhouette.  (k = 1 has no silhouette: NaN.)
    ``'error'``
        RSS (:func:`~nmfkit.metrics.residual_sum_of_squares`) and
        :func:`~nmfkit.metrics.explained_variance` of the first restart per rank (the
        lowest RSS of ``n_runs`` restarts when given).  Best: the elbow of RSS against
        rank, by the kneedle rule (Satopää et al. 2011): with both axes scaled to [0, 1],
        the rank farthest below the chord from the first rank to the last.  Needs at
        least 3 ranks.

    When ``method`` lists several methods, ``best_rank`` is the first one's; each
    method's answer is the one it gives alone with the same ``random_state``.

    The errors of neighbouring ranks can differ by less than NMF's default stopping
    rule (``tol=1e-4``) leaves unfitted: on data with little noise, a fit that stopped
    early at the true rank can make one more component look useful.  If the best rank
    of ``'cv'`` or ``'bcv'`` moves when ``tol`` is lowered (e.g. ``tol=1e-5,
    max_iter=1000``), trust the lower tolerance.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.rank import select_rank
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((60, 3)) @ rng.random((3, 40))
    >>> X += 0.05 * X.std() * rng.random((60, 40))
    >>> result = select_rank(X, ranks=range(1, 7), random_state=0)
    >>> result.best_rank
    3
    >>> result.table.columns.tolist()
    ['cv_error', 'cv_error_std']
    >>> both = select_rank(X, ranks=range(2, 7), method=["cv", "error"], random_state=0)
    >>> both.best
    {'cv': 3, 'error': 3}
    """
    methods = _check_methods(method)
    names = X.index.tolist() if isinstance(X, pd.DataFrame) else None
    X = _check_X(X)
    n_runs_of = _check_counts(methods, n_runs, n_folds, holdout, rule, n_jobs, verbose)
    if isinstance(warm_start, str) and warm_start == "auto":
        warm_start = not sp.issparse(X)
    if not isinstance(warm_start, (bool, np.bool_)):
        raise ValueError(f"warm_start must be True, False or 'auto'; got {warm_start!r}.")
    ks = _check_ranks(ranks, X.shape, methods)
    params = _check_nmf_params(nmf_params, X, methods)
    if "consensus" in methods:
        _check_consensus_rows(X)
    if "error" in methods and len(ks) < 3:
        raise ValueError(f"method='error' finds the elbow of RSS against rank, which needs "
                         f"at least 3 ranks; got ranks={ks}.")
    entropy = _entropy(random_state)
    runs_needed = max((n_runs_of[name] for name in methods if name in n_runs_of), default=0)
    tasks = _plan(X, ks, methods, params, entropy, n_folds, holdout, runs_needed,
                  bool(warm_start))
    by_task = {}
    for (kind, k, index, _, _), out in zip(tasks, _run_tasks(X, tasks, params, n_jobs,
                                                              verbose)):
        if kind == "cv-chain":  # one fold's fits at every rank, lowest first
            by_task.update((("cv", rank_k, index), one) for rank_k, one in zip(ks, out))
        else:
            by_task[(kind, k, index)] = out
    results = list(by_task.values())
    not_converged = sum(1 for out in results if not out["converged"])
    if not_converged:
        warnings.warn(
            f"{not_converged} of {len(results)} fits stopped at max_iter="
            f"{params.get('max_iter', 200)} before converging (tol={params.get('tol', 1e-4)}); "
            "the criteria may be noisy — pass a larger max_iter.",
            ConvergenceWarning, stacklevel=2)

    columns, best, consensus = {}, {}, {}
    for name in methods:
        if name in ("cv", "bcv"):
            per_rank = [[by_task[(name, k, f)] for f in range(n_folds)] for k in ks]
            found, best[name] = _score_folds(name, ks, per_rank, rule)
        else:
            per_rank = [[by_task[("restart", k, r)] for r in range(n_runs_of[name])]
                        for k in ks]
            score = {"consensus": _score_consensus, "stability": _score_stability,
                     "error": _score_error}[name]
            found, best[name] = score(ks, per_rank)
            if name == "consensus":
                consensus = dict(zip(ks, found.pop("matrices")))
        columns.update(found)
    table = pd.DataFrame(columns, index=pd.Index(ks, name="rank"))
    return RankSelection(best_rank=best[methods[0]], best=best, table=table,
                         methods=tuple(methods), consensus_=consensus, sample_names=names)


def _plan(X, ks, methods, params, entropy, n_folds, holdout, runs_needed, warm_start):
    """The fits to run: ``(kind, rank, fold or run, spec, seed)`` for each (a
    ``'cv-chain'`` task is a fold's fits at all ranks: rank None, seeds per rank)."""
    m, n = X.shape
    tasks = []
    if "cv" in methods:
        folds = _cv_folds(X, n_folds, holdout, np.random.default_rng(_seed(entropy, _CV)))
        beta = _beta(params)
        if warm_start:
            tasks += [("cv-chain", None, f, (folds[f], beta, ks),
                       [_seed(entropy, _CV, k, f) for k in ks]) for f in range(n_folds)]
        else:
            tasks += [("cv", k, f, (folds[f], beta), _seed(entropy, _CV, k, f))
                      for k in ks for f in range(n_folds)]
    if "bcv" in methods:
        splits = [_bcv_split(m, n, np.random.default_rng(_seed(entropy, _BCV, f)))
                  for f in range(n_folds)]
        tasks += [("bcv", k, f, splits[f], _seed(entropy, _BCV, k, f))
                  for k in ks for f in range(n_folds)]
    # What each restart keeps for the methods that read it.
    wants = tuple(want for name, want in (("consensus", "labels"), ("stability", "components"),
                                          ("error", "rss")) if name in methods)
    first_init = params.get("init", "auto")
    tasks += [("restart", k, r, (first_init if r == 0 else "random", wants),
               _seed(entropy, _RESTARTS, k, r))
              for k in ks for r in range(runs_needed)]
    return tasks


# --------------------------------------------------------------------------- checks
def _check_methods(method):
    valid = ", ".join(repr(name) for name in METHODS)
    if isinstance(method, str):
        asked = [method]
    else:
        try:
            asked = list(method)
        except TypeError:
            raise TypeError(f"method must be a str or a list of str among {valid}; got "
                            f"{method!r}.") from None
    if not asked:
        raise ValueError(f"method is empty; pass one of {valid}, or a list of them.")
    for name in asked:
        if not isinstance(name, str) or name not in METHODS:
            raise ValueError(f"unknown method {name!r}; the valid methods are {valid} (or a "
                             "list of them).")
    return list(dict.fromkeys(asked))


def _check_X(X):
    check_form(X, "select_rank")
    try:
        X = check_array(X, accept_sparse=("csr", "csc", "coo"),
                        dtype=[np.float64, np.float32], ensure_all_finite=False,
                        ensure_min_samples=2, ensure_min_features=2, input_name="X")
    except (TypeError, ValueError) as exc:
        raise_with_numeric_advice(exc, "select_rank")
        raise
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
        values = X.data
    else:
        values = X
    if values.size and values.min() >= 0 and np.isfinite(values.max()):
        if values.max() == 0:
            raise ValueError("X is all zeros: there is nothing to factorize, at any rank.")
        return X
    if not values.size:
        raise ValueError("X is all zeros (a sparse X with no stored entry): there is "
                         "nothing to factorize, at any rank.")
    for kind, bad in (("NaN", np.isnan(values)), ("infinite", np.isinf(values))):
        if bad.any():
            r, c = _position(X, bad)
            raise ValueError(
                f"X has {int(bad.sum())} {kind} entr{'y' if bad.sum() == 1 else 'ies'} "
                f"(first at row {r}, column {c}); select_rank needs X finite and >= 0. "
                "Impute or drop them ('cv' and 'bcv' hide entries themselves: no "
                "missing='mask' is needed or accepted).")
    negative = values < 0
    r, c = _position(X, negative)
    count = int(negative.sum())
    raise ValueError(
        f"X has {count} negative entr{'y' if count == 1 else 'ies'} (first at row {r}, "
        f"column {c}, value {float(X[r, c]):.6g}); NMF needs X >= 0 — shift or clip the "
        "data.")


def _position(X, mask):
    """(row, column) of the first flagged entry (row-major; CSR order for sparse X)."""
    first = int(np.argmax(mask.ravel()))
    if sp.issparse(X):
        row = int(np.searchsorted(X.indptr, first, side="right") - 1)
        return row, int(X.indices[first])
    return tuple(int(i) for i in np.unravel_index(first, mask.shape))


def _check_counts(methods, n_runs, n_folds, holdout, rule, n_jobs, verbose):
    """Check the scalar parameters; return method → restarts it reads."""
    def is_int(value):
        return isinstance(value, Integral) and not isinstance(value, bool)

    if n_runs is not None and (not is_int(n_runs) or n_runs < 1):
        raise ValueError(f"n_runs must be a positive int or None; got {n_runs!r}.")
    runs = {}
    for name in ("consensus", "stability"):
        if name in methods:
            runs[name] = 30 if n_runs is None else int(n_runs)
            if runs[name] < 2:
                raise ValueError(f"method={name!r} compares restarts, so n_runs must be at "
                                 f"least 2; got n_runs={n_runs!r} (None gives 30).")
    if "error" in methods:
        runs["error"] = 1 if n_runs is None else int(n_runs)
    if not is_int(n_folds) or n_folds < 2:
        raise ValueError(f"n_folds must be an int >= 2 (the spread over folds needs two); "
                         f"got {n_folds!r}.")
    if isinstance(holdout, bool) or not isinstance(holdout, Real) or not 0 < holdout < 1:
        raise ValueError(f"holdout must be a fraction of the entries, a float in (0, 1); "
                         f"got {holdout!r}.")
    if "cv" in methods and n_folds * holdout > 1 + 1e-12:
        raise ValueError(f"the folds hold out disjoint slices of the entries, so "
                         f"n_folds * holdout must be at most 1; got n_folds={n_folds} and "
                         f"holdout={holdout} ({n_folds * holdout:g}). Lower one of them.")
    if rule not in ("min", "1se"):
        raise ValueError(f"rule must be 'min' or '1se'; got {rule!r}.")
    if n_jobs is not None and (not is_int(n_jobs) or n_jobs == 0):
        raise ValueError(f"n_jobs must be None or a non-zero int (-1: all cores); got "
                         f"{n_jobs!r}.")
    if not (isinstance(verbose, (bool, np.bool_)) or (is_int(verbose) and verbose >= 0)):
        raise ValueError(f"verbose must be an int >= 0 or a bool; got {verbose!r}.")
    return runs


def _check_ranks(ranks, shape, methods):
    if isinstance(ranks, Integral) and not isinstance(ranks, bool):
        ranks = [ranks]
    try:
        values = list(ranks)
    except TypeError:
        raise TypeError(f"ranks must be an int or an iterable of ints, e.g. range(2, 16); "
                        f"got {ranks!r}.") from None
    if not values:
        raise ValueError("ranks is empty; pass the ranks to compare, e.g. range(2, 16).")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ValueError(f"ranks must be positive ints; got {value!r} among the ranks.")
    ks = sorted({int(value) for value in values})
    m, n = shape
    limit, where = min(m, n), f"min(n_samples, n_features) = {min(m, n)} for X of shape {shape}"
    if "bcv" in methods and min(m - m // 2, n - n // 2) < limit:
        limit = min(m - m // 2, n - n // 2)
        where = (f"{limit} for method='bcv' (the retained block of X, shape {shape}, is "
                 f"{m - m // 2} x {n - n // 2})")
    too_large = [k for k in ks if k > limit]
    if too_large:
        raise ValueError(f"ranks {too_large} are above {where}; pass ranks up to {limit}.")
    return ks


def _check_nmf_params(nmf_params, X, methods):

    for name, why in (("n_components", "ranks gives the rank of each fit"),
                      ("missing", "'cv' fits with missing='mask' and the other methods "
                                  "with missing='error'; X must be finite")):
        if name in nmf_params:
            raise ValueError(f"{name!r} is set by select_rank ({why}); remove it from the "
                             "keyword arguments.")
    known = set(NMF().get_params())
    unknown = sorted(set(nmf_params) - known)
    if unknown:
        passed_on = sorted(known - {"n_components", "missing", "random_state", "verbose"})
        raise TypeError(f"select_rank got unexpected keyword argument(s) {unknown}; besides "
                        f"its own parameters it passes on those of nmfkit.NMF: {passed_on}.")
    if nmf_params.get("init") == "custom":
        raise ValueError("init='custom' needs starting factors, which select_rank cannot "
                         "give at every rank; use 'auto', 'random' or an NNDSVD variant.")
    model = NMF(1, **nmf_params)
    model._check_params()
    beta = beta_value(model.beta_loss)
    penalized = Penalty.from_alphas(model.alpha_W, model.alpha_H, model.l1_ratio,
                                    X.shape).active
    problems = []
    if "cv" in methods:
        problems.append((True, sp.issparse(X) and _cv_large(X)))
    if set(methods) - {"cv"}:
        problems.append((False, sp.issparse(X)))
    for masked, sparse in problems:
        resolve(model.solver, problem="nmf", beta=beta, masked=masked,
                orthogonal=model.orthogonal, penalized=penalized, sparse=sparse,
                backend="numpy")
    if beta <= 0:
        check_data_for_loss(X, beta, masked=False)
    return dict(nmf_params)


def _check_consensus_rows(X):
    m = X.shape[0]
    if m > CONSENSUS_MAX_SAMPLES:
        raise ValueError(f"method='consensus' builds an n_samples x n_samples matrix per "
                         f"rank, and X has {m} rows (at most {CONSENSUS_MAX_SAMPLES}); "
                         "subsample the rows, or use method='stability', which compares "
                         "components instead.")
    sums = np.asarray(X.sum(axis=1)).ravel()
    zero = np.flatnonzero(sums == 0)
    if zero.size:
        raise ValueError(f"method='consensus' labels each row of X by its strongest "
                         f"component, and X has {zero.size} all-zero row(s) (first: row "
                         f"{int(zero[0])}), which no component explains; drop them.")


def _beta(params):
    return beta_value(params.get("beta_loss", "frobenius"))


def _entropy(random_state):
    """One integer the seeds of every fit derive from."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63 - 1))
    if isinstance(random_state, Integral) and not isinstance(random_state, bool) \
            and random_state >= 0:
        return int(random_state)
    raise ValueError(f"random_state must be an int >= 0, a numpy RandomState or Generator, "
                     f"or None; got {random_state!r}.")


def _seed(entropy, *key):
    """A 32-bit seed for the fit or split named by ``key``."""
    return int(np.random.SeedSequence([entropy, *key]).generate_state(1)[0])


# --------------------------------------------------------------------------- folds
@dataclass(frozen=True)
class _CVFold:
    """What one fold of 'cv' hides.

    ``held``: linear indices (row·n + column) of the held-out entries and ``values``:
    X there.  For a sparse X fitted on a sample (``large``), ``train_zeros``: linear
    indices of the zeros stored explicitly in the training matrix, and ``held_stored``:
    positions in ``X.data`` of the held-out stored entries.
    """

    held: np.ndarray
    values: np.ndarray
    large: bool = False
    held_stored: np.ndarray | None = None
    train_zeros: np.ndarray | None = None


def _cv_large(X):
    return X.shape[0] * X.shape[1] > DENSE_CV_MAX_ENTRIES


def _cv_folds(X, n_folds, holdout, rng):
    """The folds of 'cv': disjoint slices of one random permutation of the entries (of
    the stored entries and of a sample of the zeros, for sparse X)."""
    m, n = X.shape
    if not sp.issparse(X):
        size = max(1, int(round(holdout * m * n)))
        order = rng.choice(m * n, size=n_folds * size, replace=False)
        folds = []
        for f in range(n_folds):
            held = order[f * size:(f + 1) * size]
            held = held[_hides_no_whole_line(held, (m, n))]
            folds.append(_CVFold(held=held, values=X.reshape(-1)[held]))
        return folds
    stored = _linear_indices(X)
    size = max(1, int(round(holdout * X.nnz)))
    order = rng.permutation(X.nnz)[:n_folds * size]
    zeros_per_fold = min(size, (m * n - X.nnz) // n_folds)
    large = _cv_large(X)
    n_train_zeros = X.nnz - size if large else 0
    pool = _sample_zeros(stored, m * n, min(m * n - X.nnz,
                                            n_folds * zeros_per_fold + n_train_zeros), rng)
    folds = []
    for f in range(n_folds):
        held_stored = order[f * size:(f + 1) * size]
        held_zeros = pool[f * zeros_per_fold:(f + 1) * zeros_per_fold]
        if large:
            others = np.concatenate([pool[:f * zeros_per_fold],
                                     pool[(f + 1) * zeros_per_fold:]])
            held_stored, held_zeros, train_zeros = _observe_every_line(
                X.shape, stored, held_stored, held_zeros, others[:n_train_zeros], rng)
        held = np.concatenate([stored[held_stored], held_zeros])
        values = np.concatenate([X.data[held_stored], np.zeros(held_zeros.size, X.dtype)])
        if large:
            folds.append(_CVFold(held=held, values=values, large=True,
                                 held_stored=held_stored, train_zeros=train_zeros))
        else:
            keep = _hides_no_whole_line(held, (m, n))
            folds.append(_CVFold(held=held[keep], values=values[keep]))
    return folds


def _linear_indices(X):
    """row·n + column of each stored entry of a canonical CSR matrix (sorted)."""
    rows = np.repeat(np.arange(X.shape[0], dtype=np.int64), np.diff(X.indptr))
    return rows * X.shape[1] + X.indices.astype(np.int64)


def _contains(sorted_values, values):
    """Whether each of ``values`` is in the sorted array ``sorted_values``."""
    if sorted_values.size == 0:
        return np.zeros(values.shape, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_values, values), sorted_values.size - 1)
    return sorted_values[at] == values


def _sample_zeros(stored, size, count, rng):
    """``count`` distinct linear indices, in random order, of entries not in ``stored``
    (the sorted linear indices of the stored entries of a matrix of ``size`` entries)."""
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    if size - stored.size <= 4 * count:
        zeros = np.setdiff1d(np.arange(size, dtype=np.int64), stored, assume_unique=True)
        return rng.permutation(zeros)[:count]
    # Rejection sampling: zeros are most entries here, so few draws are wasted.
    picked = np.empty(0, dtype=np.int64)
    while picked.size < count:
        draws = rng.integers(0, size, size=2 * (count - picked.size) + 16, dtype=np.int64)
        picked = np.union1d(picked, draws[~_contains(stored, draws)])
    return rng.permutation(picked)[:count]


def _hides_no_whole_line(held, shape):
    """Mask over ``held`` (linear indices) that keeps one entry of every row and column
    it would hide whole observed: masked NMF needs an observed entry in each."""
    m, n = shape
    keep = np.ones(held.size, dtype=bool)
    for line, length in ((held // n, n), (held % n, m)):
        counts = np.bincount(line[keep], minlength=m if length == n else n)
        for i in np.flatnonzero(counts >= length).tolist():
            keep[np.flatnonzero(keep & (line == i))[0]] = False
    return keep


def _observe_every_line(shape, stored, held_stored, held_zeros, train_zeros, rng):
    """Give every row and column of a sampled training matrix an observed entry.

    A line left empty gets back one of its held-out entries (stored, else zero); a line
    with none (it has no stored entry and no sampled zero) gets one more stored zero.
    Returns the new (held_stored, held_zeros, train_zeros).
    """
    m, n = shape
    for axis, size in ((0, m), (1, n)):
        def line(linear):
            return linear // n if axis == 0 else linear % n

        kept = np.ones(stored.size, dtype=bool)
        kept[held_stored] = False
        observed = np.concatenate([stored[kept], train_zeros])
        empty = np.flatnonzero(np.bincount(line(observed), minlength=size) == 0)
        extra = []
        for i in empty.tolist():
            at = np.flatnonzero(line(stored[held_stored]) == i)
            if at.size:
                held_stored = np.delete(held_stored, at[0])
                continue
            at = np.flatnonzero(line(held_zeros) == i)
            if at.size:
                extra.append(int(held_zeros[at[0]]))
                held_zeros = np.delete(held_zeros, at[0])
                continue
            # No stored entry in the line, so every entry of it is an unused zero.
            other = int(rng.integers(n if axis == 0 else m))
            extra.append(i * n + other if axis == 0 else other * n + i)
        train_zeros = np.concatenate([train_zeros, np.asarray(extra, dtype=np.int64)])
    return held_stored, held_zeros, train_zeros


def _bcv_split(m, n, rng):
    """Owen & Perry's split: ⌊m/2⌋ held-out rows and ⌊n/2⌋ held-out columns."""
    return (np.sort(rng.choice(m, m // 2, replace=False)),
            np.sort(rng.choice(n, n // 2, replace=False)))


# --------------------------------------------------------------------------- the fits
def _run_tasks(X, tasks, params, n_jobs, verbose):
    from joblib import Parallel, delayed, effective_n_jobs

    one_thread = effective_n_jobs(n_jobs) > 1
    calls = (delayed(_task)(X, kind, k, index, spec, seed, params, one_thread)
             for kind, k, index, spec, seed in tasks)
    results = Parallel(n_jobs=n_jobs, return_as="generator")(calls)
    if verbose:
        from tqdm.auto import tqdm

        results = tqdm(results, total=len(tasks), desc="select_rank", unit="fit")
    return list(results)


def _task(X, kind, k, index, spec, seed, params, one_thread):
    if not one_thread:
        return _TASKS[kind](X, k, spec, seed, params)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _TASKS[kind](X, k, spec, seed, params)


def _fit(X, k, seed, params, start=None, **overrides):
    """(W, H, model, converged) of ``NMF(k, ...)`` on X (from ``start`` = (W, H) with
    ``init='custom'``), its convergence warning held back (select_rank reports the count
    once)."""
    model = NMF(k, random_state=seed, **{**params, **overrides})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = model.fit_transform(X) if start is None else model.fit_transform(X, W=start[0],
                                                                              H=start[1])
    converged = not (model.stop_reason_ == "max_iter reached" and model.tol > 0)
    return W, model.components_, model, converged


def _cv_train(X, fold):
    """The fold's visible entries as the matrix a masked fit takes."""
    m, n = X.shape
    if fold.large:
        keep = np.ones(X.nnz, dtype=bool)
        keep[fold.held_stored] = False
        stored = _linear_indices(X)[keep]
        linear = np.concatenate([stored, fold.train_zeros])
        data = np.concatenate([X.data[keep], np.zeros(fold.train_zeros.size, X.dtype)])
        train = sp.csr_matrix((data, (linear // n, linear % n)), shape=X.shape)
    else:
        train = X.toarray() if sp.issparse(X) else X.copy()
        train.reshape(-1)[fold.held] = np.nan
    return train


def _cv_error(X, fold, beta, W, H):
    """The fit's error on the fold's hidden entries."""
    n = X.shape[1]
    held = sp.csr_matrix((fold.values, (fold.held // n, fold.held % n)), shape=X.shape)
    divergence = beta_divergence(held, W, H, beta, missing=True)
    # β = 2: D is half the squared error; the table reports the mean squared error.
    return float((2.0 * divergence if beta == 2 else divergence) / fold.held.size)


def _cv_task(X, k, spec, seed, params):
    """Fit the fold's visible entries; the error on its hidden ones."""
    fold, beta = spec
    W, H, _, converged = _fit(_cv_train(X, fold), k, seed, params, missing="mask")
    return {"error": _cv_error(X, fold, beta, W, H), "converged": converged}


def _cv_chain_task(X, k, spec, seeds, params):
    """A fold's fits at every rank of ``ks``, lowest first, each from the one before
    (``warm_start``); their errors on the fold's hidden entries, in ``ks`` order."""
    fold, beta, ks = spec
    train = _cv_train(X, fold)
    outs, W, H = [], None, None
    for k, seed in zip(ks, seeds):
        start = None if W is None else _grown(train, W, H, k, seed)
        W, H, _, converged = _fit(train, k, seed, params, start=start, missing="mask",
                                  **({} if start is None else {"init": "custom"}))
        outs.append({"error": _cv_error(X, fold, beta, W, H), "converged": converged})
    return outs


def _grown(train, W, H, k, seed):
    """(W, H) of rank k from a fit of lower rank: its components as they are, and new
    ones from NNDSVDa of the positive part of its residual on the visible entries
    (NaN in a dense ``train``; the stored entries of a sparse one)."""
    # WH ≥ 0, so the residual is positive only where X is: on a mostly-zero X it is
    # formed at those entries alone, sparse.
    positive = train.count_nonzero() if sp.issparse(train) else np.count_nonzero(train > 0)
    if sp.issparse(train) or positive < 0.3 * train.shape[0] * train.shape[1]:
        S = _data.stored_entries(train if sp.issparse(train) else np.where(train > 0, train,
                                                                            0.0))
        R = sp.csr_matrix((np.maximum(S.values - _data.values_at(S, W, H), 0.0), S.cols,
                           S.indptr), shape=train.shape)
        R.eliminate_zeros()
    else:
        R = train - W @ H
        R[np.isnan(R)] = 0.0
        np.maximum(R, 0.0, out=R)
    from .init import initialize

    W_new, H_new = initialize(R, k - W.shape[1], "nndsvda", random_state=seed)
    # A residual with nothing left above the model (an exact fit) gives zero components,
    # which coordinate descent would never move: start them small instead.
    mean = float(W.sum(axis=0) @ H.sum(axis=1)) / (W.shape[0] * H.shape[1])
    floor = 1e-6 * np.sqrt(max(mean, 1e-300) / k)
    W_new, H_new = np.maximum(W_new, floor), np.maximum(H_new, floor)
    return np.hstack([W, W_new]), np.vstack([H, H_new])


def _bcv_task(X, k, spec, seed, params):
    """Owen & Perry 2009: fit the retained block D, predict the held-out block A from
    B (held-out rows, retained columns) and C (retained rows, held-out columns)."""
    rows, cols = spec
    kept_rows = np.setdiff1d(np.arange(X.shape[0]), rows)
    kept_cols = np.setdiff1d(np.arange(X.shape[1]), cols)
    top, bottom = X[rows], X[kept_rows]
    A, B = top[:, cols], top[:, kept_cols]
    C, D = bottom[:, cols], bottom[:, kept_cols]
    W_D, H_D, _, converged = _fit(D, k, seed, params)
    H_D, W_D = H_D.astype(np.float64), W_D.astype(np.float64)
    # min ‖B − W_B H_D‖ over W_B ≥ 0 and min ‖C − W_D H_C‖ over H_C ≥ 0, exactly.
    W_B = nnls(H_D @ H_D.T, _data.H_times_Xt(H_D, B)).T
    H_C = nnls(W_D.T @ W_D, _data.Wt_times_X(W_D, C))
    rss = metrics.residual_sum_of_squares(A, W_B, H_C)
    return {"error": float(rss / (A.shape[0] * A.shape[1])), "converged": converged}


def _restart_task(X, k, spec, seed, params):
    """One restart at rank k, reduced to what the methods read from it."""
    init, wants = spec
    W, H, model, converged = _fit(X, k, seed, params, init=init)
    out = {"objective": float(model.reconstruction_err_), "converged": converged}
    if "labels" in wants:
        out["labels"] = _strongest_component(W, H)
    if "components" in wants:
        H = np.asarray(H, dtype=np.float64)
        norms = np.linalg.norm(H, axis=1, keepdims=True)
        out["components"] = H / np.where(norms > 0, norms, 1.0)
    if "rss" in wants:
        out["rss"] = metrics.residual_sum_of_squares(X, W, H)
        out["explained_variance"] = metrics.explained_variance(X, W, H)
    return out


def _strongest_component(W, H):
    """The label of each row of X: the component j of largest W_ij·‖h_j‖, its part of
    row i of WH.  W and H trade scale (WD, D⁻¹H is the same fit), so W's columns alone
    are not comparable.  -1 for a row that no component explains."""
    return hard_labels(W * np.linalg.norm(np.asarray(H, dtype=np.float64), axis=1))


_TASKS = {"cv": _cv_task, "cv-chain": _cv_chain_task, "bcv": _bcv_task,
          "restart": _restart_task}


# --------------------------------------------------------------------------- criteria
def _score_folds(name, ks, per_rank, rule):
    """'cv' or 'bcv': mean and spread of the error over the folds, per rank."""
    errors = np.array([[out["error"] for out in outs] for outs in per_rank])
    mean, std = errors.mean(axis=1), errors.std(axis=1, ddof=1)
    best = _best_by_error(ks, mean, std, errors.shape[1], rule)
    return {f"{name}_error": mean, f"{name}_error_std": std}, best


def _score_consensus(ks, per_rank):
    matrices = []
    for outs in per_rank:
        C = metrics.consensus_matrix(np.array([out["labels"] for out in outs]))
        # A pair that no run assigned both of (a row left at zero in every run that
        # assigned the other) has no evidence of sharing a cluster.
        matrices.append(np.nan_to_num(C, nan=0.0))
    cophenetic = np.array([metrics.cophenetic_correlation(C) for C in matrices])
    dispersion = np.array([metrics.dispersion(C) for C in matrices])
    return ({"cophenetic": cophenetic, "dispersion": dispersion, "matrices": matrices},
            _best_by_consensus(ks, dispersion))


def _score_stability(ks, per_rank):
    scores = np.array([_stability(outs) for outs in per_rank])
    columns = {"silhouette": scores[:, 0], "reproducibility": scores[:, 1],
               "reproducibility_std": scores[:, 2]}
    return columns, _best_by_silhouette(ks, scores[:, 0])


def _score_error(ks, per_rank):
    chosen = [min(outs, key=lambda out: out["rss"]) for outs in per_rank]
    rss = np.array([out["rss"] for out in chosen])
    columns = {"rss": rss,
               "explained_variance": np.array([out["explained_variance"] for out in chosen])}
    return columns, _best_by_elbow(ks, rss)


def _stability(outs):
    """(silhouette, reproducibility, its spread) of the runs' components at one rank."""
    from sklearn.metrics import silhouette_score

    components = [out["components"] for out in outs]
    k = components[0].shape[0]
    reference = components[int(np.argmin([out["objective"] for out in outs]))]
    labels = []
    for H in components:
        permutation, _ = metrics.match_components(reference, H)
        run_labels = np.empty(k, dtype=np.intp)
        run_labels[permutation] = np.arange(k)
        labels.append(run_labels)
    silhouette = np.nan
    if k >= 2:
        silhouette = float(silhouette_score(np.vstack(components), np.concatenate(labels),
                                            metric="cosine"))
    pairs = [metrics.factor_similarity(components[a], components[b])
             for a in range(len(components)) for b in range(a + 1, len(components))]
    spread = float(np.std(pairs, ddof=1)) if len(pairs) > 1 else 0.0
    return silhouette, float(np.mean(pairs)), spread


def _best_by_error(ks, mean, std, n_folds, rule):
    best = int(np.nanargmin(mean))
    if rule == "min":
        return ks[best]
    threshold = mean[best] + std[best] / np.sqrt(n_folds)
    return ks[int(np.flatnonzero(mean <= threshold)[0])]


def _best_by_consensus(ks, dispersion):
    """The largest rank of largest dispersion: several ranks can have a perfect
    consensus (fewer components merge whole clusters the same way every run); the
    largest of them splits the samples most finely while every run agrees."""
    top = np.nanmax(dispersion)
    return ks[int(np.flatnonzero(dispersion >= top - 1e-9)[-1])]


def _best_by_silhouette(ks, silhouette):
    if np.all(np.isnan(silhouette)):
        return ks[0]
    stable = np.flatnonzero(silhouette >= SILHOUETTE_THRESHOLD)
    if stable.size:
        return ks[int(stable[-1])]
    return ks[int(np.nanargmax(silhouette))]


def _best_by_elbow(ks, rss):
    """Kneedle (Satopää, Albrecht, Irwin & Raghavan 2011): the point of a decreasing
    curve, both axes scaled to [0, 1], farthest below the chord joining its ends."""
    x = (np.asarray(ks, dtype=float) - ks[0]) / (ks[-1] - ks[0])
    spread = rss.max() - rss.min()
    if spread <= 0:
        return ks[0]
    y = (rss - rss.min()) / spread
    chord = y[0] + (y[-1] - y[0]) * x
    return ks[int(np.argmax(chord - y))]
