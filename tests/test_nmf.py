"""The estimator: scikit-learn compatibility, inputs, determinism, progress, restarts."""
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import SOLVERS, planted
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import check_estimator

import nmfkit

# Checks scikit-learn itself skips for NMF (none today) plus checks it skips for
# every estimator in this environment (array-API input needs SCIPY_ARRAY_API=1).
ALLOWED_SKIPS = {"check_array_api_input"}


@pytest.mark.parametrize("solver", ["auto", *SOLVERS])
def test_check_estimator_with_defaults(solver):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = check_estimator(nmfkit.NMF(solver=solver), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results
              if r["status"] == "failed"]
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert not failed
    assert skipped <= ALLOWED_SKIPS
    assert len(results) > 40


def test_same_seed_gives_identical_factors(dense_problem):
    a = nmfkit.NMF(5, init="random", random_state=7).fit(dense_problem)
    b = nmfkit.NMF(5, init="random", random_state=7).fit(dense_problem)
    assert np.array_equal(a.components_, b.components_)
    c = nmfkit.NMF(5, init="random", random_state=8).fit(dense_problem)
    assert not np.array_equal(a.components_, c.components_)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok", "bsr", "dia"])
def test_sparse_and_dense_give_the_same_result(solver, fmt, dense_problem):
    X = dense_problem.copy()
    X[X < np.quantile(X, 0.3)] = 0
    kw = dict(n_components=4, random_state=0, max_iter=30, tol=0, solver=solver)
    Xs = sp.csr_matrix(X).asformat(fmt)
    W_dense = nmfkit.NMF(**kw).fit_transform(X)
    model = nmfkit.NMF(**kw)
    W_sparse = model.fit_transform(Xs)
    np.testing.assert_allclose(W_sparse, W_dense, rtol=1e-6, atol=1e-9 * np.abs(W_dense).max())
    assert sp.issparse(Xs)  # the input is not densified in place


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_and_dense_take_the_same_steps_down_to_an_exact_fit(fmt):
    """Regression: near an exact fit the objectives of an extrapolated and a plain step
    differ by rounding, which is not the same for dense and sparse products; HALS took
    different steps on the two (factors 5e-6 apart) until a step had to gain more than
    the objective's rounding (scikit-learn's test_nmf_sparse_input)."""
    rng = np.random.mtrand.RandomState(42)
    X = np.abs(rng.randn(10, 10))
    X[:, 2 * np.arange(5)] = 0  # rank 5: fitted exactly by k = 5
    kw = dict(n_components=5, init="random", random_state=0, tol=0, max_iter=100,
              solver="hals")
    dense, sparse = nmfkit.NMF(**kw), nmfkit.NMF(**kw)
    W_dense = dense.fit_transform(X)
    W_sparse = sparse.fit_transform(sp.csr_matrix(X).asformat(fmt))
    assert dense.stop_reason_ == sparse.stop_reason_ == "exact fit"
    assert dense.n_iter_ == sparse.n_iter_
    np.testing.assert_allclose(W_sparse, W_dense, rtol=1e-7)
    np.testing.assert_allclose(sparse.components_, dense.components_, rtol=1e-7)


def test_a_component_vanished_up_to_rounding_takes_no_step():
    """Regression: a row of H that is zero in exact arithmetic came out of a HALS sweep
    as 5.6e-17 on dense X and as 0 on sparse X; the W update then divided rounding by
    a_jj ≈ 6e-33 on one and left the column as it was on the other, and plain HALS on
    the same X ended 1.8 apart (a 10 x 10 matrix of rank 5 with zero columns)."""
    rng = np.random.mtrand.RandomState(20)
    X = np.abs(rng.randn(10, 10))
    X[:, 2 * np.arange(5)] = 0
    kw = dict(n_components=5, init="random", random_state=0, tol=0, max_iter=50,
              solver="hals", solver_options={"extrapolate": False})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W_dense = nmfkit.NMF(**kw).fit_transform(X)
        W_sparse = nmfkit.NMF(**kw).fit_transform(sp.csr_matrix(X))
    np.testing.assert_allclose(W_sparse, W_dense, rtol=1e-7, atol=1e-12)


