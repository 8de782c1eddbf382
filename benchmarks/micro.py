"""Small measurements quoted in docs/architecture.md and in comments of the code.

    benchmarks/.venv/bin/python benchmarks/micro.py sweep        # HALS pass: blocks, cost model
    benchmarks/.venv/bin/python benchmarks/micro.py products     # X Hᵀ, Wᵀ X rates (cost model)
    benchmarks/.venv/bin/python benchmarks/micro.py float32-loss # trace identity in float32
    benchmarks/.venv/bin/python benchmarks/micro.py knobs d MAX_INNER_DEFAULT=20 MAX_INNER_DEFAULT=12
        # time to 1 / 0.1 / 0.01 % of the best per driver setting, from several starts
    benchmarks/.venv/bin/python benchmarks/micro.py stopping-rules b 1e-4 1e-5
        # drop-in: where nmfkit's rule stops at each tol, objective over scikit-learn's
    benchmarks/.venv/bin/python benchmarks/micro.py sklearn-w0   # does 'cd' write into W0?
    benchmarks/.venv/bin/python benchmarks/micro.py memory       # (e): RSS a fit adds, per library
    benchmarks/.venv/bin/python benchmarks/micro.py kl-kernel    # (c): KL row kernel, sweep and log
    benchmarks/.venv/bin/python benchmarks/micro.py kl-fill      # KL: dense-row vs stored-entry kernel by fill
    benchmarks/.venv/bin/python benchmarks/micro.py kl-sparse    # KL on sparse word counts
    benchmarks/.venv/bin/python benchmarks/micro.py masked       # missing='mask': LS and KL
    benchmarks/.venv/bin/python benchmarks/micro.py setup        # (d): one-off passes over X
    benchmarks/.venv/bin/python benchmarks/micro.py clip         # max(A, 0): scalar vs zero array
    benchmarks/.venv/bin/python benchmarks/micro.py cd-extrapolate # Newton-CD with/without extrapolation
    benchmarks/.venv/bin/python benchmarks/micro.py mu-extrapolate # β-divergence MU: plain, floored, [·]₊

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
    """One HALS pass on a k x r factor: the whole factor at once (one block) against
    cache-sized column blocks on all cores (the default), and the driver's cost model."""
    from nmfkit import _array
    from nmfkit.solvers import alternating
    from nmfkit.solvers.hals import hals_sweep

    for k, r, dtype in [(10, 1_000, np.float64), (20, 2_000, np.float64),
                        (30, 1_500, np.float64), (30, 4_000, np.float64),
                        (50, 2_000, np.float32), (50, 20_000, np.float32),
                        (20, 20_000, np.float64), (20, 200_000, np.float64)]:
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
        itemsize = np.dtype(dtype).itemsize
        model = 1e3 * k * (k * r * itemsize / alternating.SWEEP_BANDWIDTH
                           + alternating.ROW_SECONDS)
        print(f"k={k} r={r} {np.dtype(dtype).name}: whole {whole:.2f} ms, "
              f"blocks of {saved >> 20} MB {blocked:.2f} ms, cost model {model:.2f} ms")


def clip():
    """``max(A, 0)`` in place: NumPy's maximum against the scalar 0, against an array of
    zeros of A's size, and nmfkit's ``clip_nonnegative_`` (a shared zero chunk)."""
    from nmfkit import _array

    rng = np.random.default_rng(0)
    for r in (2_000, 20_000, 200_000, 4_000_000):
        for dtype in (np.float32, np.float64):
            A0 = (rng.random(r) - 0.5).astype(dtype)
            zeros = np.zeros(r, dtype)
            cells = []
            for name, fn in [("maximum(A, 0)", lambda A: np.maximum(A, 0, out=A)),
                             ("maximum(A, zeros)", lambda A: np.maximum(A, zeros, out=A)),
                             ("clip_nonnegative_", _array.clip_nonnegative_)]:
                cells.append(f"{name} {1e3 * _median_ms(fn, A0.copy, repeats=51):8.1f} µs")
            print(f"{r:>9,} {np.dtype(dtype).name}: " + ", ".join(cells))


