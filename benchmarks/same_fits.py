"""Do fits from a fixed seed give the same factors as at another commit?

The foundation work must not change fitted factors silently.  This fits a fixed set of
cases (every solver, dense and sparse, KL, β = 1.5, masked, orthogonal, penalised,
restarts, a fit that takes the float32 phase) with this checkout and with nmfkit at REF
(extracted by ``baseline.prepare``), each in its own process, and prints the cases whose
factors or ``reconstruction_err_`` differ::

    python benchmarks/same_fits.py 8584df3
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import scipy.sparse as sp


def _cases():
    rng = np.random.default_rng(0)
    X = rng.random((300, 6)) @ rng.random((6, 200)) + 0.1 * rng.random((300, 200))
    big = rng.random((700, 6)) @ rng.random((6, 500)) + 0.1 * rng.random((700, 500))
    Xs = sp.random(400, 300, density=0.05, random_state=1, format="csr")
    C = rng.poisson(2 * rng.random((80, 4)) @ rng.random((4, 60))).astype(float)
    M = X.copy()
    M[rng.random(M.shape) < 0.2] = np.nan
    cases = {f"{s}-dense": (X, dict(solver=s)) for s in ["hals", "mu", "als", "anls", "pgd"]}
    cases.update({f"{s}-sparse": (Xs, dict(solver=s)) for s in ["hals", "mu", "anls"]})
    cases["hals-float32-phase"] = (big, dict(solver="hals"))
    cases["kl-auto"] = (C, dict(beta_loss="kullback-leibler"))
    cases["kl-mu"] = (C, dict(beta_loss="kullback-leibler", solver="mu"))
    cases["beta-1.5"] = (C + 0.1, dict(beta_loss=1.5))
    cases["masked"] = (M, dict(missing="mask"))
    cases["orthogonal"] = (X, dict(orthogonal="H"))
    cases["penalised"] = (X, dict(alpha_W=0.01, l1_ratio=0.5))
    cases["restarts"] = (X, dict(n_init=3, init="random"))
    return cases


def _fit_all(out_path):
    import nmfkit

    warnings.simplefilter("ignore")
    out = {}
    for name, (X, kw) in _cases().items():
        model = nmfkit.NMF(6, random_state=0, max_iter=60, **kw)
        W = model.fit_transform(X)
        out[name] = {"W": W.tolist(), "H": model.components_.tolist(),
                     "err": model.reconstruction_err_, "n_iter": model.n_iter_,
                     "solver": model.solver_, "from": nmfkit.__file__}
    with open(out_path, "w") as handle:
        json.dump(out, handle)


def main(argv):
    if argv[:1] == ["--fit"]:
        return _fit_all(argv[1])
    if len(argv) != 1:
        raise SystemExit(__doc__)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from baseline import prepare

    sha, src = prepare(argv[0])
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, path in (("baseline", str(src)), ("current", None)):
            env = dict(os.environ)
            if path:
                env["PYTHONPATH"] = path + os.pathsep + env.get("PYTHONPATH", "")
            target = os.path.join(tmp, f"{label}.json")
            subprocess.run([sys.executable, __file__, "--fit", target], check=True, env=env)
            with open(target) as handle:
                results.append(json.load(handle))
    before, after = results
    print(f"nmfkit at {sha}: {next(iter(before.values()))['from']}")
    print(f"this checkout: {next(iter(after.values()))['from']}")
    differ = 0
    for name in before:
        a, b = before[name], after[name]
        dW = np.max(np.abs(np.subtract(a["W"], b["W"]))) / max(np.max(np.abs(a["W"])), 1e-300)
        dH = np.max(np.abs(np.subtract(a["H"], b["H"]))) / max(np.max(np.abs(a["H"])), 1e-300)
        same = dW == 0 and dH == 0 and a["err"] == b["err"] and a["n_iter"] == b["n_iter"]
        differ += not same
        print(f"{name:20s} {a['solver']:>9s}  {'identical' if same else 'DIFFERENT'}"
              f"  max rel. change W {dW:.1e}, H {dH:.1e}; err {a['err']:.10g} -> {b['err']:.10g}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
