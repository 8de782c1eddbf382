"""nmfkit on a GPU beside nmf-torch and torchnmf on the GPU and nmfkit / scikit-learn on the CPU.

Issue 24's GPU benchmark.  Problems (deterministic from seeds, cached under
``benchmarks/.cache/`` in the layout of ``problems.py``):

- ``dense``: 100,000 x 10,000 float32, planted rank 64 (exponential factors) + 5 %
  half-normal noise, k = 64 (the recipe of the speed issue's problems a and d, scaled up);
- ``sparse``: CSR 1,000,000 x 30,000, 0.2 % of the positions (uniform), values from a
  planted rank-20 model + noise, float32, k = 20 (problem e's recipe, scaled up).

``--quick`` uses small sizes (dense 3,000 x 800, k = 16; sparse 30,000 x 3,000 at 0.2 %,
k = 10) and short budgets; ``--device cpu`` runs the GPU contenders on PyTorch's CPU, so
the whole benchmark is smoke-tested on a machine without a GPU.

Contenders (all from the same W0, H0: scikit-learn's 'random' scale, fixed seed; tol = 0):

- ``nmfkit`` on ``--device``: ``nmfkit.NMF(k, init='custom', device=DEVICE)`` on a torch
  tensor already on the device (sparse: a torch sparse CSR tensor).  Where the estimator
  refuses, the registered HALS solver is run on the tensors through
  ``nmfkit.solvers.run`` (the array-API path the tests cover); which one ran is recorded
  as ``mode``.
- ``nmftorch``: nmf-torch's ``run_nmf`` (``algo='halsvar'``, its default, batch mode,
  ``use_gpu``), its initialiser replaced by W0, H0.  Dense input only.
- ``torchnmf``: torchnmf's ``NMF`` module on the device, ``.fit(X, beta=2)``
  (multiplicative updates through autograd); sparse input as a torch sparse COO tensor,
  the sparse format its ``fit`` takes.
- ``nmfkit-cpu``: ``nmfkit.NMF(k, init='custom')`` on NumPy / scipy.sparse.
- ``sklearn-cd``: scikit-learn's ``NMF(solver='cd', init='custom')``.

Protocol.  Every (problem, contender, round) is a fresh process (this script with
``--worker``), threads fixed for all of them (``--threads``, default all cores:
``OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS``, ``OMP_WAIT_POLICY=PASSIVE``, threadpoolctl,
``torch.set_num_threads``).  In each: the data is loaded and put on the contender's
device in its own format (not timed), then one untimed 2-iteration warm-up fit.  Every
clock reading follows ``torch.cuda.synchronize()`` on a GPU.

- Round 0 traces: the objective ½‖X − WH‖² after every iteration, evaluated by the
  harness in float64 accumulation on ``--device`` (dense: the exact residual, row block by
  row block; sparse: the trace identity with X in float64), its time excluded from the
  clock.  Each library is hooked at its iteration: nmfkit's ``callback``, nmf-torch's
  ``_update_W``, torchnmf's update function, scikit-learn's private
  ``_update_coordinate_descent`` (wrapped in this process only).  A trace stops after
  ``--trace-seconds`` of fit time (CPU contenders: ``--cpu-trace-seconds``), at
  ``--trace-iters``, or when 20 iterations lowered the objective by less than 1e-7 of it.
- Targets: ``best`` = the lowest objective any trace reached; ``1%`` = best x 1.01,
  ``0.1%`` = best x 1.001; ``common`` = the worst final objective among the GPU
  (``--device``) contenders, which every one of them reached.
- Timed runs.  Round 0 (the traced process) also runs a fit with a clock-only hook
  (synchronise, read the clock) as long as the trace, and a plain fit (no hook) as long;
  rounds 1 .. ``--rounds``-1 (GPU contenders only, order rotated each round, after all
  traces) run the clock-only fit up to the last target iteration and one plain fit per
  target, of as many iterations as the trace needed to reach it.
  *Seconds per iteration*: the clock-only runs' time from the end of iteration 1 to
  the last iteration, over the iterations between.  *Time to a target*: the plain fits'
  time, input checks, set-up and final steps included (re-evaluated: a fit counts when
  its objective is at most the target x (1 + 1e-5)).  *Fixed cost*: plain time − iterations x
  s/iter.  The plain fits' objectives against the trace's at the same iteration check
  that the hooks did not change the iterates.  CPU contenders run once: their times come
  from the trace's clock (evaluation excluded), their fixed cost from a 3-iteration
  plain fit.
- Floor: the products one iteration of an alternating method needs, timed with torch on
  each device with the problem's shapes (X Hᵀ, Wᵀ X, WᵀW, HHᵀ; sparse X in CSR, Wᵀ X
  the faster of ``X.t() @ W`` and a stored Xᵀ), median of repeats after warm-up, float32
  at PyTorch's default matmul precision (TF32 timed too, for information).  On the CPU,
  NumPy / scipy are timed as well and the faster of each product is the floor.
- Issue 24's targets: nmfkit's seconds per iteration within 2x of the GPU floor; its
  time to the objective at least 2x shorter than the fastest GPU peer's.

Usage::

    python benchmarks/gpu.py                          # full run on a CUDA GPU
    python benchmarks/gpu.py --device cpu --quick     # smoke test without a GPU
    python benchmarks/gpu.py --out DIR                # DIR/gpu.json and DIR/gpu.md
    python benchmarks/gpu.py --problems dense --contenders nmfkit,nmftorch --rounds 5

Results: ``benchmarks/results/gpu.json`` and ``gpu.md`` (``--quick``: ``gpu-quick.*``),
or ``--out DIR``; the Markdown table is printed too.  ``--deadline`` (seconds) stops
starting new timed rounds once passed, so a run on a leased machine ends in time; the
JSON is rewritten after every process, so a killed run leaves what it measured.
``benchmarks/gpu_device_run.sh`` installs and runs everything on a GPU machine.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import platform
import signal
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path


def _threads_from_argv() -> int:
    if "--threads" in sys.argv:
        return int(sys.argv[sys.argv.index("--threads") + 1])
    return int(os.environ.get("NMFKIT_BENCH_THREADS", os.cpu_count() or 1))


THREADS = _threads_from_argv()
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "NUMBA_NUM_THREADS"):
    os.environ[_name] = str(THREADS)
os.environ["NMFKIT_BENCH_THREADS"] = str(THREADS)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import problems as bench_problems  # noqa: E402

Problem = bench_problems.Problem

FULL = {
    "dense": Problem("gpu-dense", "dense 100,000 x 10,000 float32, planted rank 64 + 5 % "
                     "noise, k = 64", "dense", (100_000, 10_000), 64, "frobenius",
                     dtype="float32", rank_true=64, noise=0.05, seed=24),
    "sparse": Problem("gpu-sparse", "sparse CSR 1,000,000 x 30,000, 0.2 % stored, planted "
                      "rank 20, float32, k = 20", "sparse", (1_000_000, 30_000), 20,
                      "frobenius", dtype="float32", rank_true=20, density=0.002,
                      noise=0.05, seed=25),
}
QUICK = {
    "dense": dataclasses.replace(FULL["dense"], key="gpu-dense-quick", shape=(3_000, 800),
                                 k=16, rank_true=16, title="dense 3,000 x 800 float32, "
                                 "planted rank 16 + 5 % noise, k = 16"),
    "sparse": dataclasses.replace(FULL["sparse"], key="gpu-sparse-quick",
                                  shape=(30_000, 3_000), k=10, rank_true=10,
                                  title="sparse CSR 30,000 x 3,000, 0.2 % stored, planted "
                                  "rank 10, float32, k = 10"),
}

#: Budgets: (full, quick).
DEFAULTS = {
    "rounds": (2, 2), "trace_seconds": (4.0, 1.5), "cpu_trace_seconds": (8.0, 1.5),
    "trace_iters": (3000, 400), "deadline": (330.0, 150.0), "worker_timeout": (240.0, 90.0),
}
CONTENDERS = ["nmfkit", "nmftorch", "torchnmf", "nmfkit-cpu", "sklearn-cd"]
STALL_WINDOW, STALL_DECREASE = 20, 1e-7
#: A timed fit of as many iterations as the trace needed counts as reaching the target
#: within this relative slack (a GPU's reductions need not repeat bit for bit).
REACH_RTOL = 1e-5
#: Traces (every contender's one measured run) still start this long past --deadline;
#: only the repeated rounds stop at it.
TRACE_GRACE = 90.0


# ============================================================================ data
def _planted_dense_float32(p: Problem, path: Path):
    """X = W H + noise x mean(WH) x |N(0, 1)|, written block by block in float32 (the
    float64 recipe of problems.py would need 24 GB of temporaries at this size)."""
    rng = np.random.default_rng(p.seed)
    m, n = p.shape
    W = rng.exponential(1.0, (m, p.rank_true)).astype(np.float32)
    H = rng.exponential(1.0, (p.rank_true, n)).astype(np.float32)
    # mean(WH) = Σ_r mean_i(W_ir) mean_j(H_rj)
    scale = p.noise * float(W.mean(axis=0, dtype=np.float64) @ H.mean(axis=1, dtype=np.float64))
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(m, n))
    rows = max(1, (1 << 24) // n)
    for a in range(0, m, rows):
        B = W[a:a + rows] @ H
        noise = rng.standard_normal(B.shape, dtype=np.float32)
        np.abs(noise, out=noise)
        noise *= scale
        B += noise
        X[a:a + rows] = B
    X.flush()
    return np.load(path, mmap_mode="r")


def _planted_sparse_float32(p: Problem) -> sp.csr_matrix:
    """Entries at uniformly random positions (duplicates merged), valued by a planted
    rank-r model (exponential factors) plus noise x mean x |N(0, 1)|.  Duplicates are
    dropped by sorting the linear positions: ``np.unique`` took 38x as long on 12
    million positions with NumPy 2.4."""
    rng = np.random.default_rng(p.seed)
    m, n = p.shape
    W = rng.exponential(1.0, (m, p.rank_true)).astype(np.float32)
    Ht = rng.exponential(1.0, (n, p.rank_true)).astype(np.float32)
    position = np.sort(rng.integers(0, m * n, int(round(p.density * m * n)), dtype=np.int64))
    new = np.empty(position.size, dtype=bool)
    new[:1] = True
    np.not_equal(position[1:], position[:-1], out=new[1:])
    position = position[new]
    rows, cols = np.divmod(position, n)
    del position, new
    values = np.empty(rows.size, dtype=np.float32)
    step = 1 << 21
    for a in range(0, rows.size, step):
        values[a:a + step] = np.einsum("ij,ij->i", W[rows[a:a + step]], Ht[cols[a:a + step]])
    noise = rng.standard_normal(values.size, dtype=np.float32)
    np.abs(noise, out=noise)
    values += noise * np.float32(p.noise * values.mean(dtype=np.float64))
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=m), out=indptr[1:])
    return sp.csr_matrix((values, cols.astype(np.int32), indptr), shape=(m, n))


def ensure_cached(p: Problem) -> Path:
    """The problem's cache folder, in problems.py's layout so that ``problems.load``
    reads it."""
    d = bench_problems.cache_dir(p)
    if (d / "done").exists():
        return d
    d.mkdir(parents=True, exist_ok=True)
    if p.sparse:
        X = _planted_sparse_float32(p)
        np.save(d / "data.npy", X.data)
        np.save(d / "indices.npy", X.indices)
        np.save(d / "indptr.npy", X.indptr)
        nnz = int(X.nnz)
    else:
        X = _planted_dense_float32(p, d / "X.npy")
        nnz = int(np.count_nonzero(X))
    W0, H0 = bench_problems.initial_factors(X, p.k, seed=p.seed + 1000)
    np.save(d / "W0.npy", W0)
    np.save(d / "H0.npy", H0)
    meta = {"sparse": bool(p.sparse), "shape": list(X.shape), "nnz": nnz,
            "dtype": str(X.dtype), "problem": dataclasses.asdict(p)}
    (d / "meta.json").write_text(json.dumps(meta, indent=1))
    (d / "done").write_text("")
    return d


# ============================================================================ torch helpers
def _torch():
    import torch

    return torch


def synchronizer(device):
    torch = _torch()
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def to_device(A, device, dtype=None):
    """A dense array (NumPy or torch) as a torch tensor on ``device``."""
    torch = _torch()
    if isinstance(A, torch.Tensor):
        A = A.detach()
    else:
        A = torch.from_numpy(np.ascontiguousarray(A))
    return A.to(device=device, dtype=dtype or A.dtype)


def sparse_to_device(X, device, layout="csr", dtype=None):
    """A scipy CSR matrix as a torch sparse CSR (or coalesced COO) tensor on ``device``."""
    torch = _torch()
    X = sp.csr_matrix(X)
    values = torch.from_numpy(X.data if dtype is None else X.data.astype(dtype))
    if layout == "csr":
        with warnings.catch_warnings():  # "sparse CSR tensor support is in beta"
            warnings.simplefilter("ignore", UserWarning)
            T = torch.sparse_csr_tensor(torch.from_numpy(X.indptr.astype(np.int64)),
                                        torch.from_numpy(X.indices.astype(np.int64)), values,
                                        size=X.shape)
        return T.to(device)
    C = X.tocoo()
    index = torch.from_numpy(np.vstack([C.row, C.col]).astype(np.int64))
    return torch.sparse_coo_tensor(index, values, size=X.shape).coalesce().to(device)


class Objective:
    """½‖X − WH‖² of any contender's W, H, evaluated on one device in float64 accumulation.

    Dense X: the exact residual, row block by row block (float32 residuals, summed in
    float64).  Sparse X: the trace identity ‖X‖² − 2⟨X Hᵀ, W⟩ + ⟨WᵀW, HHᵀ⟩ with X, W, H in
    float64, so WH is never formed.
    """

    def __init__(self, X, device):
        torch = _torch()
        self.device = device
        self.sparse = sp.issparse(X)
        if self.sparse:
            self.X = sparse_to_device(X, device, "csr", dtype=np.float64)
            self.norm2 = float(np.dot(X.data.astype(np.float64), X.data.astype(np.float64)))
        else:
            self.X = to_device(X, device)
            n = X.shape[1]
            self.rows = max(1, ((1 << 27) if device.type == "cuda" else (1 << 22)) // n)
            self.norm2 = float(sum(float(torch.sum(self.X[a:a + self.rows] ** 2,
                                                   dtype=torch.float64))
                                   for a in range(0, X.shape[0], self.rows)))

    def __call__(self, W, H) -> float:
        torch = _torch()
        with torch.no_grad():
            if self.sparse:
                W = to_device(W, self.device, torch.float64)
                H = to_device(H, self.device, torch.float64)
                cross = float(torch.sum((self.X @ H.T.contiguous()) * W))
                grams = float(torch.sum((W.T @ W) * (H @ H.T)))
                return max(self.norm2 - 2.0 * cross + grams, 0.0) / 2.0
            W = to_device(W, self.device, self.X.dtype)
            H = to_device(H, self.device, self.X.dtype)
            total = 0.0
            for a in range(0, self.X.shape[0], self.rows):
                R = self.X[a:a + self.rows] - W[a:a + self.rows] @ H
                total += float(torch.sum(R * R, dtype=torch.float64))
            return total / 2.0


# ============================================================================ contenders
class Skip(Exception):
    """This contender cannot fit this problem; the message says why."""


class StopTrace(Exception):
    """Raised from a hook to end a traced run."""


class Adapter:
    """One contender.  ``prepare`` puts X and the start on its device in its format (not
    timed); ``fit(max_iter, hook)`` runs the library's fit, calling ``hook(W, H)`` after
    every iteration when given (a True return ends the fit), and returns
    ``(W, H, n_iter)`` (W, H None when a hook ended it)."""

    name = ""
    library = ""
    on_device = True  # runs on --device (False: on the CPU, NumPy)
    how = ""

    def static_skip(self, p: Problem, device_type: str) -> str | None:
        return None

    def prepare(self, X, W0, H0, device, k):
        raise NotImplementedError

    def fit(self, max_iter, hook=None):
        raise NotImplementedError

    mode = ""


def _nmfkit_callback(hook):
    """nmfkit's ``callback(iteration, W, H, loss)`` calling ``hook(W, H)``; True stops."""
    if hook is None:
        return None
    return lambda iteration, W, H, loss: True if hook(W, H) else None