def products():
    """Rates of the two products per iteration, dense and sparse, as the driver runs them."""
    import scipy.sparse as sp

    from nmfkit import _array

    rng = np.random.default_rng(0)
    cases = [(4000, 1500, 30, np.float64, None), (20000, 2000, 50, np.float32, None),
             (200_000, 20_000, 20, np.float64, 0.005)]
    for m, n, k, dtype, density in cases:
        if density is None:
            X = rng.random((m, n)).astype(dtype)
            nnz = m * n
        else:
            nnz = int(m * n * density)
            X = sp.csr_matrix((rng.random(nnz), (rng.integers(0, m, nnz), rng.integers(0, n, nnz))),
                              shape=(m, n))
            nnz = X.nnz
        Xo = _array.operand(X)
        H, Wt = rng.random((k, n)).astype(dtype), rng.random((k, m)).astype(dtype)
        t1 = _median_ms(lambda _: _array.H_times_Xt(H, Xo), lambda: None, repeats=5)
        t2 = _median_ms(lambda _: _array.Wt_times_X(Wt.T, Xo), lambda: None, repeats=5)
        flops = 2.0 * nnz * k
        kind = "dense" if density is None else f"sparse {density:g}"
        print(f"{kind} {m} x {n} k={k} {np.dtype(dtype).name}: H Xᵀ {t1:.1f} ms "
              f"({flops / t1 / 1e6:.0f} GFLOP/s), Wᵀ X {t2:.1f} ms ({flops / t2 / 1e6:.0f} GFLOP/s)")


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
    B_W = _array.H_times_Xt(H, X)
    now = 0.5 * (_array.squared_norm(X) - 2 * _array.vdot64(B_W, Wt)
                 + _array.vdot64(_array.gram64(Wt), _array.gram64(H)))

    def rows32(A, B):  # each row summed in float32, the rows in float64 (before 888f7c7)
        return float(np.einsum("ij,ij->i", A, B).sum(dtype=np.float64))

    before = 0.5 * (rows32(X, X) - 2 * rows32(B_W, Wt) + rows32(Wt @ Wt.T, H @ H.T))
    print(f"planted float32 8000 x 1000, k=40, 200 iterations: objective / ||X||^2 = "
          f"{exact / float(np.sum(X64 ** 2)):.3g}; the driver's trace identity off by "
          f"{100 * (now / exact - 1):+.4f} % (float64 sums); with row sums and Gram "
          f"matrices in float32 {100 * (before / exact - 1):+.3f} %")


def float32_noise():
    """Rounding error of the float32 phase's objective (float32 products with X, float64
    Gram matrices and sums) on dense problems and (b), against the exact objective of the same
    factors, and against nmfkit.solvers.precision's estimate without NOISE_FACTOR."""
    import nmfkit
    import problems as P
    from nmfkit import _array
    from nmfkit.solvers import alternating

    def measure(name, X, k):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = nmfkit.NMF(k, init="nndsvda", tol=0, max_iter=60, random_state=0)
            W = model.fit_transform(X)
        H, normX2, errors = model.components_, _array.squared_norm(X), []
        X32 = X.astype(np.float32)
        for seed in range(5):  # five points near the iterate
            rng = np.random.default_rng(seed)
            W32 = (W * (1 + 1e-3 * rng.random(W.shape))).astype(np.float32)
            H32 = (H * (1 + 1e-3 * rng.random(H.shape))).astype(np.float32)
            B = _array.H_times_Xt(H32, X32)
            rounded = alternating._objective(normX2, _array.vdot64(B, W32.T),
                                             _array.gram64(W32.T), _array.gram64(H32), 0.0)
            exact = 0.5 * _array.dense_residual_squared_norm(X, W32.astype(float),
                                                             H32.astype(float))
            errors.append(abs(rounded - exact))
        estimate = 2.0 ** -23 * 0.5 * normX2 / np.sqrt(k * min(X.shape))
        print(f"{name}: objective / ½‖X‖² {exact / (0.5 * normX2):.1e}; error / objective "
              f"up to {max(errors) / exact:.1e}; error / estimate: median "
              f"{np.median(errors) / estimate:.2f}, max {max(errors) / estimate:.2f}")

    X, _, _, _ = P.load(P.ensure_cached(P.get("a")))
    measure("(a) 4,000 x 1,500, k=30", X, 30)
    X, _, _, _ = P.load(P.ensure_cached(P.get("b")))
    measure("(b) tf-idf 5,560 x 6,329, sparse, k=20", X, 20)
    rng = np.random.default_rng(0)
    for level in (1e-1, 1e-3, 1e-5):
        T = rng.random((3000, 20)) @ rng.random((20, 1000))
        measure(f"planted 3,000 x 1,000, k=20, relative noise {level:g}",
                np.clip(T * (1 + level * rng.standard_normal(T.shape)), 0, None), 20)
    T = rng.random((3000, 20)) @ rng.random((20, 1000)) + 50
    measure("planted plus an offset of 50, k=20", T + rng.random(T.shape), 20)
    measure("uniform 3,000 x 1,000, k=20", rng.random((3000, 1000)), 20)


