"""scikit-learn's own NMF tests, run against nmfkit.

A port of the test cases of ``sklearn/decomposition/tests/test_nmf.py`` as shipped in
scikit-learn 1.9.1's wheel: every NMF case, with every assertion and tolerance kept.
Where nmfkit departs from scikit-learn on purpose, the case is changed and a comment at
the change says why (for users: the guide's "Coming from scikit-learn"):

- an exact fit ends without a ConvergenceWarning (``test_convergence_warning``), and
  at once, with entries of WH at the zeros of X tiny rather than exactly 0
  (``test_nmf_true_reconstruction``);
- a custom W or H of another dtype than X is cast to X's, not refused
  (``test_nmf_custom_init_dtype_error``);
- 'cd' fits KL too (``test_parameter_checking``), and error messages are nmfkit's
  (``test_parameter_checking``, ``test_non_negative_factorization_checking``,
  ``test_nmf_negative_beta_loss``, ``test_nmf_custom_init_shape_error``): each case
  matches the part that says the same thing;
- scikit-learn's filters of its warning that 'mu' cannot update zeros of the start are
  dropped: nmfkit does not emit it.

Known failures, marked ``xfail(strict=True)`` with the reason: the β-continuity check of
``test_nmf_multiplicative_update_sparse`` at β = 2 and 2.5 (split out as
``test_nmf_multiplicative_update_continuous_in_beta``), and
``test_nmf_float32_float64_consistency``.

scikit-learn's private helpers map to nmfkit's public equivalents:

- ``_nmf._initialize_nmf``   → :func:`nmfkit.init.initialize`;
- ``_nmf._beta_divergence``  → :func:`nmfkit.objectives.beta_divergence`;
- ``non_negative_factorization(X, W, H, ..., update_H=True)`` → ``NMF(...).fit_transform(
  X, W=W, H=H)`` (what scikit-learn's function runs), through :func:`factorize` below.

Not applicable (no nmfkit equivalent):

- ``test_special_sparse_dot``: tests the private ``_special_sparse_dot``; nmfkit's WH at
  the stored entries of a sparse X is private too (tests/test_beta.py covers it through
  the divergence and the fits);
- ``test_nmf_n_components_auto_no_h_update``, and the ``update_H=False`` calls of
  ``test_non_negative_factorization_consistency``, ``test_nmf_custom_init_dtype_error``
  and ``test_nmf_w_h_not_used_warning``: nmfkit has no public fit with H fixed (its
  equivalent, ``NMF.transform``, is what those calls are compared with);
- the ``_initialize_nmf`` calls of ``test_parameter_checking``: ``nmfkit.init.initialize``
  takes X as the estimator validated it and does not check it again (the estimator's
  checks of the same input are kept).

The ``MiniBatchNMF`` cases (``test_minibatch_nmf_transform``,
``test_mbnmf_inverse_transform``, ``test_minibatch_nmf_negative_beta_loss``,
``test_nmf_minibatchnmf_equivalence``, ``test_minibatch_nmf_partial_fit``,
``test_minibatch_nmf_verbose``, and the MiniBatchNMF halves of ``test_parameter_checking``
and ``test_nmf_true_reconstruction``) are ported in ``tests/test_sklearn_port_minibatch.py``.
"""
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import (
    assert_allclose,
    assert_almost_equal,
    assert_array_almost_equal,
    assert_array_equal,
)
from scipy import linalg
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from nmfkit import NMF
from nmfkit.init import initialize
from nmfkit.objectives import beta_divergence

CSR = [sp.csr_matrix, sp.csr_array]
CSC = [sp.csc_matrix, sp.csc_array]
#: scikit-learn's two NMF solvers; nmfkit's 'cd' is HALS, scikit-learn's coordinate descent.
SOLVERS = ["cd", "mu"]

