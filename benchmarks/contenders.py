"""Adapters: one per contender, each a thin layer over the library's public API.

Every adapter offers
    skip_reason(problem, meta) -> str | None   why it cannot run this problem (None: it can)
    prepare(X, problem)        -> the input in the library's own format (untimed: what a
                                  user of that library would already hold)
    fit(Xl, W0, H0, problem, max_iter, hook=None) -> (W, H, n_iter), timed by the caller
and a trace mode: 'hook' (the adapter calls hook(W, H) after every iteration, through the
library's callback or by wrapping its update method) or 'chain' (no hook exists: the
worker chains max_iter=1 runs from the previous W, H, which for these stateless update
rules retraces the same iterates as one long run; phase 2 verifies the objective).

All contenders start from the same W0, H0 (init='custom' or the library's equivalent) and
run with their convergence tolerance at 0 so that max_iter alone decides the work done.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

FROB, KL = "frobenius", "kullback-leibler"


class StopTrace(Exception):
    """Raised by a trace hook to end a run once its iteration or time budget is spent."""


class Contender:
    name = ""
    library = ""
    losses = (FROB,)
    trace_mode = "hook"
    uses_torch = False
    note = ""

    def skip_reason(self, problem, meta) -> str | None:
        if problem.loss not in self.losses:
            return f"{self.library} has no {problem.loss} solver here"
        return None

    def load(self):
        """Import the library (and apply its shims) outside the timed region."""

    def prepare(self, X, problem):
        self.load()
        return X

    def fit(self, Xl, W0, H0, problem, max_iter, hook=None):
        raise NotImplementedError

    @staticmethod
    def to_numpy(A):
        if hasattr(A, "detach"):
            A = A.detach().cpu().numpy()
        return np.asarray(A)


# ----------------------------------------------------------------------------- nmfkit
class NmfkitContender(Contender):
    """nmfkit of this checkout, or (``ref``) of another commit: ``nmfkit@<sha>``, whose
    worker processes import it from ``src`` (baseline.py; bench.py puts it on their
    PYTHONPATH).  The fit passes only parameters every version accepts (no
    solver_options), so both run the same call."""
    library = "nmfkit"
    losses = (FROB, KL)

    def __init__(self, solver="auto", ref=None, src=None):
        self.solver = solver
        self.ref, self.src = ref, src
        self.name = ("nmfkit" if solver == "auto" else f"nmfkit-{solver}") + (
            f"@{ref}" if ref else "")
        self.note = f"solver='{solver}', init='custom', tol=0" + (
            f"; nmfkit at commit {ref} (baseline)" if ref else "")

    def skip_reason(self, problem, meta):
        if self.src is not None:  # never imported here: the parent has this checkout's
            if not (Path(self.src) / "nmfkit" / "__init__.py").exists():
                return f"baseline {self.ref} not extracted at {self.src}"
            return super().skip_reason(problem, meta)
        try:
            import nmfkit  # noqa: F401

            nmfkit.NMF  # noqa: B018
        except Exception as exc:  # the package under construction may not import yet
            return f"nmfkit.NMF not importable: {type(exc).__name__}: {exc}"
        return super().skip_reason(problem, meta)

    def load(self):
        import nmfkit  # noqa: F401

    def fit(self, Xl, W0, H0, problem, max_iter, hook=None):
        import nmfkit

        callback = None
        if hook is not None:
            def callback(iteration, W, H, loss):
                try:
                    hook(W, H)
                except StopTrace:
                    return True
                return None
        model = nmfkit.NMF(n_components=problem.k, init="custom", solver=self.solver,
                           beta_loss=problem.loss, tol=0.0, max_iter=max_iter,
                           random_state=0, callback=callback)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            W = model.fit_transform(Xl, W=W0, H=H0)
        return W, model.components_, int(model.n_iter_)


# ----------------------------------------------------------------------------- scikit-learn
class SklearnContender(Contender):
    library = "scikit-learn"
    trace_mode = "chain"

    def __init__(self, solver):
        self.solver = solver
        self.name = f"sklearn-{solver}"
        self.losses = (FROB,) if solver == "cd" else (FROB, KL)
        self.note = f"NMF(solver='{solver}', init='custom', tol=0)"

    def load(self):
        import sklearn.decomposition  # noqa: F401

    def fit(self, Xl, W0, H0, problem, max_iter, hook=None):
        from sklearn.decomposition import NMF

        model = NMF(n_components=problem.k, init="custom", solver=self.solver,
                    beta_loss=problem.loss, tol=0.0, max_iter=max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            W = model.fit_transform(Xl, W=W0, H=H0)
        return W, model.components_, int(model.n_iter_)


# ----------------------------------------------------------------------------- nimfa
class NimfaContender(Contender):
    library = "nimfa"
    losses = (FROB, KL)
    name = "nimfa"
    note = "Nmf (multiplicative updates), objective tested once at the end (test_conv=max_iter)"

    def skip_reason(self, problem, meta):
        m, n = meta["shape"]
        if meta["sparse"] and m * n > 5e8:
            return (f"nimfa forms the dense m x n residual V - WH for its objective "
                    f"({m * n * 8 / 2**30:.0f} GiB)")
        return super().skip_reason(problem, meta)

    def load(self):
        if not hasattr(np, "mat"):
            np.mat = np.asmatrix  # nimfa 1.4 uses np.mat, removed in NumPy 2
        import nimfa  # noqa: F401

    def fit(self, Xl, W0, H0, problem, max_iter, hook=None):
        import nimfa

        frob = problem.loss == FROB
        model = nimfa.Nmf(Xl, W=W0, H=H0, rank=problem.k, max_iter=max_iter,
                          update="euclidean" if frob else "divergence",
                          objective="fro" if frob else "div", test_conv=max_iter)
        if hook is not None:
            update = model.update

            def traced_update():
                update()
                hook(model.W, model.H)

            model.update = traced_update
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model()
        return fit.basis(), fit.coef(), int(fit.fit.n_iter)

    @staticmethod
    def to_numpy(A):
        return A.toarray() if sp.issparse(A) else np.asarray(A)


# ----------------------------------------------------------------------------- torchnmf
def _torch_input(X, sparse_ok: bool, dtype=None):
    import torch

    dtype = np.dtype(dtype or X.dtype)
    if sp.issparse(X):
        if not sparse_ok:
            return torch.from_numpy(X.toarray().astype(dtype, copy=False))
        C = X.tocoo()
        idx = torch.from_numpy(np.vstack([C.row, C.col]).astype(np.int64))
        vals = torch.from_numpy(C.data.astype(dtype, copy=False))
        return torch.sparse_coo_tensor(idx, vals, C.shape).coalesce()
    return torch.from_numpy(np.ascontiguousarray(X, dtype=dtype))


class TorchnmfContender(Contender):
    library = "torchnmf"
    losses = (FROB, KL)
    trace_mode = "chain"
    uses_torch = True
    name = "torchnmf"
    note = ("NMF.fit (multiplicative updates through autograd), tol=0; float32 (its "
            "parameters are always float32)")

    def load(self):
        import torchnmf.nmf  # noqa: F401

    def prepare(self, X, problem):
        self.load()
        return _torch_input(X, sparse_ok=True, dtype=np.float32)

    def fit(self, Xl, W0, H0, problem, max_iter, hook=None):
        import torch
        from torchnmf.nmf import NMF

        # torchnmf models V ~ H W^T with H (m, k) and W (n, k).
        model = NMF(W=torch.from_numpy(np.ascontiguousarray(H0.T, dtype=np.float32)),
                    H=torch.from_numpy(np.ascontiguousarray(W0, dtype=np.float32)))
        n_iter = model.fit(Xl, beta=2.0 if problem.loss == FROB else 1.0, tol=0.0,
                           max_iter=max_iter)
        with torch.no_grad():
            return model.H.detach(), model.W.detach().T, int(n_iter)


# ----------------------------------------------------------------------------- nmf-torch
class NmfTorchContender(Contender):
    library = "nmf-torch"
    uses_torch = True

    def __init__(self, algo):
        self.algo = algo
        self.name = f"nmftorch-{algo}"
        self.losses = (KL,) if algo == "mu-kl" else (FROB,)
        self.note = f"batch {algo.replace('-kl', '')}, tol=0; dense input" + (
            ", torch.cholesky shimmed" if algo == "bpp" else "")

    def skip_reason(self, problem, meta):
        m, n = meta["shape"]
        if meta["sparse"] and m * n > 5e8:
            return f"nmf-torch takes dense input only ({m * n * 8 / 2**30:.0f} GiB here)"
        return super().skip_reason(problem, meta)

    def load(self):
        import torch

        def _chol(A, upper=False):
            return torch.linalg.cholesky(A, upper=upper)

        torch.cholesky = _chol  # removed from recent torch; nmf-torch's bpp calls it
        import nmf.nmf_models  # noqa: F401

    def prepare(self, X, problem):
        self.load()
        return _torch_input(X, sparse_ok=False)

    def fit(self, Xl, W0, H0, problem, max_iter, hook=None):
        import torch
        from nmf.nmf_models import NMFBatchHALS, NMFBatchMU, NMFBatchNnlsBpp

        dtype = Xl.dtype
        common = dict(n_components=problem.k, init="random", tol=0.0, random_state=0,
                      alpha_W=0.0, l1_ratio_W=0.0, alpha_H=0.0, l1_ratio_H=0.0,
                      fp_precision=dtype, device_type="cpu", n_jobs=-1, max_iter=max_iter)
        if self.algo == "hals":
            model = NMFBatchHALS(beta_loss=2.0, hals_tol=0.0, hals_max_iter=1, **common)
        elif self.algo == "bpp":
            model = NMFBatchNnlsBpp(beta_loss=2.0, **common)
        else:
            model = NMFBatchMU(beta_loss=1.0, **common)
        # nmf-torch has no custom init: replace its initialiser with the shared W0, H0.
        # It models X ~ H W with H (m, k) and W (k, n).
        H_init = torch.from_numpy(np.array(W0, dtype=W0.dtype))
        W_init = torch.from_numpy(np.array(H0, dtype=H0.dtype))

        def _initialize_H_W(eps=1e-6):
            model.H, model.W = H_init.to(dtype), W_init.to(dtype)

        model._initialize_H_W = _initialize_H_W
        if hook is not None:
            update_W = model._update_W

            def traced_update_W():
                update_W()
                hook(model.H, model.W)

            model._update_W = traced_update_W
        model.fit(Xl)
        return model.H, model.W, int(getattr(model, "num_iters", max_iter))


# ----------------------------------------------------------------------------- registry
def all_contenders() -> dict[str, Contender]:
    cs = [NmfkitContender("auto"), NmfkitContender("hals"), SklearnContender("cd"),
          SklearnContender("mu"), NimfaContender(), TorchnmfContender(),
          NmfTorchContender("hals"), NmfTorchContender("bpp"), NmfTorchContender("mu-kl")]
    return {c.name: c for c in cs}


#: nmfkit[-solver]@<commit>: that commit's nmfkit (bench.py --baseline).
BASELINE_NAME = re.compile(r"(nmfkit(?:-([a-z]+))?)@([0-9a-f]{4,40})")


def get(name: str) -> Contender:
    """The contender of that name: one of all_contenders(), or nmfkit[-solver]@<sha>
    (its source in benchmarks/.cache/nmfkit-<sha>/src, from baseline.prepare)."""
    m = BASELINE_NAME.fullmatch(name)
    if m:
        import baseline

        return NmfkitContender(m[2] or "auto", ref=m[3], src=baseline.source_dir(m[3]))
    return all_contenders()[name]


DEFAULT = ["nmfkit", "sklearn-cd", "sklearn-mu", "nimfa", "torchnmf", "nmftorch-hals",
           "nmftorch-bpp", "nmftorch-mu-kl"]
