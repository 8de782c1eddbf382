"""NMF on a dask array (nmfkit.distributed), on a real LocalCluster of two worker processes.

The distributed fit runs the solvers' own update rules on X's row blocks, so from the
same start it must reach the in-memory fit's factors (up to rounding); a worker killed
mid-fit must not change the result (Dask recomputes its blocks from X's source); and a
zarr matrix four times one worker's memory limit must be fitted without the workers or
the client ever holding it.
"""
from __future__ import annotations

import contextlib
import os
import signal
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import nmfkit

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
zarr = pytest.importorskip("zarr")

from nmfkit.distributed import from_npz  # noqa: E402

# A test waiting on the cluster (a worker that never comes back, a task never finished)
# fails after this many seconds rather than holding the run.
pytestmark = pytest.mark.timeout(600)

#: Each worker's memory limit.  It counts the worker process's whole memory, of which the
#: interpreter with distributed and nmfkit imported already takes 200 to 250 MB.
WORKER_MEMORY = 400e6
#: The out-of-core test's workers: fresh ones (a worker another test restarted, or that
#: held its blocks, starts from a higher floor), with room for a few chunks in flight.
OUT_OF_CORE_WORKER_MEMORY = 450e6
#: Settings under which the in-memory and the distributed iterates are the same: the
#: inner sweeps run to their budget (a block's early stop is its own, not the whole W's),
#: and no float32 phase (the distributed fit has none).
SAME_SWEEPS = {"inner_delta": 0.0, "mixed_precision": False}


@contextlib.contextmanager
def local_cluster(memory_limit):
    """A LocalCluster of two single-threaded worker processes, and its client."""
    # Only the nanny's kill at 95 % of the limit acts: with ~250 MB taken by the
    # interpreter, Dask's spilling (from 70 %) and pausing (from 80 %) would act all the
    # time on a worker that holds no data at all.
    settings = {"distributed.worker.memory.target": False,
                "distributed.worker.memory.spill": False,
                "distributed.worker.memory.pause": False,
                "distributed.worker.memory.terminate": 0.95,
                # Fresh worker processes, not copies of this (large) pytest process.
                "distributed.worker.multiprocessing-method": "spawn",
                "distributed.admin.large-graph-warning-threshold": "100MB"}
    with dask.config.set(settings), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Port 8787 is already in use" and the like
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           memory_limit=memory_limit, dashboard_address=None)
        client = distributed.Client(cluster, set_as_default=False)
    try:
        client.wait_for_workers(2)
        yield client
    finally:
        client.close()
        cluster.close()


def peak_resident_bytes():
    """This process's peak resident memory since it started its own program.

    Not ``getrusage().ru_maxrss``: Linux keeps that across fork and exec, so a worker
    started from a large pytest process would report the parent's peak. ``VmHWM`` is the
    high-water mark of the process's own address space.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status has no VmHWM line")


@pytest.fixture(scope="module")
def client():
    with local_cluster(WORKER_MEMORY) as client:
        yield client


def planted(m=240, n=30, k=4, seed=0, sparse=False):
    rng = np.random.RandomState(seed)
    X = rng.rand(m, k) @ rng.rand(k, n) + 0.05 * rng.rand(m, n)
    if sparse:
        X[rng.rand(m, n) < 0.6] = 0
    return X


def as_dask(X, rows=50, sparse=False):
    Xd = da.from_array(X, chunks=(rows, X.shape[1]))
    return Xd.map_blocks(sp.csr_matrix, meta=sp.csr_matrix((0, 0))) if sparse else Xd


def assert_same_fit(local, W_local, remote, W_remote, rtol=1e-6):
    np.testing.assert_allclose(np.asarray(W_remote), W_local, rtol=rtol, atol=rtol * W_local.max())
    np.testing.assert_allclose(remote.components_, local.components_, rtol=rtol,
                               atol=rtol * local.components_.max())
    np.testing.assert_allclose(remote.loss_curve_["loss"], local.loss_curve_["loss"], rtol=rtol)
    assert remote.reconstruction_err_ == pytest.approx(local.reconstruction_err_, rel=rtol)
    assert remote.n_iter_ == local.n_iter_ and remote.solver_ == local.solver_


# First in the file: its workers are the only ones running (the module's cluster starts
# with the next test).
#: The client of the out-of-core test, in a process of its own: LocalCluster runs its
#: scheduler in the process that made it, whose memory would be counted with the
#: client's (and tracemalloc would slow it down).
OUT_OF_CORE_CLIENT = """
import json, sys, tracemalloc
import dask.array as da, distributed, nmfkit
client = distributed.Client(sys.argv[1])
X = da.from_zarr(sys.argv[2])
# A small fit first: what importing and compiling allocates is not data the fit holds.
nmfkit.NMF(n_components=2, max_iter=2).fit(X[:100, :50])
tracemalloc.start()
model = nmfkit.NMF(n_components=int(sys.argv[3]), random_state=0, max_iter=1, tol=0)
W = model.fit_transform(X)
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({"peak": peak, "W": [list(W.shape), list(W.chunks[0])],
                  "loss": model.loss_curve_["loss"].tolist(),
                  "error": model.reconstruction_err_}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"),
                    reason="a worker's peak memory is read from /proc (Linux)")
