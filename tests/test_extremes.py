"""Numerical extremes (issue 23): no NaN or infinity in any factor, loss or error, for
every solver and loss, on data from 1e-30 to 1e30 (float64 and float32), rank 1 and rank
min(m, n), a single row or column, duplicate rows, a sparse matrix with one stored entry
and a fully dense one."""
import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit import NMF
from nmfkit._validation import float32_holds

_rng = np.random.default_rng(0)
_base = _rng.random((12, 9))
DATA = {
    "tiny 1e-30": _base * 1e-30,
    "huge 1e30": _base * 1e30,
    "spread 1e-30 to 1e30": _base * 10.0 ** _rng.integers(-30, 31, _base.shape),
    "float32 tiny": (_base * 1e-30).astype(np.float32),
    "float32 huge": (_base * 1e30).astype(np.float32),
    "single row": _base[:1],
    "single column": _base[:, :1],
    "duplicate rows": np.vstack([_base[:1]] * 6),
    "one stored entry": sp.csr_matrix(([2.0], ([3], [4])), shape=(12, 9)),
    "fully dense": _base + 1,
}
FITS = [(s, "frobenius") for s in ("hals", "mu", "anls", "pgd", "als")] + [
    ("auto", "kullback-leibler"), ("mu", "kullback-leibler"), ("mu", 1.5),
    ("mu", "itakura-saito")]


@pytest.mark.parametrize("data, fit", list(itertools.product(DATA, FITS)),
                         ids=[f"{d}-{s}-{b}" for d, (s, b) in itertools.product(DATA, FITS)])
def test_factors_and_losses_stay_finite(data, fit):
    X = DATA[data]
    solver, loss = fit
    for k in sorted({1, min(X.shape)}):
        model = NMF(k, solver=solver, beta_loss=loss, max_iter=50, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                W = model.fit_transform(X)
            except ValueError as error:  # Itakura-Saito is undefined where X = 0
                assert loss == "itakura-saito" and "X = 0" in str(error)
                continue
        assert np.isfinite(W).all() and np.isfinite(model.components_).all()
        assert np.isfinite(model.reconstruction_err_)
        assert np.isfinite(model.loss_curve_["loss"]).all()


def test_float32_beyond_its_range_is_fitted_in_float64():
    assert float32_holds(np.ones((5, 5), np.float32))
    assert not float32_holds(DATA["float32 huge"]) and not float32_holds(DATA["float32 tiny"])
    model = NMF(2, max_iter=50, random_state=0).fit(DATA["float32 huge"])
    assert model.components_.dtype == np.float64
    assert NMF(2, max_iter=5).fit(_base.astype(np.float32)).components_.dtype == np.float32
    # masked: the census' largest entry decides it, NaN aside
    from nmfkit._validation import as_matrix

    for X, dtype in ((DATA["float32 huge"], np.float64), (_base.astype(np.float32), np.float32)):
        X = X.copy()
        X[0, 0] = np.nan
        checked, census = as_matrix(NMF(2), X, reset=True, allow_nan=True, with_census=True)
        assert checked.dtype == dtype and census.unobserved == 1


@pytest.mark.parametrize("solver", ["mu", "als", "anls"])
def test_a_rank_deficient_float32_gram_is_solved(solver):
    """Regression (found by tests/test_fuzz.py): one non-zero in a float32 X with k = 3
    made the k x k system exactly singular, as the ridge that keeps it invertible was
    below float32's rounding."""
    X = np.zeros((4, 8), np.float32)
    X[3, 5] = 0.9699254
    model = NMF(3, solver=solver, max_iter=1, tol=0, random_state=1).fit(X)
    assert np.isfinite(model.components_).all()