class NmfkitDevice(Adapter):
    name, library = "nmfkit", "nmfkit"

    def prepare(self, X, W0, H0, device, k):
        self.device, self.k = device, k
        self.X = sparse_to_device(X, device) if sp.issparse(X) else to_device(X, device)
        self.W0, self.H0 = to_device(W0, device), to_device(H0, device)
        self.mode, self.mode_notes = None, []

    def _estimator(self, max_iter, callback):
        import nmfkit

        model = nmfkit.NMF(n_components=self.k, init="custom", tol=0.0, max_iter=max_iter,
                           random_state=0, device=str(self.device), callback=callback)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            W = model.fit_transform(self.X, W=self.W0, H=self.H0)
        self.solver = getattr(model, "solver_", None)
        return W, model.components_, int(model.n_iter_)

    def _solvers_run(self, max_iter, callback):
        from nmfkit import solvers
        from nmfkit.monitor import Monitor

        self.solver = "hals"
        result = solvers.run(solvers.get("hals"), self.X, self.W0, self.H0,
                             params=solvers.SolverParams(max_iter=max_iter),
                             monitor=Monitor(tol=0.0, max_iter=max_iter, callback=callback))
        return result.W, result.H, int(result.n_iter)

    def fit(self, max_iter, hook=None):
        callback = _nmfkit_callback(hook)
        if self.mode is None:  # the warm-up decides which path runs, once
            for mode, run in (("estimator", self._estimator), ("solvers.run", self._solvers_run)):
                try:
                    out = run(max_iter, callback)
                except Exception as exc:  # the estimator's device support is work in progress
                    self.mode_notes.append(f"{mode}: {type(exc).__name__}: {_first_line(exc)}")
                    continue
                self.mode = mode
                return out
            raise Skip("; ".join(self.mode_notes))
        run = self._estimator if self.mode == "estimator" else self._solvers_run
        return run(max_iter, callback)

    @property
    def how(self):
        if self.mode == "estimator":
            return f"NMF(device='{self.device}') on a torch tensor there"
        return f"solvers.run(get('hals')) on torch tensors on {self.device}"


