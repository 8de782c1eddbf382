"""Runs one job in its own process: ``python worker.py JOB.json RESULT.json``.

Jobs (``mode``):
  trace     one contender from the shared W0, H0; the objective after every iteration
            (computed here in float64, its time excluded from the clock)
  timed     one contender at given iteration counts, tol=0, nothing else in the clock;
            W and H are saved for the parent to evaluate (so this process's peak memory
            is the library's, not the evaluator's)
  defaults  the drop-in case: sklearn's NMF(n_components=k) or nmfkit's, defaults otherwise
  floor     the two products X H^T and W^T X with the problem's own arrays

The parent sets OMP/BLAS thread variables before starting this process; here threadpoolctl
and torch.set_num_threads pin the same count again.  A job with ``nmfkit_src`` (a baseline
contender, ``nmfkit@<sha>``) has that folder first on PYTHONPATH; before anything is fitted
the worker checks that ``nmfkit`` came from there, and for every other nmfkit job that it
did not come from a baseline copy (the two versions never share a process).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time
import traceback
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _maxrss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _check_nmfkit(job, res) -> None:
    """Import the nmfkit this job is for and check where it came from."""
    import contenders

    name = job.get("contender") or job.get("library") or ""
    if not name.startswith("nmfkit"):
        return
    if contenders.BASELINE_NAME.fullmatch(name) and not job.get("nmfkit_src"):
        raise RuntimeError(f"{name}: a baseline job without its nmfkit_src")
    import nmfkit

    where = Path(nmfkit.__file__).resolve()
    res["nmfkit_file"] = str(where)
    src = job.get("nmfkit_src")
    if src and Path(src).resolve() not in where.parents:
        raise RuntimeError(f"{name}: nmfkit imported from {where}, not from the baseline {src}")
    if not src and (HERE / ".cache").resolve() in where.parents:
        raise RuntimeError(f"{name}: nmfkit imported from a baseline copy ({where})")


def main(job_path: str, result_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    threads = int(job["threads"])
    out = Path(job["out_dir"])
    res: dict = {"mode": job["mode"], "status": "ok", "loadavg_start": os.getloadavg()}
    if job.get("nmfkit_src"):  # also on PYTHONPATH (bench.py); first either way
        sys.path.insert(0, job["nmfkit_src"])
    try:
        import numpy as np
        from threadpoolctl import threadpool_info, threadpool_limits

        import contenders
        import objective
        import problems

        threadpool_limits(threads)
        _check_nmfkit(job, res)
        contender = None
        if job.get("contender"):
            contender = contenders.get(job["contender"])
        if job.get("torch") or (contender is not None and contender.uses_torch):
            import torch

            torch.set_num_threads(threads)
            res["torch_threads"] = torch.get_num_threads()
        X, W0, H0, meta = problems.load(Path(job["cache"]))
        pd = dict(meta["problem"])
        pd["shape"] = tuple(pd["shape"])
        prob = problems.Problem(**pd)
        res["threadpools"] = [{k: v for k, v in d.items() if k in ("internal_api", "num_threads")}
                              for d in threadpool_info()]
        mode = job["mode"]

        if mode == "floor":
            res.update(_floor(X, W0, H0, int(job.get("repeats", 5))))
        elif mode == "trace":
            res.update(_trace(contender, X, W0, H0, prob, job, objective, contenders))
        elif mode == "timed":
            res.update(_timed(contender, X, W0, H0, prob, job, out))
        elif mode == "defaults":
            res.update(_defaults(job["library"], X, prob, out, job.get("seed")))
        else:
            raise ValueError(mode)
    except Exception as exc:  # recorded, never fatal to the benchmark
        res["status"] = "error"
        res["error"] = f"{type(exc).__name__}: {exc}"[:500]
        traceback.print_exc()
    res["maxrss"] = _maxrss()
    res["loadavg_end"] = os.getloadavg()
    Path(result_path).write_text(json.dumps(res))


def _floor(X, W, H, repeats):
    import numpy as np
    import scipy.sparse as sp

    Ht = np.ascontiguousarray(H.T)
    t_xht, t_wtx = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        X @ Ht
        t_xht.append(time.perf_counter() - t)
        t = time.perf_counter()
        if sp.issparse(X):
            (X.T @ W).T
        else:
            W.T @ X
        t_wtx.append(time.perf_counter() - t)
    return {"XHt_s": float(np.median(t_xht)), "WtX_s": float(np.median(t_wtx)),
            "floor_s": float(np.median(t_xht) + np.median(t_wtx)),
            "floor_min_s": float(min(t_xht) + min(t_wtx)), "repeats": repeats}


def _trace(c, X, W0, H0, prob, job, objective, contenders):
    import numpy as np

    max_iter = int(job["max_iter"])
    cap = float(job["time_cap"])
    Xl = c.prepare(X, prob)
    X_sq = objective.sq_norm(X) if prob.loss == "frobenius" else None
    curve = []  # (iteration, seconds excluding evaluation, objective)

    def evaluate(W, H):
        return objective.objective(X, np.asarray(c.to_numpy(W), dtype=np.float64),
                                   np.asarray(c.to_numpy(H), dtype=np.float64),
                                   prob.loss, X_sq)

    # An extended trace (bench.py: a peer given time for a 5x verdict) evaluates every
    # iteration up to ``eval_every_until``, then every ceil(n/100)-th: the first iteration
    # found at a target is then at most 1 % late, at a fraction of the evaluation cost.
    dense_until = int(job.get("eval_every_until") or max_iter)

    def due(n):
        return n <= dense_until or n % max(1, -(-n // 100)) == 0

    curve.append((0, 0.0, evaluate(W0, H0)))
    if c.trace_mode == "hook":
        state = {"t0": 0.0, "paused": 0.0, "n": 0}

        def hook(W, H):
            t = time.perf_counter()
            elapsed = t - state["t0"] - state["paused"]
            state["n"] += 1
            if due(state["n"]):
                curve.append((state["n"], elapsed, evaluate(W, H)))
            state["paused"] += time.perf_counter() - t
            if state["n"] >= max_iter or elapsed >= cap:
                if curve[-1][0] != state["n"]:
                    t = time.perf_counter()
                    curve.append((state["n"], elapsed, evaluate(W, H)))
                    state["paused"] += time.perf_counter() - t
                raise contenders.StopTrace

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state["t0"] = time.perf_counter()
            try:
                c.fit(Xl, W0.copy(), H0.copy(), prob, max_iter, hook=hook)
            except contenders.StopTrace:
                pass
    else:  # chain max_iter=1 runs; the clock holds only the library calls
        W, H = W0.copy(), H0.copy()
        elapsed = 0.0
        n = 0
        while n < max_iter and elapsed < cap:
            t = time.perf_counter()
            Wr, Hr, _ = c.fit(Xl, W, H, prob, 1)
            elapsed += time.perf_counter() - t
            n += 1
            W = np.array(c.to_numpy(Wr), dtype=X.dtype)
            H = np.array(c.to_numpy(Hr), dtype=X.dtype)
            if due(n) or n >= max_iter or elapsed >= cap:
                curve.append((n, elapsed, objective.objective(X, W, H, prob.loss, X_sq)))
    return {"curve": curve, "trace_mode": c.trace_mode}


def _timed(c, X, W0, H0, prob, job, out):
    import numpy as np

    Xl = c.prepare(X, prob)
    runs = []
    rss_base = _rss()
    # One untimed 1-iteration fit first: thread pools, lazy imports and first-touch page
    # faults are paid once per process, not by whichever timed run comes first.
    c.fit(Xl, W0.copy(), H0.copy(), prob, 1)
    for n in job["iters"]:
        W0c, H0c = W0.copy(), H0.copy()
        gc.collect()
        t = time.perf_counter()
        Wr, Hr, n_iter = c.fit(Xl, W0c, H0c, prob, int(n))
        seconds = time.perf_counter() - t
        W, H = c.to_numpy(Wr), c.to_numpy(Hr)
        stem = out / f"{job['tag']}-n{n}"
        np.save(f"{stem}-W.npy", np.asarray(W))
        np.save(f"{stem}-H.npy", np.asarray(H))
        runs.append({"max_iter": int(n), "n_iter": n_iter, "seconds": seconds,
                     "W": f"{stem}-W.npy", "H": f"{stem}-H.npy", "maxrss": _maxrss()})
        del Wr, Hr, W, H
    return {"runs": runs, "rss_base": rss_base}


def _defaults(library, X, prob, out, seed):
    import numpy as np

    if library == "sklearn":
        from sklearn.decomposition import NMF

        kw = {"n_components": prob.k, "random_state": seed}
        if prob.loss != "frobenius":  # scikit-learn's only solver for KL
            kw.update(beta_loss=prob.loss, solver="mu")
    else:
        from nmfkit import NMF

        kw = {"n_components": prob.k, "random_state": seed}
        if prob.loss != "frobenius":
            kw.update(beta_loss=prob.loss)
    rss_base = _rss()
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = time.perf_counter()
        model = NMF(**kw)
        W = model.fit_transform(X)
        seconds = time.perf_counter() - t
    H = model.components_
    stem = out / f"defaults-{library}"
    np.save(f"{stem}-W.npy", np.asarray(W))
    np.save(f"{stem}-H.npy", np.asarray(H))
    return {"runs": [{"seconds": seconds, "n_iter": int(model.n_iter_), "W": f"{stem}-W.npy",
                      "H": f"{stem}-H.npy", "maxrss": _maxrss(),
                      "params": {k: str(v) for k, v in kw.items()},
                      "warnings": sorted({type(w.message).__name__ for w in caught})}],
            "rss_base": rss_base}


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
