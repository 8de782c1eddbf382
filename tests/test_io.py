"""Reading data files into labelled matrices."""
import os

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from nmfkit.io import (ModelExtras, align_columns, check_output_file, check_output_folder,
                       detect_format, feature_names, read_documents, read_matrix,
                       summarize_matrix, vectorizer_from_extras, vectorizer_to_extras,
                       write_factor_csv)


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 8), st.integers(1, 6)),
              elements=st.floats(0, 1e6, allow_subnormal=False)))
def test_factor_csv_round_trip(tmp_path_factory, X):
    path = tmp_path_factory.mktemp("rt") / "W.csv"
    rows = [f"r{i}" for i in range(X.shape[0])]
    cols = [f"c{j}" for j in range(X.shape[1])]
    write_factor_csv(path, X, rows, cols, index_name="sample")
    data = read_matrix(path)
    assert data.row_labels.tolist() == rows and data.column_labels.tolist() == cols
    assert np.allclose(data.X, X, rtol=1e-5)


@pytest.mark.parametrize("text, header, index, shape", [
    ("1,2\n3,4\n", False, False, (2, 2)),
    ("a,b\n1,2\n3,4\n", True, False, (2, 2)),
    ("name,a,b\nx,1,2\ny,3,4\n", True, True, (2, 2)),
    (",a,b\nx,1,2\ny,3,4\n", True, True, (2, 2)),
    ("x,1,2\ny,3,4\n", False, True, (2, 2)),
])
def test_csv_header_and_index_detection(tmp_path, text, header, index, shape):
    path = tmp_path / "t.csv"
    path.write_text(text)
    data = read_matrix(path)
    assert data.X.shape == shape and data.kind == "table"
    assert (data.column_labels.tolist() == ["a", "b"]) == header
    assert (data.row_labels.tolist() == ["x", "y"]) == index


def test_csv_flags_override_detection(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1,2\n3,4\n")
    data = read_matrix(path, header=True)
    assert data.column_labels.tolist() == ["1", "2"] and data.X.shape == (1, 2)
    data = read_matrix(path, index_col=True)
    assert data.row_labels.tolist() == ["1", "3"]
    semi = tmp_path / "s.csv"
    semi.write_text("a;b\n1;2\n")
    assert read_matrix(semi, delimiter=";").X.tolist() == [[1.0, 2.0]]


def test_sparse_stays_sparse_and_images_are_flattened(tmp_path):
    S = sp.random(20, 10, density=0.2, format="csr", random_state=0)
    sp.save_npz(tmp_path / "s.npz", S)
    data = read_matrix(tmp_path / "s.npz")
    assert sp.issparse(data.X) and (data.X != S).nnz == 0
    images = np.random.default_rng(0).random((5, 4, 3))
    np.save(tmp_path / "img.npy", images)
    data = read_matrix(tmp_path / "img.npy")
    assert data.kind == "images" and data.image_shape == (4, 3) and data.X.shape == (5, 12)


def test_documents_and_tfidf(tmp_path):
    (tmp_path / "d.txt").write_text("Dog bites man\n\nMan bites dog\nStock prices\n")
    docs, labels = read_documents(tmp_path / "d.txt")
    assert labels == ["line 1", "line 3", "line 4"]
    data = read_matrix(tmp_path / "d.txt")
    assert data.kind == "text" and sp.issparse(data.X) and "dog" in data.column_labels
    rows = np.sqrt(np.asarray(data.X.multiply(data.X).sum(axis=1))).ravel()
    assert np.allclose(rows, 1.0)  # tf-idf rows have unit length


@pytest.mark.parametrize("vectorizer", [TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)),
                                        CountVectorizer(binary=True)])
def test_vectorizer_round_trip(vectorizer):
    docs = ["dog bites man", "man bites dog", "dog eats meat", "stock prices fall"]
    vectorizer.fit(docs)
    again = vectorizer_from_extras(vectorizer_to_extras(vectorizer))
    new = ["dog meat prices", "man bites"]
    assert abs(again.transform(new) - vectorizer.transform(new)).max() < 1e-12


