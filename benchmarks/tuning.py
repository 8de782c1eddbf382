"""Compare nmfkit settings (``solver_options``) through the public API only.

    python benchmarks/tuning.py PROBLEM [SETTING ...] [options]
    python benchmarks/tuning.py a inner_alpha=0.5 inner_alpha=1 inner_alpha=2 --seconds 5
    python benchmarks/tuning.py c extrapolate=False extrapolate=True --starts 0,1,2
    python benchmarks/tuning.py dense:1000x1000x10 mixed_precision=False \\
        mixed_precision=True,inner_alpha=1 --solver hals --seconds 2
    python benchmarks/tuning.py stopping b 1e-4 1e-5 --seeds 0,1,2   # drop-in stopping rule
    python benchmarks/tuning.py --list             # the solvers and the settings' fields

A SETTING is ``key=value[,key=value...]``: the keys are the fields of
``nmfkit.solvers.Settings`` (passed as ``NMF(solver_options={...})``), the values
Python literals (``True``, ``None``, ``0.5``, ``1e18``, ``2**18``); ``defaults`` (or no
setting at all) is the solver's defaults.  Every setting is fitted with
``NMF(init='custom', tol=0, solver=..., solver_options=...)`` from the same W0, H0, in
this one process, threads pinned as in bench.py (OMP/BLAS/numba variables, then
threadpoolctl); one untimed 2-iteration warm-up fit per setting (numba compilation,
first-touch page faults), then ``--repeats`` rounds with the settings' order reversed
every other round.  From each fit's ``loss_curve_`` (iteration, seconds, loss): the time
and iteration at which the curve first comes within 1 % and 0.1 % of the best objective
any setting reached from that start (median [min-max] over the rounds), the seconds per
iteration, the fit call's time outside the curve (validation, set-up, final error), and
the last recorded loss against the objective of the returned factors evaluated here in
float64 (objective.py; a float32 phase records rounded values).

PROBLEM: a-e (problems.py; ``--quick`` for their small sizes), or generated:
  dense:MxNxK[:float32]   planted rank K (problems.py's generator, 5 % noise), Frobenius
  poisson:MxNxK[:FILL]    Poisson counts of a rank-K intensity (KL); FILL sets the
                          expected fraction of non-zeros (default: mean count 2)
  words                   word counts of the critics' texts (nmfkit.datasets.load_movies,
                          CountVectorizer min_df=2, English stop words), KL, k=20
``--observed F`` keeps a random fraction F of the entries as a CSR matrix of observed
entries and fits with ``missing='mask'``.

Without ``--max-iter`` each fit is stopped by a callback after ``--seconds`` (the float32
phase casts the factors for a callback each iteration, a small cost it does not pay
otherwise); with ``--max-iter N`` and no ``--seconds`` no callback is set at all.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import os
import re
import statistics
import sys
import threading
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TARGETS = (0.01, 0.001)


# ----------------------------------------------------------------------------- threads
def pin_threads(threads: int) -> None:
    """Re-run this script with the thread variables bench.py gives its workers (they must
    be set before NumPy loads its BLAS), then pin threadpoolctl to the same count."""
    marker = "NMFKIT_TUNING_THREADS"
    if os.environ.get(marker) != str(threads):
        from bench import thread_env

        env = dict(thread_env(threads), **{marker: str(threads)})
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    from threadpoolctl import threadpool_limits

    global _LIMITS
    _LIMITS = threadpool_limits(threads)  # kept alive for the whole run


# ----------------------------------------------------------------------------- settings
def settings_fields() -> dict | None:
    """{field: dataclasses.Field} of nmfkit.solvers.Settings, or None if this nmfkit has none."""
    try:
        from nmfkit.solvers import Settings
    except ImportError:
        return None
    return {f.name: f for f in dataclasses.fields(Settings)}


def _literal(text: str):
    text = text.strip()
    for word, value in (("none", None), ("true", True), ("false", False)):
        if text.lower() == word:
            return value
    power = re.fullmatch(r"(\d+)\s*\*\*\s*(\d+)", text)
    if power:
        return int(power[1]) ** int(power[2])
    return ast.literal_eval(text)


def parse_setting(text: str, fields: dict | None) -> dict:
    """'key=value,key=value' -> solver_options dict (values coerced to the field's type)."""
    if text.strip() in ("", "defaults"):
        return {}
    if fields is None:
        sys.exit("this nmfkit has no nmfkit.solvers.Settings (NMF(solver_options=...)); "
                 "only the defaults can be run")
    options = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, eq, raw = item.partition("=")
        key = key.strip()
        if not eq:
            sys.exit(f"setting {item!r}: expected key=value")
        if key not in fields:
            sys.exit(f"unknown setting {key!r}; valid: {', '.join(fields)}")
        try:
            value = _literal(raw)
        except (ValueError, SyntaxError):
            sys.exit(f"setting {item!r}: {raw!r} is not a Python literal")
        kind = str(fields[key].type)  # e.g. "int", "float | None" (string annotations)
        integral = "int" in kind and "float" not in kind
        if isinstance(value, float) and value.is_integer() and integral:
            value = int(value)
        elif isinstance(value, int) and not isinstance(value, bool) and "float" in kind:
            value = float(value)
        options[key] = value
    return options


# ----------------------------------------------------------------------------- problems
@dataclasses.dataclass
class Case:
    title: str
    X: object
    k: int
    loss: str
    W0: object
    H0: object
    missing: str = "error"
    key: str = ""
    quick: bool = False

    def start(self, s: int):
        """(W0, H0) of start s: 0 is the problem's own (the benchmark's), s > 0 a new seed."""
        import problems as P

        return (self.W0, self.H0) if s == 0 else P.initial_factors(self.X, self.k, seed=s)


def _shape(spec: str):
    m, n, k = (int(v) for v in spec.lower().split("x"))
    return m, n, k


def load_case(spec: str, quick: bool, observed: float | None) -> Case:
    import numpy as np
    import scipy.sparse as sp

    import problems as P

    kind, _, rest = spec.partition(":")
    if kind in P.FULL:
        prob = P.get(kind, quick)
        X, W0, H0, _ = P.load(P.ensure_cached(prob))
        case = Case(f"({kind}) {prob.title}", X, prob.k, prob.loss, W0, H0, key=kind, quick=quick)
    elif kind in ("dense", "poisson"):
        shape, _, extra = rest.partition(":")
        m, n, k = _shape(shape)
        if kind == "dense":
            prob = P.Problem("g", f"planted dense {m}x{n}, rank {k}", "dense", (m, n), k,
                             "frobenius", dtype=extra or "float64", rank_true=k, noise=0.05)
        else:
            prob = P.Problem("g", f"Poisson counts {m}x{n}, rank-{k} intensity", "poisson",
                             (m, n), k, "kullback-leibler", rank_true=k,
                             density=float(extra) if extra else 1.0)
        X = P.build(prob)
        W0, H0 = P.initial_factors(X, k, seed=1000)
        case = Case(prob.title, X, k, prob.loss, W0, H0)
    elif kind == "words":
        from sklearn.feature_extraction.text import CountVectorizer

        from nmfkit.datasets import load_movies

        texts = [t for t in load_movies()["consensus"] if isinstance(t, str)]
        X = CountVectorizer(min_df=2, stop_words="english").fit_transform(texts).astype(float)
        W0, H0 = P.initial_factors(X, 20, seed=1000)
        case = Case("word counts of the critics' texts", X, 20, "kullback-leibler", W0, H0)
    else:
        sys.exit(f"unknown problem {spec!r}: a-e, dense:MxNxK[:float32], poisson:MxNxK[:FILL], "
                 "words")
    if observed is not None:
        rng = np.random.default_rng(0)
        dense = case.X.toarray() if sp.issparse(case.X) else np.asarray(case.X)
        rows, cols = np.nonzero(rng.random(dense.shape) < observed)
        case.X = sp.csr_matrix((dense[rows, cols], (rows, cols)), shape=dense.shape)
        case.missing = "mask"
        case.title += f", {observed:g} of the entries observed (missing='mask')"
        case.W0, case.H0 = P.initial_factors(case.X, case.k, seed=1000)
    return case


def describe(case: Case) -> str:
    import scipy.sparse as sp

    X = case.X
    nnz = X.nnz if sp.issparse(X) else int((X != 0).sum())
    return (f"{case.title}: {X.shape[0]:,} x {X.shape[1]:,}, {nnz:,} non-zeros "
            f"({100 * nnz / (X.shape[0] * X.shape[1]):.3g} %), {X.dtype}"
            f"{', sparse' if sp.issparse(X) else ''}, k={case.k}, {case.loss}")


# ----------------------------------------------------------------------------- fits
class PeakRSS:
    """Resident memory sampled every 2 ms in a thread: the most a block of code adds."""

    def __enter__(self):
        self.base = self.peak = self._rss()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self._rss())
            time.sleep(0.002)

    @property
    def added_mib(self) -> float:
        return (self.peak - self.base) / 2**20


