"""Checkpoints, resuming, SIGKILL at any moment, Ctrl-C in every estimator.

A fit with ``checkpoint=path`` can be killed at any moment: the file is then the last
whole checkpoint (never a torn one), and ``resume=path`` finishes the fit at the
objective an uninterrupted fit reaches.  Ctrl-C keeps the best factors so far, warns
once and leaves the estimator usable.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import networkx as nx
import numpy as np
import pytest

import nmfkit
from nmfkit.estimators import checkpoint as ckpt
from nmfkit.estimators.symmetric import SymmetricNMF
from nmfkit.estimators.tri import TriNMF


def planted(seed=0, m=300, n=200, k=6, noise=0.05):
    rng = np.random.default_rng(seed)
    X = rng.random((m, k)) @ rng.random((k, n))
    return np.abs(X + noise * X.mean() * rng.standard_normal(X.shape))


@pytest.fixture(scope="module")
def X():
    return planted()


def quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


@pytest.mark.parametrize("solver", ["hals", "mu", "anls"])
def test_resumed_fit_reaches_the_uninterrupted_objective(X, tmp_path, solver):
    path = tmp_path / "fit.ckpt"
    settings = dict(n_components=6, solver=solver, random_state=0, tol=1e-6, max_iter=3000)
    full = quiet(lambda: nmfkit.NMF(**settings).fit(X))
    # Stopped at 20 iterations (an unfinished fit), then resumed with the full budget.
    part = quiet(lambda: nmfkit.NMF(**{**settings, "max_iter": 20}).fit(
        X, checkpoint=path, checkpoint_every=5))
    assert part.n_iter_ == 20 and path.exists()
    saved = ckpt.read(path)
    assert saved.iteration == 20 and saved.restart == 0
    resumed = quiet(lambda: nmfkit.NMF(**settings).fit(X, resume=path))
    assert resumed.reconstruction_err_ == pytest.approx(full.reconstruction_err_, rel=1e-4)
    curve = resumed.loss_curve_
    # The history carries on: iterations 0..20 are the first fit's, numbered on after.
    np.testing.assert_array_equal(curve["iteration"], np.arange(len(curve)))
    np.testing.assert_allclose(curve["loss"].to_numpy()[:21], part.loss_curve_["loss"].to_numpy())
    assert (np.diff(curve["seconds"]) >= 0).all()
    assert resumed.n_iter_ == curve["iteration"].iloc[-1]


def test_resume_keeps_checkpointing_to_the_same_file(X, tmp_path):
    path = tmp_path / "fit.ckpt"
    quiet(lambda: nmfkit.NMF(6, random_state=0, max_iter=10).fit(X, checkpoint=path,
                                                                   checkpoint_every=10))
    quiet(lambda: nmfkit.NMF(6, random_state=0, max_iter=30).fit(
        X, checkpoint=path, checkpoint_every=10, resume=path))
    assert ckpt.read(path).iteration == 30


def test_restarts_resume_where_they_stopped(X, tmp_path, python_sigint):
    """Ctrl-C in the second of three restarts writes a checkpoint; resuming runs the
    rest, and ``restarts_`` is the uninterrupted fit's (the finished restart is not
    run again; the fresh one is bit-identical)."""
    path = tmp_path / "fit.ckpt"
    settings = dict(n_components=6, random_state=0, n_init=3, tol=1e-6, max_iter=3000)
    full = quiet(lambda: nmfkit.NMF(**settings).fit(X))

    class InterruptSecondRestart:
        starts = 0

        def __call__(self, iteration, W, H, loss):
            self.starts += iteration == 1
            if self.starts == 2 and iteration == 15:
                signal.raise_signal(signal.SIGINT)

    with pytest.warns(UserWarning, match="interrupted"):
        nmfkit.NMF(**settings, callback=InterruptSecondRestart()).fit(
            X, checkpoint=path, checkpoint_every=1000)
    saved = ckpt.read(path)
    assert saved.restart == 1 and saved.iteration == 15 and saved.best["restart"] == 0
    resumed = quiet(lambda: nmfkit.NMF(**settings).fit(X, resume=path))
    assert list(resumed.restarts_.index) == [0, 1, 2]
    assert resumed.restarts_.loc[0, "loss"] == full.restarts_.loc[0, "loss"]
    assert resumed.restarts_.loc[2, "loss"] == full.restarts_.loc[2, "loss"]
    assert resumed.restarts_.loc[1, "loss"] == pytest.approx(full.restarts_.loc[1, "loss"],
                                                             rel=1e-4)
    assert resumed.reconstruction_err_ == pytest.approx(full.reconstruction_err_, rel=1e-4)


def test_symmetric_and_tri_estimators_resume(tmp_path):
    G = nx.karate_club_graph()
    path = tmp_path / "sym.ckpt"
    full = quiet(lambda: SymmetricNMF(2, random_state=0, tol=1e-7, max_iter=2000).fit(G))
    quiet(lambda: SymmetricNMF(2, random_state=0, max_iter=5).fit(G, checkpoint=path,
                                                                   checkpoint_every=1))
    resumed = quiet(lambda: SymmetricNMF(2, random_state=0, tol=1e-7, max_iter=2000).fit(
        G, resume=path))
    assert resumed.reconstruction_err_ == pytest.approx(full.reconstruction_err_, rel=1e-3)
    assert resumed.loss_curve_["iteration"].iloc[5] == 5

    X = planted(1, 60, 40, 3)
    path = tmp_path / "tri.ckpt"
    quiet(lambda: TriNMF(3, 2, random_state=0, max_iter=5).fit(X, checkpoint=path,
                                                                checkpoint_every=5))
    assert ckpt.read(path).S is not None
    model = quiet(lambda: TriNMF(3, 2, random_state=0, max_iter=200).fit(X, resume=path))
    assert model.n_iter_ > 5 and np.isfinite(model.reconstruction_err_)


def test_resuming_another_problem_is_refused_before_any_work(X, tmp_path):
    path = tmp_path / "fit.ckpt"
    quiet(lambda: nmfkit.NMF(6, random_state=0, max_iter=5).fit(X, checkpoint=path,
                                                                  checkpoint_every=5))
    with pytest.raises(ValueError, match="written for another matrix"):
        nmfkit.NMF(6, random_state=0).fit(X * 2, resume=path)
    with pytest.raises(ValueError, match=r"n_components=6 there, 5 here.*only max_iter"):
        nmfkit.NMF(5, random_state=0).fit(X, resume=path)
    with pytest.raises(ValueError, match="written by NMF, not SymmetricNMF"):
        SymmetricNMF(6, random_state=0).fit(X[:200, :200] + X[:200, :200].T, resume=path)
    # What may change: the budget, the tolerance, verbosity, the callback.
    quiet(lambda: nmfkit.NMF(6, random_state=0, max_iter=50, tol=1e-3,
                             callback=lambda *a: None).fit(X, resume=path))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"checkpoint": "no/such/folder/fit.ckpt"}, FileNotFoundError, "does not exist"),
    ({"checkpoint": ".", "checkpoint_every": 5}, IsADirectoryError, "is a folder"),
    ({"checkpoint": "fit.ckpt", "checkpoint_every": 0}, ValueError, "positive number"),
    ({"checkpoint": "fit.ckpt", "checkpoint_every": 2.5}, ValueError, "positive number"),
    ({"resume": "no-such.ckpt"}, FileNotFoundError, "no checkpoint file"),
    ({"checkpoint": 3}, TypeError, "must be a file path"),
])
def test_bad_checkpoint_arguments(X, tmp_path, monkeypatch, kwargs, error, match):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=match):
        nmfkit.NMF(6).fit(X, **kwargs)
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_a_model_file_or_a_damaged_checkpoint_is_not_resumed(X, tmp_path):
    model_path = tmp_path / "model.nmf"
    quiet(lambda: nmfkit.NMF(6, random_state=0, max_iter=5).fit(X)).save(model_path)
    with pytest.raises(ValueError, match="not an nmfkit checkpoint file"):
        nmfkit.NMF(6).fit(X, resume=model_path)
    path = tmp_path / "fit.ckpt"
    quiet(lambda: nmfkit.NMF(6, random_state=0, max_iter=5).fit(X, checkpoint=path,
                                                                  checkpoint_every=5))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        nmfkit.NMF(6).fit(X, resume=path)


CHILD = textwrap.dedent("""
    import sys, warnings
    import numpy as np
    import nmfkit
    warnings.simplefilter("ignore")
    path, mode = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(0)
    X = rng.random((300, 6)) @ rng.random((6, 200))
    X = np.abs(X + 0.05 * X.mean() * rng.standard_normal(X.shape))
    if mode == "fit":
        model = nmfkit.NMF(6, random_state=0, tol=1e-6, max_iter=3000, solver="hals")
        print("ready", flush=True)
        model.fit(X, checkpoint=path, checkpoint_every=1)
        print("done", flush=True)
    else:  # save a model over one file, again and again
        model = nmfkit.NMF(6, random_state=0, max_iter=20).fit(X)
        model.save(path)
        print("ready", flush=True)
        while True:
            model.save(path)
