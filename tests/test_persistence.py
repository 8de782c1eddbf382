"""save → load round trips; damaged, foreign and future files are refused clearly."""
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest

import nmfkit
from nmfkit.estimators import persistence


@pytest.fixture
def fitted(dense_problem):
    df = pd.DataFrame(dense_problem, columns=[f"f{i}" for i in range(dense_problem.shape[1])])
    return nmfkit.NMF(4, random_state=0, max_iter=50, alpha_W=0.01).fit(df), df


def test_round_trip_gives_identical_transform(tmp_path, fitted):
    model, df = fitted
    path = tmp_path / "model.nmf"
    labels = np.array([f"doc {i}" for i in range(len(df))])
    model.save(path, extras={"W": model.transform(df), "labels": labels})
    loaded = nmfkit.load(path)
    np.testing.assert_array_equal(loaded.transform(df), model.transform(df))
    np.testing.assert_array_equal(loaded.components_, model.components_)
    assert loaded.get_params() == {**model.get_params()}
    assert list(loaded.feature_names_in_) == list(df.columns)
    assert loaded.n_iter_ == model.n_iter_ and loaded.reconstruction_err_ == model.reconstruction_err_
    pd.testing.assert_frame_equal(loaded.loss_curve_, model.loss_curve_)
    np.testing.assert_array_equal(loaded.extras_["labels"], labels)
    assert set(loaded.extras_) == {"W", "labels"}


def test_file_holds_no_pickle(tmp_path, fitted):
    model, _ = fitted
    path = tmp_path / "model.nmf"
    model.save(path)
    with np.load(path, allow_pickle=False) as archive:  # would raise on object arrays
        metadata = json.loads(archive["__metadata__"].tobytes())
        for name in archive.files:
            assert archive[name].dtype != object
    assert metadata["format"] == "nmfkit-model" and metadata["format_version"] == 1


def test_truncated_file(tmp_path, fitted):
    model, _ = fitted
    path = tmp_path / "model.nmf"
    model.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        nmfkit.load(path)


def test_newer_format_version(tmp_path, fitted):
    model, _ = fitted
    path = tmp_path / "model.nmf"
    model.save(path)
    with np.load(path) as archive:
        contents = {name: archive[name] for name in archive.files}
    metadata = json.loads(contents["__metadata__"].tobytes())
    metadata["format_version"] = persistence.FORMAT_VERSION + 1
    contents["__metadata__"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    np.savez(open(path, "wb"), **contents)
    with pytest.raises(ValueError, match="newer than this nmfkit reads.*upgrade"):
        nmfkit.load(path)


def test_not_an_nmfkit_file(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not an nmfkit model file"):
        nmfkit.load(text)
    other = tmp_path / "arrays.npz"
    np.savez(other, a=np.ones(3))
    with pytest.raises(ValueError, match="not an nmfkit model file"):
        nmfkit.load(other)
    with pytest.raises(FileNotFoundError):
        nmfkit.load(tmp_path / "missing.nmf")


def test_a_failed_save_leaves_the_old_file_and_no_debris(tmp_path, fitted, monkeypatch):
    model, _ = fitted
    path = tmp_path / "model.nmf"
    model.save(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.nmf"]
    assert zipfile.is_zipfile(path)


def test_unfitted_model_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        nmfkit.NMF(2).save(tmp_path / "m.nmf")
    assert not (tmp_path / "m.nmf").exists()


def test_pickle_round_trip(fitted):
    model, df = fitted
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.transform(df), model.transform(df))


def test_orthogonal_model_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X = np.repeat(np.eye(3), 10, axis=1) * rng.uniform(1, 2, size=(3, 30)) + 0.01
    X = np.vstack([X, X * 0.5])
    model = nmfkit.NMF(3, orthogonal="H", random_state=0).fit(X)
    model.save(tmp_path / "o.nmf")
    loaded = nmfkit.load(tmp_path / "o.nmf")
    assert loaded.orthogonality_ == model.orthogonality_
    assert loaded.orthogonal == "H"


def _rewrite_member(path, name, data):
    """Copy the archive at ``path`` with member ``name`` (a .npy) replaced by ``data``."""
    members = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            members[info.filename] = archive.read(info)
    members[name + ".npy"] = data
    with zipfile.ZipFile(path, "w") as archive:
        for filename, content in members.items():
            archive.writestr(filename, content)


def test_a_crafted_huge_shape_is_refused_before_any_allocation(tmp_path, fitted):
    """A .npy header claiming 10¹⁵ float64 values in a member of a few bytes: load must
    refuse it from the header, not ask NumPy for 8 PB first."""
    import tracemalloc

    model, _ = fitted
    path = tmp_path / "model.nmf"
    model.save(path)
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 10**6)})
    buffer.write(b"\0" * 64)
    _rewrite_member(path, "components_", buffer.getvalue())
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"claims shape \(1000000000, 1000000\)"):
            nmfkit.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000


def test_arrays_that_disagree_with_the_metadata_are_refused(tmp_path, fitted):
    model, _ = fitted
    path = tmp_path / "model.nmf"
    model.save(path)
    buffer = io.BytesIO()
    np.save(buffer, np.ones((3, 5)))  # the model has 4 components
    _rewrite_member(path, "components_", buffer.getvalue())
    with pytest.raises(ValueError, match=r"components_ has shape \(3, 5\) but the metadata says"):
        nmfkit.load(path)


def test_complex_arrays_are_refused(tmp_path, fitted):
    model, _ = fitted
    path = tmp_path / "model.nmf"
    model.save(path)
    buffer = io.BytesIO()
    np.save(buffer, model.components_.astype(complex))
    _rewrite_member(path, "components_", buffer.getvalue())
    with pytest.raises(ValueError, match="not real numbers"):
        nmfkit.load(path)
