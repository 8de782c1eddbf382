"""Where nmfkit spends its time: cProfile of one fit on a benchmark problem.

    benchmarks/.venv/bin/python benchmarks/profile_nmfkit.py a d e [--quick]
        [--iters 30] [--solver auto] [--top 25]

Runs nmfkit.NMF(init='custom', tol=0, max_iter=ITERS) from the benchmark's shared W0, H0
with threads pinned as in bench.py, and prints the functions with the most own time and the
most cumulative time. For a sampled, native-aware view use py-spy (installed in the venv):
    benchmarks/.venv/bin/py-spy record --native -o prof.svg -- \
        benchmarks/.venv/bin/python benchmarks/profile_nmfkit.py d --no-cprofile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("problems", nargs="+")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--solver", default="auto")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--no-cprofile", action="store_true")
    args = ap.parse_args()

    import warnings

    from threadpoolctl import threadpool_limits

    import problems as P

    threadpool_limits(args.threads)
    import nmfkit

    for key in args.problems:
        prob = P.get(key, args.quick)
        subprocess.run([sys.executable, str(HERE / "problems.py"), key]
                       + (["--quick"] if args.quick else []), check=True,
                       stdout=subprocess.DEVNULL)
        X, W0, H0, meta = P.load(P.cache_dir(prob))
        model = nmfkit.NMF(n_components=prob.k, init="custom", solver=args.solver,
                           beta_loss=prob.loss, tol=0.0, max_iter=args.iters)
        prof = cProfile.Profile()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            if not args.no_cprofile:
                prof.enable()
            model.fit_transform(X, W=W0.copy(), H=H0.copy())
            if not args.no_cprofile:
                prof.disable()
            seconds = time.perf_counter() - t
        print(f"\n=== ({key}) {prob.title}: {model.n_iter_} iterations in {seconds:.2f} s "
              f"({seconds / max(model.n_iter_, 1):.4f} s/iter), solver={args.solver}")
        if args.no_cprofile:
            continue
        for order in ("tottime", "cumulative"):
            s = io.StringIO()
            pstats.Stats(prof, stream=s).strip_dirs().sort_stats(order).print_stats(args.top)
            print(f"--- by {order}\n" + "\n".join(s.getvalue().splitlines()[4:]))


if __name__ == "__main__":
    main()
