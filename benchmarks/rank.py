"""Rank selection by cross-validation: nmfkit's select_rank beside the loop users write today.

    python benchmarks/rank.py --quick                      # small problems, one round
    python benchmarks/rank.py --rounds 2 --out benchmarks/results/rank.json --write-results

Contenders, each run in a fresh process with one thread (OMP/OpenBLAS/MKL/numba
environment variables and threadpoolctl), alternating round by round; only the selection
itself is in the clock:

  nmfkit        ``nmfkit.select_rank(X, ranks, method="cv", n_folds=5, holdout=0.1,
                random_state=0, tol=1e-4, max_iter=500)``: masked cross-validation, the
                held-out entries left out of each fit (``missing='mask'``)
  sklearn-loop  for each rank and each of 5 folds: hide a random 10 % of the entries,
                fill them with their column's mean over the entries kept (scikit-learn's
                NMF cannot leave entries out), fit ``sklearn.decomposition.NMF(k,
                init="nndsvda", tol=1e-4, max_iter=500)``, score the mean squared error of
                WH on the hidden entries; the rank of lowest mean error wins

Both pick the rank of lowest mean held-out error. The folds are drawn independently by
each contender (same fraction, same count), so the errors differ by the draw as well as
by the method. R's NMF package (the consensus method's usual anchor) is not run: R is not
installable from PyPI, the only registry these machines reach.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import machine_info, thread_env

HERE = Path(__file__).resolve().parent
SECTION_BEGIN = "<!-- rank.py table: begin (written by benchmarks/rank.py --write-results) -->"
SECTION_END = "<!-- rank.py table: end -->"
CONTENDERS = ("nmfkit", "sklearn-loop")
FOLDS, HOLDOUT, TOL, MAX_ITER = 5, 0.1, 1e-4, 500


# ----------------------------------------------------------------------------- problems
def problem(name, quick):
    """(X, ranks, planted rank or None) of a named problem."""
    import numpy as np

    rng = np.random.default_rng(0)
    m, n = (100, 80) if quick else (200, 150)
    if name == "dense-k8":
        W, H = rng.random((m, 8)), rng.random((8, n))
        X = W @ H
        X = np.maximum(X + 0.1 * X.std() * rng.standard_normal(X.shape), 0)
        return X, list(range(4, 13)), 8
    if name == "poisson-k5":
        W, H = rng.gamma(1.0, 1.0, (m, 5)), rng.gamma(1.0, 1.0, (5, n))
        lam = W @ H
        X = rng.poisson(5.0 * lam / lam.mean()).astype(float)
        return X, list(range(2, 10)), 5
    if name == "movies-tfidf":
        from sklearn.feature_extraction.text import TfidfVectorizer

        from nmfkit.datasets import load_movies

        texts = load_movies()["consensus"]
        if quick:
            texts = texts.iloc[::4]
        X = TfidfVectorizer(min_df=5, stop_words="english").fit_transform(texts)
        return X, list(range(2, 21, 6 if quick else 1)), None
    raise ValueError(name)


PROBLEMS = ("dense-k8", "poisson-k5", "movies-tfidf")


# ----------------------------------------------------------------------------- contenders
def _sklearn_loop(X, ranks):
    import numpy as np
    import scipy.sparse as sp
    from sklearn.decomposition import NMF

    X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=float)
    rng = np.random.default_rng(0)
    order = rng.permutation(X.size)
    size = int(HOLDOUT * X.size)
    errors = {k: [] for k in ranks}
    for fold in range(FOLDS):
        hidden = np.zeros(X.size, bool)
        hidden[order[fold * size:(fold + 1) * size]] = True
        hidden = hidden.reshape(X.shape)
        kept = np.where(hidden, np.nan, X)
        means = np.nan_to_num(np.nanmean(kept, axis=0))
        filled = np.where(hidden, means[None, :], X)
        for k in ranks:
            model = NMF(k, init="nndsvda", tol=TOL, max_iter=MAX_ITER, random_state=fold)
            W = model.fit_transform(filled)
            WH = W @ model.components_
            errors[k].append(float(np.mean((WH[hidden] - X[hidden]) ** 2)))
    means = {k: float(np.mean(v)) for k, v in errors.items()}
    return min(means, key=means.get), means


def _nmfkit(X, ranks):
    from nmfkit import select_rank

    result = select_rank(X, ranks=ranks, method="cv", n_folds=FOLDS, holdout=HOLDOUT,
                         random_state=0, tol=TOL, max_iter=MAX_ITER)
    return int(result.best_rank), {int(k): float(v) for k, v in
                                   result.table["cv_error"].items()}


def _worker(name, contender, quick):
    import warnings

    from threadpoolctl import threadpool_limits

    warnings.simplefilter("ignore")
    threadpool_limits(1)
    X, ranks, _ = problem(name, quick)
    run = _nmfkit if contender == "nmfkit" else _sklearn_loop
    run(problem("poisson-k5", True)[0][:30, :20], [2, 3])  # warm-up: imports, kernels
    start = time.perf_counter()
    best, errors = run(X, ranks)
    print(json.dumps({"seconds": time.perf_counter() - start, "best": best,
                      "errors": errors}))


def run_one(name, contender, quick, timeout):
    proc = subprocess.run([sys.executable, __file__, "_worker", name, contender,
                           "1" if quick else "0"], env=thread_env(1), capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        return {"status": "error", "error": proc.stderr[-800:]}
    return {"status": "ok", **json.loads(proc.stdout.strip().splitlines()[-1])}


# ----------------------------------------------------------------------------- report
def render(results):
    meta = results["meta"]
    v = meta["versions"]
    lines = [f"Run {meta['date']} (`python benchmarks/rank.py {' '.join(results['argv'])}`), "
             f"{meta['cpu']}, {meta['cores']} cores, one thread per process, "
             f"{results['elapsed_s'] / 60:.1f} min; nmfkit {v.get('nmfkit')} "
             f"(commit {meta['nmfkit_commit']}), scikit-learn {v.get('scikit-learn')}, numpy "
             f"{v.get('numpy')}. Median of {results['rounds']} round(s).", "",
             "| problem | shape | ranks | planted | contender | rank chosen | time (s) | "
             "× nmfkit |", "|---|---|---|---|---|---|---|---|"]
    for p in results["problems"]:
        times = {c: [r["seconds"] for r in p["runs"][c] if r["status"] == "ok"]
                 for c in CONTENDERS}
        base = statistics.median(times["nmfkit"]) if times["nmfkit"] else None
        for c in CONTENDERS:
            runs = [r for r in p["runs"][c] if r["status"] == "ok"]
            if not runs:
                lines.append(f"| {p['name']} | {p['shape'][0]:,} x {p['shape'][1]:,} | "
                             f"{p['ranks'][0]}–{p['ranks'][-1]} | {p['planted'] or '—'} | "
                             f"{c} | error | — | — |")
                continue
            t = statistics.median(times[c])
            chosen = sorted({r["best"] for r in runs})
            ratio = f"{t / base:.2f}" if base else "—"
            lines.append(f"| {p['name']} | {p['shape'][0]:,} x {p['shape'][1]:,} | "
                         f"{p['ranks'][0]}–{p['ranks'][-1]} | {p['planted'] or '—'} | {c} | "
                         f"{', '.join(map(str, chosen))} | {t:.2f} | {ratio} |")
    return "\n".join(lines)


def write_results(results):
    path = HERE / "RESULTS.md"
    text = path.read_text()
    block = SECTION_BEGIN + "\n\n" + render(results) + "\n\n" + SECTION_END
    if SECTION_BEGIN in text:
        head, rest = text.split(SECTION_BEGIN, 1)
        text = head + block + rest.split(SECTION_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller problems, one round")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--out", help="JSON (default benchmarks/results/rank[-quick].json)")
    ap.add_argument("--report", metavar="JSON", help="only print the table of a results file")
    ap.add_argument("--write-results", action="store_true",
                    help="write the table into benchmarks/RESULTS.md between its markers")
    args = ap.parse_args(argv)
    if args.report:
        results = json.loads(Path(args.report).read_text())
        print(render(results))
        if args.write_results:
            write_results(results)
        return
    rounds = 1 if args.quick else args.rounds
    t0 = time.monotonic()
    results = {"meta": machine_info(1, ("nmfkit", "numpy", "scipy", "scikit-learn")),
               "argv": sys.argv[1:], "rounds": rounds, "problems": []}
    for name in args.problems.split(","):
        X, ranks, planted = problem(name, args.quick)
        entry = {"name": name, "shape": list(X.shape), "ranks": ranks, "planted": planted,
                 "runs": {c: [] for c in CONTENDERS}}
        for r in range(rounds):
            order = CONTENDERS if r % 2 == 0 else CONTENDERS[::-1]
            for c in order:
                res = run_one(name, c, args.quick, args.timeout)
                entry["runs"][c].append(res)
                print(f"{name} round {r} {c}: {res.get('seconds', float('nan')):.2f} s, "
                      f"best {res.get('best')} {res.get('error', '')[:200]}", flush=True)
        results["problems"].append(entry)
    results["elapsed_s"] = time.monotonic() - t0
    out = Path(args.out or HERE / "results" / ("rank-quick.json" if args.quick else "rank.json"))
    out.write_text(json.dumps(results, indent=1))
    print(render(results))
    if args.write_results:
        write_results(results)
    print(f"wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        _worker(sys.argv[2], sys.argv[3], sys.argv[4] == "1")
    else:
        main()