def factorize(X, W=None, H=None, n_components="auto", *, init=None, solver="cd",
              beta_loss="frobenius", tol=1e-4, max_iter=200, alpha_W=0.0, alpha_H="same",
              l1_ratio=0.0, random_state=None, verbose=0, shuffle=False):
    """scikit-learn's ``non_negative_factorization`` (with ``update_H=True``, its
    defaults) on nmfkit's public API: ``(W, H, n_iter)``."""
    model = NMF(n_components=n_components, init=init, solver=solver, beta_loss=beta_loss,
                tol=tol, max_iter=max_iter, alpha_W=alpha_W, alpha_H=alpha_H,
                l1_ratio=l1_ratio, random_state=random_state, verbose=verbose,
                shuffle=shuffle)
    W = model.fit_transform(X, W=W, H=H)
    return W, model.components_, model.n_iter_


@pytest.mark.parametrize("solver", SOLVERS)
def test_convergence_warning(solver):
    # Two departures.  nmfkit ends an exact fit without a warning (more iterations
    # cannot improve it), and scikit-learn's A = np.ones((2, 2)) is fitted exactly at
    # the first iteration; so A is a matrix one iteration cannot fit.  nmfkit's warning
    # says more than scikit-learn's ("... reached before the objective stopped
    # decreasing (tol=...); increase max_iter ..."): its start is matched.
    A = np.abs(np.random.RandomState(0).randn(6, 5))
    with pytest.warns(ConvergenceWarning, match="Maximum number of iterations 1 reached"):
        NMF(max_iter=1, n_components="auto", solver=solver).fit(A)
    model = NMF(max_iter=1, n_components="auto", solver=solver).fit(np.ones((2, 2)))
    assert model.stop_reason_ == "exact fit"


def test_initialize_nn_output():
    rng = np.random.mtrand.RandomState(42)
    data = np.abs(rng.randn(10, 10))
    for init in ("random", "nndsvd", "nndsvda", "nndsvdar"):
        W, H = initialize(data, 10, init, random_state=0)
        assert not ((W < 0).any() or (H < 0).any())


def test_parameter_checking():
    A = np.ones((2, 2))
    # nmfkit's 'cd' fits KL too (Newton coordinate descent answers to it), so the case
    # scikit-learn refuses is a β 'cd' does not fit; nmfkit's message names the solvers
    # that do.
    with pytest.raises(ValueError, match=re.escape(
            "solver='cd' fits frobenius, kullback-leibler only, not beta_loss=1.5")):
        NMF(solver="cd", beta_loss=1.5).fit(A)
    assert NMF(solver="cd", beta_loss=1.0).fit(A).solver_ == "newton-cd"
    msg = "Negative values in data passed to"
    with pytest.raises(ValueError, match=msg):
        NMF().fit(-A)
    clf = NMF(2, tol=0.1).fit(A)
    with pytest.raises(ValueError, match=msg):
        clf.transform(-A)

    for init in ["nndsvd", "nndsvda", "nndsvdar"]:
        # Same rule, nmfkit's wording ("init='nndsvd'" where scikit-learn writes
        # "init = 'nndsvd'"), followed by the bound and what to do.
        msg = re.escape(f"init='{init}' can only be used when "
                        "n_components <= min(n_samples, n_features)")
        with pytest.raises(ValueError, match=msg):
            NMF(3, init=init).fit(A)


def test_initialize_close():
    # NNDSVD's error is below the spread of the entries.
    rng = np.random.mtrand.RandomState(42)
    A = np.abs(rng.randn(10, 10))
    W, H = initialize(A, 10, "nndsvd")
    error = linalg.norm(np.dot(W, H) - A)
    sdev = linalg.norm(A - A.mean())
    assert error <= sdev


