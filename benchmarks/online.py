"""Out-of-core NMF: nmfkit.MiniBatchNMF reading sparse .npz shards, beside scikit-learn.

The data: a sparse matrix of ``--rows`` x 2,000 (default 200,000; ``--full``: 2,000,000),
the product of planted sparse rank-20 factors (each row uses 1 or 2 components, each
component ~13 columns, exponential weights: about 0.5 % of the entries stored) with 10 %
multiplicative noise on the stored entries, written as ``.npz`` shards of 20,000
rows by a seeded generator that never holds more than one shard.  k = 20.

Contenders, each in its own process pinned to one core (``sched_setaffinity``; BLAS,
OpenMP and numba threads set to 1, threadpoolctl limits), alternating order per repeat,
all from the same random start (``init='random'``, seed 0), ``batch_size=1024``, the same
number of passes (``--passes``, ``tol=0``, no early stopping):

- ``nmfkit mu (stream)``: ``MiniBatchNMF().fit(nmfkit.stream.npz_shards(folder))``,
  scikit-learn's algorithm, reading one shard at a time;
- ``nmfkit hals (stream)``: the same with ``solver='hals'`` (online HALS);
- ``nmfkit mu (memory)``: ``MiniBatchNMF().fit(X)`` on the whole matrix in memory;
- ``sklearn (memory)``: scikit-learn's ``MiniBatchNMF().fit(X)``, X in memory (its fit
  needs the whole matrix);
- ``sklearn partial_fit (stream)``: scikit-learn's way to stream, ``partial_fit`` on each
  batch of each shard, every pass.

Measured: fit seconds (loading shards inside the fit for the streaming contenders,
loading X for the in-memory ones is outside), peak resident memory of the process
(``ru_maxrss``) and its growth over the process after imports, and the final objective
½‖X − WH‖² of each contender's H with W its exact non-negative least-squares fit (the
same evaluation for all, streamed shard by shard, outside the timing).  The stated bound
for the streaming fits: growth ≤ 2 x (largest shard + the factors W, H, and H's
statistics).

Usage::

    benchmarks/.venv/bin/python benchmarks/online.py [--rows 200000] [--passes 10]
        [--repeats 2] [--full] [--skip "sklearn partial_fit (stream)"]

Results: ``benchmarks/results/online.json`` and a Markdown table on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "NUMBA_NUM_THREADS"):
    os.environ[_name] = "1"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "online.json"
CACHE = HERE / ".cache"
CONTENDERS = ["nmfkit mu (stream)", "nmfkit hals (stream)", "nmfkit mu (memory)",
              "sklearn (memory)", "sklearn partial_fit (stream)"]
N_FEATURES, K, DENSITY, SHARD_ROWS, BATCH = 2_000, 20, 0.005, 20_000, 1024


def make_shards(rows, folder):
    """Write the planted sparse matrix as shards (skipped when they exist)."""
    import scipy.sparse as sp

    folder.mkdir(parents=True, exist_ok=True)
    n_shards = -(-rows // SHARD_ROWS)
    done = folder / "done.json"
    if done.exists() and json.loads(done.read_text()) == {"rows": rows, "version": 2}:
        return sorted(folder.glob("part-*.npz"))
    for old in folder.glob("part-*.npz"):
        old.unlink()
    rng = np.random.default_rng(0)
    # Each component has ~13 columns, each row 1 or 2 components: WH itself is sparse
    # (about 0.5 % of the entries), as topic-like data are.
    width = int(round(DENSITY * N_FEATURES / 1.5 * 2))
    H = np.zeros((K, N_FEATURES))
    for j in range(K):
        H[j, rng.choice(N_FEATURES, width, replace=False)] = rng.exponential(1.0, width)
    for i in range(n_shards):
        r = min(SHARD_ROWS, rows - i * SHARD_ROWS)
        shard_rng = np.random.default_rng(1 + i)
        W = np.zeros((r, K))
        W[np.arange(r), shard_rng.integers(0, K, r)] = shard_rng.exponential(1.0, r)
        second = shard_rng.random(r) < 0.5
        W[np.flatnonzero(second), shard_rng.integers(0, K, int(second.sum()))] += \
            shard_rng.exponential(1.0, int(second.sum()))
        X = sp.csr_matrix(sp.csr_matrix(W) @ sp.csr_matrix(H))
        # 10 % multiplicative noise on the stored entries (kept positive)
        X.data *= np.abs(1.0 + 0.1 * shard_rng.standard_normal(X.data.size))
        sp.save_npz(folder / f"part-{i:05d}.npz", X, compressed=False)
    done.write_text(json.dumps({"rows": rows, "version": 2}))
    return sorted(folder.glob("part-*.npz"))


def _maxrss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def objective(H, folder):
    """½‖X − WH‖² with W the exact NNLS fit of each shard's rows for H, and ‖X‖²."""
    import scipy.sparse as sp

    from nmfkit.solvers.anls import nnls

    total, norm2 = 0.0, 0.0
    HHt = H @ H.T
    for path in sorted(folder.glob("part-*.npz")):
        X = sp.load_npz(path).tocsr()
        Wt = nnls(HHt, np.ascontiguousarray((X @ H.T).T))
        W = np.ascontiguousarray(Wt.T)
        x2 = float(X.data @ X.data)
        cross = float(np.sum((X.T @ W).T * H))
        total += x2 - 2 * cross + float(np.sum((W.T @ W) * HHt))
        norm2 += x2
    return 0.5 * total, norm2


