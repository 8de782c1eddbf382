"""A dask array X as the distributed driver sees it: row blocks, checked and summed once.

X (m x n) is cut into row blocks, Dask's row chunks of X (column chunks are merged, so
each block holds whole rows).  One pass over the blocks, at the start, checks the values
(the same rules and messages as for an in-memory X) and sums what every fit needs:
‖X‖², ΣX, the stored entries, and for the KL loss Σ x log x.  Then X is either
persisted (held in the workers' memory, when it fits in a share of it) or left as it is,
to be read again from its source (zarr, ``.npz`` shards) block by block in each
iteration.  Either way its blocks keep their lineage: a block lost with a worker is
recomputed from the source.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import blocks
from .cluster import Runner, literal, task, tree_sum

#: X is persisted when its blocks take at most this share of the workers' memory (the
#: rest holds W, the products, and Dask's own spill margin).
PERSIST_MEMORY_SHARE = 0.5


def is_dask(X) -> bool:
    """True for a dask array: what :class:`nmfkit.NMF` fits on the cluster.

    Checked without importing Dask, so that nmfkit runs without it.

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> from nmfkit.distributed import is_dask
    >>> is_dask(da.ones((4, 3), chunks=2)), is_dask(np.ones((4, 3)))
    (True, False)
    """
    module = type(X).__module__
    return module.startswith("dask.array") or module.startswith("dask_expr.array") or (
        module.startswith("dask") and hasattr(X, "chunks") and hasattr(X, "to_delayed"))


class DaskMatrix:
    """A checked, row-partitioned dask array X, and the sums a fit needs.

    Parameters
    ----------
    X : dask.array.Array (m, n)
        Dense chunks (NumPy) or sparse chunks (scipy.sparse, or pydata ``sparse``).
    runner : Runner or None
        Where the work runs (:class:`nmfkit.distributed.cluster.Runner`).
    persist : bool or None
        Hold X in the workers' memory; None: when it takes at most
        :data:`PERSIST_MEMORY_SHARE` of it.
    beta : float
        The loss the fit will use (2: Frobenius).  KL adds Σ x log x to the sums; β ≤ 0
        refuses zeros, as for an in-memory X.
    who : str
        The estimator named in error messages.

    Attributes
    ----------
    shape : (m, n)
    dtype : numpy dtype (float64, or float32 kept)
    row_chunks : tuple of int
        Rows of each block.
    offsets : list of int
        First row of each block.
    blocks : list of dask.delayed.Delayed
        The blocks (m_p x n), canonical: C-ordered NumPy or CSR with summed duplicates.
    sparse : bool
    nnz : int
        Stored entries (sparse), m·n (dense).
    squared_norm, total : float
        ‖X‖²_F and ΣX, in float64.
    xlogx : float or None
        Σ x log x over the positive entries (KL only).
    block_x_sums : list of (float, float) or None
        Each block's (Σ x log x, Σ x) (KL only).
    persisted : bool
    """

    def __init__(self, X, runner=None, *, persist=None, beta=2.0, who="NMF"):
        self.runner = runner if runner is not None else Runner()
        self.who = who
        self.beta = float(beta)
        X = _as_float_matrix(X, who)
        if X.numblocks[1] > 1:
            X = X.rechunk({1: -1})  # whole rows per block
        self.array = X
        self.shape = tuple(int(s) for s in X.shape)
        self.row_chunks = tuple(int(c) for c in X.chunks[0])
        self.offsets = [0, *np.cumsum(self.row_chunks)[:-1].tolist()]
        self._raw = list(X.to_delayed()[:, 0])
        self._prepare(np.dtype(X.dtype))
        self.persisted = False
        dense_bytes = self.shape[0] * self.shape[1] * self.dtype.itemsize
        sparse_meta = _sparse_meta(X)
        memory = None
        if persist or (persist is None and not sparse_meta):
            memory = self.runner.memory()
            if persist or dense_bytes <= PERSIST_MEMORY_SHARE * memory:
                self._persist()  # read the source once, then check and sum from memory
        self._summarize()
        if self.dtype == np.float32 and not _float32_holds(self.largest, self.nnz):
            self._prepare(np.dtype(np.float64))  # as for an in-memory X (as_matrix)
            if self.persisted:
                self._persist()
        if not self.persisted and self.sparse and persist is not False:
            memory = self.runner.memory() if memory is None else memory
            if persist or self.nbytes <= PERSIST_MEMORY_SHARE * memory:
                self._persist()

    # ------------------------------------------------------------------ set up
    def _prepare(self, dtype):
        self.dtype = dtype
        self.blocks = [task(blocks.prepare)(b, dtype.str) for b in self._raw]

    def _persist(self):
        self.blocks = self.runner.persist(*self.blocks)
        self.persisted = True

    def _summarize(self):
        m, n = self.shape
        want_xlogx = self.beta == 1.0
        want_zeros = self.beta <= 0
        parts = self.runner.compute(*[
            task(blocks.summary)(b, offset, want_xlogx, want_zeros)
            for b, offset in zip(self.blocks, self.offsets)])
        kinds = {p["sparse"] for p in parts}
        if len(kinds) > 1:
            raise TypeError(f"X passed to {self.who} mixes dense and sparse chunks; give one "
                            "kind (e.g. X.map_blocks(scipy.sparse.csr_matrix)).")
        self.sparse = kinds.pop()
        _raise_for_bad_values(parts, self.who)
        if want_zeros:
            _raise_for_zeros(parts, self.beta, self.sparse)
        self.nnz = int(sum(p["nnz"] for p in parts))
        self.squared_norm = float(sum(p["sumsq"] for p in parts))
        self.total = float(sum(p["sum"] for p in parts))
        self.nonzero = int(sum(p["nonzero"] for p in parts))
        self.block_x_sums = [(p["xlogx"], p["sum"]) for p in parts] if want_xlogx else None
        self.xlogx = float(sum(p["xlogx"] for p in parts)) if want_xlogx else None
        self.largest = max(p["max"] for p in parts)
        self.nbytes = (self.nnz * (self.dtype.itemsize + 4) + 8 * (m + len(parts))
                       if self.sparse else m * n * self.dtype.itemsize)

    # ------------------------------------------------------------------ views
    @property
    def mean(self) -> float:
        """mean(X) over all m·n entries (what the initialisations scale by)."""
        return self.total / (self.shape[0] * self.shape[1])

    def split_rows(self, A):
        """Row blocks of an in-memory (m x k) array, as delayed literals aligned with X."""
        return [literal(np.ascontiguousarray(A[a:a + r]))
                for a, r in zip(self.offsets, self.row_chunks)]

    def divergence(self, W, H, beta):
        """D_β(X | WH) for W (dask or in-memory, m x k) and H on the client, summed over
        the row blocks where they live (e.g. for the factors an interrupted fit keeps)."""
        H_key = literal(np.asarray(H, dtype=self.dtype))
        parts = [task(blocks.divergence)(X_p, W_p, H_key, float(beta))
                 for X_p, W_p in zip(self.blocks, self.align(W))]
        return float(self.runner.compute(tree_sum(parts))[0]["divergence"])

    def align(self, W):
        """Row blocks of a dask or in-memory (m x k) array W, aligned with X's blocks."""
        if is_dask(W):
            W = W.rechunk((self.row_chunks, -1))
            return list(W.to_delayed()[:, 0])
        return self.split_rows(np.asarray(W))