def test_w_or_h_with_another_init_warn_and_are_not_used(dense_problem):
    """Regression: W and H passed with init='auto' were used as a custom start, and with
    another init (or only one of them) ignored in silence; scikit-learn warns and ignores
    them whenever init is not 'custom'."""
    rng = np.random.default_rng(0)
    W0 = rng.random((dense_problem.shape[0], 3))
    H0 = rng.random((3, dense_problem.shape[1]))
    kw = dict(n_components=3, random_state=0, max_iter=20, tol=0)
    for init in ("auto", None, "random", "nndsvda"):
        reference = nmfkit.NMF(init=init, **kw).fit(dense_problem)
        for given in ({"W": W0, "H": H0}, {"H": H0}, {"W": W0}):
            with pytest.warns(RuntimeWarning, match="When init!='custom', provided W or H "
                                                    "are ignored") as record:
                model = nmfkit.NMF(init=init, **kw).fit(dense_problem, **given)
            assert record[0].filename == __file__
            np.testing.assert_array_equal(model.components_, reference.components_)
    custom = nmfkit.NMF(init="custom", **kw).fit(dense_problem, W=W0, H=H0)
    assert not np.array_equal(custom.components_, reference.components_)


def test_sparse_input_is_never_densified(monkeypatch, sparse_problem):
    def refuse(*args, **kwargs):
        raise AssertionError("a sparse X was densified")

    monkeypatch.setattr(sp.csr_matrix, "toarray", refuse)
    monkeypatch.setattr(sp.csr_matrix, "todense", refuse)
    model = nmfkit.NMF(5, random_state=0, max_iter=20).fit(sparse_problem)
    model.transform(sparse_problem)
    assert np.isfinite(model.reconstruction_err_)


def test_float32_stays_float32_and_ints_become_float64(dense_problem):
    model = nmfkit.NMF(4, random_state=0, max_iter=50)
    W = model.fit_transform(dense_problem.astype(np.float32))
    assert W.dtype == np.float32 and model.components_.dtype == np.float32
    assert model.transform(dense_problem.astype(np.float32)).dtype == np.float32
    counts = (dense_problem * 10).astype(np.int64)
    W = nmfkit.NMF(4, random_state=0, max_iter=20).fit_transform(counts)
    assert W.dtype == np.float64
    W = nmfkit.NMF(2, random_state=0, max_iter=20).fit_transform(counts > 5)
    assert W.dtype == np.float64


def test_dataframe_feature_names_and_pandas_output(dense_problem):
    df = pd.DataFrame(dense_problem, columns=[f"word{i}" for i in range(dense_problem.shape[1])])
    model = nmfkit.NMF(3, random_state=0, max_iter=50).set_output(transform="pandas")
    W = model.fit_transform(df)
    assert list(model.feature_names_in_) == list(df.columns)
    assert isinstance(W, pd.DataFrame)
    assert list(W.columns) == ["nmf0", "nmf1", "nmf2"]
    assert list(model.get_feature_names_out()) == ["nmf0", "nmf1", "nmf2"]


def test_attributes_and_loss_curve(dense_problem):
    model = nmfkit.NMF(5, random_state=0).fit(dense_problem)
    assert model.components_.shape == (5, dense_problem.shape[1])
    assert model.n_components_ == 5 and model.n_features_in_ == dense_problem.shape[1]
    curve = model.loss_curve_
    assert list(curve.columns) == ["iteration", "seconds", "loss"]
    assert curve["iteration"].iloc[-1] == model.n_iter_
    assert curve["seconds"].is_monotonic_increasing
    W = model.transform(dense_problem)
    expected = np.linalg.norm(dense_problem - W @ model.components_)
    assert model.reconstruction_err_ == pytest.approx(expected, rel=1e-2)


