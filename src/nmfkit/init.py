"""Initial factors W0 (m x k) and H0 (k x n).

The schemes and their random streams follow scikit-learn's, so a given
``random_state`` starts both libraries from the same point:

- ``'random'``: |N(0, 1)| scaled by √(mean(X)/k);
- ``'nndsvd'``: non-negative double SVD (Boutsidis & Gallopoulos 2008), zeros kept;
- ``'nndsvda'``: NNDSVD with zeros filled by mean(X) (better for HALS/CD);
- ``'nndsvdar'``: NNDSVD with zeros filled by small random values (better for MU).
"""
from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.extmath import randomized_svd

from . import _backends


def resolve_init(init, n_components, shape):
    """scikit-learn's rule for ``init=None``/``'auto'``: NNDSVDa when k ≤ min(m, n)."""
    if init in (None, "auto"):
        return "nndsvda" if n_components <= min(shape) else "random"
    return init


def _mean(X) -> float:
    if _backends.is_sparse(X):
        return float(X.sum()) / (X.shape[0] * X.shape[1])
    return float(X.mean())


def initialize(X, n_components, init, random_state=None, eps=1e-6):
    """Return ``(W0, H0)`` in X's dtype for the named scheme (``init`` already resolved)."""
    m, n = X.shape
    k = n_components
    dtype = X.dtype
    rng = check_random_state(random_state)

    if init == "random":
        avg = np.sqrt(_mean(X) / k)
        H = np.abs(avg * rng.standard_normal(size=(k, n)).astype(dtype, copy=False))
        W = np.abs(avg * rng.standard_normal(size=(m, k)).astype(dtype, copy=False))
        return W, H

    U, S, Vt = randomized_svd(X, k, random_state=random_state)
    W = np.zeros((m, k), dtype=np.float64)
    H = np.zeros((k, n), dtype=np.float64)
    # The leading singular pair can be taken non-negative (Perron–Frobenius).
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0, :] = np.sqrt(S[0]) * np.abs(Vt[0, :])
    if k > 1:
        x, y = U[:, 1:], Vt[1:, :].T
        xpos, ypos = np.maximum(x, 0), np.maximum(y, 0)
        xneg, yneg = np.abs(np.minimum(x, 0)), np.abs(np.minimum(y, 0))
        nxp, nyp = np.linalg.norm(xpos, axis=0), np.linalg.norm(ypos, axis=0)
        nxn, nyn = np.linalg.norm(xneg, axis=0), np.linalg.norm(yneg, axis=0)
        mpos, mneg = nxp * nyp, nxn * nyn
        # Keep, for each pair, the sign pattern carrying more of the singular value.
        use_pos = mpos > mneg
        u = np.where(use_pos, xpos / np.where(nxp > 0, nxp, 1), xneg / np.where(nxn > 0, nxn, 1))
        v = np.where(use_pos, ypos / np.where(nyp > 0, nyp, 1), yneg / np.where(nyn > 0, nyn, 1))
        sigma = np.where(use_pos, mpos, mneg)
        lbd = np.sqrt(S[1:] * sigma)
        W[:, 1:] = lbd * u
        H[1:, :] = (lbd * v).T
    W[W < eps] = 0
    H[H < eps] = 0

    if init == "nndsvda":
        avg = _mean(X)
        W[W == 0] = avg
        H[H == 0] = avg
    elif init == "nndsvdar":
        avg = _mean(X)
        W[W == 0] = np.abs(avg * rng.standard_normal(size=int((W == 0).sum())) / 100)
        H[H == 0] = np.abs(avg * rng.standard_normal(size=int((H == 0).sum())) / 100)
    return W.astype(dtype, copy=False), H.astype(dtype, copy=False)
