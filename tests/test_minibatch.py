"""nmfkit.MiniBatchNMF: scikit-learn's algorithm and API, online HALS, partial_fit.

scikit-learn's own MiniBatchNMF cases are ported in tests/test_sklearn_port_minibatch.py;
fits from row streams in tests/test_stream.py.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.decomposition import MiniBatchNMF as SklearnMiniBatchNMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import check_estimator

import nmfkit
from nmfkit import NMF, MiniBatchNMF
from nmfkit._validation import InvalidParameterError
from nmfkit.objectives import beta_divergence


@pytest.fixture(scope="module")
def planted():
    """Sparse planted factors (40 % non-zeros, exponential) and 20 % uniform noise."""
    rng = np.random.default_rng(0)
    m, n, k = 3000, 80, 5
    W = rng.exponential(1.0, (m, k)) * (rng.random((m, k)) < 0.4)
    H = rng.exponential(1.0, (k, n)) * (rng.random((k, n)) < 0.4)
    return W @ H + 0.2 * rng.random((m, n)), k


def _quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


def test_online_hals_is_within_two_percent_of_the_batch_objective(planted):
    X, k = planted
    batch = NMF(k, random_state=0, tol=1e-7, max_iter=2000).fit(X)
    online = _quiet(lambda: MiniBatchNMF(k, solver="hals", max_iter=40,
                                         random_state=0).fit(X))
    # reconstruction_err_ is √(2·objective) for both.
    assert online.reconstruction_err_ ** 2 <= 1.02 * batch.reconstruction_err_ ** 2
    assert online.n_iter_ == 40 and online.solver_ == "online-hals"


def test_online_hals_beats_online_mu_on_the_same_passes(planted):
    X, k = planted
    mu = _quiet(lambda: MiniBatchNMF(k, max_iter=20, random_state=0).fit(X))
    hals = _quiet(lambda: MiniBatchNMF(k, solver="cd", max_iter=20, random_state=0).fit(X))
    assert hals.reconstruction_err_ < mu.reconstruction_err_


def _pair(kw, X, method="fit_transform"):
    ours, theirs = MiniBatchNMF(**kw), SklearnMiniBatchNMF(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out = getattr(ours, method)(X), getattr(theirs, method)(X)
    return ours, theirs, out


def _data(kind, beta):
    rng = np.random.default_rng(1)
    X = rng.random((300, 6)) @ rng.random((6, 30)) + 0.05 * rng.random((300, 30))
    if kind == "sparse":
        X = sp.csr_matrix(np.where(X > np.quantile(X, 0.6), X, 0.0))
    return X


@pytest.mark.parametrize("beta", [2.0, 1.0, 0.5, 3.0, 0.0])
@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("fresh_restarts", [False, True])
def test_same_components_and_steps_as_scikit_learn(beta, kind, fresh_restarts):
    if beta == 0.0 and kind == "sparse":
        pytest.skip("Itakura-Saito needs X > 0")
    X = _data(kind, beta)
    kw = dict(n_components=6, batch_size=64, beta_loss=beta, fresh_restarts=fresh_restarts,
              max_iter=15, random_state=0, init="random" if beta == 0.0 else None)
    ours, theirs, (W_ours, W_theirs) = _pair(kw, X)
    assert ours.n_steps_ == theirs.n_steps_ and ours.n_iter_ == theirs.n_iter_
    assert_allclose(ours.components_, theirs.components_, rtol=1e-9, atol=1e-12)
    if fresh_restarts:  # both then solve W for the final H as transform does
        assert_allclose(W_ours, W_theirs, rtol=1e-8, atol=1e-12)
        assert ours.reconstruction_err_ == pytest.approx(theirs.reconstruction_err_,
                                                         rel=1e-9)
    assert_allclose(ours.transform(X), theirs.transform(X), rtol=1e-8, atol=1e-12)


def test_same_stopping_as_scikit_learn_with_defaults():
    X = _data("dense", 2.0)
    ours, theirs, _ = _pair(dict(n_components=6, batch_size=64, tol=1e-3, random_state=0),
                            X, "fit")
    assert ours.n_steps_ == theirs.n_steps_ < 200 * 5  # a stopping rule ended both
    assert ours.converged_
    assert_allclose(ours.components_, theirs.components_, rtol=1e-9)


def test_l1_penalties_as_scikit_learn():
    # (With l1_ratio < 1 scikit-learn's batch cost counts the L2 term twice over, so its
    # smoothed cost, and then where max_no_improvement stops, can differ.)
    X = _data("dense", 2.0)
    kw = dict(n_components=6, batch_size=64, alpha_W=0.01, alpha_H=0.02, l1_ratio=1.0,
              random_state=0, max_iter=10)
    ours, theirs, _ = _pair(kw, X, "fit")
    assert ours.n_steps_ == theirs.n_steps_
    assert_allclose(ours.components_, theirs.components_, rtol=1e-9)


def test_partial_fit_follows_scikit_learn():
    X = _data("dense", 2.0)
    ours, theirs = MiniBatchNMF(6, random_state=0), SklearnMiniBatchNMF(6, random_state=0)
    for start in range(0, 300, 50):
        ours.partial_fit(X[start:start + 50])
        theirs.partial_fit(X[start:start + 50])
    assert ours.n_steps_ == theirs.n_steps_ == 6
    assert_allclose(ours.components_, theirs.components_, rtol=1e-9)


def test_kl_batch_of_zeros_moves_h_as_scikit_learn():
    # Regression: with a batch of zero rows the KL denominator of H is zero; scikit-learn
    # counts it as 1, so the fit goes on (it used to stop at once on "H did not move").
    X = np.zeros((12, 6))
    X[:3] = np.random.default_rng(0).random((3, 6)) + 0.1
    kw = dict(n_components=3, beta_loss=1, batch_size=3, random_state=0, max_iter=50)
    ours, theirs, _ = _pair(kw, X, "fit")
    assert ours.n_steps_ == theirs.n_steps_ > 3
    assert_allclose(ours.components_, theirs.components_, rtol=1e-9, atol=1e-14)


def test_fit_transform_is_transform_of_the_fit_and_beats_the_kept_w(planted):
    X, k = planted
    model = _quiet(lambda: MiniBatchNMF(k, batch_size=256, max_iter=10, random_state=0))
    W = _quiet(lambda: model.fit_transform(X))
    assert_allclose(W, model.transform(X))
    assert model.reconstruction_err_ == pytest.approx(
        np.sqrt(2 * beta_divergence(X, W, model.components_, 2)), rel=1e-10)
    theirs = _quiet(lambda: SklearnMiniBatchNMF(k, batch_size=256, max_iter=10,
                                                random_state=0).fit(X))
    assert model.reconstruction_err_ <= theirs.reconstruction_err_


def test_check_estimator_passes_for_both_solvers():
    for solver in ("mu", "hals"):
        results = check_estimator(MiniBatchNMF(solver=solver), on_fail=None)
        failed = [r["check_name"] for r in results if r["status"] == "failed"]
        assert not failed, (solver, failed)


def test_factors_are_non_negative_and_finite_for_every_loss():
    rng = np.random.default_rng(2)
    X = rng.random((100, 12)) + 0.01
    for beta in ("frobenius", "kullback-leibler", "itakura-saito", 1.5, -0.5):
        model = _quiet(lambda: MiniBatchNMF(4, beta_loss=beta, batch_size=16, max_iter=5,
                                            random_state=0))
        W = _quiet(lambda: model.fit_transform(X))
        for F in (W, model.components_):
            assert np.isfinite(F).all() and (F >= 0).all()


def test_callback_stops_and_loss_curve_records_each_step():
    X = _data("dense", 2.0)
    seen = []

    def callback(step, W_b, H, cost):
        seen.append((step, W_b.shape, H.shape, cost))
        return step == 7

    model = MiniBatchNMF(6, batch_size=50, callback=callback, random_state=0).fit(X)
    assert model.stop_reason_ == "callback" and model.n_steps_ == 7
    assert [s[0] for s in seen] == list(range(1, 8))
    assert seen[0][1] == (50, 6) and seen[0][2] == (6, 30)
    curve = model.loss_curve_
    assert list(curve["iteration"]) == list(range(0, 8))
    assert_allclose(curve["loss"].iloc[1:], [s[3] for s in seen])
    assert model.n_iter_ == 2  # 7 steps of 6 per pass: the second pass was started


def test_ctrl_c_keeps_the_components_learned_so_far():
    X = _data("dense", 2.0)

    def interrupt(step, W_b, H, cost):
        if step == 5:
            raise KeyboardInterrupt

    with pytest.warns(UserWarning, match="interrupted at step 5"):
        model = MiniBatchNMF(6, batch_size=50, callback=interrupt, random_state=0).fit(X)
    assert model.stop_reason_ == "interrupted" and model.n_steps_ == 5
    assert np.isfinite(model.components_).all()


def test_save_and_load_go_on_with_partial_fit(tmp_path):
    X = _data("dense", 2.0)
    model = MiniBatchNMF(6, batch_size=50, max_iter=3, random_state=0)
    _quiet(lambda: model.fit(X))
    model.save(tmp_path / "model.nmf")
    loaded = nmfkit.load(tmp_path / "model.nmf")
    assert isinstance(loaded, MiniBatchNMF) and loaded.n_steps_ == model.n_steps_
    assert_allclose(loaded.transform(X), model.transform(X))
    model.partial_fit(X[:40])
    loaded.partial_fit(X[:40])
    assert_allclose(loaded.components_, model.components_)


def test_partial_fit_keeps_its_solver():
    X = _data("dense", 2.0)
    model = MiniBatchNMF(6, solver="hals", random_state=0).partial_fit(X[:100])
    model.partial_fit(X[100:200])
    assert model.n_steps_ == 2
    model.set_params(solver="mu")
    with pytest.raises(ValueError, match="statistics of solver='hals'"):
        model.partial_fit(X[200:])


def test_pipeline_pandas_output_and_feature_names():
    X = pd.DataFrame(_data("dense", 2.0), columns=[f"w{i}" for i in range(30)])
    pipe = make_pipeline(FunctionTransformer(), MiniBatchNMF(3, random_state=0, max_iter=5))
    pipe.set_output(transform="pandas")
    out = _quiet(lambda: pipe.fit_transform(X))
    assert list(out.columns) == ["minibatchnmf0", "minibatchnmf1", "minibatchnmf2"]
    assert list(pipe[-1].feature_names_in_) == list(X.columns)


@pytest.mark.parametrize("params, error, match", [
    ({"batch_size": 0}, InvalidParameterError, "'batch_size' parameter of MiniBatchNMF"),
    ({"forget_factor": 1.5}, InvalidParameterError, "'forget_factor'"),
    ({"max_no_improvement": 0}, InvalidParameterError, "'max_no_improvement'"),
    ({"solver": "pgd"}, InvalidParameterError, "'solver' parameter"),
    ({"solver": "hals", "beta_loss": 1}, ValueError, "fits the Frobenius loss only"),
    # No GPU here: ValueError from the device check; with one, MiniBatchNMF (CPU only)
    # refuses it with NotImplementedError.
    ({"device": "cuda"}, (ValueError, NotImplementedError), "device='cuda'"),
])
def test_bad_parameters_raise_before_any_work(params, error, match):
    with pytest.raises(error, match=match):
        MiniBatchNMF(2, **params).fit(_data("dense", 2.0))


def test_bad_data_raises_as_nmf_does():
    X = _data("dense", 2.0)
    with pytest.raises(ValueError, match="Negative values in data passed to MiniBatchNMF"):
        MiniBatchNMF(2).fit(-X)
    model = _quiet(lambda: MiniBatchNMF(2, max_iter=2).fit(X))
    with pytest.raises(ValueError, match="X has 29 features, but MiniBatchNMF is expecting 30"):
        model.transform(X[:, 1:])
    with pytest.warns(UserWarning, match="X is all zeros"):
        _quiet(lambda: MiniBatchNMF(2, max_iter=2).fit(np.zeros((5, 4))))