def test_summary_of_sparse_and_missing():
    S = sp.csr_matrix(np.array([[0.0, 2.0], [0.0, 0.0]]))
    s = summarize_matrix(S)
    assert (s["density"], s["min"], s["max"], s["storage"]) == (0.25, 0.0, 2.0, "sparse (csr)")
    d = summarize_matrix(np.array([[np.nan, 1.0], [3.0, 0.0]]))
    assert d["missing"] == 1 and d["max"] == 3.0


def test_errors_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_matrix(tmp_path / "none.csv")
    with pytest.raises(ValueError, match="unknown file type '.json'"):
        detect_format("x.json")
    (tmp_path / "t.csv").write_text("a\tb\n1\t2\n")
    with pytest.raises(ValueError, match="looks tab-separated"):
        read_matrix(tmp_path / "t.csv")
    np.savez(tmp_path / "m.npz", a=np.ones((2, 3)), b=np.zeros((4, 1)))
    with pytest.raises(ValueError, match="--key"):
        read_matrix(tmp_path / "m.npz")
    assert read_matrix(tmp_path / "m.npz", key="b").X.shape == (4, 1)
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="not a text file"):
        read_matrix(tmp_path / "bin.txt")
    (tmp_path / "stop.txt").write_text("the and of\nthe a an\n")
    with pytest.raises(ValueError, match="no words left"):
        read_matrix(tmp_path / "stop.txt")


@pytest.mark.parametrize("index", [True, False])
def test_csv_written_by_pandas_from_an_array_has_its_header_read(tmp_path, index):
    # DataFrame(array).to_csv() names the columns 0, 1, 2 (after an empty cell when the
    # index is written); those were read as a data row holding a NaN.
    import pandas as pd

    X = np.random.default_rng(0).random((4, 3))
    pd.DataFrame(X).to_csv(tmp_path / "p.csv", index=index)
    data = read_matrix(tmp_path / "p.csv")
    assert data.X.shape == (4, 3) and not np.isnan(data.X).any()
    assert np.allclose(data.X, X)


@pytest.mark.parametrize("text, shape", [
    (",3,4\n5,1,2\n", (2, 3)),     # ratings with a blank first cell: data, not a header
    ("0,1,2\n3,4,5\n", (2, 3)),    # counts 0, 1, 2 above counts: data
    ("0\n0.5\n", (2, 1)),          # one column: no header guessed from a single 0
])
def test_integer_first_rows_that_are_data_stay_data(tmp_path, text, shape):
    (tmp_path / "d.csv").write_text(text)
    assert read_matrix(tmp_path / "d.csv").X.shape == shape


def test_model_extras_round_trip_and_old_topic_files():
    vec = TfidfVectorizer().fit(["dog bites man", "man bites dog", "stock prices fall"])
    extras = ModelExtras(W=np.ones((3, 2)), row_labels=np.array(["a", "b", "c"]),
                         column_labels=vec.get_feature_names_out(), kind="text", source="d.txt",
                         summary={"n_rows": 3}, vectorizer=vec)
    arrays = extras.to_arrays()
    assert all(isinstance(v, np.ndarray) and v.dtype != object for v in arrays.values())
    again = ModelExtras.from_arrays(arrays)
    assert (again.kind, again.source, again.summary) == ("text", "d.txt", {"n_rows": 3})
    assert again.row_labels.tolist() == ["a", "b", "c"] and again.W.shape == (3, 2)
    assert abs(again.vectorizer.transform(["dog"]) - vec.transform(["dog"])).max() < 1e-12
    # Topic models written before `info` existed said their kind in `data_kind`.
    old = {k: v for k, v in arrays.items() if k != "info"} | {"data_kind": np.asarray("text")}
    assert ModelExtras.from_arrays(old).kind == "text"
    assert ModelExtras.from_arrays({}) == ModelExtras()


def test_model_extras_of_a_labelled_matrix(tmp_path):
    (tmp_path / "t.csv").write_text("gene,a,b\ng1,1,0\ng2,0,2\n")
    data = read_matrix(tmp_path / "t.csv")
    saved = ModelExtras.from_arrays(ModelExtras.from_data(data, np.ones((2, 1))).to_arrays())
    assert saved.kind == "table" and saved.source == str(tmp_path / "t.csv")
    assert saved.column_labels.tolist() == ["a", "b"] and saved.summary["n_rows"] == 2
    assert saved.vectorizer is None and saved.image_shape is None


