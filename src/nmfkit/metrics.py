"""Measures of factors: how sparse they are.

``sparseness`` is Hoyer's measure (Hoyer 2004, "Non-negative matrix factorization with
sparseness constraints", JMLR 5, eq. 1):

    sparseness(x) = (√n − ‖x‖₁ / ‖x‖₂) / (√n − 1),

1 for a vector with a single non-zero entry, 0 for a vector whose entries are all
equal in magnitude, and in between otherwise.
"""
from __future__ import annotations

import numpy as np

from . import _backends

__all__ = ["sparseness"]


def sparseness(M, axis=None):
    """Hoyer's sparseness of a vector, or of each row or column of a matrix.

    Parameters
    ----------
    M : array-like or sparse matrix
        Vector or matrix (a factor W or H).
    axis : {None, 0, 1}, default=None
        None: M as one vector (all entries).  0: one value per column (use it for the
        columns of W).  1: one value per row (the rows of H, the parts).

    Returns
    -------
    float or ndarray
        In [0, 1].  A vector of zeros has no direction; its sparseness is reported as
        1.0 (nothing is active).  A vector of length 1 is 1.0.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.metrics import sparseness
    >>> float(sparseness([0.0, 0.0, 3.0, 0.0]))
    1.0
    >>> float(sparseness([1.0, 1.0, 1.0, 1.0]))
    0.0
    >>> sparseness(np.array([[1.0, 0.0], [1.0, 1.0]]), axis=1).round(6).tolist()
    [1.0, 0.0]
    """
    if _backends.is_sparse(M):
        M = M.toarray() if np.prod(M.shape) <= 10**7 else M
    A = np.abs(np.asarray(_backends.to_numpy(M) if not isinstance(M, (list, tuple)) else M,
                          dtype=np.float64))
    if A.ndim == 1 or axis is None:
        A = A.reshape(1, -1)
        axis_, squeeze = 1, True
    elif axis in (0, 1):
        axis_, squeeze = axis, False
    else:
        raise ValueError(f"axis must be None, 0 or 1, got {axis!r}.")
    n = A.shape[axis_]
    l1 = A.sum(axis=axis_)
    l2 = np.sqrt((A * A).sum(axis=axis_))
    if n <= 1:
        out = np.ones_like(l1)
    else:
        root = np.sqrt(n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (root - l1 / np.where(l2 > 0, l2, 1)) / (root - 1)
        out = np.where(l2 > 0, np.clip(out, 0.0, 1.0), 1.0)
    return float(out[0]) if squeeze else out
