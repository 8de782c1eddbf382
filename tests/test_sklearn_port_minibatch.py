"""scikit-learn's own MiniBatchNMF tests, run against nmfkit.MiniBatchNMF.

A port of the MiniBatchNMF cases of ``sklearn/decomposition/tests/test_nmf.py`` as
shipped in scikit-learn 1.9.1's wheel (the NMF cases are in tests/test_sklearn_port.py),
with every assertion and tolerance kept.  Where nmfkit departs from scikit-learn on
purpose, the case is changed and a comment at the change says why:

- ``fit_transform`` returns W solved for the final H as ``transform`` solves it (where
  scikit-learn returns each row's W from its last mini-batch step), so that
  ``fit_transform(X)`` and ``fit(X).transform(X)`` agree, as scikit-learn's estimator
  checks require; with ``fresh_restarts=True`` both libraries do this.  The components
  are scikit-learn's (``test_nmf_minibatchnmf_equivalence`` compares them, and
  tests/test_minibatch.py compares them with scikit-learn's MiniBatchNMF directly);
- a custom W or H of another dtype than X is cast to X's, not refused
  (``test_nmf_custom_init_dtype_error``);
- error and warning messages are nmfkit's (``test_parameter_checking``,
  ``test_minibatch_nmf_negative_beta_loss``, ``test_convergence_warning``): each case
  matches the part that says the same thing;
- ``test_minibatch_nmf_partial_fit`` compares partial_fit with fit on the same
  batches (scikit-learn's version holds through an aliased H; the case says how);
- ``n_components_`` is read where scikit-learn's test reads its private
  ``_n_components`` (``test_nmf_n_components_auto``).

scikit-learn's ``_nmf._initialize_nmf`` maps to :func:`nmfkit.init.initialize`.
"""
import re
import sys
from io import StringIO

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from scipy import linalg
from sklearn.base import clone
from sklearn.decomposition import NMF as SklearnNMF
from sklearn.exceptions import ConvergenceWarning

from nmfkit import MiniBatchNMF
from nmfkit.init import initialize

CSR = [sp.csr_matrix, sp.csr_array]
CSC = [sp.csc_matrix, sp.csc_array]


def test_convergence_warning():
    # nmfkit's warning says more than scikit-learn's ("... reached before the objective
    # stopped decreasing (tol=...); increase max_iter ..."): its start is matched.
    A = np.ones((2, 2))
    with pytest.warns(ConvergenceWarning, match="Maximum number of iterations 1 reached"):
        MiniBatchNMF(max_iter=1, n_components="auto").fit(A)


def test_parameter_checking():
    A = np.ones((2, 2))
    for init in ["nndsvd", "nndsvda", "nndsvdar"]:
        # Same rule, nmfkit's wording ("init='nndsvd'" where scikit-learn writes
        # "init = 'nndsvd'").
        msg = re.escape(f"init='{init}' can only be used when "
                        "n_components <= min(n_samples, n_features)")
        with pytest.raises(ValueError, match=msg):
            MiniBatchNMF(3, init=init).fit(A)


@pytest.mark.parametrize("init", (None, "nndsvd", "nndsvda", "nndsvdar", "random"))
@pytest.mark.parametrize("alpha_W", (0.0, 1.0))
@pytest.mark.parametrize("alpha_H", (0.0, 1.0, "same"))
def test_nmf_fit_nn_output(init, alpha_W, alpha_H):
    A = np.c_[5.0 - np.arange(1, 6), 5.0 + np.arange(1, 6)]
    model = MiniBatchNMF(n_components=2, init=init, alpha_W=alpha_W, alpha_H=alpha_H,
                         random_state=0)
    transf = model.fit_transform(A)
    assert not ((model.components_ < 0).any() or (transf < 0).any())


def test_nmf_fit_close():
    rng = np.random.mtrand.RandomState(42)
    pnmf = MiniBatchNMF(5, init="nndsvdar", random_state=0, max_iter=600)
    X = np.abs(rng.randn(6, 5))
    assert pnmf.fit(X).reconstruction_err_ < 0.1


