"""NMF algorithms as pure functions, and the one registry of what each supports.

Every solver is ``solve(X, W, H, *, params, monitor) -> SolverResult``, in a module of
its own, registered once below.  ``available()`` is the table users and the
documentation read; ``resolve`` is the only place that decides which solver runs.
"""
from .registry import (
    ANY,
    DataStats,
    Solver,
    available,
    backend_of,
    get,
    names,
    register,
    resolve,
    run,
    unregister,
)
from .result import SolverParams, SolverResult
from .settings import Settings

__all__ = ["ANY", "DataStats", "Settings", "Solver", "SolverParams", "SolverResult", "available",
           "backend_of", "get", "names", "register", "resolve", "run", "unregister"]

_ALL_BACKENDS = ("numpy", "torch", "cupy")


def _mu_extrapolates(beta, masked):
    # The Frobenius MU runs on the alternating driver, where extrapolation did not pay;
    # the β-divergence updates extrapolate, except on observed entries only, where
    # extrapolated runs started faster but ended above plain ones.
    return beta != 2.0 and not masked


# solver='auto' tries these in ``auto`` order: orthogonal NMF has its own algorithm;
# masked least squares on a mostly-zero X with few unobserved entries (held-out entries
# of a sparse matrix) to EM, whose iterations cost a sparse fit's; KL and other masked
# least squares to Newton-CD, which reaches MU's objective several times sooner; the
# Frobenius loss to HALS; any other β to MU.
register(Solver(
    name="onmf", solve="nmfkit.solvers.onmf:solve", auto=0, orthogonal=True,
    penalties=False, backends=_ALL_BACKENDS,
    description="orthogonal NMF by ONMF-EM: one non-zero per column of H (row of W)",
    reference="Pompili, Gillis, Absil & Glineur 2014"))
register(Solver(
    name="em", solve="nmfkit.solvers.em:solve", auto=1, auto_when="nmfkit.solvers.em:pays",
    auto_note="X mostly zeros, at most a quarter of it unobserved",
    losses=(), masked_losses=(2.0,), sparse=False,
    description="least squares on observed entries: HALS on X with its unobserved "
                "entries filled from WH",
    reference="Zhang, Wang, Ford & Makedon 2006"))
register(Solver(
    name="newton-cd", solve="nmfkit.solvers.newton_cd:solve", auto=2, answers_to=("hals",),
    losses=(1.0,), masked_losses=(1.0, 2.0), extrapolate=True,
    description="coordinate descent with Newton steps (KL), weighted HALS on observed entries",
    reference="Hsieh & Dhillon 2011; Ho 2008"))
register(Solver(
    name="hals", solve="nmfkit.solvers.hals:solve", auto=3, aliases=("cd",),
    backends=_ALL_BACKENDS, extrapolate=True, mixed_precision=True,
    description="exact coordinate descent (HALS) with inner sweeps and extrapolation",
    reference="Cichocki & Phan 2009; Gillis & Glineur 2012; Ang & Gillis 2019"))
register(Solver(
    name="mu", solve="nmfkit.solvers.mu:solve", auto=4, losses=ANY, masked_losses=ANY,
    backends=_ALL_BACKENDS, extrapolate=_mu_extrapolates,
    description="multiplicative updates; any β with the MM exponent, never increases",
    reference="Lee & Seung 2001; Févotte & Idier 2011"))
register(Solver(
    name="als", solve="nmfkit.solvers.als:solve", backends=_ALL_BACKENDS,
    description="least squares then clipping (the teaching algorithm; may oscillate)"))
register(Solver(
    name="anls", solve="nmfkit.solvers.anls:solve", backends=_ALL_BACKENDS, extrapolate=True,
    description="exact alternating non-negative least squares, block principal pivoting",
    reference="Kim & Park 2011"))
register(Solver(
    name="pgd", solve="nmfkit.solvers.pgd:solve", backends=_ALL_BACKENDS,
    description="projected gradient with an Armijo line search",
    reference="Lin 2007"))

# Symmetric NMF, A ≈ HHᵀ (nmfkit.SymmetricNMF).
register(Solver(
    name="sym-hals", problem="symmetric", solve="nmfkit.solvers.symmetric:solve_hals", auto=0,
    penalties=False, backends=_ALL_BACKENDS,
    description="symmetric NMF: two factors pulled together, HALS sweeps on each",
    reference="Zhu, Li, Liu & Li 2018"))
register(Solver(
    name="sym-anls", problem="symmetric", solve="nmfkit.solvers.symmetric:solve_anls",
    penalties=False, backends=_ALL_BACKENDS,
    description="symmetric NMF: two factors pulled together, exact NNLS on each",
    reference="Kuang, Yun & Park 2015"))

# Orthogonal tri-factorization, X ≈ F S Gᵀ (nmfkit.TriNMF); the graph form A ≈ H S Hᵀ
# runs only when TriNMF fits a symmetric A (never by 'auto').
register(Solver(
    name="tri-mu", problem="tri", solve="nmfkit.solvers.tri:solve", auto=0,
    penalties=False, backends=_ALL_BACKENDS,
    description="orthogonal tri-factorization: multiplicative updates with square roots",
    reference="Ding, Li, Peng & Park 2006"))
register(Solver(
    name="tri-mu-symmetric", problem="tri", solve="nmfkit.solvers.tri:solve_symmetric",
    penalties=False, backends=_ALL_BACKENDS,
    description="orthogonal tri-factorization of a symmetric A ≈ H S Hᵀ (graphs)",
    reference="Ding, Li, Peng & Park 2006"))