""")


def _kill_after(script, path, mode, delay, *, after_first_write=False):
    """SIGKILL the child ``delay`` seconds after it is ready (or, with
    ``after_first_write``, after ``path`` first appears: the moments then fall among the
    checkpoint writes however slow the machine is to start the fit)."""
    child = subprocess.Popen([sys.executable, str(script), str(path), mode],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    if after_first_write:
        deadline = time.monotonic() + 120
        while not path.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()
    return child.stdout.read()


def test_sigkill_at_any_moment_leaves_a_whole_checkpoint_that_resumes(X, tmp_path):
    """Kill a checkpointing fit with SIGKILL at many moments: the checkpoint is always
    whole and resumes to the uninterrupted objective."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    settings = dict(n_components=6, random_state=0, tol=1e-6, max_iter=3000, solver="hals")
    full = quiet(lambda: nmfkit.NMF(**settings).fit(X))
    resumed_count = 0
    # One kill as soon as the child is ready (before any checkpoint, most likely), then
    # kills at moments after the first write, among the rewrites of the file.
    moments = [(0.0, False)] + [(d, True) for d in (0.0, 0.002, 0.01, 0.03, 0.06, 0.1, 0.2)]
    for i, (delay, after_first_write) in enumerate(moments):
        path = tmp_path / f"kill{i}.ckpt"
        out = _kill_after(script, path, "fit", delay, after_first_write=after_first_write)
        assert "done" not in out  # killed mid-fit
        if not path.exists():
            continue  # killed before the first checkpoint
        saved = ckpt.read(path)  # never torn: a whole checkpoint or none
        assert 1 <= saved.iteration <= 3000 and np.isfinite(saved.W).all()
        resumed = quiet(lambda: nmfkit.NMF(**settings).fit(X, resume=path))
        assert resumed.reconstruction_err_ == pytest.approx(full.reconstruction_err_, rel=1e-4)
        resumed_count += 1
    assert resumed_count >= 4, "too few kills landed after a checkpoint to test anything"


