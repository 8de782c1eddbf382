"""``NMF`` on a dask array: the estimator's fit, with X's row blocks where they live.

:class:`nmfkit.NMF` hands a dask X here.  The parameters mean what they mean for an
in-memory X; the fit runs through the estimator's own restarts, monitor and fitted
attributes (:class:`nmfkit.estimators._base.FactorizationBase`), with a solver record
whose solve function is the distributed driver (:mod:`nmfkit.distributed.driver`)
around the registered solver's update rule.  What differs:

- ``init='auto'`` is ``'random'`` (scikit-learn's random start, the same numbers as for
  the in-memory X); NNDSVD would need an SVD of all of X;
- no ``missing='mask'``, ``orthogonal``, ``shuffle`` or checkpoints (Dask recomputes the
  blocks a lost worker held, from X's source);
- the Frobenius solvers that run are those whose rule solves each block's rows alone
  (:data:`FROBENIUS_RULES`); every β is fitted by ``'mu'``;
- ``fit_transform`` returns W as a dask array with X's row chunks; ``components_`` is
  NumPy.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
from importlib import import_module

import numpy as np
from sklearn.utils import check_random_state

from .. import _validation
from ..objectives import Penalty
from ..solvers import Settings, SolverParams, resolve
from . import blocks, driver
from .cluster import task
from .data import DaskMatrix, _as_float_matrix, is_dask

#: The Frobenius solvers the driver runs, and their update rules: each block's rows of
#: W are solved by the rule alone, and the rule keeps nothing from one call to the next
#: (PGD's step size does, so it is not here).
FROBENIUS_RULES = {
    "hals": "nmfkit.solvers.hals:update",
    "mu": "nmfkit.solvers.mu:update",
    "anls": "nmfkit.solvers.anls:update",
    "als": "nmfkit.solvers.als:update",
}


def fit_transform(model, X, W=None, H=None, *, checkpointing=None, stacklevel=2):
    """Fit ``model`` (an :class:`nmfkit.NMF`, parameters checked) to the dask array X.

    Parameters
    ----------
    model : nmfkit.NMF
    X : dask.array.Array (m, n)
    W, H : arrays, optional
        The start for ``init='custom'``: W as NumPy or a dask array (m x k), H (k x n).
    checkpointing : None
        Checkpoints are not available for a dask X (a ValueError says so).
    stacklevel : int
        Where warnings point, counted from the caller of this function.

    Returns
    -------
    W : dask.array.Array (m, k)
        Row-partitioned as X, held on the workers.
    """
    who = type(model).__name__
    _check_supported(model, checkpointing, who)
    beta = _validation.beta_value(model.beta_loss)
    data = DaskMatrix(X, beta=beta, who=who)
    penalty = Penalty.from_alphas(model.alpha_W, model.alpha_H, model.l1_ratio, data.shape)
    record = solver_record(model.solver, beta, penalty, data.sparse)
    settings = Settings.from_options(model.solver_options)
    _validation.warn_unused_factors(model.init, W, H, stacklevel=stacklevel + 1)
    if model.init == "custom":
        W0, H0, k = custom_start(data, W, H, model.n_components)
    else:
        k = data.shape[1] if model.n_components in (None, "auto") else model.n_components
        _validation.check_factor_memory(k, (0, data.shape[1]), itemsize=data.dtype.itemsize,
                                        who=who)  # H and the k x n products, on the client
        _random_scheme(model.init)
    # The check takes an array; one entry that is non-zero exactly when X has one.
    _validation.warn_if_all_zero(np.array([float(data.nonzero)]), who)
    params = SolverParams(max_iter=model.max_iter, penalty=penalty, beta=beta,
                          random_state=model.random_state,
                          squared_norm_X=data.squared_norm, settings=settings)
    seeds = model._restart_seeds()

    def start(restart):
        if model.init == "custom" and restart == 0:
            return data.align(W0), H0
        return random_start(data, k, seeds[restart])

    normX2 = data.squared_norm
    result, monitor = model._fit_restarts(
        data, record, params, [start] * len(seeds),
        floor=10 * float(np.finfo(data.dtype).eps) * 0.5 * normX2,
        null_loss=0.5 * normX2 if beta == 2 else None)
    model.components_ = np.ascontiguousarray(result.H)
    model.n_components_ = model.components_.shape[0]
    model.n_features_in_ = data.shape[1]
    model.__dict__.pop("feature_names_in_", None)  # a dask array has no column names
    model._set_fit_attributes(result, monitor, record)
    return result.W


def transform(model, X):
    """W for the dask array X with the fitted H, lazily: each row block by the model's
    own ``transform`` (the rows of W are independent given H)."""
    who = type(model).__name__
    X = _as_float_matrix(X, who)
    if X.shape[1] != model.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {who} is expecting "
                         f"{model.n_features_in_} features as input.")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    k = model.components_.shape[0]
    return X.map_blocks(blocks.transform_rows, _for_blocks(model), np.dtype(X.dtype).str,
                        dtype=X.dtype, chunks=(X.chunks[0], (k,)),
                        meta=np.empty((0, 0), dtype=X.dtype))


def _for_blocks(model):
    """The fitted model without what only the client needs (history, callback), to send
    with each block's task."""
    light = copy.copy(model)
    for name in ("loss_curve_", "restarts_", "_restart_runs"):
        light.__dict__.pop(name, None)
    light.callback, light.verbose = None, 0
    return light


