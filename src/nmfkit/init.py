"""Initial factors W0 (m x k) and H0 (k x n).

The schemes and their random streams follow scikit-learn's, so a given
``random_state`` starts both libraries from the same point:

- ``'random'``: |N(0, 1)| scaled by √(mean(X)/k);
- ``'nndsvd'``: non-negative double SVD (Boutsidis & Gallopoulos 2008), zeros kept;
- ``'nndsvda'``: NNDSVD with zeros filled by mean(X) (better for HALS/CD);
- ``'nndsvdar'``: NNDSVD with zeros filled by small random values (better for MU);
- ``'k-means++'``, what ``'auto'`` stands for in orthogonal NMF (not a value of NMF's
  ``init``): a feasible ONMF start whose clusters are seeded by k-means++ and improved by
  local search (:func:`kmeans_plusplus`).
"""
from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.extmath import randomized_svd

from . import _backends, _data

#: Local-search steps of the k-means++ seeding, per component.  Lattanzi & Sohler (2019)
#: prove O(k log log k) steps enough for a constant-factor approximation in expectation;
#: each step is one product of X with a few candidate centres, as a k-means++ step is.
SWAPS_PER_COMPONENT = 5


def resolve_init(init, n_components, shape, orthogonal=None):
    """The scheme ``init=None``/``'auto'`` stands for.

    scikit-learn's rule, NNDSVDa when k ≤ min(m, n), else random; with ``orthogonal``
    set, ``'k-means++'`` while there are at least k rows ('W') or columns ('H') to
    cluster.  The SVD's leading pair is the mean direction of the data, so every point
    starts closer (in cosine) to that component than to any other: ONMF-EM started there
    merges clusters, as k-means does from a poor seeding.
    """
    if init in (None, "auto"):
        if orthogonal is not None and n_components <= shape[0 if orthogonal == "W" else 1]:
            return "k-means++"
        return "nndsvda" if n_components <= min(shape) else "random"
    return init


def _mean(X) -> float:
    if _backends.is_sparse(X):
        return float(X.sum()) / (X.shape[0] * X.shape[1])
    return float(X.mean())


def initialize(X, n_components, init, random_state=None, eps=1e-6, orthogonal=None):
    """Return ``(W0, H0)`` in X's dtype for the named scheme (``init`` already resolved).

    ``orthogonal`` ('W' or 'H') tells ``'k-means++'`` which side it clusters (rows of X
    by default).
    """
    m, n = X.shape
    k = n_components
    dtype = X.dtype
    if init == "k-means++":
        return kmeans_plusplus(X, k, orthogonal or "W", random_state=random_state)
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


