"""The solver registry: one record per solver, and the one place that picks a solver.

Each :class:`Solver` says what its solve function fits (losses, masked data,
orthogonality, penalties, sparse input, array backends) and its defaults
(extrapolation, mixed precision).  :func:`resolve` turns the user's ``solver=`` and the
problem into a record, or explains, from the records, why the combination cannot be
fitted and which solvers can; ``solver='auto'`` takes the first record in
:attr:`Solver.auto` order that supports the problem.  :func:`run` runs a record's
solve function with its defaults filled in and guarantees the result carries the exact
divergence of the pair it returns.  The estimators' parameter checks, the CLI's
``--solver`` choices and the documentation's solver table all read this registry.

Adding a solver is one module with a ``solve(X, W, H, *, params, monitor)`` function
and one :func:`register` call (see ``docs/architecture.md``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Callable

from .._validation import BETA_BY_NAME

ANY = "any"
"""``losses=ANY``: a solver that fits every β."""
BACKENDS = ("numpy", "torch", "cupy")
"""The array backends a solver may declare (the array library of X and the factors)."""
PROBLEMS = {
    "nmf": "X ≈ WH",
    "symmetric": "A ≈ HHᵀ",
    "tri": "X ≈ F S Gᵀ",
}
"""The factorizations a solver may fit (:attr:`Solver.problem`), and their models."""
_LOSS_NAMES = {beta: name for name, beta in BETA_BY_NAME.items()}


@dataclass(frozen=True)
class Solver:
    """What one solver fits, and how to run it.

    Parameters
    ----------
    name : str
        The name ``solver=`` takes (and ``solver_`` reports).
    solve : callable or str
        ``solve(X, W, H, *, params, monitor) -> SolverResult``, or ``"module:function"``
        imported on first use (so that ``import nmfkit`` stays quick).
    problem : str
        The factorization it fits, a key of :data:`PROBLEMS`: ``'nmf'`` (X ≈ WH, the
        :class:`nmfkit.NMF` estimator), ``'symmetric'`` (A ≈ HHᵀ, called with W = H and
        H = Hᵀ; :class:`nmfkit.SymmetricNMF`) or ``'tri'`` (X ≈ F S Gᵀ, called with
        W = F and H = Gᵀ, returning S in :attr:`SolverResult.S`; :class:`nmfkit.TriNMF`).
        Each estimator sees only the solvers of its problem.
    description : str
        One line for the solver table.
    aliases : tuple of str
        Other names ``solver=`` accepts for it (``'cd'`` for HALS, scikit-learn's name).
    answers_to : tuple of str
        Names of other solvers this one stands in for where they cannot fit the problem:
        Newton-CD answers to ``'hals'`` (and so ``'cd'``) for KL and masked data.
    losses : 'any' or tuple of float
        β values fitted on fully observed X (2 = Frobenius, 1 = KL, 0 = IS).
    masked_losses : 'any' or tuple of float
        β values fitted with ``missing='mask'``; empty: no masked fits.
    orthogonal : bool
        Fits orthogonal NMF (``orthogonal='W'|'H'``), and only that.
    penalties : bool
        Supports the alpha_W / alpha_H penalties.
    sparse : bool
        Takes scipy.sparse X without densifying it.
    backends : tuple of str
        Array libraries of X and the factors it runs on (:data:`BACKENDS`).
    extrapolate : bool or callable
        Default of ``Settings.extrapolate``: a bool, or ``f(beta, masked) -> bool``.
    mixed_precision : bool
        Runs a float64 fit in float32 first (:mod:`nmfkit.solvers.precision`).
    auto : int or None
        Rank for ``solver='auto'`` (lower first); None: only when named.
    auto_when : callable, str or None
        For ``solver='auto'`` only: ``f(stats) -> bool`` on the :class:`DataStats` of X
        (or ``"module:function"``), whether auto takes this solver for it; None: always
        (when the record fits the problem).  Unknown statistics (``stats=None``): not
        taken.  A named solver runs whatever the statistics.
    auto_note : str
        With ``auto_when``: when it takes the solver, in words, for :func:`available`.
    reference : str
        The paper the algorithm comes from.
    """

    name: str
    solve: Callable | str
    problem: str = "nmf"
    description: str = ""
    aliases: tuple = ()
    answers_to: tuple = ()
    losses: Any = (2.0,)
    masked_losses: Any = ()
    orthogonal: bool = False
    penalties: bool = True
    sparse: bool = True
    backends: tuple = ("numpy",)
    extrapolate: Any = False
    mixed_precision: bool = False
    auto: int | None = None
    auto_when: Callable | str | None = None
    auto_note: str = ""
    reference: str = ""

    def solve_function(self):
        """The solve callable (imported on first use when given as a string)."""
        if callable(self.solve):
            return self.solve
        module, _, function = self.solve.partition(":")
        return getattr(import_module(module), function)

    def auto_takes(self, stats) -> bool:
        """Whether ``solver='auto'`` may take this record for X of these statistics."""
        if self.auto_when is None or stats is _EVERY_X:
            return True
        if stats is None:
            return False
        when = self.auto_when
        if not callable(when):
            module, _, function = when.partition(":")
            when = getattr(import_module(module), function)
        return bool(when(stats))

    def fits_loss(self, beta, masked) -> bool:
        losses = self.masked_losses if masked else self.losses
        return losses == ANY or float(beta) in tuple(float(b) for b in losses)

    def default_extrapolate(self, beta, masked) -> bool:
        if callable(self.extrapolate):
            return bool(self.extrapolate(beta, masked))
        return bool(self.extrapolate)


@dataclass(frozen=True)
class DataStats:
    """What a solver's :attr:`Solver.auto_when` may ask of X, measured by the estimator.

    Attributes
    ----------
    unobserved : float
        Fraction of X's m·n entries that are unobserved (0 unless ``missing='mask'``).
    nonzero : float
        Fraction of X's m·n entries that are observed and non-zero.
    """

    unobserved: float = 0.0
    nonzero: float = 1.0


#: Statistics under which every ``auto_when`` holds: what :func:`available` asks with.
_EVERY_X = object()

_REGISTRY: dict = {}


def register(solver: Solver, *, replace=False) -> Solver:
    """Add a solver to the registry (``NMF(solver=name)`` can then use it).

    Parameters
    ----------
    solver : Solver
    replace : bool, default=False
        Replace a registered solver of the same name; otherwise a name (or alias)
        already taken raises ValueError.

    Returns
    -------
    Solver
        The record, as registered.
    """
    if not isinstance(solver, Solver):
        raise TypeError(f"register() takes a nmfkit.solvers.Solver record; got "
                        f"{type(solver).__name__}.")
    if not solver.name or solver.name == "auto":
        raise ValueError(f"a solver cannot be named {solver.name!r}.")
    if solver.problem not in PROBLEMS:
        raise ValueError(f"solver {solver.name!r} declares problem={solver.problem!r}; "
                         f"valid: {', '.join(PROBLEMS)}.")
    unknown = set(solver.backends) - set(BACKENDS)
    if unknown:
        raise ValueError(f"solver {solver.name!r} declares unknown backend(s) {sorted(unknown)}; "
                         f"valid: {', '.join(BACKENDS)}.")
    taken = {n: s.name for s in _REGISTRY.values() for n in (s.name, *s.aliases)
             if s.name != solver.name or not replace}
    clash = [n for n in (solver.name, *solver.aliases) if n in taken]
    if clash:
        raise ValueError(f"solver name {clash[0]!r} is already registered (by "
                         f"{taken[clash[0]]!r}); pass replace=True to replace it.")
    _REGISTRY[solver.name] = solver
    return solver


def unregister(name) -> None:
    """Remove a registered solver (e.g. one a test registered)."""
    if name not in _REGISTRY:
        raise KeyError(f"no solver named {name!r} is registered.")
    del _REGISTRY[name]


def _of(problem):
    return [s for s in _REGISTRY.values() if problem is None or s.problem == problem]


def get(name, problem=None) -> Solver:
    """The record of a solver by name or alias (of ``problem``'s solvers, when given)."""
    for solver in _of(problem):
        if name == solver.name or name in solver.aliases:
            return solver
    where = f" for {PROBLEMS[problem]}" if problem else ""
    raise ValueError(f"solver={name!r} is not a solver nmfkit knows{where}; valid: "
                     f"{_choices(problem)}.")


def names(problem="nmf") -> tuple:
    """Every string ``solver=`` accepts for ``problem`` (a key of :data:`PROBLEMS`):
    ``'auto'``, each solver's name, its aliases."""
    out = ["auto"]
    for solver in _of(problem):
        out += [solver.name, *solver.aliases]
    return tuple(out)


def _choices(problem=None) -> str:
    parts = ["'auto'"]
    for s in _of(problem):
        parts.append(f"'{s.name}'" + "".join(f" (= '{a}')" for a in s.aliases))
    return ", ".join(parts)


def _loss_text(losses) -> str:
    if losses == ANY:
        return "any β"
    if not losses:
        return "-"
    return ", ".join(_LOSS_NAMES.get(float(b), f"β={float(b):g}") for b in losses)


def available():
    """The registered solvers as a table.

    Returns
    -------
    pandas.DataFrame
        One row per solver (index ``solver``), with the factorization it fits, its
        aliases, the losses it fits
        (fully observed and with ``missing='mask'``), whether it fits orthogonal NMF,
        takes penalties and sparse input, its array backends, its defaults, when
        ``solver='auto'`` picks it, and what it is.

    Examples
    --------
    >>> import nmfkit
    >>> table = nmfkit.solvers.available()
    >>> "hals" in table.index and table.loc["hals", "aliases"] == "cd"
    True
    """
    import pandas as pd

    rows = []
    for s in _REGISTRY.values():
        extrapolate = s.extrapolate if not callable(s.extrapolate) else "depends on the loss"
        rows.append({
            "solver": s.name,
            "problem": PROBLEMS[s.problem],
            "aliases": ", ".join(s.aliases),
            "losses": _loss_text(s.losses),
            "masked losses": _loss_text(s.masked_losses),
            "orthogonal": s.orthogonal,
            "penalties": s.penalties,
            "sparse": s.sparse,
            "backends": ", ".join(s.backends),
            "extrapolation": extrapolate,
            "mixed precision": s.mixed_precision,
            "auto": "-" if s.auto is None else _auto_text(s),
            "description": s.description,
        })
    return pd.DataFrame(rows).set_index("solver")


def _auto_text(solver) -> str:
    """When 'auto' picks this solver, in words (from the records ranked before it)."""
    if solver.orthogonal:
        return "orthogonal NMF"
    if solver.problem != "nmf":
        first = min((s.auto for s in _of(solver.problem) if s.auto is not None), default=None)
        return "always" if solver.auto == first else "-"
    wins = []
    for masked in (False, True):
        for beta in (2.0, 1.0, 0.0, 0.5, 1.5):
            try:
                chosen = resolve("auto", beta=beta, masked=masked,
                                 stats=_EVERY_X if solver.auto_when else None)
            except ValueError:
                continue
            if chosen.name == solver.name:
                wins.append((beta, masked))
    full = [b for b, m in wins if not m]
    masked = [b for b, m in wins if m]
    text = []
    if full:
        text.append("other β" if solver.losses == ANY and len(full) > 2 else _loss_text(full))
    if masked:
        text.append("masked " + ("other β" if solver.masked_losses == ANY and len(masked) > 2
                                 else _loss_text(masked)))
    if text and solver.auto_note:
        text[-1] += f" ({solver.auto_note})"
    return "; ".join(text) or "-"


def backend_of(*arrays) -> str:
    """'numpy', 'torch' or 'cupy': the array library of the given (dense) arrays."""
    for a in arrays:
        module = type(a).__module__.split(".")[0]
        if module == "torch":
            return "torch"
        if module == "cupy" or module == "cupyx":
            return "cupy"
    return "numpy"


def _problem_text(beta, masked, orthogonal):
    loss = _LOSS_NAMES.get(float(beta), float(beta))
    text = f"beta_loss={loss!r}"
    if masked:
        text += ", missing='mask'"
    if orthogonal:
        text += f", orthogonal={orthogonal!r}"
    return text


def _why_not(solver, beta, masked, orthogonal, penalized, sparse, backend, who=None,
             stand_ins=()):
    """Why ``solver`` cannot fit the problem (a clause naming the unmet need), or None;
    ``who`` names the solver as the user asked for it; ``stand_ins``, when given, are the
    solvers that name runs (the named one first): the losses it is said to fit are theirs."""
    who = f"solver={(who or solver.name)!r}"
    if bool(orthogonal) != solver.orthogonal:
        if orthogonal:
            return (f"orthogonal={orthogonal!r} is fitted by its own algorithm, which keeps "
                    f"the factor exactly orthogonal; {who} cannot keep the constraint")
        return f"{who} fits orthogonal NMF only (pass orthogonal='W' or 'H')"
    if not solver.fits_loss(beta, masked):
        losses = _losses_of(stand_ins or (solver,), masked)
        if losses == ANY:  # a stand-in fits this β: it failed for another reason
            losses = _losses_of((solver,), masked)
        if masked and not losses:
            return (f"missing='mask' needs a solver that fits observed entries only; "
                    f"{who} fits every entry")
        if not masked and not losses:
            return (f"{who} fits the observed entries only: pass missing='mask', with NaN "
                    "at the unobserved entries")
        if tuple(float(b) for b in losses) == (2.0,):
            return f"{who} fits the Frobenius loss only" + (" with missing='mask'" if masked else "")
        return (f"{who} fits {_loss_text(losses)} only" + (" with missing='mask'" if masked else "")
                + f", not beta_loss={_LOSS_NAMES.get(float(beta), float(beta))!r}")
    if penalized and not solver.penalties:
        return (f"{who} takes no alpha_W/alpha_H penalty" + (
            " (the orthogonality constraint already makes the factor sparse: one non-zero "
            "per column)" if solver.orthogonal else "") + "; set them to 0")
    if sparse and not solver.sparse:
        if masked:  # X.toarray() would make the unstored (unobserved) entries zeros
            return (f"{who} needs dense X, with NaN at the unobserved entries; for a "
                    "sparse X use solver='auto', which fits it without densifying it")
        return f"{who} needs dense X; pass X.toarray() if it fits in memory"
    if backend not in solver.backends:
        return f"{who} runs on {', '.join(solver.backends)} arrays only, not {backend}"
    return None


def _losses_of(solvers, masked):
    """The losses any of ``solvers`` fits (ANY if one fits every β), in their order."""
    out = []
    for s in solvers:
        losses = s.masked_losses if masked else s.losses
        if losses == ANY:
            return ANY
        out += [float(b) for b in losses if float(b) not in out]
    return tuple(out)


def resolve(solver="auto", *, problem="nmf", beta=2.0, masked=False, orthogonal=None,
            penalized=False, sparse=False, backend="numpy", stats=None) -> Solver:
    """The solver that runs for ``solver=`` on this problem.

    Only solvers of ``problem`` (a key of :data:`PROBLEMS`) are considered.  A named
    solver (or alias) runs if it supports the problem; otherwise a solver that answers
    to that name and does runs (Newton-CD for ``'hals'``/``'cd'`` on KL or masked
    data).  ``'auto'`` takes the first supporting solver in ``auto`` rank whose
    :attr:`Solver.auto_when` accepts ``stats`` (a :class:`DataStats` of X, or None).

    Raises
    ------
    ValueError
        Naming what the chosen solver cannot do and which solvers can.
    """
    kind = problem
    problem = (beta, masked, orthogonal, penalized, sparse, backend)
    if solver == "auto":
        candidates = sorted((s for s in _of(kind) if s.auto is not None
                             and s.auto_takes(stats)), key=lambda s: s.auto)
    else:
        named = get(solver, kind)
        candidates = [named] + [s for s in _of(kind) if named.name in s.answers_to]
    reasons = []
    for candidate in candidates:
        reason = _why_not(candidate, *problem, who=None if solver == "auto" else solver,
                          stand_ins=() if solver == "auto" else candidates)
        if reason is None:
            return candidate
        reasons.append((candidate, reason))
    able = [s for s in _of(kind) if _why_not(s, *problem) is None]
    if solver == "auto":
        # Explain with the candidate of the right kind (orthogonal or not).
        same_kind = [r for c, r in reasons if c.orthogonal == bool(orthogonal)] or \
            [r for _, r in reasons]
        reason = same_kind[0] if same_kind else "no registered solver fits it"
    else:
        # The last stand-in got furthest (Newton-CD for 'hals' on masked data).
        reason = reasons[-1][1]
    hint = ""
    if able:
        offered = [f"'{s.name}'" for s in able]
        text = offered[0] if len(offered) == 1 else ", ".join(offered[:-1]) + " or " + offered[-1]
        if solver != "auto" and any(s.auto is not None for s in able):
            text += " (or solver='auto')"
        hint = f"; {_problem_text(beta, masked, orthogonal)} needs solver={text}"
    elif solver != "auto":
        hint = ". Use solver='auto'" if orthogonal else ""
    raise ValueError(reason + hint + ".")


def run(solver: Solver, X, W, H, *, params, monitor):
    """Run a registered solver: its extrapolation default filled into
    ``params.settings``, its float32 phase where it has one
    (:func:`nmfkit.solvers.precision.float32_first` decides whether X gets it), and the
    exact divergence of the returned pair measured when the solver did not report it."""
    from ..objectives import beta_divergence
    from .precision import float32_first

    if params.settings.extrapolate is None:
        params = dataclasses.replace(params, settings=dataclasses.replace(
            params.settings, extrapolate=solver.default_extrapolate(params.beta, params.missing)))
    solve = solver.solve_function()
    if solver.mixed_precision:
        result = float32_first(solve, X, W, H, params=params, monitor=monitor)
    else:
        result = solve(X, W, H, params=params, monitor=monitor)
    if result.divergence is None:
        W = result.W if result.S is None else result.W @ result.S
        result.divergence = beta_divergence(X, W, result.H, params.beta, missing=params.missing)
    return result