def test_nmf_true_reconstruction():
    n_samples, n_features, n_components = 15, 10, 5
    beta_loss, batch_size, max_iter = 1, 3, 1000
    rng = np.random.mtrand.RandomState(42)
    W_true = np.zeros([n_samples, n_components])
    W_array = np.abs(rng.randn(n_samples))
    for j in range(n_components):
        W_true[j % n_samples, j] = W_array[j % n_samples]
    H_true = np.zeros([n_components, n_features])
    H_array = np.abs(rng.randn(n_components))
    for j in range(n_features):
        H_true[j % n_components, j] = H_array[j % n_components]
    X = np.dot(W_true, H_true)

    mbmodel = MiniBatchNMF(n_components=n_components, beta_loss=beta_loss,
                           batch_size=batch_size, random_state=0, max_iter=max_iter)
    transf = mbmodel.fit_transform(X)
    X_calc = np.dot(transf, mbmodel.components_)
    assert mbmodel.reconstruction_err_ < 0.1
    assert_allclose(X, X_calc, atol=1)


def test_minibatch_nmf_transform():
    rng = np.random.mtrand.RandomState(42)
    A = np.abs(rng.randn(6, 5))
    m = MiniBatchNMF(n_components=3, random_state=0, tol=1e-3, fresh_restarts=True)
    ft = m.fit_transform(A)
    t = m.transform(A)
    assert_allclose(ft, t)
    # nmfkit: without fresh restarts too.
    m = MiniBatchNMF(n_components=3, random_state=0, tol=1e-3)
    assert_allclose(m.fit_transform(A), m.transform(A))


def test_nmf_transform_custom_init():
    random_state = np.random.RandomState(0)
    A = np.abs(random_state.randn(6, 5))
    n_components = 4
    avg = np.sqrt(A.mean() / n_components)
    H_init = np.abs(avg * random_state.randn(n_components, 5))
    W_init = np.abs(avg * random_state.randn(6, n_components))
    m = MiniBatchNMF(n_components=n_components, init="custom", random_state=0, tol=1e-3)
    m.fit_transform(A, W=W_init, H=H_init)
    m.transform(A)


def test_mbnmf_inverse_transform():
    rng = np.random.RandomState(0)
    A = np.abs(rng.randn(6, 4))
    nmf = MiniBatchNMF(random_state=rng, max_iter=500, init="nndsvdar", fresh_restarts=True)
    ft = nmf.fit_transform(A)
    A_new = nmf.inverse_transform(ft)
    assert_allclose(A, A_new, rtol=1e-3, atol=1e-2)


def test_n_components_greater_n_features():
    rng = np.random.mtrand.RandomState(42)
    A = np.abs(rng.randn(30, 10))
    MiniBatchNMF(n_components=15, random_state=0, tol=1e-2).fit(A)


@pytest.mark.parametrize("sparse_container", CSC + CSR)
@pytest.mark.parametrize("alpha_W", (0.0, 1.0))
@pytest.mark.parametrize("alpha_H", (0.0, 1.0, "same"))
def test_nmf_sparse_input(sparse_container, alpha_W, alpha_H):
    rng = np.random.mtrand.RandomState(42)
    A = np.abs(rng.randn(10, 10))
    A[:, 2 * np.arange(5)] = 0
    A_sparse = sparse_container(A)
    est1 = MiniBatchNMF(n_components=5, init="random", alpha_W=alpha_W, alpha_H=alpha_H,
                        random_state=0, tol=0, max_iter=100)
    est2 = clone(est1)
    W1 = est1.fit_transform(A)
    W2 = est2.fit_transform(A_sparse)
    assert_allclose(W1, W2)
    assert_allclose(est1.components_, est2.components_)


@pytest.mark.parametrize("csc_container", CSC)
def test_nmf_sparse_transform(csc_container):
    rng = np.random.mtrand.RandomState(42)
    A = np.abs(rng.randn(3, 2))
    A[1, 1] = 0
    A = csc_container(A)
    model = MiniBatchNMF(random_state=0, n_components=2, max_iter=400)
    A_fit_tr = model.fit_transform(A)
    A_tr = model.transform(A)
    assert_allclose(A_fit_tr, A_tr, atol=1e-1)