def test_initialize_variants():
    # 'nndsvda' and 'nndsvdar' differ from 'nndsvd' only where it has zeros.
    rng = np.random.mtrand.RandomState(42)
    data = np.abs(rng.randn(10, 10))
    W0, H0 = initialize(data, 10, "nndsvd")
    Wa, Ha = initialize(data, 10, "nndsvda")
    War, Har = initialize(data, 10, "nndsvdar", random_state=0)
    for ref, evl in ((W0, Wa), (W0, War), (H0, Ha), (H0, Har)):
        assert_almost_equal(evl[ref != 0], ref[ref != 0])


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("init", (None, "nndsvd", "nndsvda", "nndsvdar", "random"))
@pytest.mark.parametrize("alpha_W", (0.0, 1.0))
@pytest.mark.parametrize("alpha_H", (0.0, 1.0, "same"))
def test_nmf_fit_nn_output(solver, init, alpha_W, alpha_H):
    A = np.c_[5.0 - np.arange(1, 6), 5.0 + np.arange(1, 6)]
    model = NMF(n_components=2, init=init, alpha_W=alpha_W, alpha_H=alpha_H,
                random_state=0, solver=solver)
    transf = model.fit_transform(A)
    assert not ((model.components_ < 0).any() or (transf < 0).any())


@pytest.mark.parametrize("solver", SOLVERS)
def test_nmf_fit_close(solver):
    rng = np.random.mtrand.RandomState(42)
    pnmf = NMF(5, init="nndsvdar", random_state=0, max_iter=600, solver=solver)
    X = np.abs(rng.randn(6, 5))
    assert pnmf.fit(X).reconstruction_err_ < 0.1


def test_nmf_true_reconstruction():
    # An exact factorization (by construction) is found.
    n_samples, n_features, n_components = 15, 10, 5
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

    model = NMF(n_components=n_components, solver="mu", beta_loss=1, max_iter=1000,
                random_state=0)
    transf = model.fit_transform(X)
    X_calc = np.dot(transf, model.components_)
    assert model.reconstruction_err_ < 0.1
    # nmfkit stops once the objective is within rounding of 0 (after 6 iterations here),
    # where scikit-learn's MU runs on until the entries of WH at the zeros of X underflow
    # to exactly 0 (20 iterations): those entries are left at about 1e-35, so they are
    # compared with an absolute tolerance far below any rounding of X; the others keep
    # scikit-learn's relative tolerance.
    assert model.stop_reason_ == "exact fit"
    assert_allclose(X[X != 0], X_calc[X != 0])
    assert_allclose(X_calc[X == 0], 0, atol=1e-30)


@pytest.mark.parametrize("solver", SOLVERS)
def test_nmf_transform(solver):
    # fit_transform and fit followed by transform agree.
    rng = np.random.mtrand.RandomState(42)
    A = np.abs(rng.randn(6, 5))
    m = NMF(solver=solver, n_components=3, init="random", random_state=0, tol=1e-6)
    ft = m.fit_transform(A)
    t = m.transform(A)
    assert_allclose(ft, t, atol=1e-1)


@pytest.mark.parametrize("solver", SOLVERS)
def test_nmf_transform_custom_init(solver):
    random_state = np.random.RandomState(0)
    A = np.abs(random_state.randn(6, 5))
    n_components = 4
    avg = np.sqrt(A.mean() / n_components)
    H_init = np.abs(avg * random_state.randn(n_components, 5))
    W_init = np.abs(avg * random_state.randn(6, n_components))
    m = NMF(n_components=n_components, init="custom", random_state=0, tol=1e-3,
            solver=solver)
    m.fit_transform(A, W=W_init, H=H_init)
    m.transform(A)


@pytest.mark.parametrize("solver", SOLVERS)
def test_nmf_inverse_transform(solver):
    random_state = np.random.RandomState(0)
    A = np.abs(random_state.randn(6, 4))
    m = NMF(solver=solver, n_components=4, init="random", random_state=0, max_iter=1000)
    ft = m.fit_transform(A)
    A_new = m.inverse_transform(ft)
    assert_array_almost_equal(A, A_new, decimal=2)


def test_n_components_greater_n_features():
    rng = np.random.mtrand.RandomState(42)
    A = np.abs(rng.randn(30, 10))
    NMF(n_components=15, random_state=0, tol=1e-2).fit(A)