def fit(case: Case, start, options: dict, args, max_iter=None, memory=False) -> dict:
    """One fit from ``start``; its loss curve and the evaluation of the returned pair."""
    import gc
    import contextlib

    import numpy as np

    import nmfkit
    import objective as O

    max_iter = max_iter or args.max_iter or 10**7
    seconds = args.seconds
    kw = {} if not options else {"solver_options": options}
    if seconds:
        deadline = [0.0]
        kw["callback"] = lambda it, W, H, loss: time.perf_counter() > deadline[0]
    model = nmfkit.NMF(case.k, init="custom", solver=args.solver,
                       beta_loss=args.beta_loss or case.loss, missing=case.missing, tol=0.0,
                       max_iter=max_iter, random_state=0, **kw)
    W0, H0 = (np.array(A, copy=True) for A in start)
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with (PeakRSS() if memory else contextlib.nullcontext()) as rss:
            t = time.perf_counter()
            if seconds:
                deadline[0] = t + seconds
            W = model.fit_transform(case.X, W=W0, H=H0)
            call = time.perf_counter() - t
    curve = [tuple(float(v) for v in row) for row in
             model.loss_curve_[["iteration", "seconds", "loss"]].itertuples(index=False)]
    exact = None
    if case.missing == "error" and (args.beta_loss or case.loss) in ("frobenius",
                                                                      "kullback-leibler"):
        exact = O.objective(case.X, W, model.components_, args.beta_loss or case.loss)
    return {"curve": curve, "call_s": call, "n_iter": int(model.n_iter_),
            "solver": getattr(model, "solver_", args.solver), "exact_final": exact,
            "rss_added_mib": rss.added_mib if memory else None}


