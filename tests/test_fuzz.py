"""Fuzzing NMF (issue 23): over shapes, sparsity, dtypes, value scales, solvers, losses and
parameters, every fit either raises one of the documented errors (docs/errors.md) or
returns finite, non-negative factors, whose objective is no worse than the start's for the
descent methods (all but 'als').

``make test`` runs the repeatable profile (a fixed budget of examples, the same on every
run); ``make fuzz`` runs the ``fuzz`` profile, many more fresh examples.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmfkit import NMF

#: What a documented refusal says (docs/errors.md): the fuzzer's inputs are valid data,
#: so only the checks of a loss against the data, and of the solver against the problem,
#: may refuse them.
DOCUMENTED = ("undefined where X = 0", "fits", "cannot", "needs", "only")

FITS = [("auto", "frobenius"), ("hals", "frobenius"), ("mu", "frobenius"),
        ("anls", "frobenius"), ("pgd", "frobenius"), ("als", "frobenius"),
        ("auto", "kullback-leibler"), ("mu", "kullback-leibler"), ("mu", 0.5),
        ("mu", 1.5), ("mu", "itakura-saito")]


@st.composite
def problems(draw):
    m, n = draw(st.integers(1, 25)), draw(st.integers(1, 25))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    scale = 10.0 ** draw(st.integers(-20, 20))
    density = draw(st.sampled_from([1.0, 0.5, 0.1, 0.02]))
    X = rng.random((m, n)) * (rng.random((m, n)) < density) * scale
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    X = X.astype(dtype)
    if draw(st.booleans()):
        X = sp.csr_matrix(X)
    solver, loss = draw(st.sampled_from(FITS))
    params = dict(n_components=draw(st.integers(1, 8)), solver=solver, beta_loss=loss,
                  init=draw(st.sampled_from(["auto", "random", "nndsvda"])),
                  max_iter=draw(st.integers(1, 60)), tol=draw(st.sampled_from([0.0, 1e-4])),
                  random_state=seed)
    if solver != "pgd" and draw(st.booleans()):
        params.update(alpha_W=draw(st.sampled_from([0.0, 1e-3, 0.1])),
                      l1_ratio=draw(st.sampled_from([0.0, 0.5, 1.0])))
    return X, params


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_a_fit_refuses_clearly_or_ends_finite_non_negative_and_no_worse(problem):
    X, params = problem
    model = NMF(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            W = model.fit_transform(X)
        except ValueError as error:
            message = str(error)
            assert any(words in message for words in DOCUMENTED), message
            return
    H = model.components_
    assert np.isfinite(W).all() and np.isfinite(H).all()
    assert (W >= 0).all() and (H >= 0).all()
    losses = model.loss_curve_["loss"].to_numpy()
    assert np.isfinite(losses).all() and np.isfinite(model.reconstruction_err_)
    if params["solver"] == "als":
        return  # not a descent method: its clipping can raise the objective
    # No worse than the start, up to the objective's rounding: a few units of the
    # products' epsilon on the size of the data's own terms (½‖X‖², Σx).
    values = X.data if sp.issparse(X) else X
    size = max(abs(losses[0]), 0.5 * float(np.sum(values.astype(np.float64) ** 2)),
               float(np.sum(values, dtype=np.float64)))
    assert losses[-1] <= losses[0] + 100 * np.finfo(X.dtype).eps * size


def test_the_fuzz_profile_exists():
    assert settings.get_profile("fuzz").max_examples == 2000


def test_newton_cd_kl_never_raises_the_objective_from_a_random_start():
    """Found by the fuzz profile: from a random start above twice the optimum a projected
    Newton step sent variables to 0 and the objective rose; an iteration that rises is
    now run again with its steps down bounded (solvers/_kernels.kl_step)."""
    rng = np.random.default_rng(0)
    X = rng.random((20, 10))
    model = NMF(1, beta_loss="kullback-leibler", init="random", max_iter=5, tol=0,
                random_state=0).fit(X)
    losses = model.loss_curve_["loss"].to_numpy()
    assert (np.diff(losses) <= 1e-12 * losses[0]).all()
