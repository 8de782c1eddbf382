"""Array backends: the one place that knows which array library holds a factor.

Solvers are written once against the array-API namespace returned by
:func:`namespace` (NumPy, PyTorch, CuPy); the few operations the standard lacks, or
that NumPy does faster another way, are small functions here.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from array_api_compat import array_namespace


def is_sparse(X) -> bool:
    """True for a scipy.sparse matrix or array."""
    return sp.issparse(X)


_NAMESPACES: dict = {}


def namespace(*arrays):
    """Array-API namespace of the dense arrays among ``arrays`` (sparse ``X`` is skipped).

    Memoised by the arguments' types (which alone decide it): solvers ask once per
    update, and asking ``array_namespace`` afresh, or even sorting out which arguments
    are dense, is a visible part of a small fit's time.  Data-matrix wrappers
    (:class:`nmfkit._data.RowSplit`) mark themselves with ``is_data_matrix`` and are
    skipped like sparse matrices.
    """
    key = tuple(map(type, arrays))
    xp = _NAMESPACES.get(key)
    if xp is None:
        dense = [a for a in arrays if a is not None and not is_sparse(a)
                 and not getattr(a, "is_data_matrix", False)]
        xp = array_namespace(*dense) if dense else array_namespace(np.empty(0))
        _NAMESPACES[key] = xp
    return xp


def all_numpy(*arrays) -> bool:
    """True when every argument is a plain NumPy array: the case for which some
    operations have a compiled NumPy implementation (:mod:`nmfkit.solvers._kernels`)."""
    for a in arrays:
        if type(a) is not np.ndarray:
            return False
    return True


def to_numpy(A) -> np.ndarray:
    """Host NumPy copy (or view) of a dense array of any backend."""
    if isinstance(A, np.ndarray):
        return A
    if hasattr(A, "detach"):  # a torch tensor, possibly on a GPU
        return A.detach().cpu().numpy()
    if type(A).__module__.split(".")[0] == "cupy":  # by module: pandas objects have .get too
        return A.get()
    return np.asarray(A)


def contiguous(A):
    """Row-major copy of A when A is a strided NumPy view (rows of factors are swept)."""
    if isinstance(A, np.ndarray):
        return np.ascontiguousarray(A)
    return A


def as_float32(X):
    """X (dense of any backend, or scipy.sparse) as a float32 copy."""
    if is_sparse(X):
        return X.astype(np.float32)
    xp = namespace(X)
    return xp.astype(X, xp.float32)


def like(A, U):
    """``A`` in ``U``'s dtype (no copy when it already is)."""
    if type(A) is np.ndarray and type(U) is np.ndarray:
        return A if A.dtype == U.dtype else A.astype(U.dtype)
    return namespace(U).astype(A, U.dtype, copy=False)


#: NumPy's ``maximum`` against a scalar is several times slower than against an array
#: of zeros (its scalar loop is not vectorised), so large arrays are clipped against a
#: shared read-only zero array, this many values at a time.
CLIP_CHUNK = 1 << 16
#: Below this many values the scalar form is as fast (no slicing).
CLIP_MIN = 1024
_ZEROS: dict = {}


def clip_nonnegative_(A):
    """``A ← max(A, 0)`` in place where the backend allows it; returns the result.

    NaN stays NaN, as with ``np.maximum``.
    """
    if isinstance(A, np.ndarray):
        if A.size < CLIP_MIN or A.dtype.kind != "f" or not A.flags.c_contiguous:
            return np.maximum(A, 0, out=A)
        zeros = _ZEROS.get(A.dtype)
        if zeros is None:
            zeros = np.zeros(CLIP_CHUNK, A.dtype)
            zeros.flags.writeable = False
            zeros = _ZEROS.setdefault(A.dtype, zeros)
        flat = A.reshape(-1)
        if flat.size <= CLIP_CHUNK:
            np.maximum(flat, zeros[:flat.size], out=flat)
            return A
        for a in range(0, flat.size, CLIP_CHUNK):
            part = flat[a:a + CLIP_CHUNK]
            np.maximum(part, zeros[:part.size], out=part)
        return A
    if hasattr(A, "clamp_"):  # torch
        return A.clamp_(min=0)
    return namespace(A).maximum(A, 0)


def eye_like(k, A):
    """The k x k identity in A's namespace, dtype and device."""
    xp = namespace(A)
    return xp.eye(k, dtype=A.dtype, device=device(A))


def device(A):
    """The device an array lives on (array-API ``device``); new arrays go there too."""
    from array_api_compat import device as array_device

    return array_device(A)


def copy(A):
    """A copy of a dense array of any backend."""
    xp = namespace(A)
    return xp.asarray(A, copy=True)


def transpose(X):
    """Xᵀ for dense or sparse X (a view where the library allows it)."""
    return X.T
