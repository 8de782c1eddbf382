"""Masked least squares (``missing='mask'``, Frobenius): EM beside Newton-CD.

    python benchmarks/masked.py                      # every problem, 3 rounds, 1 thread
    python benchmarks/masked.py --problems tfidf-fold --repeats 2 --seconds 60
    python benchmarks/masked.py --threads 2 --json benchmarks/results/masked.json

The two solvers minimise the same objective, ½‖P_Ω(X − WH)‖², by different means: EM
(``solver='em'``) fills the unobserved entries from the model and takes HALS steps on the
filled matrix, Newton-CD (``'newton-cd'``) runs weighted coordinate descent on the
observed entries.  ``solver='auto'`` picks between them by the share of unobserved
entries and of non-zeros (``nmfkit.solvers.em.pays``); this benchmark is what that rule
rests on.  Problems (each a dense X with NaN at the unobserved entries, k components):

  tfidf-fold    a fold of select_rank's cross-validation on the movies' tf-idf
                (``nmfkit.datasets.load_movies``, TfidfVectorizer(min_df=5, English stop
                words): 5,526 x 2,771, 0.34 % stored), 10 % of the stored entries and as
                many zeros hidden; k = 10
  sparse-30     the same matrix with 30 % of its stored entries and as many zeros hidden
  dense-10      planted rank 8, 200 x 150, Gaussian noise 0.1 x std, 10 % hidden; k = 8
  dense-30      the same with 30 % hidden

Every contender starts from the same W0, H0 (``init='nndsvda'`` on the zero-filled X,
computed once), ``tol=0``, stopped by a callback after ``--seconds`` or at
``--max-iter``; contenders alternate within a round, their order reversed every other
round, threads pinned (tuning.py's ``pin_threads``).  From each ``loss_curve_``: the time
to come within 1 % and 0.1 % of the lowest objective any contender reached from that
start (median [min-max] over rounds), seconds per iteration, and the final objective.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from tuning import _med_range, first_at, pin_threads  # noqa: E402

PROBLEMS = ("tfidf-fold", "sparse-30", "dense-10", "dense-30")
CONTENDERS = ("em", "newton-cd", "auto")
TARGETS = (0.01, 0.001)


def _tfidf():
    from sklearn.feature_extraction.text import TfidfVectorizer

    from nmfkit.datasets import load_movies

    texts = load_movies()["consensus"].dropna().tolist()
    return TfidfVectorizer(min_df=5, stop_words="english").fit_transform(texts).tocsr()


def load(name):
    """(X with NaN at the hidden entries, k, description)."""
    import numpy as np

    rng = np.random.default_rng(0)
    if name in ("tfidf-fold", "sparse-30"):
        share = 0.1 if name == "tfidf-fold" else 0.3
        S = _tfidf()
        X = S.toarray()
        stored = np.flatnonzero(X)
        zeros = np.flatnonzero(X == 0)
        held = np.concatenate([rng.choice(stored, int(share * stored.size), replace=False),
                               rng.choice(zeros, int(share * stored.size), replace=False)])
        X.reshape(-1)[held] = np.nan
        return X, 10, (f"movies tf-idf {X.shape[0]:,} x {X.shape[1]:,}, "
                       f"{share:.0%} of stored entries and as many zeros hidden")
    share = 0.1 if name == "dense-10" else 0.3
    m, n, k = 200, 150, 8
    Y = rng.random((m, k)) @ rng.random((k, n))
    X = np.maximum(Y + 0.1 * Y.std() * rng.standard_normal((m, n)), 0)
    X[rng.random((m, n)) < share] = np.nan
    return X, k, f"planted rank {k}, {m} x {n}, {share:.0%} hidden"


def start(X, k):
    """NNDSVDa factors of the zero-filled X (the scheme a masked fit starts from)."""
    import numpy as np
    import scipy.sparse as sp

    from nmfkit.init import initialize

    filled = np.where(np.isnan(X), 0, X)
    if np.count_nonzero(filled) < 0.1 * filled.size:
        filled = sp.csr_matrix(filled)
    return initialize(filled, k, "nndsvda", random_state=0)


def run(X, k, W0, H0, solver, seconds, max_iter):
    from nmfkit import NMF

    began = []

    def stop_after(iteration, W, H, loss):
        if not began:
            began.append(time.perf_counter())
        return seconds is not None and time.perf_counter() - began[0] > seconds

    model = NMF(k, missing="mask", solver=solver, init="custom", tol=0, max_iter=max_iter,
                callback=stop_after)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, W=W0.copy(), H=H0.copy())
    wall = time.perf_counter() - t
    curve = [tuple(map(float, row)) for row in
             model.loss_curve_[["iteration", "seconds", "loss"]].itertuples(index=False)]
    return {"solver": model.solver_, "curve": curve, "wall": wall, "n_iter": model.n_iter_,
            "final": 0.5 * model.reconstruction_err_ ** 2}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--contenders", default=",".join(CONTENDERS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=30.0, help="per fit (default 30)")
    ap.add_argument("--max-iter", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    pin_threads(args.threads)
    contenders = args.contenders.split(",")
    out = {"command": " ".join(["python", "benchmarks/masked.py", *(argv or sys.argv[1:])]),
           "threads": args.threads, "problems": {}}
    print(f"# {out['command']}  ({args.threads} thread(s), {args.repeats} rounds, "
          f"{args.seconds} s or {args.max_iter} iterations per fit)\n")
    print("| problem | contender | runs as | 1 % of best (s) | 0.1 % of best (s) | "
          "s / iteration | iterations | final objective |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.problems.split(","):
        X, k, description = load(name)
        W0, H0 = start(X, k)
        for solver in contenders:  # untimed warm-up: compilation, first touch
            run(X, k, W0, H0, solver, None, 2)
        runs = {c: [] for c in contenders}
        for r in range(args.repeats):
            for solver in (contenders if r % 2 == 0 else contenders[::-1]):
                runs[solver].append(run(X, k, W0, H0, solver, args.seconds, args.max_iter))
        best = min(min(l for _, _, l in x["curve"]) for rs in runs.values() for x in rs)
        out["problems"][name] = {"description": description, "k": k, "best": best,
                                 "runs": runs}
        for solver in contenders:
            rs = runs[solver]
            cells = [_med_range([first_at(x["curve"], best * (1 + t))[1] for x in rs]) or "-"
                     for t in TARGETS]
            per_it = _med_range([x["curve"][-1][1] / max(x["n_iter"], 1) for x in rs],
                                "{:.2e}")
            finals = _med_range([x["final"] for x in rs], "{:.6g}")
            iters = _med_range([x["n_iter"] for x in rs], "{:.0f}")
            print(f"| {name}: {description}, k={k} | {solver} | {rs[0]['solver']} | "
                  f"{cells[0]} | {cells[1]} | {per_it} | {iters} | {finals} |")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