def kmeans_plusplus(X, n_components, orthogonal="H", random_state=None):
    """A feasible orthogonal-NMF start ``(W0, H0)`` from seeded clusters.

    ONMF-H clusters the columns x_j of X: with unit centres u_c, column j goes to the
    centre maximising u_cᵀx_j and costs ‖x_j‖² − (u_cᵀx_j)², its share of ‖X − WH‖²
    (Pompili et al. 2014, section 3).  The centres are columns of X chosen by greedy
    k-means++ on that cost (Arthur & Vassilvitskii 2007: draw candidates with
    probability proportional to the cost left, keep the one that lowers the total most;
    the cost is ‖x_j‖²(1 − cos²), the spherical k-means distance 1 − cos weighted by
    the column's share of ‖X‖²), then improved by the local search of Lattanzi & Sohler
    (2019): swap a drawn candidate for the centre whose loss costs least, when that
    lowers the total.  k-means++ alone often puts two centres in one large cluster and
    none in a small one; a swap moves the spare centre.

    The start is the ONMF iterate of these centres: H0 holds each column's coefficient
    u_cᵀx_j on its cluster's row (one non-zero per column, rows of unit norm, so
    H0H0ᵀ = I) and W0 the centres scaled to match, so W0H0 projects each column on its
    centre.  ``orthogonal='W'`` clusters the rows of X in the same way (W0ᵀW0 = I).

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (m, n), non-negative
    n_components : int
        k, at most the number of columns ('H') or rows ('W') of X.
    orthogonal : {'H', 'W'}
        The factor that is orthogonal: 'H' clusters the columns of X, 'W' the rows.
    random_state : int, RandomState instance or None

    Returns
    -------
    W0 : ndarray of shape (m, k)
    H0 : ndarray of shape (k, n)

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.init import kmeans_plusplus
    >>> X = np.array([[1.0, 0.1], [2.0, 0.1], [0.1, 1.0], [0.2, 3.0]])
    >>> W0, H0 = kmeans_plusplus(X, 2, orthogonal="W", random_state=0)
    >>> W0.argmax(axis=1).tolist() in ([0, 0, 1, 1], [1, 1, 0, 0])
    True
    >>> bool(np.allclose(W0.T @ W0, np.eye(2)))
    True
    """
    if orthogonal == "W":
        H0t, W0t = kmeans_plusplus(_backends.transpose(X), n_components, "H", random_state)
        return np.ascontiguousarray(W0t.T), np.ascontiguousarray(H0t.T)
    rng = check_random_state(random_state)
    m, n = X.shape
    k = n_components
    norms2 = np.asarray(_data.column_squared_norms(X), dtype=np.float64)
    trials = 2 + int(np.log(k))  # Arthur & Vassilvitskii's, as scikit-learn's k-means++

    def draw(cost, size):
        total = float(cost.sum())
        if total <= 0:  # every column exactly represented: any column will do
            return rng.randint(n, size=size)
        return np.minimum(np.searchsorted(np.cumsum(cost), rng.uniform(size=size) * total),
                          n - 1)

    def scores2(indices):
        """Unit candidate centres x_j/‖x_j‖ (m x t) and their (u_cᵀx)² (t x n)."""
        C = X[:, indices]
        C = C.toarray() if _backends.is_sparse(C) else np.asarray(C)
        norms = np.sqrt(norms2[indices])
        C = (C / np.where(norms > 0, norms, 1)).astype(X.dtype, copy=False)
        return C, np.asarray(_data.Wt_times_X(C, X), dtype=np.float64) ** 2

    U = np.zeros((m, k), dtype=X.dtype)
    S2 = np.zeros((k, n))  # (u_cᵀx_j)² for every centre c and column j
    explained = np.zeros(n)  # max_c (u_cᵀx_j)²: what the centres so far explain
    for c in range(k):
        C, T = scores2(draw(np.maximum(norms2 - explained, 0), trials))
        best = int(np.argmax(np.maximum(T, explained).sum(axis=1)))
        U[:, c], S2[c] = C[:, best], T[best]
        explained = np.maximum(explained, T[best])

    # Local search (Lattanzi & Sohler 2019, Algorithm 1), with the greedy choice among
    # candidates of k-means++.  Swapping centre c for a candidate y leaves column j with
    # max((yᵀx_j)², q_j) when c is not its centre, max((yᵀx_j)², q2_j) when it is (q, q2:
    # the largest and second largest (u_cᵀx_j)²).
    columns = np.arange(n)
    top, q, second, q2 = _two_largest(S2)
    for _ in range(SWAPS_PER_COMPONENT * k if k > 1 else 0):
        C, T = scores2(draw(np.maximum(norms2 - q, 0), trials))
        gain, swap = 0.0, None
        for i, t in enumerate(T):
            kept = np.maximum(t, q)
            lost = np.bincount(top, weights=kept - np.maximum(t, q2), minlength=k)
            change = float(kept.sum() - q.sum()) - lost
            c = int(np.argmax(change))
            if change[c] > gain:
                gain, swap = change[c], (c, i)
        if swap is None:
            continue
        c, i = swap
        U[:, c], S2[c] = C[:, i], T[i]
        top, q, second, q2 = _swap_two_largest(S2, c, top, q, second, q2)

    # The ONMF iterate of these centres (Pompili et al. 2014, step 2 before the power step).
    S = np.asarray(_data.Wt_times_X(U, X), dtype=np.float64)
    labels = np.argmax(S, axis=0)  # = top, up to ties
    H = np.zeros((k, n))
    H[labels, columns] = S[labels, columns]
    scale = np.linalg.norm(H, axis=1)
    H /= np.where(scale > 0, scale, 1)[:, None]
    return (U * scale).astype(X.dtype, copy=False), H.astype(X.dtype, copy=False)


def _two_largest(S2):
    """Per column of S2 (k x n): the rows of its largest and second largest entries, and
    those entries (the second is 0 for k = 1)."""
    k, n = S2.shape
    columns = np.arange(n)
    if k == 1:
        zeros = np.zeros(n, dtype=np.intp)
        return zeros, S2[0].copy(), zeros, np.zeros(n)
    pair = np.argpartition(-S2, 1, axis=0)[:2]
    flip = S2[pair[1], columns] > S2[pair[0], columns]
    top = np.where(flip, pair[1], pair[0])
    second = np.where(flip, pair[0], pair[1])
    return top, S2[top, columns], second, S2[second, columns]


def _swap_two_largest(S2, c, top, q, second, q2):
    """``_two_largest`` after row c of S2 changed: only the columns whose largest or
    second largest was row c are searched again; the others compare the new entry."""
    t = S2[c]
    again = (top == c) | (second == c)
    top, q, second, q2 = top.copy(), q.copy(), second.copy(), q2.copy()
    above = ~again & (t > q)
    between = ~again & ~above & (t > q2)
    second[above], q2[above] = top[above], q[above]
    top[above], q[above] = c, t[above]
    second[between], q2[between] = c, t[between]
    if again.any():
        j = np.flatnonzero(again)
        top[j], q[j], second[j], q2[j] = _two_largest(S2[:, j])
    return top, q, second, q2
