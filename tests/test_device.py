"""The ``device`` parameter: where a fit runs, and what comes back.

On PyTorch's CPU these run in every CI job (the torch CPU build is a test dependency), so
the estimators' device path is exercised without a GPU; the CUDA cases skip cleanly when
PyTorch sees none.
"""
import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from conftest import SOLVERS, planted
from sklearn.exceptions import ConvergenceWarning

import nmfkit

torch = pytest.importorskip("torch")

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="PyTorch sees no CUDA GPU")
DEVICES = ["cpu"] + (["cuda"] if CUDA else [])


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def X_planted():
    return planted(60, 40, 5, noise=0.05, seed=0)[0]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("solver", SOLVERS)
def test_a_tensor_is_fitted_where_it_lives_and_w_comes_back_as_a_tensor(solver, device):
    X = X_planted()
    reference = nmfkit.NMF(5, solver=solver, random_state=0, max_iter=30)
    W_ref = reference.fit_transform(X)
    model = nmfkit.NMF(5, solver=solver, random_state=0, max_iter=30)
    W = model.fit_transform(torch.from_numpy(X).to(device))
    assert isinstance(W, torch.Tensor) and W.device.type == device
    assert W.dtype == torch.float64
    assert isinstance(model.components_, np.ndarray)
    np.testing.assert_allclose(W.cpu().numpy(), W_ref, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(model.components_, reference.components_, rtol=1e-7, atol=1e-9)
    assert model.reconstruction_err_ == pytest.approx(reference.reconstruction_err_, rel=1e-9)
    assert model.solver_ == reference.solver_


def test_float32_tensors_stay_float32_and_transform_keeps_the_type():
    X = torch.from_numpy(X_planted()).float()
    model = nmfkit.NMF(5, random_state=0, max_iter=30)
    W = model.fit_transform(X)
    assert W.dtype == torch.float32 and model.components_.dtype == np.float32
    W_new = model.transform(X[:7])
    assert isinstance(W_new, torch.Tensor) and W_new.shape == (7, 5)
    back = model.inverse_transform(W)
    assert isinstance(back, torch.Tensor) and back.shape == X.shape and back.dtype == X.dtype


def test_kl_on_pytorch_picks_a_solver_that_runs_there():
    # Newton-CD (the NumPy choice for KL) is compiled NumPy code: the registry picks MU.
    X = torch.from_numpy(X_planted())
    model = nmfkit.NMF(5, beta_loss="kullback-leibler", random_state=0, max_iter=30)
    W = model.fit_transform(X)
    assert model.solver_ == "mu" and isinstance(W, torch.Tensor)
    assert nmfkit.NMF(5, beta_loss="kullback-leibler", random_state=0,
                      max_iter=30).fit(X.numpy()).solver_ == "newton-cd"


def test_device_cpu_with_numpy_input_is_numpy_as_before():
    X = X_planted()
    a = nmfkit.NMF(5, random_state=0, max_iter=30, device="cpu").fit_transform(X)
    b = nmfkit.NMF(5, random_state=0, max_iter=30, device=torch.device("cpu")).fit_transform(X)
    c = nmfkit.NMF(5, random_state=0, max_iter=30).fit_transform(X)
    assert type(a) is type(b) is type(c) is np.ndarray
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(b, c)


def test_a_sparse_tensor_on_the_cpu_is_fitted_as_scipy_sparse():
    X = sp.random(50, 30, density=0.2, random_state=0, format="csr")
    Xt = torch.sparse_csr_tensor(torch.from_numpy(X.indptr.astype(np.int64)),
                                 torch.from_numpy(X.indices.astype(np.int64)),
                                 torch.from_numpy(X.data), size=X.shape)
    W = nmfkit.NMF(3, random_state=0, max_iter=30).fit_transform(Xt)
    W_ref = nmfkit.NMF(3, random_state=0, max_iter=30).fit_transform(X)
    assert isinstance(W, torch.Tensor)
    np.testing.assert_array_equal(W.numpy(), W_ref)


def test_symmetric_and_tri_factorization_run_on_tensors():
    A = nx.to_numpy_array(nx.karate_club_graph())
    H = nmfkit.SymmetricNMF(2, random_state=0).fit_transform(torch.from_numpy(A))
    H_ref = nmfkit.SymmetricNMF(2, random_state=0).fit_transform(A)
    assert isinstance(H, torch.Tensor)
    np.testing.assert_allclose(H.numpy(), H_ref, rtol=1e-7, atol=1e-9)
    X = X_planted()
    F = nmfkit.TriNMF(2, 3, random_state=0).fit_transform(torch.from_numpy(X))
    F_ref = nmfkit.TriNMF(2, 3, random_state=0).fit_transform(X)
    assert isinstance(F, torch.Tensor)
    np.testing.assert_allclose(F.numpy(), F_ref, rtol=1e-7, atol=1e-9)


def test_bad_tensors_get_the_same_errors_as_arrays():
    X = torch.from_numpy(X_planted())
    X[0, 0] = -1.0
    with pytest.raises(ValueError, match="negative"):
        nmfkit.NMF(2).fit(X)
    X[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        nmfkit.NMF(2).fit(X)


@pytest.mark.parametrize("device, error, message", [
    ("tpu", ValueError, "device='tpu' is not a device PyTorch knows"),
    (3, TypeError, "device=3 is not a device"),
    ("mps", ValueError, "runs on 'cpu' and 'cuda' devices"),
])
def test_a_bad_device_is_refused_before_any_work(device, error, message):
    with pytest.raises(error, match=message):
        nmfkit.NMF(2, device=device).fit(X_planted())


@pytest.mark.skipif(CUDA, reason="a GPU is present")
def test_cuda_without_a_gpu_says_what_to_do():
    with pytest.raises(ValueError, match="no CUDA GPU.*pass device='cpu'"):
        nmfkit.NMF(2, device="cuda").fit(X_planted())


@needs_cuda
@pytest.mark.parametrize("solver", SOLVERS)
def test_numpy_input_on_the_gpu_comes_back_as_numpy(solver):
    X = X_planted()
    W = nmfkit.NMF(5, solver=solver, random_state=0, max_iter=30, device="cuda").fit_transform(X)
    W_ref = nmfkit.NMF(5, solver=solver, random_state=0, max_iter=30).fit_transform(X)
    assert isinstance(W, np.ndarray)
    # The GPU's BLAS sums in another order: equal to rounding, not bit for bit.
    np.testing.assert_allclose(W, W_ref, rtol=1e-6, atol=1e-8)


@needs_cuda
def test_sparse_input_on_the_gpu_is_refused_with_a_way_out():
    X = sp.random(50, 30, density=0.2, random_state=0, format="csr")
    with pytest.raises(NotImplementedError, match="sparse X on device 'cuda:0'"):
        nmfkit.NMF(3, device="cuda").fit(X)
