"""One objective function for every contender, computed in float64 on the returned W, H.

Frobenius: f = 1/2 ||X - WH||_F^2 from the trace identity
    ||X||^2 - 2 <W^T X, H> + <W^T W, H H^T>
which never forms WH (nor densifies a sparse X). Kullback-Leibler (generalised):
    D(X || WH) = sum_{x_ij > 0} x_ij log(x_ij / (WH)_ij) - sum x + sum WH,
with (WH)_ij evaluated only at the stored / non-zero entries and sum WH = (1^T W)(H 1).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

_ROWS = 4096  # row block for dense float64 products: bounded temporaries


def sq_norm(X) -> float:
    if sp.issparse(X):
        d = X.data.astype(np.float64)
        return float(d @ d)
    total = 0.0
    for s in range(0, X.shape[0], _ROWS):
        b = X[s:s + _ROWS].astype(np.float64, copy=False)
        total += float(np.einsum("ij,ij->", b, b))
    return total


def WtX(X, W) -> np.ndarray:
    """W^T X in float64, (k, n), without a float64 copy of X."""
    W = np.asarray(W, dtype=np.float64)
    if sp.issparse(X):
        Xc = X.tocsr()
        if Xc.dtype != np.float64:
            Xc = Xc.astype(np.float64)
        return np.asarray((Xc.T @ W).T)
    out = np.zeros((W.shape[1], X.shape[1]))
    for s in range(0, X.shape[0], _ROWS):
        out += W[s:s + _ROWS].T @ X[s:s + _ROWS].astype(np.float64, copy=False)
    return out


def frobenius(X, W, H, X_sq: float | None = None) -> float:
    """1/2 ||X - WH||_F^2 in float64."""
    W = np.asarray(W, dtype=np.float64)
    H = np.asarray(H, dtype=np.float64)
    if X_sq is None:
        X_sq = sq_norm(X)
    cross = float(np.einsum("ij,ij->", WtX(X, W), H))
    gram = float(np.einsum("ij,ij->", W.T @ W, H @ H.T))
    return 0.5 * max(X_sq - 2.0 * cross + gram, 0.0)


def kullback_leibler(X, W, H) -> float:
    W = np.asarray(W, dtype=np.float64)
    H = np.asarray(H, dtype=np.float64)
    if sp.issparse(X):
        C = X.tocoo()
        rows, cols, x = C.row, C.col, C.data.astype(np.float64)
    else:
        rows, cols = np.nonzero(X)
        x = np.asarray(X[rows, cols], dtype=np.float64)
    keep = x > 0
    rows, cols, x = rows[keep], cols[keep], x[keep]
    Ht = np.ascontiguousarray(H.T)
    y = np.empty_like(x)
    step = 1_000_000
    for s in range(0, x.size, step):
        y[s:s + step] = np.einsum("ij,ij->i", W[rows[s:s + step]], Ht[cols[s:s + step]])
    y = np.maximum(y, np.finfo(np.float64).tiny)
    total_wh = float(W.sum(axis=0) @ H.sum(axis=1))
    return float(x @ np.log(x / y) - x.sum() + total_wh)


def objective(X, W, H, loss: str, X_sq: float | None = None) -> float:
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(H))):
        return float("nan")
    if loss == "frobenius":
        return frobenius(X, W, H, X_sq)
    if loss == "kullback-leibler":
        return kullback_leibler(X, W, H)
    raise ValueError(loss)


def relative_error(X_sq: float, obj: float) -> float:
    """||X - WH|| / ||X|| from f = 1/2 ||X - WH||^2."""
    return float(np.sqrt(2.0 * obj / X_sq)) if X_sq > 0 else float("nan")
