"""``nmfkit.MiniBatchNMF``: scikit-learn's MiniBatchNMF API, and fits larger than memory.

The estimator says what its problem is and where its rows come from: an in-memory
matrix (validated as :class:`nmfkit.NMF` validates it) or a row stream
(:mod:`nmfkit.stream`, checked chunk by chunk in a first pass, before any fitting); both
are cut into the same mini-batches and fitted by the online multiplicative updates of
:mod:`nmfkit.solvers.online` under the shared :class:`nmfkit.monitor.Monitor`.
"""
from __future__ import annotations

import dataclasses
import math
import types
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .. import _backends, _threads, _validation, stream
from .._validation import BETA_NAMES, INIT_NAMES, Interval, Options
from ..init import initialize, resolve_init
from ..monitor import Monitor
from ..objectives import beta_divergence
from ..solvers import SolverResult, online
from ._base import RESTART_COLUMNS, FactorizationBase, _caller_stacklevel, fit_context

#: MiniBatchNMF's parameters and their valid values, read by
#: :func:`nmfkit._validation.check_params`.
MINIBATCH_PARAMETERS: dict = {
    "n_components": [Interval(Integral, 1, None, closed="left"), None, Options(("auto",))],
    "init": [Options(INIT_NAMES), None],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "beta_loss": [Options(BETA_NAMES), Interval(Real, None, None, closed="neither")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "max_no_improvement": [Interval(Integral, 1, None, closed="left"), None],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "alpha_W": [Interval(Real, 0, None, closed="left")],
    "alpha_H": [Interval(Real, 0, None, closed="left"), Options(("same",))],
    "l1_ratio": [Interval(Real, 0, 1, closed="both")],
    "forget_factor": [Interval(Real, 0, 1, closed="both")],
    "fresh_restarts": ["boolean"],
    "fresh_restarts_max_iter": [Interval(Integral, 1, None, closed="left")],
    "transform_max_iter": [Interval(Integral, 1, None, closed="left"), None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "callback": ["callable", None],
    "solver": [Options(("mu", "hals", "cd"))],
    "device": "no_validation",  # checked by check_device (CPU only for now)
}

#: The online solvers (``solver_``), by the name ``solver=`` takes.  Not registry records:
#: their contract is a stream of mini-batches and statistics carried between
#: ``partial_fit`` calls, not the registry's ``solve(X, W, H)``.
ONLINE_SOLVERS = {"mu": types.SimpleNamespace(name="online-mu"),
                  "hals": types.SimpleNamespace(name="online-hals")}


class MiniBatchNMF(FactorizationBase):
    """Mini-batch NMF: X ≈ WH, W, H ≥ 0, learned from mini-batches of rows; for data
    larger than memory and for data that arrive over time.

    A drop-in replacement for :class:`sklearn.decomposition.MiniBatchNMF`: the same
    parameters, defaults and algorithm (online multiplicative updates with forgetting,
    Lefèvre, Bach & Févotte 2011; any β-divergence), so the same start and batches give
    the same factors.  Beyond it, ``fit``, ``fit_transform``, ``partial_fit`` and
    ``transform`` also take a row stream — a :mod:`nmfkit.stream` reader (memory-mapped
    ``.npy``, a folder of sparse ``.npz`` shards, CSV, zarr) or any list of row chunks —
    and then hold one chunk, one mini-batch and the factors in memory, never X.

    The objective is scikit-learn's::

        D_β(X | WH) + α_W·l1_ratio·n_features·‖W‖₁ + ½α_W·(1 − l1_ratio)·n_features·‖W‖²_F
                    + α_H·l1_ratio·n_samples·‖H‖₁ + ½α_H·(1 − l1_ratio)·n_samples·‖H‖²_F

    with the H penalty scaled, per mini-batch, by the batch's rows.

    Parameters
    ----------
    n_components : int, 'auto' or None, default='auto'
        Rank k.  'auto'/None: inferred from H with ``init='custom'``, else n_features.
    init : {'random', 'nndsvd', 'nndsvda', 'nndsvdar', 'custom', 'auto'} or None, default=None
        Start of the fit.  None/'auto': 'nndsvda' when k ≤ min(n_samples, n_features),
        else 'random' (scikit-learn's rule).  A row stream has no SVD: there None is
        'random', and the NNDSVD schemes raise ValueError.
    batch_size : int, default=1024
        Rows per mini-batch.  Large batches converge better in the long run, small
        ones start faster.
    beta_loss : {'frobenius', 'kullback-leibler', 'itakura-saito'} or float, default='frobenius'
        β-divergence minimised (β = 2, 1, 0, or any float; see
        :func:`nmfkit.objectives.beta_divergence`).  β ≤ 0 needs X > 0.
    tol : float, default=1e-4
        Stop when H moved by less than ``tol`` relative to its norm in one step
        (0: never for this reason); also the stopping rule of each W solve.
    max_no_improvement : int or None, default=10
        Stop after this many steps without a new minimum of the smoothed batch
        objective (an exponentially weighted average); None: never for this reason.
    max_iter : int, default=200
        Passes over the rows.
    alpha_W : float, default=0.0
        Elastic-net penalty on W (scaled by n_features), as in scikit-learn.
    alpha_H : float or 'same', default='same'
        Elastic-net penalty on H (scaled by the batch's rows); 'same' copies ``alpha_W``.
    l1_ratio : float, default=0.0
        The L1 share of both penalties.
    forget_factor : float, default=0.7
        Weight of the past per pass: each step multiplies the accumulated statistics
        of H by ``forget_factor ** (batch_size / n_samples)``.  1 suits a fixed data
        set; below 1 lets recent batches weigh more (online learning).
    fresh_restarts : bool, default=False
        Solve each batch's W from scratch at every step (``fresh_restarts_max_iter``
        MU steps) instead of one step from its last value: better steps, slower ones,
        and no W kept between passes.
    fresh_restarts_max_iter : int, default=30
        MU steps of each such solve (fewer when W moves by less than ``tol``).
    transform_max_iter : int or None, default=None
        MU steps of the W solve of ``transform``; None: ``max_iter``.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation (scikit-learn's random streams).
    verbose : int, default=0
        1: a progress bar over the steps; 2: one log line per step.
    callback : callable or None
        ``callback(step, W_b, H, batch_cost)`` after every step of ``fit``; returning
        True stops the fit, keeping H so far.
    solver : {'mu', 'hals'}, default='mu'
        'mu': scikit-learn's online multiplicative updates (any β).  'hals' (= 'cd'),
        Frobenius loss only: online HALS (Mairal, Bach, Ponce & Sapiro 2010): each
        batch's W is its non-negative least-squares fit (HALS sweeps), and H takes
        coordinate descent sweeps on the forgetful statistics ΣWᵀW, ΣWᵀX of all batches
        seen; it reaches in a few passes objectives 'mu' does not reach in hundreds.
        Its ``transform`` runs HALS sweeps on W until one moves W by less than ``tol``
        times the first did (at most ``transform_max_iter``).  ``fresh_restarts`` and
        ``fresh_restarts_max_iter`` do not apply to it.
    device : str, default='cpu'
        Compute device; this version implements 'cpu'.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        H, the parts.
    n_components_ : int
    reconstruction_err_ : float
        √(2·D_β(X | WH)) for the W ``fit_transform`` returns, as scikit-learn defines it
        (‖X − WH‖_F for β = 2); for a stream, summed batch by batch.
    n_iter_ : int
        Passes over the rows started.
    n_steps_ : int
        Mini-batches processed (by ``fit``, or by all ``partial_fit`` calls so far).
    converged_ : bool
        A stopping rule (``tol`` or ``max_no_improvement``) ended the fit.
    stop_reason_ : str
        'converged' (small change of H), 'no improvement', 'max_iter reached',
        'callback' or 'interrupted'.
    solver_ : str
        'online-mu' or 'online-hals'.
    loss_curve_ : pandas.DataFrame
        Columns ``iteration`` (the step), ``seconds``, ``loss`` (the batch's penalised
        objective per row, after its W step; row 0 repeats the first step's).
    restarts_ : pandas.DataFrame
        One row: the fit (columns as :class:`nmfkit.NMF`'s ``restarts_``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        The column names of X (a DataFrame with string columns, or a CSV stream with a
        header).

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import MiniBatchNMF
    >>> X = np.array([[1, 1], [2, 1], [3, 1.2], [4, 1], [5, 0.8], [6, 1]])
    >>> model = MiniBatchNMF(n_components=2, init="random", batch_size=3, random_state=0)
    >>> W = model.fit_transform(X)
    >>> W.shape, model.components_.shape, model.n_steps_ >= 2
    ((6, 2), (2, 2), True)

    The same fit from chunks of rows (any chunking gives the same batches):

    >>> chunks = [X[:4], X[4:]]
    >>> again = MiniBatchNMF(n_components=2, init="random", batch_size=3, random_state=0)
    >>> bool(np.allclose(again.fit(chunks).components_, model.components_))
    True
    """

    _parameters: dict = MINIBATCH_PARAMETERS
    _saved_arrays = FactorizationBase._saved_arrays + ("_online_A", "_online_B")
    _saved_scalars = FactorizationBase._saved_scalars + ("n_steps_", "_rho", "_batch_size",
                                                         "_online_rows", "_online_solver")

    def __init__(
        self,
        n_components="auto",
        *,
        init=None,
        batch_size=1024,
        beta_loss="frobenius",
        tol=1e-4,
        max_no_improvement=10,
        max_iter=200,
        alpha_W=0.0,
        alpha_H="same",
        l1_ratio=0.0,
        forget_factor=0.7,
        fresh_restarts=False,
        fresh_restarts_max_iter=30,
        transform_max_iter=None,
        random_state=None,
        verbose=0,
        callback=None,
        solver="mu",
        device="cpu",
    ):
        self.n_components = n_components
        self.init = init
        self.batch_size = batch_size
        self.beta_loss = beta_loss
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.max_iter = max_iter
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.forget_factor = forget_factor
        self.fresh_restarts = fresh_restarts
        self.fresh_restarts_max_iter = fresh_restarts_max_iter
        self.transform_max_iter = transform_max_iter
        self.random_state = random_state
        self.verbose = verbose
        self.callback = callback
        self.solver = solver
        self.device = device

    def _check_params(self):
        super()._check_params()
        device = self.device
        if device is not None and str(device) != "cpu":
            # The online updates run on NumPy and scipy.sparse chunks; a GPU device must
            # not be accepted and then ignored.
            raise NotImplementedError(f"MiniBatchNMF: device={device!r}: this version runs "
                                      "on the CPU only; pass device='cpu'.")

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, W=None, H=None):
        """Learn the factorization of X (a matrix or a row stream).

        Parameters
        ----------
        X : array-like, sparse matrix, or row stream of shape (n_samples, n_features)
            A :mod:`nmfkit.stream` reader, or a list of row chunks (2-D arrays or
            scipy.sparse matrices), is read chunk by chunk (see :meth:`fit_transform`).
        y : ignored
        W, H : array-like, optional
            Initial factors for ``init='custom'``.

        Returns
        -------
        self
        """
        self.fit_transform(X, W=W, H=H)
        return self

    def fit_transform(self, X, y=None, W=None, H=None):
        """Learn the factorization of X and return W (n_samples x n_components).

        Parameters
        ----------
        X : array-like, sparse matrix, or row stream of shape (n_samples, n_features)
            A row stream is read once to check every chunk (negative, NaN or infinite
            entries raise ValueError naming the chunk), then once per pass; it is cut
            into the same mini-batches as the matrix it holds, so the fit is the fit of
            that matrix.
        y : ignored
        W, H : array-like, optional
            Initial factors for ``init='custom'``; with another ``init`` they are not
            used (RuntimeWarning).

        Returns
        -------
        W : ndarray of shape (n_samples, n_components)
        """
        self._check_params()
        with fit_context():
            return self._fit(X, W, H)

    def _solver_name(self, beta):
        """'mu' or 'hals' (for 'cd'); 'hals' on another loss than Frobenius raises."""
        solver = "hals" if self.solver == "cd" else self.solver
        if solver == "hals" and beta != 2.0:
            raise ValueError(f"solver={self.solver!r} fits the Frobenius loss only, not "
                             f"beta_loss={self.beta_loss!r}; use solver='mu' (any β).")
        return solver

    def _online_params(self, beta, batch_size, n_samples):
        alpha_H = self.alpha_W if self.alpha_H == "same" else self.alpha_H
        return online.OnlineParams(
            beta=beta, alpha_W=float(self.alpha_W), alpha_H=float(alpha_H),
            l1_ratio=float(self.l1_ratio),
            rho=float(self.forget_factor) ** (batch_size / n_samples), n_samples=n_samples,
            steps_per_epoch=stream.steps(n_samples, batch_size), max_iter=self.max_iter,
            tol=self.tol, max_no_improvement=self.max_no_improvement,
            fresh_restarts=bool(self.fresh_restarts),
            fresh_restarts_max_iter=self.fresh_restarts_max_iter,
            solver=self._solver_name(beta))

    def _read(self, X, *, beta, reset):
        """(rows as a stream, the in-memory matrix or None, the checked summary or None)."""
        who = type(self).__name__
        if stream.is_stream(X):
            source = stream.as_stream(X)
            summary = stream.check(source, who=who, beta=beta)
            self._check_stream_features(summary, reset=reset)
            return stream.in_dtype(source, summary.dtype), None, summary
        X = self._validate_X(X, reset=reset)
        if _backends.is_sparse(X) and X.format != "csr":
            X = X.tocsr()  # row slices of CSR are cheap
        _validation.check_data_for_loss(X, beta, masked=False)
        return stream.from_array(X, chunk_rows=min(self.batch_size, X.shape[0])), X, None

    def _check_stream_features(self, summary, *, reset):
        """``n_features_in_`` and ``feature_names_in_`` for a stream, as scikit-learn's
        ``validate_data`` sets and checks them for a matrix."""
        n = summary.shape[1]
        names = summary.feature_names
        if reset:
            self.n_features_in_ = n
            if names is not None:
                self.feature_names_in_ = np.asarray(names, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            return
        if n != self.n_features_in_:
            raise ValueError(f"X has {n} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        fitted = getattr(self, "feature_names_in_", None)
        if names is not None and fitted is not None and list(names) != list(fitted):
            raise ValueError("The feature names should match those that were passed during "
                             "fit: the stream's columns are named differently.")

    def _start(self, X, W, H, *, streamed):
        """(k, W0, H0): the initialisation, on the matrix or the stream's summary."""
        init = self.init
        _validation.warn_unused_factors(init, W, H, stacklevel=_caller_stacklevel())
        if init == "custom":
            W0, H0, k = _validation.check_custom_factors(X, W, H, self.n_components)
            return k, W0, H0
        k = _validation.check_n_components(self.n_components, X.shape, init)
        scheme = resolve_init(init, k, X.shape)
        if streamed and scheme != "random":
            if init not in (None, "auto"):
                raise ValueError(
                    f"init={init!r} needs the SVD of the whole X, which a row stream does not "
                    "give; use init='random' (what init=None is for a stream), or "
                    "init='custom' with a start fitted on a sample of the rows.")
            scheme = "random"
        W0, H0 = initialize(X, k, scheme, random_state=self.random_state)
        return k, W0, H0

    def _fit(self, X, W, H):
        who = type(self).__name__
        beta = _validation.beta_value(self.beta_loss)
        solver = self._solver_name(beta)
        rows, X_mem, summary = self._read(X, beta=beta, reset=True)
        m, n = rows.shape
        if X_mem is not None:
            _validation.warn_if_all_zero(X_mem, who)
        elif summary.total == 0:
            _validation.warn_if_all_zero(np.zeros((1, 1)), who)
        k, W0, H0 = self._start(X_mem if X_mem is not None else summary, W, H,
                                streamed=X_mem is None)
        batch_size = min(self.batch_size, m)
        params = self._online_params(beta, batch_size, m)
        state = online.OnlineState(np.array(H0, dtype=rows.dtype, order="C"), solver=solver)
        # The rows' W is updated in place: a copy of the caller's array, the start itself
        # otherwise (no second m x k array).
        W_kept = None
        if solver == "mu" and not self.fresh_restarts:
            W_kept = (np.array(W0, dtype=rows.dtype, order="C") if self.init == "custom"
                      else np.ascontiguousarray(W0, dtype=rows.dtype))
        del W0

        def batches():
            return stream.batches(rows, batch_size)

        monitor = Monitor(tol=0.0, max_iter=self.max_iter * params.steps_per_epoch,
                          floor=-math.inf, callback=self.callback, verbose=self.verbose,
                          description=who)
        interrupted = False
        try:
            with _threads.blas_threads_for(np.broadcast_to(np.float64(0), (batch_size, n)), k):
                result = online.solve(batches, state, params=params, monitor=monitor,
                                      W=W_kept)
        except KeyboardInterrupt:
            if state.n_steps == 0:
                raise
            interrupted = True
            result = online.OnlineResult(
                H=state.H, A=state.A, B=state.B, rows=state.rows, W=W_kept,
                n_steps=state.n_steps,
                n_iter=stream.steps(state.n_steps, params.steps_per_epoch),
                loss=monitor.history[-1][2] if monitor.history else float("nan"),
                converged=False, message="interrupted")
        finally:
            monitor.close()
        if interrupted:
            warnings.warn(f"{who} fit interrupted at step {state.n_steps}; keeping the "
                          "components learned so far.", UserWarning,
                          stacklevel=_caller_stacklevel())

        H_fit = result.H
        W_fit, divergence = self._final_W(rows, X_mem, H_fit, params, batch_size,
                                          W=result.W)
        self.components_ = H_fit
        self.n_components_ = k
        self._online_A, self._online_B, self._online_rows = result.A, result.B, result.rows
        self._online_solver = solver
        self._rho, self._batch_size = params.rho, batch_size
        self.n_steps_ = int(result.n_steps)
        seconds = monitor.history[-1][1] if monitor.history else 0.0
        self._restart_runs = [dict(zip(RESTART_COLUMNS, (
            0, float(result.loss), int(result.n_iter), seconds, bool(result.converged),
            result.message, True)))]
        self._set_fit_attributes(
            SolverResult(W=None, H=H_fit, n_iter=result.n_iter, loss=result.loss,
                         converged=result.converged, message=result.message,
                         divergence=divergence),
            monitor, ONLINE_SOLVERS[solver])
        return W_fit

    def _final_W(self, rows, X_mem, H, params, batch_size, *, W):
        """W for the returned H, solved as :meth:`transform` solves it, and the
        divergence of the pair, over one more pass.

        scikit-learn returns each row's W as the row's last mini-batch step left it,
        computed for an older H; the W solved for the final H fits better, and makes
        ``fit_transform(X)`` and ``fit(X).transform(X)`` the same.  For an in-memory X
        the solve runs on the whole matrix at once (scikit-learn's ``transform``); for
        a stream batch by batch, written into the rows' kept W (``W``) when there is one.
        """
        max_iter = self._transform_steps()
        if X_mem is not None:
            del W
            W = online.solve_W(online.Batch(X_mem, params), H, max_iter=max_iter,
                               tol=self.tol, solver=params.solver)
            return W, beta_divergence(X_mem, W, H, params.beta)
        if W is None:
            W = np.empty((rows.shape[0], H.shape[0]), dtype=H.dtype)
        total = 0.0
        for start, W_b, value in online.divergence_pass(stream.batches(rows, batch_size), H,
                                                        params, max_iter=max_iter):
            W[start:start + W_b.shape[0]] = W_b
            total += value
            del W_b
        return W, total

    def _transform_steps(self):
        return self.max_iter if self.transform_max_iter is None else self.transform_max_iter

    # ------------------------------------------------------------------ online
    def partial_fit(self, X, y=None, W=None, H=None):
        """Update the model with X as one mini-batch (or each chunk of a stream in turn).

        Call it on consecutive chunks of a data set too large to hold, or of data that
        arrive over time.  The first call initialises H from its X (``init``, as
        ``fit`` would on that X) and fixes the forgetting per step,
        ``forget_factor ** (min(batch_size, n) / n)`` for its n rows; each call then
        solves the chunk's W from scratch (``fresh_restarts_max_iter`` MU steps) and
        takes one H step.

        Parameters
        ----------
        X : array-like, sparse matrix, or row stream of shape (n_samples, n_features)
            A stream, list of chunks or generator: one step per chunk.
        y : ignored
        W, H : array-like, optional
            Initial factors for ``init='custom'`` (first call only).

        Returns
        -------
        self
        """
        self._check_params()
        with fit_context():
            if stream.is_stream(X):
                chunks = X if isinstance(X, stream.RowStream) else iter(X)
                for chunk in chunks:
                    self._partial_fit(chunk, W, H)
                    W = H = None
            else:
                self._partial_fit(X, W, H)
        return self

    def _partial_fit(self, X, W, H):
        fitted = hasattr(self, "components_")
        X = self._validate_X(X, reset=not fitted)
        beta = _validation.beta_value(self.beta_loss)
        _validation.check_data_for_loss(X, beta, masked=False)
        solver = self._solver_name(beta)
        if not fitted:
            k, _, H0 = self._start(X, W, H, streamed=False)
            self._batch_size = min(self.batch_size, X.shape[0])
            self._rho = float(self.forget_factor) ** (self._batch_size / X.shape[0])
            state = online.OnlineState(np.array(H0, dtype=X.dtype, order="C"), solver=solver)
            self._online_solver = solver
        else:
            if solver != getattr(self, "_online_solver", "mu"):
                raise ValueError(
                    f"partial_fit goes on with the statistics of solver="
                    f"{self._online_solver!r}, which solver={self.solver!r} cannot use; set "
                    f"solver={self._online_solver!r} back, or fit a new model.")
            state = online.OnlineState(self.components_, self._online_A, self._online_B,
                                       self.n_steps_, rows=self._online_rows, solver=solver)
            X = X.astype(self.components_.dtype, copy=False)
        params = self._online_params(beta, X.shape[0], X.shape[0])
        params = dataclasses.replace(params, rho=self._rho)
        with _threads.blas_threads_for(X, state.H.shape[0]):
            online.step(online.Batch(X, params), None, state, params)
        self.components_ = state.H
        self.n_components_ = state.H.shape[0]
        self._online_A, self._online_B, self._online_rows = state.A, state.B, state.rows
        self.n_steps_ = state.n_steps

    # ------------------------------------------------------------------ using a fit
    def transform(self, X):
        """W for X with H fixed: ``transform_max_iter`` MU steps from a constant start,
        stopping when W moves by less than ``tol`` (scikit-learn's solve); with
        ``solver='hals'``, HALS sweeps (see ``solver``).

        Parameters
        ----------
        X : array-like, sparse matrix, or row stream of shape (n_samples, n_features)
            A stream is solved ``batch_size`` rows at a time (each batch stops on its
            own change of W), each chunk checked as it is read.

        Returns
        -------
        W : ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        beta = _validation.beta_value(self.beta_loss)
        max_iter = self._transform_steps()
        if not stream.is_stream(X):
            X = self._validate_X(X, reset=False)
            _validation.check_data_for_loss(X, beta, masked=False)
            H = self.components_.astype(X.dtype, copy=False)
            params = self._online_params(beta, X.shape[0], X.shape[0])
            with _threads.blas_threads_for(X, H.shape[0]):
                return online.solve_W(online.Batch(X, params), H, max_iter=max_iter,
                                      tol=self.tol, solver=params.solver)
        source = stream.as_stream(X)
        self._check_stream_features(source, reset=False)
        m = source.shape[0]
        H = self.components_.astype(source.dtype, copy=False)
        batch_size = min(self.batch_size, m)
        params = self._online_params(beta, batch_size, m)
        W = np.empty((m, H.shape[0]), dtype=H.dtype)
        who = type(self).__name__
        for start, X_b in stream.batches(source, batch_size):
            where = f"rows {start} to {start + X_b.shape[0] - 1} of X"
            _validation.check_values(X_b, what=where, who=who)
            _validation.check_data_for_loss(X_b, beta, masked=False, what=where)
            W[start:start + X_b.shape[0]] = online.solve_W(
                online.Batch(X_b, params), H, max_iter=max_iter, tol=self.tol,
                solver=params.solver)
            del X_b  # freed before the next batch is read
        return W

    def inverse_transform(self, X):
        """Data from W: ``X @ components_`` (n_samples x n_features)."""
        check_is_fitted(self)
        return X @ self.components_
