"""Graph clustering on LFR benchmark graphs: nmfkit's SymmetricNMF beside Louvain and spectral.

    python benchmarks/graphs.py --quick                        # 1,000 nodes only (~1 min)
    python benchmarks/graphs.py --sizes 1000,10000,100000 --mu 0.1,0.2,0.3,0.4,0.5 \\
        --repeats 3 --out benchmarks/results/graphs.json
    python benchmarks/graphs.py --sizes 100000 --mu 0.1,0.5 --repeats 1 --out ...
    python benchmarks/graphs.py --report benchmarks/results/graphs.json --write-results

Graphs: ``networkx.LFR_benchmark_graph`` (tau1 = 3, tau2 = 1.5, average degree 20, maximum
degree 50, community sizes between max(40, n/100) and max(100, n/20): about 16 planted
communities at 1,000 nodes, 45-50 at 10,000 and 100,000), seeded, generated once in a
subprocess (with a time limit; on ExceededMaxIterations the next seed is tried) and cached
as the 0/1 adjacency (scipy sparse CSR, self-loops removed) plus the planted labels (the
node attribute "community", a partition) in ``benchmarks/results/graphs-cache/``.

Contenders, each fit in its own fresh process (``graphs.py _worker``) with one thread
(OMP/OpenBLAS/MKL/NUMBA environment variables and threadpoolctl), after an untimed warm-up
fit of the same contender on the karate club graph (imports, compiled kernels):
  nmfkit     ``nmfkit.SymmetricNMF(n_components=k, normalize=True, random_state=0)`` on
             the sparse adjacency (it fits D^-1/2 A D^-1/2, as graph_communities does),
             defaults otherwise; k = the planted number of communities
  nmfkit-plain  the same without ``normalize``: A ≈ HHᵀ on the adjacency itself
  louvain    ``networkx.community.louvain_communities(G, seed=0)``, default resolution,
             told nothing about k (G built from the adjacency outside the clock)
  spectral   ``sklearn.cluster.SpectralClustering(n_clusters=k, affinity="precomputed",
             assign_labels="cluster_qr", random_state=0)`` on the sparse adjacency
Only the fit call is in the clock. Each round runs every contender once (spectral clustering,
deterministic and the slowest, only in the first --spectral-rounds rounds), the order rotated
from round to round; the median over rounds is reported. The parent then scores each
partition: normalised mutual information with the planted communities
(``sklearn.metrics.normalized_mutual_info_score``) and Newman modularity
(``networkx.community.modularity``). Peak RSS is the worker's (``wait4`` rusage; graph
loading included; the RSS just before the fit is recorded too). A worker over
``--timeout`` seconds or ``--rss-limit-gib`` is killed and recorded as such; a contender
killed on a graph is not run again on larger graphs (nor on the rest of that size's
graphs) and is shown as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

# The shared harness pieces of the main benchmark (this folder is on sys.path when a
# script of it runs).
from bench import background_cpu, thread_env, watch_process
from bench import machine_info as _machine_info

HERE = Path(__file__).resolve().parent
CACHE = HERE / "results" / "graphs-cache"
CONTENDERS = ("nmfkit", "nmfkit-plain", "louvain", "spectral")
NOTES = {
    "nmfkit": "SymmetricNMF(n_components=k, normalize=True, random_state=0): D^-1/2 A D^-1/2, "
              "as graph_communities fits it; sparse adjacency",
    "nmfkit-plain": "SymmetricNMF(n_components=k, random_state=0): A itself; sparse adjacency",
    "louvain": "networkx louvain_communities(G, seed=0), resolution 1; told nothing about k",
    "spectral": 'SpectralClustering(n_clusters=k, affinity="precomputed", '
                'assign_labels="cluster_qr", random_state=0); sparse adjacency',
}
SECTION_BEGIN = "<!-- graphs.py table: begin (written by benchmarks/graphs.py --write-results) -->"
SECTION_END = "<!-- graphs.py table: end -->"


# ----------------------------------------------------------------------------- graphs
def lfr_params(n: int, mu: float) -> dict:
    """LFR parameters that networkx generates reliably at 10^3-10^5 nodes."""
    return {"n": n, "tau1": 3.0, "tau2": 1.5, "mu": mu, "average_degree": 20,
            "max_degree": 50, "min_community": max(40, n // 100),
            "max_community": max(100, n // 20),
            # the community-size draw must sum to n exactly: with communities of
            # thousands of nodes that needs more tries than networkx's default 500
            "max_iters": 20000}


def graph_stem(n: int, mu: float, seed: int) -> str:
    return f"lfr-n{n}-mu{mu:.2f}-seed{seed}"


def _generate(n: int, mu: float, seed: int) -> None:
    """(subprocess) Generate one LFR graph and write it to the cache."""
    import networkx as nx
    import numpy as np
    import scipy.sparse as sp

    params = lfr_params(n, mu)
    t0 = time.perf_counter()
    G = nx.LFR_benchmark_graph(params["n"], params["tau1"], params["tau2"], params["mu"],
                               average_degree=params["average_degree"],
                               max_degree=params["max_degree"],
                               min_community=params["min_community"],
                               max_community=params["max_community"],
                               max_iters=params["max_iters"], seed=seed)
    gen_s = time.perf_counter() - t0
    loops = nx.number_of_selfloops(G)
    G.remove_edges_from(list(nx.selfloop_edges(G)))
    comm_id: dict = {}
    labels = np.empty(n, dtype=np.int64)
    for v in range(n):
        c = G.nodes[v]["community"]
        key = min(c)
        if key not in comm_id:
            comm_id[key] = len(comm_id)
        labels[v] = comm_id[key]
    # a partition: every node's set is the set of the nodes labelled like it
    sizes = np.bincount(labels)
    for v in range(n):
        assert len(G.nodes[v]["community"]) == sizes[labels[v]]
    A = nx.to_scipy_sparse_array(G, nodelist=range(n), weight=None, dtype=np.float64,
                                 format="csr")
    A = sp.csr_matrix(A)
    A.sum_duplicates()
    stem = CACHE / graph_stem(n, mu, seed)
    sp.save_npz(f"{stem}.npz", A)
    np.save(f"{stem}.labels.npy", labels)
    deg = np.asarray(A.sum(axis=1)).ravel()
    meta = {"params": params, "seed": seed, "generation_s": gen_s,
            "total_s": time.perf_counter() - t0, "nodes": n, "edges": int(A.nnz // 2),
            "self_loops_removed": int(loops), "k": int(len(sizes)),
            "community_sizes": sorted(int(s) for s in sizes),
            "degree_mean": float(deg.mean()), "degree_min": int(deg.min()),
            "degree_max": int(deg.max()), "isolated": int((deg == 0).sum()),
            "mixing_measured": _mixing(A, labels),
            "networkx": nx.__version__}
    Path(f"{stem}.json").write_text(json.dumps(meta, indent=1))


def _mixing(A, labels) -> float:
    """Fraction of edge ends that leave their planted community (LFR's mu, measured)."""
    coo = A.tocoo()
    return float((labels[coo.row] != labels[coo.col]).mean())


def ensure_graph(n: int, mu: float, seed: int, timeout: float, log, tries: int = 3) -> dict:
    """The cached graph's metadata; generate it (next seeds on failure) if absent."""
    CACHE.mkdir(parents=True, exist_ok=True)
    failures = []
    for s in range(seed, seed + tries):
        stem = CACHE / graph_stem(n, mu, s)
        if Path(f"{stem}.json").exists():
            meta = json.loads(Path(f"{stem}.json").read_text())
            meta.update(stem=str(stem), failed_seeds=failures, cached=True)
            return meta
        log(f"  generating LFR n={n} mu={mu} seed={s} ...")
        t0 = time.monotonic()
        try:
            proc = subprocess.run([sys.executable, __file__, "_generate", str(n), str(mu), str(s)],
                                  env=thread_env(1), capture_output=True, text=True,
                                  timeout=timeout)
            ok = proc.returncode == 0
            why = (proc.stderr.strip().splitlines() or ["?"])[-1] if not ok else ""
        except subprocess.TimeoutExpired:
            ok, why = False, f"timeout after {timeout:.0f} s"
        if ok:
            meta = json.loads(Path(f"{stem}.json").read_text())
            log(f"    {meta['edges']:,} edges, k={meta['k']}, generated in "
                f"{meta['generation_s']:.1f} s")
            meta.update(stem=str(stem), failed_seeds=failures, cached=False)
            return meta
        failures.append({"seed": s, "error": why, "seconds": time.monotonic() - t0})
        log(f"    seed {s} failed: {why}")
    return {"stem": None, "failed_seeds": failures, "params": lfr_params(n, mu)}


# ----------------------------------------------------------------------------- worker
def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _vmhwm() -> int:
    """This process's peak resident memory since exec (VmHWM).

    ``ru_maxrss`` (getrusage, wait4) is not used for the table: Linux carries the
    pre-exec high-water mark over exec, so a worker would report at least the
    parent's resident memory at the time it was started.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _prepare(name, A):
    if name == "louvain":
        import networkx as nx

        return nx.from_scipy_sparse_array(A)
    return A


def _fit(name, X, k):
    """(labels, info) of one contender's fit; only this is in the clock."""
    import numpy as np

    if name in ("nmfkit", "nmfkit-plain"):
        from nmfkit import SymmetricNMF

        m = SymmetricNMF(n_components=k, normalize=name == "nmfkit", random_state=0).fit(X)
        return m.labels_, {"n_iter": int(m.n_iter_), "converged": bool(m.converged_),
                           "stop_reason": str(getattr(m, "stop_reason_", "")),
                           "solver": str(m.solver_),
                           "reconstruction_err": float(m.reconstruction_err_)}
    if name == "louvain":
        import networkx as nx

        comms = nx.community.louvain_communities(X, seed=0)
        labels = np.empty(X.number_of_nodes(), dtype=np.int64)
        for i, c in enumerate(comms):
            labels[list(c)] = i
        return labels, {}
    if name == "spectral":
        from sklearn.cluster import SpectralClustering

        m = SpectralClustering(n_clusters=k, affinity="precomputed", assign_labels="cluster_qr",
                               random_state=0).fit(X)
        return m.labels_, {}
    raise ValueError(name)


def _worker(job_path: str, result_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    res: dict = {"status": "ok", "loadavg_start": os.getloadavg()}
    try:
        import warnings

        import numpy as np
        import scipy.sparse as sp
        from threadpoolctl import threadpool_info, threadpool_limits

        warnings.simplefilter("ignore")
        threadpool_limits(1)
        name, k = job["contender"], int(job["k"])
        import networkx as nx

        # warm-up, untimed: imports and compiled kernels, on the karate club graph
        K = sp.csr_matrix(nx.to_scipy_sparse_array(nx.karate_club_graph(), weight=None,
                                                   dtype=np.float64))
        _fit(name, _prepare(name, K), 2)
        A = sp.load_npz(job["graph"]).tocsr()
        X = _prepare(name, A)
        res["rss_before_fit"] = _rss()
        res["threadpools"] = [{key: d.get(key) for key in ("internal_api", "num_threads")}
                              for d in threadpool_info()]
        t0 = time.perf_counter()
        labels, info = _fit(name, X, k)
        res["fit_s"] = time.perf_counter() - t0
        res.update(info)
        np.save(job["labels_out"], np.asarray(labels, dtype=np.int64))
    except Exception as exc:  # recorded, never fatal to the benchmark
        res["status"] = "error"
        res["error"] = f"{type(exc).__name__}: {exc}"[:500]
        traceback.print_exc()
    import resource

    res["maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    res["peak_rss"] = _vmhwm()
    res["loadavg_end"] = os.getloadavg()
    Path(result_path).write_text(json.dumps(res))


# ----------------------------------------------------------------------------- parent
def run_worker(job: dict, workdir: Path, timeout: float, rss_limit: float, log) -> dict:
    """One contender fit in a fresh process; never raises for the job's failures."""

    tag = f"job{len(list(workdir.iterdir())):04d}"
    out = workdir / tag
    out.mkdir()
    job = dict(job, labels_out=str(out / "labels.npy"))
    (out / "job.json").write_text(json.dumps(job))
    bg = background_cpu()
    with open(out / "log.txt", "wb") as logf:
        proc = subprocess.Popen([sys.executable, __file__, "_worker", str(out / "job.json"),
                                 str(out / "result.json")], env=thread_env(1), stdout=logf,
                                stderr=logf)
        killed, peak, status, rusage, wall = watch_process(proc, timeout, rss_limit)
    res_path = out / "result.json"
    if res_path.exists() and not killed:
        res = json.loads(res_path.read_text())
    else:
        res = {"status": "killed" if killed else "crashed",
               "error": killed or f"exit code {os.waitstatus_to_exitcode(status)}"}
    res["process_maxrss"] = rusage.ru_maxrss * 1024 if rusage else None
    res["process_peak_sampled"] = peak
    res["process_wall_s"] = wall
    res["background_cpu_pct"], res["background_steal_pct"] = bg
    res["labels"] = job["labels_out"] if res.get("status") == "ok" else None
    if res.get("status") != "ok":
        res["log_tail"] = (out / "log.txt").read_text(errors="replace")[-800:]
        log(f"      ! {job['contender']}: {res['status']}: {res.get('error')}")
    return res


def score(graph_meta: dict, runs: list[dict]) -> None:
    """NMI with the planted labels and modularity, for every run's partition (in place)."""
    import networkx as nx
    import numpy as np
    import scipy.sparse as sp
    from sklearn.metrics import normalized_mutual_info_score

    stem = graph_meta["stem"]
    truth = np.load(f"{stem}.labels.npy")
    A = sp.load_npz(f"{stem}.npz")
    G = nx.from_scipy_sparse_array(A)
    seen: dict = {}
    for r in runs:
        if not r.get("labels"):
            continue
        lab = np.load(r["labels"])
        key = lab.tobytes()
        if key not in seen:
            parts: dict = {}
            for v, c in enumerate(lab.tolist()):
                parts.setdefault(c, set()).add(v)
            seen[key] = {"nmi": float(normalized_mutual_info_score(truth, lab)),
                         "modularity": float(nx.community.modularity(G, parts.values(),
                                                                     weight=None)),
                         "communities": int(len(parts)),
                         "unlabelled": int((lab < 0).sum())}
        r.update(seen[key])
    gt: dict = {}
    for v, c in enumerate(truth.tolist()):
        gt.setdefault(c, set()).add(v)
    graph_meta["planted_modularity"] = float(nx.community.modularity(G, gt.values(),
                                                                     weight=None))


def machine_info() -> dict:
    return _machine_info(1, ("nmfkit", "numpy", "scipy", "scikit-learn", "networkx", "numba",
                             "threadpoolctl"))


# ----------------------------------------------------------------------------- report
def _med(values):
    return statistics.median(values) if values else None


def _fmt_t(x):
    if x is None:
        return "—"
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def summarise(results: dict) -> list[dict]:
    """One row per (graph, contender): medians over the rounds."""
    rows = []
    for g in results["graphs"]:
        for name in results["contenders"]:
            runs = [r for r in g.get("runs", []) if r["contender"] == name]
            ok = [r for r in runs if r.get("status") == "ok"]
            row = {"n": g["n"], "mu": g["mu"], "k": g.get("k"), "edges": g.get("edges"),
                   "contender": name, "runs": len(runs), "ok": len(ok),
                   "skipped": g.get("skipped", {}).get(name)}
            if ok:
                t = [r["fit_s"] for r in ok]
                row.update(time=_med(t), tmin=min(t), tmax=max(t),
                           nmi=_med([r["nmi"] for r in ok]),
                           nmi_min=min(r["nmi"] for r in ok), nmi_max=max(r["nmi"] for r in ok),
                           modularity=_med([r["modularity"] for r in ok]),
                           communities=_med([r["communities"] for r in ok]),
                           rss=max(r.get("peak_rss") or 0 for r in ok),
                           rss_before=max(r.get("rss_before_fit") or 0 for r in ok),
                           n_iter=_med([r["n_iter"] for r in ok]) if "n_iter" in ok[0] else None,
                           converged=all(r.get("converged", True) for r in ok),
                           unlabelled=max(r.get("unlabelled", 0) for r in ok))
            elif runs:
                row["error"] = runs[0].get("error")
            rows.append(row)
    return rows


def render(results: dict) -> str:
    rows = summarise(results)
    by = {(r["n"], r["mu"], r["contender"]): r for r in rows}
    out = ["| nodes | μ | k | edges | contender | NMI | modularity | communities found | "
           "fit time (s) | × Louvain | iterations | peak RSS (MiB) | RSS before fit (MiB) |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lead = (f"| {r['n']:,} | {r['mu']:.1f} | {r['k'] if r['k'] is not None else '—'} | "
                f"{r['edges']:,} | {r['contender']} |" if r["edges"] else
                f"| {r['n']:,} | {r['mu']:.1f} | — | — | {r['contender']} |")
        if r.get("time") is None:
            why = r.get("skipped") or r.get("error") or "not run"
            out.append(lead + f" — | — | — | {why} | — | — | — | — |")
            continue
        nmi = f"{r['nmi']:.3f}" + ("" if r["nmi_min"] == r["nmi_max"]
                                   else f" [{r['nmi_min']:.3f}–{r['nmi_max']:.3f}]")
        t = _fmt_t(r["time"]) + (f" [{_fmt_t(r['tmin'])}–{_fmt_t(r['tmax'])}]"
                                 if r["ok"] > 1 else "")
        lv = by.get((r["n"], r["mu"], "louvain"), {})
        ratio = f"{r['time'] / lv['time']:.2f}" if lv.get("time") else "—"
        it = "—"
        if r.get("n_iter") is not None:
            it = f"{r['n_iter']:.0f}" + ("" if r["converged"] else " (max_iter)")
        comm = f"{r['communities']:.0f}"
        if r.get("unlabelled"):
            comm += f" (+{r['unlabelled']} nodes unlabelled)"
        out.append(lead + f" {nmi} | {r['modularity']:.3f} | {comm} | {t} | {ratio} | {it} | "
                   f"{r['rss'] / 2**20:.0f} | {r['rss_before'] / 2**20:.0f} |")
    return "\n".join(out)


def render_targets(results: dict) -> str:
    rows = summarise(results)
    by = {(r["n"], r["mu"], r["contender"]): r for r in rows}
    out = ["| nodes | μ | NMI nmfkit − spectral (≥ 0) | NMI nmfkit − Louvain (≥ −0.05) | "
           "time nmfkit ÷ Louvain (≤ 3 at 100,000) |", "|---|---|---|---|---|"]
    for g in results["graphs"]:
        s = by.get((g["n"], g["mu"], "nmfkit"), {})
        if s.get("nmi") is None:
            continue
        cells = []
        sp_ = by.get((g["n"], g["mu"], "spectral"), {})
        lv = by.get((g["n"], g["mu"], "louvain"), {})
        if sp_.get("nmi") is not None:
            d = s["nmi"] - sp_["nmi"]
            cells.append(f"{d:+.3f} " + ("yes" if d >= 0 else "**no**"))
        else:
            cells.append("— (spectral not run: " + (sp_.get("skipped") or sp_.get("error")
                                                   or "?") + ")")
        if lv.get("nmi") is not None:
            d = s["nmi"] - lv["nmi"]
            cells.append(f"{d:+.3f} " + ("yes" if d >= -0.05 else "**no**"))
            ratio = s["time"] / lv["time"]
            verdict = ("yes" if ratio <= 3 else "**no**") if g["n"] >= 100000 else "(no target)"
            cells.append(f"{ratio:.2f} {verdict}")
        else:
            cells += ["—", "—"]
        out.append(f"| {g['n']:,} | {g['mu']:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def render_graphs(results: dict) -> str:
    out = ["| nodes | μ (asked / measured) | seed | k | community sizes | edges | degree mean "
           "[min–max] | self-loops removed | planted modularity | generation (s) |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for g in results["graphs"]:
        if not g.get("stem"):
            out.append(f"| {g['n']:,} | {g['mu']:.1f} | failed: "
                       + "; ".join(f"seed {f['seed']}: {f['error']}" for f in g["failed_seeds"])
                       + " | | | | | | | |")
            continue
        cs = g["community_sizes"]
        out.append(f"| {g['n']:,} | {g['mu']:.1f} / {g['mixing_measured']:.3f} | {g['seed']} | "
                   f"{g['k']} | {cs[0]}–{cs[-1]} | {g['edges']:,} | {g['degree_mean']:.1f} "
                   f"[{g['degree_min']}–{g['degree_max']}] | {g['self_loops_removed']} | "
                   f"{g.get('planted_modularity', float('nan')):.3f} | "
                   f"{g['generation_s']:.1f} |")
    return "\n".join(out)


def render_all(results: dict) -> str:
    m = results["meta"]
    loads = [r["loadavg_start"][0] for g in results["graphs"] for r in g.get("runs", [])
             if r.get("loadavg_start")]
    busy = [r["background_cpu_pct"] for g in results["graphs"] for r in g.get("runs", [])
            if r.get("background_cpu_pct") is not None]
    v = m["versions"]
    lines = [
        f"Run {m['date']} (`python benchmarks/graphs.py {' '.join(results['argv'])}`), "
        f"{m['cpu']}, {m['cores']} cores, one thread per process, "
        f"{results.get('elapsed_s', 0) / 60:.1f} min. Versions: nmfkit {v['nmfkit']} "
        f"(commit {m['nmfkit_commit']}), networkx {v['networkx']}, scikit-learn "
        f"{v['scikit-learn']}, scipy {v['scipy']}, numpy {v['numpy']}, numba {v['numba']}, "
        f"Python {m['python']}. Load average (1 min) when the workers started: median "
        f"{_med(loads) or 0:.2f}, max {max(loads, default=0):.2f}; machine CPU busy before "
        f"each run (0.5 s): median {_med(busy) or 0:.0f} %, max {max(busy, default=0):.0f} %.",
        "", render_graphs(results), "", render(results), "", render_targets(results)]
    return "\n".join(lines)


def write_results_md(results: dict, path: Path) -> None:
    text = path.read_text()
    if SECTION_BEGIN not in text or SECTION_END not in text:
        raise SystemExit(f"{path} has no '{SECTION_BEGIN}' ... '{SECTION_END}' markers")
    head, rest = text.split(SECTION_BEGIN, 1)
    _, tail = rest.split(SECTION_END, 1)
    path.write_text(head + SECTION_BEGIN + "\n\n" + render_all(results) + "\n\n" + SECTION_END
                    + tail)


# ----------------------------------------------------------------------------- main
def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--mu", default="0.1,0.2,0.3,0.4,0.5")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--repeats-large", type=int, default=1,
                    help="rounds for graphs of 100,000 nodes or more (default 1)")
    ap.add_argument("--contenders", default=",".join(CONTENDERS))
    ap.add_argument("--seed", type=int, default=1, help="LFR seed (the next ones on failure)")
    ap.add_argument("--quick", action="store_true", help="1,000 nodes only, one round")
    ap.add_argument("--out", help="JSON (default benchmarks/results/graphs[-quick].json)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per worker process")
    ap.add_argument("--gen-timeout", type=float, default=900.0, help="seconds per generation")
    ap.add_argument("--spectral-rounds", type=int, default=1,
                    help="rounds of spectral clustering per graph (its result is "
                         "deterministic and it is the slowest; default 1)")
    ap.add_argument("--spectral-timeout", type=float, default=300.0,
                    help="seconds per spectral worker process (default 300)")
    ap.add_argument("--rss-limit-gib", type=float, default=8.0, help="kill a worker above it")
    ap.add_argument("--report", metavar="JSON", help="only print the tables of a results file")
    ap.add_argument("--merge", metavar="JSON", help="add this run's graphs to an existing "
                    "results file (replacing the same (n, mu)) and write it to --out")
    ap.add_argument("--write-results", action="store_true",
                    help="write the tables into benchmarks/RESULTS.md between its graphs.py "
                         "markers")
    ap.add_argument("--keep-work", action="store_true")
    args = ap.parse_args(argv)
    if args.report:
        results = json.loads(Path(args.report).read_text())
        print(render_all(results))
        if args.write_results:
            write_results_md(results, HERE / "RESULTS.md")
        return
    sizes = [1000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    mus = [float(s) for s in args.mu.split(",") if s]
    names = [s for s in args.contenders.split(",") if s]
    bad = [s for s in names if s not in CONTENDERS]
    if bad:
        ap.error(f"unknown contender(s): {', '.join(bad)}; choose from {', '.join(CONTENDERS)}")
    out = Path(args.out) if args.out else HERE / "results" / (
        "graphs-quick.json" if args.quick else "graphs.json")
    out.parent.mkdir(parents=True, exist_ok=True)

    def log(msg):
        print(msg, flush=True)

    results = {"meta": machine_info(), "argv": sys.argv[1:], "contenders": names,
               "notes": {n: NOTES[n] for n in names}, "graphs": [],
               "loadavg_before": os.getloadavg()}
    log(f"machine: {results['meta']['cpu']}, {results['meta']['cores']} cores, load "
        f"{os.getloadavg()[0]:.2f}; nmfkit {results['meta']['nmfkit_commit']}")
    workdir = Path(tempfile.mkdtemp(prefix="nmfkit-graphs-"))
    dropped: dict = {}  # contender -> why it is no longer run
    t_start = time.monotonic()
    try:
        for n in sorted(sizes):
            for mu in mus:
                meta = ensure_graph(n, mu, args.seed, args.gen_timeout, log)
                g = dict(meta, n=n, mu=mu, runs=[], skipped={})
                results["graphs"].append(g)
                if not meta.get("stem"):
                    continue
                repeats = 1 if args.quick else (args.repeats_large if n >= 100000
                                                else args.repeats)
                active = [c for c in names if c not in dropped]
                for c in names:
                    if c in dropped:
                        g["skipped"][c] = dropped[c]
                log(f"n={n} mu={mu} k={meta['k']} edges={meta['edges']:,}: "
                    f"{repeats} round(s) of {', '.join(active)}")
                for rnd in range(repeats):
                    order = active[rnd % len(active):] + active[:rnd % len(active)] if active else []
                    for c in order:
                        if c in dropped or (c == "spectral" and rnd >= args.spectral_rounds):
                            continue
                        res = run_worker({"contender": c, "graph": f"{meta['stem']}.npz",
                                          "k": meta["k"]}, workdir,
                                         args.spectral_timeout if c == "spectral" else args.timeout,
                                         args.rss_limit_gib * 2**30, log)
                        res.update(contender=c, round=rnd)
                        g["runs"].append(res)
                        if res.get("status") == "ok":
                            extra = (f", {res['n_iter']} it" if "n_iter" in res else "")
                            log(f"    round {rnd} {c}: {res['fit_s']:.2f} s{extra}, peak RSS "
                                f"{res['peak_rss'] / 2**20:.0f} MiB, load "
                                f"{res['loadavg_start'][0]:.2f}")
                        elif res.get("status") == "killed":
                            dropped[c] = f"skipped: killed at n={n}, μ={mu} ({res['error']})"
                score(g, g["runs"])
                for r in g["runs"]:
                    if r.get("nmi") is not None and r["round"] == 0:
                        log(f"    {r['contender']}: NMI {r['nmi']:.3f}, modularity "
                            f"{r['modularity']:.3f}, {r['communities']} communities")
                results["elapsed_s"] = time.monotonic() - t_start
                out.write_text(json.dumps(results, indent=1, default=float))
    finally:
        if not args.keep_work:
            shutil.rmtree(workdir, ignore_errors=True)
    for g in results["graphs"]:
        for r in g["runs"]:
            r.pop("labels", None)
    results["loadavg_after"] = os.getloadavg()
    results["elapsed_s"] = time.monotonic() - t_start
    if args.merge:
        old = json.loads(Path(args.merge).read_text())
        keep = {(g["n"], g["mu"]) for g in results["graphs"]}
        old["graphs"] = sorted([g for g in old["graphs"] if (g["n"], g["mu"]) not in keep]
                               + results["graphs"], key=lambda g: (g["n"], g["mu"]))
        old.setdefault("merged_runs", []).append({"argv": sys.argv[1:],
                                                  "date": results["meta"]["date"],
                                                  "elapsed_s": results["elapsed_s"]})
        old["elapsed_s"] = old.get("elapsed_s", 0) + results["elapsed_s"]
        results = old
    out.write_text(json.dumps(results, indent=1, default=float))
    print()
    print(render_all(results))
    if args.write_results:
        write_results_md(results, HERE / "RESULTS.md")
        log(f"wrote the tables into {HERE / 'RESULTS.md'}")
    log(f"wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_generate":
        _generate(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_worker":
        _worker(sys.argv[2], sys.argv[3])
    else:
        main()
