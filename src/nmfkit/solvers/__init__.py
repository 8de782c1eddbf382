"""NMF algorithms as pure functions: solve(X, W, H, *, params, monitor) -> SolverResult."""

from importlib import import_module

#: solver name -> module holding ``solve``; 'cd' is scikit-learn's name for HALS.
SOLVERS = {"hals": "hals", "cd": "hals", "mu": "mu", "als": "als", "anls": "anls", "pgd": "pgd",
           # internal names the estimator picks (β = 1, missing='mask', orthogonal):
           "newton-cd": "newton_cd", "onmf": "onmf"}


def get_solver(name):
    """The ``solve`` function of the named solver."""
    return import_module(f"{__name__}.{SOLVERS[name]}").solve
