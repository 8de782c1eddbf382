"""Quality measures (nmfkit.metrics) against small examples worked out by hand, plus
their edge cases and their errors."""
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from nmfkit import metrics
from nmfkit.metrics import (adjusted_rand_index, consensus_matrix, cophenetic_correlation,
                            dispersion, entropy, explained_variance, factor_similarity,
                            match_components, purity, residual_sum_of_squares, sparseness)

# X, W, H with WH = [[2, 3], [2, 3]]: residual [[-1, -1], [1, 1]], RSS 4; ‖X‖² = 30.
X = np.array([[1.0, 2.0], [3.0, 4.0]])
W = np.array([[1.0], [1.0]])
H = np.array([[2.0, 3.0]])


def test_public_names():
    assert set(metrics.__all__) == {
        "sparseness", "residual_sum_of_squares", "explained_variance", "consensus_matrix",
        "cophenetic_correlation", "dispersion", "purity", "entropy", "adjusted_rand_index",
        "match_components", "factor_similarity"}
    assert sparseness([0.0, 0.0, 3.0, 0.0]) == 1.0  # unchanged


# --------------------------------------------------------------------------- fit of WH to X

def test_rss_and_explained_variance_by_hand():
    assert residual_sum_of_squares(X, W, H) == pytest.approx(4.0)
    # Not centred: ‖X‖² = 1 + 4 + 9 + 16 = 30, not Σ(X − 2.5)² = 5.
    assert explained_variance(X, W, H) == pytest.approx(1 - 4 / 30)


def test_exact_fit_explains_everything():
    assert residual_sum_of_squares(W @ H, W, H) == pytest.approx(0.0, abs=1e-12)
    assert explained_variance(W @ H, W, H) == pytest.approx(1.0)
    assert explained_variance(X, np.zeros_like(W), H) == pytest.approx(0.0)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_x_gives_the_dense_values(fmt):
    assert residual_sum_of_squares(sp.csr_matrix(X).asformat(fmt), W, H) == pytest.approx(4.0)
    assert residual_sum_of_squares(sp.csr_array(X).asformat(fmt), W, H) == pytest.approx(4.0)
    rng = np.random.default_rng(0)
    Xd = rng.random((30, 20)) * (rng.random((30, 20)) < 0.3)
    Wr, Hr = rng.random((30, 4)), rng.random((4, 20))
    Xs = sp.csr_matrix(Xd).asformat(fmt)
    assert residual_sum_of_squares(Xs, Wr, Hr) == pytest.approx(
        residual_sum_of_squares(Xd, Wr, Hr), rel=1e-10)
    assert explained_variance(Xs, Wr, Hr) == pytest.approx(
        explained_variance(Xd, Wr, Hr), rel=1e-10)