def test_zarr_four_times_a_worker_memory_limit_is_fitted_out_of_core(tmp_path):
    with local_cluster(OUT_OF_CORE_WORKER_MEMORY) as client:
        _fit_zarr_out_of_core(client, tmp_path)


def _fit_zarr_out_of_core(client, tmp_path):
    import json
    import subprocess
    import sys

    m, n, k, rows = 225_000, 1000, 8, 1250  # 1.8 GB of float64 in 10 MB chunks
    path = str(tmp_path / "x.zarr")
    with client.as_current():
        rs = da.random.RandomState(0)
        low_rank = rs.random_sample((m, k), chunks=(rows, k)) @ rs.random_sample((k, n))
        da.to_zarr(low_rank + 0.1 * rs.random_sample((m, n), chunks=(rows, n)), path,
                   compressors=None)  # written by the workers, chunk by chunk
    assert da.from_zarr(path).nbytes >= 4 * OUT_OF_CORE_WORKER_MEMORY
    pids = client.run(os.getpid)
    run = subprocess.run([sys.executable, "-c", OUT_OF_CORE_CLIENT, client.scheduler.address,
                          path, str(k)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    worker_peaks = client.run(peak_resident_bytes)
    assert client.run(os.getpid) == pids  # no worker exceeded its limit and was restarted
    assert max(worker_peaks.values()) < OUT_OF_CORE_WORKER_MEMORY
    # The client held neither X (1.8 GB) nor W (m·k·8 = 14.4 MB), nor a chunk (10 MB): only
    # H, k x n sums and the graphs (O(blocks)).
    assert out["peak"] < min(0.75 * m * k * 8, rows * n * 8)
    assert out["W"] == [[m, k], [rows] * (m // rows)]
    assert out["loss"][-1] < out["loss"][0] and np.isfinite(out["error"])


CASES = [("hals", "frobenius"), ("mu", "frobenius"), ("mu", "kullback-leibler")]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("solver, loss", CASES)
def test_same_start_gives_the_in_memory_fit(client, solver, loss, sparse):
    X = planted(sparse=sparse)
    rng = np.random.RandomState(1)
    W0, H0 = rng.rand(X.shape[0], 4), rng.rand(4, X.shape[1])
    kw = dict(n_components=4, init="custom", solver=solver, beta_loss=loss, max_iter=12,
              tol=0, solver_options=SAME_SWEEPS)
    local = nmfkit.NMF(**kw)
    W_local = local.fit_transform(sp.csr_matrix(X) if sparse else X, W=W0, H=H0)
    with client.as_current():
        remote = nmfkit.NMF(**kw)
        W_remote = remote.fit_transform(as_dask(X, sparse=sparse), W=W0, H=H0)
        assert isinstance(W_remote, da.Array) and W_remote.chunks[0] == (50,) * 4 + (40,)
        assert isinstance(remote.components_, np.ndarray)
        W_remote = W_remote.compute()
    assert_same_fit(local, W_local, remote, W_remote)


def test_random_start_draws_the_in_memory_numbers_and_no_client_uses_threads():
    """init='random' gives each block the rows scikit-learn's stream draws for it; without
    a client the fit runs on Dask's threaded scheduler, in this process."""
    X = planted(seed=3)
    kw = dict(n_components=4, init="random", random_state=7, max_iter=15, tol=0,
              solver_options=SAME_SWEEPS)
    local = nmfkit.NMF(**kw)
    W_local = local.fit_transform(X)
    remote = nmfkit.NMF(**kw)
    W_remote = remote.fit_transform(as_dask(X, rows=70))
    assert_same_fit(local, W_local, remote, W_remote.compute())


def test_killed_worker_is_replaced_and_the_fit_ends_where_it_would_have():
    # A cluster of its own, with room to spare: the worker the nanny starts in place of
    # the killed one must not be held up by the memory limit or by the other tests' data.
    with local_cluster(1e9) as client:
        _kill_a_worker_mid_fit(client)


def _kill_a_worker_mid_fit(client):
    X = planted(m=2000, n=60, seed=4)
    kw = dict(n_components=4, init="random", random_state=0, max_iter=30, tol=0,
              solver_options=SAME_SWEEPS)
    local = nmfkit.NMF(**kw)
    local.fit(X)
    pids = client.run(os.getpid)
    victim = next(iter(pids.values()))
    killed = []

    def kill_one_worker(iteration, W, H, loss):
        if iteration == 8 and not killed:
            os.kill(victim, signal.SIGKILL)  # its blocks of X and W are gone with it
            killed.append(time.perf_counter())

    with client.as_current():
        remote = nmfkit.NMF(**kw, callback=kill_one_worker)
        remote.fit(as_dask(X, rows=250))
    assert killed, "the callback never ran"
    client.wait_for_workers(2, timeout=120)
    assert victim not in client.run(os.getpid).values()  # the nanny started a new one
    assert remote.n_iter_ == 30
    assert remote.loss_curve_["loss"].iloc[-1] == pytest.approx(
        local.loss_curve_["loss"].iloc[-1], rel=1e-6)
    assert remote.reconstruction_err_ == pytest.approx(local.reconstruction_err_, rel=1e-6)


def test_transform_and_inverse_transform_stay_lazy(client):
    X = planted(seed=5)
    model = nmfkit.NMF(n_components=4, random_state=0, max_iter=50).fit(X)
    Xd = as_dask(X, rows=60)
    with client.as_current():
        W = model.transform(Xd)
        back = model.inverse_transform(W)
        assert isinstance(W, da.Array) and isinstance(back, da.Array)
        assert W.chunks == (Xd.chunks[0], (4,))
        W_now, back_now = W.compute(), back.compute()
    W_local = model.transform(X)
    np.testing.assert_allclose(W_now, W_local, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(back_now, W_local @ model.components_, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_npz_shards_are_read_block_by_block(tmp_path, sparse):
    X = planted(seed=6, sparse=sparse)
    paths = []
    for i, a in enumerate(range(0, X.shape[0], 80)):
        paths.append(tmp_path / f"part-{i}.npz")
        block = X[a:a + 80]
        if sparse:
            sp.save_npz(paths[-1], sp.csr_matrix(block))
        else:
            np.savez(paths[-1], X=block)
    Xd = from_npz(paths)
    assert Xd.chunks[0] == (80, 80, 80)
    kw = dict(n_components=4, init="random", random_state=2, max_iter=10, tol=0,
              solver_options=SAME_SWEEPS)
    local = nmfkit.NMF(**kw)
    W_local = local.fit_transform(sp.csr_matrix(X) if sparse else X)
    remote = nmfkit.NMF(**kw)
    assert_same_fit(local, W_local, remote, remote.fit_transform(Xd).compute())


@pytest.mark.parametrize("kwargs, fit_kwargs, message", [
    ({"solver": "pgd"}, {}, "solver='pgd' does not run on a dask array"),
    ({"solver": "hals", "beta_loss": "kullback-leibler"}, {},
     r"solver='hals' \(which runs 'newton-cd' here\) does not run on a dask array.*'mu'"),
    ({"missing": "mask"}, {}, "missing='mask' is not available for a dask array"),
    ({"init": "nndsvda"}, {}, "init='nndsvda' needs an SVD of all of X"),
    ({"shuffle": True}, {}, "shuffle=True"),
    ({"orthogonal": "H"}, {}, "orthogonal='H' is not available for a dask array"),
    ({}, {"checkpoint": "never-written.npz"}, "checkpoint= and resume= are not available"),
    ({"init": "custom", "n_components": 2},
     {"W": -np.ones((240, 2)), "H": np.ones((2, 30))}, "initial factors must be >= 0"),
])
def test_what_the_distributed_fit_does_not_do_is_refused_before_any_work(kwargs, fit_kwargs,
                                                                         message):
    with pytest.raises(ValueError, match=message):
        nmfkit.NMF(max_iter=2, **kwargs).fit(as_dask(planted()), **fit_kwargs)


def test_bad_values_are_named_with_their_position_in_the_whole_matrix():
    X = planted()
    X[130, 7] = -0.25  # in the third block of 50 rows
    with pytest.raises(ValueError, match=r"1 negative entry \(first at row 130, column 7, "
                                         r"value -0.25\)"):
        nmfkit.NMF(n_components=3).fit(as_dask(X))
    X[130, 7], X[10, 3] = 0.5, np.nan
    with pytest.raises(ValueError, match=r"NaN value\(s\) \(first at row 10, column 3\)"):
        nmfkit.NMF(n_components=3).fit(as_dask(X, sparse=True))


def test_a_dask_start_w_is_checked_where_it_lives():
    X = planted()
    W0 = da.from_array(np.full((240, 3), 0.5), chunks=(100, 3))
    H0 = np.full((3, 30), 0.5)
    model = nmfkit.NMF(n_components=3, init="custom", max_iter=3, tol=0)
    W = model.fit_transform(as_dask(X), W=W0, H=H0)
    assert W.chunks[0] == (50,) * 4 + (40,)  # X's row chunks, not W0's
    with pytest.raises(ValueError, match="full of zeros"):
        model.fit(as_dask(X), W=W0 * 0, H=H0)


@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler"])
def test_an_interrupted_fit_keeps_the_last_factors_and_their_divergence(loss):
    """Ctrl-C (a KeyboardInterrupt) during a fit on a dask X: the factors of the last
    finished iteration are kept, as W on the blocks, with their exact divergence."""
    X = planted(seed=8)

    def interrupt(iteration, W, H, value):
        if iteration == 4:
            raise KeyboardInterrupt

    model = nmfkit.NMF(n_components=4, solver="mu", beta_loss=loss, init="random",
                       random_state=0, max_iter=50, tol=0, callback=interrupt)
    with pytest.warns(UserWarning, match="interrupted at iteration 4"):
        W = model.fit_transform(as_dask(X))
    assert model.stop_reason_ == "interrupted" and model.n_iter_ == 4
    W = W.compute()
    expected = nmfkit.objectives.beta_divergence(X, W, model.components_,
                                                 2.0 if loss == "frobenius" else 1.0)
    assert model.reconstruction_err_ == pytest.approx(np.sqrt(2 * expected), rel=1e-10)



def test_select_rank_runs_its_fits_on_the_cluster(client):
    """Under joblib's Dask backend (``joblib.parallel_config(backend="dask")``) the fits
    of select_rank run on the cluster's workers, with the same results as here."""
    import joblib

    X = planted(m=60, n=40, seed=9)
    kw = dict(ranks=range(2, 7), random_state=0, max_iter=300)
    here = nmfkit.select_rank(X, **kw)
    with client.as_current(), distributed.get_task_stream(client) as stream, \
            joblib.parallel_config(backend="dask"):
        there = nmfkit.select_rank(X, **kw)
    workers = {task["worker"] for task in stream.data}
    # joblib batches several fits into one task, and how many it batches depends on how
    # fast the first ones came back, so the count of tasks varies from run to run: what
    # holds is that the fits ran on the cluster, on both of its workers.
    assert workers <= set(client.scheduler_info()["workers"]) and len(workers) == 2
    assert there.best_rank == here.best_rank
    np.testing.assert_allclose(there.table.to_numpy(dtype=float),
                               here.table.to_numpy(dtype=float), rtol=1e-8, equal_nan=True)
