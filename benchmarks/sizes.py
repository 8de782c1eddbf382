"""Size sweep (issue 19): nmfkit beside scikit-learn from 50 x 30 to 2,000 x 1,000.

    python benchmarks/sizes.py                  # the default sweep, under 10 minutes
    python benchmarks/sizes.py --full           # adds 20,000 x 2,000
    python benchmarks/sizes.py --quick          # up to 300 x 200, about two minutes
    python benchmarks/sizes.py --sizes 100x50,300x200 --kinds dense --losses frobenius

Problems (deterministic from seeds; k with the size): every size in ``SIZES`` (``--full``
adds ``FULL_SIZES``) in four forms,

- dense Frobenius: a planted rank-k model W*H* (exponential factors) plus 10 % of its mean
  in half-normal noise;
- sparse Frobenius: the same model and noise at 10 % of the positions (1 % for the
  20,000 x 2,000 problem), uniform, as CSR;
- dense KL: Poisson counts drawn from a rank-k gamma intensity of mean 2, as a dense array;
- sparse KL: counts from an intensity of mean 0.2 (most entries are zero), as CSR.

Pairs: for the Frobenius loss scikit-learn's ``'cd'`` against nmfkit's ``'cd'`` (HALS) and
scikit-learn's ``'mu'`` against nmfkit's ``'mu'``; for KL, where scikit-learn has only
``'mu'``, its ``'mu'`` against nmfkit's ``'cd'`` (Newton-CD, what ``solver='auto'`` runs)
and nmfkit's ``'mu'``.  Every fit is ``NMF(k, init='nndsvda', random_state=0, tol=0,
max_iter=...)`` of the library (nmfkit follows scikit-learn's random stream, so both start
from the same factors), on float64 data.

Protocol: each problem runs in a fresh process with one thread (``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, ``NUMBA_NUM_THREADS`` = 1 and threadpoolctl),
and in it

1. every contender is fitted once, untimed (imports, compiled kernels loaded);
2. scikit-learn with ``max_iter=200``: its objective, evaluated here in float64
   (``objective.py``), is the target; nmfkit with ``max_iter=200`` gives its objective
   curve (``loss_curve_``, extended to ``--cap`` iterations when 200 do not reach the
   target) and so the first iteration at or under the target, checked on the returned
   factors by untimed fits (moved on until a fit really ends at or under it);
3. ``--repeats`` rounds in all (default 5; 3 for problems of a million entries or more),
   the fits of step 2 being the first: each round one fit of every contender, in an order
   reversed every other round: scikit-learn at 200 iterations, nmfkit at 200 iterations,
   nmfkit at its target iteration (from the second round on).  Only the fit call is in
   the clock, input checks and initialisation included (what a user waits for).  A timed
   nmfkit run that ends above the target does not count.

Reported per pair (median over the rounds, minimum beside it in the JSON): seconds per
iteration (a 200-iteration fit's time / 200) of both and their ratio; the target and the
iterations nmfkit needs to reach it; time to the target (scikit-learn: its 200-iteration
fit) of both and the speed-up; both objectives after 200 iterations.  Results go to
``benchmarks/results/sizes.json`` (``--out``), with the machine, the versions and the load
average at the start and end of each problem's process; the Markdown table is printed.
The machine is shared: compare the ratios of one run, not absolute times across runs.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")

#: (m, n, k) of the default sweep, and what ``--full`` adds.
SIZES = [(50, 30, 5), (100, 50, 5), (300, 200, 10), (1797, 64, 10), (2000, 1000, 20)]
FULL_SIZES = [(20000, 2000, 30)]
KINDS = ("dense", "sparse")
LOSSES = ("frobenius", "kullback-leibler")
#: Iterations of every scikit-learn fit (and of nmfkit's per-iteration fit).
ITERATIONS = 200
#: (scikit-learn solver, nmfkit solver) pairs per loss.
PAIRS = {"frobenius": [("cd", "cd"), ("mu", "mu")],
         "kullback-leibler": [("mu", "cd"), ("mu", "mu")]}


# ----------------------------------------------------------------------------- problems
def build(m, n, k, kind, loss, seed=0):
    """The problem's X (float64; CSR for ``kind='sparse'``), from ``seed`` alone."""
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng([seed, m, n, k, KINDS.index(kind), LOSSES.index(loss)])
    if loss == "frobenius":
        W, H = rng.exponential(1.0, (m, k)), rng.exponential(1.0, (k, n))
        if kind == "dense":
            V = W @ H
            return V + 0.1 * V.mean() * np.abs(rng.standard_normal((m, n)))
        density = 0.01 if m * n >= 10**7 else 0.1
        nnz = max(1, int(density * m * n))
        flat = rng.choice(m * n, size=nnz, replace=False)
        rows, cols = np.divmod(flat, n)
        values = np.einsum("ij,ij->i", W[rows], H[:, cols].T)
        values += 0.1 * values.mean() * np.abs(rng.standard_normal(nnz))
        return sp.csr_matrix((values, (rows, cols)), shape=(m, n))
    mean = 2.0 if kind == "dense" else 0.2
    W, H = rng.gamma(1.0, 1.0, (m, k)), rng.gamma(1.0, 1.0, (k, n))
    intensity = W @ H
    counts = rng.poisson(intensity * (mean / intensity.mean())).astype(np.float64)
    return counts if kind == "dense" else sp.csr_matrix(counts)