def float32_phase(seconds=2.0):
    """Time to 1 / 0.1 / 0.01 % of the best objective with and without the float32
    phase (nmfkit.solvers.precision), on planted dense float64 problems of several
    sizes, from the same random start; MIN_ENTRIES is lifted for the comparison."""
    from nmfkit.solvers import precision

    saved = precision.MIN_ENTRIES, precision.ENABLED
    precision.MIN_ENTRIES = 0
    try:
        for m, n, k in [(300, 300, 10), (500, 500, 10), (1000, 1000, 10), (1000, 1000, 30),
                        (2000, 1000, 20)]:
            X, W0, H0 = _planted(0, m, n, k, np.float64)
            curves = []
            for enabled in (False, True):
                precision.ENABLED = enabled
                curves.append(_fit_curve(X, k, (W0, H0), seconds, solver="hals"))
            best = min(c[2] for curve in curves for c in curve)
            for enabled, curve in zip(("float64 only", "float32 first"), curves):
                print(f"{m:,} x {n:,}, k={k}, {enabled}: " + _targets(curve, best, seconds, 3))
    finally:
        precision.MIN_ENTRIES, precision.ENABLED = saved


def _curve(fit, seconds):
    """(seconds, iteration, loss) after every iteration of ``fit(callback)`` for ``seconds``."""
    curve, t0 = [], [0.0]

    def callback(it, W, H, loss):
        curve.append((time.perf_counter() - t0[0], it, loss))
        return curve[-1][0] > seconds

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0[0] = time.perf_counter()
        fit(callback)
    return curve


def _targets(curve, best, seconds, digits=2):
    """'1 %: t s (n it); 0.1 %: ...; 0.01 %: ...' — when a curve first came within each
    margin of ``best``."""
    cells = []
    for r in (0.01, 0.001, 0.0001):
        hit = next((c for c in curve if c[2] <= best * (1 + r)), None)
        cells.append(f"{100 * r:g} %: " + (f"{hit[0]:6.{digits}f} s ({hit[1]} it)" if hit
                                             else f"not in {seconds:g} s"))
    return "; ".join(cells)


def _word_counts():
    """Word counts of the critics' texts (bokeh-sampledata's movies database), sparse."""
    from sklearn.feature_extraction.text import CountVectorizer

    from nmfkit.datasets import load_movies

    texts = [t for t in load_movies()["consensus"] if isinstance(t, str)]
    return CountVectorizer(min_df=2, stop_words="english").fit_transform(texts).astype(float)


def _fit_curve(X, k, start, seconds, **kw):
    """:func:`_curve` of an nmfkit fit (tol=0) from ``start``: a (W, H) pair, or the
    random_state of a random start."""
    import nmfkit

    custom = isinstance(start, tuple)

    def fit(callback):
        model = nmfkit.NMF(k, tol=0, max_iter=10**6, callback=callback,
                           init="custom" if custom else "random",
                           random_state=None if custom else start, **kw)
        if custom:
            model.fit(X, W=start[0].copy(), H=start[1].copy())
        else:
            model.fit(X)

    return _curve(fit, seconds)


