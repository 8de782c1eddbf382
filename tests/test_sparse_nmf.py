"""Sparse NMF: L1/L2 penalties (alpha_W, alpha_H, l1_ratio) and Hoyer's sparseness."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from conftest import fit

from nmfkit.metrics import sparseness
from nmfkit.objectives import beta_divergence


# --------------------------------------------------------------------------- the measure
def test_sparseness_extremes():
    assert sparseness([0.0, 0.0, 5.0, 0.0]) == pytest.approx(1.0)
    assert sparseness(np.full(7, 3.0)) == pytest.approx(0.0)
    assert sparseness(np.zeros(4)) == 1.0
    assert sparseness([2.0]) == 1.0


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.integers(2, 30), elements=st.floats(0, 100)),
       st.floats(1e-3, 1e3))
def test_sparseness_is_in_unit_interval_and_scale_invariant(x, scale):
    s = sparseness(x)
    assert 0.0 <= s <= 1.0
    if np.any(x > 1e-100):
        assert sparseness(scale * x) == pytest.approx(s, abs=1e-9)


def test_sparseness_per_row_and_column():
    M = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(sparseness(M, axis=1), [1.0, 0.0], atol=1e-12)
    assert sparseness(M, axis=0).shape == (3,)
    assert sparseness(M) == pytest.approx(sparseness(M.ravel()))
    with pytest.raises(ValueError, match="axis"):
        sparseness(M, axis=2)


def test_sparseness_follows_hoyer_formula():
    x = np.array([3.0, 1.0, 0.0, 2.0])
    n = x.size
    expected = (np.sqrt(n) - np.abs(x).sum() / np.linalg.norm(x)) / (np.sqrt(n) - 1)
    assert sparseness(x) == pytest.approx(expected)


# --------------------------------------------------------------------------- penalties
def parts(seed=0):
    """Non-negative data from sparse parts: 120 x 64 mixtures of 8 parts."""
    rng = np.random.default_rng(seed)
    H = rng.random((8, 64)) * (rng.random((8, 64)) < 0.3)
    W = rng.gamma(1.0, 1.0, (120, 8))
    return W @ H + 0.05 * rng.random((120, 64))




PENALISED = [("hals", 2.0), ("mu", 2.0), ("anls", 2.0), ("pgd", 2.0), ("cd", 1.0),
             ("mu", 1.0), ("mu", 1.5)]


@pytest.mark.parametrize("solver, beta", PENALISED)
def test_parts_get_sparser_as_alpha_grows(solver, beta):
    X = parts()
    sparse_W, sparse_H = [], []
    for alpha in (0.0, 0.1):
        model, W = fit(X, n_components=8, solver=solver, beta_loss=beta, alpha_W=alpha,
                       l1_ratio=1.0, random_state=0, max_iter=300)
        sparse_W.append(float(sparseness(W, axis=0).mean()))
        sparse_H.append(float(sparseness(model.components_, axis=1).mean()))
    assert sparse_W[1] > sparse_W[0] + 0.05
    assert sparse_H[1] > sparse_H[0] + 0.05


@pytest.mark.parametrize("solver, beta", [("hals", 2.0), ("mu", 2.0), ("cd", 1.0),
                                          ("mu", 1.0), ("mu", 0.5)])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5, 1.0])
def test_loss_curve_is_the_penalised_objective_in_scikit_learn_scaling(solver, beta, l1_ratio):
    X = parts(1) + (0.1 if beta < 1 else 0.0)
    alpha_W, alpha_H = 0.01, 0.02
    model, W = fit(X, n_components=5, solver=solver, beta_loss=beta, alpha_W=alpha_W,
                   alpha_H=alpha_H, l1_ratio=l1_ratio, random_state=0, max_iter=40, tol=0)
    H = model.components_
    m, n = X.shape
    penalty = (n * alpha_W * (l1_ratio * W.sum() + 0.5 * (1 - l1_ratio) * (W ** 2).sum())
               + m * alpha_H * (l1_ratio * H.sum() + 0.5 * (1 - l1_ratio) * (H ** 2).sum()))
    expected = beta_divergence(X, W, H, beta) + penalty
    loss = model.loss_curve_["loss"].to_numpy()
    if solver == "mu" and beta == 2.0:
        # Frobenius MU ends with one exact W step (it can only lower the objective).
        assert expected <= loss[-1] * (1 + 1e-9)
    else:
        assert loss[-1] == pytest.approx(expected, rel=1e-6)
    if solver in ("hals", "mu"):  # monotone methods stay monotone with penalties
        assert np.all(np.diff(loss) <= 1e-9 * loss[0])


def test_l2_penalty_shrinks_the_factors():
    X = parts(2)
    norms = []
    for alpha in (0.0, 0.5):
        model, W = fit(X, n_components=5, alpha_W=alpha, l1_ratio=0.0, random_state=0)
        norms.append(np.linalg.norm(W) * np.linalg.norm(model.components_))
    assert norms[1] < norms[0]


def test_l1_solution_satisfies_kkt_with_the_threshold():
    """HALS with l1: at convergence ∇_W f + l1 ≥ 0, and = 0 where W > 0."""
    X = parts(3)
    alpha = 0.02  # on both factors: an l1 on W alone is escaped by W → 0, H → ∞
    model, W = fit(X, n_components=5, solver="hals", alpha_W=alpha, l1_ratio=1.0,
                   random_state=0, tol=0, max_iter=600)
    H = model.components_
    m, n = X.shape
    l1_W = n * alpha
    grad_W = (W @ H - X) @ H.T + l1_W
    scale = np.abs(grad_W).max()
    assert grad_W.min() > -1e-3 * scale
    assert np.abs(grad_W[W > 1e-8]).max() < 1e-3 * scale
