"""The shared base of nmfkit's factorization estimators.

What every estimator does lives here once: checking its parameters against its table,
validating X, the restarts (``n_init``), running a registered solver under the monitor
(progress bar, callback, loss curve, Ctrl-C keeping the best factors so far), the
fitted attributes every fit reports, feature names, and saving.  A subclass supplies
its parameter table, its problem (which loss, mask, orthogonality, penalties), its
starts and what it does with the factors; it never looks inside a solver.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import warnings

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from .. import _backends, _data, _devices, _threads, _validation
from ..monitor import Monitor
from ..objectives import beta_divergence
from ..solvers import DataStats, SolverResult, resolve, run
from . import persistence
from .checkpoint import Checkpointing, problem_params
from .checkpoint import read as read_checkpoint


class FactorizationBase(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Base of the factorization estimators (private: subclass it, do not use it).

    Subclasses set ``_parameters`` (the parameter table :func:`nmfkit._validation.
    check_params` reads), ``_saved_arrays`` and ``_saved_scalars`` (what ``save`` writes
    besides the parameters), and call :meth:`_fit_restarts` from their ``fit``.
    """

    _parameters: dict = {}
    #: The registry's problem kind whose solvers this estimator runs
    #: (:data:`nmfkit.solvers.registry.PROBLEMS`).
    _solver_problem = "nmf"
    _saved_arrays = ("components_", "feature_names_in_")
    _saved_scalars = ("n_components_", "n_iter_", "reconstruction_err_", "converged_",
                      "solver_", "stop_reason_", "n_features_in_")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        persistence.register_model_class(cls)

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        """Check the constructor parameters (before any work)."""
        _validation.check_params(self, self._parameters)
        _validation.check_device(self)

    def _validate_X(self, X, *, reset, allow_nan=False, with_census=False):
        """X as a validated float matrix; sets ``n_features_in_`` (and feature names)
        when ``reset``.  A torch tensor is read on the host (see :mod:`nmfkit._devices`).
        ``with_census``: ``(X, census)``, as :func:`nmfkit._validation.as_matrix` says."""
        return _validation.as_matrix(self, _devices.to_host(X), reset=reset,
                                     allow_nan=allow_nan, with_census=with_census)

    def _placement(self, X):
        """Where a fit of the user's X runs and what it returns
        (:class:`nmfkit._devices.Placement`), checked before any work."""
        where = _devices.placement(_validation.check_device(self), X)
        if where.on_torch and _devices.is_sparse_input(X):
            if where.device.type != "cpu":
                raise NotImplementedError(
                    f"{type(self).__name__}: sparse X on device {str(where.device)!r} is "
                    "not implemented in this version of nmfkit; pass a dense X "
                    "(X.to_dense() or X.toarray()) or fit on device='cpu'.")
            # Sparse on PyTorch's CPU: scipy.sparse fits it (the same arithmetic on
            # the host, where sparse products are fastest); W comes back as a tensor.
            where = dataclasses.replace(where, device=None)
        return where

    def _resolve_solver(self, X, *, beta=2.0, masked=False, orthogonal=None, penalized=False,
                        backend="numpy", census=None):
        """The registry's solver for this problem (errors name what can fit it);
        ``backend``: the array library the fit runs on (``Placement.backend``);
        ``census``: X's :class:`nmfkit._census.Census`, when the caller has taken it."""
        return resolve(self.solver, problem=self._solver_problem, beta=beta, masked=masked,
                       orthogonal=orthogonal, penalized=penalized,
                       sparse=_backends.is_sparse(X), backend=backend,
                       stats=_mask_stats(X, census) if masked else None)

    def _restart_seeds(self):
        """Seeds of the ``n_init`` starts: the user's, then fresh ones drawn from it."""
        n_init = getattr(self, "n_init", 1)
        if n_init == 1:
            return [self.random_state]
        rng = check_random_state(self.random_state)
        return [self.random_state] + list(rng.randint(np.iinfo(np.int32).max, size=n_init - 1))

    # ------------------------------------------------------------------ fitting
    def _checkpointing(self, checkpoint, checkpoint_every, resume):
        """``fit``'s checkpoint arguments, checked before any work (the file to resume
        read and validated here); None when the fit neither writes nor resumes one."""
        _validation.check_checkpoint_arguments(self, checkpoint, checkpoint_every, resume)
        if checkpoint is None and resume is None:
            return None
        return Checkpointing(
            path=None if checkpoint is None else os.fspath(checkpoint), every=checkpoint_every,
            resume=None if resume is None else read_checkpoint(resume),
            identity={"class": type(self).__name__, "params": problem_params(self)})

    def _fit_restarts(self, X, solver, params, starts, *, floor=0.0, null_loss=None,
                      checkpointing=None, placement=None):
        """Run ``solver`` from each start, keep the result of lowest objective.

        Parameters
        ----------
        X : validated matrix
        solver : nmfkit.solvers.Solver
        params : nmfkit.solvers.SolverParams
        starts : iterable of callables
            ``start(restart) -> (W0, H0)``, one per restart; called lazily, so an
            interrupted fit does not initialise the restarts it will not run.
        floor, null_loss : float
            The monitor's exact-fit floor and the zero model's objective (see
            :class:`nmfkit.monitor.Monitor`).
        checkpointing : nmfkit.estimators.checkpoint.Checkpointing or None
            From :meth:`_checkpointing`: where to write checkpoints, and the one to
            resume (its finished restarts are not run again; the running one continues
            from its saved factors and history).
        placement : nmfkit._devices.Placement or None
            From :meth:`_placement`: X and each start are moved to its device, and the
            factors come back as NumPy.

        Returns
        -------
        (SolverResult, Monitor)
            The best result, with its ``divergence`` set, and the monitor of its run.
            Ctrl-C keeps the best factors found so far (with a warning) instead of
            raising, unless nothing was fitted yet; with a checkpoint path, the state at
            the interruption is written there first.
        """
        starts = list(starts)
        placement = placement or _devices.Placement()
        X_run = placement.data(X)
        best, runs, best_restart, first, saved = None, [], None, 0, None
        if checkpointing is not None:
            checkpointing.check(X, n_restarts=len(starts))
            saved = checkpointing.resume
        if saved is not None:
            first, runs = saved.restart, [dict(run_) for run_ in saved.runs]
            if saved.best is not None:
                best_restart = saved.best["restart"]
                best = (_saved_result(saved.best, X.dtype),
                        Monitor(history=saved.best["history"], snapshot=False))
        name = type(self).__name__
        writes = checkpointing is not None and checkpointing.path is not None

        for restart, start in enumerate(starts):
            if restart < first:
                continue
            resumed = saved is not None and restart == first
            run_params = params
            if resumed:
                run_params = dataclasses.replace(
                    params, max_iter=max(params.max_iter - saved.iteration, 0))
            description = f"{name}[{solver.name}]" + (
                f" restart {restart + 1}/{len(starts)}" if len(starts) > 1 else "")

            def write(W, H, S, history, restart=restart):
                checkpointing.write(restart=restart, W=W, H=H, S=S, history=history,
                                    runs=runs, best=None if best is None else best[0],
                                    best_restart=best_restart,
                                    best_history=None if best is None else best[1].history)

            monitor = Monitor(tol=self.tol, max_iter=run_params.max_iter, floor=floor,
                              null_loss=null_loss, callback=self.callback,
                              verbose=self.verbose, description=description,
                              checkpoint=write if writes else None,
                              checkpoint_every=getattr(checkpointing, "every", 10),
                              history=saved.history if resumed else None)
            if resumed:
                W0, H0 = (np.asarray(saved.W, dtype=X.dtype), np.asarray(saved.H, dtype=X.dtype))
            else:
                W0, H0 = start(restart)
            interrupted = False
            try:
                if run_params.max_iter == 0:  # the resumed fit had used its budget
                    result = _saved_result({"W": W0, "H": H0, "S": saved.S,
                                            "n_iter": 0, "loss": saved.history[-1][2],
                                            "converged": False, "message": "max_iter reached"},
                                           X.dtype)
                    result.divergence = _divergence(X, result, params)
                else:
                    with _threads.blas_threads_for(X, H0.shape[0]):
                        result = run(solver, X_run, placement.move(W0),
                                     placement.move(H0), params=run_params, monitor=monitor)
                    if placement.on_torch:
                        result = _on_host(result)
                result.n_iter += monitor.offset
            except KeyboardInterrupt:
                monitor.close()
                if monitor.last is None and best is None:
                    raise
                interrupted = True
                result = None
                if monitor.last is not None:
                    W_last, H_last, loss_last = monitor.last
                    result = SolverResult(
                        W=W_last, H=H_last, n_iter=monitor.history[-1][0], loss=loss_last,
                        converged=False, message="interrupted", S=monitor.last_S)
                    if placement.on_torch:
                        result = _on_host(result)
                    result.divergence = _divergence(X, result, params)
                    if writes:
                        write(W_last, H_last, monitor.last_S, monitor.history)
            if result is not None:
                runs.append({"restart": restart, "loss": float(result.loss),
                             "n_iter": int(result.n_iter),
                             "seconds": monitor.history[-1][1] if monitor.history else 0.0,
                             "converged": bool(result.converged),
                             "stop_reason": result.message})
                if best is None or result.loss < best[0].loss:
                    best = (result, monitor)
                    best_restart = restart
            if interrupted:
                kept = best[0]
                warnings.warn(f"{name} fit interrupted at iteration "
                              f"{monitor.history[-1][0] if monitor.history else 0}; keeping the "
                              f"best factors found so far (iteration {kept.n_iter}).",
                              UserWarning, stacklevel=_caller_stacklevel())
                if kept.message != "interrupted":
                    kept.message = "interrupted"
                break
        for run_ in runs:
            run_["best"] = run_["restart"] == best_restart
        self._restart_runs = runs
        return best

    def _set_fit_attributes(self, result, monitor, solver):
        """The attributes every fit reports, from the solver's result."""
        self.n_iter_ = int(result.n_iter)
        self.converged_ = bool(result.converged)
        self.solver_ = solver.name
        self.stop_reason_ = result.message
        # scikit-learn's definition for every β: √(2·D_β(X | WH)) over the observed entries.
        self.reconstruction_err_ = float(np.sqrt(2.0 * max(0.0, result.divergence)))
        self.loss_curve_ = pd.DataFrame(monitor.history, columns=["iteration", "seconds", "loss"])
        runs = pd.DataFrame(getattr(self, "_restart_runs", []), columns=RESTART_COLUMNS)
        self.restarts_ = runs.set_index("restart")
        if not result.converged and result.message == "max_iter reached" and self.tol > 0:
            warnings.warn(
                f"Maximum number of iterations {self.max_iter} reached before the objective "
                f"stopped decreasing (tol={self.tol}); increase max_iter to improve the fit.",
                ConvergenceWarning, stacklevel=_caller_stacklevel())

    # ------------------------------------------------------------------ scikit-learn glue
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
        """Write the fitted model to ``path``: a NumPy archive with JSON metadata, no
        pickle inside, written atomically (a temporary file renamed over the target);
        :func:`nmfkit.load` reads it back.

        Parameters
        ----------
        path : str or path-like
        extras : dict of str to array-like, optional
            Arrays (numeric or str) stored with the model and returned by
            :func:`nmfkit.load` as ``model.extras_``.
        """
        persistence.save(self, path, extras=extras)