def knobs(problem, settings, starts=(0, 1, 2), seconds=20.0):
    """Time to 1 / 0.1 / 0.01 % of the best objective any setting reached from the same
    start, for each setting of the driver's constants (``NAME=value``, comma-separated
    for several), from several starts (0: the benchmark's own W0, H0)."""
    import importlib

    import problems as P

    prob = P.get(problem)
    X, W_bench, H_bench, _ = P.load(P.ensure_cached(prob))

    def where(item):  # NAME (alternating's) or module.NAME (a module of nmfkit.solvers)
        module, _, name = item.split("=")[0].rpartition(".")
        return importlib.import_module(f"nmfkit.solvers.{module or 'alternating'}"), name

    for start in starts:
        W0, H0 = (W_bench, H_bench) if start == 0 else P.initial_factors(X, prob.k, seed=start)
        curves = []
        for setting in settings:
            saved = []
            for item in filter(None, setting.split(",")):
                module, name = where(item)
                old = getattr(module, name)
                saved.append((module, name, old))
                value = item.split("=")[1]
                setattr(module, name, value == "True" if isinstance(old, bool)
                        else type(old)(float(value)))
            try:
                curve = _fit_curve(X, prob.k, (W0, H0), seconds)
            finally:
                for module, name, old in saved:
                    setattr(module, name, old)
            curves.append(curve)
        best = min(c[2] for curve in curves for c in curve)
        for setting, curve in zip(settings, curves):
            print(f"({problem}) start {start} {setting or 'defaults'}: "
                  + _targets(curve, best, seconds, 3))


def stopping_rules(problem, settings, seeds=(0, 1, 2, 3, 4), iterations=300):
    """The drop-in case (both libraries' defaults, random_state=seed) against other
    settings of nmfkit's stopping rule: scikit-learn's defaults give its objective and
    iterations; nmfkit runs with tol=0 for ``iterations`` and its recorded objectives are
    replayed through the estimator's own :class:`nmfkit.monitor.Monitor` for each
    ``tol`` in ``settings`` (a replay: a real fit whose rule fires in a float32 phase
    goes on in float64, so it can stop an iteration or two later).  Prints, per seed,
    the iteration the rule stops at and the objective there over scikit-learn's."""
    import nmfkit
    import objective as O
    import problems as P
    from sklearn.decomposition import NMF as SK

    from nmfkit.monitor import Monitor

    prob = P.get(problem)
    X, _, _, _ = P.load(P.ensure_cached(prob))
    kl = prob.loss != "frobenius"
    null = None if kl else 0.5 * O.sq_norm(X)
    tols = [float(t) for t in settings] or [1e-4]
    rows = {t: [] for t in tols}
    for seed in seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = SK(prob.k, random_state=seed,
                    **({"beta_loss": prob.loss, "solver": "mu"} if kl else {}))
            W = sk.fit_transform(X)
            theirs = O.objective(X, W, sk.components_, prob.loss)
            model = nmfkit.NMF(prob.k, random_state=seed, tol=0, max_iter=iterations,
                               **({"beta_loss": prob.loss} if kl else {})).fit(X)
        curve = list(model.loss_curve_["loss"])  # [0]: the start
        print(f"({problem}) seed {seed}: scikit-learn {sk.n_iter_} it, objective "
              f"{theirs:.8g}; nmfkit's curve to {len(curve) - 1} it ends at "
              f"{curve[-1] / theirs:.7f} x")
        for t in tols:
            monitor = Monitor(tol=t, max_iter=iterations, null_loss=null, snapshot=False)
            monitor.start(curve[0])
            stop = next((i for i in range(1, len(curve))
                         if monitor(i, None, None, curve[i])), len(curve) - 1)
            rows[t].append(f"{stop} it {curve[stop] / theirs:.7f}")
    for t in tols:
        print(f"({problem}) tol={t:g}: " + "; ".join(rows[t]))


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


def _rss_mib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return 0


def _memory_one(library):
    """In this process: resident memory after loading (e), and the most a fit adds."""
    import threading

    import problems as P

    if library == "nmfkit":
        from nmfkit import NMF
    else:
        from sklearn.decomposition import NMF
    prob = P.get("e")
    X, W0, H0, _ = P.load(P.ensure_cached(prob))
    time.sleep(0.2)
    loaded, peak, running = _rss_mib(), [0], [True]

    def sample():
        while running[0]:
            peak[0] = max(peak[0], _rss_mib())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solver = {} if library == "nmfkit" else {"solver": "cd"}
        NMF(prob.k, init="custom", tol=0, max_iter=8, **solver).fit(X, W=W0, H=H0)
    running[0] = False
    sampler.join()
    factor = W0.nbytes / 2**20
    print(f"{library}: {loaded} MiB after loading (e), the fit adds {peak[0] - loaded} MiB "
          f"= {(peak[0] - loaded) / factor:.1f} x the {factor:.0f} MiB factor W")


