"""``nmfkit.NMF``: scikit-learn's NMF API, nmfkit's solvers.

The estimator only orchestrates: validate → initialise → pick a solver → run it
under a monitor → set the fitted attributes.  The numerics live in
:mod:`nmfkit.solvers`, the checks in :mod:`nmfkit._validation`.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .. import _array, _validation
from ..init import initialize, resolve_init
from ..monitor import Monitor
from ..objectives import Penalty, beta_divergence
from ..solvers import get_solver
from ..solvers.anls import nnls
from ..solvers.result import SolverParams


class NMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
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
        k ≤ min(n_samples, n_features), else 'random').
    solver : {'auto', 'hals', 'cd', 'mu', 'als', 'anls', 'pgd'}, default='auto'
        'hals' (= 'cd'): accelerated hierarchical ALS (exact coordinate descent);
        'mu': multiplicative updates; 'als': least squares with clipping;
        'anls': exact alternating non-negative least squares (block principal pivoting);
        'pgd': projected gradient with line search (Lin 2007).
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
    alpha_W, alpha_H, l1_ratio : float
        Elastic-net penalties, exactly as scikit-learn defines them (``alpha_H='same'``
        copies ``alpha_W``).  'als' applies them before clipping (approximately).
    verbose : int, default=0
        1: a progress bar with the current loss; 2: one log line per iteration.
    shuffle : bool, default=False
        Visit the components in random order in HALS sweeps.
    n_init : int, default=1
        Number of restarts; the factorization with the lowest objective is kept.
        Restarts after the first use ``init='random'`` with fresh seeds.
    callback : callable or None
        ``callback(iteration, W, H, loss)`` after every iteration; returning True
        stops the fit, keeping the factors so far.
    orthogonal : None, 'W' or 'H'
        Orthogonal NMF: 'H' constrains HHᵀ = I (ONMF-H, clusters the columns of X),
        'W' constrains WᵀW = I (clusters the rows).  Fitted by ONMF-EM (Pompili, Gillis,
        Absil & Glineur 2014), which keeps the constraint exactly: each column of H (row
        of W) has one non-zero, so ``argmax`` gives hard cluster labels.  Needs
        ``solver='auto'``, the Frobenius loss, no mask and no penalties.
    missing : {'error', 'mask'}, default='error'
        'error': NaN in X raises.  'mask': only observed entries are fitted — NaN entries
        of dense X, and absent entries of sparse X (stored entries, zeros included, are
        observed: the recommender convention).  Fitted by 'mu' (any β) or, for β ∈ {1, 2},
        by coordinate descent on the observed entries ('auto', 'hals'/'cd'), in O(nnz·k)
        time and memory per iteration.  Every row and column needs an observed entry.
    device : str, default='cpu'
        Compute device; this version implements 'cpu'.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        H, the parts.
    n_components_ : int
    reconstruction_err_ : float
        √(2·D_β(X | WH)) over the observed entries, as scikit-learn defines it
        (‖X − WH‖_F for β = 2).
    n_iter_ : int
    converged_ : bool
    loss_curve_ : pandas.DataFrame
        Columns ``iteration``, ``seconds``, ``loss`` (the penalised objective: the
        β-divergence itself, plus penalties).
    orthogonality_ : float
        With ``orthogonal`` set: ‖ĤĤᵀ − I‖_F (or ‖ŴᵀŴ − I‖_F) of the factor normalised to
        unit rows (columns); 0 up to rounding.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when X was a DataFrame with string columns.

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

    _parameter_constraints: dict = _validation.NMF_PARAMETERS

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
        device="cpu",
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

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, **params):
        """Learn the factorization of X; ``params`` (W, H) go to :meth:`fit_transform`."""
        self.fit_transform(X, **params)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, W=None, H=None):
        """Learn the factorization of X and return W (n_samples x n_components).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : ignored
        W, H : array-like, optional
            Initial factors for ``init='custom'`` (W may be omitted only with H fixed).
        """
        masked = self.missing == "mask"
        X = _validation.as_matrix(self, X, reset=True, allow_nan=masked)
        beta = _validation.beta_value(self.beta_loss)
        _validation.check_not_implemented(self, beta)
        _validation.check_variant(self, beta)
        _validation.check_data_for_loss(X, beta, masked=masked)
        init = "custom" if (self.init in ("auto", None) and H is not None and W is not None) \
            else self.init
        if init == "custom":
            W0, H0, k = _validation.check_custom_factors(X, W, H, self.n_components)
        else:
            k = _validation.check_n_components(self.n_components, X.shape, init)
            init = resolve_init(init, k, X.shape)
        penalty = Penalty.from_alphas(self.alpha_W, self.alpha_H, self.l1_ratio, X.shape)
        solver_name = self._solver_name(beta)
        solve = get_solver(solver_name)
        X_init = _masked_zero_filled(X) if masked else X
        normX2 = _array.squared_norm(X_init)
        params = SolverParams(max_iter=self.max_iter, penalty=penalty, beta=beta,
                              shuffle=self.shuffle, random_state=self.random_state,
                              missing=masked, orthogonal=self.orthogonal,
                              squared_norm_X=None if masked else normX2)
        floor = 10 * float(np.finfo(X.dtype).eps) * 0.5 * normX2

        seeds = self._restart_seeds()
        best = None
        interrupted = False
        for restart, seed in enumerate(seeds):
            if init == "custom" and restart == 0:
                start = (W0, H0)
            else:
                scheme = init if restart == 0 else "random"
                start = initialize(X_init, k, scheme, random_state=seed)
                if masked:
                    start = _rescale_to_observed(X, *start)
            monitor = Monitor(tol=self.tol, max_iter=self.max_iter, floor=floor,
                              null_loss=0.5 * normX2 if beta == 2 else None,
                              callback=self.callback, verbose=self.verbose,
                              description=f"NMF[{solver_name}]" + (
                                  f" restart {restart + 1}/{len(seeds)}" if len(seeds) > 1 else ""))
            try:
                with _array.blas_threads_for(X, k):
                    result = solve(X, *start, params=params, monitor=monitor)
                outcome = (result.W, result.H, result.loss, result.n_iter, result.converged,
                           result.message, not result.float32_loss)
            except KeyboardInterrupt:
                monitor.close()
                if monitor.last is None:
                    raise
                W_last, H_last, loss_last = monitor.last
                outcome = (W_last, H_last, loss_last, monitor.history[-1][0], False, "interrupted",
                           False)
                interrupted = True
            if best is None or outcome[2] < best[0][2]:
                best = (outcome, monitor)
            if interrupted:
                warnings.warn(f"NMF fit interrupted at iteration {outcome[3]}; keeping the best "
                              "factors found so far.", UserWarning, stacklevel=_caller_stacklevel())
                break

        (W_fit, H_fit, loss_fit, n_iter, converged, message, loss_exact), monitor = best
        if solver_name == "mu" and beta == 2.0 and not masked and message != "interrupted":
            loss_exact = False  # W is replaced below
            # MU approaches the optimal W for the final H only sublinearly; finish with the
            # exact block step (it can only lower the objective), so that fit_transform(X)
            # and transform(X) agree as scikit-learn's estimator checks require.
            W_fit = _array.contiguous(self._solve_W(X, H_fit, penalty).T)
        W_fit = np.ascontiguousarray(_array.to_numpy(W_fit))
        H_fit = np.ascontiguousarray(_array.to_numpy(H_fit))
        self.components_ = H_fit
        self.n_components_ = H_fit.shape[0]
        self.n_iter_ = int(n_iter)
        self.converged_ = bool(converged)
        self.solver_ = solver_name
        self.stop_reason_ = message
        if beta == 2.0 and not masked and _array.is_sparse(X) and loss_exact \
                and not penalty.active:
            # For sparse X the objective is the trace identity (WH is never formed), and the
            # solver's last one was exactly that, for the pair it returned, in float64: a
            # new product with X (a tenth of a fit of benchmark (e)) would only repeat it.
            self.reconstruction_err_ = float(np.sqrt(2.0 * max(0.0, loss_fit)))
        elif beta == 2.0 and not masked:
            self.reconstruction_err_ = float(np.sqrt(
                _array.dense_residual_squared_norm(X, W_fit, H_fit)))
        elif solver_name == "newton-cd":
            # Its objective is measured exactly, entry by entry, in the last sweep's final
            # pass over the returned factors (float32 scratch: to ~1e-7); a new pass over X
            # (a WH block and a log per entry) would only repeat it.
            divergence = loss_fit - penalty.value(W_fit, H_fit)
            self.reconstruction_err_ = float(np.sqrt(2.0 * max(0.0, divergence)))
        else:  # scikit-learn's definition for every β: √(2·D_β(X | WH)), observed entries
            self.reconstruction_err_ = float(np.sqrt(2.0 * max(0.0, beta_divergence(
                X, W_fit, H_fit, beta, missing=masked))))
        if self.orthogonal is not None:
            self.orthogonality_ = _orthogonality(W_fit if self.orthogonal == "W" else H_fit.T)
        self.loss_curve_ = pd.DataFrame(monitor.history, columns=["iteration", "seconds", "loss"])
        if not converged and message == "max_iter reached" and self.tol > 0:
            warnings.warn(
                f"Maximum number of iterations {self.max_iter} reached before the objective "
                f"stopped decreasing (tol={self.tol}); increase max_iter to improve the fit.",
                ConvergenceWarning, stacklevel=_caller_stacklevel(),
            )
        return W_fit

    def _solver_name(self, beta):
        """Internal solver for (solver, β, missing, orthogonal); combinations are checked."""
        if self.orthogonal is not None:
            return "onmf"
        masked = self.missing == "mask"
        if self.solver == "auto":
            # Coordinate descent with Newton steps reaches MU's KL objective several times
            # sooner (benchmarks/kl_speed.py); on masked data it is exact weighted HALS.
            if beta == 1.0 or (masked and beta == 2.0):
                return "newton-cd"
            return "hals" if beta == 2.0 else "mu"
        if self.solver in ("cd", "hals") and (beta == 1.0 or masked):
            return "newton-cd"
        return "hals" if self.solver == "cd" else self.solver

    def _restart_seeds(self):
        if self.n_init == 1:
            return [self.random_state]
        rng = check_random_state(self.random_state)
        return [self.random_state] + list(rng.randint(np.iinfo(np.int32).max, size=self.n_init - 1))

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
        masked = self.missing == "mask"
        X = _validation.as_matrix(self, X, reset=False, allow_nan=masked)
        H = self.components_.astype(X.dtype, copy=False)
        penalty = Penalty.from_alphas(self.alpha_W, self.alpha_H, self.l1_ratio, X.shape)
        beta = _validation.beta_value(self.beta_loss)
        if beta == 2.0 and not masked:
            return np.ascontiguousarray(self._solve_W(X, H, penalty).T)
        _validation.check_data_for_loss(X, beta, masked=masked, axes=("row",))
        solver_name = self._solver_name(beta)
        params = SolverParams(max_iter=self.max_iter, penalty=penalty, beta=beta,
                              update_H=False, missing=masked)
        X_obs = _masked_zero_filled(X) if masked else X
        W0 = np.full((X.shape[0], H.shape[0]), np.sqrt(max(
            float(X_obs.sum()) / max(1, _observed_count(X, masked)), 1e-12) / H.shape[0]),
            dtype=X.dtype)
        monitor = Monitor(tol=self.tol, max_iter=self.max_iter, description="NMF.transform",
                          null_loss=0.5 * _array.squared_norm(X_obs) if beta == 2 else None)
        with _array.blas_threads_for(X, H.shape[0]):
            result = get_solver(solver_name)(X, W0, H, params=params, monitor=monitor)
        return np.ascontiguousarray(_array.to_numpy(result.W))

    @staticmethod
    def _solve_W(X, H, penalty):
        """Wᵀ = argmin_{W ≥ 0} ½‖X − WH‖² + penalty on W, exactly (k x m)."""
        with _array.blas_threads_for(X, H.shape[0]):
            return nnls(H @ H.T, _array.H_times_Xt(H, X), l1=penalty.l1_W, l2=penalty.l2_W)

    def inverse_transform(self, X):
        """Data from W: ``X @ components_`` (n_samples x n_features)."""
        check_is_fitted(self)
        return X @ self.components_

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ------------------------------------------------------------------ persistence
    def save(self, path, extras=None):
        """Write the fitted model to ``path`` (see :mod:`nmfkit.estimators.persistence`).

        ``extras``: optional dict of name → NumPy array (numeric or str) stored with it
        and returned by :func:`nmfkit.load` as ``model.extras_``.
        """
        from .persistence import save

        save(self, path, extras=extras)


def _caller_stacklevel():
    """``stacklevel`` pointing at the user's line, past nmfkit's and scikit-learn's wrappers."""
    import sys

    frame, level = sys._getframe(1), 1
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not (name.startswith("nmfkit.") or name.startswith("sklearn.")):
            return level
        frame, level = frame.f_back, level + 1
    return 2


def _masked_zero_filled(X):
    """X with unobserved entries (NaN) as 0: the matrix the initialisation sees."""
    if _array.is_sparse(X):
        X = X.copy()
        X.data[np.isnan(X.data)] = 0
        return X
    return np.where(np.isnan(X), 0, X).astype(X.dtype, copy=False)


def _observed_count(X, masked):
    """Number of entries the fit sees (observed ones when masked)."""
    if not masked:
        return X.shape[0] * X.shape[1]
    if _array.is_sparse(X):
        return int(np.count_nonzero(~np.isnan(X.data)))
    return int(np.count_nonzero(~np.isnan(X)))


def _rescale_to_observed(X, W, H):
    """Scale (W, H) so that WH has X's mean over the observed entries.

    The initialisation sees unobserved entries as zeros, which biases WH towards 0
    where the data are ratings; one scalar fixes the level (both factors by its root).
    """
    from ..objectives import BetaData

    data = BetaData(X, 2.0, missing=True)
    model_mean = float(np.mean(data.model(W, H))) if data.S.nnz else 0.0
    observed_mean = float(np.mean(data.S.values)) if data.S.nnz else 0.0
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
