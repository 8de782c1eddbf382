"""Small measurements quoted in docs/architecture.md and in comments of the code.

    benchmarks/.venv/bin/python benchmarks/micro.py sweep        # HALS sweep: whole vs blocks
    benchmarks/.venv/bin/python benchmarks/micro.py float32-loss # trace identity in float32
    benchmarks/.venv/bin/python benchmarks/micro.py inner-cap    # (d): time to 0.1 % per cap
    benchmarks/.venv/bin/python benchmarks/micro.py sklearn-w0   # does 'cd' write into W0?

Threads are pinned to the machine's cores (threadpoolctl), as in bench.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _median_ms(fn, make, repeats=7):
    times = []
    for _ in range(repeats):
        arg = make()
        t = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times))


def sweep():
    """One HALS sweep on a k x r factor: the whole factor at once (one block) against
    cache-sized column blocks on all cores (the default)."""
    from nmfkit import _array
    from nmfkit.solvers.hals import hals_sweep

    for k, r, dtype in [(20, 200_000, np.float64), (50, 20_000, np.float32),
                        (30, 4_000, np.float64)]:
        rng = np.random.default_rng(0)
        U0 = rng.random((k, r)).astype(dtype)
        M = rng.random((k, k)).astype(dtype)
        A = M @ M.T + k * np.eye(k, dtype=dtype)
        B = A @ U0
        inv = [1.0 / float(A[j, j]) for j in range(k)]
        blocked = _median_ms(lambda U: hals_sweep(U, A, B, inv), U0.copy)
        saved = _array.SWEEP_BLOCK_BYTES
        _array.SWEEP_BLOCK_BYTES = 1 << 62  # one block
        try:
            whole = _median_ms(lambda U: hals_sweep(U, A, B, inv), U0.copy)
        finally:
            _array.SWEEP_BLOCK_BYTES = saved
        print(f"k={k} r={r} {np.dtype(dtype).name}: whole {whole:.2f} ms, "
              f"blocks of {saved >> 20} MB {blocked:.2f} ms")


def _planted(seed, m, n, r, dtype):
    rng = np.random.default_rng(seed)
    X = rng.exponential(size=(m, r)) @ rng.exponential(size=(r, n))
    X += 0.05 * X.std() * np.abs(rng.standard_normal(X.shape))
    X = X.astype(dtype)
    s = np.sqrt(X.mean() / r)
    return X, (rng.random((m, r)) * s).astype(dtype), (rng.random((r, n)) * s).astype(dtype)


def float32_loss():
    """Relative error of the driver's float32 trace-identity objective against float64."""
    import nmfkit
    from nmfkit import _array

    X, W0, H0 = _planted(1, 8000, 1000, 40, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = nmfkit.NMF(40, init="custom", tol=0, max_iter=200)
        W = model.fit_transform(X, W=W0, H=H0)
    H = model.components_
    X64, W64, H64 = (a.astype(np.float64) for a in (X, W, H))
    exact = 0.5 * float(np.sum((X64 - W64 @ H64) ** 2))
    Wt = np.ascontiguousarray(W.T)
    trace32 = 0.5 * (_array.squared_norm(X) - 2 * _array.vdot64(_array.H_times_Xt(H, X), Wt)
                     + _array.vdot64(Wt @ Wt.T, H @ H.T))
    print(f"planted float32 8000 x 1000, k=40, 200 iterations: objective / ||X||^2 = "
          f"{exact / float(np.sum(X64 ** 2)):.3g}; float32 trace identity off by "
          f"{100 * (trace32 / exact - 1):+.3f} %")


def inner_cap(caps=(20, 15, 10, 8), seconds=25.0):
    """Problem (d): nmfkit's time to 0.1 % of the benchmark's best, per inner-sweep cap."""
    import json

    import nmfkit
    import problems as P
    from nmfkit.solvers import alternating

    prob = P.get("d")
    X, W0, H0, _ = P.load(P.cache_dir(prob))
    res = HERE / "results" / "results.json"
    best = json.loads(res.read_text())["problems"]["d"]["best_obj"] if res.exists() else None
    for cap in caps:
        alternating.MAX_INNER_DEFAULT = cap
        curve, t0 = [], [0.0]

        def callback(it, W, H, loss):
            curve.append((time.perf_counter() - t0[0], it, loss))
            return curve[-1][0] > seconds

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0[0] = time.perf_counter()
            nmfkit.NMF(prob.k, init="custom", tol=0, max_iter=10**6,
                       callback=callback).fit(X, W=W0.copy(), H=H0.copy())
        target = (best or min(c[2] for c in curve)) * 1.001
        hit = next((c for c in curve if c[2] <= target), None)
        print(f"MAX_INNER_DEFAULT={cap}: " + (f"0.1 % at {hit[0]:.2f} s ({hit[1]} it)"
                                              if hit else f"not reached in {seconds:.0f} s"))


def sklearn_w0():
    """Whether scikit-learn's 'cd' with init='custom' writes into the caller's W."""
    from sklearn.decomposition import NMF

    rng = np.random.default_rng(0)
    X, W0, H0 = rng.random((50, 40)), rng.random((50, 5)), rng.random((5, 40))
    before = W0.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W = NMF(5, init="custom", solver="cd", max_iter=5).fit_transform(X, W=W0, H=H0)
    print(f"W0 changed: {not np.array_equal(W0, before)}; returned W is W0: {W is W0}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["sweep", "float32-loss", "inner-cap", "sklearn-w0"])
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(os.cpu_count())
    {"sweep": sweep, "float32-loss": float32_loss, "inner-cap": inner_cap,
     "sklearn-w0": sklearn_w0}[args.what]()


if __name__ == "__main__":
    main()
