"""missing='mask': fit the observed entries only (NaN in dense X, absent in sparse X)."""
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit import NMF
from nmfkit.objectives import beta_divergence


def low_rank(m=80, n=60, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((m, k)) @ rng.random((k, n)) + 0.1


def hide(X, fraction, seed=0):
    rng = np.random.default_rng(seed)
    hidden = rng.random(X.shape) < fraction
    Xm = X.copy()
    Xm[hidden] = np.nan
    return Xm, hidden


def fit(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = NMF(**params)
        W = model.fit_transform(X, **params.pop("_start", {}))
    return model, W


def rmse(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


@pytest.mark.parametrize("solver", ["auto", "mu", "hals"])
def test_hidden_entries_are_predicted(solver):
    from sklearn.decomposition import NMF as SkNMF

    X = low_rank()
    Xm, hidden = hide(X, 0.2)
    model, W = fit(Xm, n_components=3, missing="mask", solver=solver, random_state=0,
                   tol=1e-7, max_iter=2000 if solver == "mu" else 300)
    ours = rmse((W @ model.components_)[hidden], X[hidden])
    mean_imputation = rmse(np.nanmean(Xm), X[hidden])
    zero_filled = np.where(hidden, 0, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = SkNMF(3, random_state=0, max_iter=500)
        sk_W = sk.fit_transform(zero_filled)
    theirs = rmse((sk_W @ sk.components_)[hidden], X[hidden])
    assert ours < 0.5 * mean_imputation
    assert ours < theirs


@pytest.mark.parametrize("solver", ["auto", "mu"])
@pytest.mark.parametrize("beta", [2.0, 1.0])
def test_objective_sums_observed_entries_only_and_never_increases(solver, beta):
    Xm, hidden = hide(low_rank(seed=1), 0.3, seed=1)
    model, W = fit(Xm, n_components=3, missing="mask", solver=solver, beta_loss=beta,
                   random_state=0, tol=0, max_iter=50)
    loss = model.loss_curve_["loss"].to_numpy()
    assert np.all(np.diff(loss) <= 1e-10 * loss[0])
    H = model.components_
    observed = ~hidden
    if beta == 2.0:
        expected = 0.5 * np.sum((Xm - W @ H)[observed] ** 2)
    else:
        X_obs, Y_obs = Xm[observed], (W @ H)[observed]
        expected = np.sum(X_obs * np.log(X_obs / Y_obs) - X_obs + Y_obs)
    assert loss[-1] == pytest.approx(expected, rel=1e-6)
    assert model.reconstruction_err_ == pytest.approx(np.sqrt(2 * expected), rel=1e-6)


@pytest.mark.parametrize("solver", ["auto", "mu"])
def test_sparse_stored_entries_are_the_observed_ones(solver):
    rng = np.random.default_rng(2)
    X = low_rank(seed=2)
    keep = rng.random(X.shape) < 0.5
    keep[np.arange(80), np.arange(80) % 60] = True  # every row and column observed
    Xs = sp.csr_matrix(np.where(keep, X, 0))
    Xs.data[:5] = 0.0  # stored zeros are observed ratings of 0, not missing
    W0, H0 = rng.random((80, 3)) + 0.1, rng.random((3, 60)) + 0.1
    out = []
    for data in (Xs, _dense_with_stored(Xs)):
        model = NMF(3, missing="mask", solver=solver, init="custom", tol=0, max_iter=30)
        W = model.fit_transform(data, W=W0.copy(), H=H0.copy())
        out.append((W @ model.components_, model.reconstruction_err_))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-6, atol=1e-9)
    assert out[0][1] == pytest.approx(out[1][1], rel=1e-6)


def _dense_with_stored(S):
    """Dense matrix with S's stored entries (zeros included) and NaN elsewhere."""
    D = np.full(S.shape, np.nan)
    coo = S.tocoo()
    D[coo.row, coo.col] = coo.data
    return D


@pytest.mark.parametrize("solver", ["auto", "mu"])
def test_masked_sparse_fit_never_forms_an_m_by_n_array(solver):
    m, n, nnz = 20_000, 20_000, 60_000
    rng = np.random.default_rng(3)
    rows = np.concatenate([np.arange(m), rng.integers(0, m, nnz - m)])
    cols = np.concatenate([rng.permutation(np.arange(m) % n), rng.integers(0, n, nnz - m)])
    X = sp.csr_matrix((rng.integers(1, 6, nnz).astype(float), (rows, cols)), shape=(m, n))
    X.sum_duplicates()
    tracemalloc.start()
    try:
        model, W = fit(X, n_components=4, missing="mask", solver=solver, init="random",
                       random_state=0, max_iter=3, tol=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 60 * 2**20, f"peak {peak / 2**20:.0f} MiB"  # m x n float64: 3.2 GB
    # The start is rescaled to the observed ratings' level (predicting 0 everywhere would
    # cost ½Σx², the zero-filled mean start about as much).
    assert model.loss_curve_["loss"].iloc[-1] < 0.25 * float(np.sum(X.data ** 2))
    assert np.isfinite(model.reconstruction_err_)


def test_transform_new_rows_with_nan():
    X = low_rank(seed=4)
    Xm, hidden = hide(X, 0.2, seed=4)
    model, W = fit(Xm, n_components=3, missing="mask", random_state=0, tol=1e-8,
                   max_iter=500)
    W_new = model.transform(Xm[:10])
    np.testing.assert_allclose(W_new, W[:10], rtol=0.05, atol=0.02)
    # More entries hidden in the new rows: still close to the full rows' truth.
    sparser, _ = hide(X[:10], 0.5, seed=5)
    prediction = model.transform(sparser) @ model.components_
    assert rmse(prediction, X[:10]) < 0.05


def test_without_mask_nan_is_an_error():
    Xm, _ = hide(low_rank(), 0.1)
    with pytest.raises(ValueError, match="missing='mask'"):
        NMF(3).fit(Xm)


@pytest.mark.parametrize("axis", ["row", "column"])
def test_all_missing_row_or_column_raises(axis):
    Xm, _ = hide(low_rank(), 0.1)
    if axis == "row":
        Xm[7, :] = np.nan
    else:
        Xm[:, 4] = np.nan
    index = 7 if axis == "row" else 4
    with pytest.raises(ValueError, match=rf"1 {axis}\(s\) with no observed entry "
                                         rf"\(first: {axis} {index}"):
        NMF(3, missing="mask").fit(Xm)


def test_sparse_empty_row_raises():
    X = sp.csr_matrix(np.array([[1.0, 2.0], [0.0, 0.0], [3.0, 1.0]]))
    with pytest.raises(ValueError, match="row 1; all its entries are absent"):
        NMF(1, missing="mask").fit(X)


@pytest.mark.parametrize("solver", ["als", "anls", "pgd"])
def test_mask_with_an_unsupported_solver_raises(solver):
    Xm, _ = hide(low_rank(), 0.1)
    with pytest.raises(ValueError, match="missing='mask' needs a solver"):
        NMF(3, missing="mask", solver=solver).fit(Xm)


def test_mask_with_other_beta_uses_mu():
    Xm, hidden = hide(low_rank(seed=6), 0.2, seed=6)
    model, W = fit(Xm, n_components=3, missing="mask", beta_loss=1.5, random_state=0,
                   max_iter=100)
    assert model.solver_ == "mu"
    with pytest.raises(ValueError, match="needs solver='mu'"):
        NMF(3, missing="mask", beta_loss=1.5, solver="hals").fit(Xm)
    expected = beta_divergence(Xm, W, model.components_, 1.5, missing=True)
    assert model.reconstruction_err_ == pytest.approx(np.sqrt(2 * expected))


def mostly_zero(m=300, n=200, k=4, stored=0.12, hidden=0.06, seed=7):
    """A non-negative X that is mostly zeros (like counts), with a few entries (stored
    ones and zeros alike) hidden as NaN: rank selection's cross-validation fold."""
    rng = np.random.default_rng(seed)
    X = (rng.random((m, k)) ** 3) @ (rng.random((k, n)) ** 3)
    X = np.where(rng.random((m, n)) < stored, X + 0.05 * rng.random((m, n)), 0.0)
    Xm = X.copy()
    Xm[rng.random((m, n)) < hidden] = np.nan
    return Xm


def test_em_is_what_auto_runs_on_a_mostly_zero_x_with_few_entries_hidden():
    """EM's iterations cost a fit on X̃'s pattern (observed non-zeros and hidden
    entries): auto takes it when that pattern is sparse and few entries are hidden, and
    Newton-CD's weighted sweep otherwise."""
    assert fit(mostly_zero(), n_components=4, missing="mask", max_iter=5)[0].solver_ == "em"
    dense, _ = hide(low_rank(), 0.1)
    assert fit(dense, n_components=3, missing="mask", max_iter=5)[0].solver_ == "newton-cd"
    many_hidden = mostly_zero(hidden=0.4)
    assert fit(many_hidden, n_components=4, missing="mask",
               max_iter=5)[0].solver_ == "newton-cd"
    # Named, it runs whatever the data.
    assert fit(dense, n_components=3, missing="mask", solver="em",
               max_iter=5)[0].solver_ == "em"


@pytest.mark.parametrize("X", [mostly_zero(), hide(low_rank(seed=8), 0.3, seed=8)[0]],
                         ids=["mostly-zero", "dense"])
def test_em_never_increases_the_observed_objective_and_reports_it_exactly(X):
    """Each EM step is a majorise-minimise step of ½‖P_Ω(X − WH)‖² (Zhang et al. 2006):
    the recorded objective never goes up, and it is the masked objective of the factors
    returned."""
    model, W = fit(X, n_components=4, missing="mask", solver="em", random_state=0, tol=0,
                   max_iter=60)
    loss = model.loss_curve_["loss"].to_numpy()
    assert np.all(np.diff(loss) <= 1e-10 * loss[0])
    observed = ~np.isnan(X)
    expected = 0.5 * np.sum((X - W @ model.components_)[observed] ** 2)
    assert loss[-1] == pytest.approx(expected, rel=1e-8)
    assert model.reconstruction_err_ == pytest.approx(np.sqrt(2 * expected), rel=1e-8)


def test_em_and_newton_cd_fit_the_same_problem():
    """Both minimise the masked least squares: from the same start, run long, they reach
    the same objective and the same predictions of the hidden entries."""
    X = low_rank(seed=9)
    Xm, hidden = hide(X, 0.15, seed=9)
    out = {}
    for solver in ("em", "newton-cd"):
        model, W = fit(Xm, n_components=3, missing="mask", solver=solver, init="nndsvda",
                       tol=1e-12, max_iter=3000)
        out[solver] = (model.reconstruction_err_, (W @ model.components_)[hidden])
    assert out["em"][0] == pytest.approx(out["newton-cd"][0], rel=1e-3)
    np.testing.assert_allclose(out["em"][1], out["newton-cd"][1], rtol=1e-2, atol=1e-3)
    assert rmse(out["em"][1], X[hidden]) < 0.05 * X.mean()


def test_em_refuses_what_it_cannot_fit_before_any_work():
    rng = np.random.default_rng(11)
    ratings = sp.random(500, 400, density=0.02, random_state=11, format="csr")
    with pytest.raises(ValueError, match="solver='em' needs dense X, with NaN at the "
                                         "unobserved entries.*solver='auto'"):
        NMF(3, missing="mask", solver="em").fit(ratings)
    with pytest.raises(ValueError, match="solver='em' fits the observed entries only: "
                                         "pass missing='mask'"):
        NMF(3, solver="em").fit(rng.random((20, 10)))
    with pytest.raises(ValueError, match="solver='em' fits the Frobenius loss only with "
                                         "missing='mask'.*'newton-cd' or 'mu'"):
        NMF(3, missing="mask", solver="em", beta_loss="kullback-leibler").fit(
            hide(low_rank(), 0.1)[0])


def test_masked_start_on_a_mostly_zero_x_matches_the_general_route():
    """The start of a masked fit: the zero-filled X (CSR when mostly zeros) and the scale
    that brings the model's mean over the observed entries to theirs, computed from the
    factors' sums less the hidden entries, equal the entry-by-entry route's."""
    from nmfkit.estimators import nmf as nmf_module
    from nmfkit.objectives import BetaData

    X = mostly_zero(stored=0.08, hidden=0.01)
    filled = nmf_module._masked_zero_filled(X)
    assert sp.issparse(filled)
    np.testing.assert_array_equal(filled.toarray(), np.where(np.isnan(X), 0, X))
    rng = np.random.default_rng(12)
    W, H = rng.random((X.shape[0], 4)), rng.random((4, X.shape[1]))
    W2, H2 = nmf_module._rescale_to_observed(X, W, H)
    data = BetaData(X, 2.0, missing=True)
    assert float(np.mean(data.model(W2, H2))) == pytest.approx(float(np.mean(data.S.values)),
                                                               rel=1e-10)
    np.testing.assert_allclose(W2 / W, (W2 / W)[0, 0])  # one scalar on each factor
    # the masked Frobenius divergence by dense blocks equals the sum over observed entries
    observed = ~np.isnan(X)
    assert beta_divergence(X, W, H, 2.0, missing=True) == pytest.approx(
        0.5 * np.sum((X - W @ H)[observed] ** 2), rel=1e-12)


def test_one_pass_entry_helpers_match_numpy():
    """The helpers behind a masked fit's set-up (one scan of X for its non-zeros and NaN
    together) give NumPy's positions, in CSR order, and EM's filled X̃ holds X's observed
    entries and a slot for each NaN."""
    from nmfkit import _data
    from nmfkit.solvers.em import Filled

    X = mostly_zero(stored=0.08)
    rows, cols = _data.positions(np.isnan(X))
    expected = np.nonzero(np.isnan(X))
    np.testing.assert_array_equal(rows, expected[0])
    np.testing.assert_array_equal(cols, expected[1])
    empty = _data.positions(np.zeros((3, 4), dtype=bool))
    assert empty[0].size == empty[1].size == 0
    rows, cols, values = _data.nonzero_entries(X)
    expected = np.nonzero((X != 0) | np.isnan(X))
    np.testing.assert_array_equal(rows, expected[0])
    np.testing.assert_array_equal(cols, expected[1])
    np.testing.assert_array_equal(values, X[expected])
    from nmfkit import _census

    for stored, census in ((0.08, False), (0.05, True), (0.6, False), (0.6, True)):
        # X̃ as CSR and dense; from X's own scan or its census' list of the entries
        X = mostly_zero(stored=stored, hidden=0.03)
        taken = _census.census(X) if census else None
        assert census is False or (taken.stored is not None) == (stored < 0.3)
        stored_before = None if taken is None or taken.stored is None else taken.stored[2].copy()
        data = Filled(X, taken)
        assert data.sparse == (stored < 0.3)
        hidden = np.isnan(X)
        assert data.hidden == np.count_nonzero(hidden)
        assert data.observed_norm2 == pytest.approx(np.nansum(X ** 2), rel=1e-12)
        rng = np.random.default_rng(3)
        W, H = rng.random((X.shape[0], 4)), rng.random((4, X.shape[1]))
        data.fill(W, H)
        filled = data.matrix.toarray() if data.sparse else data.matrix
        np.testing.assert_allclose(filled, np.where(hidden, W @ H, X), rtol=1e-13)
        if stored_before is not None:  # the census is read, never written
            np.testing.assert_array_equal(taken.stored[2], stored_before)


def test_values_at_any_layout_and_dtype():
    """WH at stored entries by the compiled pass: the dense product's entries, for
    row- and column-major factors, float32 and float64 (the result type of the two)."""
    from nmfkit import _data

    rng = np.random.default_rng(5)
    X = sp.random(60, 45, density=0.2, random_state=1, format="csr")
    S = _data.stored_entries(X)
    W, H = rng.random((60, 6)), rng.random((6, 45))
    expected = (W @ H)[S.rows, S.cols]
    np.testing.assert_allclose(_data.values_at(S, W, H), expected, rtol=1e-14)
    np.testing.assert_allclose(_data.values_at(S, np.asfortranarray(W), H.T.copy().T),
                               expected, rtol=1e-14)
    low = _data.values_at(S, W.astype(np.float32), H.astype(np.float32))
    assert low.dtype == np.float32
    np.testing.assert_allclose(low, expected, rtol=1e-5)
    assert _data.values_at(S, W.astype(np.float32), H).dtype == np.float64


@pytest.mark.parametrize("formed", [True, False], ids=["outer-products", "from-factor"])
def test_gram_kernel_takes_the_entry_kernels_steps(formed):
    """One sweep from each row's Gram matrix (gram_rows) is the entry-by-entry weighted
    HALS sweep (stored_rows with least_squares), the same steps in the same order, for
    rows mostly observed (Gram of all columns less the unobserved ones), mostly hidden
    (sum over the observed ones) and wholly hidden; its measurement plus ‖X_Ω‖² is the
    observed squared error.  Alike whether the Gram matrices sum the columns' outer
    products formed beforehand (column_outers) or form them from the factor."""
    from nmfkit import _data
    from nmfkit.solvers import _kernels

    rng = np.random.default_rng(4)
    m, n, k = 9, 14, 4
    X = rng.random((m, n))
    hidden = rng.random((m, n)) < 0.15
    hidden[2] = rng.random(n) < 0.8  # mostly hidden
    hidden[5] = True  # wholly hidden
    O, U0 = rng.random((k, n)), rng.random((k, m))
    outer = np.empty((n if formed else 0, k * k))
    if formed:
        _kernels.column_outers(np.ascontiguousarray(O.T), outer)
        np.testing.assert_allclose(outer[3].reshape(k, k), np.outer(O[:, 3], O[:, 3]))
    observed = _data.entries_where(~hidden)
    observed.values[:] = X[~hidden]
    X0 = np.where(hidden, 0.0, X)
    for l1, l2 in ((0.0, 0.0), (0.05, 0.3)):
        U_gram, U_entry = U0.copy(), U0.copy()
        measured = _kernels.gram_rows(X0 @ O.T, O @ O.T, observed.indptr, observed.cols,
                                      np.ascontiguousarray(O.T), outer, U_gram, l1, l2, 1, 0.1,
                                      True, True, 0, m)
        entry = _kernels.stored_rows(observed.indptr, observed.cols, observed.values, U_entry,
                                     np.ascontiguousarray(O.T), np.zeros((0, 1)), True, l1, l2,
                                     False, 0.0, True, True, 0, m)
        np.testing.assert_allclose(U_gram, U_entry, rtol=1e-12, atol=1e-14)
        assert np.sum(X0 ** 2) + measured == pytest.approx(entry[0], rel=1e-10)
    assert not np.array_equal(U_gram, U0) and np.all(U_gram[:, 5] == 0)
    # more sweeps solve each row's non-negative least squares: no coordinate can move
    U = U0.copy()
    _kernels.gram_rows(X0 @ O.T, O @ O.T, observed.indptr, observed.cols,
                       np.ascontiguousarray(O.T), outer, U, 0.0, 0.0, 2000, 0.0, True, False,
                       0, m)
    for i in range(m):
        Oi = O[:, ~hidden[i]]
        grad = Oi @ (Oi.T @ U[:, i] - X[i, ~hidden[i]])
        assert np.all(grad >= -1e-9) and np.all(np.abs(grad[U[:, i] > 1e-12]) < 1e-9)


def test_gram_and_entry_layouts_fit_the_same_problem():
    """Masked least squares on a dense X swept from row Gram matrices (the default for few
    hidden entries) and entry by entry (newton_gram_max_ratio=0) reach the same objective,
    which never rises, and report it exactly."""
    X = low_rank(seed=12)
    Xm, hidden = hide(X, 0.1, seed=12)
    out = {}
    for ratio in (8.0, 0.0):
        model, W = fit(Xm, n_components=3, missing="mask", solver="newton-cd", init="nndsvda",
                       tol=1e-12, max_iter=3000, solver_options={"newton_gram_max_ratio": ratio})
        loss = model.loss_curve_["loss"].to_numpy()
        assert np.all(np.diff(loss) <= 1e-10 * loss[0])
        expected = 0.5 * np.sum((Xm - W @ model.components_)[~hidden] ** 2)
        assert loss[-1] == pytest.approx(expected, rel=1e-8)
        out[ratio] = (loss[-1], model.n_iter_)
    assert out[8.0][0] == pytest.approx(out[0.0][0], rel=1e-6)
    assert out[8.0][1] < out[0.0][1]  # the repeated sweeps take fewer iterations


def test_gram_layout_takes_the_same_steps_with_or_without_formed_outer_products(monkeypatch):
    """A masked least-squares fit whose row Gram matrices sum the columns' outer products
    formed once per sweep (the default within newton_cd.OUTER_BYTES) follows the fit that
    forms them from the factor row by row (OUTER_BYTES = 0): the same iterations and
    factors, to rounding."""
    from nmfkit.solvers import newton_cd

    X = low_rank(seed=13)
    Xm, _ = hide(X, 0.1, seed=13)
    fits, formed = [], []
    form = newton_cd.column_outers
    monkeypatch.setattr(newton_cd, "column_outers", lambda *a: formed.append(1) or form(*a))
    for limit in (newton_cd.OUTER_BYTES, 0):
        monkeypatch.setattr(newton_cd, "OUTER_BYTES", limit)
        del formed[:]
        model, W = fit(Xm, n_components=4, missing="mask", solver="newton-cd", init="nndsvda",
                       tol=0, max_iter=40, random_state=0)
        fits.append((model.n_iter_, W, model.components_))
        assert bool(formed) == (limit > 0)
    assert fits[0][0] == fits[1][0] == 40
    np.testing.assert_allclose(fits[0][1], fits[1][1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fits[0][2], fits[1][2], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("fill", [0.03, 0.6])
def test_census_answers_what_numpy_counts(dtype, order, fill):
    """The one-pass census of a masked dense X gives NumPy's counts, sum, bounds and
    positions: NaN positions in CSR order, the non-zero entries (NaN included) listed
    only for a mostly-zero X, and its zero-filled CSR copy equal to X with NaN as 0."""
    from nmfkit import _census, _data

    rng = np.random.default_rng(5)
    X = rng.random((37, 23)) * (rng.random((37, 23)) < fill)
    X[rng.random(X.shape) < 0.05] = np.nan
    X = np.asarray(X, dtype=dtype, order=order)
    c = _census.census(X)
    nan = np.isnan(X)
    assert c.shape == X.shape and c.unobserved == nan.sum()
    assert c.nonzero == np.count_nonzero(np.nan_to_num(X))
    assert c.observed_sum == pytest.approx(float(np.nansum(X.astype(np.float64))), rel=1e-12)
    assert (c.low, c.high) == (0.0, float(np.nanmax(X))) and c.valid
    rows, cols = np.nonzero(nan)
    np.testing.assert_array_equal(c.nan_rows, rows)
    np.testing.assert_array_equal(c.nan_cols, cols)
    np.testing.assert_array_equal(c.observed_counts(1), (~nan).sum(axis=1))
    np.testing.assert_array_equal(c.observed_counts(0), (~nan).sum(axis=0))
    if fill < _census.SPARSE_MAX_FILL:
        for got, expected in zip(c.stored, _data.nonzero_entries(X)):
            np.testing.assert_array_equal(got, expected)
        filled = c.zero_filled(X.dtype)
        assert filled.dtype == X.dtype and filled.nnz == c.nonzero
        np.testing.assert_array_equal(filled.toarray(), np.nan_to_num(X))
    else:
        assert c.stored is None


def test_census_of_an_x_without_nan_or_non_zeros_and_of_bad_values():
    from nmfkit import _census

    c = _census.census(np.zeros((4, 3)))
    assert (c.unobserved, c.nonzero, c.observed_sum) == (0, 0, 0.0)
    assert c.zero_filled(np.float64).nnz == 0
    c = _census.census(np.ones((4, 3)))
    assert c.nan_rows.size == 0 and c.stored is None and c.observed_sum == 12.0
    for bad, bound in ((-2.0, "low"), (-np.inf, "low"), (np.inf, "high")):
        X = np.ones((4, 3))
        X[0, 0], X[1, 1] = np.nan, bad
        c = _census.census(X)
        assert not c.valid and getattr(c, bound) == bad


@pytest.mark.parametrize("bad, message", [(-1.5, "Negative values"), (np.inf, "infinite")])
def test_masked_fit_names_a_bad_entry_found_by_the_census(bad, message):
    """The census checks a masked X's values in its pass; a bad entry among the NaN is
    still reported with its position, before any work."""
    X = low_rank(seed=15)
    Xm, _ = hide(X, 0.1, seed=15)
    Xm[3, 4] = bad
    with pytest.raises(ValueError, match=message) as caught:
        NMF(n_components=2, missing="mask").fit(Xm)
    assert "row 3, column 4" in str(caught.value)


def test_masked_fit_and_transform_take_one_census_of_x(monkeypatch):
    """The set-up of a masked fit on a dense X (value check, solver choice, empty-line
    check, the start's zero-filled copy and rescale, EM's filled X̃) reads one census of
    X, not a scan each: the helpers that scan X are not called on it."""
    from nmfkit import _census, _data, _validation

    taken, scans = [], []
    real = _census.census
    monkeypatch.setattr(_census, "census", lambda X: taken.append(X.shape) or real(X))
    for module, name in ((_data, "nonzero_entries"), (_data, "positions"),
                         (_validation, "check_values")):
        def spy(*args, _real=getattr(module, name), _name=name, **kwargs):
            scans.append(_name)
            return _real(*args, **kwargs)
        monkeypatch.setattr(module, name, spy)
    X = low_rank(seed=14)
    X[X < np.quantile(X, 0.97)] = 0.0  # mostly zeros: the start's copy is CSR
    Xm, _ = hide(X, 0.05, seed=14)
    model, _ = fit(Xm, n_components=3, missing="mask", init="nndsvda", random_state=0,
                   max_iter=50)
    assert model.solver_ == "em"
    assert taken == [Xm.shape] and scans == []
    del taken[:]
    model.transform(Xm[:10])
    assert taken == [(10, Xm.shape[1])]


def test_census_reads_a_column_major_x_without_copying_it():
    """A column-major X (a DataFrame's values) is read in memory order, not copied: the
    census' peak memory stays well below X's size, its positions still in CSR order."""
    import tracemalloc

    from nmfkit import _census

    rng = np.random.default_rng(6)
    X = np.asfortranarray(rng.random((400, 300)))
    X[rng.random(X.shape) < 0.02] = np.nan
    _census.census(X)  # compiled before measuring
    tracemalloc.start()
    c = _census.census(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < X.nbytes / 4
    rows, cols = np.nonzero(np.isnan(X))
    np.testing.assert_array_equal(c.nan_rows, rows)
    np.testing.assert_array_equal(c.nan_cols, cols)
