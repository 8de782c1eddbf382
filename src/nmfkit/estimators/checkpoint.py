"""Checkpoints of a running fit, and resuming from one.

``fit(X, checkpoint=path, checkpoint_every=N)`` writes the state of the fit every N
iterations; ``fit(X, resume=path)`` continues from the last state written.  The state is
what the next iteration needs and what the fitted attributes report: the current factors
(and S of a tri-factorization), the objective history (``loss_curve_`` and the stopping
rule's window continue from it), which restart is running, the best result of the
restarts already finished and their records (``restarts_``).

File: the model format's archive (:func:`nmfkit.estimators.persistence.write_archive`):
a NumPy ``.npz`` without pickle, with JSON metadata ``{"format": "nmfkit-checkpoint",
...}``, written to a temporary file and renamed over the last checkpoint, so a process
killed at any moment leaves either the previous checkpoint or the new one, whole.

A checkpoint belongs to one problem: the estimator's class and parameters (all but
``max_iter``, ``tol``, ``verbose`` and ``callback``, which a resumed fit may change, e.g.
to run longer) and a fingerprint of X (shape, stored entries, dtype, sum and sum of
squares).  Resuming with anything else is refused before any work, naming what differs.

What a resumed fit does not carry over is the solvers' internal state between
iterations (the extrapolation step, the float32 phase): they restart from the saved
factors as from a custom start.  Each is a descent method from there, so the fit ends at
the objective an uninterrupted fit reaches, up to the stopping rule's tolerance, not bit
for bit.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from .. import _backends
from . import persistence

FORMAT = "nmfkit-checkpoint"
#: Parameters a resumed fit may change.
MAY_CHANGE = ("max_iter", "tol", "verbose", "callback")


def data_fingerprint(X) -> dict:
    """Shape, stored entries, dtype and the sums of X (NaN, the mask, skipped): enough
    to tell a different matrix from the one a checkpoint was written for."""
    values = X.data if _backends.is_sparse(X) else np.asarray(X)
    stored = int(X.nnz) if _backends.is_sparse(X) else int(values.size)
    values = values.astype(np.float64, copy=False).ravel()
    return {"shape": [int(s) for s in X.shape], "stored": stored, "dtype": str(X.dtype),
            "sum": float(np.nansum(values)), "sum_of_squares": float(np.nansum(values * values))}


def _same_data(a, b) -> bool:
    if a["shape"] != b["shape"] or a["stored"] != b["stored"] or a["dtype"] != b["dtype"]:
        return False
    return all(np.isclose(a[key], b[key], rtol=1e-9, atol=0) for key in ("sum", "sum_of_squares"))


def problem_params(estimator) -> dict:
    """The estimator's parameters a checkpoint must agree on (JSON values)."""
    return {key: persistence._json_param(value)
            for key, value in estimator.get_params(deep=False).items() if key not in MAY_CHANGE}


@dataclass
class Saved:
    """A checkpoint as read back: the running restart's state, the finished restarts'."""

    path: str
    metadata: dict
    restart: int
    W: np.ndarray
    H: np.ndarray
    S: np.ndarray | None
    history: list
    runs: list
    #: The best finished restart: {"W", "H", "S", "history", "restart", "loss", "n_iter",
    #: "converged", "message", "divergence"}, or None.
    best: dict | None = None

    @property
    def iteration(self) -> int:
        return int(self.history[-1][0]) if self.history else 0