def memory():
    """Problem (e), 8 iterations from the benchmark's start: nmfkit and scikit-learn 'cd',
    each in its own process, RSS sampled every 2 ms."""
    import subprocess

    for library in ("nmfkit", "sklearn-cd"):
        subprocess.run([sys.executable, __file__, "memory-one", library], check=True)


def kl_kernel():
    """The KL Newton-CD row kernel on benchmark (c)'s X (float32 scratch, as the solver
    runs it): one W-side sweep, on one thread and on all, without and with measuring
    Σ x log WH (the H-side sweep measures, every iteration); then that measurement alone,
    with the kernels' vectorisable log and with libm's (``np.log``, as numba compiles it).
    Run at two commits to compare kernels."""
    import problems as P
    from numba import njit

    from nmfkit.objectives import EPSILON
    from nmfkit.solvers import _kernels as K

    X, W0, H0, _ = P.load(P.ensure_cached(P.get("c")))
    Z = np.ascontiguousarray(X, dtype=np.float32)
    O = H0.astype(np.float32)
    for measure in (False, True):
        args = (O, H0.sum(axis=1), 0.0, 0.0, np.float32(EPSILON), True, measure)
        for n_threads in sorted({1, K.threads()}):
            run = lambda U: K.over_rows(K.kl_dense_rows, Z.shape[0], n_threads, Z, U, *args)  # noqa: E731
            run(W0.T.copy())  # compile
            ms = _median_ms(run, lambda: np.array(W0.T, order="C"), repeats=11)
            print(f"{'measured' if measure else 'plain':8s} {n_threads} thread(s): {ms:6.2f} ms "
                  f"per W-side sweep ({Z.shape[0]} x {Z.shape[1]}, k={O.shape[0]})")

    @njit(fastmath=K._FASTMATH, nogil=True, error_model="numpy")
    def libm_xlogy(x, y):
        acc = 0.0
        for j in range(y.shape[0]):
            acc += x[j] * np.log(np.float64(y[j]))
        return acc

    @njit(fastmath=K._FASTMATH, nogil=True, error_model="numpy")
    def libm32_xlogy(x, y):  # the log in y's precision: float32 here (the kernels to e177a25)
        acc = 0.0
        for j in range(y.shape[0]):
            acc += x[j] * np.log(y[j])
        return acc

    @njit(nogil=True)
    def over_X(xlogy, Z, Y):
        total = 0.0
        for i in range(Z.shape[0]):
            total += xlogy(Z[i], Y[i])
        return total

    Y = np.maximum(W0.astype(np.float32) @ O, np.float32(EPSILON))
    for name, xlogy in (("kernels' _log", K._xlogy), ("np.log float64", libm_xlogy),
                        ("np.log float32", libm32_xlogy)):
        over_X(xlogy, Z, Y)
        ms = _median_ms(lambda _: over_X(xlogy, Z, Y), lambda: None, repeats=11)
        print(f"Σ x log y over X, {name:14s} one thread: {ms:6.2f} ms "
              f"(= {over_X(xlogy, Z, Y):.10e})")


def kl_fill():
    """Where KL Newton-CD's two compiled layouts cross: ms per iteration of the dense-row
    kernel and the stored-entry (CSR) kernel on Poisson counts of a given fill, forced
    through ``newton_cd.DENSE_MIN_FILL``: 2,000 x 1,000 (float32 scratch) and 600 x 500
    (float64 scratch), k = 10."""
    import nmfkit
    from nmfkit.solvers import newton_cd

    saved = newton_cd.DENSE_MIN_FILL
    rng = np.random.default_rng(0)
    for m, n in [(2000, 1000), (600, 500)]:
        k = 10
        rate = rng.gamma(1, 1, (m, k)) @ rng.gamma(1, 1, (k, n))
        for fill in (0.1, 0.2, 0.3, 0.4, 0.5):
            X = rng.poisson(rate * -np.log(1 - fill) / rate.mean()).astype(np.float64)
            cells = []
            for layout, threshold in (("dense", 0.0), ("csr", 2.0)):
                newton_cd.DENSE_MIN_FILL = {"float32": threshold, "float64": threshold}
                try:
                    def fit(iters):
                        nmfkit.NMF(k, beta_loss="kullback-leibler", init="random", random_state=0,
                                   max_iter=iters, tol=0).fit(X)
                    fit(2)  # compile and warm up
                    ms = _median_ms(lambda _: fit(30), lambda: None, repeats=3) / 30
                finally:
                    newton_cd.DENSE_MIN_FILL = saved
                cells.append(f"{layout} {ms:5.2f} ms/it")
            print(f"{m} x {n}, fill {np.count_nonzero(X) / X.size:.2f}: " + ", ".join(cells))


