"""Which factor an iteration updates first (issue 19 part 2), and dense KL MU's time.

    python benchmarks/update_order.py                # both parts, about 3 minutes
    python benchmarks/update_order.py --part order
    python benchmarks/update_order.py --part kl-time --rounds 3

``order``: nmfkit's iterations update H, then W; scikit-learn's W, then H.  On problems
of ``sizes.py``'s sweep where nmfkit ends above scikit-learn, every fit starts from the
same NNDSVDa pair (W0, H0) with ``tol=0`` and 200 iterations, and the table gives the
final objective of

- scikit-learn (``init='custom'``);
- nmfkit as it is (H first);
- nmfkit W first: nmfkit fitted to Xᵀ from (H0ᵀ, W0ᵀ), whose H-first iterations are
  W-then-H iterations on X (extrapolation and all, as nmfkit runs them);
- for MU, nmfkit from (W1, H0) with W1 one exact NNLS solve, and one HALS sweep, of W
  given H0: a W step by another rule than MU's.

and scikit-learn's estimator check ``check_transformer_data_not_an_array``'s data (30 x 3
blobs, k = 3): reconstruction error and the largest gap between ``fit_transform`` and
``transform`` for nmfkit's order and the W-first order (the check allows 0.01).

``kl-time``: ``NMF(20, init='nndsvda', solver='mu', beta_loss='kullback-leibler', tol=0,
max_iter=200)`` on ``sizes.py``'s 1,000 x 500 dense counts, nmfkit and scikit-learn
alternating, one thread, after an untimed fit of each; the seconds per fit of each round.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # one thread, set before NumPy and numba load

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: (m, n, k, kind, loss, nmfkit solver, scikit-learn solver)
CASES = [
    (1797, 64, 10, "sparse", "frobenius", "cd", "cd"),
    (50, 30, 5, "dense", "frobenius", "mu", "mu"),
    (300, 200, 10, "sparse", "frobenius", "mu", "mu"),
    (50, 30, 5, "sparse", "kullback-leibler", "cd", "mu"),
    (50, 30, 5, "sparse", "kullback-leibler", "mu", "mu"),
    (100, 50, 5, "sparse", "kullback-leibler", "mu", "mu"),
]


def _objective(X, W, H, loss):
    from nmfkit.objectives import beta_divergence

    return float(beta_divergence(X, W, H, 2.0 if loss == "frobenius" else 1.0))


def _fits(X, k, loss, solver, sk_solver, W0, H0, max_iter=200):
    """Final objectives of every contender from (W0, H0)."""
    from sklearn.decomposition import NMF as SkNMF

    import nmfkit
    from nmfkit import _data
    from nmfkit.solvers.anls import nnls

    def nmfkit_fit(A, W, H):
        model = nmfkit.NMF(k, init="custom", solver=solver, beta_loss=loss, tol=0,
                           max_iter=max_iter)
        return model.fit_transform(A, W=W.copy(), H=H.copy()), model.components_

    sk = SkNMF(k, init="custom", solver=sk_solver, beta_loss=loss, tol=0, max_iter=max_iter)
    out = {"sklearn": _objective(X, sk.fit_transform(X, W=W0.copy(), H=H0.copy()),
                                 sk.components_, loss)}
    out["nmfkit"] = _objective(X, *nmfkit_fit(X, W0, H0), loss)
    Ht, Wt = nmfkit_fit(X.T, H0.T, W0.T)
    out["nmfkit W first"] = _objective(X, Wt.T, Ht.T, loss)
    if solver == "mu":
        HHt, HXt = H0 @ H0.T, _data.H_times_Xt(H0, X)
        W_nnls = np.ascontiguousarray(nnls(HHt, HXt).T)
        W_hals = W0.copy()
        for j in range(k):  # one HALS sweep of W given H0
            W_hals[:, j] = np.maximum(W_hals[:, j] + (HXt[j] - W_hals @ HHt[:, j]) / HHt[j, j],
                                      0.0)
        out["MU after NNLS W"] = _objective(X, *nmfkit_fit(X, W_nnls, H0), loss)
        out["MU after HALS W"] = _objective(X, *nmfkit_fit(X, W_hals, H0), loss)
    return out


def part_order():
    import sizes
    from nmfkit.init import initialize

    columns = ["sklearn", "nmfkit", "nmfkit W first", "MU after NNLS W", "MU after HALS W"]
    print("| problem | nmfkit / scikit-learn solver | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for m, n, k, kind, loss, solver, sk_solver in CASES:
        X = sizes.build(m, n, k, kind, loss)
        W0, H0 = initialize(X, k, "nndsvda", random_state=0)
        out = _fits(X, k, loss, solver, sk_solver, W0, H0)
        cells = [f"{out[c]:.6g}" if c in out else "—" for c in columns]
        print(f"| {sizes.describe(m, n, k, kind, loss)} | {solver} / {sk_solver} | "
              + " | ".join(cells) + " |")

    from sklearn.datasets import make_blobs
    from sklearn.decomposition import NMF as SkNMF
    from sklearn.preprocessing import StandardScaler

    import nmfkit

    X, _ = make_blobs(n_samples=30, centers=[[0, 0, 0], [1, 1, 1]], random_state=0,
                      n_features=2, cluster_std=0.1)
    X = StandardScaler().fit_transform(X)
    X -= X.min()
    print("\nscikit-learn's check_transformer_data_not_an_array data (30 x 3, k = 3, "
          "defaults, random_state=0):\n")
    print("| fit | reconstruction error | max abs(fit_transform − transform) |")
    print("|---|---|---|")
    sk = SkNMF(random_state=0)
    W = sk.fit_transform(X)
    print(f"| scikit-learn cd | {sk.reconstruction_err_:.4g} | {np.abs(W - sk.transform(X)).max():.3g} |")
    model = nmfkit.NMF(random_state=0, solver="hals")
    W = model.fit_transform(X)
    print(f"| nmfkit hals (H first) | {model.reconstruction_err_:.4g} | "
          f"{np.abs(W - model.transform(X)).max():.3g} |")
    W0, H0 = initialize(X, 3, "nndsvda", random_state=0)
    first = nmfkit.NMF(3, init="custom", solver="hals")
    Ht = first.fit_transform(X.T, W=H0.T.copy(), H=W0.T.copy())
    W, H = first.components_.T, Ht.T
    from nmfkit.solvers.anls import nnls

    exact = nnls(H @ H.T, H @ X.T).T  # what NMF.transform returns for this H (β = 2)
    error = np.sqrt(2 * _objective(X, W, H, "frobenius"))
    print(f"| nmfkit hals, W first | {error:.4g} | {np.abs(W - exact).max():.3g} |")


def part_kl_time(rounds):
    import sizes
    from sklearn.decomposition import NMF as SkNMF

    import nmfkit

    X = sizes.build(1000, 500, 20, "dense", "kullback-leibler")
    kw = dict(init="nndsvda", solver="mu", beta_loss="kullback-leibler", tol=0, max_iter=200,
              random_state=0)
    contenders = {"nmfkit": lambda: nmfkit.NMF(20, **kw).fit(X),
                  "scikit-learn": lambda: SkNMF(20, **kw).fit(X)}
    for fit in contenders.values():
        fit()
    times = {name: [] for name in contenders}
    for r in range(rounds):
        order = list(contenders) if r % 2 == 0 else list(contenders)[::-1]
        for name in order:
            start = time.perf_counter()
            contenders[name]()
            times[name].append(time.perf_counter() - start)
    print("\ndense KL MU, 1,000 x 500, k = 20, 200 iterations, one thread: seconds per fit")
    for name, values in times.items():
        print(f"  {name}: " + ", ".join(f"{v:.2f}" for v in values))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("order", "kl-time", "both"), default="both")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    warnings.simplefilter("ignore")
    import nmfkit

    print(f"nmfkit {nmfkit.__version__} from {Path(nmfkit.__file__).parent}")
    if args.part in ("order", "both"):
        part_order()
    if args.part in ("kl-time", "both"):
        part_kl_time(args.rounds)


if __name__ == "__main__":
    main()