def zero_columns():
    """scikit-learn's 10 x 10 |N(0, 1)| matrix with every other column zero (rank 5)."""
    rng = np.random.mtrand.RandomState(42)
    A = np.abs(rng.randn(10, 10))
    A[:, 2 * np.arange(5)] = 0
    return A


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("sparse_container", CSC + CSR)
@pytest.mark.parametrize("alpha_W", (0.0, 1.0))
@pytest.mark.parametrize("alpha_H", (0.0, 1.0, "same"))
def test_nmf_sparse_input(solver, sparse_container, alpha_W, alpha_H):
    # Dense and sparse X give the same factors.
    A = zero_columns()
    A_sparse = sparse_container(A)

    est1 = NMF(n_components=5, init="random", alpha_W=alpha_W, alpha_H=alpha_H,
               random_state=0, tol=0, max_iter=100, solver=solver)
    est2 = clone(est1)
    W1 = est1.fit_transform(A)
    W2 = est2.fit_transform(A_sparse)
    assert_allclose(W1, W2)
    assert_allclose(est1.components_, est2.components_)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("csc_container", CSC)
def test_nmf_sparse_transform(solver, csc_container):
    # transform works on sparse data (scikit-learn issue #2124).
    rng = np.random.mtrand.RandomState(42)
    A = np.abs(rng.randn(3, 2))
    A[1, 1] = 0
    A = csc_container(A)
    model = NMF(random_state=0, n_components=2, max_iter=400, solver=solver)
    A_fit_tr = model.fit_transform(A)
    A_tr = model.transform(A)
    assert_allclose(A_fit_tr, A_tr, atol=1e-1)


@pytest.mark.parametrize("init", ["random", "nndsvd"])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("alpha_W", (0.0, 1.0))
@pytest.mark.parametrize("alpha_H", (0.0, 1.0, "same"))
def test_non_negative_factorization_consistency(init, solver, alpha_W, alpha_H):
    # The function form and the estimator give the same W.  (The update_H=False half,
    # a fit with H fixed against NMF.transform, has no public nmfkit counterpart.)
    A = zero_columns()
    params = dict(init=init, solver=solver, max_iter=500, alpha_W=alpha_W, alpha_H=alpha_H,
                  random_state=1, tol=1e-2)
    W_nmf, _, _ = factorize(A, **params)
    W_cls = NMF(**params).fit_transform(A)
    assert_allclose(W_nmf, W_cls)


def test_non_negative_factorization_checking():
    # nmfkit names the factor as "custom init H" where scikit-learn writes "input H".
    A = np.ones((2, 2))
    msg = re.escape("Negative values in data passed to NMF (custom init H)")
    with pytest.raises(ValueError, match=msg):
        factorize(A, A, -A, 2, init="custom")
    msg = re.escape("Negative values in data passed to NMF (custom init W)")
    with pytest.raises(ValueError, match=msg):
        factorize(A, -A, A, 2, init="custom")
    msg = re.escape("Array passed to NMF (custom init H) is full of zeros")
    with pytest.raises(ValueError, match=msg):
        factorize(A, A, 0 * A, 2, init="custom")


def beta_divergence_dense(X, W, H, beta):
    """The β-divergence of X and WH for dense X, written out: the reference."""
    WH = np.dot(W, H)
    if beta == 2:
        return ((X - WH) ** 2).sum() / 2
    WH_Xnonzero = WH[X != 0]
    X_nonzero = X[X != 0]
    np.maximum(WH_Xnonzero, 1e-9, out=WH_Xnonzero)
    if beta == 1:
        res = np.sum(X_nonzero * np.log(X_nonzero / WH_Xnonzero))
        res += WH.sum() - X.sum()
    elif beta == 0:
        div = X_nonzero / WH_Xnonzero
        res = np.sum(div) - X.size - np.sum(np.log(div))
    else:
        res = (X_nonzero**beta).sum()
        res += (beta - 1) * (WH**beta).sum()
        res -= beta * (X_nonzero * (WH_Xnonzero ** (beta - 1))).sum()
        res /= beta * (beta - 1)
    return res


