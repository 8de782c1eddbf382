"""``nmfkit.NMF``: scikit-learn's NMF API, nmfkit's solvers.

The estimator only says what its problem is: validate → initialise → ask the solver
registry which solver fits it → run the restarts through the shared base
(:class:`nmfkit.estimators._base.FactorizationBase`) → keep the factors.  The numerics
live in :mod:`nmfkit.solvers`, the checks in :mod:`nmfkit._validation`.
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from .. import _backends, _census, _data, _devices, _sums, _threads, _validation
from ..init import initialize, resolve_init
from ..monitor import Monitor
from ..objectives import Penalty
from .._validation import BETA_NAMES, INIT_NAMES, Interval, Options
from ..solvers import Settings, SolverParams, names, run
from ..distributed import is_dask
from ..solvers.anls import nnls
from ._base import FactorizationBase, _caller_stacklevel, fit_context


#: NMF's parameters and their valid values, read by :func:`nmfkit._validation.check_params`
#: (the solver names come from the registry when a fit checks them).
NMF_PARAMETERS: dict = {
    "n_components": [Interval(Integral, 1, None, closed="left"), None, Options(("auto",))],
    "init": [Options(INIT_NAMES), None],
    "solver": [Options(names)],
    "beta_loss": [Options(BETA_NAMES), Interval(Real, None, None, closed="neither")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
    "alpha_W": [Interval(Real, 0, None, closed="left")],
    "alpha_H": [Interval(Real, 0, None, closed="left"), Options(("same",))],
    "l1_ratio": [Interval(Real, 0, 1, closed="both")],
    "verbose": ["verbose"],
    "shuffle": ["boolean"],
    "n_init": [Interval(Integral, 1, None, closed="left")],
    "callback": ["callable", None],
    "orthogonal": [Options(("W", "H")), None],
    "missing": [Options(("error", "mask"))],
    "solver_options": ["dict", None],
    "device": "no_validation",  # checked by _validation.check_device
}


class NMF(FactorizationBase):
    """Non-negative matrix factorization: find W, H ≥ 0 with X ≈ WH.

    A drop-in replacement for :class:`sklearn.decomposition.NMF`: every parameter of
    scikit-learn's estimator is accepted with the same meaning and default, except
    ``solver='auto'``, which picks the fastest solver for the loss (accelerated HALS
    for the Frobenius loss).  The objective is scikit-learn's::

        ½‖X − WH‖²_F + α_W·l1_ratio·n_features·‖W‖₁ + ½α_W·(1 − l1_ratio)·n_features·‖W‖²_F
                     + α_H·l1_ratio·n_samples·‖H‖₁ + ½α_H·(1 − l1_ratio)·n_samples·‖H‖²_F

    Parameters
    ----------
    n_components : int, 'auto' or None, default='auto'
        Rank k.  'auto'/None: inferred from W/H with ``init='custom'``, else n_features.
    init : {'auto', 'random', 'nndsvd', 'nndsvda', 'nndsvdar', 'custom'} or None, default='auto'
        Initialisation; 'auto'/None is scikit-learn's rule ('nndsvda' when
        k ≤ min(n_samples, n_features), else 'random').  With ``orthogonal`` set,
        'auto' seeds the clusters by k-means++ with local search on the clustered side
        (:func:`nmfkit.init.kmeans_plusplus`).
    solver : str, default='auto'
        A name from :func:`nmfkit.solvers.names`: 'auto' (the fastest registered solver
        for the problem), 'hals' (= 'cd'): accelerated hierarchical ALS (exact
        coordinate descent; Newton-CD for KL and masked data); 'mu': multiplicative
        updates; 'als': least squares with clipping; 'anls': exact alternating
        non-negative least squares (block principal pivoting); 'pgd': projected
        gradient with line search (Lin 2007); 'newton-cd', 'onmf', or a solver
        registered with :func:`nmfkit.solvers.register`.  ``nmfkit.solvers.available()``
        lists what each fits.
    beta_loss : {'frobenius', 'kullback-leibler', 'itakura-saito'} or float, default='frobenius'
        β-divergence minimised (β = 2, 1, 0, or any float; scikit-learn's definition,
        see :func:`nmfkit.objectives.beta_divergence`).  β ≠ 2 is fitted by 'mu'
        (Févotte & Idier 2011 updates with their MM exponent: the divergence never
        increases) or, for KL, by 'cd' (coordinate descent with Newton steps, Hsieh &
        Dhillon 2011), which 'auto' picks.  On sparse X, WH is evaluated only at the
        stored entries for KL.  β ≤ 0 (Itakura–Saito) needs X > 0: zeros raise ValueError.
    tol : float, default=1e-4
        Stopping rule: stop when the objective fell on average by less than ``tol``
        times its scale per iteration over the last 10 iterations
        (``L[t−10] − L[t] ≤ 10·tol·S[t]``), i.e. when further iterations stop paying.
        The scale ``S`` is the objective ``L``; for the Frobenius loss it is the smaller
        of ``L`` and ``½‖X‖² − L``, the part of the data the model explains, so a fit
        that explains little of X (sparse text) runs until its factors settle.
        scikit-learn's rule, on the size of the updates relative to the first, often
        stops while the objective still falls faster than that.
    max_iter : int, default=200
        Maximum number of outer iterations.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation (same stream as scikit-learn's) and of ``shuffle``.
    alpha_W : float, default=0.0
        Elastic-net penalty on W, exactly as scikit-learn defines it (scaled by
        n_features).  'als' applies penalties before clipping (approximately).
    alpha_H : float or 'same', default='same'
        Elastic-net penalty on H (scaled by n_samples); 'same' copies ``alpha_W``.
    l1_ratio : float, default=0.0
        The L1 share of both penalties (0: ridge, 1: lasso).
    verbose : int, default=0
        1: a progress bar with the current loss; 2: one log line per iteration.
    shuffle : bool, default=False
        Visit the components in random order in HALS sweeps.
    n_init : int, default=1
        Number of restarts; the factorization with the lowest objective is kept.
        Restarts after the first use ``init='random'`` with fresh seeds (an orthogonal
        fit with ``init='auto'``: fresh k-means++ seedings).
    callback : callable or None
        ``callback(iteration, W, H, loss)`` after every iteration; returning True
        stops the fit, keeping the factors so far.
    orthogonal : None, 'W' or 'H'
        Orthogonal NMF: 'H' constrains HHᵀ = I (ONMF-H, clusters the columns of X),
        'W' constrains WᵀW = I (clusters the rows).  Fitted by ONMF-EM (Pompili, Gillis,
        Absil & Glineur 2014), which keeps the constraint exactly: each column of H (row
        of W) has one non-zero, so ``argmax`` gives hard cluster labels; with
        ``init='auto'`` it starts from a k-means++ seeding of the clusters.  Needs
        ``solver='auto'``, the Frobenius loss, no mask and no penalties.
    missing : {'error', 'mask'}, default='error'
        'error': NaN in X raises.  'mask': only observed entries are fitted — NaN entries
        of dense X, and absent entries of sparse X (stored entries, zeros included, are
        observed: the recommender convention).  Fitted by 'mu' (any β) or, for β ∈ {1, 2},
        by coordinate descent on the observed entries ('auto', 'hals'/'cd'), in O(nnz·k)
        time and memory per iteration.  Every row and column needs an observed entry.
    device : None, 'cpu', 'cuda', 'cuda:N' or torch.device, default=None
        Where the fit runs.  None: where X lives (NumPy for NumPy and scipy input, PyTorch
        on the tensor's device for a torch tensor).  'cpu': NumPy input stays NumPy, a
        torch tensor runs on PyTorch's CPU.  'cuda', 'cuda:N' or a ``torch.device``: the
        solver runs on PyTorch on that GPU (NumPy input is moved there once).  Every
        solver runs the same code on every device.  ``fit_transform`` and ``transform``
        return W in the type and on the device of X; ``components_`` is NumPy.  Sparse X
        runs on the CPU (scipy.sparse; on a GPU it raises NotImplementedError).
    solver_options : dict or None, default=None
        Tuning settings by name, the fields of :class:`nmfkit.solvers.Settings`: e.g.
        ``{"extrapolate": False}``, ``{"max_inner": 5}``, ``{"mixed_precision": False}``
        (fit float64 input in float64 throughout).  Unknown names raise ValueError.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        H, the parts.
    n_components_ : int
        The rank k of the fit.
    reconstruction_err_ : float
        √(2·D_β(X | WH)) over the observed entries, as scikit-learn defines it
        (‖X − WH‖_F for β = 2).
    n_iter_ : int
        Iterations run (of the restart kept).
    converged_ : bool
        Whether the stopping rule (``tol``) ended the fit.
    solver_ : str
        The registered solver that ran (what ``solver='auto'`` picked, or
        ``'newton-cd'`` for ``'cd'`` on KL or masked data).
    stop_reason_ : str
        Why the fit ended: 'converged', 'exact fit', 'max_iter reached', 'callback' or
        'interrupted'.
    loss_curve_ : pandas.DataFrame
        Columns ``iteration``, ``seconds``, ``loss`` (the penalised objective: the
        β-divergence itself, plus penalties).
    restarts_ : pandas.DataFrame
        One row per start (``n_init``), indexed by ``restart``: the final ``loss``
        (objective), ``n_iter``, ``seconds``, ``converged``, ``stop_reason``, and
        ``best``, True for the start that was kept.  Not stored by :meth:`save`.
    orthogonality_ : float
        With ``orthogonal`` set: ‖ĤĤᵀ − I‖_F (or ‖ŴᵀŴ − I‖_F) of the factor normalised to
        unit rows (columns); 0 up to rounding.
    n_features_in_ : int
        Number of columns of X.
    feature_names_in_ : ndarray of str
        The column names of X, when X was a DataFrame with string columns.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import NMF
    >>> X = np.array([[1, 1], [2, 1], [3, 1.2], [4, 1], [5, 0.8], [6, 1]])
    >>> model = NMF(n_components=2, random_state=0)
    >>> W = model.fit_transform(X)
    >>> W.shape, model.components_.shape
    ((6, 2), (2, 2))
    >>> bool(model.reconstruction_err_ < 1e-3)
    True
    """

    _parameters: dict = NMF_PARAMETERS
    _saved_scalars = FactorizationBase._saved_scalars + ("orthogonality_",)

    def __init__(
        self,
        n_components="auto",
        *,
        init="auto",
        solver="auto",
        beta_loss="frobenius",
        tol=1e-4,
        max_iter=200,
        random_state=None,
        alpha_W=0.0,
        alpha_H="same",
        l1_ratio=0.0,
        verbose=0,
        shuffle=False,
        n_init=1,
        callback=None,
        orthogonal=None,
        missing="error",
        device=None,
        solver_options=None,
    ):
        self.n_components = n_components
        self.init = init
        self.solver = solver
        self.beta_loss = beta_loss
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.verbose = verbose
        self.shuffle = shuffle
        self.n_init = n_init
        self.callback = callback
        self.orthogonal = orthogonal
        self.missing = missing
        self.device = device
        self.solver_options = solver_options

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, **params):
        """Learn the factorization of X; ``params`` (W, H, checkpoint, checkpoint_every,
        resume) go to :meth:`fit_transform`."""
        self.fit_transform(X, **params)
        return self

    def fit_transform(self, X, y=None, W=None, H=None, *, checkpoint=None,
                      checkpoint_every=10, resume=None):
        """Learn the factorization of X and return W (n_samples x n_components).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : ignored
        W, H : array-like, optional
            Initial factors for ``init='custom'`` (W may be omitted only with H fixed).
            With another ``init`` they are not used, and a RuntimeWarning says so (as in
            scikit-learn).
        checkpoint : str or path-like, optional
            Write the state of the fit to this file every ``checkpoint_every`` iterations
            (and when Ctrl-C interrupts it), atomically: a crash at any moment leaves the
            previous checkpoint or the new one, whole.
        checkpoint_every : int, default 10
        resume : str or path-like, optional
            Continue the fit a checkpoint recorded, on the same X with the same
            parameters (``max_iter``, ``tol``, ``verbose`` and ``callback`` may change);
            iterations, ``loss_curve_`` and ``restarts_`` carry on from it.  Pass the
            same path as ``checkpoint`` to keep checkpointing.

        Returns
        -------
        W : ndarray of shape (n_samples, n_components)
            The weights of each sample on the components (``components_`` is H).
        """
        self._check_params()
        checkpointing = self._checkpointing(checkpoint, checkpoint_every, resume)
        with fit_context():
            if is_dask(X):  # fitted where its row blocks live (nmfkit.distributed)
                from ..distributed.fit import fit_transform as fit_distributed

                return fit_distributed(self, X, W, H, checkpointing=checkpointing,
                                       stacklevel=_caller_stacklevel())
            return self._fit(X, W, H, checkpointing)

    def _problem(self, X, backend="numpy", census=None):
        """(β, masked, penalty, solver record, settings) for X, checked before any work;
        ``backend``: where the fit runs (the registry picks among the solvers for it);
        ``census``: a masked dense X's :class:`nmfkit._census.Census`."""
        masked = self.missing == "mask"
        beta = _validation.beta_value(self.beta_loss)
        penalty = Penalty.from_alphas(self.alpha_W, self.alpha_H, self.l1_ratio, X.shape)
        solver = self._resolve_solver(X, beta=beta, masked=masked, orthogonal=self.orthogonal,
                                      penalized=penalty.active, backend=backend, census=census)
        return beta, masked, penalty, solver, Settings.from_options(self.solver_options)

    def _fit(self, X, W, H, checkpointing=None):
        masked = self.missing == "mask"
        placement = self._placement(X)
        # Every set-up step of a masked fit on a dense X reads one census of it.
        checked = self._validate_X(X, reset=True, allow_nan=masked, with_census=masked)
        X, census = checked if masked else (checked, None)
        beta, masked, penalty, solver, settings = self._problem(X, placement.backend, census)
        _validation.check_data_for_loss(X, beta, masked=masked, census=census)
        init = self.init
        _validation.warn_unused_factors(init, W, H, stacklevel=_caller_stacklevel())
        if init == "custom":
            W0, H0, k = _validation.check_custom_factors(X, W, H, self.n_components)
        else:
            k = _validation.check_n_components(self.n_components, X.shape, init)
            init = resolve_init(init, k, X.shape, orthogonal=self.orthogonal)
        X_init = _masked_zero_filled(X, census) if masked else X
        _validation.warn_if_all_zero(X_init, "NMF")
        normX2 = _sums.squared_norm(X_init)
        params = SolverParams(max_iter=self.max_iter, penalty=penalty, beta=beta,
                              shuffle=self.shuffle, random_state=self.random_state,
                              missing=masked, orthogonal=self.orthogonal,
                              squared_norm_X=None if masked else normX2, census=census,
                              settings=settings)
        seeds = self._restart_seeds()

        def start(restart):
            if init == "custom" and restart == 0:
                return W0, H0
            # An orthogonal fit's restarts are fresh seedings: a random start is no
            # clustering, and ONMF-EM from it merges clusters as k-means does.
            scheme = init if restart == 0 or init == "k-means++" else "random"
            factors = initialize(X_init, k, scheme, random_state=seeds[restart],
                                 orthogonal=self.orthogonal)
            return _rescale_to_observed(X, *factors, census=census) if masked else factors

        result, monitor = self._fit_restarts(
            X, solver, params, [start] * len(seeds),
            floor=10 * float(np.finfo(X.dtype).eps) * 0.5 * normX2,
            null_loss=0.5 * normX2 if beta == 2 else None, checkpointing=checkpointing,
            placement=placement)
        W_fit = np.ascontiguousarray(_backends.to_numpy(result.W))
        H_fit = np.ascontiguousarray(_backends.to_numpy(result.H))
        self.components_ = H_fit
        self.n_components_ = H_fit.shape[0]
        self._set_fit_attributes(result, monitor, solver)
        if self.orthogonal is not None:
            self.orthogonality_ = _orthogonality(W_fit if self.orthogonal == "W" else H_fit.T)
        return placement.output(W_fit)

    # ------------------------------------------------------------------ using a fit
    def transform(self, X):
        """W for new data with H fixed.

        Frobenius loss: the exact non-negative least-squares fit.  Other β, or
        ``missing='mask'`` (NaN entries of new rows are unobserved): the fit's solver
        run on W alone from a constant start, as scikit-learn does for β ≠ 2.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        W : ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        if is_dask(X):  # lazily, block by block (nmfkit.distributed)
            from ..distributed.fit import transform as transform_distributed

            return transform_distributed(self, X)
        # Solved on the host; W comes back in the type and on the device of X.
        placement = self._placement(X)
        masked = self.missing == "mask"
        checked = self._validate_X(X, reset=False, allow_nan=masked, with_census=masked)
        X, census = checked if masked else (checked, None)
        H = self.components_.astype(X.dtype, copy=False)
        beta, masked, penalty, solver, settings = self._problem(X, census=census)
        if beta == 2.0 and not masked:
            with _threads.blas_threads_for(X, H.shape[0]):
                Wt = nnls(H @ H.T, _data.H_times_Xt(H, X), l1=penalty.l1_W, l2=penalty.l2_W)
            return placement.output(np.ascontiguousarray(Wt.T))
        _validation.check_data_for_loss(X, beta, masked=masked, axes=("row",), census=census)
        params = SolverParams(max_iter=self.max_iter, penalty=penalty, beta=beta,
                              update_H=False, missing=masked, census=census, settings=settings)
        X_obs = _masked_zero_filled(X, census) if masked else X
        W0 = np.full((X.shape[0], H.shape[0]), np.sqrt(max(
            float(X_obs.sum()) / max(1, _observed_count(X, masked, census)), 1e-12)
            / H.shape[0]),
            dtype=X.dtype)
        monitor = Monitor(tol=self.tol, max_iter=self.max_iter, description="NMF.transform",
                          null_loss=0.5 * _sums.squared_norm(X_obs) if beta == 2 else None)
        with _threads.blas_threads_for(X, H.shape[0]):
            result = run(solver, X, W0, H, params=params, monitor=monitor)
        return placement.output(np.ascontiguousarray(_backends.to_numpy(result.W)))

    def inverse_transform(self, X):
        """Data from W: ``X @ components_`` (n_samples x n_features), in the type and
        on the device of W."""
        check_is_fitted(self)
        if _devices.is_torch(X):
            return X @ _devices.as_tensor_like(self.components_, X)
        return X @ self.components_


def _masked_zero_filled(X, census=None):
    """X with unobserved entries (NaN) as 0: the matrix the initialisation sees (from
    X's :class:`nmfkit._census.Census` when given)."""
    if _backends.is_sparse(X):
        X = X.copy()
        X.data[np.isnan(X.data)] = 0
        return X
    if isinstance(X, np.ndarray):
        census = _census.census(X) if census is None else census
        if census.stored is not None:
            # Mostly zeros (e.g. a sparse matrix with entries held out): the start's SVD
            # runs on the stored entries.
            return census.zero_filled(X.dtype)
    return np.where(np.isnan(X), 0, X).astype(X.dtype, copy=False)


def _observed_count(X, masked, census=None):
    """Number of entries the fit sees (observed ones when masked; from X's census when
    given)."""
    if not masked:
        return X.shape[0] * X.shape[1]
    if census is not None:
        return census.size - census.unobserved
    if _backends.is_sparse(X):
        return int(np.count_nonzero(~np.isnan(X.data)))
    return int(np.count_nonzero(~np.isnan(X)))


def _rescale_to_observed(X, W, H, census=None):
    """Scale (W, H) so that WH has X's mean over the observed entries (read from X's
    :class:`nmfkit._census.Census` when given).

    The initialisation sees unobserved entries as zeros, which biases WH towards 0
    where the data are ratings; one scalar fixes the level (both factors by its root).
    """
    from ..objectives import BetaData

    if isinstance(X, np.ndarray):
        # Σ over the observed entries = Σ over all (from the factors' sums) minus Σ over
        # the unobserved ones: O(unobserved·k), where a few entries are held out.
        census = _census.census(X) if census is None else census
        rows, cols, observed_sum = census.nan_rows, census.nan_cols, census.observed_sum
        observed = X.size - rows.size
        if rows.size <= observed:
            model_sum = float(np.sum(W, axis=0, dtype=np.float64)
                              @ np.sum(H, axis=1, dtype=np.float64))
            if rows.size:
                entries = _data.entries_at(X.shape, rows, cols, X.dtype)
                model_sum -= float(np.sum(_data.values_at(entries, W, H), dtype=np.float64))
            return _scaled_to(W, H, model_sum / observed, observed_sum / observed)
    data = BetaData(X, 2.0, missing=True)
    model_mean = float(np.mean(data.model(W, H))) if data.S.nnz else 0.0
    observed_mean = float(np.mean(data.S.values)) if data.S.nnz else 0.0
    return _scaled_to(W, H, model_mean, observed_mean)


def _scaled_to(W, H, model_mean, observed_mean):
    """(W, H) scaled by one scalar (each by its root) so that the model's mean is the
    observed mean."""
    if model_mean > 0 and observed_mean > 0:
        c = np.sqrt(observed_mean / model_mean)
        W, H = W * c, H * c
    return W, H


def _orthogonality(F):
    """‖F̂ᵀF̂ − I‖_F for F with unit-norm columns (F = W, or Hᵀ)."""
    F = np.asarray(F, dtype=np.float64)
    norms = np.linalg.norm(F, axis=0)
    F = F / np.where(norms > 0, norms, 1)
    return float(np.linalg.norm(F.T @ F - np.eye(F.shape[1])))
