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
    "ModelExtras",
    "feature_names",
    "align_columns",
    "check_output_file",
    "check_output_folder",
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

    def transposed(self):
        """The transpose: columns become samples (row and column labels swap).

        Transposed images or text are a plain matrix: its rows are pixels or terms, which
        no image shape or vectorizer describes.
        """
        X = self.X.T.tocsr() if sp.issparse(self.X) else np.ascontiguousarray(self.X.T)
        kind = "table" if self.kind == "table" else "matrix"
        return LabeledMatrix(X, self.column_labels, self.row_labels, kind=kind,
                             source=self.source)


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


def _is_header(cells, next_cells):
    """Whether the first row of a table names its columns (``header='auto'``)."""
    if not all(_is_number(c) for c in cells[1:]) or (len(cells) == 1
                                                     and not _is_number(cells[0])):
        return True
    # pandas writes a DataFrame made from an array (``DataFrame(X).to_csv()``) with its
    # column names 0, 1, 2, ...: after an empty cell naming the index, or alone with
    # ``index=False``.  A data row rarely looks like that; the next row decides: it
    # fills the first cell (an index) or, without an index, holds fractions.
    blank_first = cells[0].strip() == ""
    names = cells[1:] if blank_first else cells
    if len(names) < (1 if blank_first else 2) or [c.strip() for c in names] != [
            str(i) for i in range(len(names))]:
        return False
    if blank_first:
        return bool(next_cells) and next_cells[0].strip() != ""
    return any(c.strip() != "" and not c.strip().isdigit() for c in next_cells)


def _read_table(path, *, header, index_col, delimiter):
    with open(path, newline="", encoding="utf-8-sig") as f:
        first = f.readline().rstrip("\r\n")
        second = f.readline().rstrip("\r\n")
    if not first.strip():
        raise ValueError(f"{path!r} is empty (or its first line is blank); expected a table")
    cells = first.split(delimiter)
    if len(cells) == 1 and delimiter == "," and "\t" in first:
        raise ValueError(f"{path!r} looks tab-separated; rename it .tsv or pass --delimiter '\\t'")
    if header == "auto":
        header = _is_header(cells, second.split(delimiter) if second.strip() else [])
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