@pytest.mark.parametrize("csr_container", CSR)
def test_beta_divergence(csr_container):
    n_samples, n_features, n_components = 20, 10, 5
    rng = np.random.mtrand.RandomState(42)
    X = rng.randn(n_samples, n_features)
    np.clip(X, 0, None, out=X)
    X_csr = csr_container(X)
    W, H = initialize(X, n_components, "random", random_state=42)
    for beta in [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]:
        ref = beta_divergence_dense(X, W, H, beta)
        assert_almost_equal(ref, beta_divergence(X, W, H, beta), decimal=7)
        assert_almost_equal(ref, beta_divergence(X_csr, W, H, beta), decimal=7)


#: MU's iterates at β and β − 1e-5 differ by more than scikit-learn's 1e-4 here.
MU_BETA_JUMPS = {
    2.0: "at β = 2, 'mu' is the Frobenius MU, which ends with the exact W for the final H "
         "(NMF.transform's NNLS: fit_transform and transform agree, as scikit-learn's "
         "estimator checks require) and does not extrapolate; at β = 2 − 1e-5 the "
         "β-divergence MU extrapolates and ends with an MU step on W.  The exact W step "
         "alone moves W by 9e-2 (without it, and without extrapolation, the two agree to "
         "5e-6), and a β-divergence fit has no closed-form W step to end with",
    2.5: "the β-divergence MU extrapolates (Ang & Gillis 2019), which makes its iterates "
         "move about 20·Δβ for a change Δβ of β here (continuously: Δβ = 1e-6 gives 2e-5, "
         "1e-7 gives 2e-6), twice the 10·Δβ scikit-learn's tolerance allows; plain MU "
         "moves 2.7·Δβ",
}