def test_sparse_x_is_never_densified(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("X was densified")
    Xs = sp.csr_matrix(X)
    monkeypatch.setattr(sp.csr_matrix, "toarray", refuse)
    monkeypatch.setattr(sp.csr_matrix, "todense", refuse)
    assert residual_sum_of_squares(Xs, W, H) == pytest.approx(4.0)


def test_duplicate_sparse_entries_are_summed():
    # COO with X[0, 0] = 0.5 + 0.5 stored twice: the same as X.
    coo = sp.coo_matrix(([0.5, 0.5, 2.0, 3.0, 4.0], ([0, 0, 0, 1, 1], [0, 0, 1, 0, 1])),
                        shape=(2, 2))
    assert residual_sum_of_squares(coo, W, H) == pytest.approx(4.0)
    assert explained_variance(coo.tocsr(), W, H) == pytest.approx(1 - 4 / 30)


def test_nan_entries_are_left_out():
    Xn = np.array([[1.0, np.nan], [3.0, 4.0]])
    # Residual at the observed entries: -1, 1, 1 → 3; ‖X‖² over them: 1 + 9 + 16 = 26.
    assert residual_sum_of_squares(Xn, W, H) == pytest.approx(3.0)
    assert explained_variance(Xn, W, H) == pytest.approx(1 - 3 / 26)
    stored = sp.csr_matrix(([1.0, np.nan, 3.0, 4.0], [0, 1, 0, 1], [0, 2, 4]), shape=(2, 2))
    assert residual_sum_of_squares(stored, W, H) == pytest.approx(3.0)
    assert explained_variance(stored, W, H) == pytest.approx(1 - 3 / 26)


def test_other_inputs():
    assert residual_sum_of_squares(X.tolist(), W.tolist(), H.tolist()) == pytest.approx(4.0)
    assert residual_sum_of_squares(X.astype(np.float32), W, H) == pytest.approx(4.0)
    assert residual_sum_of_squares(X.astype(int), W, H) == pytest.approx(4.0)
    pd = pytest.importorskip("pandas")
    assert residual_sum_of_squares(pd.DataFrame(X), W, H) == pytest.approx(4.0)


@pytest.mark.parametrize("args, message", [
    ((X, W.T, H), r"W has shape \(1, 2\) but X has 2 rows.*did you pass W.T"),
    ((X, np.ones((3, 1)), H), r"W has shape \(3, 1\) but X has 2 rows"),
    ((X, W, np.ones((1, 3))), r"H has shape \(1, 3\) but X has 2 columns"),
    ((X, np.ones((2, 2)), H), r"W has 2 columns but H has 1 rows"),
    ((X, W, np.array([[2.0, np.nan]])),
     r"H has 1 NaN or infinite value\(s\) \(first at row 0, column 1\)"),
    ((np.array([[1.0, np.inf], [3.0, 4.0]]), W, H),
     r"X has 1 infinite value\(s\) \(first at row 0, column 1\)"),
    ((np.ones(4), W, H), r"X must be a 2-D matrix"),
    ((np.array([["a", "b"], ["c", "d"]]), W, H), r"X must hold numbers"),
])
def test_bad_factorization_raises(args, message):
    with pytest.raises(ValueError, match=message):
        residual_sum_of_squares(*args)


def test_explained_variance_of_zero_x_raises():
    with pytest.raises(ValueError, match=r"explained_variance: X is 0 .* undefined"):
        explained_variance(np.zeros((2, 2)), W, H)
    with pytest.raises(ValueError, match=r"‖X‖² = 0"):
        explained_variance(np.full((2, 2), np.nan), W, H)


@given(st.integers(1, 8), st.integers(1, 8), st.integers(1, 3), st.floats(0.0, 1.0),
       st.integers(0, 2**16))
def test_sparse_equals_dense_property(m, n, k, density, seed):
    rng = np.random.default_rng(seed)
    Xd = rng.random((m, n)) * (rng.random((m, n)) < density)
    Wr, Hr = rng.random((m, k)), rng.random((k, n))
    dense = residual_sum_of_squares(Xd, Wr, Hr)
    assert dense >= 0
    assert residual_sum_of_squares(sp.csr_matrix(Xd), Wr, Hr) == pytest.approx(
        dense, rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- consensus

def test_consensus_matrix_by_hand():
    # Run 1 puts {0, 1} together, run 2 puts {1, 2} together.
    C = consensus_matrix([[0, 0, 1], [0, 1, 1]])
    assert C.tolist() == [[1.0, 0.5, 0.0], [0.5, 1.0, 0.5], [0.0, 0.5, 1.0]]
    np.testing.assert_array_equal(consensus_matrix(np.array([[0, 0, 1], [0, 1, 1]])), C)
    # Cluster ids are names: relabelling a run changes nothing.
    np.testing.assert_array_equal(consensus_matrix([[5, 5, 2], [7, 3, 3]]), C)


def test_unassigned_pairs_are_not_counted():
    # Sample 0 is unassigned in run 2: its pairs count run 1 only.
    C = consensus_matrix([[0, 0, 1], [-1, 1, 1]])
    assert C.tolist() == [[1.0, 1.0, 0.0], [1.0, 1.0, 0.5], [0.0, 0.5, 1.0]]
    # A pair that no run assigns together has no consensus.
    C = consensus_matrix([[0, -1], [-1, 0]])
    assert C[0, 0] == 1.0 and C[1, 1] == 1.0 and np.isnan(C[0, 1]) and np.isnan(C[1, 0])
    with pytest.raises(ValueError, match=r"NaN entries .*no run assigned together"):
        dispersion(C)


@pytest.mark.parametrize("labels, message", [
    ([[0, 1, 1], [0, 1]], r"run 1 has 2 labels but run 0 has 3"),
    ([0, 1, 1], r"got a single vector; for one run, pass \[labels\]"),
    ([[0.0, 1.0], [1.0, 0.0]], r"must be integer cluster ids .*got dtype float64"),
    ([[0, 1], [0, -2]], r"run 1 gives sample 1 the label -2"),
    ([], r"needs at least one run"),
    (5, r"must be a sequence of label vectors"),
])
def test_bad_labels_raise(labels, message):
    with pytest.raises(ValueError, match=message):
        consensus_matrix(labels)


# Hand-worked: D = 1 − C has d01 = .2, d02 = .8, d12 = .6.  Average linkage merges {0, 1}
# at .2, then 2 at (.8 + .6)/2 = .7: cophenetic (.2, .7, .7).  In units of 1/30 the
# deviations from the common mean 16 are (-10, 8, 2) and (-10, 5, 5), so
# ρ = 150 / √(168 · 150) = √(25/28).
C3 = np.array([[1.0, 0.8, 0.2], [0.8, 1.0, 0.4], [0.2, 0.4, 1.0]])


def test_cophenetic_correlation_by_hand():
    assert cophenetic_correlation(C3) == pytest.approx(math.sqrt(25 / 28))


def test_dispersion_by_hand():
    # 4 (C − ½)²: diagonal 1 (x3), .8 and .2 give .36 (x4), .4 gives .04 (x2): 4.52 / 9.
    assert dispersion(C3) == pytest.approx(4.52 / 9)


def test_perfect_consensus():
    C = consensus_matrix([[0, 0, 1, 1, 2], [1, 1, 0, 0, 2], [2, 2, 1, 1, 0]])
    assert set(np.unique(C)) == {0.0, 1.0}
    assert cophenetic_correlation(C) == pytest.approx(1.0)
    assert dispersion(C) == 1.0


def test_uniform_consensus():
    half = np.full((4, 4), 0.5)
    assert dispersion(half) == 0.0
    # All distances equal: the tree reproduces them exactly (documented as 1.0).
    assert cophenetic_correlation(half) == 1.0
    assert cophenetic_correlation(np.ones((3, 3))) == 1.0
    assert cophenetic_correlation(np.eye(2)) == 1.0


def test_noisier_consensus_scores_lower():
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2], 10)
    noisy = [np.where(rng.random(30) < 0.3, rng.integers(0, 3, 30), truth) for _ in range(20)]
    C = consensus_matrix(noisy)
    assert 0 < dispersion(C) < 1
    assert cophenetic_correlation(C) < 1