def _float32_holds(largest, size) -> bool:
    """:func:`nmfkit._validation.float32_holds` from X's largest entry and its count."""
    from .._validation import FLOAT32_SAFE_MAX_SQUARED_SUM, FLOAT32_SAFE_MIN_MAX

    return largest == 0.0 or (largest >= FLOAT32_SAFE_MIN_MAX
                              and largest * largest * size <= FLOAT32_SAFE_MAX_SQUARED_SUM)


def _sparse_meta(X) -> bool:
    meta = getattr(X, "_meta", None)
    return meta is not None and (sp.issparse(meta) or type(meta).__module__.startswith("sparse"))


def _as_float_matrix(X, who):
    """X as a 2-D dask array of float64 (float32 kept), or a clear error."""
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D dask array for {who}, got a {X.ndim}D array of shape "
                         f"{X.shape}; reshape it to (n_samples, n_features).")
    if any(np.isnan(c) for chunks in X.chunks for c in chunks):
        raise ValueError(f"X passed to {who} has unknown chunk sizes (from a filter or a "
                         "dataframe); call X.compute_chunk_sizes() first.")
    m, n = X.shape
    if m == 0 or n == 0:
        raise ValueError(f"Found array with {m} sample(s) and {n} feature(s) (shape={X.shape}) "
                         f"while {who} needs at least 1 of each.")
    kind = np.dtype(X.dtype).kind
    if kind == "c":
        raise ValueError(f"Complex data not supported by {who}: X has dtype {X.dtype}; pass "
                         "the real part, or the magnitude np.abs(X).")
    if kind not in "fiub":
        raise ValueError(f"X passed to {who} has dtype {X.dtype}; {who} needs numbers "
                         "(X.astype(float)).")
    if X.dtype not in (np.float64, np.float32):
        X = X.astype(np.float64)
    return X