def mu_from_start(beta_loss, csr_container=None):
    """scikit-learn's MU run of test_nmf_multiplicative_update_sparse: 20 iterations
    from the same random start, with penalties, on its X (dense, or in
    ``csr_container``)."""
    n_components = 5
    rng = np.random.mtrand.RandomState(1337)
    X0 = np.abs(rng.randn(20, 10))
    W0, H0 = initialize(X0, n_components, "random", random_state=42)
    X = X0 if csr_container is None else csr_container(X0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W, H, _ = factorize(X, W0.copy(), H0.copy(), n_components, init="custom",
                            solver="mu", beta_loss=beta_loss, max_iter=20, alpha_W=0.1,
                            l1_ratio=0.5, random_state=42)
    return W, H


# scikit-learn's test_nmf_multiplicative_update_sparse loops over β; here each β is a
# case, and its two comparisons (dense against sparse, β against β − 1e-5) are two tests.
@pytest.mark.parametrize("beta_loss", (-1.2, 0, 0.2, 1.0, 2.0, 2.5))
@pytest.mark.parametrize("csr_container", CSR)
def test_nmf_multiplicative_update_sparse(csr_container, beta_loss):
    # Dense and sparse X give the same MU iterates.
    W1, H1 = mu_from_start(beta_loss)
    W2, H2 = mu_from_start(beta_loss, csr_container)
    assert_allclose(W1, W2, atol=1e-7)
    assert_allclose(H1, H2, atol=1e-7)


@pytest.mark.parametrize("beta_loss", [
    pytest.param(beta, marks=pytest.mark.xfail(strict=True, reason=MU_BETA_JUMPS[beta]))
    if beta in MU_BETA_JUMPS else beta for beta in (-1.2, 0, 0.2, 1.0, 2.0, 2.5)])
@pytest.mark.parametrize("csr_container", CSR)
def test_nmf_multiplicative_update_continuous_in_beta(csr_container, beta_loss):
    # Some β have their own form of the updates; the results are continuous in β.
    W1, H1 = mu_from_start(beta_loss)
    W3, H3 = mu_from_start(beta_loss - 1.0e-5, csr_container)
    assert_allclose(W1, W3, atol=1e-4)
    assert_allclose(H1, H3, atol=1e-4)


@pytest.mark.parametrize("csr_container", CSR)
def test_nmf_negative_beta_loss(csr_container):
    # β ≤ 0 with zeros in X raises; otherwise no NaN, zeros or not.
    n_samples, n_features, n_components = 6, 5, 3
    rng = np.random.mtrand.RandomState(42)
    X = rng.randn(n_samples, n_features)
    np.clip(X, 0, None, out=X)
    X_csr = csr_container(X)

    def assert_no_nan(X, beta_loss):
        W, H, _ = factorize(X, init="random", n_components=n_components, solver="mu",
                            beta_loss=beta_loss, random_state=0, max_iter=1000)
        assert not np.any(np.isnan(W))
        assert not np.any(np.isnan(H))

    # nmfkit's message says the divergence is undefined at X = 0, with the number and
    # first position of the zeros (scikit-learn: "When beta_loss <= 0 and X contains
    # zeros, the solver may diverge.").
    msg = r"divergence is undefined where X = 0"
    for beta_loss in (-0.6, 0.0):
        with pytest.raises(ValueError, match=msg):
            assert_no_nan(X, beta_loss)
        assert_no_nan(X + 1e-9, beta_loss)

    for beta_loss in (0.2, 1.0, 1.2, 2.0, 2.5):
        assert_no_nan(X, beta_loss)
        assert_no_nan(X_csr, beta_loss)


@pytest.mark.parametrize("solver", SOLVERS)
def test_nmf_regularization(solver):
    n_samples, n_features, n_components = 6, 5, 3
    rng = np.random.mtrand.RandomState(42)
    X = np.abs(rng.randn(n_samples, n_features))

    def pair(l1_ratio):
        regul = NMF(n_components=n_components, alpha_W=0.5, l1_ratio=l1_ratio,
                    random_state=42, solver=solver)
        model = NMF(n_components=n_components, alpha_W=0.0, l1_ratio=l1_ratio,
                    random_state=42, solver=solver)
        W_regul, W_model = regul.fit_transform(X), model.fit_transform(X)
        return W_regul, regul.components_, W_model, model.components_

    # L1 regularization increases the number of zeros.
    W_regul, H_regul, W_model, H_model = pair(1.0)
    eps = np.finfo(np.float64).eps
    assert W_regul[W_regul <= eps].size > W_model[W_model <= eps].size
    assert H_regul[H_regul <= eps].size > H_model[H_model <= eps].size

    # L2 regularization decreases the sum of the squared norms of W and H.
    W_regul, H_regul, W_model, H_model = pair(0.0)
    assert (linalg.norm(W_model)) ** 2.0 + (linalg.norm(H_model)) ** 2.0 > (
        linalg.norm(W_regul)) ** 2.0 + (linalg.norm(H_regul)) ** 2.0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", SOLVERS)
def test_nmf_decreasing(solver):
    # The penalised objective decreases at each iteration (one fit per iteration).
    n_samples, n_features, n_components = 20, 15, 10
    alpha, l1_ratio, tol = 0.1, 0.5, 0.0
    rng = np.random.mtrand.RandomState(42)
    X = np.abs(rng.randn(n_samples, n_features))
    W0, H0 = initialize(X, n_components, "random", random_state=42)

    for beta_loss in (-1.2, 0, 0.2, 1.0, 2.0, 2.5):
        if solver != "mu" and beta_loss != 2:
            continue  # scikit-learn's 'cd' fits the Frobenius loss only
        W, H = W0.copy(), H0.copy()
        previous_loss = None
        for _ in range(30):
            W, H, _ = factorize(X, W, H, beta_loss=beta_loss, init="custom",
                                n_components=n_components, max_iter=1, alpha_W=alpha,
                                solver=solver, tol=tol, l1_ratio=l1_ratio, verbose=0,
                                random_state=0)
            loss = (
                beta_divergence(X, W, H, beta_loss)
                + alpha * l1_ratio * n_features * W.sum()
                + alpha * l1_ratio * n_samples * H.sum()
                + alpha * (1 - l1_ratio) * n_features * (W**2).sum()
                + alpha * (1 - l1_ratio) * n_samples * (H**2).sum()
            )
            if previous_loss is not None:
                assert previous_loss > loss
            previous_loss = loss


def test_nmf_underflow():
    # An entry of 1e-323 in X gives the divergence of an entry of 0 (no underflow).
    rng = np.random.RandomState(0)
    n_samples, n_features, n_components = 10, 2, 2
    X = np.abs(rng.randn(n_samples, n_features)) * 10
    W = np.abs(rng.randn(n_samples, n_components)) * 10
    H = np.abs(rng.randn(n_components, n_features))
    X[0, 0] = 0
    ref = beta_divergence(X, W, H, beta=1.0)
    X[0, 0] = 1e-323
    res = beta_divergence(X, W, H, beta=1.0)
    assert_almost_equal(res, ref)


@pytest.mark.parametrize("dtype_in, dtype_out", [
    (np.float32, np.float32), (np.float64, np.float64),
    (np.int32, np.float64), (np.int64, np.float64)])
@pytest.mark.parametrize("solver", SOLVERS)
def test_nmf_dtype_match(solver, dtype_in, dtype_out):
    X = np.random.RandomState(0).randn(20, 15).astype(dtype_in, copy=False)
    np.abs(X, out=X)
    nmf = NMF(alpha_W=1.0, alpha_H=1.0, tol=1e-2, random_state=0, solver=solver)
    assert nmf.fit(X).transform(X).dtype == dtype_out
    assert nmf.fit_transform(X).dtype == dtype_out
    assert nmf.components_.dtype == dtype_out


#: Why float32 and float64 fits part by more than scikit-learn's 1e-5 here.
ORDER = ("nmfkit updates H then W in each iteration, scikit-learn W then H.  The factors "
         "are defined up to a scale per component (WD, D⁻¹H), and from the same start "
         "the two orders end at different scales: scikit-learn's W has "
         "entries up to 0.9 (cd) and 0.6 (mu), nmfkit's up to 17 (plain HALS) and 2.1 "
         "(mu), and its float32 rounding grows with them: float32 and float64 W differ by "
         "1.7e-4 and 2.5e-5 (1e-5 and 1.2e-5 of the largest entry; scikit-learn: 5e-6 "
         "and 2e-6).  Run W first (on Xᵀ), nmfkit's W stays below 0.9 and agrees to "
         "5e-6 (plain HALS) and 2e-6 (mu).  The order is the alternating driver's, for "
         "every solver: changing it is a redesign")
FLOAT32_PARTS = {
    "cd": ORDER + ".  And with extrapolation, HALS stops at an exact fit (k = n_features = "
          "7 = rank X) at its dtype's rounding, float32 after 35 iterations and float64 "
          "after 47, at different points of the continuum of exact factorizations",
    "mu": ORDER,
}


@pytest.mark.parametrize("solver", [
    pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=FLOAT32_PARTS[s]))
    for s in SOLVERS])
