"""``nmfkit.TriNMF``: X ≈ F S Gᵀ with orthogonal non-negative F and G, for co-clustering.

The estimator says what its problem is and leaves the numerics to the registry's
``tri`` solvers (:mod:`nmfkit.solvers.tri`): validate (a networkx graph becomes its
sparse adjacency matrix) → decide between the general form X ≈ F S Gᵀ and the graph
form A ≈ H S Hᵀ → start F and G from clusterings of the rows and the columns → run the
restarts through the shared base → keep the factors, the labels and the biclusters.
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BiclusterMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .. import _backends, _sums, _validation
from .._validation import Interval, Options
from ..solvers import Settings, SolverParams, get, names
from ._base import FactorizationBase, fit_context, hard_labels, nnls_weights
from .symmetric import _node_array

#: Ding et al. 2006 start F and G from k-means indicators plus this constant, so that no
#: entry starts at 0 (a multiplicative rule never moves an entry away from 0).
INDICATOR_OFFSET = 0.2
#: k-means runs (best kept) behind each clustering start: MU keeps, to within a few
#: rows, the partition it starts from, so the start is the clustering.
KMEANS_RUNS = 10

TRI_PARAMETERS: dict = {
    "n_row_clusters": [Interval(Integral, 1, None, closed="left")],
    "n_column_clusters": [Interval(Integral, 1, None, closed="left"), None],
    "symmetric": [Options(("auto",)), "boolean"],
    "init": [Options(("auto", "kmeans", "random")), None],
    "solver": [Options(lambda: names("tri"))],
    "tol": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
    "n_init": [Interval(Integral, 1, None, closed="left")],
    "verbose": ["verbose"],
    "callback": ["callable", None],
    "weight": [str, None],
    "solver_options": ["dict", None],
    "device": "no_validation",  # checked by _validation.check_device
}

#: The solver names a symmetric fit accepts: the general rule's name stands for its
#: graph form.
_SYMMETRIC_SOLVER = "tri-mu-symmetric"
_SYMMETRIC_NAMES = ("auto", "tri-mu", _SYMMETRIC_SOLVER)


class TriNMF(BiclusterMixin, FactorizationBase):
    """Orthogonal non-negative matrix tri-factorization: X ≈ F S Gᵀ, for co-clustering.

    F ≥ 0 (n_samples x k) clusters the rows of X, G ≥ 0 (n_features x l) its columns,
    and S ≥ 0 (k x l) holds the weight of each block (row cluster, column cluster):
    the documents x words or users x items co-clustering of Ding, Li, Peng & Park 2006
    ("Orthogonal nonnegative matrix t-factorizations for clustering", KDD).  The
    objective is ½‖X − F S Gᵀ‖²_F with FᵀF = I and GᵀG = I approached by their
    multiplicative updates (:mod:`nmfkit.solvers.tri`): orthogonal non-negative
    columns have disjoint supports, so each row (column) belongs mainly to one cluster.
    For a graph the same paper fits A ≈ H S Hᵀ, one factor for both sides
    (``symmetric``).  Each iteration costs the two products X G and Xᵀ F, O(nnz·(k + l))
    for a sparse X, which is never densified.

    The updates keep, to within a few rows, the partition they start from, so the start
    matters: with ``init='auto'`` F starts from k-means of the rows of X scaled to unit
    norm and G from k-means of the columns, as Ding et al. do.

    Parameters
    ----------
    n_row_clusters : int, default=2
        k, the number of row clusters (columns of F).
    n_column_clusters : int or None, default=None
        l, the number of column clusters (columns of G); None: ``n_row_clusters``.
    symmetric : 'auto' or bool, default='auto'
        True: fit A ≈ H S Hᵀ (F = G = H) to a square symmetric X, the graph form;
        ``n_column_clusters`` must then be None or ``n_row_clusters``.  'auto': True
        when X is a networkx graph, else False.
    init : {'auto', 'kmeans', 'random'} or None, default='auto'
        Start of F and G.  'auto'/None/'kmeans': k-means indicators of the rows and the
        columns of X (rows and columns scaled to unit Euclidean norm) plus 0.2, columns
        scaled to unit norm (Ding et al.); 'random': uniform entries.  S starts as the
        least-squares S for the starting F and G.  Restarts after the first
        (``n_init``) draw fresh k-means seedings and add a random perturbation.
    solver : str, default='auto'
        'auto' or 'tri-mu' (Ding et al.'s multiplicative updates); a symmetric fit runs
        their graph form, 'tri-mu-symmetric'.  The registry's ``tri`` solvers
        (:func:`nmfkit.solvers.available`).
    tol : float, default=1e-4
        Stopping rule, as :class:`nmfkit.NMF`'s: stop when the objective fell on
        average by less than ``tol`` times its scale per iteration over 10 iterations.
    max_iter : int, default=500
        Maximum number of iterations.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means starts and of the restarts.
    n_init : int, default=1
        Number of starts; the fit of lowest objective is kept.
    verbose : int, default=0
        1: a progress bar; 2: one log line per iteration.
    callback : callable or None, default=None
        ``callback(iteration, F, Gᵀ, loss)`` after every iteration; True stops the fit.
    weight : str or None, default='weight'
        For a networkx graph: the edge attribute holding the weight (edges without it
        weigh 1); None fits the 0/1 adjacency matrix.
    solver_options : dict or None, default=None
        Tuning settings by name (:class:`nmfkit.solvers.Settings`); ``max_inner`` sets
        the repetitions of the S rule per iteration.
    device : None, 'cpu', 'cuda', 'cuda:N' or torch.device, default=None
        Where the fit runs, as in :class:`nmfkit.NMF` (None: where X lives; a GPU runs
        the same solver on PyTorch).  Fitted attributes are NumPy; ``fit_transform``
        returns the type of X.

    Attributes
    ----------
    F_ : ndarray of shape (n_samples, n_row_clusters)
        The row factor.
    S_ : ndarray of shape (n_row_clusters, n_column_clusters)
        The block weights.
    G_ : ndarray of shape (n_features, n_column_clusters)
        The column factor (``F_`` itself for a symmetric fit).
    components_ : ndarray of shape (n_row_clusters, n_features)
        ``S_ @ G_.T``: the profile of each row cluster over the columns, against which
        :meth:`transform` expresses new rows (and ``get_feature_names_out`` names).
    row_labels_ : ndarray of int, shape (n_samples,)
        The row cluster of each row: the column of its largest entry in ``F_``; -1 for
        a row of zeros (an empty row of X).
    column_labels_ : ndarray of int, shape (n_features,)
        The column cluster of each column, from ``G_`` likewise.
    rows_ : ndarray of bool, shape (n_row_clusters * n_column_clusters, n_samples)
        Bicluster ``i * n_column_clusters + j`` holds the rows of row cluster i and
        ``columns_`` its columns, those of column cluster j (scikit-learn's
        :class:`~sklearn.cluster.SpectralBiclustering` convention; ``biclusters_``,
        ``get_indices``, ``get_shape`` and ``get_submatrix`` read them).
    columns_ : ndarray of bool, shape (n_row_clusters * n_column_clusters, n_features)
    symmetric_ : bool
        Whether the graph form A ≈ H S Hᵀ was fitted.
    nodes_ : ndarray of shape (n_nodes,)
        For a networkx graph: its nodes in the order of the rows of ``F_``.
    reconstruction_err_ : float
        ‖X − F S Gᵀ‖_F.
    n_iter_, converged_, solver_, stop_reason_, loss_curve_, restarts_, n_features_in_
        As for :class:`nmfkit.NMF`.  The loss curve holds ½‖X − F S Gᵀ‖²; the F and G
        rules descend on the Lagrangian of the orthogonality constraints, so it can
        rise slightly while they make the factors orthogonal.
    feature_names_in_ : ndarray of str
        The column names of X, when X was a DataFrame with string columns.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import TriNMF
    >>> rng = np.random.default_rng(0)
    >>> rows, cols = np.repeat([0, 1], 10), np.repeat([0, 1, 2], 8)
    >>> blocks = np.array([[5.0, 1.0, 0.2], [0.5, 0.3, 4.0]])
    >>> X = blocks[rows][:, cols] + 0.1 * rng.random((20, 24))
    >>> model = TriNMF(2, 3, random_state=0).fit(X)
    >>> model.F_.shape, model.S_.shape, model.G_.shape
    ((20, 2), (2, 3), (24, 3))
    >>> from sklearn.metrics import adjusted_rand_score
    >>> adjusted_rand_score(rows, model.row_labels_), adjusted_rand_score(cols, model.column_labels_)
    (1.0, 1.0)
    """

    _parameters: dict = TRI_PARAMETERS
    _solver_problem = "tri"
    _saved_arrays = FactorizationBase._saved_arrays + (
        "F_", "S_", "G_", "row_labels_", "column_labels_", "rows_", "columns_", "nodes_")
    _saved_scalars = FactorizationBase._saved_scalars + ("symmetric_",)

    def __init__(self, n_row_clusters=2, n_column_clusters=None, *, symmetric="auto",
                 init="auto", solver="auto", tol=1e-4, max_iter=500, random_state=None,
                 n_init=1, verbose=0, callback=None, weight="weight", solver_options=None,
                 device=None):
        self.n_row_clusters = n_row_clusters
        self.n_column_clusters = n_column_clusters
        self.symmetric = symmetric
        self.init = init
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_init = n_init
        self.verbose = verbose
        self.callback = callback
        self.weight = weight
        self.solver_options = solver_options
        self.device = device

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, *, checkpoint=None, checkpoint_every=10, resume=None):
        """Fit X ≈ F S Gᵀ (or A ≈ H S Hᵀ).

        Parameters
        ----------
        X : array-like, sparse matrix of shape (n_samples, n_features), or networkx.Graph
            Non-negative data; an undirected graph is fitted through its adjacency
            matrix.
        y : ignored
        checkpoint, checkpoint_every, resume :
            Checkpoints of the fit and resuming from one (S is fitted afresh from the saved F and G), as in :meth:`nmfkit.NMF.fit_transform`.

        Returns
        -------
        self
        """
        self._check_params()
        checkpointing = self._checkpointing(checkpoint, checkpoint_every, resume)
        with fit_context():
            self._fit(X, checkpointing)
        return self

    def fit_transform(self, X, y=None, *, checkpoint=None, checkpoint_every=10, resume=None):
        """Fit, then return :meth:`transform` of X: each row's non-negative
        least-squares weights on the row-cluster profiles ``components_``.

        Parameters
        ----------
        X : array-like, sparse matrix or networkx.Graph
        y : ignored
        checkpoint, checkpoint_every, resume :
            As in :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_samples, n_row_clusters)
        """
        self._check_params()
        checkpointing = self._checkpointing(checkpoint, checkpoint_every, resume)
        with fit_context():
            placement = self._placement(X)
            X = self._fit(X, checkpointing)
        return placement.output(nnls_weights(self.components_, X))

    def _matrix(self, X):
        """(validated X, nodes or None, whether X was a graph)."""
        if _validation.is_graph(X):
            A, nodes = _validation.graph_adjacency(X, weight=self.weight, what="the graph")
            return self._validate_X(A, reset=True), _node_array(nodes), True
        return self._validate_X(X, reset=True), None, False

    def _problem(self, X, graph, backend="numpy"):
        """(symmetric, k, l, solver record) for X, checked before any work; ``backend``:
        where the fit runs."""
        symmetric = graph if self.symmetric == "auto" else bool(self.symmetric)
        m, n = X.shape
        k = self.n_row_clusters
        l = k if self.n_column_clusters is None else self.n_column_clusters
        if symmetric:
            if m != n:
                raise ValueError(
                    f"symmetric=True fits A ≈ H S Hᵀ and needs a square symmetric matrix; "
                    f"X has shape {X.shape}. Pass symmetric=False to fit X ≈ F S Gᵀ with "
                    "separate row and column factors.")
            if l != k:
                raise ValueError(
                    f"symmetric=True clusters rows and columns together, so "
                    f"n_column_clusters must be None or n_row_clusters={k}; got "
                    f"n_column_clusters={l}.")
            try:
                _validation.check_symmetric(X, what="X")
            except ValueError as error:
                raise ValueError(f"{error} Or pass symmetric=False to fit X ≈ F S Gᵀ with "
                                 "separate row and column factors.") from None
        if k > m:
            raise ValueError(f"n_row_clusters={k} is larger than n_samples={m}, the number "
                             f"of rows of X; pass n_row_clusters <= {m}.")
        if l > n:
            raise ValueError(f"n_column_clusters={l} is larger than n_features={n}, the "
                             f"number of columns of X; pass n_column_clusters <= {n}.")
        if not symmetric:
            if self.solver == _SYMMETRIC_SOLVER:
                raise ValueError(
                    f"solver={_SYMMETRIC_SOLVER!r} fits the graph form A ≈ H S Hᵀ; pass "
                    "symmetric=True (with a square symmetric X), or solver='auto'.")
            return False, k, l, self._resolve_solver(X, backend=backend)
        # The one place that decides which solver fits a symmetric A.
        if self.solver not in _SYMMETRIC_NAMES:
            raise ValueError(
                f"solver={self.solver!r} fits X ≈ F S Gᵀ with separate factors; "
                f"symmetric=True is fitted by solver={_SYMMETRIC_SOLVER!r} (or 'auto').")
        return True, k, k, get(_SYMMETRIC_SOLVER, self._solver_problem)

    def _fit(self, X, checkpointing=None):
        placement = self._placement(X)
        X, nodes, graph = self._matrix(X)
        symmetric, k, l, solver = self._problem(X, graph, placement.backend)
        _validation.warn_if_all_zero(X, "TriNMF")
        normX2 = _sums.squared_norm(X)
        params = SolverParams(max_iter=self.max_iter, random_state=self.random_state,
                              squared_norm_X=normX2,
                              settings=Settings.from_options(self.solver_options))
        init = "kmeans" if self.init in ("auto", None) else self.init
        seeds = self._restart_seeds()
        # The column start of the general form; one factor serves both sides of a graph.
        columns = None if symmetric else _backends.transpose(X)

        def start(restart):
            seed = seeds[restart]
            F0 = _start_factor(X, k, init, seed, perturb=restart > 0)
            G0 = F0 if symmetric else _start_factor(columns, l, init, seed, perturb=restart > 0)
            return F0, np.ascontiguousarray(G0.T)

        result, monitor = self._fit_restarts(
            X, solver, params, [start] * len(seeds),
            floor=10 * float(np.finfo(X.dtype).eps) * 0.5 * normX2, null_loss=0.5 * normX2,
            checkpointing=checkpointing, placement=placement)
        F = np.ascontiguousarray(_backends.to_numpy(result.W))
        G = np.ascontiguousarray(_backends.to_numpy(result.H).T)
        S = np.ascontiguousarray(_backends.to_numpy(result.S))
        self.F_, self.S_, self.G_ = F, S, (F if symmetric else G)
        self.components_ = np.ascontiguousarray(S @ self.G_.T)
        self.symmetric_ = symmetric
        self._set_fit_attributes(result, monitor, solver)
        self.row_labels_ = hard_labels(F)
        self.column_labels_ = self.row_labels_ if symmetric else hard_labels(self.G_)
        # scikit-learn's bicluster layout: bicluster i·l + j is (row cluster i, column cluster j).
        self.rows_ = np.repeat(self.row_labels_[None, :] == np.arange(k)[:, None], l, axis=0)
        self.columns_ = np.tile(self.column_labels_[None, :] == np.arange(l)[:, None], (k, 1))
        if nodes is not None:
            self.nodes_ = nodes
        elif hasattr(self, "nodes_"):
            del self.nodes_
        return X

    # ------------------------------------------------------------------ using a fit
    def transform(self, X):
        """Row-cluster weights of new rows: for each row x, the w ≥ 0 minimising
        ‖x − wᵀ components_‖² (exact non-negative least squares on the profiles
        S Gᵀ).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_new, n_features)

        Returns
        -------
        ndarray of shape (n_new, n_row_clusters)
        """
        check_is_fitted(self)
        return nnls_weights(self.components_, self._validate_X(X, reset=False))

    def inverse_transform(self, X):
        """Data from row-cluster weights: ``X @ components_`` (n_new x n_features)."""
        check_is_fitted(self)
        return X @ self.components_


def _start_factor(X, k, init, seed, *, perturb):
    """A start for the factor clustering the rows of X (n_rows x k), in X's dtype.

    'kmeans': Ding et al.'s start, k-means indicators of the rows of X scaled to unit
    norm, plus :data:`INDICATOR_OFFSET`; with ``perturb`` (restarts) the offset is drawn
    uniformly from [0, 2·offset] instead.  'random': uniform entries.  Columns are
    scaled to unit norm, the scale FᵀF = I asks for.
    """
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import normalize

    rng = check_random_state(seed)
    m = X.shape[0]
    if init == "random":
        F = rng.uniform(size=(m, k))
    else:
        if _backends.is_sparse(X):
            X = _int32_csr(X)
        labels = KMeans(k, n_init=KMEANS_RUNS, random_state=rng).fit_predict(normalize(X))
        offset = (rng.uniform(0, 2 * INDICATOR_OFFSET, size=(m, k)) if perturb
                  else INDICATOR_OFFSET)
        F = (labels[:, None] == np.arange(k)[None, :]) + offset
    F /= np.linalg.norm(F, axis=0)
    return np.ascontiguousarray(F, dtype=X.dtype)


def _int32_csr(X):
    """X as CSR with 32-bit indices where they fit: scikit-learn's k-means takes no
    others (networkx builds adjacency matrices with 64-bit indices)."""
    import scipy.sparse as sp

    X = sp.csr_matrix(X)
    if X.indices.dtype != np.int32 and max(X.shape[0], X.shape[1], X.nnz) < 2**31:
        X = sp.csr_matrix((X.data, X.indices.astype(np.int32), X.indptr.astype(np.int32)),
                          shape=X.shape)
    return X
