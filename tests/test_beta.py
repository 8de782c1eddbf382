"""β-divergences: the objective, MU for any β (Févotte & Idier), Newton-CD for KL."""
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition._nmf import _beta_divergence

from conftest import fit

from nmfkit import NMF
from nmfkit.objectives import beta_divergence

BETAS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]


def matched_correlation(A, B):
    """Mean correlation of the columns of A and B, matched one to one (Hungarian)."""
    k = A.shape[1]
    C = np.corrcoef(A.T, B.T)[:k, k:]
    rows, cols = linear_sum_assignment(-C)
    return float(C[rows, cols].mean())


def planted_factors(m, n, k, seed):
    """Sparse non-negative factors: every component has entries only it explains."""
    rng = np.random.default_rng(seed)
    W = rng.gamma(1.0, 1.0, (m, k)) * (rng.random((m, k)) < 0.5)
    H = rng.gamma(1.0, 1.0, (k, n)) * (rng.random((k, n)) < 0.5)
    W[np.arange(k) * 3, np.arange(k)] = 3.0  # a pure row per component (identifiable)
    H[np.arange(k), np.arange(k) * 3] = 3.0
    return W + 0.01, H + 0.01


def positive_data(seed=0, shape=(40, 30)):
    rng = np.random.default_rng(seed)
    return rng.gamma(2.0, 1.0, shape) + 0.1


def sparse_counts(m, n, nnz, seed):
    """Sparse counts at random positions (sp.random would draw from all m·n positions)."""
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(0, m, nnz), rng.integers(0, n, nnz)
    X = sp.csr_matrix((rng.integers(1, 6, nnz).astype(float), (rows, cols)), shape=(m, n))
    X.sum_duplicates()
    return X




# --------------------------------------------------------------------------- objective
@pytest.mark.parametrize("beta", BETAS)
def test_divergence_matches_scikit_learn(beta):
    X = positive_data(1)
    rng = np.random.default_rng(2)
    W, H = rng.random((40, 3)), rng.random((3, 30))
    assert beta_divergence(X, W, H, beta) == pytest.approx(_beta_divergence(X, W, H, beta),
                                                           rel=1e-10)


@pytest.mark.parametrize("beta", [-1.2, -0.5, 0.0])
def test_divergence_with_zeros_at_negative_beta_is_scikit_learns(beta):
    """Regression: for β ≤ 0 an X with zeros gave +inf dense and a finite sum over the
    stored entries sparse; both now count a zero as scikit-learn does (0^β = 0, −1 for
    IS), stored zeros and absent ones alike."""
    rng = np.random.RandomState(42)
    X = np.clip(rng.randn(20, 10), 0, None)
    W, H = rng.rand(20, 5), rng.rand(5, 10)
    expected = _beta_divergence(X, W, H, beta)
    assert np.isfinite(expected)
    Xs = sp.csr_matrix(X)
    with_stored_zeros = Xs.copy()
    with_stored_zeros.data[:4] = 0  # explicit zeros: entries of X like the absent ones
    for value, reference in ((beta_divergence(X, W, H, beta), expected),
                             (beta_divergence(Xs, W, H, beta), expected),
                             (beta_divergence(with_stored_zeros, W, H, beta),
                              _beta_divergence(with_stored_zeros.toarray(), W, H, beta))):
        assert value == pytest.approx(reference, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(2, 12), n=st.integers(2, 12), density=st.floats(0.1, 1.0),
       beta=st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]), seed=st.integers(0, 2**16))
