"""Matrices read a block of rows at a time, for fits larger than memory.

A *row stream* is an iterable of row chunks — dense NumPy arrays or
``scipy.sparse.csr_matrix`` blocks, all with the same number of columns — whose shape
is known.  Iterating it again reads the rows again, from the start, in the same order.
:class:`nmfkit.MiniBatchNMF` fits one (``fit``, ``fit_transform``, ``partial_fit``) and
transforms one in bounded memory: a chunk, a mini-batch and the factors.

Readers:

- :func:`npy`: a ``.npy`` file, memory-mapped (``np.load(mmap_mode="r")``);
- :func:`npz_shards`: a folder of sparse ``.npz`` shards (``scipy.sparse.save_npz``),
  read one shard at a time; :func:`save_npz_shards` writes them;
- :func:`csv`: a numeric CSV file, parsed by pandas a chunk at a time;
- :func:`zarr`: a 2-D zarr array (needs ``pip install zarr``);
- :func:`from_array`: an in-memory matrix cut into chunks;
- :func:`from_iterable`: any re-iterable collection of chunks (a list, or a function
  returning a fresh iterator each time it is called).

Examples
--------
>>> import numpy as np
>>> from nmfkit import stream
>>> X = np.arange(12.0).reshape(6, 2)
>>> rows = stream.from_array(X, chunk_rows=4)
>>> rows.shape, [chunk.shape for chunk in rows]
((6, 2), [(4, 2), (2, 2)])
>>> [(start, batch.shape[0]) for start, batch in stream.batches(rows, 3)]
[(0, 3), (3, 3)]
"""
from __future__ import annotations

import glob
import importlib
import math
import os
import re
import zipfile
from collections.abc import Iterable, Iterator

import numpy as np
import scipy.sparse as sp

from . import _validation

__all__ = ["RowStream", "NpyStream", "NpzShardStream", "CsvStream", "ZarrStream",
           "ArrayStream", "IterableStream", "npy", "npz_shards", "csv", "zarr", "from_array",
           "from_iterable", "save_npz_shards", "batches", "is_stream", "as_stream"]

#: Default size of one chunk read by :func:`npy`, :func:`csv` and :func:`from_array`
#: when ``chunk_rows`` is not given: as many rows as fit in this many bytes.
CHUNK_BYTES = 64 * 2**20