@pytest.mark.parametrize("solver", [*SOLVERS, "orthogonal"])
@pytest.mark.parametrize("max_iter", [3, 60])
def test_reconstruction_error_of_sparse_X_is_that_of_the_returned_factors(solver, max_iter,
                                                                          monkeypatch):
    """For sparse X the estimator takes the solver's last objective instead of a new
    product with X; it must be the objective of the factors returned, whichever way the
    fit ended: in float64, after MU's final W step, with a penalty (there it is
    recomputed), or in float32 (HALS on a 600 x 500 float64 X starts there; 3 iterations
    end there).  And that it saves the pass over X where it may.  X is nearly of rank 6,
    so the float32 products' rounding shows in the float32 phase's objective."""
    rng = np.random.default_rng(0)
    blocks = [np.outer(rng.random(100) + 0.5, rng.random(84) + 0.5) for _ in range(6)]
    X = sp.csr_matrix(sp.block_diag(blocks, format="csr")[:, :500])
    X.data *= 1 + 1e-3 * rng.standard_normal(X.nnz)
    from nmfkit import _data

    passes = []  # the pass over X that measures the error, when one is made
    recompute = _data.residual_squared_norm
    monkeypatch.setattr(_data, "residual_squared_norm",
                        lambda *a, **k: passes.append(1) or recompute(*a, **k))
    kw = {"orthogonal": "H"} if solver == "orthogonal" else {"solver": solver}
    for extra in ({}, {} if solver == "orthogonal" else {"alpha_W": 0.01}):
        passes.clear()
        model = nmfkit.NMF(6, init="nndsvda", tol=0, max_iter=max_iter, random_state=0,
                           **kw, **extra)
        W = model.fit_transform(X)
        exact = np.linalg.norm(X.toarray() - W @ model.components_)
        # The trace identity subtracts numbers of the size of ‖X‖² to leave ‖X − WH‖²,
        # far smaller here: its rounding, relative to the error, is about
        # ε·‖X‖²/‖X − WH‖² (1e-10 on this X), and a few such terms add up.
        rounding = 50 * np.finfo(np.float64).eps * X.multiply(X).sum() / exact ** 2
        assert model.reconstruction_err_ == pytest.approx(exact, rel=max(1e-9, rounding))
        # the saving itself: no new pass unless the fit ended in float32 (HALS, the one
        # solver with that phase, after 3 iterations), MU replaced W, or a penalty is on
        ended_in_float32 = solver == "hals" and max_iter == 3
        reused = not ended_in_float32 and solver != "mu" and not extra
        assert passes == ([] if reused else [1])


def test_transform_is_the_nonnegative_least_squares_fit(dense_problem):
    model = nmfkit.NMF(5, random_state=0, max_iter=500, tol=1e-8)
    W_fit = model.fit_transform(dense_problem)
    W = model.transform(dense_problem)
    assert W.min() >= 0
    np.testing.assert_allclose(W, W_fit, atol=1e-3 * W_fit.max())
    # No non-negative perturbation of one row does better.
    H = model.components_
    x, w = dense_problem[0], W[0]
    best = np.linalg.norm(x - w @ H)
    rng = np.random.default_rng(0)
    for _ in range(50):
        trial = np.maximum(w + 0.01 * rng.standard_normal(w.shape), 0)
        assert np.linalg.norm(x - trial @ H) >= best - 1e-12
    np.testing.assert_allclose(model.inverse_transform(W), W @ H)


def test_default_stopping_reaches_a_better_objective_than_scikit_learn():
    from sklearn.decomposition import NMF as SklearnNMF

    X = planted(400, 150, 20, noise=0.05, seed=3)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SklearnNMF(20, random_state=0).fit(X)
        ours = nmfkit.NMF(20, random_state=0).fit(X)
    assert ours.reconstruction_err_ <= sk.reconstruction_err_


def test_stopping_scale_is_the_explained_part_when_the_model_explains_little():
    # Sparse data a rank-10 model explains ~9 % of: a fall of tol·L per iteration is
    # still a large change of the factors, so the rule measures against ½‖X‖² − L.
    X = sp.random(600, 400, density=0.02, random_state=0, format="csr")
    null = 0.5 * float(X.multiply(X).sum())
    model = nmfkit.NMF(10, random_state=0).fit(X)
    L = model.loss_curve_["loss"].to_numpy()
    t, tol = len(L) - 1, model.tol
    assert model.stop_reason_ == "converged" and null - L[t] < 0.2 * null
    assert L[t - 10] - L[t] <= 10 * tol * (null - L[t])
    assert L[t - 11] - L[t - 1] > 10 * tol * (null - L[t - 1])  # not a step early
    # measured against L itself, the rule would have stopped several iterations sooner,
    # at a higher objective
    old = next(i for i in range(10, len(L)) if L[i - 10] - L[i] <= 10 * tol * L[i])
    assert old < t - 3 and L[old] > L[t]


def test_callback_returning_true_stops_early(dense_problem):
    seen = []

    def callback(iteration, W, H, loss):
        seen.append((iteration, W.shape, H.shape, loss))
        return iteration == 3

    model = nmfkit.NMF(4, random_state=0, callback=callback, max_iter=100).fit(dense_problem)
    assert model.n_iter_ == 3 and len(seen) == 3
    assert seen[0][1] == (dense_problem.shape[0], 4) and seen[0][2] == (4, dense_problem.shape[1])
    assert model.stop_reason_ == "callback"
    assert np.all(model.components_ >= 0)


