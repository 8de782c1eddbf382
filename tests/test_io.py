"""Reading data files into labelled matrices."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from nmfkit.io import (detect_format, read_documents, read_matrix, summarize_matrix,
                       vectorizer_from_extras, vectorizer_to_extras, write_factor_csv)


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
