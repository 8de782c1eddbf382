"""Read data files into a non-negative matrix with row and column labels.

One entry point, :func:`read_matrix`, turns what users have on disk into the ``X``
that :class:`nmfkit.NMF` factorizes, together with the names of its rows and columns
so that results can be reported in the user's own words:

=================  ==========================================================
extension          read as
=================  ==========================================================
``.csv``/``.tsv``  a table; header row and index column detected (or set)
``.npy``           a dense array; a stack of images ``(n, h, w)`` is flattened
``.npz``           ``scipy.sparse.save_npz`` output, or ``numpy.savez`` arrays
``.mtx``           Matrix Market (kept sparse)
``.h5ad``          AnnData (needs ``pip install anndata``)
``.txt``           one document per line, turned into tf-idf
folder             every ``*.txt`` file in it is one document, turned into tf-idf
=================  ==========================================================

Every problem with a file raises a ``ValueError`` (or ``FileNotFoundError``) whose
message names the file, what is wrong and what to do.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io
import scipy.sparse as sp

__all__ = [
    "FORMATS",
    "LabeledMatrix",
    "detect_format",
    "read_matrix",
    "read_documents",
    "make_vectorizer",
    "vectorize_documents",
    "vectorizer_to_extras",
    "vectorizer_from_extras",
    "summarize_matrix",
    "write_factor_csv",
]

#: Formats :func:`read_matrix` understands, by the name ``format=`` takes.
FORMATS = ("csv", "tsv", "npy", "npz", "mtx", "h5ad", "txt", "folder")

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".npy": "npy",
    ".npz": "npz",
    ".mtx": "mtx",
    ".h5ad": "h5ad",
    ".txt": "txt",
}


@dataclass
class LabeledMatrix:
    """A matrix read from a file, with the names of its rows and columns.

    Attributes
    ----------
    X : ndarray or scipy.sparse matrix of shape (n_rows, n_columns)
        The data; sparse files stay sparse.
    row_labels : ndarray of str, shape (n_rows,)
        Sample names (index column, file names, AnnData ``obs_names``, or ``"0"``, ``"1"``, ...).
    column_labels : ndarray of str, shape (n_columns,)
        Feature names (header row, vocabulary terms, ``var_names``, or ``"0"``, ``"1"``, ...).
    kind : {'table', 'matrix', 'text', 'images'}
        What the rows are; the report shows components of text as top terms and of
        images as pictures.
    source : str
        The path it was read from.
    image_shape : tuple of int or None
        ``(height, width)`` when ``kind == 'images'``.
    vectorizer : object or None
        The fitted tf-idf vectorizer when ``kind == 'text'``.
    documents : list of str or None
        The raw documents when ``kind == 'text'``.
    """

    X: object
    row_labels: np.ndarray
    column_labels: np.ndarray
    kind: str = "matrix"
    source: str = ""
    image_shape: tuple | None = None
    vectorizer: object = None
    documents: list | None = field(default=None, repr=False)

    @property
    def shape(self):
        return self.X.shape


def detect_format(path):
    """Name the format of ``path`` from its extension (or ``'folder'`` for a directory).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
        One of :data:`FORMATS`.

    Examples
    --------
    >>> detect_format("counts.mtx")
    'mtx'
    >>> detect_format("Table.CSV")
    'csv'
    """
    path = Path(path)
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix == ".gz" and path.stem:
        suffix = Path(path.stem).suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    known = ", ".join(sorted(_EXTENSIONS))
    raise ValueError(
        f"cannot read {str(path)!r}: unknown file type {suffix or '(no extension)'!r}; "
        f"nmfkit reads {known} or a folder of .txt files (or name the format with --format)"
    )


def _check_exists(path):
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file or folder: {str(path)!r}")


def _labels(values, n, what):
    if values is None:
        return np.array([str(i) for i in range(n)])
    labels = np.asarray([str(v) for v in values])
    if labels.shape != (n,):
        raise ValueError(f"{what} has {labels.size} labels for {n} entries")
    return labels


def read_matrix(
    path,
    *,
    format=None,
    header="auto",
    index_col="auto",
    delimiter=None,
    key=None,
    vectorizer=None,
    progress=False,
):
    """Read a data file into a :class:`LabeledMatrix`.

    Parameters
    ----------
    path : str or Path
        File (or folder of ``.txt`` files) to read.
    format : str, optional
        One of :data:`FORMATS`; by default taken from the extension.
    header : 'auto' or bool, default='auto'
        Whether a CSV/TSV file's first row holds column names. ``'auto'`` says yes
        when any cell of the first row (after the index column) is not a number.
    index_col : 'auto' or bool, default='auto'
        Whether a CSV/TSV file's first column holds row names. ``'auto'`` says yes
        when the first column is not numeric, or its header cell is empty.
    delimiter : str, optional
        Field separator for CSV/TSV; default ``','`` for .csv and tab for .tsv.
    key : str, optional
        Which array of a ``numpy.savez`` file to use when it holds several.
    vectorizer : scikit-learn vectorizer, optional
        Turns text into a matrix; default :func:`make_vectorizer` (tf-idf).
    progress : bool, default=False
        Show a progress bar while reading folders and vectorizing.

    Returns
    -------
    LabeledMatrix

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.csv")
    >>> _ = open(path, "w").write("gene,a,b\\ng1,1,0\\ng2,0,2\\n")
    >>> data = read_matrix(path)
    >>> data.X
    array([[1., 0.],
           [0., 2.]])
    >>> data.row_labels.tolist(), data.column_labels.tolist()
    (['g1', 'g2'], ['a', 'b'])
    """
    _check_exists(path)
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "folder" and not Path(path).is_dir():
        raise ValueError(f"{str(path)!r} is not a folder")
    reader = {
        "csv": _read_table,
        "tsv": _read_table,
        "npy": _read_npy,
        "npz": _read_npz,
        "mtx": _read_mtx,
        "h5ad": _read_h5ad,
        "txt": _read_text,
        "folder": _read_text,
    }[fmt]
    kwargs = {}
    if fmt in ("csv", "tsv"):
        kwargs = dict(header=header, index_col=index_col,
                      delimiter=delimiter or ("\t" if fmt == "tsv" else ","))
    elif fmt == "npz":
        kwargs = dict(key=key)
    elif fmt in ("txt", "folder"):
        kwargs = dict(vectorizer=vectorizer, progress=progress)
    data = reader(str(path), **kwargs)
    data.source = str(path)
    if data.X.ndim != 2 or 0 in data.X.shape:
        raise ValueError(
            f"{str(path)!r} holds an array of shape {data.X.shape}; NMF needs a 2-D matrix "
            "with at least one row and one column"
        )
    return data


# --- tables -------------------------------------------------------------------------


def _is_number(text):
    text = text.strip()
    if text == "":
        return True  # an empty cell is a missing value, not a label
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_table(path, *, header, index_col, delimiter):
    with open(path, newline="", encoding="utf-8-sig") as f:
        first = f.readline().rstrip("\r\n")
    if not first.strip():
        raise ValueError(f"{path!r} is empty (or its first line is blank); expected a table")
    cells = first.split(delimiter)
    if len(cells) == 1 and delimiter == "," and "\t" in first:
        raise ValueError(f"{path!r} looks tab-separated; rename it .tsv or pass --delimiter '\\t'")
    if header == "auto":
        header = not all(_is_number(c) for c in cells[1:]) or (
            len(cells) == 1 and not _is_number(cells[0])
        )
    try:
        df = pd.read_csv(path, sep=delimiter, header=0 if header else None,
                         skipinitialspace=True, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        msg = str(exc).strip().splitlines()[-1]
        raise ValueError(f"cannot parse {path!r} as a table: {msg}") from None
    if df.shape[0] == 0:
        raise ValueError(f"{path!r} has a header but no data rows")
    if index_col == "auto":
        first_name = str(df.columns[0])
        index_col = (
            df.shape[1] > 1
            and (not pd.api.types.is_numeric_dtype(df.iloc[:, 0])
                 or (header and (first_name == "" or first_name.startswith("Unnamed: "))))
        )
    if index_col:
        df = df.set_index(df.columns[0])
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        col = bad[0]
        values = pd.to_numeric(df[col], errors="coerce")
        row = int(np.flatnonzero(values.isna() & df[col].notna())[0])
        raise ValueError(
            f"{path!r}: column {str(col)!r} is not numeric (row {row + 1} holds "
            f"{str(df[col].iloc[row])!r}); NMF needs numbers — drop the column, or if it "
            "names the rows put it first"
        )
    X = df.to_numpy(dtype=np.float64)
    rows = df.index if index_col else None
    cols = df.columns if header else None
    return LabeledMatrix(X, _labels(rows, X.shape[0], "index"),
                         _labels(cols, X.shape[1], "header"), kind="table")


# --- numpy and scipy files --------------------------------------------------------------


def _from_array(path, X, rows=None, cols=None):
    if X.dtype == object:
        raise ValueError(f"{path!r} holds Python objects, not numbers; save a numeric array")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{path!r} holds {X.dtype} values; NMF needs numbers")
    image_shape = None
    if X.ndim == 3:  # a stack of images (n, height, width): one image per row
        image_shape = X.shape[1:]
        X = X.reshape(X.shape[0], -1)
    kind = "images" if image_shape else "matrix"
    if X.ndim != 2:
        raise ValueError(
            f"{path!r} holds an array of shape {X.shape}; expected 2-D (samples x features) "
            "or 3-D (a stack of images)"
        )
    return LabeledMatrix(np.asarray(X, dtype=np.float64) if X.dtype.kind != "f" else X,
                         _labels(rows, X.shape[0], "row_labels"),
                         _labels(cols, X.shape[1], "column_labels"),
                         kind=kind, image_shape=tuple(int(s) for s in image_shape)
                         if image_shape else None)


def _read_npy(path):
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise ValueError(f"cannot read {path!r} as .npy: it is not a NumPy array file "
                             "(write one with numpy.save)")
    try:
        X = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise ValueError(f"{path!r} holds Python objects, not numbers; "
                             "save a numeric array") from None
        raise ValueError(f"cannot read {path!r} as .npy: {exc}") from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"cannot read {path!r} as .npy: {exc}") from None
    return _from_array(path, X)


def _read_npz(path, *, key=None):
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"cannot read {path!r} as .npz: {exc}") from None
    with archive:
        names = list(archive.files)
        if {"format", "shape", "data"} <= set(names):  # written by scipy.sparse.save_npz
            X = sp.load_npz(path).tocsr()
            return LabeledMatrix(X, _labels(None, X.shape[0], ""),
                                 _labels(None, X.shape[1], ""), kind="matrix")
        label_keys = {"row_labels", "column_labels"}
        arrays = [n for n in names if n not in label_keys]
        if key is None:
            if len(arrays) == 1:
                key = arrays[0]
            elif "X" in arrays:
                key = "X"
            else:
                raise ValueError(
                    f"{path!r} holds several arrays ({', '.join(arrays) or 'none'}); name one "
                    "with --key, or call the data array 'X'"
                )
        if key not in names:
            raise ValueError(f"{path!r} has no array {key!r}; it holds {', '.join(names)}")
        rows = archive["row_labels"] if "row_labels" in names else None
        cols = archive["column_labels"] if "column_labels" in names else None
        return _from_array(path, archive[key], rows, cols)


def _read_mtx(path):
    try:
        X = scipy.io.mmread(path)
    except Exception as exc:  # scipy raises ValueError, TypeError or IndexError on bad files
        raise ValueError(f"cannot read {path!r} as Matrix Market: {exc}") from None
    X = sp.csr_matrix(X) if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    return LabeledMatrix(X, _labels(None, X.shape[0], ""), _labels(None, X.shape[1], ""),
                         kind="matrix")


def _read_h5ad(path):
    try:
        import anndata
    except ImportError:
        raise ImportError(
            f"reading {path!r} needs the anndata package: pip install anndata"
        ) from None
    try:
        adata = anndata.read_h5ad(path)
    except Exception as exc:  # h5py raises OSError, anndata KeyError etc. on bad files
        raise ValueError(f"cannot read {path!r} as AnnData (.h5ad): {exc}") from None
    X = adata.X
    X = X.tocsr() if sp.issparse(X) else np.asarray(X)
    return LabeledMatrix(X, _labels(adata.obs_names, X.shape[0], "obs_names"),
                         _labels(adata.var_names, X.shape[1], "var_names"), kind="matrix")


# --- text ------------------------------------------------------------------------------


def read_documents(path, *, progress=False):
    """Read documents: one per line of a ``.txt`` file, or one per ``.txt`` file in a folder.

    Parameters
    ----------
    path : str or Path
    progress : bool, default=False
        Show a progress bar while reading the files of a folder.

    Returns
    -------
    documents : list of str
    labels : list of str
        ``"line 1"``, ``"line 2"``, ... for a file (blank lines are skipped but keep
        their numbers); the file names without ``.txt`` for a folder.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "docs.txt")
    >>> _ = open(path, "w").write("Dog bites man\\n\\nMan bites dog\\n")
    >>> read_documents(path)
    (['Dog bites man', 'Man bites dog'], ['line 1', 'line 3'])
    """
    _check_exists(path)
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".txt" and p.is_file())
        if not files:
            raise ValueError(f"folder {str(path)!r} has no .txt files; put one document "
                             "per .txt file in it")
        from tqdm.auto import tqdm

        docs = []
        for p in tqdm(files, desc="reading", unit="file", disable=not progress, leave=False):
            docs.append(_read_text_file(p))
        return docs, [p.stem for p in files]
    docs, labels = [], []
    for number, line in enumerate(_read_text_file(path).splitlines(), start=1):
        if line.strip():
            docs.append(line.strip())
            labels.append(f"line {number}")
    if not docs:
        raise ValueError(f"{str(path)!r} has no text; expected one document per line")
    return docs, labels


def _read_text_file(path):
    raw = Path(path).read_bytes()
    if b"\x00" in raw[:4096]:
        raise ValueError(f"{str(path)!r} is not a text file (it holds binary data)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def make_vectorizer(n_documents=None):
    """The default tf-idf vectorizer for ``n_documents`` documents.

    English stop words removed, sublinear term frequency (``1 + log tf``), and terms
    kept when they occur in at least 2 documents (of 50 or more) and in at most 95 %
    of them (of 20 or more), so that tiny teaching corpora keep all their words.

    Parameters
    ----------
    n_documents : int, optional
        Size of the corpus the vectorizer will be fitted on.

    Returns
    -------
    sklearn.feature_extraction.text.TfidfVectorizer

    Examples
    --------
    >>> make_vectorizer(1000).min_df
    2
    >>> make_vectorizer(3).min_df
    1
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = n_documents or 0
    return TfidfVectorizer(
        stop_words="english",
        sublinear_tf=True,
        min_df=2 if n >= 50 else 1,
        max_df=0.95 if n >= 20 else 1.0,
        strip_accents="unicode",
    )