class NmfkitCpu(Adapter):
    name, library, on_device = "nmfkit-cpu", "nmfkit", False
    how = "NMF() on NumPy / scipy.sparse"

    def prepare(self, X, W0, H0, device, k):
        self.X, self.W0, self.H0, self.k = X, W0, H0, k
        self.mode = "estimator"

    def fit(self, max_iter, hook=None):
        import nmfkit

        callback = _nmfkit_callback(hook)
        model = nmfkit.NMF(n_components=self.k, init="custom", tol=0.0, max_iter=max_iter,
                           random_state=0, callback=callback)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            W = model.fit_transform(self.X, W=self.W0, H=self.H0)
        self.solver = getattr(model, "solver_", None)
        return W, model.components_, int(model.n_iter_)


class SklearnCd(Adapter):
    """scikit-learn has no per-iteration callback: its private per-half-step function is
    wrapped in this process, counting calls (two per iteration: W, then H)."""

    name, library, on_device = "sklearn-cd", "scikit-learn", False
    how = "NMF(solver='cd')"

    def prepare(self, X, W0, H0, device, k):
        from sklearn.decomposition import _nmf

        self.X, self.W0, self.H0, self.k = X, W0, H0, k
        self.mode = "estimator"
        self._hook, self._calls = None, 0
        update = _nmf._update_coordinate_descent
        adapter = self

        def counted(X_, W_, Ht_, *args, **kwargs):
            violation = update(X_, W_, Ht_, *args, **kwargs)
            adapter._calls += 1
            if adapter._hook is not None and adapter._calls % 2 == 0:
                # the H half-step: called as (Xᵀ, Hᵀ, W)
                if adapter._hook(Ht_, W_.T):
                    raise StopTrace
            return violation

        _nmf._update_coordinate_descent = counted

    def fit(self, max_iter, hook=None):
        from sklearn.decomposition import NMF

        self._hook, self._calls = hook, 0
        model = NMF(n_components=self.k, init="custom", solver="cd", tol=0.0,
                    max_iter=max_iter)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # copies: scikit-learn's coordinate descent updates the start in place
                W = model.fit_transform(self.X, W=self.W0.copy(), H=self.H0.copy())
        except StopTrace:
            return None, None, self._calls // 2
        return W, model.components_, int(model.n_iter_)