def first_at(curve, target):
    return next(((it, s) for it, s, loss in curve if it > 0 and loss <= target), (None, None))


def _med_range(values, fmt="{:.3f}"):
    values = [v for v in values if v is not None]
    if not values:
        return None
    text = fmt.format(statistics.median(values))
    if len(values) > 1:
        text += " [" + fmt.format(min(values)) + "-" + fmt.format(max(values)) + "]"
    return text


def summarise(label: str, runs: list[dict], best: float) -> str:
    cells = []
    for r in TARGETS:
        hits = [first_at(run["curve"], best * (1 + r)) for run in runs]
        times = [s for _, s in hits if s is not None]
        iters = sorted({it for it, _ in hits if it is not None})
        if len(times) < len(runs):
            last = max(run["curve"][-1][1] for run in runs)
            cells.append(f"{100 * r:g} %: " + (f"{_med_range(times)} s" if times else "")
                         + f" not reached in {len(runs) - len(times)} of {len(runs)} "
                           f"(curve {last:.2f} s)")
        else:
            its = "/".join(f"{int(i)}" for i in iters)
            cells.append(f"{100 * r:g} %: {_med_range(times)} s ({its} it)")
    spi = [1e3 * run["curve"][-1][1] / max(run["curve"][-1][0], 1) for run in runs]
    outside = [run["call_s"] - run["curve"][-1][1] for run in runs]
    cells.append(f"ms/iter {_med_range(spi, '{:.4g}')}")
    cells.append(f"outside curve {_med_range(outside, '{:.3f}')} s")
    final = min(run["curve"][-1][2] for run in runs)
    cells.append(f"final {final / best - 1:.1e} above best")
    exact = [run["curve"][-1][2] / run["exact_final"] - 1 for run in runs
             if run.get("exact_final")]
    if exact:
        cells.append(f"recorded/exact-1 {max(exact, key=abs):+.1e}")
    rss = [run["rss_added_mib"] for run in runs if run.get("rss_added_mib") is not None]
    if rss:
        cells.append(f"fit adds {_med_range(rss, '{:.0f}')} MiB")
    return f"{label:30s} " + "; ".join(cells)