def vectorize_documents(documents, vectorizer=None, *, source="documents"):
    """Fit ``vectorizer`` (default :func:`make_vectorizer`) and return ``(X, vectorizer)``.

    Parameters
    ----------
    documents : list of str
    vectorizer : scikit-learn vectorizer, optional
        Fitted here (a clone is not taken: pass a fresh one).
    source : str
        Named in error messages.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_documents, n_terms)
    vectorizer : the fitted vectorizer
    """
    vectorizer = make_vectorizer(len(documents)) if vectorizer is None else vectorizer
    try:
        X = vectorizer.fit_transform(documents)
    except ValueError as exc:
        if "empty vocabulary" in str(exc) or "no terms remain" in str(exc):
            raise ValueError(
                f"{source}: no words left to count after removing stop words and rare "
                "terms; give more (or longer) documents"
            ) from None
        raise
    return sp.csr_matrix(X), vectorizer


def _read_text(path, *, vectorizer=None, progress=False):
    from tqdm.auto import tqdm

    docs, labels = read_documents(path, progress=progress)
    with tqdm(total=1, desc="vectorizing", disable=not progress, leave=False) as bar:
        X, vec = vectorize_documents(docs, vectorizer, source=repr(str(path)))
        bar.update()
    return LabeledMatrix(X, np.asarray(labels), np.asarray(vec.get_feature_names_out(), dtype=str),
                         kind="text", vectorizer=vec, documents=docs)