def worker(contender, folder, passes):
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[0]})
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import scipy.sparse as sp
    import sklearn.decomposition

    import nmfkit
    from nmfkit import stream

    folder = Path(folder)
    baseline = _maxrss_bytes()
    common = dict(n_components=K, init="random", random_state=0, batch_size=BATCH,
                  max_iter=passes, tol=0.0, max_no_improvement=None)
    reader = stream.npz_shards(folder)
    out = {"contender": contender, "rows": reader.shape[0], "passes": passes,
           "nnz": None, "baseline_rss": baseline}
    largest = max(sp.load_npz(p).data.nbytes * 2 for p in reader.paths)  # data + indices
    import warnings

    warnings.simplefilter("ignore")
    if contender.endswith("(memory)"):
        X = sp.vstack([sp.load_npz(p) for p in reader.paths], format="csr")
        out["nnz"] = int(X.nnz)
        out["loaded_rss"] = _maxrss_bytes()
        cls = nmfkit.MiniBatchNMF if contender.startswith("nmfkit") else \
            sklearn.decomposition.MiniBatchNMF
        model = cls(**common)
        start = time.perf_counter()
        model.fit(X)
        out["fit_s"] = time.perf_counter() - start
        H = model.components_
        del X
    elif contender.startswith("nmfkit"):
        solver = "hals" if "hals" in contender else "mu"
        model = nmfkit.MiniBatchNMF(solver=solver, **common)
        start = time.perf_counter()
        model.fit(reader)
        out["fit_s"] = time.perf_counter() - start
        H = model.components_
    else:  # scikit-learn's streaming: partial_fit on every batch of every shard
        model = sklearn.decomposition.MiniBatchNMF(**common)
        start = time.perf_counter()
        for _ in range(passes):
            for path in reader.paths:
                shard = sp.load_npz(path).tocsr()
                for a in range(0, shard.shape[0], BATCH):
                    model.partial_fit(shard[a:a + BATCH])
                del shard
        out["fit_s"] = time.perf_counter() - start
        H = model.components_
    out["peak_rss"] = _maxrss_bytes()
    out["growth"] = out["peak_rss"] - baseline
    out["bound"] = 2 * (largest + 8 * K * (reader.shape[0] + 3 * N_FEATURES))
    out["n_steps"] = int(getattr(model, "n_steps_", 0))
    out["own_reconstruction_err"] = float(getattr(model, "reconstruction_err_", float("nan")))
    value, norm2 = objective(np.asarray(H, dtype=np.float64), folder)
    out["objective"], out["relative_error"] = value, float(np.sqrt(2 * value / norm2))
    print(json.dumps(out))


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def table(rows, args, loads):
    lines = [f"### Out-of-core MiniBatchNMF: sparse {rows[0]['rows']:,} x {N_FEATURES:,}, "
             f"about {DENSITY:.1%} stored, k={K} (`benchmarks/online.py"
             f"{' --full' if args.full else ''} --passes {args.passes}`)", "",
             f"Medians over {args.repeats} repeat(s); one core per process; batch_size "
             f"{BATCH}, {args.passes} passes, same random start; "
             f"{platform.processor() or platform.machine()}, load average "
             f"{np.nanmedian(loads):.2f} while measuring. Objective: ½‖X − WH‖² with W the "
             "exact NNLS fit for each contender's H; memory: peak RSS growth over the "
             "process after imports (the in-memory contenders include X).", "",
             "| contender | fit (s) | objective | relative error | peak RSS growth (MB) | "
             "bound (MB) |", "|---|---|---|---|---|---|"]
    for contender in CONTENDERS:
        mine = [r for r in rows if r["contender"] == contender]
        if not mine:
            continue
        streaming = contender.endswith("(stream)") and contender.startswith("nmfkit")
        growth = np.median([r["growth"] for r in mine]) / 2**20
        bound = mine[0]["bound"] / 2**20
        lines.append(
            f"| {contender} | {np.median([r['fit_s'] for r in mine]):.1f} | "
            f"{np.median([r['objective'] for r in mine]):.6g} | "
            f"{np.median([r['relative_error'] for r in mine]):.4f} | {growth:.0f} | "
            + (f"{bound:.0f} ({'met' if growth <= bound else 'missed'}) |" if streaming
               else "— |"))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--full", action="store_true", help="2,000,000 rows")
    parser.add_argument("--passes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip", nargs="*", default=[])
    parser.add_argument("--worker", nargs=3, metavar=("CONTENDER", "FOLDER", "PASSES"))
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker[0], args.worker[1], int(args.worker[2]))
    rows = 2_000_000 if args.full else args.rows
    folder = CACHE / f"online-{rows}"
    start = time.perf_counter()
    make_shards(rows, folder)
    print(f"shards ready in {folder} ({time.perf_counter() - start:.0f} s)", flush=True)
    contenders = [c for c in CONTENDERS if c not in args.skip]
    results, loads = [], []
    for repeat in range(args.repeats):
        order = contenders if repeat % 2 == 0 else contenders[::-1]
        for contender in order:
            loads.append(load_average())
            done = subprocess.run([sys.executable, __file__, "--worker", contender,
                                   str(folder), str(args.passes)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{contender} failed:\n{done.stderr[-2000:]}", flush=True)
                continue
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            results[-1]["repeat"] = repeat
            print(results[-1], flush=True)
    text = table(results, args, loads)
    print(text)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"),
                                   "machine": platform.platform(),
                                   "cores": os.cpu_count(), "load": loads,
                                   "runs": results, "table": text}, indent=1))


if __name__ == "__main__":
    main()