def test_feature_names_and_column_alignment(tmp_path):
    assert feature_names(np.array(["0", "1", "2"])) is None
    names = feature_names(np.array(["x", "y"]))
    assert names.dtype == object and names.tolist() == ["x", "y"]
    (tmp_path / "n.csv").write_text("id,b,a\nr1,2,1\n")
    data = read_matrix(tmp_path / "n.csv")
    aligned = align_columns(data, ["a", "b"])
    assert aligned.column_labels.tolist() == ["a", "b"] and aligned.X.tolist() == [[1.0, 2.0]]
    with pytest.raises(ValueError, match=r"lacks 1 column\(s\) that 'm.nmf' was fitted on: 'c'"):
        align_columns(data, ["a", "b", "c"], model="'m.nmf'")
    (tmp_path / "bare.csv").write_text("2,1\n")  # no names: kept as it is
    bare = read_matrix(tmp_path / "bare.csv")
    assert align_columns(bare, ["a", "b"]) is bare


def test_output_checks_name_the_path_and_the_fix(tmp_path):
    check_output_file(tmp_path / "m.nmf", what="the model")  # a new file in a folder: fine
    with pytest.raises(FileNotFoundError, match=r"cannot write the model to '.*m.nmf': "
                                                r"folder '.*nodir' does not exist; create it"):
        check_output_file(tmp_path / "nodir" / "m.nmf", what="the model")
    check_output_file(tmp_path / "new" / "r.html", what="the report", make_parents=True)
    with pytest.raises(IsADirectoryError, match="it is a folder; add a file name"):
        check_output_file(tmp_path, what="the model")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match=r"'.*file' is a file, not a folder"):
        check_output_folder(tmp_path / "file" / "out", what="W.csv and H.csv")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        check_output_file(tmp_path / "file" / "r.html", what="the report", make_parents=True)
    check_output_folder(tmp_path / "a" / "b", what="the figures")
    assert not (tmp_path / "a").exists()  # checking creates nothing


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root may write anywhere, whatever the permissions say")
def test_output_check_of_a_read_only_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="no permission to write in folder"):
            check_output_file(locked / "m.nmf", what="the model")
    finally:
        locked.chmod(0o700)


def test_documents_of_a_table(tmp_path):
    import pandas as pd

    pd.DataFrame({"title": ["A", "B", "C"], "text": ["dog bites", None, "man bites"]}).to_csv(
        tmp_path / "t.csv", index=False)
    assert read_documents(tmp_path / "t.csv", text_column="text", label_column="title") == (
        ["dog bites", "man bites"], ["A", "C"])
    assert read_documents(tmp_path / "t.csv", text_column="text")[1] == ["0", "2"]
    with pytest.raises(ValueError, match="is a table: name the column holding the text"):
        read_documents(tmp_path / "t.csv")
    with pytest.raises(ValueError, match="has no column 'body'; it has title, text"):
        read_documents(tmp_path / "t.csv", text_column="body")
    pd.DataFrame({"t": ["x", "x"], "text": ["a b", "c d"]}).to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(ValueError, match="column 't' repeats labels"):
        read_documents(tmp_path / "r.csv", text_column="text", label_column="t")


def test_transposed_swaps_labels_and_forgets_the_image_shape(tmp_path):
    np.save(tmp_path / "img.npy", np.random.default_rng(0).random((5, 4, 3)))
    data = read_matrix(tmp_path / "img.npy")
    T = data.transposed()
    assert T.X.shape == (12, 5) and T.kind == "matrix" and T.image_shape is None
    assert T.row_labels.tolist() == data.column_labels.tolist()
    S = read_matrix(_sparse_file(tmp_path)).transposed()
    assert sp.issparse(S.X) and S.X.format == "csr" and S.X.shape == (10, 20)


def _sparse_file(folder):
    sp.save_npz(folder / "s.npz", sp.random(20, 10, density=0.2, format="csr", random_state=0))
    return folder / "s.npz"
