"""Orthogonal NMF: orthogonal='H' (HHᵀ = I) and 'W' (WᵀW = I) by ONMF-EM."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from conftest import fit

from nmfkit import NMF
from nmfkit.init import initialize, kmeans_plusplus, resolve_init


def clustered(m=50, n=240, k=4, noise=0.05, seed=0):
    """Columns of X drawn from k non-negative profiles (one per cluster), scaled, noisy."""
    rng = np.random.default_rng(seed)
    profiles = rng.gamma(1.0, 1.0, (m, k)) * (rng.random((m, k)) < 0.6) + 0.05
    labels = rng.integers(0, k, n)
    X = profiles[:, labels] * rng.uniform(0.5, 2.0, n)
    X = X + noise * X.mean() * rng.random((m, n))
    return X, labels


def row_clusters(sizes=(40, 40, 40), n=90, noise=0.2, seed=0):
    """Rows of X in len(sizes) planted clusters: a uniform random centroid row per
    cluster (cosines about 0.75 apart), scaled by U(0.5, 1.5), plus
    noise·|N(0, 1)| everywhere (issue 20's case)."""
    rng = np.random.default_rng(seed)
    centroids = rng.random((len(sizes), n))
    labels = np.repeat(np.arange(len(sizes)), sizes)
    X = centroids[labels] * rng.uniform(0.5, 1.5, (len(labels), 1))
    return X + noise * np.abs(rng.standard_normal(X.shape)), labels


def cluster_labels(model, W, orthogonal):
    return W.argmax(axis=1) if orthogonal == "W" else model.components_.argmax(axis=0)


@pytest.mark.parametrize("make", [np.asarray, sp.csr_matrix])
@pytest.mark.parametrize("orthogonal", ["W", "H"])
def test_planted_clusters_are_all_found(orthogonal, make):
    # From NNDSVDa every row starts in the leading component (the mean direction) and
    # ONMF-EM merged two of the three clusters; the k-means++ start finds all three.
    for seed in range(10):
        X, labels = row_clusters(seed=seed)
        X = X if orthogonal == "W" else X.T.copy()
        model, W = fit(make(X), n_components=3, orthogonal=orthogonal, random_state=seed)
        found = cluster_labels(model, W, orthogonal)
        assert adjusted_rand_score(labels, found) >= 0.95, seed
        F = W if orthogonal == "W" else model.components_.T
        assert np.all((F > 0).sum(axis=1) <= 1)  # the constraint stays exact


@pytest.mark.parametrize("orthogonal", ["W", "H"])
def test_small_clusters_beside_large_ones_are_found(orthogonal):
    # k-means++ alone often seeds the 60-row cluster twice and the 5-row one never;
    # the local search moves the spare centre.
    for seed in range(10):
        X, labels = row_clusters(sizes=(60, 40, 25, 15, 10, 5), seed=seed)
        X = X if orthogonal == "W" else X.T.copy()
        model, W = fit(X, n_components=6, orthogonal=orthogonal, random_state=seed)
        found = cluster_labels(model, W, orthogonal)
        assert np.bincount(found, minlength=6).min() > 0, seed
        assert adjusted_rand_score(labels, found) >= 0.95, seed


def test_orthogonal_auto_init_is_the_kmeans_plusplus_seeding():
    assert resolve_init("auto", 3, (120, 90), orthogonal="W") == "k-means++"
    assert resolve_init(None, 3, (120, 90), orthogonal="H") == "k-means++"
    assert resolve_init("auto", 3, (120, 90)) == "nndsvda"
    assert resolve_init("auto", 5, (4, 90), orthogonal="W") == "random"  # k > rows
    assert resolve_init("random", 3, (120, 90), orthogonal="W") == "random"
    X, _ = row_clusters(seed=0)
    model, _ = fit(X, n_components=3, orthogonal="W", random_state=0, max_iter=1)
    W0, H0 = initialize(X, 3, "k-means++", random_state=0, orthogonal="W")
    # The loss curve starts at the objective of the start.
    assert model.loss_curve_["loss"].iloc[0] == pytest.approx(
        0.5 * np.linalg.norm(X - W0 @ H0) ** 2, rel=1e-10)


@pytest.mark.parametrize("orthogonal", ["W", "H"])
def test_kmeans_plusplus_start_is_feasible_and_reproducible(orthogonal):
    X, labels = row_clusters(sizes=(30, 20, 10), seed=3)
    X = X if orthogonal == "W" else X.T.copy()
    W0, H0 = kmeans_plusplus(X, 3, orthogonal, random_state=7)
    F = W0 if orthogonal == "W" else H0.T
    assert np.all(W0 >= 0) and np.all(H0 >= 0)
    assert np.all((F > 0).sum(axis=1) == 1)
    np.testing.assert_allclose(F.T @ F, np.eye(3), atol=1e-12)
    # W0H0 projects each clustered vector on its centre: ONMF's own objective.
    assert adjusted_rand_score(labels, F.argmax(axis=1)) >= 0.95
    again = kmeans_plusplus(sp.csr_matrix(X), 3, orthogonal, random_state=7)
    np.testing.assert_allclose(again[0], W0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(again[1], H0, rtol=1e-12, atol=1e-12)
    single = kmeans_plusplus(X.astype(np.float32), 3, orthogonal, random_state=7)
    assert single[0].dtype == single[1].dtype == np.float32


def test_restarts_reseed_and_keep_the_best(monkeypatch):
    import nmfkit.estimators.nmf as nmf_module

    schemes = []

    def recording(X, k, init, **kwargs):
        schemes.append(init)
        return initialize(X, k, init, **kwargs)

    X, labels = row_clusters(sizes=(60, 40, 25, 15, 10, 5), noise=0.5, seed=1)
    one, _ = fit(X, n_components=6, orthogonal="W", random_state=0)
    monkeypatch.setattr(nmf_module, "initialize", recording)
    many, W = fit(X, n_components=6, orthogonal="W", random_state=0, n_init=5)
    assert schemes == ["k-means++"] * 5
    assert many.reconstruction_err_ <= one.reconstruction_err_
    assert adjusted_rand_score(labels, W.argmax(axis=1)) >= 0.95


def test_an_empty_cluster_is_refilled_without_emptying_another():
    # Columns near e1 (cluster 2) and one column far from every centre, alone in
    # cluster 0; cluster 1 starts empty.  The worst represented column is cluster 0's
    # only one: the refill must take the worst column of cluster 2 instead.
    rng = np.random.default_rng(0)
    X = np.zeros((3, 21))
    X[0, :20] = 1
    X[1:, :20] = 0.1 * rng.random((2, 20))
    X[1:, 20] = 3.0
    W0 = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    H0 = np.zeros((3, 21))
    H0[2, :20], H0[0, 20] = 1 / np.sqrt(20), 1.0
    for max_iter in (1, 5):
        model = NMF(3, orthogonal="H", init="custom", max_iter=max_iter, tol=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning of the capped fit
            model.fit(X, W=W0, H=H0)
        H = model.components_
        assert np.all(np.linalg.norm(H, axis=1) > 0), max_iter
        np.testing.assert_allclose(H @ H.T, np.eye(3), atol=1e-12)
        loss = model.loss_curve_["loss"].to_numpy()
        assert np.all(np.diff(loss) <= 1e-10 * loss[0])


@pytest.mark.parametrize("make", [np.asarray, sp.csr_matrix])
def test_orthogonal_H_clusters_columns(make):
    X, labels = clustered()
    model, W = fit(make(X), n_components=4, orthogonal="H", random_state=0)
    H = model.components_
    assert model.solver_ == "onmf"
    assert model.orthogonality_ < 0.05
    Hn = H / np.linalg.norm(H, axis=1, keepdims=True)
    assert np.linalg.norm(Hn @ Hn.T - np.eye(4)) < 0.05
    assert np.all((H > 0).sum(axis=0) <= 1)  # one cluster per column: argmax is exact
    assert adjusted_rand_score(labels, H.argmax(axis=0)) > 0.95
    assert np.all(W >= 0) and np.all(H >= 0)


def test_orthogonal_W_clusters_rows():
    X, labels = clustered(seed=1)
    model, W = fit(X.T.copy(), n_components=4, orthogonal="W", random_state=0)
    assert model.orthogonality_ < 0.05
    Wn = W / np.linalg.norm(W, axis=0, keepdims=True)
    assert np.linalg.norm(Wn.T @ Wn - np.eye(4)) < 0.05
    assert adjusted_rand_score(labels, W.argmax(axis=1)) > 0.95


def test_objective_never_increases_and_matches_the_factors():
    X, _ = clustered(seed=2, noise=0.3)
    model, W = fit(X, n_components=4, orthogonal="H", random_state=0, tol=0, max_iter=30)
    loss = model.loss_curve_["loss"].to_numpy()
    assert np.all(np.diff(loss) <= 1e-10 * loss[0])
    R = X - W @ model.components_
    assert loss[-1] == pytest.approx(0.5 * np.sum(R * R), rel=1e-8)
    assert model.reconstruction_err_ == pytest.approx(np.sqrt(np.sum(R * R)), rel=1e-8)


def test_sparse_and_dense_agree():
    X, _ = clustered(seed=3)
    a, Wa = fit(X, n_components=4, orthogonal="H", random_state=0)
    b, Wb = fit(sp.csr_matrix(X), n_components=4, orthogonal="H", random_state=0)
    np.testing.assert_allclose(Wa @ a.components_, Wb @ b.components_, rtol=1e-6, atol=1e-9)


def test_transform_projects_new_data():
    X, labels = clustered(seed=4)
    model, W = fit(X, n_components=4, orthogonal="W", random_state=0)
    W_new = model.transform(X[:5])
    assert W_new.shape == (5, 4) and np.all(W_new >= 0)


@pytest.mark.parametrize("params, message", [
    (dict(solver="mu"), "solver='auto'"),
    (dict(solver="hals"), "solver='auto'"),
    (dict(beta_loss="kullback-leibler"), "Frobenius loss only"),
    (dict(missing="mask"), "missing='mask'"),
    (dict(alpha_W=0.1), "no alpha_W/alpha_H penalty"),
])
def test_incompatible_settings_raise(params, message):
    X, _ = clustered()
    with pytest.raises(ValueError, match=message):
        NMF(3, orthogonal="H", **params).fit(X)