#: The columns of ``restarts_``, one row per start (``n_init``); ``best`` marks the one kept.
RESTART_COLUMNS = ["restart", "loss", "n_iter", "seconds", "converged", "stop_reason", "best"]


def _mask_stats(X, census=None):
    """The :class:`nmfkit.solvers.DataStats` of a masked X (NaN or, sparse, absent
    entries unobserved), for the registry's data-dependent choices (read from X's
    ``census`` when given); None for an array that is not NumPy or scipy.sparse."""
    size = X.shape[0] * X.shape[1]
    if not size:
        return None
    if census is not None:
        return DataStats(unobserved=census.unobserved / size, nonzero=census.nonzero / size)
    if _backends.is_sparse(X):
        values = X.data
        observed = np.count_nonzero(~np.isnan(values))
        nonzero = np.count_nonzero(values) - (values.size - observed)
        return DataStats(unobserved=1 - observed / size, nonzero=nonzero / size)
    if not isinstance(X, np.ndarray):
        return None
    unobserved = int(np.count_nonzero(np.isnan(X)))
    return DataStats(unobserved=unobserved / size,
                     nonzero=(np.count_nonzero(X) - unobserved) / size)


def _on_host(result):
    """The result with its factors as NumPy arrays (a fit on a device returns tensors)."""
    def host(A):
        return None if A is None else _backends.to_numpy(A)

    return dataclasses.replace(result, W=host(result.W), H=host(result.H), S=host(result.S))