def _raise_for_bad_values(parts, who):
    """The messages of :func:`nmfkit._validation.check_values`, with the positions of the
    first bad entry in the whole matrix."""
    for kind, advice in (("inf", "remove or replace them"),
                         ("nan", "impute them, or pass missing='mask' to fit on the observed "
                                 "entries only")):
        count = sum(p[kind] for p in parts)
        if count:
            r, c = next(p[kind + "_at"] for p in parts if p[kind])
            name = "infinite" if kind == "inf" else "NaN"
            raise ValueError(f"Input X contains {count} {name} value(s) (first at row {r}, "
                             f"column {c}); {who} needs finite values — {advice}.")
    count = sum(p["neg"] for p in parts)
    if count:
        r, c, value = next(p["neg_at"] for p in parts if p["neg"])
        raise ValueError(
            f"Negative values in data passed to {who} (X): {count} negative "
            f"{'entry' if count == 1 else 'entries'} (first at row {r}, column {c}, value "
            f"{value:.6g}); {who} needs X >= 0 — shift or clip the data, or use "
            "missing='mask' for unknown entries.")


def _raise_for_zeros(parts, beta, sparse):
    """β ≤ 0 is undefined where X = 0 (:func:`nmfkit._validation.check_data_for_loss`)."""
    count = sum(p["zeros"] for p in parts)
    if not count:
        return
    r, c = next(p["zero_at"] for p in parts if p["zeros"])
    name = "itakura-saito" if beta == 0 else f"beta_loss={beta}"
    raise ValueError(
        f"{name} divergence is undefined where X = 0, and X has {count} zero entries (first "
        f"at row {r}, column {c}). Add a small offset (e.g. X + 1e-6 * X.max()), use "
        "beta_loss > 0 such as 'kullback-leibler'"
        + (", or missing='mask' with the zeros unstored." if sparse else "."))


def from_npz(paths, *, n_features=None):
    """A row-partitioned dask array from ``.npz`` shards, one block per file, read lazily.

    Parameters
    ----------
    paths : sequence of str or path-like
        Files written by :func:`scipy.sparse.save_npz` (sparse shards) or by
        ``numpy.savez(path, X=block)`` (dense shards), each holding consecutive rows of
        X, in order.
    n_features : int or None
        Number of columns; read from the first shard when None.

    Returns
    -------
    dask.array.Array
        Sparse (CSR) chunks for sparse shards, NumPy chunks for dense ones.  Only each
        file's shape is read here; the data are read when a fit needs them.

    Examples
    --------
    >>> import os, tempfile
    >>> import scipy.sparse as sp
    >>> from nmfkit.distributed import from_npz
    >>> folder = tempfile.mkdtemp()
    >>> paths = []
    >>> for i in range(3):
    ...     paths.append(os.path.join(folder, f"part-{i}.npz"))
    ...     sp.save_npz(paths[-1], sp.random(4, 5, density=0.5, format="csr", random_state=i))
    >>> X = from_npz(paths)
    >>> X.shape, X.chunks[0]
    ((12, 5), (4, 4, 4))
    """
    import dask.array as da

    paths = [str(p) for p in paths]
    if not paths:
        raise ValueError("from_npz needs at least one .npz file.")
    pieces = []
    for path in paths:
        shape, dtype, sparse = _npz_header(path)
        if n_features is None:
            n_features = shape[1]
        if shape[1] != n_features:
            raise ValueError(f"The shards passed to from_npz differ in width: {path} has "
                             f"{shape[1]} columns, the first {n_features}; each shard holds "
                             "whole rows of one matrix.")
        meta = sp.csr_matrix((0, 0), dtype=dtype) if sparse else np.empty((0, 0), dtype)
        pieces.append(da.from_delayed(task(blocks.read_npz)(path), shape=shape,
                                      dtype=dtype, meta=meta))
    return da.concatenate(pieces, axis=0)


def _npz_header(path):
    """(shape, dtype, sparse) of a shard, from the headers of its members (no data read)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        names = [name[:-4] for name in archive.namelist() if name.endswith(".npy")]

        def header(name):
            with archive.open(name + ".npy") as member:
                version = np.lib.format.read_magic(member)
                read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                        else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read(member)
                return shape, dtype

        if {"format", "shape", "data"} <= set(names):  # scipy.sparse.save_npz
            with np.load(path, allow_pickle=False) as loaded:
                shape = tuple(int(s) for s in loaded["shape"])
            return shape, header("data")[1], True
        if len(names) != 1:
            raise ValueError(f"{path} is neither a scipy.sparse.save_npz file nor an archive "
                             f"of one array (it holds {names}); write dense shards with "
                             "numpy.savez(path, X=block).")
        shape, dtype = header(names[0])
        if len(shape) != 2:
            raise ValueError(f"{path} holds a {len(shape)}D array; shards are 2D row blocks.")
        return tuple(shape), dtype, False