@dataclass
class Checkpointing:
    """How one fit checkpoints and what it resumes from (either may be None)."""

    path: str | None = None
    every: int = 10
    resume: Saved | None = None
    identity: dict = field(default_factory=dict)

    def check(self, X, *, n_restarts):
        """Before any work: the resumed checkpoint fits this X and these parameters."""
        fingerprint = data_fingerprint(X)
        self.identity["data"] = fingerprint
        saved = self.resume
        if saved is None:
            return
        meta = saved.metadata
        where = f"The checkpoint {saved.path!r}"
        if meta.get("class") != self.identity["class"]:
            raise ValueError(f"{where} was written by {meta.get('class')}, not "
                             f"{self.identity['class']}; resume it with that estimator.")
        if not _same_data(meta.get("data", {}), fingerprint):
            theirs = meta.get("data", {})
            raise ValueError(f"{where} was written for another matrix (shape "
                             f"{tuple(theirs.get('shape', ()))}, {theirs.get('stored')} stored "
                             f"entries, sum {theirs.get('sum')!r}; this X: shape "
                             f"{tuple(fingerprint['shape'])}, {fingerprint['stored']} stored "
                             f"entries, sum {fingerprint['sum']!r}); resume with the X it was "
                             "written for, or fit without resume=.")
        differ = sorted(key for key in set(meta.get("params", {})) | set(self.identity["params"])
                        if meta.get("params", {}).get(key) != self.identity["params"].get(key))
        if differ:
            shown = ", ".join(f"{key}={meta.get('params', {}).get(key)!r} there, "
                              f"{self.identity['params'].get(key)!r} here" for key in differ)
            raise ValueError(f"{where} was written with other parameters ({shown}); only "
                             f"{', '.join(MAY_CHANGE)} may change when resuming.")
        if saved.restart >= n_restarts:
            raise ValueError(f"{where} is at restart {saved.restart + 1} of a fit with more "
                             f"restarts than n_init={n_restarts}.")

    def due(self, iteration) -> bool:
        return self.path is not None and iteration % self.every == 0

    def write(self, *, restart, W, H, S, history, runs, best, best_restart, best_history):
        """Write the state atomically (see the module docstring): the running restart's
        factors and history, the finished restarts' records and the best of them (its
        result, index and history)."""
        from .._version import __version__

        arrays = {"W": _backends.to_numpy(W), "H": _backends.to_numpy(H),
                  "history": np.asarray(history, dtype=np.float64).reshape(-1, 3)}
        if S is not None:
            arrays["S"] = _backends.to_numpy(S)
        best_record = None
        if best is not None:
            result = best
            arrays["best/W"] = _backends.to_numpy(result.W)
            arrays["best/H"] = _backends.to_numpy(result.H)
            if result.S is not None:
                arrays["best/S"] = _backends.to_numpy(result.S)
            arrays["best/history"] = np.asarray(best_history, dtype=np.float64).reshape(-1, 3)
            best_record = {"restart": int(best_restart), "loss": float(result.loss), "n_iter": int(result.n_iter),
                           "converged": bool(result.converged), "message": result.message,
                           "divergence": None if result.divergence is None
                           else float(result.divergence)}
        metadata = {"format": FORMAT, "format_version": persistence.FORMAT_VERSION,
                    "nmfkit_version": __version__, **self.identity, "restart": int(restart),
                    "runs": runs, "best": best_record}
        arrays["__metadata__"] = np.frombuffer(
            json.dumps(metadata).encode("utf-8"), dtype=np.uint8)
        persistence.write_archive(self.path, arrays)


def read(path) -> Saved:
    """A checkpoint written by :meth:`Checkpointing.write`; damaged, foreign or newer files
    are refused with the model loader's messages."""
    path = os.fspath(path)
    metadata, arrays = persistence.read_archive(path, FORMAT, "checkpoint",
                                                "fit(..., checkpoint=path)")
    broken = f"The checkpoint {path!r} is incomplete or inconsistent"
    for name in ("W", "H", "history"):
        if name not in arrays:
            raise ValueError(f"{broken}: it has no {name!r} array; fit again with checkpoint=.")
    W, H, history = arrays["W"], arrays["H"], arrays["history"]
    if (W.ndim != 2 or H.ndim != 2 or history.ndim != 2 or history.shape[1] != 3
            or len(history) == 0 or W.dtype.kind != "f" or H.dtype.kind != "f"):
        raise ValueError(f"{broken}: its arrays have the wrong shapes or types; fit again "
                         "with checkpoint=.")
    if not (np.isfinite(W).all() and np.isfinite(H).all() and (W >= 0).all() and (H >= 0).all()):
        raise ValueError(f"{broken}: its factors are not finite and non-negative; fit again "
                         "with checkpoint=.")
    best = None
    if metadata.get("best") is not None:
        if any(f"best/{name}" not in arrays for name in ("W", "H", "history")):
            raise ValueError(f"{broken}: it records a best restart without its factors.")
        best = {**metadata["best"], "W": arrays["best/W"], "H": arrays["best/H"],
                "S": arrays.get("best/S"),
                "history": [(int(i), float(s), float(v)) for i, s, v in arrays["best/history"]]}
    restart = metadata.get("restart")
    if not isinstance(restart, int) or restart < 0:
        raise ValueError(f"{broken}: its restart index {restart!r} is not a count.")
    return Saved(path=path, metadata=metadata, restart=restart, W=W, H=H, S=arrays.get("S"),
                 history=[(int(i), float(s), float(v)) for i, s, v in history],
                 runs=list(metadata.get("runs") or []), best=best)