def test_nmf_float32_float64_consistency(solver):
    X = np.random.RandomState(0).randn(50, 7)
    np.abs(X, out=X)
    W32 = NMF(random_state=0, tol=1e-3, solver=solver).fit_transform(X.astype(np.float32))
    W64 = NMF(random_state=0, tol=1e-3, solver=solver).fit_transform(X)
    assert_allclose(W32, W64, atol=1e-5)


def test_nmf_custom_init_dtype_error():
    # scikit-learn refuses a custom W or H of another dtype than X (TypeError "should
    # have the same dtype as X"); nmfkit casts them to X's dtype, as it casts X itself, and
    # fits in X's dtype.  (scikit-learn's second call, with H fixed, has no public nmfkit
    # counterpart.)
    rng = np.random.RandomState(0)
    X = rng.random_sample((20, 15))
    H = rng.random_sample((15, 15)).astype(np.float32)
    W = rng.random_sample((20, 15))
    model = NMF(init="custom", max_iter=5, tol=0).fit(X, H=H, W=W)
    assert model.components_.dtype == X.dtype
    fixed = NMF(init="custom", max_iter=5, tol=0).fit(X, H=H.astype(X.dtype), W=W)
    assert_array_equal(model.components_, fixed.components_)


def test_feature_names_out():
    random_state = np.random.RandomState(0)
    X = np.abs(random_state.randn(10, 4))
    nmf = NMF(n_components=3).fit(X)
    assert_array_equal([f"nmf{i}" for i in range(3)], nmf.get_feature_names_out())


