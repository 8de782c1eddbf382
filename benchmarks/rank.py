"""Rank selection by cross-validation (issue 21): how often select_rank(method='cv') finds a
planted rank, and how fast it is beside the loop users write today with scikit-learn.

    python benchmarks/rank.py --quick                        # smoke test, ~2 minutes
    python benchmarks/rank.py --write-results                # study + speed (~15 min on 2 cores)
    python benchmarks/rank.py --parts study --seeds 3        # one part only
    python benchmarks/rank.py --report benchmarks/results/rank.json --write-results

Part 1, accuracy study.  Planted data of 200 x 150 at true ranks k = 3, 5, 8, 12, three
kinds, three noise levels each (``make_planted``):
  dense     W, H uniform on [0, 1); X = max(WH + e, 0), e Gaussian of standard deviation
            0.05 / 0.1 / 0.3 x std(WH)
  sparse    W, H uniform with 70 % of their entries set to 0; X = WH exp(sigma z), z standard
            normal, sigma = 0.1 / 0.3 / 0.5 (log-normal, multiplicative); scipy CSR
  poisson   X ~ Poisson(WH), W, H Gamma(1, 1), WH scaled to a mean count of 20 / 5 / 2
Each case is ``select_rank(X, ranks=range(max(2, k - 3), k + 4), method="cv", n_folds=5,
random_state=seed, tol=1e-5, max_iter=1000)``, the Frobenius loss (select_rank's default);
the counts are also run with ``beta_loss="kullback-leibler"`` (kind ``poisson-kl``, the loss
tests/test_rank.py uses for them).  ``--seeds`` cases per cell (a new X and new folds each);
the cases run in ``--workers`` processes (default 2) of one thread each.

Part 2, speed: the rank of lowest mean held-out error over ranks 2-20, 5 folds of 10 %, on
planted dense (k = 8, noise 0.1), planted counts (k = 5, mean 5) and the movies' tf-idf
(the critics' consensus texts of ``nmfkit.datasets.load_movies()``, scikit-learn
``TfidfVectorizer(min_df=5, stop_words="english")``: 5,526 x 2,771, 0.34 % stored).
Contenders, each run in a fresh process, contenders rotated round by round, after an untimed
warm-up on a small matrix of the same kind (imports, compiled kernels); only the selection
is in the clock:
  nmfkit         ``select_rank(X, ranks, method="cv", n_folds=5, holdout=0.1,
                 random_state=0, tol=1e-5, max_iter=1000)``: one thread
  nmfkit-2jobs   the same with ``n_jobs=2``: two processes of one thread each (2 threads)
  sklearn-loop   for each fold and each rank: the held-out entries set to the mean of the
                 observed entries of their column (scikit-learn's NMF cannot leave entries
                 out; a sparse X stays sparse, its held-out zeros becoming stored entries),
                 ``sklearn.decomposition.NMF(k, init="nndsvda", tol=1e-5, max_iter=1000)``
                 (solver 'cd', its default) fitted to that, the mean squared error of WH on
                 the held-out entries; one thread
Both use the same folds: the loop draws them with nmfkit's own fold routine
(``nmfkit.rank._cv_folds``, private) from select_rank's seed, and the harness checks that
the held-out entries of every fold are the same in both (a hash of their indices).  The
same init scheme (NNDSVDa; nmfkit's 'auto' for k <= min(m, n)), the same tol and max_iter
(each library reads tol by its own stopping rule), the same seed per fit.  The loss is the
Frobenius one in both (the counts too).

R's NMF package (the consensus anchor issue 21 names) is not run: there is no R on these
machines and only PyPI is reachable.

Writes benchmarks/results/rank.json (rank-quick.json with --quick) and, with
--write-results, the tables into benchmarks/RESULTS.md between the rank.py markers.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from bench import THREAD_VARS, background_cpu, machine_info, thread_env

HERE = Path(__file__).resolve().parent
SECTION_BEGIN = "<!-- rank.py table: begin (written by benchmarks/rank.py --write-results) -->"
SECTION_END = "<!-- rank.py table: end -->"

KINDS = ("dense", "sparse", "poisson", "poisson-kl")
RANKS = (3, 5, 8, 12)
LEVELS = {"dense": (0.05, 0.1, 0.3), "sparse": (0.1, 0.3, 0.5), "poisson": (20.0, 5.0, 2.0),
          "poisson-kl": (20.0, 5.0, 2.0)}
LEVEL_NAME = {"dense": "noise {} x std(WH)", "sparse": "log-normal sigma {}",
              "poisson": "mean count {:g}", "poisson-kl": "mean count {:g}"}
KIND_NOTE = {"dense": "dense, Gaussian noise", "sparse": "sparse CSR, log-normal noise",
             "poisson": "Poisson counts, Frobenius loss",
             "poisson-kl": "Poisson counts, KL loss"}
SHAPE, QUICK_SHAPE = (200, 150), (100, 75)
QUICK_RANKS = (3, 8)
FOLDS, HOLDOUT, TOL, MAX_ITER = 5, 0.1, 1e-5, 1000
CONTENDERS = ("nmfkit", "nmfkit-2jobs", "sklearn-loop")
SPEED_PROBLEMS = ("dense-k8", "poisson-k5", "movies-tfidf")


# ----------------------------------------------------------------------------- data
def make_planted(kind, k, level, seed, shape=SHAPE):
    """X of one study case; deterministic from (kind, k, level, seed)."""
    import numpy as np
    import scipy.sparse as sp

    m, n = shape
    base = "poisson" if kind == "poisson-kl" else kind
    rng = np.random.default_rng([KINDS.index(base), k, int(round(1000 * level)), seed])
    if base == "dense":
        X = rng.random((m, k)) @ rng.random((k, n))
        return np.maximum(X + level * X.std() * rng.standard_normal((m, n)), 0.0)
    if base == "sparse":
        W = rng.random((m, k)) * (rng.random((m, k)) < 0.3)
        H = rng.random((k, n)) * (rng.random((k, n)) < 0.3)
        return sp.csr_matrix((W @ H) * np.exp(level * rng.standard_normal((m, n))))
    rates = rng.gamma(1.0, 1.0, (m, k)) @ rng.gamma(1.0, 1.0, (k, n))
    return rng.poisson(rates * level / rates.mean()).astype(float)


def study_ranks(k):
    return list(range(max(2, k - 3), k + 4))


def speed_problem(name, quick):
    """(X, ranks, planted rank or None) of a speed problem."""
    shape = QUICK_SHAPE if quick else SHAPE
    ranks = list(range(2, 11 if quick else 21))
    if name == "dense-k8":
        return make_planted("dense", 8, 0.1, 0, shape), ranks, 8
    if name == "poisson-k5":
        return make_planted("poisson", 5, 5.0, 0, shape), ranks, 5
    if name == "movies-tfidf":
        from sklearn.feature_extraction.text import TfidfVectorizer

        from nmfkit.datasets import load_movies

        texts = load_movies()["consensus"]
        if quick:
            texts = texts.iloc[::4]
        X = TfidfVectorizer(min_df=5, stop_words="english").fit_transform(texts)
        return X, ([2, 5, 8] if quick else ranks), None
    raise ValueError(name)


def _limit_threads():
    import warnings

    from threadpoolctl import threadpool_limits

    warnings.simplefilter("ignore")
    threadpool_limits(1)


# ----------------------------------------------------------------------------- part 1
def _study_case(case):
    """(in a worker process) One select_rank call of the study."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from nmfkit import select_rank

    kind, k, level, seed, shape = (case["kind"], case["k"], case["level"], case["seed"],
                                   tuple(case["shape"]))
    X = make_planted(kind, k, level, seed, shape)
    params = {"beta_loss": "kullback-leibler"} if kind == "poisson-kl" else {}
    load = os.getloadavg()[0]
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        result = select_rank(X, ranks=study_ranks(k), method="cv", n_folds=FOLDS,
                             holdout=HOLDOUT, random_state=seed, tol=case["tol"],
                             max_iter=case["max_iter"], n_jobs=case["n_jobs"], **params)
    seconds = time.perf_counter() - start
    notes = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    table = result.table
    return dict(case, best=int(result.best_rank), seconds=seconds, loadavg_start=load,
                pid=os.getpid(),
                cv_error={int(r): float(v) for r, v in table["cv_error"].items()},
                cv_error_std={int(r): float(v) for r, v in table["cv_error_std"].items()},
                not_converged=int(notes[0].split(" of ")[0]) if notes else 0)