def test_keyboard_interrupt_keeps_the_result_so_far(dense_problem):
    def interrupt(iteration, W, H, loss):
        if iteration == 5:
            raise KeyboardInterrupt

    model = nmfkit.NMF(4, random_state=0, callback=interrupt, max_iter=100)
    with pytest.warns(UserWarning, match="interrupted"):
        W = model.fit_transform(dense_problem)
    assert model.n_iter_ == 5 and np.all(np.isfinite(W))
    assert model.reconstruction_err_ < np.linalg.norm(dense_problem)


def test_verbose_shows_progress(dense_problem, capsys):
    nmfkit.NMF(3, random_state=0, max_iter=5, tol=0, verbose=1).fit(dense_problem)
    assert "NMF[hals]" in capsys.readouterr().err
    nmfkit.NMF(3, random_state=0, max_iter=5, tol=0, verbose=2).fit(dense_problem)
    err = capsys.readouterr().err
    assert "iteration 5" in err and "loss" in err


def test_n_init_keeps_the_best_restart(dense_problem):
    kw = dict(n_components=6, init="random", max_iter=30, tol=0)
    best = nmfkit.NMF(n_init=4, random_state=0, **kw).fit(dense_problem)
    first = nmfkit.NMF(random_state=0, **kw).fit(dense_problem)
    assert best.reconstruction_err_ <= first.reconstruction_err_ + 1e-12
    runs = best.restarts_
    assert list(runs.index) == [0, 1, 2, 3] and runs["best"].sum() == 1
    assert runs["loss"].idxmin() == runs.index[runs["best"]][0]
    kept = runs.loc[runs["best"], "loss"].iloc[0]
    assert kept == pytest.approx(best.loss_curve_["loss"].iloc[-1])
    assert (runs["n_iter"] == 30).all() and (runs["stop_reason"] == "max_iter reached").all()
    assert runs.loc[0, "loss"] == pytest.approx(first.loss_curve_["loss"].iloc[-1])
    assert len(first.restarts_) == 1 and bool(first.restarts_["best"].iloc[0])


def test_custom_init_and_auto_components(dense_problem):
    rng = np.random.default_rng(0)
    W0, H0 = rng.random((dense_problem.shape[0], 3)), rng.random((3, dense_problem.shape[1]))
    model = nmfkit.NMF(init="custom", max_iter=10).fit(dense_problem, W=W0, H=H0)
    assert model.n_components_ == 3


def test_works_in_pipeline_gridsearch_and_clone(dense_problem):
    pipe = make_pipeline(MinMaxScaler(), nmfkit.NMF(3, random_state=0, max_iter=50))
    assert pipe.fit_transform(dense_problem).shape == (dense_problem.shape[0], 3)
    search = GridSearchCV(nmfkit.NMF(random_state=0, max_iter=50),
                          {"n_components": [2, 4]}, cv=2,
                          scoring=lambda est, X: -est.reconstruction_err_)
    search.fit(dense_problem)
    assert search.best_params_["n_components"] in (2, 4)
    c = clone(nmfkit.NMF(7, solver="mu", alpha_W=0.1))
    assert c.get_params()["n_components"] == 7 and c.get_params()["solver"] == "mu"


def test_cd_is_hals():
    X = planted(50, 30, 4, noise=0.1)[0]
    a = nmfkit.NMF(4, solver="cd", random_state=0, max_iter=20).fit(X)
    b = nmfkit.NMF(4, solver="hals", random_state=0, max_iter=20).fit(X)
    assert a.solver_ == "hals" and np.array_equal(a.components_, b.components_)


def test_l1_penalty_makes_factors_sparser(dense_problem):
    plain = nmfkit.NMF(6, random_state=0, max_iter=200).fit(dense_problem)
    sparse = nmfkit.NMF(6, random_state=0, max_iter=200, alpha_H=0.05, alpha_W=0.0,
                        l1_ratio=1.0).fit(dense_problem)
    assert (sparse.components_ == 0).mean() > (plain.components_ == 0).mean()


def test_warnings_point_at_the_callers_line(dense_problem):
    with pytest.warns(ConvergenceWarning) as record:
        nmfkit.NMF(3, random_state=0, max_iter=2).fit(dense_problem)
    assert record[0].filename == __file__