def test_nmf_n_components_auto():
    # n_components='auto' takes the rank of the custom start.  (scikit-learn reads its
    # private ``_n_components``; nmfkit's public ``n_components_`` is the same number.)
    rng = np.random.RandomState(0)
    X = rng.random_sample((6, 5))
    W = rng.random_sample((6, 2))
    H = rng.random_sample((2, 5))
    est = NMF(n_components="auto", init="custom", random_state=0, tol=1e-6)
    est.fit_transform(X, W=W, H=H)
    assert est.n_components_ == H.shape[0]


def test_nmf_non_negative_factorization_n_components_auto():
    rng = np.random.RandomState(0)
    X = rng.random_sample((6, 5))
    W_init = rng.random_sample((6, 2))
    H_init = rng.random_sample((2, 5))
    W, H, _ = factorize(X, W=W_init, H=H_init, init="custom", n_components="auto")
    assert H.shape == H_init.shape
    assert W.shape == W_init.shape


def test_nmf_w_h_not_used_warning():
    # W or H given with an init other than 'custom' are not used, and a warning says so.
    # (scikit-learn's third case, update_H=False, has no public nmfkit counterpart.)
    rng = np.random.RandomState(0)
    X = rng.random_sample((6, 5))
    W_init = rng.random_sample((6, 2))
    H_init = rng.random_sample((2, 5))
    with pytest.warns(RuntimeWarning, match="When init!='custom', provided W or H are ignored"):
        factorize(X, H=H_init, n_components="auto")
    with pytest.warns(RuntimeWarning, match="When init!='custom', provided W or H are ignored"):
        factorize(X, W=W_init, H=H_init, n_components="auto")


def test_nmf_custom_init_shape_error():
    rng = np.random.RandomState(0)
    X = rng.random_sample((6, 5))
    H = rng.random_sample((2, 5))
    nmf = NMF(n_components=2, init="custom", random_state=0)
    # nmfkit's message gives both shapes ("Array with wrong shape passed to NMF (custom
    # init): W has shape (5, 2), expected (6, 2) ..."), not which dimension is wrong.
    with pytest.raises(ValueError, match=re.escape("W has shape (5, 2), expected (6, 2)")):
        nmf.fit(X, H=H, W=rng.random_sample((5, 2)))
    with pytest.raises(ValueError, match=re.escape("W has shape (6, 3), expected (6, 2)")):
        nmf.fit(X, H=H, W=rng.random_sample((6, 3)))


@pytest.mark.parametrize("init", (None, "nndsvd", "nndsvda", "nndsvdar", "random"))
@pytest.mark.parametrize("shape", ((30, 10), (10, 30)), ids=("tall", "wide"))
@pytest.mark.parametrize("solver", SOLVERS)
def test_nmf_smoke(init, shape, solver):
    rng = np.random.RandomState(0)
    X = np.abs(rng.random_sample(shape))
    nmf = NMF(n_components=5, init=init, random_state=0, solver=solver)
    W = nmf.fit_transform(X)
    assert W.shape == (shape[0], 5)
    assert nmf.components_.shape == (5, shape[1])