_VECTORIZER_PARAMS = ("lowercase", "token_pattern", "ngram_range", "binary", "norm",
                      "use_idf", "smooth_idf", "sublinear_tf", "strip_accents", "analyzer")


def vectorizer_to_extras(vectorizer):
    """Describe a fitted ``TfidfVectorizer``/``CountVectorizer`` as plain arrays.

    The result can go into ``NMF.save(path, extras=...)`` (no pickle) and comes back
    with :func:`vectorizer_from_extras`.

    Parameters
    ----------
    vectorizer : fitted TfidfVectorizer or CountVectorizer
        With string-valued options (no callables).

    Returns
    -------
    dict of str to ndarray
        ``vocabulary`` (terms in column order), ``idf`` (when it has one) and
        ``vectorizer`` (a JSON string of its options).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    params = vectorizer.get_params()
    kept = {k: params[k] for k in _VECTORIZER_PARAMS if k in params}
    if callable(kept.get("analyzer")) or callable(kept.get("strip_accents")):
        raise ValueError("cannot save a vectorizer with a callable analyzer; use string options")
    kept["ngram_range"] = list(kept.get("ngram_range", (1, 1)))
    kept["type"] = "tfidf" if isinstance(vectorizer, TfidfVectorizer) else "count"
    extras = {
        "vocabulary": np.asarray(vectorizer.get_feature_names_out(), dtype=str),
        "vectorizer": np.asarray(json.dumps(kept)),
    }
    if kept["type"] == "tfidf" and kept.get("use_idf", True):
        extras["idf"] = np.asarray(vectorizer.idf_, dtype=np.float64)
    return extras


def vectorizer_from_extras(extras):
    """Rebuild the fitted vectorizer described by :func:`vectorizer_to_extras`.

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> vec = TfidfVectorizer().fit(["dog bites man", "man bites dog", "dog eats meat"])
    >>> again = vectorizer_from_extras(vectorizer_to_extras(vec))
    >>> bool(abs(again.transform(["dog meat"]) - vec.transform(["dog meat"])).max() < 1e-12)
    True
    """
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    options = json.loads(str(extras["vectorizer"]))
    kind = options.pop("type")
    options["ngram_range"] = tuple(options["ngram_range"])
    vocabulary = [str(t) for t in extras["vocabulary"]]
    cls = TfidfVectorizer if kind == "tfidf" else CountVectorizer
    vec = cls(vocabulary=vocabulary, **options)
    vec.fit(vocabulary)  # with a fixed vocabulary, fitting only sets vocabulary_
    if "idf" in extras:
        vec.idf_ = np.asarray(extras["idf"], dtype=np.float64)
    return vec


# --- summaries and output ------------------------------------------------------------------


def summarize_matrix(X):
    """Shape, sparsity and value range of ``X``, as a dict of plain Python values.

    Examples
    --------
    >>> summarize_matrix(np.array([[0.0, 1.0], [2.0, 0.0]]))["density"]
    0.5
    """
    if sp.issparse(X):
        values = X.data
        nnz = int(X.nnz)
        storage = f"sparse ({X.format})"
        n_zero_cells = X.shape[0] * X.shape[1] - nnz
    else:
        values = np.asarray(X).ravel()
        nnz = int(np.count_nonzero(values))
        storage = "dense"
        n_zero_cells = 0
    finite = values[np.isfinite(values)]
    n_missing = int(np.isnan(values).sum())
    size = X.shape[0] * X.shape[1]
    minimum = float(finite.min()) if finite.size else float("nan")
    if n_zero_cells:
        minimum = min(minimum, 0.0)
    return {
        "n_rows": int(X.shape[0]),
        "n_columns": int(X.shape[1]),
        "storage": storage,
        "nonzeros": nnz - n_missing,
        "density": float((nnz - n_missing) / size) if size else 0.0,
        "missing": n_missing,
        "min": minimum,
        "max": float(finite.max()) if finite.size else float("nan"),
        "mean": float(finite.sum() / (size - n_missing)) if size > n_missing else float("nan"),
    }


def write_factor_csv(path, factor, row_labels, column_labels, *, index_name=""):
    """Write a factor (``W`` or ``H``) as CSV with its row and column labels.

    Parameters
    ----------
    path : str or Path
    factor : ndarray of shape (n_rows, n_columns)
    row_labels, column_labels : sequence of str
    index_name : str
        Header of the label column.
    """
    frame = pd.DataFrame(np.asarray(factor), index=pd.Index(list(row_labels), name=index_name),
                         columns=list(column_labels))
    tmp = Path(str(path) + ".part")
    frame.to_csv(tmp, float_format="%.6g")
    os.replace(tmp, path)
    return Path(path)