@pytest.mark.parametrize("C, message", [
    (np.ones((2, 3)), r"must be a square n x n consensus matrix, got shape \(2, 3\)"),
    (np.array([[1.0, 0.2], [0.3, 1.0]]), r"not symmetric \(C\[0, 1\] = 0.2 but C\[1, 0\] = 0.3\)"),
    (np.array([[1.0, 1.5], [1.5, 1.0]]), r"entries outside \[0, 1\] \(first at row 0, column 1"),
    (np.ones((1, 1)), r"needs at least 2 samples"),
    (sp.eye(3), r"pass C.toarray\(\)"),
])
def test_bad_consensus_raises(C, message):
    with pytest.raises(ValueError, match=message):
        cophenetic_correlation(C)


# --------------------------------------------------------------------------- known labels
# Cluster 0 = {a, a}, cluster 1 = {a, b, b, c}.
TRUE = ["a", "a", "a", "b", "b", "c"]
PRED = [0, 0, 1, 1, 1, 1]


def test_purity_by_hand():
    assert purity(TRUE, PRED) == pytest.approx((2 + 2) / 6)
    assert purity(TRUE, TRUE) == 1.0
    assert purity(TRUE, ["x"] * 6) == pytest.approx(3 / 6)


def test_entropy_by_hand():
    # Cluster 0 is pure (0); cluster 1 has shares ¼, ½, ¼: −Σ p log p = 1.5 log 2, over
    # log 3 classes; weighted 4/6: (2/3)(1.5 log 2 / log 3) = log 2 / log 3.
    assert entropy(TRUE, PRED) == pytest.approx(math.log(2) / math.log(3))
    assert entropy(TRUE, TRUE) == 0.0
    assert entropy(["a", "b", "c"], ["x", "x", "x"]) == pytest.approx(1.0)
    assert entropy(["a", "a"], [0, 1]) == 0.0  # one class


def test_labels_of_any_hashable_type():
    as_ints = [0, 0, 0, 1, 1, 2]
    assert purity(TRUE, PRED) == purity(as_ints, PRED)
    assert entropy(np.array(TRUE), [("p", 0)] * 2 + [("p", 1)] * 4) == entropy(TRUE, PRED)
    # 1 is not "1": cluster 1 = {"1", 1} is mixed, so (1 + 1) / 4, not (1 + 2) / 4.
    assert purity(["a", 1, "1", 1], [0, 0, 1, 1]) == pytest.approx(2 / 4)