def _saved_result(record, dtype):
    """A SolverResult from a checkpoint's record of a restart (factors in ``dtype``)."""
    def cast(A):
        return None if A is None else np.asarray(A, dtype=dtype)

    return SolverResult(W=cast(record["W"]), H=cast(record["H"]), n_iter=int(record["n_iter"]),
                        loss=float(record["loss"]), converged=bool(record["converged"]),
                        message=record["message"], divergence=record.get("divergence"),
                        S=cast(record.get("S")))


def _divergence(X, result, params):
    """The exact divergence of a result's factors (``W S H`` for a tri-factorization)."""
    W = result.W if result.S is None else result.W @ result.S
    if hasattr(X, "divergence"):  # a dask X (nmfkit.distributed): summed where its rows live
        return X.divergence(W, result.H, params.beta)
    return beta_divergence(X, W, result.H, params.beta, missing=params.missing)


def nnls_weights(components, X):
    """For each row x of X, the w ≥ 0 minimising ‖x − wᵀ components‖² (exact NNLS by
    block principal pivoting on the k x k Gram matrix), as an (n_rows, k) array."""
    from ..solvers.anls import nnls

    C = components.astype(X.dtype, copy=False)
    with _threads.blas_threads_for(X, C.shape[0]):
        Wt = nnls(C @ C.T, _data.H_times_Xt(C, X))
    return np.ascontiguousarray(Wt.T)


def soft_memberships(W):
    """Rows of a non-negative factor scaled to sum to 1 (a zero row stays zero)."""
    W = np.asarray(W, dtype=np.float64)
    sums = W.sum(axis=1, keepdims=True)
    return W / np.where(sums > 0, sums, 1)


def hard_labels(W):
    """The column of the largest entry of each row; -1 for a row of zeros (nothing
    assigns it)."""
    W = np.asarray(W)
    labels = np.argmax(W, axis=1)
    labels[~(W > 0).any(axis=1)] = -1
    return labels


def fit_context():
    """Nested scikit-learn calls inside a fit skip their own parameter validation (the
    estimator has validated its parameters already)."""
    return config_context(skip_parameter_validation=True)


def _caller_stacklevel():
    """``stacklevel`` pointing at the user's line, past nmfkit's and scikit-learn's wrappers."""
    frame, level = sys._getframe(1), 1
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not (name.startswith("nmfkit.") or name.startswith("sklearn.")):
            return level
        frame, level = frame.f_back, level + 1
    return 2
