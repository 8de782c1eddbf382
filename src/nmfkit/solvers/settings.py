"""Tuning settings of the solvers, as one frozen object passed in with each solve.

Nothing about how a fit runs is read from module state: the estimator builds a
:class:`Settings` from its ``solver_options`` parameter and hands it to the solver in
:class:`nmfkit.solvers.SolverParams`, so two fits in one process never influence each
other.  The defaults are the values the solvers were tuned with; a setting changes
only the fit it is given to.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from numbers import Integral, Real


@dataclass(frozen=True)
class Settings:
    """Tuning settings of a solve (``NMF(solver_options={...})`` sets them by name).

    Parameters
    ----------
    extrapolate : bool or None, default=None
        Extrapolate between iterations with restarts (Ang & Gillis 2019).  None: the
        solver's default (see :func:`nmfkit.solvers.available`).
    max_inner : int or None, default=None
        Cap on the inner sweeps per update of the solvers that repeat cheap sweeps with
        the same products (HALS, MU, PGD; Gillis & Glineur 2012).  None: the cost model
        decides (at most 20).
    inner_alpha : float, default=0.5
        Gillis & Glineur's budget: up to ``1 + inner_alpha·ρ`` sweeps per update, ρ the
        estimated cost of the products over that of one sweep.
    inner_delta : float, default=0.1
        Inner sweeps stop when one changes the factor by less than this fraction of the
        first sweep's change.
    mixed_precision : bool or None, default=None
        Fit a float64 X in float32 first and finish in float64
        (:mod:`nmfkit.solvers.precision`).  None: where the solver supports it and X is
        large enough (``precision_min_entries``); False: never; True: whatever the size.
    precision_min_entries : int, default=2**18
        Smallest X (m·n entries) that gets the float32 phase by default.
    precision_switch_tol : float, default=1e-5
        The float32 phase ends when the objective falls by less than this, relative, per
        iteration (averaged over the monitor's window).
    precision_noise_factor : float, default=10.0
        The float32 objective's rounding is estimated as this factor times
        ε₃₂·½‖X‖²/√(k·min(m, n)); the phase also ends when progress falls below it.
    precision_sparse_max_nnz : int, default=1_000_000
        A sparse X takes the float32 phase only below this many stored entries.
    newton_dense_min_fill : float or None, default=None
        KL Newton-CD sweeps a dense X row by row when at least this fraction of it is
        non-zero, else by its stored entries (above 1: always by stored entries).  None:
        0.3 with float32 scratch, 0.4 with float64.
    newton_float32_scratch_min : int, default=2**20
        Dense X of at least this many entries is swept by KL Newton-CD in float32
        scratch (float32 X always is).
    newton_gram_max_ratio : float, default=8.0
        Newton-CD's least squares on the observed entries of a dense X is swept from
        each row's Gram matrix (one product per sweep, then k x k work per row) when the
        unobserved entries times k number at most this many times the observed ones;
        otherwise entry by entry (0: always entry by entry).
    mu_candidate_floor : float, default=1e-6
        Extrapolated MU factors are floored at this fraction of their mean, not at 0
        (an entry MU has taken to zero never leaves it).
    split_min_nnz : int, default=1_000_000
        A sparse X with at least this many stored entries is multiplied on all cores.
    kernel_split_min_work : int, default=500_000
        A compiled Newton-CD sweep of at least this much work (entries x components) is
        split over the kernels' threads; a smaller one runs on the calling thread.
    lean_min_bytes : int, default=16 MiB
        With a sparse X multiplied on all cores, a W of at least this many bytes is
        updated in place, block by block (the fit holds one copy of W, not four).
    lean_block_bytes : int, default=1 MiB
        Bytes of W per row block of that in-place update.
    """

    extrapolate: bool | None = None
    max_inner: int | None = None
    inner_alpha: float = 0.5
    inner_delta: float = 0.1
    mixed_precision: bool | None = None
    precision_min_entries: int = 1 << 18
    precision_switch_tol: float = 1e-5
    precision_noise_factor: float = 10.0
    precision_sparse_max_nnz: int = 1_000_000
    newton_dense_min_fill: float | None = None
    newton_float32_scratch_min: int = 1 << 20
    newton_gram_max_ratio: float = 8.0
    mu_candidate_floor: float = 1e-6
    split_min_nnz: int = 1_000_000
    kernel_split_min_work: int = 500_000
    lean_min_bytes: int = 16 << 20
    lean_block_bytes: int = 1 << 20

    @classmethod
    def from_options(cls, options) -> "Settings":
        """Settings from ``solver_options`` (None, a dict of field names, or Settings).

        Raises
        ------
        ValueError
            For a name that is not a setting (the message lists the valid ones) or a
            value of the wrong kind.
        """
        if options is None:
            return cls()
        if isinstance(options, cls):
            return options
        if not isinstance(options, dict):
            raise TypeError(f"solver_options must be a dict of setting names to values or "
                            f"None; got {type(options).__name__}.")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - set(fields))
        if unknown:
            raise ValueError(f"solver_options has unknown setting(s) {', '.join(map(repr, unknown))}; "
                             f"valid settings: {', '.join(fields)} "
                             "(see nmfkit.solvers.Settings).")
        for name, value in options.items():
            _check(name, value, cls.__dataclass_fields__[name].default)
        return cls(**options)


def _check(name, value, default):
    """Raise for a setting whose value is not of its default's kind (or out of range)."""
    if name in ("extrapolate", "mixed_precision"):
        ok = value is None or isinstance(value, bool)
        kind = "True, False or None"
    elif name in ("max_inner",):
        ok = value is None or (isinstance(value, Integral) and not isinstance(value, bool)
                               and value >= 1)
        kind = "an integer >= 1 or None"
    elif name == "newton_dense_min_fill":
        ok = value is None or (isinstance(value, Real) and not isinstance(value, bool)
                               and value >= 0)
        kind = "a number >= 0 (above 1: never) or None"
    elif isinstance(default, int):
        ok = isinstance(value, Integral) and not isinstance(value, bool) and value >= 0
        kind = "an integer >= 0"
    else:
        ok = isinstance(value, Real) and not isinstance(value, bool) and value >= 0
        kind = "a number >= 0"
    if not ok:
        raise ValueError(f"solver_options[{name!r}] must be {kind}; got {value!r}.")
