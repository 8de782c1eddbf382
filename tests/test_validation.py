"""Every documented bad input raises its documented error before any work."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

import nmfkit


@pytest.fixture
def X():
    return np.random.default_rng(0).random((10, 8))


def test_negative_entries_report_count_position_and_advice(X):
    X = X.copy()
    X[4, 7] = -0.2
    X[6, 1] = -1.0
    with pytest.raises(ValueError, match="Negative values in data") as info:
        nmfkit.NMF(2).fit(X)
    message = str(info.value)
    assert "2 negative entries" in message
    assert "row 4, column 7" in message and "-0.2" in message
    assert "clip" in message and "missing='mask'" in message


def test_negative_entries_in_sparse_input():
    X = sp.random(20, 15, density=0.3, random_state=0, format="csr")
    X.data[5] = -3.0
    row, col = X.tocoo().row[5], X.tocoo().col[5]
    with pytest.raises(ValueError, match=f"1 negative entry .first at row {row}, column {col}"):
        nmfkit.NMF(2).fit(X)


@pytest.mark.parametrize("value,kind", [(np.nan, "NaN"), (np.inf, "infinite"), (-np.inf, "infinite")])
def test_nan_and_infinity(X, value, kind):
    X = X.copy()
    X[2, 3] = value
    with pytest.raises(ValueError, match=f"1 {kind} value.*row 2, column 3"):
        nmfkit.NMF(2).fit(X)


def test_empty_input():
    with pytest.raises(ValueError, match="0 sample"):
        nmfkit.NMF(2).fit(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="0 feature"):
        nmfkit.NMF(2).fit(np.zeros((4, 0)))


def test_non_numeric_input():
    with pytest.raises(ValueError, match="could not convert.*NMF needs numeric X"):
        nmfkit.NMF(1).fit(np.array([["a", "b"], ["c", "d"]]))
    df = pd.DataFrame({"x": [1.0, 2.0], "name": ["a", "b"]})
    with pytest.raises(ValueError, match="numeric"):
        nmfkit.NMF(1).fit(df)


def test_one_dimensional_input():
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        nmfkit.NMF(1).fit(np.arange(5.0))


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_n_components_below_one(X, bad):
    with pytest.raises(ValueError, match="n_components"):
        nmfkit.NMF(bad).fit(X)


def test_n_components_larger_than_svd_init_allows(X):
    with pytest.raises(ValueError, match=r"n_components <= min\(n_samples, n_features\) = 8"):
        nmfkit.NMF(9, init="nndsvda").fit(X)
    # With a random start a rank above min(m, n) is a valid (if unusual) request.
    assert nmfkit.NMF(9, init="random", random_state=0, max_iter=5).fit(X).n_components_ == 9


def test_transform_with_wrong_number_of_columns(X):
    model = nmfkit.NMF(2, max_iter=10).fit(X)
    with pytest.raises(ValueError, match="X has 5 features, but NMF is expecting 8 features"):
        model.transform(X[:, :5])


def test_transform_before_fit(X):
    with pytest.raises(NotFittedError):
        nmfkit.NMF(2).transform(X)


@pytest.mark.parametrize("param,value,valid", [
    ("solver", "newton", "'hals'"),
    ("init", "svd", "'nndsvda'"),
    ("beta_loss", "poisson", "'kullback-leibler'"),
    ("missing", "ignore", "'mask'"),
    ("orthogonal", "both", "'H'"),
])
def test_unknown_parameter_values_list_the_valid_ones(X, param, value, valid):
    with pytest.raises(ValueError, match=f"The '{param}' parameter of NMF must be") as info:
        nmfkit.NMF(2, **{param: value}).fit(X)
    assert valid in str(info.value)


def test_custom_init_with_wrong_shapes(X):
    W0, H0 = np.ones((10, 3)), np.ones((2, 8))
    with pytest.raises(ValueError, match=r"H has shape \(2, 8\), expected \(3, 8\)"):
        nmfkit.NMF(3, init="custom").fit(X, W=W0, H=H0)
    with pytest.raises(ValueError, match="needs both W and H"):
        nmfkit.NMF(3, init="custom").fit(X, H=np.ones((3, 8)))


def test_custom_init_with_negative_factor(X):
    with pytest.raises(ValueError, match="custom init W"):
        nmfkit.NMF(2, init="custom").fit(X, W=-np.ones((10, 2)), H=np.ones((2, 8)))


def test_complex_input(X):
    with pytest.raises(ValueError, match="Complex data not supported"):
        nmfkit.NMF(2).fit(X + 1j)


def test_gpu_device_is_not_silently_ignored(X):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: device='cuda' runs (tests/test_device.py)")
    with pytest.raises(ValueError, match="device='cuda' but PyTorch sees no CUDA GPU"):
        nmfkit.NMF(2, device="cuda").fit(X)


def test_sparse_negative_report_names_the_value_at_the_reported_position():
    X = np.ones((6, 5))
    X[5, 0], X[0, 3] = -7.0, -2.0
    # CSC stores (5, 0) before (0, 3); the message reports the first in row order.
    with pytest.raises(ValueError, match=r"first at row 0, column 3, value -2\)"):
        nmfkit.NMF(2).fit(sp.csc_matrix(X))


def test_sparse_validation_does_not_copy_the_coordinates(monkeypatch):
    X = sp.random(200, 100, density=0.1, random_state=0, format="csr")

    def refuse(*args, **kwargs):
        raise AssertionError("validation converted X to COO")

    monkeypatch.setattr(sp.csr_matrix, "tocoo", refuse)
    with pytest.raises(AssertionError):  # the guard is live on this X
        X.tocoo()
    model = nmfkit.NMF(2, max_iter=5).fit(X)
    assert model.components_.shape == (2, 100)


@pytest.mark.parametrize("bad, message", [(-1.0, "Negative values"), (np.inf, "infinite"),
                                          (-np.inf, "infinite")])
def test_masked_fit_still_rejects_negative_and_infinite_entries_among_nan(bad, message):
    """With NaN allowed (missing='mask') the reductions that skip NaN must not skip the
    other bad values: a negative or infinite entry beside NaN is named."""
    X = np.random.default_rng(0).random((6, 5))
    X[0, 1] = np.nan
    X[3, 2] = bad
    with pytest.raises(ValueError, match=message) as caught:
        nmfkit.NMF(2, missing="mask").fit(X)
    assert "row 3, column 2" in str(caught.value)
    X[3, 2] = np.nan  # all-NaN lines aside, NaN alone passes
    nmfkit.NMF(2, missing="mask", max_iter=5).fit(X)


def test_masked_fit_names_a_row_and_a_column_with_no_observed_entry():
    X = np.random.default_rng(0).random((6, 5))
    X[2] = np.nan
    with pytest.raises(ValueError, match="1 row.*first: row 2"):
        nmfkit.NMF(2, missing="mask").fit(X)
    X = np.random.default_rng(0).random((6, 5))
    X[:, 4] = np.nan
    with pytest.raises(ValueError, match="1 column.*first: column 4"):
        nmfkit.NMF(2, missing="mask").fit(X)