# ----------------------------------------------------------------------------- checks
def _check_supported(model, checkpointing, who):
    """What the distributed fit does not do, refused before any work."""
    refused = [
        (checkpointing is not None,
         "checkpoint= and resume= are not available for a dask array: Dask recomputes "
         "the blocks a lost worker held from X's source; fit without them"),
        (model.missing == "mask",
         "missing='mask' is not available for a dask array; fit the observed entries of an "
         "in-memory X, or a dask array without NaN and missing='error'"),
        (model.orthogonal is not None,
         f"orthogonal={model.orthogonal!r} is not available for a dask array (ONMF-EM "
         "assigns every column of X at once); fit an in-memory X"),
        (model.shuffle,
         "shuffle=True visits the components in one random order for all of W, which a "
         "dask array's blocks do not share; pass shuffle=False"),
    ]
    for bad, text in refused:
        if bad:
            raise ValueError(f"{who}: {text}.")


def solver_record(solver, beta, penalty, sparse):
    """The registry's record for ``solver`` on this problem, with the distributed driver
    as its solve function (and no float32 phase).  'auto' takes the registry's choice
    when it runs distributed, else 'mu' (which fits every β)."""
    record = resolve(solver, beta=beta, penalized=penalty.active, sparse=sparse)
    if solver == "auto" and not _runs_distributed(record, beta):
        record = resolve("mu", beta=beta, penalized=penalty.active, sparse=sparse)
    if not _runs_distributed(record, beta):
        able = ("'hals', 'mu', 'anls', 'als' or 'auto'" if beta == 2
                else "'mu' (or 'auto')")
        ran = f" (which runs {record.name!r} here)" if record.name != solver else ""
        raise ValueError(
            f"solver={solver!r}{ran} does not run on a dask array: its updates need more "
            f"of X than one block of rows at a time; use solver={able}.")
    if beta == 2:
        module, _, name = FROBENIUS_RULES[record.name].partition(":")
        solve = functools.partial(driver.solve_frobenius,
                                  update=getattr(import_module(module), name),
                                  exact_last_W=record.name == "mu")
    else:
        solve = driver.solve_beta
    return dataclasses.replace(record, solve=solve, mixed_precision=False)


def _runs_distributed(record, beta) -> bool:
    return record.name in FROBENIUS_RULES if beta == 2 else record.name == "mu"


def _random_scheme(init):
    if init not in (None, "auto", "random"):
        raise ValueError(
            f"init={init!r} needs an SVD of all of X, which a fit on a dask array does not "
            "take; pass init='random' (what 'auto' is for a dask array) or init='custom' "
            "with W and H.")


# ----------------------------------------------------------------------------- starts
def random_start(data, k, seed):
    """scikit-learn's random start, H on the client and W as one task per row block.

    The numbers are those :func:`nmfkit.init.initialize` draws for the in-memory X (H
    first, then W row after row): the client runs the generator past each block's rows
    and gives the block the generator's state there, so no row of W is kept here.
    """
    m, n = data.shape
    dtype = data.dtype
    rng = check_random_state(seed)
    scale = np.sqrt(data.mean / k)
    H = np.abs(scale * rng.standard_normal(size=(k, n)).astype(dtype, copy=False))
    W = []
    for rows in data.row_chunks:
        W.append(task(blocks.random_rows)(rng.get_state(), rows, k, scale, dtype.str))
        rng.standard_normal(size=(rows, k))  # on to the next block's rows
    return W, H


def custom_start(data, W, H, n_components):
    """The checked start of ``init='custom'``: (W, H, k), W as the user gave it (NumPy or
    dask), H as NumPy in X's dtype.  A dask W is checked from its minimum, maximum and
    finiteness, computed where it lives."""
    shape_only = np.broadcast_to(np.zeros((), dtype=data.dtype), data.shape)  # no memory
    if not is_dask(W):
        return _validation.check_custom_factors(shape_only, W, H, n_components)
    if H is None:
        return _validation.check_custom_factors(shape_only, W, None, n_components)
    k = np.asarray(H).shape[0] if n_components in (None, "auto") else n_components
    if tuple(W.shape) != (data.shape[0], k):  # the message of the in-memory check
        _validation.check_custom_factors(shape_only, np.broadcast_to(0.0, W.shape), H,
                                         n_components)
    import dask.array as da

    low, high, finite = data.runner.compute(W.min(), W.max(), da.isfinite(W).all())
    # One row that fails the in-memory checks as W does (or passes them): its messages.
    verdict = np.nan if not finite else low if low < 0 else high
    one_row = np.broadcast_to(np.zeros((), dtype=data.dtype), (1, data.shape[1]))
    _, H0, k = _validation.check_custom_factors(one_row, np.full((1, k), verdict), H,
                                                n_components)
    return W, H0, k