def describe(m, n, k, kind, loss):
    return f"{m}x{n} {kind} {'KL' if loss == 'kullback-leibler' else 'Frobenius'} k={k}"


# ----------------------------------------------------------------------------- one problem
def fit(library, solver, X, k, loss, max_iter):
    """One fit; returns (W, H, seconds of the fit call, model)."""
    if library == "sklearn":
        from sklearn.decomposition import NMF
    else:
        from nmfkit import NMF
    model = NMF(k, init="nndsvda", solver=solver, beta_loss=loss, tol=0.0, max_iter=max_iter,
                random_state=0)
    start = time.perf_counter()
    W = model.fit_transform(X)
    seconds = time.perf_counter() - start
    return W, model.components_, seconds, model


def first_at_target(reaches, curve, target, reached_at_200, cap, exact_step):
    """The first max_iter whose fit ends at or under ``target`` (``reaches(i)`` fits and
    checks), or None.

    The curve (``loss_curve_``) holds the solver's own objective, exact up to rounding
    except in a float32 phase (float32 products: the fit is checked, and moved on until it
    really ends at the target).  nmfkit's Frobenius MU ends a fit with one exact W step,
    which the curve does not show: a fit of i iterations ends below the curve at i, so the
    first iteration is found by bisection under the curve's (``exact_step``).
    """
    below = curve[curve["loss"] <= target]
    if len(below):
        iteration = int(below["iteration"].iloc[0])
    elif reached_at_200:
        iteration = ITERATIONS
    else:
        return None
    while not reaches(max(1, iteration)):
        iteration += max(1, iteration // 50)
        if iteration > cap:
            return None
    if exact_step:
        lo, hi = 0, iteration  # reaches(hi); not known for lo
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if reaches(mid):
                hi = mid
            else:
                lo = mid
        iteration = hi
    return max(1, iteration)


def run_problem(m, n, k, kind, loss, repeats, cap):
    """Everything measured on one problem, in this process (one thread)."""
    import warnings

    import numpy as np
    from threadpoolctl import threadpool_limits

    import objective

    warnings.simplefilter("ignore")  # ConvergenceWarning of tol=0 fits
    threadpool_limits(1)
    load_start = os.getloadavg()
    X = build(m, n, k, kind, loss)
    X_sq = objective.sq_norm(X)

    def measure(W, H):
        return objective.objective(X, W, H, loss, X_sq)

    pairs = PAIRS[loss]
    references = sorted({sk for sk, _ in pairs})
    ours = sorted({nk for _, nk in pairs})
    for solver in references:  # warm-up: imports, the first call's set-up
        fit("sklearn", solver, X, k, loss, 1)
    for solver in ours:
        fit("nmfkit", solver, X, k, loss, 1)

    # Round 0: scikit-learn's 200-iteration fits (their objectives are the targets) and
    # nmfkit's (their curves locate the target iterations), in alternating order.
    base = [("sklearn", solver, ITERATIONS) for solver in references]
    base += [("nmfkit", solver, ITERATIONS) for solver in ours]
    times = {job: [] for job in base}
    reached = {job: [] for job in base}
    curves = {}

    def timed(job):
        library, solver, max_iter = job
        W, H, seconds, model = fit(library, solver, X, k, loss, max_iter)
        times.setdefault(job, []).append(seconds)
        reached.setdefault(job, []).append(measure(W, H))
        return model

    for job in base:
        model = timed(job)
        if job[0] == "nmfkit":
            curves[job[1]] = model.loss_curve_
    targets = {solver: reached[("sklearn", solver, ITERATIONS)][0] for solver in references}
    final = {solver: reached[("nmfkit", solver, ITERATIONS)][0] for solver in ours}

    at_target = {}
    for sk, nk in pairs:  # untimed: where nmfkit's fits reach scikit-learn's objective
        target, curve = targets[sk], curves[nk]
        if curve["loss"].iloc[-1] > target and final[nk] > target:
            curve = fit("nmfkit", nk, X, k, loss, cap)[3].loss_curve_
        at_target[(sk, nk)] = first_at_target(
            lambda i: measure(*fit("nmfkit", nk, X, k, loss, i)[:2]) <= target,
            curve, target, final[nk] <= target, cap,
            exact_step=(nk == "mu" and loss == "frobenius"))

    # The other rounds: every job, the fits to a target included, the order reversed
    # every other round.
    jobs = base + [("nmfkit", nk, it) for (sk, nk), it in at_target.items() if it is not None]
    jobs = list(dict.fromkeys(jobs))
    for round_ in range(1, max(2, repeats)):
        for job in (jobs if round_ % 2 == 0 else jobs[::-1]):
            timed(job)

    rows = []
    for sk, nk in pairs:
        sk_job, nk_job = ("sklearn", sk, ITERATIONS), ("nmfkit", nk, ITERATIONS)
        iteration = at_target[(sk, nk)]
        target_job = ("nmfkit", nk, iteration) if iteration is not None else None
        good = ([s for s, v in zip(times[target_job], reached[target_job])
                 if v <= targets[sk]] if target_job else [])
        rows.append({
            "sklearn": sk, "nmfkit": nk,
            "sklearn_seconds": times[sk_job], "nmfkit_seconds": times[nk_job],
            "sklearn_s_per_iter": statistics.median(times[sk_job]) / ITERATIONS,
            "nmfkit_s_per_iter": statistics.median(times[nk_job]) / ITERATIONS,
            "target": targets[sk],
            "nmfkit_iterations_to_target": iteration,
            "nmfkit_seconds_to_target": good,
            "sklearn_time_to_target": statistics.median(times[sk_job]),
            "nmfkit_time_to_target": statistics.median(good) if good else None,
            "nmfkit_time_to_target_min": min(good) if good else None,
            "sklearn_time_to_target_min": min(times[sk_job]),
            "sklearn_objective": targets[sk], "nmfkit_objective": final[nk],
        })
    return {"problem": {"m": m, "n": n, "k": k, "kind": kind, "loss": loss,
                        "title": describe(m, n, k, kind, loss),
                        "stored": int(X.nnz) if hasattr(X, "nnz") else m * n},
            "repeats": repeats, "pairs": rows,
            "loadavg_start": load_start, "loadavg_end": os.getloadavg()}


# ----------------------------------------------------------------------------- driver
def versions():
    import numpy
    import scipy
    import sklearn

    import nmfkit

    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "scipy": scipy.__version__, "scikit-learn": sklearn.__version__,
            "nmfkit": getattr(nmfkit, "__version__", "?"), "nmfkit_file": nmfkit.__file__}


