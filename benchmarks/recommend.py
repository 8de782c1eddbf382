"""MovieLens 100k, 5-fold cross-validation: nmfkit.Recommender beside scikit-surprise.

Contenders: nmfkit's Recommender (non-negative factors + biases) and scikit-surprise's
NMF, SVD and SVD++ with their default parameters, on the same five folds (a seeded
permutation of the 100,000 ratings).  Each (fold, contender) runs in its own process with
one thread (environment variables and threadpoolctl), the contenders alternating within a
fold.  Reported: RMSE and MAE on the held-out fold, fit time, time per prediction, and
precision@10 / recall@10 of top-10 lists over the films each user did not rate in
training, against the held-out films rated 4 or more (as ``Recommender.evaluate``
computes them; Surprise's lists rank its models' estimates for every pair, computed in
matrix form from the fitted factors).

Usage::

    benchmarks/.venv/bin/python benchmarks/recommend.py [--folds 5] [--skip SVDpp] [--write]

Every fold's figures go to ``benchmarks/results/recommend.json`` (``--out`` to change it)
with the versions, the machine and its load.  The whole run takes about five minutes on
one core, most of it SVD++'s fits (``--skip SVDpp`` leaves it out).  ``--write`` replaces
this script's section of benchmarks/RESULTS.md.
Needs ``scikit-surprise`` and ``recbole`` (``pip install --no-deps recbole==1.2.1``).
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

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import numpy as np  # noqa: E402

CONTENDERS = ["nmfkit", "surprise NMF", "surprise SVD", "surprise SVDpp"]
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
BEGIN = "<!-- recommend.py table: begin (benchmarks/recommend.py --write replaces it) -->"
END = "<!-- recommend.py table: end -->"


def folds(n, n_folds, seed=0):
    order = np.random.default_rng(seed).permutation(n)
    return np.array_split(order, n_folds)


def top_k_scores(scores, seen_items, relevant, k=10):
    """Mean precision@k and recall@k; scores: users x items array, seen: sets per user."""
    precision, recall = [], []
    for u, items in relevant.items():
        s = scores[u].copy()
        s[list(seen_items.get(u, ()))] = -np.inf
        top = np.argsort(-s, kind="stable")[:k]
        hits = len(set(top.tolist()) & items)
        precision.append(hits / k)
        recall.append(hits / len(items))
    return float(np.mean(precision)), float(np.mean(recall))


def surprise_scores(contender, algo, trainset):
    """Every (user, item) estimate of a fitted Surprise model, users x items (inner ids).

    The formulas of each algorithm's ``estimate`` before clipping, in matrix form: NMF
    p_u·q_i; SVD μ + b_u + b_i + q_i·p_u; SVD++ μ + b_u + b_i + q_i·(p_u + |N(u)|^-½
    Σ_{j∈N(u)} y_j), N(u) the user's training items (Koren 2008, "Factorization meets
    the neighborhood", KDD).
    """
    import scipy.sparse as sp

    if contender == "surprise NMF":
        return algo.pu @ algo.qi.T
    user_vectors = algo.pu
    if contender == "surprise SVDpp":
        rows = [u for u in trainset.all_users() for _ in trainset.ur[u]]
        cols = [i for u in trainset.all_users() for i, _ in trainset.ur[u]]
        N = sp.csr_matrix((np.ones(len(rows)), (rows, cols)),
                          shape=(trainset.n_users, trainset.n_items))
        counts = np.asarray(N.sum(axis=1)).ravel()
        user_vectors = user_vectors + (N @ algo.yj) / np.sqrt(counts)[:, None]
    return (trainset.global_mean + algo.bu[:, None] + algo.bi[None, :]
            + user_vectors @ algo.qi.T)


def worker(contender, fold, n_folds):
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    from nmfkit.datasets import load_movielens

    ratings = load_movielens().ratings
    test_rows = folds(len(ratings), n_folds)[fold]
    test = ratings.iloc[test_rows]
    train = ratings.drop(ratings.index[test_rows])
    out = {"contender": contender, "fold": fold}
    if contender == "nmfkit":
        from nmfkit.apps.recommender import Recommender

        start = time.perf_counter()
        rec = Recommender(n_factors=15, random_state=fold).fit(train)
        out["fit_s"] = time.perf_counter() - start
        start = time.perf_counter()
        predicted = rec.predict(test["user"].to_numpy(), test["item"].to_numpy(),
                                unknown="mean")
        out["predict_s"] = (time.perf_counter() - start) / len(test)
        result = rec.evaluate(test)
        out["precision@10"], out["recall@10"] = result["precision@10"], result["recall@10"]
    else:
        import surprise

        algo = {"surprise NMF": surprise.NMF, "surprise SVD": surprise.SVD,
                "surprise SVDpp": surprise.SVDpp}[contender](random_state=fold)
        data = surprise.Dataset.load_from_df(train[["user", "item", "rating"]],
                                             surprise.Reader(rating_scale=(1, 5)))
        trainset = data.build_full_trainset()
        start = time.perf_counter()
        algo.fit(trainset)
        out["fit_s"] = time.perf_counter() - start
        pairs = list(zip(test["user"], test["item"], test["rating"]))
        start = time.perf_counter()
        predicted = np.array([p.est for p in algo.test(pairs)])
        out["predict_s"] = (time.perf_counter() - start) / len(test)
        scores = surprise_scores(contender, algo, trainset)
        check = np.random.default_rng(fold).integers(0, scores.shape, size=(50, 2))
        assert np.allclose(scores[check[:, 0], check[:, 1]],
                           [algo.estimate(int(u), int(i)) for u, i in check]), \
            f"{contender}: the matrix form of its estimates is wrong"
        inner_u = {raw: trainset.to_inner_uid(raw) for raw in trainset._raw2inner_id_users}
        inner_i = {raw: trainset.to_inner_iid(raw) for raw in trainset._raw2inner_id_items}
        seen = {u: {i for i, _ in trainset.ur[u]} for u in trainset.all_users()}
        relevant = {}
        for user, item in test.loc[test["rating"] >= 4, ["user", "item"]].itertuples(
                index=False):
            if user in inner_u:
                # a held-out film unseen in training can never be in a top list
                relevant.setdefault(inner_u[user], set()).add(inner_i.get(item, -1))
        out["precision@10"], out["recall@10"] = top_k_scores(scores, seen, relevant)
    truth = test["rating"].to_numpy()
    out["rmse"] = float(np.sqrt(np.mean((predicted - truth) ** 2)))
    out["mae"] = float(np.mean(np.abs(predicted - truth)))
    print(json.dumps(out))


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip", nargs="*", default=[], help="contenders to leave out")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "recommend.json")
    parser.add_argument("--worker", nargs=2, metavar=("CONTENDER", "FOLD"))
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker[0], int(args.worker[1]), args.folds)
    contenders = [c for c in CONTENDERS if c not in args.skip and c.split()[-1] not in args.skip]
    rows, loads = [], []
    for fold in range(args.folds):
        # alternate the order so no contender always runs first in a fold
        order = contenders if fold % 2 == 0 else contenders[::-1]
        for contender in order:
            loads.append(load_average())
            done = subprocess.run([sys.executable, __file__, "--folds", str(args.folds),
                                   "--worker", contender, str(fold)],
                                  capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    table = summarise(rows, contenders, args.folds, loads)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "command": " ".join([os.path.relpath(sys.executable), *sys.argv]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"processor": platform.processor() or platform.machine(),
                    "cores": os.cpu_count(), "python": platform.python_version()},
        "versions": versions(), "load_average": loads, "folds": rows,
    }, indent=1) + "\n", encoding="utf-8")
    if args.write:
        write_section(table)


def versions():
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("nmfkit", "scikit-surprise", "numpy", "scipy", "scikit-learn"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def summarise(rows, contenders, n_folds, loads):
    lines = [BEGIN, "", "### Recommendations: MovieLens 100k, "
             f"{n_folds}-fold cross-validation (`benchmarks/recommend.py`)", "",
             f"Medians over folds (mean ± sd for RMSE and MAE); one thread per process; "
             f"{platform.processor() or platform.machine()}, load average "
             f"{np.nanmedian(loads):.2f} while measuring. nmfkit: "
             "`Recommender(n_factors=15)` (non-negative factors + biases); "
             f"scikit-surprise {versions()['scikit-surprise']} algorithms with their "
             "defaults. Per prediction: "
             "nmfkit predicts the fold in one vectorised call, Surprise one pair at a "
             "time through `algo.test` (its API; SVD++'s `estimate` sums the user's "
             "implicit factors y_j afresh for every pair). Contenders not listed were "
             "skipped (`--skip`).", "",
             "| contender | RMSE | MAE | fit (s) | per prediction (µs) | precision@10 | recall@10 |",
             "|---|---|---|---|---|---|---|"]
    for contender in contenders:
        mine = [r for r in rows if r["contender"] == contender]
        if not mine:
            continue
        rmse = np.array([r["rmse"] for r in mine])
        mae = np.array([r["mae"] for r in mine])
        prec = [r["precision@10"] for r in mine if "precision@10" in r]
        rec = [r["recall@10"] for r in mine if "recall@10" in r]
        lines.append(
            f"| {contender} | {rmse.mean():.4f} ± {rmse.std():.4f} | "
            f"{mae.mean():.4f} ± {mae.std():.4f} | "
            f"{np.median([r['fit_s'] for r in mine]):.2f} | "
            f"{1e6 * np.median([r['predict_s'] for r in mine]):.2f} | "
            + (f"{np.mean(prec):.4f} | {np.mean(rec):.4f} |" if prec else "— | — |"))
    lines += ["", END]
    return "\n".join(lines)


def write_section(table):
    text = RESULTS.read_text(encoding="utf-8")  # re-read now: others append their sections
    if BEGIN.split(" (")[0] in text and END in text:
        head = text[:text.index(BEGIN.split(" (")[0])]
        tail = text[text.index(END) + len(END):]
        text = head + table + tail
    else:
        text = text.rstrip("\n") + "\n\n" + table + "\n"
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