def read_documents(path, *, text_column=None, label_column=None, progress=False):
    """Read documents: one per line of a ``.txt`` file, one per ``.txt`` file in a folder,
    or one per row of a ``.csv``/``.tsv`` table.

    Parameters
    ----------
    path : str or Path
    text_column : str, optional
        The column holding the text, for a table (required there); rows without text
        are skipped.
    label_column : str, optional
        The column naming the documents, for a table; its values must be unique.
        Default: the row numbers ``"0"``, ``"1"``, ...
    progress : bool, default=False
        Show a progress bar while reading the files of a folder.

    Returns
    -------
    documents : list of str
    labels : list of str
        ``"line 1"``, ``"line 2"``, ... for a file (blank lines are skipped but keep
        their numbers); the file names without ``.txt`` for a folder; the label column
        (or the row numbers) for a table.

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
    if path.suffix.lower() in (".csv", ".tsv", ".tab"):
        return _read_text_table(path, text_column, label_column)
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


def _read_text_table(path, text_column, label_column):
    if not text_column:
        raise ValueError(f"{str(path)!r} is a table: name the column holding the text with "
                         "text_column (and the one naming the documents with label_column)")
    try:
        table = pd.read_csv(path, sep="," if path.suffix.lower() == ".csv" else "\t",
                            encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        msg = str(exc).strip().splitlines()[-1]
        raise ValueError(f"cannot parse {str(path)!r} as a table: {msg}") from None
    for column in filter(None, (text_column, label_column)):
        if column not in table.columns:
            raise ValueError(f"{str(path)!r} has no column {column!r}; it has "
                             f"{', '.join(map(str, table.columns[:10]))}")
    table = table[table[text_column].notna()]
    docs = table[text_column].astype(str).tolist()
    if not docs:
        raise ValueError(f"{str(path)!r}: column {text_column!r} holds no text")
    if not label_column:
        return docs, [str(i) for i in table.index]
    labels = table[label_column].astype(str)
    if not labels.is_unique:
        repeated = labels[labels.duplicated()].iloc[0]
        raise ValueError(f"{str(path)!r}: column {label_column!r} repeats labels (first "
                         f"repeated: {repeated!r}); choose a label_column with unique values")
    return docs, labels.tolist()


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


def check_output_file(path, *, what="the output", make_parents=False):
    """Raise ``OSError`` now unless a file can be written at ``path``.

    Called before any data are read or fitted, so that a mistyped path fails at once
    rather than after the work.

    Parameters
    ----------
    path : str or Path
    what : str
        What would be written there, for the message (``"the model"``).
    make_parents : bool, default=False
        Whether the writer creates missing folders (then the nearest existing one must
        be writable), or the folder must exist.

    Raises
    ------
    IsADirectoryError, FileNotFoundError, NotADirectoryError, PermissionError
        With a message naming the path and what to do.

    Examples
    --------
    >>> check_output_file("/no/such/folder/model.nmf", what="the model")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: cannot write the model to '/no/such/folder/model.nmf': folder ... first...
    """
    path = Path(path)
    target = f"cannot write {what} to {str(path)!r}"
    if path.is_dir():
        raise IsADirectoryError(f"{target}: it is a folder; add a file name to the path")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise PermissionError(f"{target}: the file exists and is read-only; choose "
                                  "another path or make it writable")
        return
    parent = path.parent
    if not make_parents and not parent.exists():
        raise FileNotFoundError(f"{target}: folder {str(parent)!r} does not exist; create "
                                f"it first (mkdir -p {parent}) or choose another path")
    _check_folder_writable(parent, target)


def check_output_folder(path, *, what="the output"):
    """Raise ``OSError`` now unless ``path`` is, or can be created as, a writable folder.

    Parameters
    ----------
    path : str or Path
    what : str
        What would be written there, for the message.

    Raises
    ------
    NotADirectoryError, PermissionError
        With a message naming the path and what to do.
    """
    path = Path(path)
    _check_folder_writable(path, f"cannot write {what} to {str(path)!r}")


def _check_folder_writable(folder, target):
    """The folder, or the nearest of its parents that exists, is a writable folder."""
    existing = Path(os.path.abspath(folder))
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(f"{target}: {str(existing)!r} is a file, not a folder; "
                                 "choose another path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"{target}: no permission to write in folder "
                              f"{str(existing)!r}; choose a folder you can write to")


# --- what a model file stores beside the factors -----------------------------------------


def _positional(labels, n):
    """Whether ``labels`` are only the positions ``"0", "1", ...`` (no names were read)."""
    return labels is None or [str(v) for v in labels] == [str(i) for i in range(n)]


def feature_names(column_labels):
    """The column labels as scikit-learn's ``feature_names_in_``, or None.

    Parameters
    ----------
    column_labels : sequence of str

    Returns
    -------
    ndarray of object or None
        None when the labels are only the positions ``"0", "1", ...``, which
        :func:`read_matrix` gives to a file without names.

    Examples
    --------
    >>> feature_names(["0", "1"]) is None
    True
    >>> feature_names(["gene a", "gene b"])
    array(['gene a', 'gene b'], dtype=object)
    """
    if _positional(column_labels, len(column_labels)):
        return None
    return np.asarray([str(v) for v in column_labels], dtype=object)


def align_columns(data, trained_labels, *, model="the model"):
    """Reorder a table's columns as in training when both name their columns.

    Parameters
    ----------
    data : LabeledMatrix
        New data; only a ``'table'`` with a header is reordered.
    trained_labels : sequence of str
        The training columns, in order.
    model : str
        Names the model in the error message.

    Returns
    -------
    LabeledMatrix
        ``data`` itself when nothing is to be reordered, else a reordered copy.

    Raises
    ------
    ValueError
        When ``data`` lacks some of the training columns; names them.
    """
    trained = np.asarray(trained_labels, dtype=str)
    labels = np.asarray(data.column_labels, dtype=str)
    if data.kind != "table" or _positional(labels, len(labels)) \
            or np.array_equal(labels, trained):
        return data
    position = {label: i for i, label in enumerate(labels)}
    missing = [str(t) for t in trained if t not in position]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise ValueError(f"{data.source!r} lacks {len(missing)} column(s) that {model} was "
                         f"fitted on: {shown}")
    order = [position[t] for t in trained]
    return LabeledMatrix(data.X[:, order], data.row_labels, trained, kind=data.kind,
                         source=data.source)


@dataclass
class ModelExtras:
    """What a model file stores beside the factors, so results keep the user's names.

    The file format of these extras (``extras=`` of :meth:`nmfkit.NMF.save`, read
    back from ``model.extras_``): ``W`` (training memberships), ``row_labels``,
    ``column_labels``, ``info`` (JSON: ``kind``, ``source``, ``image_shape``,
    ``summary``, ``rank_selection``) and, for text, the vectorizer (see
    :func:`vectorizer_to_extras`).
    Every field is optional.

    Attributes
    ----------
    W : ndarray of shape (n_samples, k) or None
    row_labels, column_labels : ndarray of str or None
    kind : {'table', 'matrix', 'text', 'images'} or None
    source : str or None
        The file the model was fitted on.
    image_shape : tuple of int or None
    summary : dict or None
        :func:`summarize_matrix` of the training data.
    vectorizer : fitted vectorizer or None
        For text: turns new documents into the training columns.
    rank_selection : dict or None
        How k was chosen, when it was (``nmfkit rank ... -o``):
        :meth:`nmfkit.rank.RankSelection.to_dict`, without the consensus matrices.

    Examples
    --------
    >>> extras = ModelExtras(row_labels=np.array(["a", "b"]), kind="table")
    >>> again = ModelExtras.from_arrays(extras.to_arrays())
    >>> again.kind, again.row_labels.tolist()
    ('table', ['a', 'b'])
    """

    W: np.ndarray | None = None
    row_labels: np.ndarray | None = None
    column_labels: np.ndarray | None = None
    kind: str | None = None
    source: str | None = None
    image_shape: tuple | None = None
    summary: dict | None = None
    vectorizer: object = None
    rank_selection: object = None

    @classmethod
    def from_data(cls, data, W):
        """The extras of a model fitted on ``data`` (a :class:`LabeledMatrix`)."""
        return cls(W=np.asarray(W, dtype=np.float64), row_labels=data.row_labels,
                   column_labels=data.column_labels, kind=data.kind, source=data.source,
                   image_shape=data.image_shape, summary=summarize_matrix(data.X),
                   vectorizer=data.vectorizer)

    def to_arrays(self):
        """The extras as a dict of name to ndarray, for ``model.save(path, extras=...)``."""
        arrays = {}
        if self.W is not None:
            arrays["W"] = np.asarray(self.W, dtype=np.float64)
        for name in ("row_labels", "column_labels"):
            labels = getattr(self, name)
            if labels is not None:
                arrays[name] = np.asarray([str(v) for v in labels], dtype=str)
        info = {"kind": self.kind, "source": self.source,
                "image_shape": list(self.image_shape) if self.image_shape else None,
                "summary": self.summary,
                "rank_selection": self.rank_selection}
        arrays["info"] = np.asarray(json.dumps(info))
        if self.vectorizer is not None:
            arrays.update(vectorizer_to_extras(self.vectorizer))
        return arrays

    @classmethod
    def from_arrays(cls, arrays):
        """Read the extras back from ``model.extras_`` (any of them may be absent)."""
        arrays = arrays or {}
        info = json.loads(str(arrays["info"])) if "info" in arrays else {}
        # Topic models saved before ``info`` existed named their kind in ``data_kind``.
        kind = info.get("kind") or (str(arrays["data_kind"]) if "data_kind" in arrays else None)
        labels = {name: np.asarray(arrays[name], dtype=str) if name in arrays else None
                  for name in ("row_labels", "column_labels")}
        shape = info.get("image_shape")
        return cls(W=np.asarray(arrays["W"]) if "W" in arrays else None, **labels, kind=kind,
                   source=info.get("source"), image_shape=tuple(shape) if shape else None,
                   summary=info.get("summary"), rank_selection=info.get("rank_selection"),
                   vectorizer=vectorizer_from_extras(arrays) if "vectorizer" in arrays
                   else None)

    @classmethod
    def of(cls, model):
        """The extras of a loaded model (:func:`nmfkit.load`); empty when it has none."""
        return cls.from_arrays(getattr(model, "extras_", None))