def test_sparse_divergence_equals_dense(m, n, density, beta, seed):
    X = sp.random(m, n, density=density, random_state=seed, format="csr")
    rng = np.random.default_rng(seed)
    W, H = rng.random((m, 2)), rng.random((2, n))
    dense = beta_divergence(X.toarray(), W, H, beta)
    assert beta_divergence(X, W, H, beta) == pytest.approx(dense, rel=1e-9, abs=1e-12)
    # Masked: the stored entries of sparse X are the non-NaN entries of dense X.
    Xn = X.toarray()
    Xn[X.toarray() == 0] = np.nan
    Xs = X.copy()
    assert beta_divergence(Xs, W, H, beta, missing=True) == pytest.approx(
        beta_divergence(Xn, W, H, beta, missing=True), rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- MU, any β
@pytest.mark.parametrize("beta", BETAS)
def test_mu_objective_never_increases(beta):
    X = positive_data(3)
    model, _ = fit(X, n_components=4, beta_loss=beta, solver="mu", init="random",
                   random_state=0, tol=0, max_iter=80)
    loss = model.loss_curve_["loss"].to_numpy()
    assert len(loss) == 81
    assert np.all(np.diff(loss) <= 1e-10 * loss[0]), np.diff(loss).max()
    assert loss[-1] < 0.8 * loss[0]


@pytest.mark.parametrize("beta", BETAS)
def test_mu_beats_or_matches_scikit_learn(beta):
    from sklearn.decomposition import NMF as SkNMF

    X = positive_data(4)
    ours, _ = fit(X, n_components=3, beta_loss=beta, solver="mu", init="nndsvda", tol=0,
                  max_iter=150, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SkNMF(3, beta_loss=beta, solver="mu", init="nndsvda", tol=0, max_iter=150,
                       random_state=0).fit(X)
    # Same objective to 0.1 % (scikit-learn updates W first, nmfkit H first).
    assert ours.reconstruction_err_ <= theirs.reconstruction_err_ * (1 + 1e-3)


def _planted_data(model, seed):
    rng = np.random.default_rng(seed)
    W, H = planted_factors(150, 120, 4, seed)
    V = W @ H
    if model == "gaussian":
        X = np.abs(V + 0.02 * V.mean() * rng.standard_normal(V.shape))
    elif model == "poisson":
        X = rng.poisson(50 * V).astype(float) / 50
    else:  # Gamma-multiplicative noise, mean 1 (the IS model, Févotte et al. 2009)
        X = V * rng.gamma(50.0, 1 / 50.0, V.shape)
    return X, W, H


@pytest.mark.parametrize("beta, noise, solver", [
    (2.0, "gaussian", "mu"), (1.0, "poisson", "mu"), (1.0, "poisson", "auto"),
    (0.0, "gamma", "mu"),
])
def test_planted_factors_recovered_under_matching_noise(beta, noise, solver):
    X, W_true, H_true = _planted_data(noise, seed=5)
    best = None
    for seed in range(3):  # restarts: recovery is up to local minima
        model, W = fit(X, n_components=4, beta_loss=beta, solver=solver, init="nndsvda"
                       if seed == 0 else "random", random_state=seed, tol=1e-6,
                       max_iter=1500 if solver == "mu" else 300)
        score = min(matched_correlation(W, W_true),
                    matched_correlation(model.components_.T, H_true.T))
        best = score if best is None else max(best, score)
    assert best > 0.95


# --------------------------------------------------------------------------- KL solvers
@pytest.mark.parametrize("solver", ["mu", "cd"])
def test_kl_on_sparse_equals_kl_on_dense(solver):
    X = sp.random(80, 60, density=0.2, random_state=0, format="csr", dtype=np.float64)
    X.data = np.round(10 * X.data) + 1
    rng = np.random.default_rng(0)
    W0, H0 = rng.random((80, 4)) + 0.1, rng.random((4, 60)) + 0.1
    results = []
    for data in (X, X.toarray()):
        model2 = NMF(n_components=4, beta_loss="kullback-leibler", solver=solver,
                     init="custom", tol=0, max_iter=40)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            W = model2.fit_transform(data, W=W0.copy(), H=H0.copy())
        results.append((W, model2.components_, model2.reconstruction_err_,
                        model2.loss_curve_["loss"].to_numpy()))
    (Ws, Hs, es, ls), (Wd, Hd, ed, ld) = results
    assert es == pytest.approx(ed, rel=1e-6)
    np.testing.assert_allclose(ls, ld, rtol=1e-6)
    np.testing.assert_allclose(Ws @ Hs, Wd @ Hd, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("solver", ["mu", "cd"])
def test_sparse_kl_never_forms_an_m_by_n_array(solver):
    m = n = 20_000
    X = sparse_counts(m, n, nnz=8000, seed=0)
    # Compile the kernels first: numba's compiler allocates tens of MiB of Python objects
    # the first time (a fresh clone has no cache), which is not the fit's memory.
    fit(sparse_counts(50, 40, nnz=200, seed=1), n_components=3, beta_loss="kullback-leibler",
        solver=solver, init="random", random_state=0, max_iter=2, tol=0)
    tracemalloc.start()
    try:
        model, W = fit(X, n_components=3, beta_loss="kullback-leibler", solver=solver,
                       init="random", random_state=0, max_iter=3, tol=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One m x n float64 array is 3.2 GB, one bool array 400 MB; factors are ~1 MB.
    assert peak < 40 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    assert np.isfinite(model.reconstruction_err_)


def test_newton_cd_reaches_a_kkt_point():
    rng = np.random.default_rng(7)
    X = rng.poisson(5 * rng.random((50, 3)) @ rng.random((3, 40))).astype(float)
    model, W = fit(X, n_components=3, beta_loss="kullback-leibler", solver="cd", tol=0,
                   max_iter=400, random_state=0)
    H = model.components_
    R = X / np.maximum(W @ H, 1e-12)
    grad_W = (1 - R) @ H.T  # ∇_W D_KL; KKT: W ≥ 0, ∇ ≥ 0, W ∘ ∇ = 0
    grad_H = W.T @ (1 - R)
    for F, G in ((W, grad_W), (H, grad_H)):
        scale = np.abs(G).max() + 1
        assert G.min() > -1e-3 * scale
        assert np.abs(F * G).max() < 1e-3 * scale * F.max()


def _newton_cd_fit(X, W0, H0, *, dense, float32=False, max_iter=25, extrapolate=True,
                   **params):
    """KL coordinate descent on one layout: the dense-row kernel or the stored-entry one."""
    from nmfkit.solvers import Settings, newton_cd

    # A fill above 1 is never reached: the stored-entry kernel.
    options = {"extrapolate": extrapolate, "newton_dense_min_fill": 0.0 if dense else 2.0,
               "newton_float32_scratch_min": 0 if float32 else 2**62}
    scratch = newton_cd.dense_scratch(X, 1.0, False, Settings(**options))
    assert scratch == (None if not dense else np.float32 if float32 else np.float64)
    model = NMF(W0.shape[1], beta_loss="kullback-leibler", solver="cd", init="custom", tol=0,
                max_iter=max_iter, solver_options=options, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W = model.fit_transform(X, W=W0.copy(), H=H0.copy())
    return model, W


def _counts_with_empty_lines(seed=0):
    """Poisson counts with a zero row and a zero column: WH goes to 0 there (the floor)."""
    rng = np.random.default_rng(seed)
    X = rng.poisson(2 * rng.random((70, 3)) @ rng.random((3, 50))).astype(float)
    X[4] = 0
    X[:, 9] = 0
    W0, H0 = rng.random((70, 4)) + 0.1, rng.random((4, 50)) + 0.1
    return X, W0, H0


@pytest.mark.parametrize("params", [{}, {"alpha_W": 0.01, "l1_ratio": 0.5},
                                    {"alpha_W": 0.02, "alpha_H": 0.0, "l1_ratio": 0.0}])
def test_newton_cd_dense_blocks_take_the_stored_entries_steps(monkeypatch, params):
    X, W0, H0 = _counts_with_empty_lines()
    stored, Ws = _newton_cd_fit(X, W0, H0, dense=False, **params)
    dense, Wd = _newton_cd_fit(X, W0, H0, dense=True, **params)
    np.testing.assert_allclose(Wd, Ws, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(dense.components_, stored.components_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(dense.loss_curve_["loss"], stored.loss_curve_["loss"], rtol=1e-10)
    # transform (W alone) agrees too.
    np.testing.assert_allclose(dense.transform(X), stored.transform(X), rtol=1e-8, atol=1e-10)


def test_newton_cd_dense_blocks_objective_is_the_divergence(monkeypatch):
    X, W0, H0 = _counts_with_empty_lines(1)
    model, W = _newton_cd_fit(X, W0, H0, dense=True)
    assert model.loss_curve_["loss"].iloc[-1] == pytest.approx(
        beta_divergence(X, W, model.components_, 1.0), rel=1e-10)


def test_newton_cd_float32_scratch_follows_float64(monkeypatch):
    """Step by step on plain iterations.  (With extrapolation, an accept/reject test
    decided by rounding sends the two down different paths: see the next test.)"""
    X, W0, H0 = _counts_with_empty_lines(2)
    exact, W = _newton_cd_fit(X, W0, H0, dense=True, max_iter=60, extrapolate=False)
    fast, Wf = _newton_cd_fit(X, W0, H0, dense=True, float32=True, max_iter=60,
                              extrapolate=False)
    assert Wf.dtype == np.float64  # scratch only: the factors keep the input's precision
    np.testing.assert_allclose(fast.loss_curve_["loss"], exact.loss_curve_["loss"], rtol=1e-5)
    assert fast.loss_curve_["loss"].iloc[-1] == pytest.approx(
        beta_divergence(X, Wf, fast.components_, 1.0), rel=1e-6)
    np.testing.assert_allclose(Wf @ fast.components_, W @ exact.components_, rtol=1e-3, atol=1e-4)


def test_newton_cd_layout_choice():
    from nmfkit.solvers import Settings
    from nmfkit.solvers.newton_cd import dense_scratch

    s = Settings()
    X = np.random.default_rng(0).poisson(2.0, (30, 20)).astype(float)
    assert dense_scratch(X, 1.0, False, s) == np.float64
    assert dense_scratch(X.astype(np.float32), 1.0, False, s) == np.float32
    big = np.ones((s.newton_float32_scratch_min // 10 + 1, 10))
    assert dense_scratch(big, 1.0, False, s) == np.float32
    assert dense_scratch(sp.csr_matrix(X), 1.0, False, s) is None  # never densified
    assert dense_scratch(X, 1.0, True, s) is None  # masked: observed entries only
    assert dense_scratch(X, 2.0, False, s) is None
    mostly_zero = X * (np.random.default_rng(1).random(X.shape) < 0.05)
    assert dense_scratch(mostly_zero, 1.0, False, s) is None
    # the fill threshold is a setting
    assert dense_scratch(mostly_zero, 1.0, False, Settings(newton_dense_min_fill=0.0)) \
        == np.float64


def test_auto_picks_newton_cd_for_kl_and_it_reaches_mu_objective():
    X = np.random.default_rng(8).poisson(2.0, (60, 50)).astype(float)
    cd, _ = fit(X, n_components=4, beta_loss="kullback-leibler", random_state=0, tol=0,
                max_iter=100)
    mu, _ = fit(X, n_components=4, beta_loss="kullback-leibler", solver="mu",
                random_state=0, tol=0, max_iter=100)
    assert cd.solver_ == "newton-cd"
    assert cd.reconstruction_err_ <= mu.reconstruction_err_ * (1 + 1e-3)


@pytest.mark.parametrize("beta", [0.5, 1.0, 1.5, 3.0])
def test_reconstruction_err_follows_scikit_learn(beta):
    X = positive_data(9)
    model, W = fit(X, n_components=3, beta_loss=beta, solver="mu", random_state=0,
                   max_iter=30)
    expected = _beta_divergence(X, W, model.components_, beta, square_root=True)
    assert model.reconstruction_err_ == pytest.approx(expected, rel=1e-8)
    # loss_curve_ records the divergence itself.
    assert model.loss_curve_["loss"].iloc[-1] == pytest.approx(expected ** 2 / 2, rel=1e-6)


@pytest.mark.parametrize("beta", [0.5, "kullback-leibler", 3.0])
def test_transform_with_beta_refits_w(beta):
    X = positive_data(10)
    model, W = fit(X, n_components=3, beta_loss=beta, random_state=0, tol=1e-8,
                   max_iter=500)
    W_new = model.transform(X)
    assert W_new.shape == W.shape and np.all(W_new >= 0)
    err_fit = beta_divergence(X, W, model.components_, beta)
    err_new = beta_divergence(X, W_new, model.components_, beta)
    assert err_new <= err_fit * 1.01


def test_float32_kept():
    X = positive_data(11).astype(np.float32)
    model, W = fit(X, n_components=3, beta_loss=1.5, random_state=0, max_iter=20)
    assert W.dtype == np.float32 and model.components_.dtype == np.float32


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("make", [np.array, sp.csr_matrix])
def test_itakura_saito_with_zeros_names_them(make):
    X = positive_data(12)
    X[2, 5] = 0
    X[7, 1] = 0
    with pytest.raises(ValueError, match=r"2 zero entries \(first at row 2, column 5\)") as e:
        NMF(3, beta_loss="itakura-saito").fit(make(X))
    assert "offset" in str(e.value)
    with pytest.raises(ValueError, match="zero entries"):
        NMF(3, beta_loss=-0.5, solver="mu").fit(make(X))


def test_itakura_saito_on_sparse_counts_implicit_zeros():
    X = sp.csr_matrix(np.array([[1.0, 0.0], [2.0, 3.0]]))
    with pytest.raises(ValueError, match=r"1 zero entries \(first at row 0, column 1\)"):
        NMF(1, beta_loss="itakura-saito").fit(X)


@pytest.mark.parametrize("solver", ["als", "anls", "pgd"])
def test_beta_with_frobenius_only_solver_raises(solver):
    with pytest.raises(ValueError, match="Frobenius loss only"):
        NMF(2, beta_loss="kullback-leibler", solver=solver).fit(positive_data())


def test_cd_for_other_beta_raises():
    with pytest.raises(ValueError, match="needs solver='mu'"):
        NMF(2, beta_loss=1.5, solver="cd").fit(positive_data())


@pytest.mark.parametrize("beta_loss, hidden", [("kullback-leibler", 0.0),
                                                ("frobenius", 0.2)])
def test_kernel_split_min_work_moves_the_sweeps_not_their_steps(beta_loss, hidden):
    """Below ``kernel_split_min_work`` a Newton-CD sweep runs on one thread, above it on
    all: the rows are independent, so the iterates agree to rounding either way."""
    rng = np.random.RandomState(3)
    X = rng.poisson(3 * rng.rand(60, 3) @ rng.rand(3, 40)).astype(float)
    missing = "error"
    if hidden:
        X[rng.rand(*X.shape) < hidden] = np.nan
        missing = "mask"
    fits = [NMF(3, solver="newton-cd", beta_loss=beta_loss, missing=missing, tol=0,
                max_iter=30, random_state=0,
                solver_options={"kernel_split_min_work": work}).fit(X)
            for work in (0, 10**18)]
    np.testing.assert_allclose(fits[0].components_, fits[1].components_, rtol=1e-9)
    np.testing.assert_allclose(fits[0].loss_curve_["loss"], fits[1].loss_curve_["loss"],
                               rtol=1e-12)


def test_newton_cd_dense_kernel_threads_take_the_same_steps():
    # Rows are independent sub-problems: splitting them over threads changes nothing.
    from nmfkit.solvers import _kernels

    rng = np.random.default_rng(5)
    Z = rng.poisson(3.0, (41, 30)).astype(np.float32)
    U0, O = rng.random((4, 41)) + 0.1, (rng.random((4, 30)) + 0.1).astype(np.float32)
    eps = np.float32(np.finfo(np.float32).eps)
    results = []
    for n_threads in (1, 3):
        U = U0.copy()
        xlogy = _kernels.over_rows(_kernels.kl_dense_rows, Z.shape[0], n_threads, Z, U, O,
                                   O.sum(axis=1, dtype=np.float64), 0.0, 0.0, False, eps, True, True)
        results.append((U, xlogy))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == pytest.approx(results[1][1], rel=1e-12)
    # and the rows were split: 3 chunks covering 0:41, run on the pool's threads
    import threading

    seen = []
    total = _kernels.over_rows(lambda a, b: seen.append((a, b, threading.current_thread()))
                               or b - a, 41, 3)
    assert total == 41 and len(seen) == 3
    assert sorted((a, b) for a, b, _ in seen)[0][0] == 0 and max(b for _, b, _ in seen) == 41
    assert all(t is not threading.main_thread() for _, _, t in seen)
    # a call of little work (entries x components) stays one chunk on this thread: the
    # pool's hand-off costs more than such a call
    seen.clear()
    total = _kernels.over_rows(lambda a, b: seen.append((a, b, threading.current_thread()))
                               or b - a, 41, 3, work=999, min_work=1000)
    assert total == 41 and [(a, b) for a, b, _ in seen] == [(0, 41)]
    assert seen[0][2] is threading.current_thread()
    assert not np.array_equal(results[0][0], U0)  # the sweep moved the factor
    # measuring alone moves nothing and gives Σ z log(WH) of the start
    U = U0.copy()
    xlogy = _kernels.over_rows(_kernels.kl_dense_rows, Z.shape[0], 2, Z, U, O,
                               O.sum(axis=1, dtype=np.float64), 0.0, 0.0, False, eps, False, True)
    np.testing.assert_array_equal(U, U0)
    WH = np.maximum(U0.T.astype(np.float32) @ O, eps).astype(np.float64)
    assert xlogy == pytest.approx(float(np.sum(Z * np.log(WH))), rel=1e-5)


def test_kernel_log_matches_numpy_to_rounding():
    """The kernels' vectorisable log (bits for the exponent, an atanh series for the
    mantissa) agrees with np.log to a few ulps over the whole normal range, at the
    branch point √2 and at the values the kernels floor to; Σ x log y and Σ x log x
    agree with numpy's in float64, for float32 and float64 y."""
    from numba import njit

    from nmfkit import _sums
    from nmfkit.solvers import _kernels

    @njit
    def logs(v, out):
        for j in range(v.shape[0]):
            out[j] = _sums._log(v[j])

    rng = np.random.default_rng(0)
    tiny, huge = np.finfo(np.float64).tiny, np.finfo(np.float64).max
    special = [tiny, huge, 1.0, 2.0, 0.5, np.sqrt(2.0), np.nextafter(np.sqrt(2.0), 0),
               np.nextafter(np.sqrt(2.0), 2), np.nextafter(1.0, 0), np.nextafter(1.0, 2),
               float(np.finfo(np.float32).eps), float(np.finfo(np.float64).eps), 3.0, 1e-300]
    v = np.concatenate([np.exp(rng.uniform(-700, 700, 200_000)),
                        rng.uniform(0.5, 2.0, 200_000), special])
    out = np.empty_like(v)
    logs(v, out)
    ref = np.log(v)
    assert np.all(np.abs(out - ref) <= 4 * np.spacing(np.maximum(np.abs(ref), 1e-300)))
    assert out[np.flatnonzero(v == 1.0)[0]] == 0.0
    x = rng.poisson(3.0, 5000).astype(np.float64)
    for dtype in (np.float32, np.float64):
        y = rng.uniform(1e-3, 50.0, 5000).astype(dtype)
        expected = float(np.dot(x, np.log(y.astype(np.float64))))
        assert _kernels._xlogy(x.astype(dtype), y) == pytest.approx(expected, rel=1e-13)
        Z = x.reshape(50, 100).astype(dtype)
        positive = Z[Z > 0].astype(np.float64)
        assert _kernels.xlogx_rows(Z, 0, 50) == pytest.approx(
            float(np.dot(positive, np.log(positive))), rel=1e-13)


def test_kl_sums_in_blocks_match_float64_sums():
    """The gradient and curvature sums, summed in blocks of SUM_BLOCK in y's dtype: in
    float64 they equal the plain sums to rounding; in float32 (the dense kernel's scratch)
    to ~1e-6, about the float32 terms' own rounding; rows shorter and longer than a block
    and not a multiple of it are covered."""
    from nmfkit.solvers import _kernels

    rng = np.random.default_rng(11)
    for n in (1, 7, _kernels.SUM_BLOCK, 3 * _kernels.SUM_BLOCK + 5):
        x = rng.poisson(2.0, n).astype(np.float64)
        y, o = rng.uniform(0.1, 5.0, n), rng.uniform(0.0, 2.0, n)
        exact = (float(np.sum(o * x / y)), float(np.sum(o * o * x / y**2)))
        assert _kernels._kl_sums(x, y, o, o * o, 0.0) == pytest.approx(exact, rel=1e-13)
        assert _kernels._kl_sums(x, y, o, None, 0.0) == pytest.approx(exact, rel=1e-13)
        assert _kernels._kl_sums_in_blocks(x, y, o) == pytest.approx(exact, rel=1e-13)
        x32, y32, o32 = (a.astype(np.float32) for a in (x, y, o))
        exact32 = tuple(float(np.sum(t)) for t in (
            o32.astype(float) * x32 / y32.astype(float),
            o32.astype(float) ** 2 * x32 / y32.astype(float) ** 2))
        assert _kernels._kl_sums_in_blocks(x32, y32, o32) == pytest.approx(exact32, rel=2e-6)


def test_newton_cd_csr_kernel_equals_the_dense_kernel_on_the_same_entries():
    """The stored-entry kernel takes the dense kernel's steps: a dense X and its CSR form
    give the same factors and the same Σ x log(WH); its rows split over threads by entries
    (a row of 60 entries among rows of 1); a row without entries goes to 0."""
    from nmfkit.solvers import _kernels

    rng = np.random.default_rng(8)
    Z = rng.poisson(0.8, (40, 25)).astype(np.float64)
    Z[3] = 0  # a row without entries
    C = sp.csr_matrix(Z)
    U0, O = rng.random((4, 40)) + 0.1, rng.random((4, 25)) + 0.1
    lin = O.sum(axis=1)
    eps = float(np.finfo(np.float64).eps)
    U_dense = U0.copy()
    dense = _kernels.kl_dense_rows(Z, U_dense, O, lin, 0.0, 0.0, False, eps, True, True, 0, 40)
    for n_threads in (1, 3):
        U = U0.copy()
        stored = _kernels.over_rows(_kernels.stored_rows, 40, n_threads, C.indptr, C.indices,
                                    C.data, U, np.ascontiguousarray(O.T), lin[None, :],
                                    False, 0.0, 0.0, False, eps, True, True,
                                    indptr=C.indptr)
        np.testing.assert_allclose(U, U_dense, rtol=1e-10, atol=1e-14)
        assert stored[0] == pytest.approx(dense, rel=1e-10)
        # Σ WH at the entries, after the steps
        assert stored[1] == pytest.approx(float((U.T @ O)[Z != 0].sum()), rel=1e-10)
    assert np.all(U[:, 3] == 0) and np.all(U0[:, 3] > 0)
    # chunks by entries: row 0 holds 60 of the 80 entries, so it is a chunk of its own
    import threading

    indptr = np.concatenate([[0], 60 + np.arange(21)])
    seen = []
    _kernels.over_rows(lambda a, b: seen.append((a, b, threading.current_thread())) or 0,
                       21, 2, indptr=indptr)
    assert sorted((a, b) for a, b, _ in seen) == [(0, 1), (1, 21)]


def test_masked_least_squares_kernel_takes_exact_coordinate_steps():
    """With least_squares, a step is the exact minimiser of the row's observed squared
    error in that variable (weighted HALS), and the measurement is Σ (x − WH)²."""
    from nmfkit.solvers import _kernels

    rng = np.random.default_rng(3)
    Z = rng.random((6, 9))
    observed = rng.random((6, 9)) < 0.6
    C = sp.csr_matrix(np.where(observed, Z, 0.0))
    C.eliminate_zeros()
    U0, O = rng.random((3, 6)), rng.random((3, 9))
    quad = (observed.astype(float) @ (O * O).T)  # m x k: Σ over observed j of o_rj²
    U = U0.copy()
    measured = _kernels.stored_rows(C.indptr, C.indices, C.data, U, np.ascontiguousarray(O.T),
                                    np.zeros((0, 1)), True, 0.0, 0.0, False, 0.0, True, True,
                                    0, 6)
    # the same Gauss–Seidel sweep, written out
    V = U0.copy()
    for i in range(6):
        for r in range(3):
            resid = (Z[i] - V[:, i] @ O) * observed[i]
            V[r, i] = max(0.0, V[r, i] + (resid @ O[r]) / quad[i, r])
    np.testing.assert_allclose(U, V, rtol=1e-12)
    assert measured[0] == pytest.approx(float((((Z - V.T @ O) * observed) ** 2).sum()), rel=1e-12)


def test_masked_kl_kernel_sums_the_other_factor_over_observed_entries_only():
    """With a mask (``linear`` of no rows) a KL step's linear term is Σ over the row's
    observed j of o_rj, which the kernel sums from its gather: the steps are the
    projected Newton steps written out with that sum (observed zeros included)."""
    from nmfkit.solvers import _kernels

    rng = np.random.default_rng(5)
    Z = rng.poisson(1.0, (7, 11)).astype(np.float64)  # zeros among the observed entries
    observed = rng.random((7, 11)) < 0.6
    rows, cols = np.nonzero(observed)
    C = sp.csr_matrix((Z[rows, cols], (rows, cols)), shape=Z.shape)  # stores observed 0s
    assert C.nnz == observed.sum()
    U0, O = rng.random((3, 7)) + 0.1, rng.random((3, 11)) + 0.1
    eps = float(np.finfo(np.float64).eps)
    U = U0.copy()
    _kernels.stored_rows(C.indptr, C.indices, C.data, U, np.ascontiguousarray(O.T),
                         np.zeros((0, 1)), False, 0.0, 0.0, False, eps, True, False, 0, 7)
    V = U0.copy()
    for i in range(7):
        obs = observed[i]
        for r in range(3):
            y = np.maximum(V[:, i] @ O[:, obs], eps)
            grad = O[r, obs].sum() - (O[r, obs] * Z[i, obs] / y).sum()
            hess = (O[r, obs] ** 2 * Z[i, obs] / y ** 2).sum()
            V[r, i] += _kernels.newton_step(V[r, i], grad, hess, 0.0, 0.0)
    np.testing.assert_allclose(U, V, rtol=1e-12)


def _newton_cd_case(case, *, seed, shape, rank, hidden, **kw):
    """(X, fit keywords, β of the objective, whether masked) for one Newton-CD layout:
    Poisson counts of a planted rank-``rank`` matrix, dense, sparse, with a fraction
    ``hidden`` of entries unknown (KL or least squares), or in float32 scratch."""
    rng = np.random.default_rng(seed)
    X = rng.poisson(3 * rng.random((shape[0], rank)) @ rng.random((rank, shape[1]))).astype(float)
    kw = {"beta_loss": "kullback-leibler", **kw}
    masked = case.startswith("masked")
    if case == "sparse":
        X = sp.csr_matrix(X)
    elif masked:
        X[rng.random(X.shape) < hidden] = np.nan
        kw["missing"] = "mask"
        if case == "masked-ls":
            kw["beta_loss"] = "frobenius"
    elif case == "float32-scratch":
        kw["solver_options"] = {"newton_float32_scratch_min": 0}
    return X, kw, (2.0 if kw["beta_loss"] == "frobenius" else 1.0), masked


@pytest.mark.parametrize("case", ["dense", "sparse", "masked-kl", "masked-ls", "float32-scratch"])
def test_newton_cd_reconstruction_error_is_the_divergence_of_the_factors(case, monkeypatch):
    """Newton-CD's reconstruction_err_ comes from the objective its last sweep measured;
    it is √(2·D(X | WH)) of the returned factors, penalties excluded."""
    X, kw, beta, masked = _newton_cd_case(case, seed=4, shape=(60, 45), rank=4,
                                          hidden=0.3, alpha_W=0.01)
    model, W = fit(X, n_components=4, solver="cd", init="random", random_state=0,
                   max_iter=30, **kw)
    assert model.solver_ == "newton-cd"
    exact = np.sqrt(2 * beta_divergence(X, W, model.components_, beta, missing=masked))
    rel = 1e-5 if case == "float32-scratch" else 1e-9
    assert model.reconstruction_err_ == pytest.approx(exact, rel=rel)


def test_xlogx_kernel_sums_x_log_x_with_zeros():
    from nmfkit.solvers import _kernels

    Z = np.random.default_rng(2).poisson(1.5, (37, 23)).astype(np.float32)
    x = Z.astype(np.float64)  # the kernel takes its logs in float64
    expected = float(np.sum(x * np.log(np.where(x > 0, x, 1.0))))
    assert (Z == 0).any()
    got = _kernels.over_rows(_kernels.xlogx_rows, 37, 3, Z)
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("case", ["dense", "sparse", "masked-kl", "masked-ls", "float32-scratch"])
def test_newton_cd_extrapolation_reports_exact_objectives_and_never_rises(case, monkeypatch):
    """With extrapolation (the default), every reported pair is kept as reported (later
    iterations work on new arrays), its loss is its exact objective, the losses never
    rise (float32 scratch: not beyond its rounding), and the fit gets further in the same
    iterations than plain steps from the same start."""
    X, kw, beta, masked = _newton_cd_case(case, seed=5, shape=(80, 60), rank=5,
                                          hidden=0.4)
    seen = []
    model, W = fit(X, n_components=5, solver="cd", init="random", random_state=1, max_iter=40,
                   tol=0, callback=lambda it, W, H, loss: seen.append((W, H, loss)), **kw)
    assert model.solver_ == "newton-cd" and len(seen) == 40
    losses = np.array([loss for _, _, loss in seen])
    rel = 1e-5 if case == "float32-scratch" else 1e-9
    for W_i, H_i, loss in seen[::7] + seen[-1:]:
        assert beta_divergence(X, W_i, H_i, beta, missing=masked) == pytest.approx(loss, rel=rel)
    assert np.all(np.diff(losses) <= rel * losses[1:])
    options = {**kw.pop("solver_options", {}), "extrapolate": False}
    plain, _ = fit(X, n_components=5, solver="cd", init="random", random_state=1, max_iter=40,
                   tol=0, solver_options=options, **kw)
    assert losses[-1] < plain.loss_curve_["loss"].iloc[-1]


def _gamma_noise_case(seed, *, sparse_truth=False):
    """A planted rank-4 product of Gamma(1) factors (with 60 % zeros if ``sparse_truth``)
    times Gamma(2, ½) noise: the kind of data the β-divergences are for."""
    rng = np.random.default_rng(seed)
    W, H = rng.gamma(1.0, 1.0, (70, 4)), rng.gamma(1.0, 1.0, (4, 50))
    if sparse_truth:
        W *= rng.random(W.shape) < 0.4
        H *= rng.random(H.shape) < 0.4
    return W @ H * rng.gamma(2.0, 0.5, (70, 50)) + 1e-3


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 1.5, 3.0])
def test_mu_beta_extrapolation_never_rises_and_gets_further(beta, monkeypatch):
    """The β-divergence MU extrapolates by default: candidates are both accepted and
    refused, every reported loss is the exact objective of its (kept, never rewritten)
    pair, the losses never rise, and after the same iterations the fit is lower than
    the plain updates' from the same start."""
    from nmfkit.solvers import alternating

    X = _gamma_noise_case(4)
    verdicts = []
    real_next_beta = alternating.next_beta

    def recording(accepted, *args):
        verdicts.append(accepted)
        return real_next_beta(accepted, *args)

    monkeypatch.setattr(alternating, "next_beta", recording)
    seen = []
    model, W = fit(X, n_components=4, solver="mu", beta_loss=beta, init="random",
                   random_state=0, max_iter=150, tol=0,
                   callback=lambda it, W, H, loss: seen.append((W, H, loss)))
    assert len(seen) == 150 and len(verdicts) == 149
    assert any(verdicts) and not all(verdicts)
    losses = np.array([loss for _, _, loss in seen])
    assert np.all(np.diff(losses) <= 1e-12 * losses[1:])
    for W_i, H_i, loss in seen[::25] + seen[-1:]:
        assert beta_divergence(X, W_i, H_i, beta) == pytest.approx(loss, rel=1e-10)
    np.testing.assert_array_equal(seen[-1][0], W)
    plain, _ = fit(X, n_components=4, solver="mu", beta_loss=beta, init="random",
                   random_state=0, max_iter=150, tol=0, solver_options={"extrapolate": False})
    assert losses[-1] < plain.loss_curve_["loss"].iloc[-1]


def test_mu_extrapolated_candidates_are_floored_above_zero():
    """An extrapolated MU start has no zero entry (MU cannot move a zero): entries the
    step would take below a fraction (Settings.mu_candidate_floor) of the factor's mean
    sit at that floor, unless
    the factor has an L1 penalty and the entry was below it already."""
    from nmfkit.solvers import Settings, mu

    new = np.array([[1.0, 0.2, 3.0], [0.5, 0.0, 2.0]])
    prev = np.array([[0.5, 0.9, 3.0], [0.1, 0.4, 1.0]])
    fraction = Settings().mu_candidate_floor
    candidate = mu.floored_candidate(new, prev, 0.5, fraction=fraction)
    floor = fraction * new.mean()
    expected = np.maximum(new + 0.5 * (new - prev), floor)
    np.testing.assert_allclose(candidate, expected)
    assert candidate.min() == pytest.approx(floor) and (candidate > 0).all()
    np.testing.assert_array_equal(new, [[1.0, 0.2, 3.0], [0.5, 0.0, 2.0]])  # inputs untouched
    # an L1-penalised factor: an entry already below the floor (here 0) is not lifted
    kept = mu.floored_candidate(new, prev, 0.5, fraction=fraction, lift=False)
    assert kept[1, 1] == 0.0
    np.testing.assert_allclose(np.delete(kept.ravel(), 4), np.delete(expected.ravel(), 4))


def test_masked_mu_does_not_extrapolate_by_default(monkeypatch):
    """On observed entries only, MU runs plain updates (extrapolation measured worse
    there): the restarted loop is not entered, and the losses never rise."""
    from nmfkit.solvers import alternating

    def refuse(*args, **kwargs):
        raise AssertionError("masked MU extrapolated")

    monkeypatch.setattr(alternating, "restarted_iterations", refuse)
    X = _gamma_noise_case(4)
    X[np.random.default_rng(0).random(X.shape) < 0.2] = np.nan
    model, _ = fit(X, n_components=4, solver="mu", beta_loss=1.5, missing="mask",
                   init="random", random_state=0, max_iter=60, tol=0)
    losses = model.loss_curve_["loss"].to_numpy()
    assert len(losses) == 61 and np.all(np.diff(losses) <= 1e-12 * losses[1:])


def test_itakura_saito_weights_equal_the_general_power_form():
    # β = 0 takes a reciprocal and a product instead of Y ** (β − 2): same values.
    from nmfkit.objectives import BetaData

    rng = np.random.default_rng(0)
    X = rng.random((40, 30)) + 0.1
    Y = rng.random((40, 30)) + 1e-3
    P, Q = BetaData(X, 0.0)._weights(Y, Y.dtype)
    np.testing.assert_allclose(P, X * Y ** -2.0, rtol=1e-15)
    np.testing.assert_allclose(Q, Y ** -1.0, rtol=1e-15)


@pytest.mark.parametrize("l2", [0.0, 0.7])
def test_bounded_kl_step_lowers_the_one_variable_objective_where_newton_overshoots(l2):
    """f(v) = (ℓ + l1)·v + ½·l2·v² − Σ x_q log(c_q + o_q v): from far above the minimiser
    a Newton step lands past it and raises f (at 0, f is infinite when some c_q = 0);
    the bounded step never raises f, from any start, and a step up is Newton's."""
    from nmfkit.solvers import _kernels

    rng = np.random.default_rng(2)
    x, o = rng.random(12) * 3, rng.random(12) + 0.1
    c = np.where(rng.random(12) < 0.5, 0.0, rng.random(12))
    l1 = 0.2

    def f(v):
        return (o.sum() + l1) * v + 0.5 * l2 * v * v - np.sum(x * np.log(c + o * v))

    def derivatives(u):
        y = c + o * u
        return np.sum(o * x / y), np.sum(o * o * x / y ** 2)

    optimum = min(np.linspace(1e-3, 50, 200001), key=f)
    raised = 0
    for u in optimum * np.array([0.1, 0.5, 0.9, 1.5, 2.5, 4.0, 10.0]):
        s, h = derivatives(u)
        newton = _kernels.kl_step(u, o.sum(), s, h, l1, l2, False)
        bounded = _kernels.kl_step(u, o.sum(), s, h, l1, l2, True)
        with np.errstate(divide="ignore"):
            raised += f(u + newton) > f(u)
        assert f(u + bounded) <= f(u)
        if u < optimum:
            assert bounded == newton > 0
        else:
            assert newton <= bounded < 0
    assert raised >= 1  # the starts include ones where the plain Newton step overshoots


def test_kl_weights_and_value_reuse_one_scratch_buffer_and_leave_the_model_alone():
    """KL's weights X/WH and log WH go through one buffer per fit: the values are the
    formulas', the model passed in is not written, and no new m x n array is made per
    call."""
    from nmfkit.objectives import EPSILON, BetaData

    rng = np.random.default_rng(4)
    X = rng.poisson(2.0, (40, 30)).astype(float)
    W, H = rng.random((40, 3)), rng.random((3, 30))
    data = BetaData(X, 1.0)
    Y = data.model(W, H)
    before = Y.copy()
    num, den = data.terms_H(W, H, Y)
    buffer = data._buffer
    np.testing.assert_allclose(num, W.T @ (X / np.maximum(before, EPSILON)), rtol=1e-13)
    value = data.value(Y, W, H)
    assert data._buffer is buffer
    np.testing.assert_array_equal(Y, before)
    Xs = np.where(X > 0, X, 1.0)
    expected = np.sum(np.where(X > 0, X * np.log(Xs / before), 0.0) - X + before)
    assert value == pytest.approx(expected, rel=1e-12)
    num_W, _ = data.terms_W(W, H, Y)
    np.testing.assert_allclose(num_W, (X / np.maximum(before, EPSILON)) @ H.T, rtol=1e-13)
    assert data._buffer is buffer


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_kl_passes_equal_the_numpy_formulas(dtype, order):
    """The compiled KL passes over X and WH: ``divide_floored`` is NumPy's
    ``X / np.maximum(WH, eps)`` to the bit (in place too), and ``xlogy64`` is
    Σ x·log max(WH, eps) in float64 to rounding, with zeros in X and in WH, for float32
    and float64, C and F order, and the stored-entry (1-D) layout."""
    from nmfkit import _data, _sums
    from nmfkit.objectives import EPSILON

    rng = np.random.default_rng(5)
    X = rng.poisson(1.0, (37, 23)).astype(dtype)
    Y = (rng.random((37, 23)) * 3).astype(dtype)
    X[0, :4] = 0.0
    Y[1, :5] = 0.0  # floored to eps, also where X is 0
    Y[0, :2] = 0.0
    Y[2, 3] = EPSILON / 2
    X, Y = np.asarray(X, order=order), np.asarray(Y, order=order)
    assert (X == 0).any() and (Y == 0).any()

    expected = np.divide(X, np.maximum(Y, EPSILON))
    out = np.empty_like(Y)
    assert _data.divide_floored(X, Y, EPSILON, out) is out
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == dtype
    in_place = Y.copy(order=order)
    _data.divide_floored(X, in_place, EPSILON, in_place)
    np.testing.assert_array_equal(in_place, expected)
    mixed = np.empty(Y.shape, dtype, order="C" if order == "F" else "F")
    np.testing.assert_array_equal(_data.divide_floored(X, Y, EPSILON, mixed), expected)

    floored = np.maximum(Y.astype(np.float64), EPSILON)
    reference = float(np.sum(X.astype(np.float64) * np.log(floored)))
    assert _sums.xlogy64(X, Y, EPSILON) == pytest.approx(reference, rel=1e-13)
    assert _sums.xlogy64(X, np.asfortranarray(Y) if order == "C" else np.ascontiguousarray(Y),
                         EPSILON) == pytest.approx(reference, rel=1e-13)

    x, y = X.ravel(order="K").copy(), Y.ravel(order="K").copy()  # stored entries
    out = np.empty_like(y)
    np.testing.assert_array_equal(_data.divide_floored(x, y, EPSILON, out),
                                  np.divide(x, np.maximum(y, EPSILON)))
    assert _sums.xlogy64(x, y, EPSILON) == pytest.approx(reference, rel=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_kl_model_written_into_one_array_and_weights_in_place(dtype, order):
    """``BetaData.model(out=)`` writes WH into the array it is given (laid out as X), the
    terms with ``overwrite=True`` write X/WH into Y instead of a scratch array, and both
    give the values of the plain calls."""
    from nmfkit.objectives import EPSILON, BetaData

    rng = np.random.default_rng(6)
    X = np.asarray(rng.poisson(2.0, (40, 30)), dtype=dtype, order=order)
    W, H = rng.random((40, 3)).astype(dtype), rng.random((3, 30)).astype(dtype)
    data = BetaData(X, 1.0)
    Y = data.model(W, H)
    assert Y.flags.f_contiguous if order == "F" else Y.flags.c_contiguous
    np.testing.assert_allclose(Y, W @ H, rtol=1e-6 if dtype == np.float32 else 1e-13)
    num, den = data.terms_H(W, H, Y)
    value = data.value(Y, W, H)
    assert data.model(W, H, out=Y) is Y
    num_in_place, den_in_place = data.terms_H(W, H, Y, overwrite=True)
    np.testing.assert_array_equal(num_in_place, num)
    np.testing.assert_array_equal(den_in_place, den)
    np.testing.assert_array_equal(Y, X / np.maximum(data.model(W, H), EPSILON))
    H2 = H * 1.5
    Y = data.model(W, H2, out=Y)
    num_W, den_W = data.terms_W(W, H2, data.model(W, H2))
    assert data.value(data.model(W, H), W, H) == value
    np.testing.assert_array_equal(data.terms_W(W, H2, Y, overwrite=True)[0], num_W)
    other = np.empty((2, 2), dtype)
    assert data.model(W, H, out=other) is not other  # does not fit: a new array