def _warm_worker():
    """Pool initializer: one thread, compiled kernels ready."""
    _limit_threads()
    import numpy as np

    from nmfkit import select_rank

    rng = np.random.default_rng(0)
    X = rng.random((30, 2)) @ rng.random((2, 20))
    for params in ({}, {"beta_loss": "kullback-leibler"}):
        select_rank(X, ranks=[2, 3], n_folds=2, random_state=0, max_iter=20, **params)


def run_study(args, log):
    shape = QUICK_SHAPE if args.quick else SHAPE
    seeds = args.seeds if args.seeds is not None else (2 if args.quick else 10)
    kinds = [s for s in args.kinds.split(",") if s]
    cases = [{"kind": kind, "k": k, "level": level, "seed": seed, "shape": list(shape),
              "tol": args.tol, "max_iter": args.max_iter, "n_jobs": args.study_n_jobs}
             for kind in kinds for k in (QUICK_RANKS if args.quick else RANKS)
             for level in LEVELS[kind] for seed in range(seeds)]
    # Longest first (dense data at low noise and high rank), so the workers end together.
    cases.sort(key=lambda c: (c["kind"] != "dense", -c["k"], c["level"]))
    n_ranks = len(QUICK_RANKS if args.quick else RANKS)
    log(f"study: {len(cases)} select_rank calls ({len(kinds)} kinds x {n_ranks} ranks x 3 "
        f"levels x {seeds} seeds), shape {shape[0]} x {shape[1]}, {args.workers} worker "
        f"process(es) of one thread, n_jobs={args.study_n_jobs}")
    # The workers inherit these before they import numpy (spawn start method).
    os.environ.update({var: "1" for var in THREAD_VARS}, OMP_WAIT_POLICY="PASSIVE")
    import multiprocessing

    t0 = time.monotonic()
    out = []
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_warm_worker) as pool:
        futures = [pool.submit(_study_case, c) for c in cases]
        for i, fut in enumerate(as_completed(futures)):
            res = fut.result()
            out.append(res)
            if args.verbose or res["best"] != res["k"] or (i + 1) % 20 == 0:
                log(f"  [{i + 1}/{len(cases)}] {res['kind']} k={res['k']} level={res['level']} "
                    f"seed={res['seed']}: chose {res['best']}, {res['seconds']:.1f} s, "
                    f"{time.monotonic() - t0:.0f} s elapsed")
    out.sort(key=lambda r: (KINDS.index(r["kind"]), r["k"], LEVELS[r["kind"]].index(r["level"]),
                            r["seed"]))
    return {"shape": list(shape), "seeds": seeds, "kinds": kinds, "workers": args.workers,
            "ranks": list(QUICK_RANKS if args.quick else RANKS),
            "n_jobs": args.study_n_jobs, "tol": args.tol, "max_iter": args.max_iter,
            "elapsed_s": time.monotonic() - t0, "cases": out}