def kl_sparse():
    """KL Newton-CD on sparse counts: ms per iteration of a 100-iteration fit (k = 20) on
    the word counts of the critics' texts (bokeh-sampledata's movies database)."""
    import nmfkit

    X = _word_counts()

    def fit(iters):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nmfkit.NMF(20, beta_loss="kullback-leibler", random_state=0, tol=0,
                       max_iter=iters).fit(X)

    fit(3)  # compile and warm up
    setup = _median_ms(lambda _: fit(1), lambda: None, repeats=5)
    total = _median_ms(lambda _: fit(101), lambda: None, repeats=5)
    print(f"counts {X.shape[0]} x {X.shape[1]}, {X.nnz} entries, k=20: "
          f"{(total - setup) / 100:.2f} ms per iteration (nmfkit from {nmfkit.__file__})")


def masked():
    """Fits on observed entries only (missing='mask'): ms per iteration of least squares
    and KL on a 5,000 x 2,000 planted matrix with 3 % of its entries observed, k = 10."""
    import scipy.sparse as sp

    import nmfkit

    rng = np.random.default_rng(0)
    m, n, k = 5000, 2000, 10
    full = rng.random((m, k)) @ rng.random((k, n))
    X = sp.csr_matrix(full * (rng.random((m, n)) < 0.03))
    for loss in ("frobenius", "kullback-leibler"):
        def fit(iters):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return nmfkit.NMF(k, missing="mask", beta_loss=loss, init="random",
                                  random_state=0, max_iter=iters, tol=0).fit(X)
        fit(2)  # compile and warm up
        setup = _median_ms(lambda _: fit(1), lambda: None, repeats=3)
        total = _median_ms(lambda _: fit(51), lambda: None, repeats=3)
        print(f"masked {loss}, {X.nnz} observed of {m} x {n}, k={k}: "
              f"{(total - setup) / 50:.2f} ms per iteration (objective after 50: "
              f"{fit(51).loss_curve_['loss'].iloc[-1]:.6g})")


def cd_extrapolate():
    """Newton-CD (KL, and least squares on observed entries) with and without
    extrapolation: time and iterations to 1 / 0.1 / 0.01 % of the best objective either
    reached from the same start, on benchmark (c) from three starts, the critics' word
    counts (KL, k = 20) and Poisson counts of a planted rank-10 matrix with 3 % of
    entries observed (k = 10; observed zeros are stored as zeros)."""
    import scipy.sparse as sp

    import problems as P
    from nmfkit.solvers import newton_cd

    Xc, Wc, Hc, _ = P.load(P.ensure_cached(P.get("c")))
    cases = [(f"(c) start {s}", Xc, {"beta_loss": "kullback-leibler"},
              (Wc, Hc) if s == 0 else P.initial_factors(Xc, 10, seed=s), 10, 1.5)
             for s in (0, 1, 2)]
    cases.append(("word counts", _word_counts(), {"beta_loss": "kullback-leibler"}, 0, 20, 3.0))
    rng = np.random.default_rng(0)
    counts_full = rng.poisson(4 * rng.random((5000, 10)) @ rng.random((10, 2000))).astype(float)
    rows, cols = np.nonzero(rng.random(counts_full.shape) < 0.03)
    masked = sp.csr_matrix((counts_full[rows, cols], (rows, cols)), shape=counts_full.shape)
    for loss in ("frobenius", "kullback-leibler"):
        cases.append((f"masked {loss}", masked, {"beta_loss": loss, "missing": "mask"}, 0, 10,
                      8.0))
    saved = newton_cd.EXTRAPOLATE
    try:
        for name, X, kw, start, k, seconds in cases:
            curves = {}
            for setting in (False, True, False, True):  # the first pair warms up
                newton_cd.EXTRAPOLATE = setting
                curves[setting] = _fit_curve(X, k, start, seconds, solver="cd", **kw)
            best = min(c[2] for curve in curves.values() for c in curve)
            for setting, curve in curves.items():
                label = "extrapolated" if setting else "plain"
                print(f"{name:26s} {label:12s} " + _targets(curve, best, seconds, digits=3),
                      flush=True)
    finally:
        newton_cd.EXTRAPOLATE = saved