class NmfTorch(Adapter):
    """nmf-torch's run_nmf; its class methods are patched in this process: the
    initialiser puts W0, H0 in place (it has no custom start), ``_update_W`` (the last
    step of its iteration) counts and calls the hook.  nmf-torch names the factors
    X ≈ H W, H (m, k), W (k, n)."""

    name, library = "nmftorch", "nmf-torch"
    algo = "halsvar"

    def static_skip(self, p, device_type):
        if p.sparse:
            m, n = p.shape
            return (f"nmf-torch takes dense input only: X would be {m * n * 4 / 2**30:.3g} "
                    "GiB as a dense float32 matrix")
        return None

    def prepare(self, X, W0, H0, device, k):
        torch = _torch()
        from nmf.nmf_models import NMFBatchHALS
        from nmf.nmf_models._nmf_base import NMFBase

        self.device, self.k = device, k
        self.X = to_device(X, device)
        self.W0, self.H0 = to_device(W0, device), to_device(H0, device)
        self.mode = f"run_nmf(algo='{self.algo}', mode='batch')"
        self._hook, self._iters = None, 0
        adapter = self

        def initialize(model, eps=1e-6):
            model.H, model.W = adapter.W0.clone(), adapter.H0.clone()
            # run_nmf reads reconstruction_err, set only every 10th iteration
            model._cur_err = torch.tensor(float("nan"))

        update_W = NMFBatchHALS._update_W

        def traced_update_W(model):
            update_W(model)
            adapter._iters += 1
            if adapter._hook is not None and adapter._hook(model.H, model.W):
                raise StopTrace

        NMFBase._initialize_H_W = initialize
        NMFBatchHALS._update_W = traced_update_W

    def fit(self, max_iter, hook=None):
        from nmf import run_nmf

        self._hook, self._iters = hook, 0
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # it prints every 10 iterations
                H, W, _ = run_nmf(self.X, n_components=self.k, init="random",
                                  beta_loss="frobenius", algo=self.algo, mode="batch",
                                  tol=0.0, n_jobs=THREADS, random_state=0,
                                  use_gpu=self.device.type == "cuda", fp_precision="float",
                                  batch_max_iter=max_iter)
        except StopTrace:
            return None, None, self._iters
        return H, W, self._iters

    @property
    def how(self):
        return (f"run_nmf(algo='{self.algo}', use_gpu={self.device.type == 'cuda'}) on a "
                "torch tensor on the device")


class TorchNmf(Adapter):
    """torchnmf's NMF module (V ≈ H Wᵀ: its H is our W, its W our Hᵀ).  Its update
    function is wrapped in this process to count the two half-steps of an iteration
    (W, then H) and call the hook after the second."""

    name, library = "torchnmf", "torchnmf"

    def prepare(self, X, W0, H0, device, k):
        import torchnmf.nmf as tn

        self.device, self.k = device, k
        self.sparse = sp.issparse(X)
        self.X = sparse_to_device(X, device, "coo") if self.sparse else to_device(X, device)
        self.W0, self.H0 = to_device(W0, device), to_device(H0, device)
        self.mode = "NMF(W=, H=).fit(X, beta=2)" + (" on sparse COO" if self.sparse else "")
        self._hook, self._calls, self._model = None, 0, None
        adapter = self
        for fname in ("_double_backward_update", "_sp_double_backward_update"):
            original = getattr(tn, fname)

            def counted(*args, _original=original, **kwargs):
                out = _original(*args, **kwargs)
                adapter._calls += 1
                if adapter._hook is not None and adapter._calls % 2 == 0:
                    model = adapter._model
                    if adapter._hook(model.H.detach(), model.W.detach().T):
                        raise StopTrace
                return out

            setattr(tn, fname, counted)

    def fit(self, max_iter, hook=None):
        torch = _torch()
        from torchnmf.nmf import NMF

        self._hook, self._calls = hook, 0
        model = NMF(W=self.H0.T.contiguous(), H=self.W0.clone())
        self._model = model
        try:
            n_iter = model.fit(self.X, beta=2, tol=0.0, max_iter=max_iter)
        except StopTrace:
            return None, None, self._calls // 2
        with torch.no_grad():
            return model.H.detach(), model.W.detach().T, int(n_iter)

    @property
    def how(self):
        return "NMF module .fit(beta=2) on the device" + (
            " (sparse COO: the sparse format its fit takes)" if self.sparse else "")


ADAPTERS = {"nmfkit": NmfkitDevice, "nmftorch": NmfTorch, "torchnmf": TorchNmf,
            "nmfkit-cpu": NmfkitCpu, "sklearn-cd": SklearnCd}


def _first_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else "")[:300]


# ============================================================================ worker
def _limit_threads():
    torch = _torch()
    torch.set_num_threads(THREADS)
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(THREADS)
    except ImportError:
        return contextlib.nullcontext()


def _clock_hook(sync, t0, times):
    """A hook that only reads the clock (after synchronising)."""
    def hook(W, H):
        sync()
        times.append(time.perf_counter() - t0)
        return False
    return hook


def _trace(adapter, sync, objective, budget_s, max_iters):
    """Objective after every iteration, on a clock that excludes the evaluation."""
    points = []
    state = {"excluded": 0.0}

    def hook(W, H):
        sync()
        now = time.perf_counter()
        fit_time = now - t0 - state["excluded"]
        value = objective(W, H)
        points.append((len(points) + 1, fit_time, value))
        state["excluded"] += time.perf_counter() - now
        objs = [q[2] for q in points]
        stalled = (len(objs) > STALL_WINDOW
                   and objs[-STALL_WINDOW - 1] - objs[-1] <= STALL_DECREASE * objs[-1])
        return fit_time >= budget_s or len(points) >= max_iters or stalled

    sync()
    t0 = time.perf_counter()
    adapter.fit(max_iters, hook)
    return points


def _timed(adapter, sync, max_iter, hook_maker=None):
    sync()
    t0 = time.perf_counter()
    hook = hook_maker(t0) if hook_maker else None
    W, H, n_iter = adapter.fit(max_iter, hook)
    sync()
    return time.perf_counter() - t0, W, H, n_iter