def compare(args) -> dict:
    fields = settings_fields()
    labels = args.settings or ["defaults"]
    options = [parse_setting(s, fields) for s in labels]
    case = load_case(args.problem, args.quick, args.observed)
    import nmfkit

    starts = [int(s) for s in args.starts.split(",")]
    print(f"{describe(case)}\nsolver={args.solver!r}, {args.threads} thread(s), "
          f"{'max_iter ' + str(args.max_iter) if args.max_iter else ''}"
          f"{' and ' if args.max_iter and args.seconds else ''}"
          f"{f'{args.seconds:g} s per fit' if args.seconds else ''}, {args.repeats} round(s); "
          f"nmfkit {nmfkit.__version__} from {Path(nmfkit.__file__).parent}; "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    out = {"problem": args.problem, "title": describe(case), "argv": sys.argv[1:],
           "threads": args.threads, "loadavg_start": os.getloadavg(), "starts": {}}
    for opts in options:  # warm-up: compile the kernels this setting reaches, touch pages
        fit(case, case.start(0), opts, args, max_iter=2)
    for s in starts:
        start = case.start(s)
        runs = {label: [] for label in labels}
        for rnd in range(args.repeats):
            order = list(zip(labels, options))
            for label, opts in (order if rnd % 2 == 0 else order[::-1]):
                runs[label].append(fit(case, start, opts, args, memory=args.memory))
        best = min(loss for rs in runs.values() for run in rs for _, _, loss in run["curve"])
        print(f"-- start {s}{' (the benchmark W0, H0)' if s == 0 and case.key else ''}: "
              f"best {best:.8g}", flush=True)
        for label in labels:
            print("   " + summarise(label, runs[label], best), flush=True)
        out["starts"][s] = {"best": best, "runs": runs}
    out["loadavg_end"] = os.getloadavg()
    print(f"load average at the end {out['loadavg_end'][0]:.2f}")
    return out


# ----------------------------------------------------------------------------- stopping
def stopping(args) -> dict:
    """The drop-in case with nmfkit's stopping rule at several tol: scikit-learn's
    NMF(n_components=k, random_state=seed) with its defaults (KL: beta_loss and
    solver='mu'), and nmfkit's NMF(n_components=k, random_state=seed, tol=t); each
    objective evaluated in float64 by objective.py."""
    import objective as O
    from sklearn.decomposition import NMF as SkNMF

    import nmfkit

    case = load_case(args.problem, args.quick, None)
    kl = case.loss != "frobenius"
    tols = [float(t) for t in args.tols] or [1e-4]
    print(describe(case), flush=True)
    with warnings.catch_warnings():  # untimed warm-up: imports, numba kernels
        warnings.simplefilter("ignore")
        SkNMF(case.k, max_iter=2, **({"beta_loss": case.loss, "solver": "mu"} if kl else {})
              ).fit(case.X)
        nmfkit.NMF(case.k, max_iter=2, **({"beta_loss": case.loss} if kl else {})).fit(case.X)
    out = {"problem": args.problem, "seeds": {}}
    for seed in [int(s) for s in args.seeds.split(",")]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = SkNMF(case.k, random_state=seed,
                       **({"beta_loss": case.loss, "solver": "mu"} if kl else {}))
            t = time.perf_counter()
            W = sk.fit_transform(case.X)
            sk_s = time.perf_counter() - t
            theirs = O.objective(case.X, W, sk.components_, case.loss)
            cells = [f"scikit-learn {sk.n_iter_} it {sk_s:.3f} s obj {theirs:.8g}"]
            row = {"sklearn": {"n_iter": int(sk.n_iter_), "seconds": sk_s, "obj": theirs}}
            for tol in tols:
                model = nmfkit.NMF(case.k, random_state=seed, tol=tol,
                                   **({"beta_loss": case.loss} if kl else {}))
                t = time.perf_counter()
                W = model.fit_transform(case.X)
                s = time.perf_counter() - t
                obj = O.objective(case.X, W, model.components_, case.loss)
                cells.append(f"tol={tol:g}: {model.n_iter_} it, objective {obj / theirs:.7f} x, "
                             f"time {s / sk_s:.2f} x")
                row[f"{tol:g}"] = {"n_iter": int(model.n_iter_), "seconds": s, "obj": obj}
        print(f"seed {seed}: " + "; ".join(cells), flush=True)
        out["seeds"][seed] = row
    return out


def list_settings() -> None:
    import nmfkit.solvers as S

    if hasattr(S, "available"):
        print(S.available().to_string())
    fields = settings_fields()
    if fields is None:
        print("this nmfkit has no nmfkit.solvers.Settings")
        return
    print("\nsolver_options keys (nmfkit.solvers.Settings):")
    for name, f in fields.items():
        default = f.default if f.default is not dataclasses.MISSING else "(required)"
        print(f"  {name} = {default!r}   ({f.type})")


# ----------------------------------------------------------------------------- main
def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    stop = bool(argv) and argv[0] == "stopping"
    if stop:
        argv = argv[1:]
        ap.add_argument("problem")
        ap.add_argument("tols", nargs="*", help="tol values of nmfkit's runs (default 1e-4)")
        ap.add_argument("--seeds", default="0,1,2,3,4")
    else:
        ap.add_argument("problem", nargs="?")
        ap.add_argument("settings", nargs="*", help="key=value[,key=value] per setting")
        ap.add_argument("--starts", default="0",
                        help="comma list; 0 is the problem's own W0, H0 (default 0)")
        ap.add_argument("--repeats", type=int, default=3, help="rounds (default 3)")
        ap.add_argument("--seconds", type=float, help="length of each fit (default 20 s "
                        "unless --max-iter is given)")
        ap.add_argument("--max-iter", type=int)
        ap.add_argument("--solver", default="auto")
        ap.add_argument("--beta-loss", help="override the problem's loss (e.g. 0, 0.5, 1.5)")
        ap.add_argument("--observed", type=float, help="fraction of entries observed: "
                        "missing='mask' on a CSR matrix of those entries")
        ap.add_argument("--memory", action="store_true", help="also the resident memory each "
                        "fit adds (RSS sampled every 2 ms in a thread)")
        ap.add_argument("--list", action="store_true", help="print the registered solvers and "
                        "the settings' fields, and exit")
    ap.add_argument("--quick", action="store_true", help="problems a-e at their --quick sizes")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--json", help="write every curve and figure to this file")
    args = ap.parse_intermixed_args(argv)
    pin_threads(args.threads)
    if stop:
        out = stopping(args)
    else:
        if args.list:
            return list_settings()
        if not args.problem:
            ap.error("a problem is required")
        if args.beta_loss:
            try:
                args.beta_loss = float(args.beta_loss)
            except ValueError:
                pass
        if args.seconds is None and not args.max_iter:
            args.seconds = 20.0
        out = compare(args)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=float))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
