"""Rank selection (nmfkit.rank.select_rank): each method finds the rank planted in the
data, several methods in one call answer as they do alone, the result's table and
figures are laid out as documented, and bad input is refused before any work."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from matplotlib.figure import Figure
from sklearn.exceptions import ConvergenceWarning

from nmfkit import rank
from nmfkit.rank import METHODS, RankSelection, select_rank


# --------------------------------------------------------------------------- planted data
def dense_planted(k, m=80, n=60, noise=0.1, seed=0):
    """|WH + Gaussian noise| with uniform W, H; noise relative to the spread of WH."""
    rng = np.random.default_rng(seed)
    X = rng.random((m, k)) @ rng.random((k, n))
    return np.abs(X + noise * X.std() * rng.standard_normal((m, n)))


def sparse_planted(k, m=100, n=80, density=0.3, noise=0.1, seed=0):
    """WH with sparse W and H (X about 25-35 % stored), multiplicative log-normal noise."""
    rng = np.random.default_rng(seed)
    W = rng.random((m, k)) * (rng.random((m, k)) < density)
    H = rng.random((k, n)) * (rng.random((k, n)) < density)
    return sp.csr_matrix((W @ H) * np.exp(noise * rng.standard_normal((m, n))))


def poisson_planted(k, m=80, n=60, mean=5.0, seed=0):
    """Counts drawn from Poisson(WH) with Gamma(1, 1) factors scaled to a mean of 5."""
    rng = np.random.default_rng(seed)
    rates = rng.gamma(1.0, 1.0, (m, k)) @ rng.gamma(1.0, 1.0, (k, n))
    return rng.poisson(rates * mean / rates.mean()).astype(float)


def identifiable_planted(k, m=80, n=60, noise=0.1, seed=0):
    """Uniform W, sparse H (30 %): the parts are unique, so restarts recover them."""
    rng = np.random.default_rng(seed)
    W = rng.random((m, k))
    H = rng.random((k, n)) * (rng.random((k, n)) < 0.3)
    X = W @ H
    return np.abs(X + noise * X.std() * rng.standard_normal((m, n)))


def blocks(k, m=60, n=40, noise=0.1, seed=0):
    """Clear clusters: rows of cluster c are non-zero on the columns of block c only."""
    rng = np.random.default_rng(seed)
    rows = rng.permutation(np.arange(m) % k)
    cols = rng.permutation(np.arange(n) % k)
    X = (rows[:, None] == cols[None, :]) * (0.5 + rng.random((m, n)))
    return np.abs(X + noise * rng.standard_normal((m, n))), rows


def quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return select_rank(*args, **kwargs)


CASES = [(k, seed) for k in (3, 5) for seed in range(5)]


# --------------------------------------------------------------------------- 'cv'
@pytest.mark.parametrize("kind", ["dense", "sparse", "poisson"])
def test_cv_finds_the_planted_rank(kind):
    """A small version of the planted-rank study: 10 cases per kind of data, at least 9
    right (the issue asks >= 90 %)."""
    make = {"dense": dense_planted, "sparse": sparse_planted, "poisson": poisson_planted}[kind]
    params = {"beta_loss": "kullback-leibler"} if kind == "poisson" else {}
    found = [quiet(make(k, seed=seed), ranks=range(2, k + 3), random_state=seed,
                   **params).best_rank for k, seed in CASES]
    right = sum(f == k for f, (k, _) in zip(found, CASES))
    assert right >= 9, list(zip(CASES, found))


def test_cv_on_sparse_x_fits_a_sample_of_zeros_without_densifying(monkeypatch):
    """Above DENSE_CV_MAX_ENTRIES a sparse X is fitted on its stored entries plus
    sampled zeros stored explicitly; it is never made dense, and still finds the rank."""
    monkeypatch.setattr(rank, "DENSE_CV_MAX_ENTRIES", 0)

    def refuse(*args, **kwargs):
        raise AssertionError("X was densified")

    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
        monkeypatch.setattr(cls, "toarray", refuse)
        monkeypatch.setattr(cls, "todense", refuse)
    found = [quiet(sparse_planted(k, seed=seed), ranks=range(2, k + 3),
                   random_state=seed).best_rank for k, seed in [(3, 0), (3, 1), (5, 0)]]
    assert found == [3, 3, 5]


@pytest.mark.parametrize("large", [False, True])
def test_sparse_folds_hold_out_stored_entries_and_as_many_zeros(monkeypatch, large):
    if large:
        monkeypatch.setattr(rank, "DENSE_CV_MAX_ENTRIES", 0)
    X = rank._check_X(sparse_planted(3, seed=2))
    m, n = X.shape
    stored = set(rank._linear_indices(X).tolist())
    folds = rank._cv_folds(X, 5, 0.1, np.random.default_rng(0))
    size = int(round(0.1 * X.nnz))
    seen = set()
    for fold in folds:
        held = set(fold.held.tolist())
        assert len(held) == fold.held.size  # distinct
        assert not held & seen  # the folds are disjoint slices
        seen |= held
        n_stored = len(held & stored)
        # A few entries may go back to training so that no row or column is left empty.
        assert size - 5 <= n_stored <= size
        assert size - 5 <= fold.held.size - n_stored <= size
        dense = X.toarray().ravel()
        np.testing.assert_array_equal(fold.values, dense[fold.held])
        if large:
            zeros = set(fold.train_zeros.tolist())
            assert not zeros & stored and not zeros & held  # zeros, none of them held out
            # As many sampled zeros as stored entries kept for training.
            assert abs(len(zeros) - (X.nnz - size)) <= 3
            assert fold.large


def test_cv_folds_never_hide_a_whole_row_or_column():
    X = np.random.default_rng(0).random((3, 30))  # 5 folds x 0.2: rows of 30 entries
    folds = rank._cv_folds(X, 5, 0.2, np.random.default_rng(1))
    X1 = np.random.default_rng(0).random((2, 2))
    folds += rank._cv_folds(X1, 2, 0.5, np.random.default_rng(3))
    for fold, shape in [(f, (3, 30)) for f in folds[:5]] + [(f, (2, 2)) for f in folds[5:]]:
        hidden = np.zeros(shape, dtype=bool)
        hidden.ravel()[fold.held] = True
        assert (~hidden).any(axis=1).all() and (~hidden).any(axis=0).all()


def test_cv_error_is_the_mean_squared_error_of_the_held_out_entries():
    from nmfkit import NMF

    X = dense_planted(3, seed=4)
    result = select_rank(X, ranks=[3], random_state=0, n_folds=2, holdout=0.2, max_iter=500)
    entropy = rank._entropy(0)
    folds = rank._cv_folds(X, 2, 0.2, np.random.default_rng(rank._seed(entropy, rank._CV)))
    errors = []
    for f, fold in enumerate(folds):
        assert fold.held.size == round(0.2 * X.size)
        train = X.copy()
        train.ravel()[fold.held] = np.nan
        model = NMF(3, missing="mask", max_iter=500,
                    random_state=rank._seed(entropy, rank._CV, 3, f))
        prediction = (model.fit_transform(train) @ model.components_).ravel()[fold.held]
        errors.append(np.mean((prediction - X.ravel()[fold.held]) ** 2))
    assert result.table.loc[3, "cv_error"] == pytest.approx(np.mean(errors), rel=1e-9)
    assert result.table.loc[3, "cv_error_std"] == pytest.approx(np.std(errors, ddof=1),
                                                                rel=1e-6)


def test_one_standard_error_rule_takes_the_smallest_rank_within_reach():
    ks = [2, 3, 4, 5]
    mean = np.array([5.0, 1.1, 1.0, 1.05])
    std = np.array([0.1, 0.1, 0.3, 0.1])
    assert rank._best_by_error(ks, mean, std, 4, "min") == 4
    assert rank._best_by_error(ks, mean, std, 4, "1se") == 3  # 1.1 <= 1.0 + 0.3 / 2
    X = dense_planted(3, seed=1)
    one_se = quiet(X, ranks=range(2, 7), rule="1se", random_state=1)
    minimum = quiet(X, ranks=range(2, 7), rule="min", random_state=1)
    assert one_se.best_rank <= minimum.best_rank
    pd.testing.assert_frame_equal(one_se.table, minimum.table)


# --------------------------------------------------------------------------- 'consensus'
@pytest.mark.parametrize("k", [3, 5])
def test_consensus_on_clear_clusters(k):
    X, labels = blocks(k, seed=k)
    result = quiet(X, ranks=range(2, 8), method="consensus", n_runs=10, random_state=0)
    assert result.table.loc[k, "cophenetic"] > 0.95
    assert result.best_rank == k == result.best["consensus"]
    C = result.consensus_[k]
    assert sorted(result.consensus_) == list(range(2, 8))
    np.testing.assert_allclose(C, C.T)
    np.testing.assert_allclose(np.diag(C), 1.0)
    # At the true rank every run puts each cluster together, and nothing else.
    np.testing.assert_allclose(C, labels[:, None] == labels[None, :])
    assert result.table.loc[k, "dispersion"] == pytest.approx(1.0)


def test_consensus_rule_takes_the_largest_rank_of_largest_dispersion():
    ks = [2, 3, 4, 5]
    assert rank._best_by_consensus(ks, np.array([1.0, 1.0, 0.93, 0.9])) == 3
    assert rank._best_by_consensus(ks, np.array([0.6, 0.8, 0.99, 0.9])) == 4


def test_consensus_labels_do_not_depend_on_how_w_and_h_share_scale():
    """A row's label is the component with the largest part of its row of WH,
    W_ij·‖h_j‖: rescaling W's columns (and H's rows inversely) changes no label.  On
    clear clusters the NNDSVD start of the first restart leaves W's columns of very
    different scales; its labels are still the clusters."""
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(0)
    W, H = rng.random((50, 4)), rng.random((4, 30))
    D = np.array([1e-3, 1.0, 10.0, 1e3])
    np.testing.assert_array_equal(rank._strongest_component(W, H),
                                  rank._strongest_component(W * D, H / D[:, None]))
    X, labels = blocks(3, seed=0)
    out = rank._restart_task(X, 3, ("auto", ("labels",)), 0, {})
    assert adjusted_rand_score(labels, out["labels"]) == 1.0


# --------------------------------------------------------------------------- other methods
@pytest.mark.parametrize("k", [3, 5])
def test_bcv_stability_and_error_return_the_planted_rank(k):
    X = identifiable_planted(k, seed=k)
    result = quiet(X, ranks=range(2, k + 3), method=["stability", "error", "bcv"], n_runs=6,
                   random_state=0)
    assert result.best["stability"] == k
    assert result.best["error"] == k
    assert result.best["bcv"] in (k, k + 1)  # flat past the rank: 'min' may take one more
    table = result.table
    assert table.loc[k, "silhouette"] > rank.SILHOUETTE_THRESHOLD
    assert table.loc[k + 1, "silhouette"] < table.loc[k, "silhouette"]
    assert table.loc[k, "reproducibility"] > 0.95
    assert (np.diff(table["explained_variance"]) > 0).all()
    assert table["bcv_error"].idxmin() >= k
    one_se = quiet(X, ranks=range(2, k + 3), method="bcv", rule="1se", random_state=0)
    assert k <= one_se.best_rank <= result.best["bcv"]


def test_elbow_rule_is_the_point_farthest_below_the_chord():
    ks = [2, 3, 4, 5, 6, 7]
    assert rank._best_by_elbow(ks, np.array([100.0, 10.0, 8.0, 7.0, 6.0, 5.0])) == 3
    assert rank._best_by_elbow(ks, np.array([100.0, 80.0, 60.0, 10.0, 9.0, 8.0])) == 5


def test_stability_rule():
    ks = [2, 3, 4, 5]
    assert rank._best_by_silhouette(ks, np.array([0.9, 0.95, 0.85, 0.4])) == 4
    assert rank._best_by_silhouette(ks, np.array([0.5, 0.7, 0.6, 0.4])) == 3


# --------------------------------------------------------------------------- several methods
def test_several_methods_answer_as_each_does_alone():
    X, _ = blocks(3, seed=1)
    kwargs = dict(ranks=range(2, 6), n_runs=4, n_folds=3, random_state=7)
    together = quiet(X, method=list(METHODS), **kwargs)
    assert together.methods == METHODS
    assert together.best_rank == together.best["cv"]
    for method in METHODS:
        alone = quiet(X, method=method, **kwargs)
        assert alone.best == {method: together.best[method]}
        pd.testing.assert_frame_equal(alone.table, together.table[alone.table.columns])
    assert set(together.consensus_) == {2, 3, 4, 5}


def test_same_seed_same_result_and_parallel_gives_the_same():
    X = dense_planted(3, m=40, n=30, seed=3)
    kwargs = dict(ranks=range(2, 5), method=["cv", "consensus"], n_runs=3, n_folds=2)
    a = quiet(X, random_state=3, **kwargs)
    b = quiet(X, random_state=3, n_jobs=2, **kwargs)
    pd.testing.assert_frame_equal(a.table, b.table)
    c = quiet(X, random_state=np.random.RandomState(3), **kwargs)
    assert list(c.table.columns) == list(a.table.columns)


def test_fits_that_stop_at_max_iter_are_reported_once():
    X = dense_planted(3, m=30, n=20, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        select_rank(X, ranks=[2, 3], n_folds=2, max_iter=2, tol=1e-12, random_state=0)
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert messages == ["4 of 4 fits stopped at max_iter=2 before converging (tol=1e-12); "
                        "the criteria may be noisy — pass a larger max_iter."]


# --------------------------------------------------------------------------- the result
def test_table_layout():
    X = pd.DataFrame(dense_planted(3, m=30, n=20, seed=0),
                     index=[f"s{i}" for i in range(30)])
    result = quiet(X, ranks=[4, 2, 3, 3], method=["error", "cv", "stability", "consensus",
                                                   "bcv"], n_runs=3, n_folds=2,
                   random_state=0)
    assert isinstance(result, RankSelection)
    table = result.table
    assert table.index.name == "rank" and table.index.tolist() == [2, 3, 4]
    assert table.columns.tolist() == [
        "rss", "explained_variance", "cv_error", "cv_error_std", "silhouette",
        "reproducibility", "reproducibility_std", "cophenetic", "dispersion", "bcv_error",
        "bcv_error_std"]
    assert (table.dtypes == float).all() and np.isfinite(table.to_numpy()).all()
    assert list(result.best) == ["error", "cv", "stability", "consensus", "bcv"]
    assert result.best_rank == result.best["error"]
    assert all(k in (2, 3, 4) for k in result.best.values())
    assert result.sample_names == [f"s{i}" for i in range(30)]
    assert "best_rank=" in repr(result)


def test_plot_has_one_axes_per_criterion_with_the_best_rank_marked():
    X, _ = blocks(3, seed=2)
    result = quiet(X, ranks=range(2, 6), method=["cv", "consensus", "error"], n_runs=3,
                   n_folds=2, random_state=0)
    fig = result.plot()
    assert isinstance(fig, Figure)
    criteria = [c for c in result.table.columns if not c.endswith("_std")]
    assert len(fig.axes) == len(criteria) == 5
    for ax, column in zip(fig.axes, criteria):
        method = next(m for m in result.methods if column in
                      [c for c, _, _ in rank._CRITERIA[m]])
        assert column in ax.get_title()
        marks = [line for line in ax.get_lines() if list(line.get_xdata()) == [
            result.best[method]] * 2]
        assert marks, f"best rank not marked on {column}"
    fig.savefig(__import__("io").BytesIO(), format="png")  # draws on the Agg canvas


def test_plot_consensus_orders_the_samples_by_the_dendrogram():
    X, labels = blocks(3, seed=3)
    result = quiet(X, ranks=[2, 3, 4], method="consensus", n_runs=4, random_state=0)
    fig = result.plot_consensus(3)
    assert isinstance(fig, Figure)
    shown = np.asarray(fig.axes[0].get_images()[0].get_array())
    # Dendrogram order puts each cluster's samples side by side: blocks on the diagonal.
    changes = np.count_nonzero(np.diff(shown[0]) != 0) + np.count_nonzero(
        np.diff(shown[:, -1]) != 0)
    assert changes == 2
    assert sorted(shown.sum(axis=0).tolist()) == sorted(
        np.bincount(labels)[labels].astype(float).tolist())
    assert result.plot_consensus().axes[0].get_title().startswith(
        f"consensus matrix, k = {result.best['consensus']}")
    with pytest.raises(ValueError, match=r"no consensus matrix at rank 7; the ranks computed "
                                         r"are \[2, 3, 4\]"):
        result.plot_consensus(7)
    cv_only = quiet(X, ranks=[2, 3], n_folds=2, random_state=0)
    with pytest.raises(ValueError, match="method='consensus'"):
        cv_only.plot_consensus(2)


# --------------------------------------------------------------------------- bad input
@pytest.fixture
def no_work(monkeypatch):
    """Fail if a fit starts: the errors below are raised before any work."""
    def refuse(*args, **kwargs):
        raise AssertionError("select_rank started fitting before refusing its input")

    monkeypatch.setattr(rank, "_run_tasks", refuse)


X_OK = np.random.default_rng(0).random((12, 10))


@pytest.mark.parametrize("X, kwargs, error, match", [
    (np.where(np.eye(12, 10) > 0, -0.5, X_OK), {}, ValueError,
     r"X has 10 negative entries \(first at row 0, column 0, value -0.5\); NMF needs X >= 0"),
    (np.where(np.eye(12, 10)[::-1] > 0, np.nan, X_OK), {}, ValueError,
     r"X has 10 NaN entries \(first at row 2, column 9\); select_rank needs X finite"),
    (sp.csr_matrix(np.where(np.eye(12, 10) > 0, np.inf, X_OK)), {}, ValueError,
     r"X has 10 infinite entries \(first at row 0, column 0\)"),
    (np.zeros((12, 10)), {}, ValueError, "X is all zeros"),
    (sp.csr_matrix((12, 10)), {}, ValueError, "X is all zeros"),
    (X_OK, {"ranks": [0, 2]}, ValueError, "ranks must be positive ints; got 0"),
    (X_OK, {"ranks": [2.5]}, ValueError, "ranks must be positive ints; got 2.5"),
    (X_OK, {"ranks": []}, ValueError, "ranks is empty"),
    (X_OK, {"ranks": "abc"}, ValueError, "ranks must be positive ints; got 'a'"),
    (X_OK, {"ranks": range(2, 12)}, ValueError,
     r"ranks \[11\] are above min\(n_samples, n_features\) = 10"),
    (X_OK, {"ranks": range(2, 7), "method": "bcv"}, ValueError,
     r"ranks \[6\] are above 5 for method='bcv' \(the retained block of X, shape \(12, 10\), "
     r"is 6 x 5\)"),
    (X_OK, {"method": "elbow"}, ValueError,
     "unknown method 'elbow'; the valid methods are 'cv', 'consensus', 'stability', 'bcv', "
     "'error'"),
    (X_OK, {"method": ["cv", "nope"]}, ValueError, "unknown method 'nope'"),
    (X_OK, {"method": []}, ValueError, "method is empty"),
    (X_OK, {"method": "consensus", "n_runs": 1}, ValueError,
     "method='consensus' compares restarts, so n_runs must be at least 2"),
    (X_OK, {"method": "stability", "n_runs": 1}, ValueError, "n_runs must be at least 2"),
    (X_OK, {"method": "error", "ranks": [2, 3]}, ValueError, "at least 3 ranks"),
    (X_OK, {"n_folds": 1}, ValueError, "n_folds must be an int >= 2"),
    (X_OK, {"holdout": 1.5}, ValueError, r"holdout must be a fraction"),
    (X_OK, {"n_folds": 6, "holdout": 0.2}, ValueError,
     r"n_folds \* holdout must be at most 1; got n_folds=6 and holdout=0.2"),
    (X_OK, {"rule": "2se"}, ValueError, "rule must be 'min' or '1se'"),
    (X_OK, {"n_jobs": 0}, ValueError, "n_jobs must be None or a non-zero int"),
    (X_OK, {"random_state": -1}, ValueError, "random_state must be an int >= 0"),
    (X_OK, {"n_components": 3}, ValueError, "'n_components' is set by select_rank"),
    (X_OK, {"missing": "mask"}, ValueError, "'missing' is set by select_rank"),
    (X_OK, {"init": "custom"}, ValueError, "init='custom' needs starting factors"),
    (X_OK, {"n_component": 3}, TypeError,
     r"select_rank got unexpected keyword argument\(s\) \['n_component'\]"),
    (X_OK, {"solver": "fast"}, ValueError, "The 'solver' parameter of NMF must be"),
    (X_OK, {"solver": "anls"}, ValueError, "missing='mask' needs a solver"),
    (X_OK, {"beta_loss": "itakura-saito", "method": "error"}, ValueError,
     "itakura-saito divergence is undefined where X = 0"),
])
def test_bad_input_is_refused_before_any_work(no_work, X, kwargs, error, match):
    if "itakura" in match:
        X = X.copy()
        X[3, 4] = 0.0
    with pytest.raises(error, match=match):
        select_rank(X, **{"ranks": [2, 3], **kwargs})


def test_consensus_refuses_all_zero_rows(no_work):
    X = X_OK.copy()
    X[5] = 0.0
    with pytest.raises(ValueError, match=r"1 all-zero row\(s\) \(first: row 5\)"):
        select_rank(X, ranks=[2, 3], method="consensus")


def test_a_result_survives_its_dict_form_without_the_consensus_matrices():
    rng = np.random.default_rng(2)
    X = rng.random((40, 3)) @ rng.random((3, 25))
    result = select_rank(X, ranks=[2, 3, 4], method=["consensus", "error"], n_runs=3,
                         random_state=0, max_iter=300)
    back = type(result).from_dict(json.loads(json.dumps(result.to_dict())))
    pd.testing.assert_frame_equal(back.table, result.table)
    assert back.best == result.best and back.best_rank == result.best_rank
    assert back.methods == result.methods and back.consensus_ == {}
    assert len(back.plot().axes) == len(result.plot().axes)


# --------------------------------------------------------------------------- warm start
def test_warm_start_fits_each_rank_from_the_fold_fit_below_it():
    """warm_start: a fold's rank-k fit is NMF(k, init='custom') from the rank below's
    factors with NNDSVDa components of its positive residual on the visible entries;
    the lowest rank starts from ``init`` as without warm start."""
    from nmfkit import NMF

    X = dense_planted(3, seed=6)
    warm = quiet(X, ranks=[2, 4], random_state=1, n_folds=2, max_iter=400, tol=1e-6)
    cold = quiet(X, ranks=[2, 4], random_state=1, n_folds=2, max_iter=400, tol=1e-6,
                 warm_start=False)
    assert warm.table.loc[2, "cv_error"] == cold.table.loc[2, "cv_error"]
    entropy = rank._entropy(1)
    folds = rank._cv_folds(X, 2, 0.1, np.random.default_rng(rank._seed(entropy, rank._CV)))
    errors = []
    for f, fold in enumerate(folds):
        train = X.copy()
        train.ravel()[fold.held] = np.nan
        low = NMF(2, missing="mask", max_iter=400, tol=1e-6,
                  random_state=rank._seed(entropy, rank._CV, 2, f))
        W2 = low.fit_transform(train)
        H2 = low.components_
        residual = np.maximum(np.nan_to_num(train - W2 @ H2), 0.0)
        from nmfkit.init import initialize

        Wn, Hn = initialize(residual, 2, "nndsvda",
                            random_state=rank._seed(entropy, rank._CV, 4, f))
        assert Wn.max() > 0 and Hn.max() > 0  # the residual has structure left
        high = NMF(4, missing="mask", max_iter=400, tol=1e-6, init="custom")
        floor = 1e-6 * np.sqrt(np.mean(W2 @ H2) / 4)
        W4 = high.fit_transform(train, W=np.hstack([W2, np.maximum(Wn, floor)]),
                                H=np.vstack([H2, np.maximum(Hn, floor)]))
        prediction = (W4 @ high.components_).ravel()[fold.held]
        errors.append(np.mean((prediction - X.ravel()[fold.held]) ** 2))
    assert warm.table.loc[4, "cv_error"] == pytest.approx(np.mean(errors), rel=1e-9)


@pytest.mark.parametrize("kind", ["dense", "sparse", "poisson"])
def test_warm_start_chooses_the_rank_fits_from_scratch_choose(kind):
    """Warm and cold fits give the same best rank and, up to the true rank, held-out
    errors within a per cent, dense, sparse and counts.  Above it both can over-fit
    the visible entries of a fold (a component that takes a few entries predicts its
    hidden ones wildly), each at its own ranks: there both are only above the best."""
    make = {"dense": dense_planted, "sparse": sparse_planted, "poisson": poisson_planted}[kind]
    X = make(4, seed=8)
    kwargs = dict(ranks=range(2, 8), random_state=2, max_iter=1000, tol=1e-5)
    warm, cold = quiet(X, warm_start=True, **kwargs), quiet(X, warm_start=False, **kwargs)
    assert warm.best_rank == cold.best_rank == 4
    np.testing.assert_allclose(warm.table["cv_error"].loc[2:4],
                               cold.table["cv_error"].loc[2:4], rtol=0.01)
    for result in (warm, cold):
        assert (result.table["cv_error"].loc[5:] > result.table["cv_error"].loc[4]).all()


def test_warm_start_must_be_a_bool_or_auto_which_is_on_for_dense_x_only():
    with pytest.raises(ValueError, match="warm_start must be True, False or 'auto'; got 'yes'"):
        select_rank(dense_planted(3), ranks=[2, 3], warm_start="yes")
    kwargs = dict(ranks=[2, 4], random_state=1, n_folds=2, max_iter=300)
    dense, sparse = dense_planted(3, seed=2), sparse_planted(3, seed=2)
    pd.testing.assert_frame_equal(quiet(dense, **kwargs).table,
                                  quiet(dense, warm_start=True, **kwargs).table)
    pd.testing.assert_frame_equal(quiet(sparse, **kwargs).table,
                                  quiet(sparse, warm_start=False, **kwargs).table)
