"""Orthogonal NMF: orthogonal='H' (HHᵀ = I) and 'W' (WᵀW = I) by ONMF-EM."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from conftest import fit

from nmfkit import NMF


def clustered(m=50, n=240, k=4, noise=0.05, seed=0):
    """Columns of X drawn from k non-negative profiles (one per cluster), scaled, noisy."""
    rng = np.random.default_rng(seed)
    profiles = rng.gamma(1.0, 1.0, (m, k)) * (rng.random((m, k)) < 0.6) + 0.05
    labels = rng.integers(0, k, n)
    X = profiles[:, labels] * rng.uniform(0.5, 2.0, n)
    X = X + noise * X.mean() * rng.random((m, n))
    return X, labels




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
