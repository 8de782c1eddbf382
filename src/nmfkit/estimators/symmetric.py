"""``nmfkit.SymmetricNMF``: A ≈ HHᵀ, H ≥ 0, for graphs and similarity matrices.

The estimator says what its problem is and leaves the numerics to the registry's
``symmetric`` solvers (:mod:`nmfkit.solvers.symmetric`): validate (a networkx graph
becomes its sparse adjacency matrix) → check symmetry → initialise → run the restarts
through the shared base → keep H, the memberships and the labels.
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from .. import _backends, _sums, _validation
from .._validation import Interval, Options
from ..init import initialize, resolve_init
from ..solvers import Settings, SolverParams, names
from ._base import (FactorizationBase, fit_context, hard_labels, nnls_weights,
                    soft_memberships)

SYMMETRIC_PARAMETERS: dict = {
    "n_components": [Interval(Integral, 1, None, closed="left")],
    "init": [Options(("auto", "random", "nndsvd", "nndsvda", "custom")), None],
    "solver": [Options(lambda: names("symmetric"))],
    "tol": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
    "n_init": [Interval(Integral, 1, None, closed="left")],
    "weight": [str, None],
    "normalize": ["boolean"],
    "verbose": ["verbose"],
    "callback": ["callable", None],
    "solver_options": ["dict", None],
    "device": "no_validation",  # checked by _validation.check_device
}


class SymmetricNMF(FactorizationBase):
    """Symmetric NMF: find H ≥ 0 with A ≈ HHᵀ, for a symmetric non-negative A.

    A is an adjacency matrix (a graph's edges, weighted or not) or a similarity matrix
    (a kernel between items).  Row i of H says how strongly node i belongs to each of
    the k components, so SymNMF clusters the nodes: it is the graph-clustering form of
    NMF (Kuang, Yun & Park 2015), comparable to spectral clustering but with
    non-negative, directly readable memberships.  The objective is ½‖A − HHᵀ‖²_F.

    Fitted by the registry's ``symmetric`` solvers (:mod:`nmfkit.solvers.symmetric`):
    the symmetry is dropped, A ≈ WVᵀ is fitted with a penalty ½α‖W − V‖² that pulls
    the two factors together (α = max(A)), and each factor is updated exactly by the
    NMF block rules.  Each iteration costs two products of A with an n x k matrix:
    O(nnz·k) for a sparse A, which is never densified.

    Parameters
    ----------
    n_components : int, default=2
        Rank k: the number of clusters (communities).
    init : {'auto', 'random', 'nndsvd', 'nndsvda', 'custom'} or None, default='auto'
        Start of H: 'auto'/None is 'nndsvda' (NNDSVD of A, zeros filled with the mean;
        deterministic), 'random' draws H at the scale √(mean(A)/k) as Kuang et al. do,
        'custom' uses the ``H`` passed to :meth:`fit`.  Restarts after the first
        (``n_init``) are random.
    solver : str, default='auto'
        'auto' or 'sym-hals' (HALS sweeps, Zhu, Li, Liu & Li 2018), 'sym-anls' (exact
        NNLS by block principal pivoting, Kuang et al. 2015); the registry's
        ``symmetric`` solvers (:func:`nmfkit.solvers.available`).
    tol : float, default=1e-4
        Stopping rule, as :class:`nmfkit.NMF`'s: stop when the objective fell on
        average by less than ``tol`` times its scale per iteration over 10 iterations.
    max_iter : int, default=500
        Maximum number of iterations.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation and of the restarts.
    n_init : int, default=1
        Number of starts; the fit of lowest objective is kept.
    weight : str or None, default='weight'
        For a networkx graph: the edge attribute holding the weight (edges without it
        weigh 1); None fits the 0/1 adjacency matrix.
    normalize : bool, default=False
        True: fit the normalised matrix D^(-1/2) A D^(-1/2) (D the diagonal of weighted
        degrees, the matrix of normalised spectral clustering), as Kuang, Yun & Park
        recommend for graph clustering: without it the high-degree nodes dominate
        ‖A − HHᵀ‖², and communities of low-degree nodes are merged or split.  ``H_``
        then factors the normalised matrix, and :meth:`transform` normalises the new
        rows with their own degrees and the fitted nodes' ``degrees_``.
    verbose : int, default=0
        1: a progress bar; 2: one log line per iteration.
    callback : callable or None
        ``callback(iteration, H, Hᵀ, loss)`` after every iteration; True stops the fit.
    solver_options : dict or None
        Tuning settings by name (:class:`nmfkit.solvers.Settings`), e.g.
        ``{"max_inner": 1}``.
    device : None, 'cpu', 'cuda', 'cuda:N' or torch.device, default=None
        Where the fit runs, as in :class:`nmfkit.NMF` (None: where X lives; a GPU runs
        the same solver on PyTorch).  Fitted attributes are NumPy; ``fit_transform``
        returns the type of X.

    Attributes
    ----------
    H_ : ndarray of shape (n_nodes, n_components)
        The factor: A ≈ H_ @ H_.T.
    memberships_ : ndarray of shape (n_nodes, n_components)
        Rows of ``H_`` scaled to sum to 1: soft memberships (a row of zeros, for a node
        with no edge, stays zero).
    labels_ : ndarray of int, shape (n_nodes,)
        The component of largest membership of each node; -1 for a node whose row of
        ``H_`` is zero (no edge to cluster it by).
    degrees_ : ndarray of shape (n_nodes,)
        The row sums of A (weighted degrees).
    nodes_ : ndarray of shape (n_nodes,)
        The graph's nodes in the order of the rows of ``H_`` (for a networkx graph), the
        column names of a DataFrame, or 0 … n − 1.
    components_ : ndarray of shape (n_components, n_nodes)
        ``H_.T``, so that :meth:`transform` and ``get_feature_names_out`` work as for
        the other estimators.
    n_components_ : int
    reconstruction_err_ : float
        ‖A − HHᵀ‖_F (of the normalised A when ``normalize``).
    n_iter_, converged_, solver_, stop_reason_, loss_curve_, restarts_, n_features_in_
        As for :class:`nmfkit.NMF` (the loss curve holds the penalised objective of the
        two factors the solver fits, which equals ½‖A − HHᵀ‖² when they agree).

    Examples
    --------
    >>> import networkx as nx
    >>> from nmfkit import SymmetricNMF
    >>> G = nx.karate_club_graph()
    >>> model = SymmetricNMF(2, weight=None, random_state=0).fit(G)
    >>> model.H_.shape, model.labels_.shape
    ((34, 2), (34,))
    >>> truth = [G.nodes[v]["club"] == "Officer" for v in model.nodes_]
    >>> agree = (model.labels_ == truth).mean()
    >>> bool(max(agree, 1 - agree) > 0.9)
    True
    """

    _parameters: dict = SYMMETRIC_PARAMETERS
    _solver_problem = "symmetric"
    _saved_arrays = FactorizationBase._saved_arrays + ("H_", "memberships_", "labels_", "nodes_",
                                                       "degrees_")

    def __init__(self, n_components=2, *, init="auto", solver="auto", tol=1e-4, max_iter=500,
                 random_state=None, n_init=1, weight="weight", normalize=False, verbose=0,
                 callback=None,
                 solver_options=None, device=None):
        self.n_components = n_components
        self.init = init
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_init = n_init
        self.weight = weight
        self.normalize = normalize
        self.verbose = verbose
        self.callback = callback
        self.solver_options = solver_options
        self.device = device

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, H=None, *, checkpoint=None, checkpoint_every=10, resume=None):
        """Fit A ≈ HHᵀ.

        Parameters
        ----------
        X : networkx.Graph, array-like or sparse matrix of shape (n_nodes, n_nodes)
            An undirected graph, or a symmetric non-negative matrix.
        y : ignored
        H : array-like of shape (n_nodes, n_components), optional
            The start, for ``init='custom'``.
        checkpoint, checkpoint_every, resume :
            Checkpoints of the fit and resuming from one, as in :meth:`nmfkit.NMF.fit_transform`.

        Returns
        -------
        self
        """
        self._check_params()
        checkpointing = self._checkpointing(checkpoint, checkpoint_every, resume)
        with fit_context():
            self._fit(X, H, checkpointing)
        return self

    def fit_transform(self, X, y=None, H=None, **checkpoints):
        """Fit and return ``H_`` (n_nodes x n_components), in the type and on the device
        of X (a torch tensor gets a tensor)."""
        self.fit(X, H=H, **checkpoints)
        return self._placement(X).output(self.H_)

    def fit_predict(self, X, y=None, H=None, **checkpoints):
        """Fit and return ``labels_``: each node's component."""
        return self.fit(X, H=H, **checkpoints).labels_

    def _fit(self, X, H, checkpointing=None):
        placement = self._placement(X)
        A, nodes = self._adjacency(X)
        _validation.check_symmetric(A, what="A")
        n, k = A.shape[0], self.n_components
        if k > n:
            raise ValueError(f"n_components={k} is larger than the number of nodes ({n}); "
                             f"pass n_components <= {n}.")
        solver = self._resolve_solver(A, backend=placement.backend)
        _validation.warn_if_all_zero(A, "SymmetricNMF")
        self.degrees_ = _degrees(A)
        if self.normalize:
            scale = _inverse_sqrt(self.degrees_)
            A = _scaled(A, scale, scale)
        normA2 = _sums.squared_norm(A)
        params = SolverParams(max_iter=self.max_iter, random_state=self.random_state,
                              squared_norm_X=normA2,
                              settings=Settings.from_options(self.solver_options))
        init = self.init if self.init not in ("auto", None) else (
            "custom" if H is not None else "nndsvda")
        if init == "custom":
            H0 = self._custom_start(H, n, k, A.dtype)
        elif H is not None:
            raise ValueError(f"H was passed to fit but init={self.init!r}; pass "
                             "init='custom' to start from it.")
        seeds = self._restart_seeds()

        def start(restart):
            if init == "custom" and restart == 0:
                V = H0
            else:
                scheme = resolve_init(init if restart == 0 else "random", k, A.shape)
                W, Ht = initialize(A, k, scheme, random_state=seeds[restart])
                # For a symmetric A both factors estimate H; their mean is the start.
                V = 0.5 * (W + Ht.T)
            V = np.ascontiguousarray(V, dtype=A.dtype)
            return V, np.ascontiguousarray(V.T)

        result, monitor = self._fit_restarts(
            A, solver, params, [start] * len(seeds),
            floor=10 * float(np.finfo(A.dtype).eps) * 0.5 * normA2, null_loss=0.5 * normA2,
            checkpointing=checkpointing, placement=placement)
        H_fit = np.ascontiguousarray(_backends.to_numpy(result.W))
        self.H_ = H_fit
        self.components_ = np.ascontiguousarray(H_fit.T)
        self.n_components_ = k
        self._set_fit_attributes(result, monitor, solver)
        self.nodes_ = nodes
        self.memberships_ = soft_memberships(H_fit)
        self.labels_ = hard_labels(H_fit)
        return self

    def _adjacency(self, X):
        """(validated A, nodes) from a graph, a DataFrame or a matrix."""
        if _validation.is_graph(X):
            A, nodes = _validation.graph_adjacency(X, weight=self.weight, what="the graph")
            A = self._validate_X(A, reset=True)
            return A, _node_array(nodes)
        A = self._validate_X(X, reset=True)
        names = getattr(self, "feature_names_in_", None)
        return A, (np.asarray(names, dtype=object) if names is not None
                   else np.arange(A.shape[0]))

    @staticmethod
    def _custom_start(H, n, k, dtype):
        H = np.asarray(H, dtype=dtype)
        if H.shape != (n, k):
            raise ValueError(f"H passed to fit has shape {H.shape}; init='custom' needs "
                             f"shape (n_nodes, n_components) = ({n}, {k}).")
        _validation.check_values(H, what="H")
        return H

    # ------------------------------------------------------------------ using a fit
    def transform(self, X):
        """Memberships of new nodes from their similarities to the fitted ones.

        Row i of X holds the edge weights (similarities) of a new node to the
        ``n_nodes`` fitted nodes; its row of the result is the non-negative w
        minimising ‖x − H_ w‖² (exact NNLS).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_new, n_nodes)

        Returns
        -------
        ndarray of shape (n_new, n_components)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        if self.normalize:
            X = _scaled(X, _inverse_sqrt(_degrees(X)), _inverse_sqrt(self.degrees_))
        return nnls_weights(self.components_, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = True  # X is an n x n affinity between samples
        return tags


def _degrees(A):
    """Row sums of A (weighted degrees), float64."""
    return np.asarray(A.sum(axis=1), dtype=np.float64).ravel()


def _inverse_sqrt(degrees):
    """D^(-1/2) as a vector; a node without edges gets 0 (its row stays zero)."""
    out = np.zeros_like(degrees)
    np.divide(1.0, np.sqrt(degrees), out=out, where=degrees > 0)
    return out


def _scaled(A, rows, columns):
    """diag(rows) · A · diag(columns), in A's dtype, without densifying a sparse A."""
    rows, columns = rows.astype(A.dtype), columns.astype(A.dtype)
    if sp.issparse(A):
        return sp.csr_matrix(sp.diags(rows) @ A @ sp.diags(columns))
    return np.ascontiguousarray(rows[:, None] * A * columns[None, :])


def _node_array(nodes):
    """The nodes as a 1-D array (object dtype, so tuples stay whole)."""
    out = np.empty(len(nodes), dtype=object)
    out[:] = nodes
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in nodes):
        return out.astype(np.int64)
    return out