def worker(task):
    torch = _torch()
    out = {"task": task["kind"], "pid": os.getpid(), "load_average": _load()}
    device = torch.device(task["device"])
    with _limit_threads():
        if task["kind"] == "floor":
            out.update(floor(task, device))
            out["info"] = worker_info(device)
            return out
        p = Problem(**{**task["problem"], "shape": tuple(task["problem"]["shape"])})
        adapter = ADAPTERS[task["contender"]]()
        run_device = device if adapter.on_device else torch.device("cpu")
        sync_eval = synchronizer(device)
        sync = synchronizer(run_device) if adapter.on_device else sync_eval
        t = time.perf_counter()
        X, W0, H0, _ = bench_problems.load(Path(task["cache"]))
        out["load_s"] = time.perf_counter() - t
        t = time.perf_counter()
        objective = Objective(X, device)
        out["norm2"] = objective.norm2
        try:
            adapter.prepare(X, W0, H0, run_device, p.k)
            sync()
            out["prepare_s"] = time.perf_counter() - t
            t = time.perf_counter()
            adapter.fit(2)  # warm-up: kernels, caches, compiled code; decides nmfkit's path
            sync()
            out["warmup_s"] = time.perf_counter() - t
        except Skip as exc:
            out["skip"] = str(exc)
            return out
        except Exception as exc:  # a library that cannot run this problem here
            out["skip"] = f"{type(exc).__name__}: {_first_line(exc)}"
            out["traceback"] = traceback.format_exc()[-2000:]
            return out
        out["mode"] = adapter.mode
        out["how"] = adapter.how
        out["mode_notes"] = getattr(adapter, "mode_notes", [])
        out["solver"] = getattr(adapter, "solver", None)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        if task.get("trace"):
            out["start_objective"] = objective(W0, H0)
            out["trace"] = _trace(adapter, sync, objective, task["trace_seconds"],
                                  task["trace_iters"])
        length = task.get("length") or len(out.get("trace", [])) or 2
        if adapter.on_device and task.get("clock_run", True):
            times = []
            seconds, _, _, n = _timed(adapter, sync, length,
                                      lambda t0: _clock_hook(sync, t0, times))
            out["clock_run"] = {"iterations": n, "times": times, "seconds": seconds}
        if task.get("trace"):  # once per contender: the fixed cost and the iterates' check
            plain_iters = length if adapter.on_device else min(3, length)
            seconds, W, H, n = _timed(adapter, sync, plain_iters)
            out["plain"] = {"iterations": n, "seconds": seconds, "objective": objective(W, H)}
        out["plain_fits"] = {}
        for it in sorted(set(task.get("plain_iterations") or [])):  # fits to the targets
            seconds, W, H, n = _timed(adapter, sync, it)
            out["plain_fits"][str(it)] = {"iterations": n, "seconds": seconds,
                                          "objective": objective(W, H)}
        if device.type == "cuda":
            out["peak_gpu_bytes"] = int(torch.cuda.max_memory_allocated(device))
    return out


def floor(task, device):
    """Time of the products of one iteration with the problem's shapes, per device."""
    torch = _torch()
    X, W0, H0, meta = bench_problems.load(Path(task["cache"]))
    result = {}
    devices = [device] + ([torch.device("cpu")] if device.type == "cuda" and task["cpu_floor"]
                          else [])
    for dev in devices:
        result[dev.type] = _floor_on(torch, dev, X, W0, H0)
    return {"floor": result}


def _median_time(torch, dev, op, min_reps=5, min_seconds=0.5, max_reps=50):
    """Median time of ``op`` after a warm-up call; slow products (a second or so of
    single-threaded sparse work on the CPU) get three repeats, not five."""
    sync = synchronizer(dev)
    sync()
    t = time.perf_counter()
    op()
    sync()
    first = time.perf_counter() - t
    if first > 2.0:  # one more call is all such a product gets
        min_reps, min_seconds = 1, 0.0
    elif first > 0.2:
        min_reps, min_seconds = 3, 0.0
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps
                                     or time.perf_counter() - start < min_seconds):
        if dev.type == "cuda":
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            op()
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b) / 1e3)
        else:
            t = time.perf_counter()
            op()
            times.append(time.perf_counter() - t)
    return float(np.median(times))


def _floor_on(torch, dev, X, W0, H0):
    W, H = to_device(W0, dev), to_device(H0, dev)
    ops, errors = {}, {}
    if sp.issparse(X):
        Xd = sparse_to_device(X, dev)
        Xt = sparse_to_device(sp.csr_matrix(X.T), dev)
        Ht = H.T.contiguous()
        ops["X Hᵀ"] = {"torch CSR @ dense": lambda: Xd @ H.T,
                       "torch CSR @ stored Hᵀ": lambda: Xd @ Ht}
        ops["Wᵀ X"] = {"torch stored Xᵀ (CSR) @ W": lambda: Xt @ W}
        if dev.type == "cuda":  # on the CPU torch's transposed CSR product is many times slower
            ops["Wᵀ X"]["torch (X.t() @ W)"] = lambda: Xd.t() @ W
        if dev.type == "cpu":
            Xs, Wn, Hn = sp.csr_matrix(X), np.asarray(W0), np.asarray(H0)
            Xst = sp.csr_matrix(X.T)
            ops["X Hᵀ"]["scipy"] = lambda: Xs @ Hn.T
            ops["Wᵀ X"]["scipy Xᵀ @ W"] = lambda: Xs.T @ Wn
            ops["Wᵀ X"]["scipy stored Xᵀ @ W"] = lambda: Xst @ Wn
    else:
        Xd = to_device(X, dev)
        ops["X Hᵀ"] = {"torch": lambda: Xd @ H.T}
        ops["Wᵀ X"] = {"torch": lambda: W.T @ Xd}
        if dev.type == "cpu":
            Xn, Wn, Hn = np.asarray(X), np.asarray(W0), np.asarray(H0)
            ops["X Hᵀ"]["numpy"] = lambda: Xn @ Hn.T
            ops["Wᵀ X"]["numpy"] = lambda: Wn.T @ Xn
    ops["WᵀW"] = {"torch": lambda: W.T @ W}
    ops["HHᵀ"] = {"torch": lambda: H @ H.T}
    timed = {}
    for product, ways in ops.items():
        timed[product] = {}
        for way, op in ways.items():
            try:
                timed[product][way] = _median_time(torch, dev, op)
            except Exception as exc:  # a sparse layout this torch build lacks
                errors[f"{product}: {way}"] = f"{type(exc).__name__}: {_first_line(exc)}"
    best = {product: min(ways.values()) for product, ways in timed.items() if ways}
    out = {"products": timed, "best": best, "seconds": float(sum(best.values())),
           "errors": errors, "threads": THREADS}
    if dev.type == "cuda" and not sp.issparse(X):
        previous = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = True
        try:
            out["seconds_tf32"] = float(sum(_median_time(torch, dev, op) for op in (
                lambda: Xd @ H.T, lambda: W.T @ Xd, lambda: W.T @ W, lambda: H @ H.T)))
        finally:
            torch.backends.cuda.matmul.allow_tf32 = previous
    return out


