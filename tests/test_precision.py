"""A large dense float64 fit runs in float32 first, then finishes in float64
(nmfkit.solvers.precision): one fit as the user sees it, exact at the end."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import frobenius, planted
from sklearn.exceptions import ConvergenceWarning

import nmfkit
from nmfkit.monitor import Monitor
from nmfkit.solvers import Settings, SolverParams, alternating, get, precision, run

#: Every X below takes the two-phase path, whatever its size.
FORCED = {"mixed_precision": True}


@pytest.fixture
def phases(monkeypatch):
    """Records the driver's runs, as (dtype of X, of W, of H, max_iter, iterations run)."""
    runs = []
    real = alternating.run

    def spy(X, W, H, **kw):
        assert not kw["monitor"].converged  # a float32 phase's verdict was taken back
        result = real(X, W, H, **kw)
        runs.append((X.dtype, W.dtype, H.dtype, kw["params"].max_iter, result.n_iter))
        return result

    monkeypatch.setattr(alternating, "run", spy)
    return runs


def _fit(X, options=FORCED, **kw):
    model = nmfkit.NMF(6, solver="hals", init="nndsvda", solver_options=options, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = model.fit_transform(X)
    return model, W


def _problem(seed=0):
    """300 x 200, a planted rank 6 with a sparse H: converges to 10⁻⁹ in ~250 iterations."""
    return planted(300, 200, 6, noise=0.2, seed=seed, density=0.5)[0]


def test_starts_in_float32_and_ends_with_the_float64_objective(phases):
    X = _problem()
    model, W = _fit(X, tol=0, max_iter=600)
    assert [r[:3] for r in phases] == [(np.float32,) * 3, (np.float64,) * 3]
    first, second = phases[0][4], phases[1][4]
    assert 10 < first < 600 and second == 600 - first == phases[1][3]
    assert W.dtype == model.components_.dtype == np.float64 and model.n_iter_ == 600
    curve = model.loss_curve_
    assert list(curve["iteration"]) == list(range(601))  # one history, numbered on
    # Every reported objective after the switch is the float64 one, to rounding.
    exact = frobenius(X, W, model.components_)
    assert curve["loss"].iloc[-1] == pytest.approx(exact, rel=1e-10)
    assert 0.5 * model.reconstruction_err_ ** 2 == pytest.approx(exact, rel=1e-10)
    # The curve does not rise, up to the float32 objective's rounding at the switch.
    assert np.all(np.diff(curve["loss"]) <= 1e-6 * curve["loss"].iloc[-1])
    # The minimum a fit in float64 throughout reaches.
    reference, W64 = _fit(X, {"mixed_precision": False}, tol=0, max_iter=600)
    assert len(phases) == 3 and phases[2][0] == np.float64
    assert exact == pytest.approx(frobenius(X, W64, reference.components_), rel=1e-10)


def test_sparse_x_starts_in_float32_too(phases):
    """A sparse X: its float32 copy stays sparse; the fit ends at the minimum a float64
    fit reaches."""
    X = _problem()
    X = sp.csr_matrix(X * (X > np.median(X)))
    model, W = _fit(X, tol=0, max_iter=600)
    assert [r[0] for r in phases] == [np.float32, np.float64]
    assert W.dtype == model.components_.dtype == np.float64
    exact = frobenius(X, W, model.components_)
    assert model.loss_curve_["loss"].iloc[-1] == pytest.approx(exact, rel=1e-10)
    reference, W64 = _fit(X, {"mixed_precision": False}, tol=0, max_iter=600)
    assert exact == pytest.approx(frobenius(X, W64, reference.components_), rel=1e-9)


def test_callbacks_see_the_input_dtype_and_one_numbering(phases):
    seen = []

    def callback(iteration, W, H, loss):
        seen.append((iteration, W.dtype, H.dtype))

    model, _ = _fit(_problem(), {**FORCED, "precision_switch_tol": 1e-3},  # switch early
                    tol=0, max_iter=120, callback=callback)
    assert len(phases) == 2
    assert [s[0] for s in seen] == list(range(1, 121))
    assert {s[1:] for s in seen} == {(np.dtype(np.float64),) * 2}


def test_the_stopping_rule_met_in_float32_is_tested_again_in_float64(phases):
    """The user's tol ends the float32 phase (the switching rule is off here); the fit
    goes on in float64 and stops there by the same rule."""
    off = {**FORCED, "precision_switch_tol": 0.0, "precision_noise_factor": 0.0}
    model, W = _fit(_problem(1), off, tol=1e-4, max_iter=1000)
    assert len(phases) == 2 and phases[1][4] >= 1
    assert model.converged_ and model.stop_reason_ == "converged"
    assert model.n_iter_ == phases[0][4] + phases[1][4] < 1000
    assert model.loss_curve_["loss"].iloc[-1] == pytest.approx(
        frobenius(_problem(1), W, model.components_), rel=1e-10)


def test_float64_finishes_where_float32_stalls(phases):
    """X = a large offset plus a little structure: the objective is 4·10⁻⁵ of ½‖X‖²,
    below what float32 products resolve well.  The float32 phase stalls far above the
    minimum; the float64 phase goes on to it."""
    rng = np.random.default_rng(0)
    X = rng.random((300, 6)) @ rng.random((6, 200)) + 50 + rng.random((300, 200))
    model, W = _fit(X, tol=0, max_iter=1000)
    assert len(phases) == 2 and phases[0][4] < 500
    curve = model.loss_curve_["loss"]
    assert curve.iloc[-1] < 0.9 * curve.iloc[phases[0][4]]


@pytest.mark.parametrize("switch_tol, noise, losses, switches", [
    # The objective falls by 2·10⁻³ (then 5·10⁻⁴) of itself per iteration; SWITCH_TOL 10⁻³.
    (1e-3, 0.0, lambda i: 10.0 * (1 - 2e-3) ** i, False),
    (1e-3, 0.0, lambda i: 10.0 * (1 - 5e-4) ** i, True),
    # It falls by 0.02 (then 0.005) per iteration; the float32 rounding error is 0.01.
    (0.0, 1e-2, lambda i: 10.0 - 0.02 * i, False),
    (0.0, 1e-2, lambda i: 10.0 - 0.005 * i, True),
])
def test_the_switching_rule(switch_tol, noise, losses, switches):
    monitor = Monitor(tol=0, window=3, max_iter=100)
    phase = precision._Phase(monitor, dtype=np.float64, noise=noise, switch_tol=switch_tol)
    phase.start(losses(0))
    said = []
    for i in range(1, 7):
        said.append(phase(i, np.zeros((2, 1)), np.zeros((1, 2)), losses(i)))
        if said[-1]:
            break
    assert said == ([False, False, True] if switches else [False] * 6)
    assert phase.switched == switches and not monitor.converged


def test_stops_in_the_float32_phase_return_the_input_dtype(phases):
    X = _problem()
    with pytest.warns(ConvergenceWarning):
        model = nmfkit.NMF(6, solver="hals", init="nndsvda", tol=1e-9, max_iter=5,
                           solver_options=FORCED)
        W = model.fit_transform(X)
    assert [r[0] for r in phases] == [np.float32] and model.n_iter_ == 5
    assert W.dtype == model.components_.dtype == np.float64
    model, W = _fit(X, tol=0, max_iter=100, callback=lambda it, W, H, loss: it == 3)
    assert model.n_iter_ == 3 and model.stop_reason_ == "callback"
    assert W.dtype == np.float64 and len(phases) == 2


def test_ctrl_c_in_the_float32_phase_keeps_float64_factors(phases, monkeypatch,
                                                           python_sigint):
    import signal

    from nmfkit.solvers import hals

    calls = []
    real = hals.update

    def interrupted(U, A, B, l1, l2, state):
        calls.append(U.dtype)
        if len(calls) == 9:
            signal.raise_signal(signal.SIGINT)
        return real(U, A, B, l1, l2, state)

    monkeypatch.setattr(hals, "update", interrupted)
    X = _problem()
    model = nmfkit.NMF(6, solver="hals", init="nndsvda", tol=0, max_iter=100,
                       solver_options=FORCED)
    with pytest.warns(UserWarning, match="interrupted"):
        W = model.fit_transform(X)
    assert set(calls) == {np.dtype(np.float32)} and model.stop_reason_ == "interrupted"
    assert W.dtype == model.components_.dtype == np.float64
    # The kept pair is the one whose (float32-rounded) objective was recorded.
    assert frobenius(X, W, model.components_) == pytest.approx(
        model.loss_curve_["loss"].iloc[-1], rel=1e-6)


def test_a_fixed_h_stays_exact(phases):
    """With H fixed (``update_H=False``) only W is fitted in float32; the H returned is
    the caller's, not its float32 rounding."""
    X, _, H = planted(300, 200, 6, noise=0.2, seed=0, density=0.5)
    W0 = np.full((300, 6), 0.5)
    settings = Settings(mixed_precision=True, precision_switch_tol=1e-3)
    result = run(get("hals"), X, W0, H,
                 params=SolverParams(max_iter=200, update_H=False, settings=settings),
                 monitor=Monitor(tol=0, max_iter=200))
    assert [r[0] for r in phases] == [np.float32, np.float64]
    assert result.H is H and result.W.dtype == np.float64
    assert result.loss == pytest.approx(frobenius(X, result.W, H), rel=1e-10)


@pytest.mark.parametrize("case", ["float32", "large sparse", "small", "disabled"])
def test_other_fits_run_in_their_own_dtype_throughout(case, monkeypatch):
    runs = []
    real = alternating.run
    monkeypatch.setattr(alternating, "run", lambda X, W, H, **kw: runs.append(X.dtype)
                        or real(X, W, H, **kw))
    X = _problem()  # 60,000 entries: below the default precision_min_entries
    options = {"precision_min_entries": 0}
    if case == "float32":
        X = X.astype(np.float32)
    elif case == "large sparse":
        X = sp.csr_matrix(X * (X > np.median(X)))
        options["precision_sparse_max_nnz"] = X.nnz
    elif case == "disabled":
        options["mixed_precision"] = False
    elif case == "small":
        options = None
    model, W = _fit(X, options, tol=0, max_iter=20)
    assert runs == [X.dtype] and W.dtype == X.dtype


def test_monitor_resume_takes_back_a_convergence_verdict():
    monitor = Monitor(tol=0.5, window=1, max_iter=10)
    monitor.start(1.0)
    assert monitor(1, None, None, 0.99) and monitor.converged
    monitor.resume()
    assert not monitor.converged and monitor.stop_reason == "max_iter"
    assert not monitor(2, None, None, 0.1)
    assert [h[0] for h in monitor.history] == [0, 1, 2]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_torch_tensors_take_the_same_path(phases, monkeypatch, device):
    torch = pytest.importorskip("torch")
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from nmfkit.init import initialize

    X = _problem()
    W0, H0 = initialize(X, 6, "nndsvda")
    # converged: the two runs switch at different iterations (float32 rounding differs
    # between the libraries), and end together
    params = SolverParams(max_iter=400, settings=Settings(mixed_precision=True,
                                                          precision_switch_tol=1e-3))
    ref = run(get("hals"), X, W0, H0, params=params, monitor=Monitor(tol=0, max_iter=400))
    out = run(get("hals"), *(torch.from_numpy(A).to(device) for A in (X, W0, H0)),
              params=params, monitor=Monitor(tol=0, max_iter=400))
    assert [r[0] for r in phases] == [np.float32, np.float64, torch.float32, torch.float64]
    assert out.W.dtype == out.H.dtype == torch.float64 and out.W.device.type == device
    assert out.loss == pytest.approx(ref.loss, rel=1e-8)