def mu_extrapolate():
    """Multiplicative β-divergence updates plain, extrapolated with candidates floored at
    CANDIDATE_FLOOR x their mean (nmfkit's default), and extrapolated with Ang & Gillis's
    [·]₊ (a floor of 0): time and iterations to 1 / 0.1 / 0.01 % of the best objective
    any of the three reached from the same start.  Cases: 600 x 400 planted rank-10
    products of Gamma(1) factors times Gamma(2, ½) noise (dense factors; and factors
    with 60 % zeros, where IS has several local minima), β = 0, 0.5, 1.5, k = 10, two
    random starts; benchmark (c) with solver='mu' (KL); the critics' word counts (KL,
    sparse); planted rank-10 matrices with 20 % of entries missing (missing='mask'),
    least squares and KL (nmfkit's default there is plain; here they extrapolate
    like the others)."""
    import problems as P
    from nmfkit.solvers import mu

    def planted(seed, sparse):
        rng = np.random.default_rng(seed)
        W, H = rng.gamma(1.0, 1.0, (600, 10)), rng.gamma(1.0, 1.0, (10, 400))
        if sparse:
            W *= rng.random(W.shape) < 0.4
            H *= rng.random(H.shape) < 0.4
        return W @ H * rng.gamma(2.0, 0.5, (600, 400)) + 1e-3

    cases = []
    for sparse in (False, True):
        for beta in (0.0, 0.5, 1.5):
            for start in (0, 1):
                name = f"{'sparse' if sparse else 'dense'} truth β={beta:g} start {start}"
                cases.append((name, planted(0, sparse), {"beta_loss": beta}, start, 10, 5.0))
    Xc, Wc, Hc, _ = P.load(P.ensure_cached(P.get("c")))
    cases.append(("(c) KL, benchmark start", Xc, {"beta_loss": "kullback-leibler"}, (Wc, Hc),
                  10, 5.0))
    cases.append(("word counts (sparse) KL, k=20", _word_counts(),
                  {"beta_loss": "kullback-leibler"}, 0, 20, 5.0))
    for seed, loss in ((1, "frobenius"), (2, "frobenius"), (2, "kullback-leibler")):
        rng = np.random.default_rng(seed)
        Xm = rng.random((600, 10)) @ rng.random((10, 400)) + 0.05 * rng.random((600, 400))
        Xm[rng.random(Xm.shape) < 0.2] = np.nan
        cases.append((f"20 % missing, {loss}, {seed}", Xm, {"beta_loss": loss, "missing": "mask"},
                      0, 10, 5.0))
    settings = {"plain": (False, mu.CANDIDATE_FLOOR),
                f"floor {mu.CANDIDATE_FLOOR:g}": (True, mu.CANDIDATE_FLOOR),
                "[·]₊": (True, 0.0)}
    saved = mu.EXTRAPOLATE, mu.EXTRAPOLATE_MASKED, mu.CANDIDATE_FLOOR
    try:
        for name, X, kw, start, k, seconds in cases:
            curves = {}
            for label, (extrapolate, mu.CANDIDATE_FLOOR) in settings.items():
                mu.EXTRAPOLATE = mu.EXTRAPOLATE_MASKED = extrapolate
                curves[label] = _fit_curve(X, k, start, seconds, solver="mu", **kw)
            best = min(c[2] for curve in curves.values() for c in curve)
            for label, curve in curves.items():
                print(f"{name:32s} {label:11s} " + _targets(curve, best, seconds)
                      + f"; final {curve[-1][2] / best - 1:.1e} above best", flush=True)
    finally:
        mu.EXTRAPOLATE, mu.EXTRAPOLATE_MASKED, mu.CANDIDATE_FLOOR = saved