def worker_info(device):
    torch = _torch()
    info = {"torch": torch.__version__, "torch_cuda": torch.version.cuda,
            "threads": THREADS, "python": platform.python_version(),
            "processor": _cpu_model(), "cores": os.cpu_count(), "versions": _versions()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=torch.cuda.get_device_name(device),
                    gpu_memory_gib=round(props.total_memory / 2**30, 1),
                    gpu_capability=f"{props.major}.{props.minor}",
                    gpu_multiprocessors=props.multi_processor_count,
                    matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32,
                    float32_matmul_precision=torch.get_float32_matmul_precision())
    try:
        import nmfkit

        info["nmfkit_file"] = nmfkit.__file__
    except Exception as exc:  # reported, not fatal: the contenders record their own errors
        info["nmfkit_file"] = f"not importable: {exc}"
    return info


def _versions():
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("nmfkit", "torch", "nmf-torch", "torchnmf", "scikit-learn", "numpy",
                    "scipy", "array-api-compat", "numba", "threadpoolctl"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


# ============================================================================ parent
class Runner:
    def __init__(self, args, tmp: Path):
        self.args, self.tmp, self.count = args, tmp, 0
        self.t_start = time.perf_counter()

    def elapsed(self):
        return time.perf_counter() - self.t_start

    def run(self, task) -> dict:
        self.count += 1
        path = self.tmp / f"task{self.count}.json"
        task = {**task, "result": str(path.with_suffix(".out.json"))}
        path.write_text(json.dumps(task))
        log = path.with_suffix(".log")
        t = time.perf_counter()
        with open(log, "w") as fh:
            proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()),
                                     "--worker", str(path)], stdout=fh,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            try:
                rc = proc.wait(timeout=self.args.worker_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                rc = "timeout"
        wall = time.perf_counter() - t
        result_path = Path(task["result"])
        if rc == 0 and result_path.exists():
            out = json.loads(result_path.read_text())
        else:
            tail = log.read_text(errors="replace")[-3000:]
            out = {"error": f"worker {'timed out' if rc == 'timeout' else f'exit {rc}'} "
                            f"after {wall:.0f} s", "log_tail": tail}
        out["wall_s"] = wall
        return out


def _rotate(items, r):
    r %= max(len(items), 1)
    return items[r:] + items[:r]


def targets_of(contenders: dict, on_device: dict) -> dict:
    finals = {name: min(q[2] for q in c["trace"]) for name, c in contenders.items()
              if c.get("trace")}
    if not finals:
        return {}
    best_by = min(finals, key=finals.get)
    best = finals[best_by]
    out = {"best": {"value": best, "by": best_by},
           "1%": {"value": best * 1.01}, "0.1%": {"value": best * 1.001}}
    device_finals = {n: v for n, v in finals.items() if on_device.get(n)}
    if device_finals:
        worst_by = max(device_finals, key=device_finals.get)
        out["common"] = {"value": device_finals[worst_by], "by": worst_by}
    return out


def first_iteration(trace, value):
    for it, _, obj in trace:
        if obj <= value:
            return it
    return None


def _stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": float(np.median(values)), "min": float(min(values)),
            "max": float(max(values)), "n": len(values)}


def summarise(entry: dict, targets: dict, floors: dict):
    """Seconds per iteration, fixed cost and time to each target, over the runs."""
    trace_run = entry.get("trace_run") or {}
    trace = trace_run.get("trace") or []
    runs = [r for r in entry.get("runs", []) if "error" not in r and "skip" not in r]
    on_device = entry["on_device"]
    s_iter, fixed, plain_check = [], [], []
    for r in runs:
        if on_device:
            times = (r.get("clock_run") or {}).get("times") or []
            if len(times) >= 3:
                s_iter.append((times[-1] - times[0]) / (len(times) - 1))
        elif r is trace_run and len(trace) >= 3:
            s_iter.append((trace[-1][1] - trace[0][1]) / (len(trace) - 1))
    s_med = float(np.median(s_iter)) if s_iter else None
    plain_fits = [fit for r in runs for fit in ([r["plain"]] if r.get("plain") else [])
                  + list((r.get("plain_fits") or {}).values())]
    for plain in plain_fits:
        if s_med is not None:
            fixed.append(plain["seconds"] - plain["iterations"] * s_med)
        if trace and on_device and 0 < plain["iterations"] <= len(trace):
            plain_check.append(plain["objective"] / trace[plain["iterations"] - 1][2])
    summary = {"s_per_iter": _stats(s_iter), "fixed_s": _stats(fixed),
               "plain_over_trace_objective": _stats(plain_check)}
    floor = (floors.get(entry["run_device"]) or {}).get("seconds")
    if s_med is not None and floor:
        summary["x_floor"] = s_med / floor
    if trace:
        final = min(q[2] for q in trace)
        summary["trace_iterations"] = len(trace)
        summary["trace_final"] = final
    summary["targets"] = {}
    for name, target in targets.items():
        if name == "best":
            continue
        it = first_iteration(trace, target["value"]) if trace else None
        row = {"iteration": it}
        if it is None:
            if trace and s_med is not None:
                row["not_reached_in"] = len(trace)
                row["lower_bound_s"] = len(trace) * s_med
        elif on_device:
            fits = [r["plain_fits"][str(it)] for r in runs
                    if str(it) in (r.get("plain_fits") or {})]
            limit = target["value"] * (1 + REACH_RTOL)
            hit = [f["seconds"] for f in fits if f["objective"] <= limit]
            row["plain_fits"], row["plain_fits_reached"] = len(fits), len(hit)
            if hit:
                row["seconds"], row["clock"] = _stats(hit), "plain fits"
            else:  # no round after the traces ran (or none reproduced the trace's iterate)
                secs = [r["clock_run"]["times"][it - 1] for r in runs
                        if len((r.get("clock_run") or {}).get("times") or []) >= it]
                row["seconds"], row["clock"] = _stats(secs), "clock-only hooked runs"
        else:
            row["seconds"], row["clock"] = _stats([trace[it - 1][1]]), "trace clock"
        summary["targets"][name] = row
    entry["summary"] = summary


