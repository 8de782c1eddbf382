"""nmfkit on a Dask cluster: 1 against 2 workers on this machine, beside Spark's ALS.

Two problems:

- ``scaling``: a dense planted rank-20 matrix (40,000 x 1,000 by default, float64,
  drawn by ``dask.array.random`` with a fixed seed in 10 row blocks), k = 20;
- ``ratings``: MovieLens 100k (recbole's wheel) as the full 943 x 1,682 matrix, unrated
  entries 0, k = 10: the matrix nmfkit's distributed fit factorizes (it has no
  ``missing='mask'``), and Spark's ALS fits the same problem when every entry, zeros
  included, is given to it as an explicit rating (``nonnegative=True``, ``regParam`` 1e-6:
  Spark's ALS is then non-negative least squares on each row, i.e. ANLS).

Contenders, each run in a fresh process (environment and threadpoolctl at one thread per
process; Dask workers with one thread each), alternating and rotated each repeat:

- ``nmfkit-memory``: ``nmfkit.NMF`` on the in-memory matrix (one thread), the reference;
- ``nmfkit-dask-1``, ``nmfkit-dask-2``: ``nmfkit.NMF`` on the dask array, on a
  ``LocalCluster`` of 1 or 2 worker processes (cluster start and data set-up not timed);
- ``spark-als-1``, ``spark-als-2`` (ratings only): ``pyspark.ml.recommendation.ALS`` in
  local mode with 1 or 2 cores.

All nmfkit contenders start from the same random start (``init='random'``,
``random_state=0``: the distributed fit draws the in-memory numbers), solver 'hals', fixed
iterations (tol=0), no float32 phase (the distributed fit has none).  Time per iteration:
nmfkit's from ``loss_curve_`` (median of successive differences); Spark's has no
per-iteration hook, so it is (t(maxIter=b) - t(maxIter=a)) / (b - a) from two fits in the
same session.  Final objective: ½‖X - WH‖² over all entries, in float64, evaluated here
from the returned factors.

The communication model (``--model`` only prints it) counts the bytes one iteration
moves, from the driver's rounds (``nmfkit.distributed.driver``), for m = 10^6 .. 10^9.

Usage::

    .venv/bin/python benchmarks/distributed.py [--quick] [--repeats 2] [--out PATH]

Writes ``benchmarks/results/distributed.json`` and prints a Markdown table.  The default
run took 17 minutes on 2 cores busy with other work (load 4 to 6); ``--quick`` about 4.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

# This file's name is the dask.distributed package's: run as a script, its folder would
# come first on the path and ``import distributed`` would import this file.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_name] = "1"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
PROBLEMS = {
    "scaling": {"m": 40_000, "n": 1000, "k": 20, "rows": 4000, "iters": 15},
    "ratings": {"k": 10, "rows": 236, "iters": 20},
}
QUICK = {"scaling": {"m": 16_000, "iters": 8}, "ratings": {"iters": 10}}
CONTENDERS = {
    "scaling": ["nmfkit-memory", "nmfkit-dask-1", "nmfkit-dask-2"],
    "ratings": ["nmfkit-memory", "nmfkit-dask-1", "nmfkit-dask-2", "spark-als-1", "spark-als-2"],
}


# ----------------------------------------------------------------------------- data
def ratings_matrix():
    """MovieLens 100k as a dense users x items array (0 where unrated)."""
    import importlib.util

    import pandas as pd

    folder = Path(importlib.util.find_spec("recbole").origin).parent / "dataset_example" / "ml-100k"
    table = pd.read_csv(folder / "ml-100k.inter", sep="\t")
    users = table["user_id:token"].astype("category").cat.codes.to_numpy()
    items = table["item_id:token"].astype("category").cat.codes.to_numpy()
    X = np.zeros((users.max() + 1, items.max() + 1))
    X[users, items] = table["rating:float"].to_numpy()
    return X


def scaling_dask(spec):
    import dask.array as da

    rs = da.random.RandomState(0)
    m, n, k, rows = spec["m"], spec["n"], spec["k"], spec["rows"]
    W = rs.exponential(size=(m, k), chunks=(rows, k))
    H = rs.exponential(size=(k, n), chunks=(k, n))
    return W @ H + 0.05 * rs.random_sample((m, n), chunks=(rows, n))


def data(problem, spec, *, as_dask):
    import dask.array as da

    if problem == "scaling":
        X = scaling_dask(spec)
        return X if as_dask else X.compute(scheduler="sync")
    X = ratings_matrix()
    return da.from_array(X, chunks=(spec["rows"], X.shape[1])) if as_dask else X


def objective(X, W, H):
    """½‖X − WH‖² in float64, block by block (X: NumPy or dask)."""
    import dask.array as da

    if isinstance(X, da.Array):
        W = W if isinstance(W, da.Array) else da.from_array(W, chunks=(X.chunks[0], -1))
        return float(0.5 * ((X - W @ H) ** 2).sum().compute())
    return 0.5 * float(np.sum((X - W @ H) ** 2))


# ----------------------------------------------------------------------------- one run
def run_nmfkit(problem, spec, workers):
    from threadpoolctl import threadpool_limits

    import nmfkit

    kw = dict(n_components=spec["k"], init="random", random_state=0, solver="hals",
              max_iter=spec["iters"], tol=0, solver_options={"mixed_precision": False})
    if workers == 0:
        X = data(problem, spec, as_dask=False)
        with threadpool_limits(1):
            model = nmfkit.NMF(**kw)
            start = time.perf_counter()
            W = model.fit_transform(X)
            seconds = time.perf_counter() - start
        return _nmfkit_record(model, seconds, objective(X, W, model.components_))
    import distributed

    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        X = data(problem, spec, as_dask=True).persist()
        distributed.wait(X)
        client.run(lambda: __import__("nmfkit"))  # imports are not the fit's time
        model = nmfkit.NMF(**kw)
        start = time.perf_counter()
        W = model.fit_transform(X)
        seconds = time.perf_counter() - start
        return _nmfkit_record(model, seconds, objective(X, W, model.components_))


def _nmfkit_record(model, seconds, value):
    stamps = model.loss_curve_["seconds"].to_numpy()
    return {"fit_seconds": seconds, "seconds_per_iteration": float(np.median(np.diff(stamps))),
            "iterations": int(model.n_iter_), "objective": value}


def run_spark(problem, spec, cores, tmp):
    import pandas as pd
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import SparkSession

    X = data(problem, spec, as_dask=False)
    users, items = np.indices(X.shape)
    path = Path(tmp) / "entries.csv"
    pd.DataFrame({"user": users.ravel(), "item": items.ravel(), "rating": X.ravel()}).to_csv(
        path, index=False)
    spark = (SparkSession.builder.master(f"local[{cores}]").appName("nmfkit-bench")
             .config("spark.ui.enabled", "false").config("spark.driver.memory", "3g")
             .config("spark.sql.shuffle.partitions", str(2 * cores)).getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    # ALS truncates its lineage every checkpointInterval (10) iterations only with a
    # checkpoint folder; without one, 20 iterations overflow Java's serialization stack.
    spark.sparkContext.setCheckpointDir(str(Path(tmp) / "checkpoints"))
    try:
        frame = spark.read.csv(str(path), header=True, inferSchema=True).cache()
        frame.count()

        def fit(iterations):
            als = ALS(rank=spec["k"], maxIter=iterations, regParam=1e-6, nonnegative=True,
                      userCol="user", itemCol="item", ratingCol="rating", seed=0,
                      numUserBlocks=2 * cores, numItemBlocks=2 * cores)
            start = time.perf_counter()
            model = als.fit(frame)
            U = model.userFactors.toPandas().sort_values("id")
            V = model.itemFactors.toPandas().sort_values("id")
            seconds = time.perf_counter() - start
            return seconds, np.vstack(U["features"].to_numpy()), np.vstack(V["features"].to_numpy())

        fit(2)  # JIT and caches warm
        few = max(2, spec["iters"] // 4)
        t_few, _, _ = fit(few)
        t_all, U, V = fit(spec["iters"])
    finally:
        spark.stop()
    return {"fit_seconds": t_all, "seconds_per_iteration": (t_all - t_few) / (spec["iters"] - few),
            "iterations": spec["iters"], "objective": objective(X, U, V.T)}


def child(args):
    spec = json.loads(args.spec)
    name = args.run
    if name.startswith("spark-als-"):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            record = run_spark(args.problem, spec, int(name.rsplit("-", 1)[1]), tmp)
    else:
        workers = 0 if name == "nmfkit-memory" else int(name.rsplit("-", 1)[1])
        record = run_nmfkit(args.problem, spec, workers)
    print("RESULT " + json.dumps(record))


# ----------------------------------------------------------------------------- model
def communication_model(n=20_000, k=20, rows_per_block=100_000, density=0.05):
    """Bytes one HALS iteration moves with extrapolation on (two rounds), per m.

    Per round, the client sends H (k·n) and HHᵀ (k²) once, and receives one sum: the
    k x n WᵀX and the k x k terms (a tree on the workers sums the blocks' parts).  Among
    the workers, at most every block's part crosses the network once (8 bytes a number).
    For comparison: W itself (what a driver that gathered W would move each iteration)
    and X (stored entries, 12 bytes each: what one pass over it reads).
    """
    rows = []
    for exponent in range(6, 10):
        m = 10 ** exponent
        blocks = -(-m // rows_per_block)
        client = 8 * (2 * (k * n + k * k) + (k * n + 4 * k * k))
        cluster = blocks * 8 * (2 * (k * n + k * k) + (k * n + 4 * k * k))
        rows.append({"m": m, "blocks": blocks, "client_bytes": client,
                     "cluster_bytes": cluster, "W_bytes": 8 * m * k,
                     "X_bytes": int(12 * density * m * n)})
    return {"n": n, "k": k, "rows_per_block": rows_per_block, "density": density,
            "rows": rows}


# ----------------------------------------------------------------------------- driver
def machine():
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "load": load}


def versions():
    import importlib.metadata as md

    out = {}
    for name in ("nmfkit", "dask", "distributed", "zarr", "pyspark", "numpy"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def _bytes(value):
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000:
            return f"{value:.3g} {unit}"
        value /= 1000
    return f"{value:.3g} PB"


def markdown(results):
    lines = []
    for problem, spec in results["problems"].items():
        lines += [f"**{problem}** ({spec['shape'][0]:,} x {spec['shape'][1]:,}, k = {spec['k']}, "
                  f"{spec['iters']} iterations; medians over {results['repeats']} repeats)", "",
                  "| contender | s / iteration | fit s | final ½‖X − WH‖² |", "|---|---|---|---|"]
        for name, runs in results["runs"][problem].items():
            ok = [r for r in runs if "error" not in r]
            if not ok:
                lines.append(f"| {name} | failed: {runs[-1]['error'][:60]} | | |")
                continue
            med = {key: float(np.median([r[key] for r in ok]))
                   for key in ("seconds_per_iteration", "fit_seconds", "objective")}
            lines.append(f"| {name} | {med['seconds_per_iteration']:.4f} | "
                         f"{med['fit_seconds']:.2f} | {med['objective']:.6g} |")
        lines.append("")
    model = results["model"]
    lines += [f"**Communication per iteration** (model: n = {model['n']:,}, k = {model['k']}, "
              f"{model['rows_per_block']:,} rows per block, X sparse at {model['density']:.0%})",
              "", "| m | blocks | client | cluster (at most) | W | X |", "|---|---|---|---|---|---|"]
    for row in model["rows"]:
        lines.append(f"| 10^{int(np.log10(row['m']))} | {row['blocks']:,} | "
                     f"{_bytes(row['client_bytes'])} | {_bytes(row['cluster_bytes'])} | "
                     f"{_bytes(row['W_bytes'])} | {_bytes(row['X_bytes'])} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--problems", default="scaling,ratings")
    parser.add_argument("--out", default=str(HERE / "results" / "distributed.json"))
    parser.add_argument("--model", action="store_true", help="print the model only")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--problem", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        return child(args)
    if args.model:
        print(json.dumps(communication_model(), indent=1))
        return None
    problems = {}
    for name in args.problems.split(","):
        spec = dict(PROBLEMS[name], **(QUICK[name] if args.quick else {}))
        problems[name] = spec
    results = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(),
               "versions": versions(), "repeats": args.repeats, "quick": args.quick,
               "problems": {}, "runs": {}, "model": communication_model()}
    for problem, spec in problems.items():
        shape = (spec["m"], spec["n"]) if problem == "scaling" else ratings_matrix().shape
        results["problems"][problem] = dict(spec, shape=list(shape))
        names = CONTENDERS[problem]
        results["runs"][problem] = {name: [] for name in names}
        for repeat in range(args.repeats):
            order = names[repeat % len(names):] + names[:repeat % len(names)]
            for name in order:
                load = os.getloadavg()[0]
                command = [sys.executable, __file__, "--run", name, "--problem", problem,
                           "--spec", json.dumps(spec)]
                done = subprocess.run(command, capture_output=True, text=True, timeout=600)
                lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
                record = json.loads(lines[-1][7:]) if lines else {
                    "error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
                record.update(repeat=repeat, load_before=load)
                results["runs"][problem][name].append(record)
                print(f"{problem} {name} repeat {repeat}: {record}", file=sys.stderr)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(markdown(results))
    return results


if __name__ == "__main__":
    main()
