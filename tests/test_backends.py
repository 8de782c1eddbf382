"""Solvers are written once against the array-API namespace: PyTorch runs them unchanged."""
import numpy as np
import pytest
from conftest import SOLVERS, planted

from nmfkit.init import initialize
from nmfkit.monitor import Monitor
from nmfkit.solvers import SolverParams, get, run

torch = pytest.importorskip("torch")

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("solver", SOLVERS)
def test_torch_tensors_give_numpy_results(solver, device):
    X = planted(60, 40, 5, noise=0.05, seed=0)[0]
    W0, H0 = initialize(X, 5, "nndsvda")
    params = SolverParams(max_iter=20)
    ref = run(get(solver), X, W0, H0, params=params, monitor=Monitor(tol=0, max_iter=20))
    as_tensor = lambda A: torch.from_numpy(A).to(device)  # noqa: E731
    out = run(get(solver), as_tensor(X), as_tensor(W0), as_tensor(H0), params=params,
              monitor=Monitor(tol=0, max_iter=20))
    assert isinstance(out.W, torch.Tensor) and out.W.device.type == device
    np.testing.assert_allclose(out.W.cpu().numpy(), ref.W, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(out.H.cpu().numpy(), ref.H, rtol=1e-8, atol=1e-10)
    assert out.loss == pytest.approx(ref.loss, rel=1e-10)