def verdicts(problem_result: dict) -> list[str]:
    """Issue 24's two targets, judged on this run."""
    lines = []
    contenders = problem_result["contenders"]
    ours = contenders.get("nmfkit", {}).get("summary")
    if not ours:
        return ["nmfkit on the device did not run: no verdict"]
    gpu_floor = (problem_result.get("floor", {}).get(contenders["nmfkit"]["run_device"])
                 or {}).get("seconds")
    ratio = ours.get("x_floor")
    if ratio is not None and gpu_floor:
        lines.append(f"per iteration: nmfkit {_fmt_s(ours['s_per_iter']['median'])} = "
                     f"{ratio:.2f}x the floor {_fmt_s(gpu_floor)} — target ≤ 2x: "
                     f"{'met' if ratio <= 2 else 'missed'}")
    for target in ("1%", "0.1%"):
        mine = (ours["targets"].get(target) or {}).get("seconds")
        peers = {}
        for name, c in contenders.items():
            if name == "nmfkit" or not c.get("on_device") or not c.get("summary"):
                continue
            row = c["summary"]["targets"].get(target) or {}
            if row.get("seconds"):
                peers[name] = (row["seconds"]["median"], "")
            elif row.get("lower_bound_s") is not None:
                peers[name] = (row["lower_bound_s"], "> ")
        if not mine:
            lines.append(f"time to {target}: nmfkit did not reach it")
            continue
        if not peers:
            lines.append(f"time to {target}: no GPU peer ran")
            continue
        fastest = min(peers, key=lambda n: peers[n][0])
        t_peer, bound = peers[fastest]
        r = t_peer / mine["median"]
        verdict = "met" if r >= 2 else ("not decided (peer bound only)" if bound else "missed")
        lines.append(f"time to {target}: nmfkit {_fmt_s(mine['median'])}, fastest GPU peer "
                     f"{fastest} {bound}{_fmt_s(t_peer)}: {bound}{r:.1f}x — target ≥ 2x: {verdict}")
    return lines


# ============================================================================ report
def _cell(text) -> str:
    return str(text).replace("|", "/").replace("\n", " ")


def _fmt_s(s):
    if s is None:
        return "—"
    if s < 0:
        return "−" + _fmt_s(-s)
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def _fmt_stats(st):
    if not st:
        return "—"
    if st["n"] == 1 or st["min"] == st["max"]:
        return _fmt_s(st["median"])
    return f"{_fmt_s(st['median'])} [{_fmt_s(st['min'])}–{_fmt_s(st['max'])}]"


def _fmt_target(row):
    if not row:
        return "—"
    if row.get("seconds"):
        mark = "" if row.get("clock") in ("plain fits", "trace clock") else " †"
        return f"{_fmt_stats(row['seconds'])} ({row['iteration']} it){mark}"
    if row.get("lower_bound_s") is not None:
        return f"> {_fmt_s(row['lower_bound_s'])} (not in {row['not_reached_in']} it)"
    return "not reached"