def test_adjusted_rand_index_by_hand():
    # Contingency [[2, 0, 0], [0, 1, 1]]: Σ C(n_ij, 2) = 1, rows 2, columns 1, C(4, 2) = 6;
    # expected 2·1/6 = 1/3, maximum (2 + 1)/2: ARI = (1 − 1/3) / (3/2 − 1/3) = 4/7.
    assert adjusted_rand_index([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(4 / 7)
    assert adjusted_rand_index(["a", "a", "b", "b"], ["y", "y", "x", "x"]) == 1.0


@pytest.mark.parametrize("measure", [purity, entropy, adjusted_rand_index])
def test_mismatched_labels_raise(measure):
    with pytest.raises(ValueError, match=r"labels_true has 3 labels but labels_pred has 2"):
        measure(["a", "b", "c"], [0, 1])
    with pytest.raises(ValueError, match=r"empty"):
        measure([], [])
    with pytest.raises(ValueError, match=r"labels_pred must be a 1-D sequence"):
        measure([0, 1], np.array([[0, 1], [1, 0]]))
    with pytest.raises(ValueError, match=r"labels_pred must .* hashable labels; it holds a list"):
        measure([0, 1], [[0, 1], [1, 0]])


# --------------------------------------------------------------------- two factorizations

def test_match_components_by_hand():
    A = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    B = np.array([[3.0, 2.0, 1.0], [2.0, 4.0, 6.0]])  # correlations [[-1, 1], [1, -1]]
    permutation, correlations = match_components(A, B)
    assert permutation.tolist() == [1, 0]
    np.testing.assert_allclose(correlations, [1.0, 1.0])
    assert factor_similarity(A, B) == pytest.approx(1.0)


def test_match_components_recovers_a_permutation_under_noise():
    rng = np.random.default_rng(0)
    A = rng.random((6, 200)) ** 3
    order = np.array([3, 5, 0, 1, 4, 2])  # B's row j is A's row order[j]
    B = 2.0 * A[order] + 0.05 * rng.random((6, 200))
    permutation, correlations = match_components(A, B)
    np.testing.assert_array_equal(permutation, np.argsort(order))
    np.testing.assert_array_equal(order[permutation], np.arange(6))
    assert (correlations > 0.95).all()
    assert 0.95 < factor_similarity(A, B) <= 1.0
    assert factor_similarity(A, rng.random((6, 200))) < 0.5


def test_constant_rows_correlate_zero():
    A = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]])
    B = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])  # correlations [[0, 0], [1, 0]]
    permutation, correlations = match_components(A, B)
    assert permutation.tolist() == [1, 0]
    np.testing.assert_allclose(correlations, [0.0, 1.0])
    assert factor_similarity(A, B) == pytest.approx(0.5)
    # A row of 0.1s, whose mean is not exactly 0.1, is still constant.
    assert match_components(np.full((1, 7), 0.1), np.arange(7.0).reshape(1, -1))[1] == 0.0


def test_different_numbers_of_components():
    A = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0], [1.0, 3.0, 2.0, 4.0]])
    permutation, correlations = match_components(A, A[[2, 0]])
    assert permutation.tolist() == [1, -1, 0]
    np.testing.assert_allclose(correlations, [1.0, 1.0])
    permutation, correlations = match_components(A[[2, 0]], A)
    assert permutation.tolist() == [2, 0]
    assert len(correlations) == 2


@pytest.mark.parametrize("A, B, message", [
    (np.ones((2, 3)), np.ones((2, 4)), r"A has shape \(2, 3\) and B has shape \(2, 4\).*pass W.T"),
    (np.ones(3), np.ones((2, 3)), r"A must be 2-D, components as rows"),
    (np.ones((2, 3)), np.empty((0, 3)), r"B has no components"),
    (np.array([[1.0, np.nan]]), np.ones((1, 2)), r"A has 1 NaN or infinite value"),
    (sp.eye(3).tocsr(), np.eye(3), r"A is sparse.*pass A.toarray\(\)"),
])
def test_bad_factors_raise(A, B, message):
    with pytest.raises(ValueError, match=message):
        match_components(A, B)
    with pytest.raises(ValueError, match=message):
        factor_similarity(A, B)


def test_sparseness_of_a_dataframe_is_that_of_its_values():
    """Regression: a DataFrame was taken for a CuPy array (both have ``.get``)."""
    import pandas as pd

    from nmfkit.metrics import sparseness

    M = np.array([[1.0, 0.0], [1.0, 1.0]])
    frame = pd.DataFrame(M, index=["a", "b"], columns=["x", "y"])
    np.testing.assert_array_equal(sparseness(frame, axis=1), sparseness(M, axis=1))