def test_sigkill_while_saving_over_a_model_leaves_a_whole_model(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    for i, delay in enumerate([0.0, 0.003, 0.01, 0.02, 0.05, 0.1]):
        path = tmp_path / f"model{i}.nmf"
        _kill_after(script, path, "save", delay)
        assert nmfkit.load(path).components_.shape == (6, 200)
        assert np.isfinite(nmfkit.load(path).components_).all()


ESTIMATORS = {
    "NMF": (lambda cb: nmfkit.NMF(4, random_state=0, max_iter=500, tol=0, callback=cb),
            lambda: planted(2, 80, 60, 4)),
    "NMF-mu-kl": (lambda cb: nmfkit.NMF(4, solver="mu", beta_loss="kullback-leibler",
                                        random_state=0, max_iter=500, tol=0, callback=cb),
                  lambda: planted(2, 80, 60, 4)),
    "SymmetricNMF": (lambda cb: SymmetricNMF(2, random_state=0, max_iter=500, tol=0,
                                             callback=cb),
                     lambda: nx.karate_club_graph()),
    "TriNMF": (lambda cb: TriNMF(3, 2, random_state=0, max_iter=500, tol=0, callback=cb),
               lambda: planted(3, 60, 40, 3)),
}


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_ctrl_c_keeps_the_factors_so_far_warns_once_and_leaves_a_usable_model(name, tmp_path,
                                                                             python_sigint):
    make, data = ESTIMATORS[name]

    def interrupt(iteration, W, H, loss):
        if iteration == 7:
            signal.raise_signal(signal.SIGINT)  # what Ctrl-C sends

    X = data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = make(interrupt).fit(X)
    messages = [str(w.message) for w in caught if "interrupted" in str(w.message)]
    assert len(messages) == 1, messages
    assert model.stop_reason_ == "interrupted" and model.n_iter_ == 7
    assert np.isfinite(model.components_).all() and (model.components_ >= 0).all()
    assert len(model.loss_curve_) == 8 and np.isfinite(model.reconstruction_err_)
    if name != "SymmetricNMF":
        assert np.isfinite(model.transform(X)).all()
    model.save(tmp_path / "model.nmf")
    assert np.array_equal(nmfkit.load(tmp_path / "model.nmf").components_, model.components_)
    # and usable for a new fit
    again = quiet(lambda: make(None).set_params(max_iter=20).fit(X))
    assert again.n_iter_ == 20