def markdown(result: dict) -> str:
    info = result.get("info") or {}
    lines = [f"## GPU benchmark ({'quick' if result['quick'] else 'full'}), "
             f"{result['date']}", ""]
    gpu = info.get("gpu")
    lines.append(f"Device: {gpu or result['device']}"
                 + (f" ({info.get('gpu_memory_gib')} GiB, torch {info.get('torch')}, "
                    f"CUDA {info.get('torch_cuda')}, float32 matmul precision "
                    f"'{info.get('float32_matmul_precision')}')" if gpu else
                    f" (torch {info.get('torch')})")
                 + f"; CPU: {info.get('processor')}, {result['threads']} threads for every "
                 f"contender. Versions: " + ", ".join(
                     f"{k} {v}" for k, v in (info.get("versions") or {}).items() if v)
                 + ".")
    lines.append("")
    lines.append(f"Command: `{result['command']}`")
    for key, pr in result["problems"].items():
        lines += ["", f"### {pr['title']}", ""]
        fl = pr.get("floor") or {}
        for dev, f in fl.items():
            parts = ", ".join(f"{prod} {_fmt_s(s)}" for prod, s in f["best"].items())
            extra = (f"; with TF32 {_fmt_s(f['seconds_tf32'])}" if f.get("seconds_tf32")
                     else "")
            lines.append(f"- floor on {dev}: {_fmt_s(f['seconds'])} per iteration ({parts}{extra})")
        tg = pr.get("targets") or {}
        if tg:
            best = tg["best"]
            txt = (f"- targets: best = {best['value']:.6g} (½‖X − WH‖², by {best['by']}); "
                   f"1% = best x 1.01, 0.1% = best x 1.001")
            if "common" in tg:
                txt += (f"; common = {tg['common']['value']:.6g}, the worst final objective "
                        f"among the GPU contenders ({tg['common']['by']})")
            lines.append(txt)
        lines += ["", "| contender | device | how | s/iter | × floor | fixed cost | "
                  "to 1% | to 0.1% | to common | trace: iterations, rel. error |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        norm = pr.get("norm2")
        for name, c in pr["contenders"].items():
            if c.get("skip"):
                lines.append(f"| {name} | {c.get('run_device', '')} | skipped: {_cell(c['skip'])} "
                             "| | | | | | | |")
                continue
            s = c.get("summary")
            if not s:
                err = c.get("error") or "no result"
                lines.append(f"| {name} | {c.get('run_device', '')} | failed: {_cell(err)} "
                             "| | | | | | | |")
                continue
            rel = (f"{np.sqrt(2 * s['trace_final'] / norm):.4f}" if norm and
                   s.get("trace_final") is not None else "—")
            xf = f"{s['x_floor']:.2f}" if s.get("x_floor") is not None else "—"
            lines.append(
                f"| {name} | {c['run_device']} | {_cell(c.get('how', ''))} | "
                f"{_fmt_stats(s['s_per_iter'])} | {xf} | {_fmt_stats(s['fixed_s'])} | "
                + " | ".join(_fmt_target(s["targets"].get(t)) for t in ("1%", "0.1%", "common"))
                + f" | {s.get('trace_iterations', '—')}, {rel} |")
        for v in pr.get("verdicts", []):
            lines.append(f"- {v}")
        for note in pr.get("notes", []):
            lines.append(f"- note: {note}")
    lines += ["", "s/iter: median [min–max] over the runs (GPU contenders: a fit with a "
              "clock-only hook per round, from the end of iteration 1 to its last; CPU "
              "contenders: the trace's clock, evaluation excluded). Time to a target: GPU "
              "contenders: plain fits (no hook) of as many iterations as the trace needed to "
              "reach it, timed whole (input checks, set-up and final steps included), in the "
              "rounds after the traces (†: no such round ran; the clock-only run's time to "
              "that iteration instead); CPU contenders: the trace's clock from the fit call "
              "to the end of that iteration. '>' marks a lower bound (iterations traced x "
              "s/iter) for a contender whose trace never reached it. Fixed cost: plain fits' "
              "time minus their iterations x s/iter (set-up, checks, final steps)."]
    return "\n".join(lines) + "\n"


# ============================================================================ main
def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="device of the GPU contenders "
                    "(cuda, cuda:N, or cpu for a smoke test)")
    ap.add_argument("--quick", action="store_true", help="small sizes, short budgets")
    ap.add_argument("--out", type=Path, help="write gpu.json and gpu.md into this folder")
    ap.add_argument("--problems", default="dense,sparse")
    ap.add_argument("--contenders", default=",".join(CONTENDERS))
    ap.add_argument("--threads", type=int, default=THREADS)
    for key in DEFAULTS:
        kind = int if key in ("rounds", "trace_iters") else float
        ap.add_argument("--" + key.replace("_", "-"), type=kind, default=None)
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    for key, (full, quick) in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        task = json.loads(args.worker.read_text())
        out = worker(task)
        Path(task["result"]).write_text(json.dumps(out))
        return
    import tempfile

    problems = QUICK if args.quick else FULL
    keys = [k for k in args.problems.split(",") if k]
    names = [n for n in args.contenders.split(",") if n]
    for k in keys:
        if k not in problems:
            raise SystemExit(f"unknown problem {k!r}; choose from {', '.join(problems)}")
    for n in names:
        if n not in ADAPTERS:
            raise SystemExit(f"unknown contender {n!r}; choose from {', '.join(ADAPTERS)}")
    device_type = args.device.split(":")[0]
    suffix = "-quick" if args.quick else ""
    out_dir = args.out or (HERE / "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"gpu{suffix}.json"
    md_path = out_dir / f"gpu{suffix}.md"
    result = {"benchmark": "gpu", "date": time.strftime("%Y-%m-%d %H:%M"),
              "command": " ".join(["python", "benchmarks/gpu.py", *(argv or sys.argv[1:])]),
              "quick": args.quick, "device": args.device, "threads": args.threads,
              "settings": {k: getattr(args, k) for k in DEFAULTS},
              "machine": {"processor": _cpu_model(), "cores": os.cpu_count(),
                          "python": platform.python_version(), "nvidia_smi": _nvidia_smi(),
                          "git": _git()},
              "problems": {}, "notes": []}

    def save():
        result["elapsed_s"] = runner.elapsed()
        tmp = json_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(result, indent=1) + "\n")
        os.replace(tmp, json_path)

    with tempfile.TemporaryDirectory(prefix="nmfkit-gpu-bench-") as tmp:
        runner = Runner(args, Path(tmp))
        adapters = {n: ADAPTERS[n]() for n in names}
        base = {"device": args.device}
        # Phase 1, per problem: data, floor, one traced process per contender.
        for key in keys:
            p = problems[key]
            t = time.perf_counter()
            cache = ensure_cached(p)
            meta = json.loads((cache / "meta.json").read_text())
            pr = {"title": p.title, "problem": dataclasses.asdict(p), "shape": meta["shape"],
                  "nnz": meta["nnz"], "data_s": time.perf_counter() - t, "cache": str(cache),
                  "contenders": {}, "notes": []}
            result["problems"][key] = pr
            print(f"[{runner.elapsed():6.0f} s] {key}: {p.title} (data {pr['data_s']:.0f} s)",
                  flush=True)
            cpu_floor = any(not a.on_device for a in adapters.values()) and device_type != "cpu"
            fl = runner.run({**base, "kind": "floor", "cache": str(cache), "cpu_floor": cpu_floor})
            if "floor" in fl:
                pr["floor"] = fl["floor"]
                result.setdefault("info", fl.get("info"))
            else:
                pr["notes"].append(f"floor failed: {fl.get('error')}")
            common = {**base, "kind": "contender", "cache": str(cache),
                      "problem": dataclasses.asdict(p), "trace": True}
            for name, adapter in adapters.items():
                run_device = args.device if adapter.on_device else "cpu"
                entry = {"on_device": adapter.on_device, "run_device": device_type
                         if adapter.on_device else "cpu", "library": adapter.library, "runs": []}
                pr["contenders"][name] = entry
                reason = adapter.static_skip(p, device_type)
                if reason:
                    entry["skip"] = reason
                    continue
                if runner.elapsed() > args.deadline + TRACE_GRACE:
                    entry["skip"] = (f"not traced: the deadline ({args.deadline:.0f} s) "
                                     f"passed {TRACE_GRACE:.0f} s ago")
                    continue
                budget = args.trace_seconds if adapter.on_device else args.cpu_trace_seconds
                out = runner.run({**common, "contender": name, "trace_seconds": budget,
                                  "trace_iters": args.trace_iters})
                _absorb(entry, out, first=True)
                print(f"[{runner.elapsed():6.0f} s]   {name} on {run_device}: "
                      + (entry.get("skip") or entry.get("error") or
                         f"{len(out.get('trace', []))} traced iterations, mode {out.get('mode')}"),
                      flush=True)
                save()
            pr["norm2"] = next((c["trace_run"]["norm2"] for c in pr["contenders"].values()
                                if c.get("trace_run")), None)
            pr["targets"] = targets_of(
                {n: c["trace_run"] for n, c in pr["contenders"].items() if c.get("trace_run")},
                {n: c["on_device"] for n, c in pr["contenders"].items()})
            save()
        # Phase 2: timed rounds of the GPU contenders, all problems each round, rotated.
        for r in range(1, args.rounds):
            for key in keys:
                pr = result["problems"][key]
                live = [n for n, c in pr["contenders"].items() if c["on_device"]
                        and c.get("trace_run") and not c.get("skip")]
                for name in _rotate(live, r):
                    if runner.elapsed() > args.deadline:
                        note = (f"deadline {args.deadline:.0f} s passed: round {r + 1} of "
                                f"{name} not run")
                        pr["notes"].append(note)
                        continue
                    entry = pr["contenders"][name]
                    trace = entry["trace_run"]["trace"]
                    reached = [first_iteration(trace, t["value"]) for n, t in
                               pr["targets"].items() if n != "best"]
                    length = max([i for i in reached if i] + [min(len(trace), 50)])
                    out = runner.run({**base, "kind": "contender", "cache": pr["cache"],
                                      "problem": pr["problem"], "contender": name,
                                      "length": length,
                                      "plain_iterations": [i for i in reached if i]})
                    _absorb(entry, out, first=False)
                    save()
            print(f"[{runner.elapsed():6.0f} s] round {r + 1} done", flush=True)
        for key in keys:
            pr = result["problems"][key]
            for entry in pr["contenders"].values():
                if entry.get("trace_run"):
                    summarise(entry, pr.get("targets") or {}, pr.get("floor") or {})
            pr["verdicts"] = verdicts(pr)
        save()
    text = markdown(result)
    md_path.write_text(text)
    print(text)
    print(f"wrote {json_path} and {md_path} ({runner.elapsed():.0f} s)")


def _absorb(entry, out, first):
    if "error" in out:
        if first:
            entry["error"] = out["error"]
            entry["log_tail"] = out.get("log_tail", "")
        else:
            entry.setdefault("round_errors", []).append(out["error"])
        return
    if "skip" in out:
        entry["skip"] = out["skip"]
        return
    if first:
        entry["trace_run"] = out
        for field in ("mode", "how", "mode_notes", "solver"):
            entry[field] = out.get(field)
    entry["runs"].append(out)


def _nvidia_smi():
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,"
                               "clocks.max.sm", "--format=csv,noheader"], capture_output=True,
                              text=True, timeout=20).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _git():
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        return head.stdout.strip() + (" (src modified)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


if __name__ == "__main__":
    main()