def _fit_dtype(dtype):
    """float32 stays float32; any other numeric dtype is read as float64 (the dtypes a
    fit runs in, as scikit-learn's ``validate_data`` casts them)."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "biuf":
        raise ValueError(f"a row stream holds numbers; its dtype is {dtype} — convert the "
                         "data to a numeric dtype first.")
    return np.dtype(np.float32) if dtype == np.float32 else np.dtype(np.float64)


def _default_chunk_rows(n_columns, itemsize=8):
    return max(1, CHUNK_BYTES // max(1, n_columns * itemsize))


def _check_chunk_rows(chunk_rows, who):
    if chunk_rows is None:
        return None
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) \
            or chunk_rows < 1:
        raise ValueError(f"{who}: chunk_rows must be a positive int, got {chunk_rows!r}.")
    return int(chunk_rows)


class RowStream:
    """A matrix as an iterable of row chunks (the base of every reader).

    Attributes
    ----------
    shape : tuple of int
        (rows, columns) of the whole matrix.
    dtype : numpy.dtype
        float32 or float64: the dtype of every chunk.
    sparse : bool
        Chunks are ``scipy.sparse.csr_matrix`` (else dense ``numpy.ndarray``).
    feature_names : numpy.ndarray of str or None
        Column names, where the source has them (a CSV header).
    """

    shape: tuple
    dtype: np.dtype
    sparse: bool = False
    feature_names = None

    def __iter__(self) -> Iterator:
        raise NotImplementedError

    def __repr__(self):
        kind = "sparse" if self.sparse else "dense"
        return f"{type(self).__name__}(shape={self.shape}, dtype={self.dtype}, {kind})"


class ArrayStream(RowStream):
    """An in-memory matrix (dense or scipy.sparse) read ``chunk_rows`` rows at a time.

    Dense chunks are views of the matrix; sparse ones are CSR row slices (copies).
    """

    def __init__(self, X, chunk_rows=None):
        chunk_rows = _check_chunk_rows(chunk_rows, "from_array")
        if sp.issparse(X):
            X = X.tocsr()
        elif not isinstance(X, np.ndarray):
            X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"from_array needs a 2-D matrix; got an array of shape {X.shape}.")
        self.X = X
        self.shape = tuple(int(s) for s in X.shape)
        self.dtype = _fit_dtype(X.dtype)
        self.sparse = sp.issparse(X)
        self.chunk_rows = chunk_rows or _default_chunk_rows(self.shape[1], self.dtype.itemsize)

    def __iter__(self):
        for a in range(0, self.shape[0], self.chunk_rows):
            yield self.X[a:a + self.chunk_rows].astype(self.dtype, copy=False)


class NpyStream(RowStream):
    """A ``.npy`` file, memory-mapped, read ``chunk_rows`` rows at a time (each chunk a
    copy, so memory holds one chunk whatever the file's size).

    A Fortran-ordered file is read correctly but slowly (each row chunk touches every
    column of the file); save large matrices in C order.
    """

    def __init__(self, path, chunk_rows=None):
        self.path = os.fspath(path)
        chunk_rows = _check_chunk_rows(chunk_rows, "stream.npy")
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"stream.npy: no file at {self.path!r}.")
        try:
            array = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise ValueError(f"stream.npy: {self.path!r} is not a .npy file of numbers "
                             f"({exc}); save it with np.save(path, X) from a numeric "
                             "array.") from exc
        if not isinstance(array, np.ndarray) or array.ndim != 2:
            shape = getattr(array, "shape", None)
            raise ValueError(f"stream.npy: {self.path!r} holds an array of shape {shape}; a "
                             "row stream needs a 2-D matrix (rows x columns).")
        self.shape = tuple(int(s) for s in array.shape)
        self.dtype = _fit_dtype(array.dtype)
        self.chunk_rows = chunk_rows or _default_chunk_rows(self.shape[1], self.dtype.itemsize)
        del array

    def __iter__(self):
        array = np.load(self.path, mmap_mode="r", allow_pickle=False)
        try:
            for a in range(0, self.shape[0], self.chunk_rows):
                yield np.array(array[a:a + self.chunk_rows], dtype=self.dtype, order="C")
        finally:
            del array


def _natural_key(path):
    """Sort key putting shard_2 before shard_10."""
    return [int(part) if part.isdigit() else part
            for part in re.split(r"(\d+)", os.path.basename(path))]


def _npz_member_header(archive, name):
    """(shape, dtype) of one array of an ``.npz`` archive, from its header alone."""
    with archive.open(name + ".npy") as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    return shape, dtype


class NpzShardStream(RowStream):
    """A folder of sparse ``.npz`` shards (``scipy.sparse.save_npz``), stacked by rows
    in natural file-name order (``part-2`` before ``part-10``), one shard per chunk.

    Only the shards' headers are read when the stream is made; each shard is loaded as
    the iteration reaches it.
    """

    sparse = True

    def __init__(self, folder, pattern="*.npz"):
        if isinstance(folder, (list, tuple)):
            paths = [os.fspath(p) for p in folder]
            self.folder = os.path.dirname(paths[0]) if paths else ""
        else:
            self.folder = os.fspath(folder)
            if not os.path.isdir(self.folder):
                raise FileNotFoundError(f"stream.npz_shards: no folder at {self.folder!r}.")
            paths = sorted(glob.glob(os.path.join(self.folder, pattern)), key=_natural_key)
        if not paths:
            raise ValueError(f"stream.npz_shards: no file matching {pattern!r} in "
                             f"{self.folder!r}; write shards with "
                             "nmfkit.stream.save_npz_shards(X, folder).")
        self.paths = paths
        rows, n_columns, dtypes = [], None, []
        for path in paths:
            shape, dtype = self._header(path)
            if n_columns is not None and shape[1] != n_columns:
                raise ValueError(
                    f"stream.npz_shards: shard {os.path.basename(path)!r} has {shape[1]} "
                    f"columns but {os.path.basename(paths[0])!r} has {n_columns}; every "
                    "shard of a matrix needs the same columns.")
            n_columns = shape[1]
            rows.append(shape[0])
            dtypes.append(dtype)
        self.shard_rows = rows
        self.shape = (int(sum(rows)), int(n_columns))
        self.dtype = _fit_dtype(np.result_type(*dtypes))

    @staticmethod
    def _header(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                if not {"format.npy", "shape.npy", "data.npy"} <= names:
                    raise ValueError("it is not a scipy.sparse.save_npz file (no format, "
                                     "shape and data arrays)")
                with np.load(path, allow_pickle=False) as arrays:
                    fmt = arrays["format"].item()
                    fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
                    shape = tuple(int(s) for s in arrays["shape"])
                _, dtype = _npz_member_header(archive, "data")
        except (zipfile.BadZipFile, OSError, ValueError, KeyError) as exc:
            raise ValueError(f"stream.npz_shards: cannot read shard {path!r}: {exc}; write "
                             "shards with scipy.sparse.save_npz or "
                             "nmfkit.stream.save_npz_shards.") from exc
        if fmt not in ("csr", "csc", "coo", "bsr", "dia"):
            raise ValueError(f"stream.npz_shards: shard {path!r} has sparse format {fmt!r}, "
                             "which scipy.sparse.load_npz cannot read.")
        if len(shape) != 2:
            raise ValueError(f"stream.npz_shards: shard {path!r} has shape {shape}, not 2-D.")
        return shape, dtype

    def __iter__(self):
        for path in self.paths:
            yield sp.csr_matrix(sp.load_npz(path).tocsr().astype(self.dtype, copy=False))


class CsvStream(RowStream):
    """A numeric CSV file parsed by pandas ``chunk_rows`` rows at a time.

    Parameters are pandas.read_csv's (``sep``, ``header``, ...); a header row becomes
    ``feature_names``.  The number of rows is counted once, by a pass that parses only
    the first column, unless ``n_rows`` gives it.
    """

    def __init__(self, path, chunk_rows=None, *, n_rows=None, sep=",", header="infer",
                 **read_csv_options):
        import pandas as pd

        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"stream.csv: no file at {self.path!r}.")
        chunk_rows = _check_chunk_rows(chunk_rows, "stream.csv")
        self.options = dict(sep=sep, header=header, **read_csv_options)
        head = pd.read_csv(self.path, nrows=2, **self.options)
        if head.shape[1] == 0:
            raise ValueError(f"stream.csv: {self.path!r} has no columns.")
        names = [str(c) for c in head.columns]
        if header is not None and all(isinstance(c, str) for c in head.columns):
            self.feature_names = np.asarray(names, dtype=object)
        self.dtype = np.dtype(np.float64)
        self.chunk_rows = chunk_rows or _default_chunk_rows(head.shape[1])
        if n_rows is None:
            n_rows = sum(len(part) for part in pd.read_csv(
                self.path, usecols=[0], chunksize=max(self.chunk_rows, 100_000),
                **self.options))
        self.shape = (int(n_rows), int(head.shape[1]))

    def __iter__(self):
        import pandas as pd

        start = 0
        for frame in pd.read_csv(self.path, chunksize=self.chunk_rows, **self.options):
            for j, column in enumerate(frame.columns):
                if not (pd.api.types.is_numeric_dtype(frame[column])
                        or pd.api.types.is_bool_dtype(frame[column])):
                    bad = pd.to_numeric(frame[column], errors="coerce").isna() \
                        & frame[column].notna()
                    row = int(np.flatnonzero(bad.to_numpy())[0]) if bad.any() else 0
                    raise ValueError(
                        f"stream.csv: column {column!r} (column {j}) of {self.path!r} holds "
                        f"text ({frame[column].iloc[row]!r} at row {start + row}); a row "
                        "stream needs numbers — drop or encode that column first.")
            start += len(frame)
            block, frame = frame.to_numpy(dtype=self.dtype), None
            yield block
            del block  # freed before pandas parses the next chunk


class ZarrStream(RowStream):
    """A 2-D zarr array read ``chunk_rows`` rows at a time (by default its own chunks'
    rows, so each read decompresses whole zarr chunks once).  Needs the ``zarr`` package.
    """

    def __init__(self, store, chunk_rows=None):
        zarr_lib = _import_zarr()
        chunk_rows = _check_chunk_rows(chunk_rows, "stream.zarr")
        if isinstance(store, (str, os.PathLike)):
            path = os.fspath(store)
            if not os.path.exists(path):
                raise FileNotFoundError(f"stream.zarr: no zarr store at {path!r}.")
            try:
                array = zarr_lib.open_array(path, mode="r")
            except Exception as exc:  # zarr raises several types for "not an array"
                raise ValueError(f"stream.zarr: {path!r} is not a zarr array ({exc}); open "
                                 "a group member with zarr.open(path)[name] and pass "
                                 "that.") from exc
        else:
            array = store
        shape = tuple(getattr(array, "shape", ()))
        if len(shape) != 2:
            raise ValueError(f"stream.zarr: the array has shape {shape}; a row stream needs "
                             "a 2-D matrix (rows x columns).")
        self.array = array
        self.shape = tuple(int(s) for s in shape)
        self.dtype = _fit_dtype(array.dtype)
        own = getattr(array, "chunks", None)
        self.chunk_rows = chunk_rows or int(own[0] if own else _default_chunk_rows(shape[1]))

    def __iter__(self):
        for a in range(0, self.shape[0], self.chunk_rows):
            yield np.asarray(self.array[a:a + self.chunk_rows], dtype=self.dtype)


def _import_zarr():
    try:
        return importlib.import_module("zarr")
    except ImportError as exc:
        raise ImportError("nmfkit.stream.zarr needs the zarr package: pip install zarr "
                          "(or read the array with another reader: stream.npy, "
                          "stream.npz_shards).") from exc


class IterableStream(RowStream):
    """Chunks from a re-iterable source: a list or tuple of chunks, any iterable whose
    ``iter()`` starts afresh, or a function called with no arguments that returns a fresh
    iterator.  Without ``shape`` a first pass counts the rows; every pass checks that
    the chunks agree with it (same columns, same total rows, all dense or all sparse)."""

    def __init__(self, chunks, shape=None):
        if callable(chunks) and not isinstance(chunks, Iterable):
            self._source = chunks
        elif isinstance(chunks, Iterator):
            raise TypeError(
                "a generator or iterator can be read only once, and a fit reads the rows "
                "several times (a pass that checks the values, then up to max_iter passes); "
                "pass a list of chunks, a function returning a fresh iterator "
                "(nmfkit.stream.from_iterable(make_chunks)), a nmfkit.stream reader, or "
                "call partial_fit on each chunk.")
        elif isinstance(chunks, Iterable):
            self._source = lambda: iter(chunks)
        else:
            raise TypeError(f"from_iterable takes an iterable of row chunks or a function "
                            f"returning one; got {type(chunks).__name__}.")
        if shape is None:
            rows, first = 0, None
            for chunk in self._chunks():
                first = chunk if first is None else first
                rows += chunk.shape[0]
            if first is None:
                raise ValueError("from_iterable: the iterable holds no chunk; a row stream "
                                 "needs at least one row.")
            shape = (rows, first.shape[1])
            self.sparse, dtype = sp.issparse(first), first.dtype
            self.dtype = _fit_dtype(dtype)
        else:
            first = next(iter(self._chunks()), None)
            if first is None:
                raise ValueError("from_iterable: the iterable holds no chunk.")
            self.sparse, self.dtype = sp.issparse(first), _fit_dtype(first.dtype)
        if len(shape) != 2:
            raise ValueError(f"from_iterable: shape must be (rows, columns), got {shape!r}.")
        self.shape = (int(shape[0]), int(shape[1]))

    def _chunks(self):
        for i, chunk in enumerate(self._source()):
            yield _as_chunk(chunk, i)

    def __iter__(self):
        rows = 0
        for i, chunk in enumerate(self._chunks()):
            if chunk.shape[1] != self.shape[1]:
                raise ValueError(f"chunk {i} of the stream has {chunk.shape[1]} columns, the "
                                 f"stream {self.shape[1]}; every chunk needs the same columns.")
            if sp.issparse(chunk) != self.sparse:
                raise ValueError(f"chunk {i} of the stream is "
                                 f"{'sparse' if sp.issparse(chunk) else 'dense'} and chunk 0 "
                                 f"is not: a stream's chunks are all dense or all sparse "
                                 "(nmfkit never densifies a sparse chunk silently).")
            rows += chunk.shape[0]
            chunk = chunk.astype(self.dtype, copy=False)
            yield chunk
            del chunk  # not held while the source makes the next one
        if rows != self.shape[0]:
            raise ValueError(f"the stream gave {rows} rows in this pass, not the "
                             f"{self.shape[0]} of its shape: its chunks must be the same on "
                             "every pass.")


def _as_chunk(chunk, i):
    """A chunk as a 2-D ndarray or CSR matrix (TypeError naming the chunk otherwise)."""
    if sp.issparse(chunk):
        return chunk.tocsr() if chunk.format != "csr" else chunk
    if hasattr(chunk, "to_numpy"):  # a pandas DataFrame
        chunk = chunk.to_numpy()
    try:
        chunk = np.asarray(chunk)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"chunk {i} of the stream is a {type(chunk).__name__}, not a "
                        "matrix; chunks are 2-D arrays or scipy.sparse matrices.") from exc
    if chunk.ndim != 2:
        raise ValueError(f"chunk {i} of the stream has shape {chunk.shape}; chunks are 2-D "
                         "blocks of rows (reshape a single row with row[None, :]).")
    return chunk


# --------------------------------------------------------------------------- readers
def npy(path, chunk_rows=None) -> NpyStream:
    """Read a ``.npy`` matrix memory-mapped, ``chunk_rows`` rows at a time.

    Parameters
    ----------
    path : str or path-like
    chunk_rows : int, optional
        Rows per chunk (default: 64 MiB worth).

    Returns
    -------
    NpyStream
    """
    return NpyStream(path, chunk_rows)


def npz_shards(folder, pattern="*.npz") -> NpzShardStream:
    """Read a folder of sparse ``.npz`` shards stacked by rows, one shard at a time.

    Parameters
    ----------
    folder : str, path-like, or list of paths
        The folder (its files matching ``pattern``, in natural name order), or the
        shard files in order.
    pattern : str, default='*.npz'

    Returns
    -------
    NpzShardStream
    """
    return NpzShardStream(folder, pattern)


def csv(path, chunk_rows=None, **read_csv_options) -> CsvStream:
    """Read a numeric CSV file a chunk at a time (pandas' parser).

    Parameters
    ----------
    path : str or path-like
    chunk_rows : int, optional
        Rows per chunk (default: 64 MiB of float64).
    **read_csv_options
        ``n_rows`` (skip the counting pass), and options of ``pandas.read_csv``
        (``sep``, ``header``, ``usecols``, ...).

    Returns
    -------
    CsvStream
    """
    return CsvStream(path, chunk_rows, **read_csv_options)


def zarr(store, chunk_rows=None) -> ZarrStream:
    """Read a 2-D zarr array (a path or an opened ``zarr.Array``) a chunk at a time.

    Raises
    ------
    ImportError
        When zarr is not installed (``pip install zarr``).

    Returns
    -------
    ZarrStream
    """
    return ZarrStream(store, chunk_rows)


def from_array(X, chunk_rows=None) -> ArrayStream:
    """An in-memory matrix (NumPy or scipy.sparse) as a row stream."""
    return ArrayStream(X, chunk_rows)


def from_iterable(chunks, shape=None) -> IterableStream:
    """Row chunks from a list, a re-iterable collection, or a function returning a fresh
    iterator; ``shape`` saves the pass that counts the rows."""
    return IterableStream(chunks, shape)


def save_npz_shards(X, folder, rows_per_shard=100_000, *, prefix="part"):
    """Write a matrix (in-memory, or any row stream) as sparse ``.npz`` shards that
    :func:`npz_shards` reads back: ``folder/part-00000.npz``, ...

    Parameters
    ----------
    X : array-like, scipy.sparse matrix or row stream
    folder : str or path-like
        Created if absent.
    rows_per_shard : int, default=100_000
    prefix : str, default='part'

    Returns
    -------
    list of str
        The paths written, in order.
    """
    rows_per_shard = _check_chunk_rows(rows_per_shard, "save_npz_shards")
    folder = os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    source = X if is_stream(X) else from_array(X, rows_per_shard)
    paths = []
    for i, (_, block) in enumerate(batches(as_stream(source), rows_per_shard)):
        path = os.path.join(folder, f"{prefix}-{i:05d}.npz")
        sp.save_npz(path, sp.csr_matrix(block), compressed=False)
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- fitting
def is_stream(X) -> bool:
    """Whether a fit should read X as a row stream rather than as one matrix: a
    :class:`RowStream`, an iterator, or a list or tuple of 2-D chunks."""
    if isinstance(X, RowStream):
        return True
    if sp.issparse(X) or isinstance(X, (str, bytes, dict, np.ndarray)):
        return False
    if any(hasattr(X, name) for name in ("shape", "__array__", "__array_interface__",
                                         "__array_namespace__", "__dataframe__")):
        return False
    if isinstance(X, (list, tuple)):
        return bool(X) and (sp.issparse(X[0]) or getattr(X[0], "ndim", None) == 2)
    return isinstance(X, Iterable)


def as_stream(X) -> RowStream:
    """X as a :class:`RowStream` (a reader is returned as it is)."""
    if isinstance(X, RowStream):
        return X
    return IterableStream(X)


def batches(stream: RowStream, batch_size: int):
    """One pass of a stream as mini-batches of exactly ``batch_size`` rows (the last may
    be shorter), whatever its chunks: ``(first_row, X_b)`` pairs.

    The boundaries are those of ``range(0, n_rows, batch_size)``, so a fit sees the same
    batches from any chunking of the same matrix.  A chunk that is one whole batch is
    passed on without a copy.
    """
    # No reference to a chunk or batch is kept while the next chunk is read, so a pass
    # holds one chunk (and the batch being filled) at a time.
    pending, pending_rows, start = [], 0, 0
    for chunk in stream:
        a, rows = 0, chunk.shape[0]
        while a < rows:
            take = min(batch_size - pending_rows, rows - a)
            pending.append(chunk if (a == 0 and take == rows) else chunk[a:a + take])
            pending_rows += take
            a += take
            if pending_rows == batch_size:
                batch, pending, pending_rows = _stack(pending), [], 0
                yield start, batch
                start += batch_size
                del batch
        del chunk
    if pending_rows:
        yield start, _stack(pending)


def _stack(pieces):
    if len(pieces) == 1:
        return pieces[0]
    if sp.issparse(pieces[0]):
        return sp.vstack(pieces, format="csr")
    return np.concatenate(pieces, axis=0)


class Summary:
    """What one checking pass over a stream learns: its shape, dtype, sum and largest
    entry (the statistics an initialisation and the float32 rule read).  Quacks as much
    like a matrix as :func:`nmfkit.init.initialize` asks for a ``'random'`` start
    (``shape``, ``dtype``, ``mean()``)."""

    def __init__(self, shape, dtype, total, largest, values, feature_names):
        self.shape = shape
        self.dtype = dtype
        self.total = total
        self.largest = largest
        self.values = values
        self.feature_names = feature_names

    def mean(self):
        return self.total / max(1, self.shape[0] * self.shape[1])


def check(stream: RowStream, *, who, beta=2.0) -> Summary:
    """Read the stream once, checking every chunk as :func:`nmfkit._validation.check_values`
    checks a matrix (negative, NaN, infinite entries; zeros for β ≤ 0), the chunks'
    columns and the total rows against ``stream.shape``.  Errors name the chunk and its
    first row."""
    n_rows, n_columns = stream.shape
    if n_rows < 1 or n_columns < 1:
        raise ValueError(f"Found array with {n_rows} sample(s) and {n_columns} feature(s) "
                         f"(shape={stream.shape}) while a minimum of 1 is required by {who}.")
    total, largest, values, rows = 0.0, 0.0, 0, 0
    for i, chunk in enumerate(stream):
        where = f"chunk {i} of X (its row 0 is row {rows} of X)"
        if chunk.ndim != 2 or chunk.shape[1] != n_columns:
            raise ValueError(f"{where} has shape {chunk.shape}, but the stream has "
                             f"{n_columns} columns; every chunk needs the same columns.")
        _validation.check_values(chunk, what=where, who=who)
        if beta <= 0:
            _validation.check_data_for_loss(chunk, beta, masked=False, what=where)
        data = chunk.data if sp.issparse(chunk) else chunk
        if data.size:
            total += float(np.sum(data, dtype=np.float64))
            largest = max(largest, float(np.max(data)))
        values += data.size
        rows += chunk.shape[0]
        del chunk, data  # not held while the next chunk is read
    if rows != n_rows:
        raise ValueError(f"the stream gave {rows} rows, but its shape says {n_rows}; fix "
                         "the reader's shape (or the source) before fitting.")
    dtype = stream.dtype
    if dtype == np.float32 and values and largest and not (
            largest >= _validation.FLOAT32_SAFE_MIN_MAX
            and largest * largest * values <= _validation.FLOAT32_SAFE_MAX_SQUARED_SUM):
        dtype = np.dtype(np.float64)  # as nmfkit._validation.float32_holds decides
    return Summary(stream.shape, dtype, total, largest, values, stream.feature_names)


def rows_in(stream: RowStream, dtype):
    """The stream's chunks in ``dtype`` (a float32 stream fitted in float64)."""
    for chunk in stream:
        yield chunk.astype(dtype, copy=False)


class _Cast(RowStream):
    """A stream read in another dtype."""

    def __init__(self, stream, dtype):
        self.stream, self.dtype = stream, np.dtype(dtype)
        self.shape, self.sparse = stream.shape, stream.sparse
        self.feature_names = stream.feature_names

    def __iter__(self):
        return rows_in(self.stream, self.dtype)


def in_dtype(stream: RowStream, dtype) -> RowStream:
    """The stream read in ``dtype`` (itself when it already is)."""
    return stream if np.dtype(dtype) == stream.dtype else _Cast(stream, dtype)


def steps(n_rows, batch_size) -> int:
    """Mini-batches in one pass over ``n_rows`` rows."""
    return int(math.ceil(n_rows / batch_size))