# ----------------------------------------------------------------------------- part 2
def _fold_hash(folds):
    h = hashlib.sha1()
    for fold in folds:
        h.update(fold.held.astype("int64").tobytes())
    return h.hexdigest()[:16]


def _nmfkit(X, ranks, cfg, n_jobs=None):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from nmfkit import rank as R
    from nmfkit import select_rank

    seen = []
    draw = R._cv_folds

    def spy(*a, **kw):  # records which entries select_rank held out (for the check)
        folds = draw(*a, **kw)
        seen.append(folds)
        return folds

    R._cv_folds = spy
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            result = select_rank(X, ranks=ranks, method="cv", n_folds=cfg["folds"],
                                 holdout=cfg["holdout"], random_state=cfg["random_state"],
                                 tol=cfg["tol"], max_iter=cfg["max_iter"], n_jobs=n_jobs)
    finally:
        R._cv_folds = draw
    notes = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    return {"best": int(result.best_rank),
            "errors": {int(k): float(v) for k, v in result.table["cv_error"].items()},
            "not_converged": int(notes[0].split(" of ")[0]) if notes else 0,
            "fits": len(ranks) * cfg["folds"],
            "folds_hash": _fold_hash(seen[0]) if seen else None}


def _impute(X, fold):
    """X with the fold's held-out entries set to their column's mean over the observed
    entries (X is select_rank's canonical form: float ndarray or canonical CSR)."""
    import numpy as np
    import scipy.sparse as sp

    m, n = X.shape
    rows, cols = fold.held // n, fold.held % n
    col_sum = np.asarray(X.sum(axis=0)).ravel() - np.bincount(cols, fold.values, minlength=n)
    col_count = m - np.bincount(cols, minlength=n)
    fill = (col_sum / col_count)[cols]
    if not sp.issparse(X):
        train = X.copy()
        train.reshape(-1)[fold.held] = fill
        return train
    from nmfkit import rank as R

    stored = R._linear_indices(X)
    keep = ~np.isin(stored, fold.held)
    linear = np.concatenate([stored[keep], fold.held])
    data = np.concatenate([X.data[keep], fill])
    return sp.csr_matrix((data, (linear // n, linear % n)), shape=X.shape)


def _sklearn_loop(X, ranks, cfg):
    import numpy as np
    from sklearn.decomposition import NMF

    from nmfkit import rank as R  # private: the folds and seeds select_rank uses

    X = R._check_X(X)
    entropy = R._entropy(cfg["random_state"])
    folds = R._cv_folds(X, cfg["folds"], cfg["holdout"],
                        np.random.default_rng(R._seed(entropy, R._CV)))
    n = X.shape[1]
    errors = {k: [] for k in ranks}
    n_iter, not_converged = 0, 0
    for f, fold in enumerate(folds):
        train = _impute(X, fold)
        rows, cols = fold.held // n, fold.held % n
        for k in ranks:
            model = NMF(k, init="nndsvda", tol=cfg["tol"], max_iter=cfg["max_iter"],
                        random_state=R._seed(entropy, R._CV, k, f))
            W = model.fit_transform(train)
            H = model.components_
            predicted = np.einsum("ij,ji->i", W[rows], H[:, cols])
            errors[k].append(float(np.mean((predicted - fold.values) ** 2)))
            n_iter += int(model.n_iter_)
            not_converged += int(model.n_iter_ >= cfg["max_iter"])
    mean = {k: float(np.mean(v)) for k, v in errors.items()}
    return {"best": min(mean, key=mean.get), "errors": mean, "not_converged": not_converged,
            "fits": len(ranks) * len(folds), "n_iter": n_iter, "folds_hash": _fold_hash(folds)}


def _run_contender(name, X, ranks, cfg):
    if name == "nmfkit":
        return _nmfkit(X, ranks, cfg)
    if name == "nmfkit-2jobs":
        return _nmfkit(X, ranks, cfg, n_jobs=2)
    if name == "sklearn-loop":
        return _sklearn_loop(X, ranks, cfg)
    raise ValueError(name)


def _speed_worker(job_json):
    job = json.loads(job_json)
    _limit_threads()
    import numpy as np
    import scipy.sparse as sp
    from threadpoolctl import threadpool_info

    X, ranks, _ = speed_problem(job["problem"], job["quick"])
    # Warm-up, untimed: imports, compiled kernels (and for n_jobs=2 the two worker
    # processes), on a small matrix of the same kind.
    rng = np.random.default_rng(1)
    small = rng.random((40, 3)) @ rng.random((3, 30))
    if sp.issparse(X):
        small = sp.csr_matrix(small * (rng.random(small.shape) < 0.3))
    elif job["problem"].startswith("poisson"):
        small = rng.poisson(small).astype(float)
    _run_contender(job["contender"], small, [2, 3], dict(job["cfg"], max_iter=50))
    res = {"loadavg_start": os.getloadavg(),
           "threadpools": [{key: d.get(key) for key in ("internal_api", "num_threads")}
                           for d in threadpool_info()]}
    start = time.perf_counter()
    res.update(_run_contender(job["contender"], X, ranks, job["cfg"]))
    res["seconds"] = time.perf_counter() - start
    res["loadavg_end"] = os.getloadavg()
    print(json.dumps(res))


def run_speed_one(problem, contender, cfg, quick, timeout):
    job = json.dumps({"problem": problem, "contender": contender, "cfg": cfg, "quick": quick})
    busy, steal = background_cpu()
    t0 = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, __file__, "_speed_worker", job],
                              env=thread_env(1), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "error": f"over {timeout:.0f} s",
                "background_cpu_pct": busy}
    res = {"status": "ok"} if proc.returncode == 0 else {
        "status": "error", "error": proc.stderr[-1500:]}
    if proc.returncode == 0:
        res.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    res.update(background_cpu_pct=busy, background_steal_pct=steal,
               process_wall_s=time.monotonic() - t0)
    return res


def run_speed(args, log):
    cfg = {"folds": FOLDS, "holdout": HOLDOUT, "random_state": 0, "tol": args.tol,
           "max_iter": args.max_iter}
    rounds = 1 if args.quick else args.rounds
    names = [c for c in args.contenders.split(",") if c]
    out = {"cfg": cfg, "rounds": rounds, "contenders": names, "problems": []}
    t0 = time.monotonic()
    for problem in [p for p in args.problems.split(",") if p]:
        X, ranks, planted = speed_problem(problem, args.quick)
        entry = {"name": problem, "shape": list(X.shape), "ranks": ranks, "planted": planted,
                 "sparse": bool(hasattr(X, "nnz")),
                 "density": float(X.nnz / (X.shape[0] * X.shape[1])) if hasattr(X, "nnz")
                 else None, "runs": {c: [] for c in names}}
        out["problems"].append(entry)
        log(f"speed: {problem} {X.shape[0]} x {X.shape[1]}, ranks {ranks[0]}-{ranks[-1]}, "
            f"{rounds} round(s) of {', '.join(names)}")
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for c in order:
                res = run_speed_one(problem, c, cfg, args.quick, args.timeout)
                res["round"] = r
                entry["runs"][c].append(res)
                if res["status"] == "ok":
                    log(f"  round {r} {c}: {res['seconds']:.1f} s, chose {res['best']}, "
                        f"{res['not_converged']}/{res['fits']} fits at max_iter, load "
                        f"{res['loadavg_start'][0]:.2f}, busy before {res['background_cpu_pct']:.0f} %")
                else:
                    log(f"  round {r} {c}: {res['status']}: {res.get('error', '')[-400:]}")
        hashes = {res.get("folds_hash") for runs in entry["runs"].values() for res in runs
                  if res["status"] == "ok"}
        entry["same_folds"] = len(hashes) == 1
        if len(hashes) != 1:
            log(f"  ! the contenders held out different entries: {hashes}")
    out["elapsed_s"] = time.monotonic() - t0
    return out


# ----------------------------------------------------------------------------- report
def _med(values):
    return statistics.median(values) if values else None


def render_study(study):
    cases = study["cases"]
    lines = [f"Accuracy: {len(cases)} select_rank calls, {study['seeds']} seeds per cell, "
             f"X {study['shape'][0]} x {study['shape'][1]}, ranks k-3 … k+3 (at least 2), "
             f"{FOLDS} folds of {HOLDOUT:.0%}, tol={study['tol']:g}, "
             f"max_iter={study['max_iter']}. Each cell: cases right / cases, then the "
             "ranks chosen when wrong.", "",
             "| data | level | " + " | ".join(f"k = {k}" for k in study["ranks"])
             + " | right |", "|---|---|" + "---|" * len(study["ranks"]) + "---|"]
    for kind in study["kinds"]:
        for level in LEVELS[kind]:
            cells, right, total = [], 0, 0
            for k in study["ranks"]:
                here = [c for c in cases if c["kind"] == kind and c["k"] == k
                        and c["level"] == level]
                wrong = sorted(c["best"] for c in here if c["best"] != k)
                good = len(here) - len(wrong)
                right, total = right + good, total + len(here)
                cell = f"{good}/{len(here)}"
                if wrong:
                    cell += " (" + ", ".join(map(str, wrong)) + ")"
                    cell = f"**{cell}**"
                cells.append(cell)
            lines.append(f"| {KIND_NOTE[kind]} | {LEVEL_NAME[kind].format(level)} | "
                         + " | ".join(cells) + f" | {right}/{total} |")
    lines.append("")
    lines.append("| data | right | % | over | under | median s per call | fits at max_iter |")
    lines.append("|---|---|---|---|---|---|---|")

    def summary(label, subset):
        right = sum(c["best"] == c["k"] for c in subset)
        over = sum(c["best"] > c["k"] for c in subset)
        under = sum(c["best"] < c["k"] for c in subset)
        fits = sum(len(study_ranks(c["k"])) * FOLDS for c in subset)
        stuck = sum(c["not_converged"] for c in subset)
        return (f"| {label} | {right}/{len(subset)} | {100 * right / len(subset):.1f} % | "
                f"{over} | {under} | {_med([c['seconds'] for c in subset]):.1f} | "
                f"{stuck}/{fits} |")

    for kind in study["kinds"]:
        lines.append(summary(KIND_NOTE[kind], [c for c in cases if c["kind"] == kind]))
    default = [c for c in cases if c["kind"] in ("dense", "sparse", "poisson")]
    if {"dense", "sparse", "poisson"} <= set(study["kinds"]):
        lines.append(summary("**overall, select_rank's default loss** (dense, sparse, "
                             "counts with Frobenius)", default))
    if {"dense", "sparse", "poisson-kl"} <= set(study["kinds"]):
        lines.append(summary("**overall, counts with KL** (dense, sparse, counts with KL)",
                             [c for c in cases if c["kind"] in ("dense", "sparse",
                                                                "poisson-kl")]))
    loads = [c["loadavg_start"] for c in cases]
    lines += ["", f"The study took {study['elapsed_s'] / 60:.1f} min in {study['workers']} "
              f"worker process(es) of one thread (select_rank n_jobs={study['n_jobs']}); load "
              f"average (1 min) when the calls started: median {_med(loads):.2f}, max "
              f"{max(loads):.2f}."]
    return "\n".join(lines)


def _speed_medians(p):
    times = {c: [r["seconds"] for r in runs if r["status"] == "ok"]
             for c, runs in p["runs"].items()}
    return times, {c: _med(t) for c, t in times.items()}


def render_speed(speed):
    cfg = speed["cfg"]
    lines = [f"Speed: {cfg['folds']} folds of {cfg['holdout']:.0%}, tol={cfg['tol']:g}, "
             f"max_iter={cfg['max_iter']}, the Frobenius loss; median [min–max] wall time of "
             f"{speed['rounds']} round(s), contenders rotated each round. nmfkit and "
             "sklearn-loop: one thread; nmfkit-2jobs: `n_jobs=2`, two processes of one "
             "thread. *÷ nmfkit*: the row's time over nmfkit's. *Fits at max_iter*: of "
             "the rank x fold fits, those that stopped at max_iter (median over rounds).",
             "", "| problem | shape | ranks | planted | contender | rank chosen | time (s) | "
             "÷ nmfkit | fits at max_iter | same folds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for p in speed["problems"]:
        times, med = _speed_medians(p)
        shape = f"{p['shape'][0]:,} x {p['shape'][1]:,}" + (
            f" CSR, {100 * p['density']:.2g} % stored" if p["sparse"] else "")
        ranks = (f"{p['ranks'][0]}–{p['ranks'][-1]}" if p["ranks"] == list(
            range(p["ranks"][0], p["ranks"][-1] + 1)) else ", ".join(map(str, p["ranks"])))
        for c, runs in p["runs"].items():
            ok = [r for r in runs if r["status"] == "ok"]
            lead = f"| {p['name']} | {shape} | {ranks} | {p['planted'] or '—'} | {c} |"
            if not ok:
                why = runs[0].get("status", "not run") if runs else "not run"
                lines.append(lead + f" — | {why} | — | — | — |")
                continue
            t = med[c]
            span = f" [{min(times[c]):.1f}–{max(times[c]):.1f}]" if len(ok) > 1 else ""
            chosen = ", ".join(str(b) for b in sorted({r["best"] for r in ok}))
            ratio = f"{t / med['nmfkit']:.2f}" if med.get("nmfkit") else "—"
            stuck = f"{_med([r['not_converged'] for r in ok]):.0f}/{ok[0]['fits']}"
            lines.append(lead + f" {chosen} | {t:.1f}{span} | {ratio} | {stuck} | "
                         f"{'yes' if p.get('same_folds') else '**no**'} |")
    lines += ["", "Target (issue 21): the same choice of rank at least 3x faster than the loop, "
              "i.e. loop time ÷ nmfkit time ≥ 3 with the same rank chosen.", "",
              "| problem | loop ÷ nmfkit (1 thread) | loop ÷ nmfkit-2jobs (2 threads) | "
              "same rank as the loop | target met |", "|---|---|---|---|---|"]
    for p in speed["problems"]:
        _, med = _speed_medians(p)
        chosen = {c: {r["best"] for r in runs if r["status"] == "ok"}
                  for c, runs in p["runs"].items()}
        loop = med.get("sklearn-loop")
        cells = []
        for c in ("nmfkit", "nmfkit-2jobs"):
            cells.append(f"{loop / med[c]:.2f}" if loop and med.get(c) else "—")
        same = (chosen.get("nmfkit") == chosen.get("sklearn-loop")
                if chosen.get("nmfkit") and chosen.get("sklearn-loop") else None)
        same_txt = "—" if same is None else ("yes" if same else
                                             f"**no** (nmfkit {sorted(chosen['nmfkit'])}, "
                                             f"loop {sorted(chosen['sklearn-loop'])})")
        met = (loop and med.get("nmfkit") and same and loop / med["nmfkit"] >= 3)
        lines.append(f"| {p['name']} | {cells[0]} | {cells[1]} | {same_txt} | "
                     f"{'yes' if met else '**no**'} |")
    runs = [r for p in speed["problems"] for rs in p["runs"].values() for r in rs
            if r["status"] == "ok"]
    loads = [r["loadavg_start"][0] for r in runs]
    busy = [r["background_cpu_pct"] for r in runs]
    if runs:
        lines += ["", f"The speed part took {speed['elapsed_s'] / 60:.1f} min; load average "
                  f"(1 min) when the timed processes started: median {_med(loads):.2f}, max "
                  f"{max(loads):.2f}; machine CPU busy over 0.5 s before each run (none of "
                  f"this benchmark's processes running): median {_med(busy):.0f} %, max "
                  f"{max(busy):.0f} %."]
    return "\n".join(lines)


def render(results):
    m = results["meta"]
    v = m["versions"]
    parts = [f"Run {m['date']} (`python benchmarks/rank.py {' '.join(results['argv'])}`), "
             f"{m['cpu']}, {m['cores']} cores, {results['elapsed_s'] / 60:.1f} min. nmfkit "
             f"{v.get('nmfkit')} (commit {m['nmfkit_commit']}), scikit-learn "
             f"{v.get('scikit-learn')}, scipy {v.get('scipy')}, numpy {v.get('numpy')}, "
             f"Python {m['python']}."]
    if results.get("study"):
        parts.append(render_study(results["study"]))
    if results.get("speed"):
        parts.append(render_speed(results["speed"]))
    return "\n\n".join(parts)


def write_results(results, path=HERE / "RESULTS.md"):
    text = path.read_text()
    block = SECTION_BEGIN + "\n\n" + render(results) + "\n\n" + SECTION_END
    if SECTION_BEGIN in text and SECTION_END in text:
        head, rest = text.split(SECTION_BEGIN, 1)
        text = head + block + rest.split(SECTION_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


# ----------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help=f"X {QUICK_SHAPE[0]} x {QUICK_SHAPE[1]}, 2 seeds, ranks 2-10 and a "
                         "quarter of the movies, one round (~2 min)")
    ap.add_argument("--parts", default="study,speed", help="study, speed or both")
    ap.add_argument("--seeds", type=int, help="cases per study cell (default 10; quick 2)")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--workers", type=int, default=2, help="processes for the study")
    ap.add_argument("--study-n-jobs", type=int, default=None,
                    help="select_rank's n_jobs in the study (default None: one at a time)")
    ap.add_argument("--tol", type=float, default=TOL)
    ap.add_argument("--max-iter", type=int, default=MAX_ITER)
    ap.add_argument("--rounds", type=int, default=2, help="speed rounds (quick: 1)")
    ap.add_argument("--problems", default=",".join(SPEED_PROBLEMS))
    ap.add_argument("--contenders", default=",".join(CONTENDERS))
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per speed run")
    ap.add_argument("--verbose", action="store_true", help="log every study case")
    ap.add_argument("--out", help="JSON (default benchmarks/results/rank[-quick].json)")
    ap.add_argument("--report", metavar="JSON", help="only print the tables of a results file")
    ap.add_argument("--write-results", action="store_true",
                    help="write the tables into benchmarks/RESULTS.md between its rank.py "
                         "markers")
    args = ap.parse_args(argv)
    if args.report:
        results = json.loads(Path(args.report).read_text())
        print(render(results))
        if args.write_results:
            write_results(results)
        return
    parts = [s for s in args.parts.split(",") if s]

    def log(msg):
        print(msg, flush=True)

    t0 = time.monotonic()
    results = {"meta": machine_info(1, ("nmfkit", "numpy", "scipy", "scikit-learn",
                                        "threadpoolctl", "joblib", "numba")),
               "argv": sys.argv[1:] if argv is None else list(argv), "quick": args.quick,
               "loadavg_before": os.getloadavg()}
    out = Path(args.out or HERE / "results" / ("rank-quick.json" if args.quick else "rank.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    log(f"machine: {results['meta']['cpu']}, {results['meta']['cores']} cores, load "
        f"{os.getloadavg()[0]:.2f}; nmfkit {results['meta']['nmfkit_commit']}")
    if "study" in parts:
        results["study"] = run_study(args, log)
        results["elapsed_s"] = time.monotonic() - t0
        out.write_text(json.dumps(results, indent=1))
    if "speed" in parts:
        results["speed"] = run_speed(args, log)
    results["elapsed_s"] = time.monotonic() - t0
    results["loadavg_after"] = os.getloadavg()
    out.write_text(json.dumps(results, indent=1))
    print()
    print(render(results))
    if args.write_results:
        write_results(results)
        log(f"wrote the tables into {HERE / 'RESULTS.md'}")
    log(f"wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_speed_worker":
        _speed_worker(sys.argv[2])
    else:
        main()