def setup():
    """One-off passes over X a Frobenius fit makes, on benchmark (d)'s 20,000 x 2,000
    float32 X (median ms): validation (two reductions against the masks it replaced),
    ‖X‖² (one float64 cast per block against two), the final ‖X − WH‖² (in place)."""
    import problems as P

    from nmfkit import _array, _validation

    X, W0, H0, _ = P.load(P.ensure_cached(P.get("d")))

    def masks(A):  # the check before: three masks and their reductions
        return np.isnan(A).any() or np.isinf(A).any() or (A < 0).any()

    rows = [("validation, min/max", lambda _: _validation.check_values(X)),
            ("validation, masks (before)", lambda _: masks(X)),
            ("||X||^2, one cast (now)", lambda _: _array.squared_norm(X)),
            ("||X||^2, two casts (before)", lambda _: _array._rowwise_dot64(X, X)),
            ("||X - WH||^2, in place", lambda _: _array.dense_residual_squared_norm(X, W0, H0))]
    for name, fn in rows:
        print(f"{name:30s} {_median_ms(fn, lambda: None):7.1f} ms")


def w_candidates(iterations=30):
    """Problem (e) with the regular driver (the lean one forced off), 30 iterations from
    the benchmark's start: how often the extrapolated W was accepted."""
    import nmfkit
    import problems as P
    from nmfkit.solvers import alternating

    X, W0, H0, _ = P.load(P.ensure_cached(P.get("e")))
    alternating.LEAN_MIN_BYTES = 1 << 62
    real, candidates, reported = alternating._extrapolated_loss, [], []

    def recording(*args, **kwargs):
        loss, gram = real(*args, **kwargs)
        candidates.append((len(reported), loss))
        return loss, gram

    alternating._extrapolated_loss = recording
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nmfkit.NMF(P.get("e").k, init="custom", tol=0, max_iter=iterations,
                   callback=lambda it, W, H, loss: reported.append(loss)).fit(X, W=W0, H=H0)
    accepted = sum(1 for i, loss in candidates if reported[i] == loss)
    print(f"(e), regular driver, {iterations} iterations: W candidate evaluated "
          f"{len(candidates)} times, accepted {accepted}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["sweep", "products", "float32-loss", "float32-noise", "float32-phase", "knobs", "stopping-rules", "sklearn-w0",
                                     "memory", "memory-one", "kl-kernel", "kl-fill", "kl-sparse", "masked", "setup", "w-candidates", "clip", "cd-extrapolate", "mu-extrapolate"])
    ap.add_argument("problem", nargs="?", help="knobs: benchmark problem a-e")
    ap.add_argument("settings", nargs="*", help="stopping-rules: tol values; knobs: NAME=value[,NAME=value] per run (NAME: "
                    "alternating's, or module.NAME for another module of nmfkit.solvers)")
    ap.add_argument("--starts", default="0,1,2", help="knobs: starts (0: the benchmark's)")
    ap.add_argument("--seconds", type=float, default=20.0, help="knobs: length of each run")
    ap.add_argument("--seeds", default="0,1,2,3,4", help="stopping-rules: random_state values")
    ap.add_argument("--iterations", type=int, default=300,
                    help="stopping-rules: length of nmfkit's recorded curve")
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(os.cpu_count())
    if args.what == "memory-one":
        _memory_one(args.problem)
        return
    if args.what == "stopping-rules":
        stopping_rules(args.problem, args.settings, [int(s) for s in args.seeds.split(",")],
                       args.iterations)
        return
    if args.what == "knobs":
        knobs(args.problem, args.settings or [""], [int(s) for s in args.starts.split(",")],
              args.seconds)
        return
    {"sweep": sweep, "products": products, "float32-loss": float32_loss,
     "float32-noise": float32_noise, "float32-phase": float32_phase,
     "sklearn-w0": sklearn_w0, "memory": memory, "kl-kernel": kl_kernel,
     "kl-fill": kl_fill, "kl-sparse": kl_sparse, "masked": masked,
     "setup": setup, "w-candidates": w_candidates, "clip": clip, "cd-extrapolate": cd_extrapolate,
     "mu-extrapolate": mu_extrapolate}[args.what]()


if __name__ == "__main__":
    main()