@pytest.mark.parametrize("beta_loss", [-0.5, 0.0])
def test_minibatch_nmf_negative_beta_loss(beta_loss):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(6, 5))
    X[X < 0] = 0
    nmf = MiniBatchNMF(beta_loss=beta_loss, random_state=0)
    # nmfkit's message says the divergence is undefined where X = 0, with the count and
    # the first zero, and what to do (scikit-learn: "When beta_loss <= 0 and X contains
    # zeros, the solver may diverge.").
    with pytest.raises(ValueError, match="divergence is undefined where X = 0"):
        nmf.fit(X)


def test_nmf_regularization():
    n_samples, n_features, n_components = 6, 5, 3
    rng = np.random.mtrand.RandomState(42)
    X = np.abs(rng.randn(n_samples, n_features))

    l1_ratio = 1.0
    regul = MiniBatchNMF(n_components=n_components, alpha_W=0.5, l1_ratio=l1_ratio,
                         random_state=42)
    model = MiniBatchNMF(n_components=n_components, alpha_W=0.0, l1_ratio=l1_ratio,
                         random_state=42)
    W_regul = regul.fit_transform(X)
    W_model = model.fit_transform(X)
    H_regul, H_model = regul.components_, model.components_
    eps = np.finfo(np.float64).eps
    assert W_regul[W_regul <= eps].size > W_model[W_model <= eps].size
    assert H_regul[H_regul <= eps].size > H_model[H_model <= eps].size

    l1_ratio = 0.0
    regul = MiniBatchNMF(n_components=n_components, alpha_W=0.5, l1_ratio=l1_ratio,
                         random_state=42)
    model = MiniBatchNMF(n_components=n_components, alpha_W=0.0, l1_ratio=l1_ratio,
                         random_state=42)
    W_regul = regul.fit_transform(X)
    W_model = model.fit_transform(X)
    H_regul, H_model = regul.components_, model.components_
    assert (linalg.norm(W_model)) ** 2.0 + (linalg.norm(H_model)) ** 2.0 > (
        linalg.norm(W_regul)) ** 2.0 + (linalg.norm(H_regul)) ** 2.0


@pytest.mark.parametrize("dtype_in, dtype_out", [
    (np.float32, np.float32), (np.float64, np.float64),
    (np.int32, np.float64), (np.int64, np.float64)])
def test_nmf_dtype_match(dtype_in, dtype_out):
    X = np.random.RandomState(0).randn(20, 15).astype(dtype_in, copy=False)
    np.abs(X, out=X)
    nmf = MiniBatchNMF(alpha_W=1.0, alpha_H=1.0, tol=1e-2, random_state=0)
    assert nmf.fit(X).transform(X).dtype == dtype_out
    assert nmf.fit_transform(X).dtype == dtype_out
    assert nmf.components_.dtype == dtype_out


def test_nmf_float32_float64_consistency():
    X = np.random.RandomState(0).randn(50, 7)
    np.abs(X, out=X)
    nmf32 = MiniBatchNMF(random_state=0, tol=1e-3)
    W32 = nmf32.fit_transform(X.astype(np.float32))
    nmf64 = MiniBatchNMF(random_state=0, tol=1e-3)
    W64 = nmf64.fit_transform(X)
    assert_allclose(W32, W64, atol=1e-5)


def test_nmf_custom_init_dtype_error():
    # scikit-learn refuses a custom W or H of another dtype than X (TypeError "should
    # have the same dtype as X"); nmfkit casts them to X's dtype and fits in X's dtype.
    rng = np.random.RandomState(0)
    X = rng.random_sample((20, 15))
    H = rng.random_sample((15, 15)).astype(np.float32)
    W = rng.random_sample((20, 15))
    model = MiniBatchNMF(init="custom", max_iter=5).fit(X, H=H, W=W)
    assert model.components_.dtype == np.float64