def table(results):
    lines = ["| problem | scikit-learn | nmfkit | s/iter sklearn | s/iter nmfkit | "
             "per-iteration ratio | nmfkit iterations to sklearn's objective | "
             "time to it: sklearn | nmfkit | speed-up | objective after 200: sklearn | nmfkit |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for res in results:
        if "error" in res:
            lines.append(f"| {res['title']} | failed: {res['error']} |" + " |" * 10)
            continue
        for row in res["pairs"]:
            ours = row["nmfkit_time_to_target"]
            lines.append(
                f"| {res['problem']['title']} | {row['sklearn']} | {row['nmfkit']} | "
                f"{1e3 * row['sklearn_s_per_iter']:.3g} ms | "
                f"{1e3 * row['nmfkit_s_per_iter']:.3g} ms | "
                f"{row['nmfkit_s_per_iter'] / row['sklearn_s_per_iter']:.2f} | "
                f"{row['nmfkit_iterations_to_target'] or 'not reached'} | "
                f"{1e3 * row['sklearn_time_to_target']:.3g} ms | "
                + (f"{1e3 * ours:.3g} ms | {row['sklearn_time_to_target'] / ours:.1f}x | "
                   if ours else "not reached | - | ")
                + f"{row['sklearn_objective']:.6g} | {row['nmfkit_objective']:.6g} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="add 20,000 x 2,000")
    parser.add_argument("--quick", action="store_true", help="sizes up to 300 x 200 only")
    parser.add_argument("--sizes", help="comma-separated MxN of the sweep to run (e.g. 100x50)")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--losses", default=",".join(LOSSES))
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed rounds (default 5; 3 from a million entries)")
    parser.add_argument("--cap", type=int, default=2000,
                        help="most nmfkit iterations tried to reach scikit-learn's objective")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "sizes.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:  # one problem, in this (fresh) process
        m, n, k, kind, loss, repeats, cap = json.loads(args.worker)
        sys.path.insert(0, str(HERE))
        print(json.dumps(run_problem(m, n, k, kind, loss, repeats, cap)))
        return

    sizes = SIZES + (FULL_SIZES if args.full else [])
    if args.quick:
        sizes = [s for s in sizes if s[0] * s[1] <= 300 * 200]
    if args.sizes:
        wanted = {tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")}
        sizes = [s for s in sizes if s[:2] in wanted]
    kinds = args.kinds.split(",")
    losses = args.losses.split(",")
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", **{v: "1" for v in THREAD_VARIABLES})
    results = []
    started = time.time()
    for m, n, k in sizes:
        for loss in losses:
            for kind in kinds:
                repeats = args.repeats or (3 if m * n >= 10**6 else 5)
                job = json.dumps([m, n, k, kind, loss, repeats, args.cap])
                print(f"{describe(m, n, k, kind, loss)} ...", file=sys.stderr, flush=True)
                done = subprocess.run([sys.executable, __file__, "--worker", job], env=env,
                                      capture_output=True, text=True)
                if done.returncode != 0:
                    lines = done.stderr.strip().splitlines() or [f"exit {done.returncode}"]
                    results.append({"title": describe(m, n, k, kind, loss),
                                    "error": lines[-1][:300]})
                    continue
                results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    markdown = table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M"), "seconds": round(time.time() - started, 1),
        "machine": {"cpu": platform.processor() or platform.machine(),
                    "cores": os.cpu_count(), "threads": 1},
        "versions": versions(), "iterations": ITERATIONS, "results": results,
        "table": markdown}, indent=1))
    print(markdown)


if __name__ == "__main__":
    main()