@pytest.mark.parametrize("beta_loss", [-0.5, 0, 0.5, 1, 1.5, 2, 2.5])
def test_nmf_minibatchnmf_equivalence(beta_loss):
    # MiniBatchNMF with one batch of all rows and forget_factor 0 is plain MU.  nmfkit's
    # NMF(solver='mu') accelerates MU (repeated inner updates, extrapolation), so the
    # reference is scikit-learn's NMF(solver='mu'); and nmfkit's fit_transform returns W
    # solved for the final H (module docstring), so the factors compared are the H's.
    rng = np.random.mtrand.RandomState(42)
    X = np.abs(rng.randn(48, 5))
    nmf = SklearnNMF(n_components=5, beta_loss=beta_loss, solver="mu", random_state=0, tol=0)
    mbnmf = MiniBatchNMF(n_components=5, beta_loss=beta_loss, random_state=0, tol=0,
                         max_no_improvement=None, batch_size=X.shape[0], forget_factor=0.0)
    nmf.fit_transform(X)
    mbnmf.fit_transform(X)
    assert_allclose(nmf.components_, mbnmf.components_)


def test_minibatch_nmf_partial_fit():
    # scikit-learn's case fits with fresh_restarts=False and calls partial_fit on ten
    # overlapping windows X[j:j + 10]; its components agree only because its fit writes
    # into the caller's H and both models end up holding that one array (checked on
    # scikit-learn 1.9.1: ``mbnmf1.components_ is mbnmf2.components_``).  nmfkit copies
    # the start, so the case compares what is equivalent: partial_fit on the batches fit
    # uses, with fresh restarts (partial_fit solves each batch's W afresh) and the same
    # forgetting per step (forget_factor 1: partial_fit's ρ comes from its first chunk).
    rng = np.random.mtrand.RandomState(42)
    X = np.abs(rng.randn(100, 5))
    n_components, batch_size, max_iter = 5, 10, 2
    mbnmf1 = MiniBatchNMF(n_components=n_components, init="custom", random_state=0,
                          max_iter=max_iter, batch_size=batch_size, tol=0,
                          max_no_improvement=None, fresh_restarts=True, forget_factor=1.0)
    mbnmf2 = MiniBatchNMF(n_components=n_components, init="custom", random_state=0,
                          forget_factor=1.0)
    W, H = initialize(X, n_components, "random", random_state=0)
    mbnmf1.fit(X, W=W, H=H)
    for i in range(max_iter):
        for j in range(0, X.shape[0], batch_size):
            mbnmf2.partial_fit(X[j: j + batch_size], W=W[:batch_size], H=H)
    assert mbnmf1.n_steps_ == mbnmf2.n_steps_
    assert_allclose(mbnmf1.components_, mbnmf2.components_)


def test_minibatch_nmf_verbose():
    A = np.random.RandomState(0).random_sample((100, 10))
    nmf = MiniBatchNMF(tol=1e-2, random_state=0, verbose=1)
    old_stdout = sys.stdout
    sys.stdout = StringIO()
    try:
        nmf.fit(A)
    finally:
        sys.stdout = old_stdout


def test_nmf_n_components_auto():
    rng = np.random.RandomState(0)
    X = rng.random_sample((6, 5))
    W = rng.random_sample((6, 2))
    H = rng.random_sample((2, 5))
    est = MiniBatchNMF(n_components="auto", init="custom", random_state=0, tol=1e-6)
    est.fit_transform(X, W=W, H=H)
    assert est.n_components_ == H.shape[0]


def test_nmf_w_h_not_used_warning():
    # scikit-learn checks this through non_negative_factorization (NMF); the estimator
    # gives the same warning.
    rng = np.random.RandomState(0)
    X = rng.random_sample((6, 5))
    W_init = rng.random_sample((6, 2))
    H_init = rng.random_sample((2, 5))
    with pytest.warns(RuntimeWarning, match="When init!='custom', provided W or H are ignored"):
        MiniBatchNMF(n_components="auto", max_iter=5).fit(X, H=H_init)
    with pytest.warns(RuntimeWarning, match="When init!='custom', provided W or H are ignored"):
        MiniBatchNMF(n_components="auto", max_iter=5).fit(X, W=W_init, H=H_init)
