"""nmfkit.stream: row-chunk readers, and MiniBatchNMF fits that read X a chunk at a time.

The contract: a fit from any reader, or any chunking, of a matrix is the fit of that
matrix (same seed, same mini-batches), in the memory of one chunk plus the factors.
"""
import gc
import sys
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from nmfkit import MiniBatchNMF, stream

@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return rng.random((500, 5)) @ rng.random((5, 24)) + 0.05 * rng.random((500, 24))


@pytest.fixture(scope="module")
def S(X):
    return sp.csr_matrix(np.where(X > np.quantile(X, 0.7), X, 0.0))


def _readers(X, S, folder):
    """(name, reader, the matrix it holds) for every reader type."""
    np.save(folder / "x.npy", X)
    pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])]).to_csv(
        folder / "x.csv", index=False)
    stream.save_npz_shards(S, folder / "shards", rows_per_shard=130)
    out = [("npy", stream.npy(folder / "x.npy", chunk_rows=77), X),
           ("csv", stream.csv(folder / "x.csv", chunk_rows=90), X),
           ("npz", stream.npz_shards(folder / "shards"), S),
           ("list", [X[:123], X[123:400], X[400:]], X),
           ("sparse list", [S[:200], S[200:]], S),
           ("callable", stream.from_iterable(lambda: iter([X[:250], X[250:]])), X),
           ("from_array", stream.from_array(S, chunk_rows=64), S)]
    try:
        import zarr
    except ImportError:
        return out
    z = zarr.open_array(str(folder / "x.zarr"), mode="w", shape=X.shape, chunks=(110, 24),
                        dtype="f8")
    z[:] = X
    return out + [("zarr", stream.zarr(folder / "x.zarr"), X)]


def _dense(M):
    return M.toarray() if sp.issparse(M) else M


def test_every_reader_gives_back_its_matrix(X, S, tmp_path):
    for name, reader, M in _readers(X, S, tmp_path):
        rows = stream.as_stream(reader)
        assert rows.shape == M.shape, name
        chunks = list(rows)
        assert all(sp.issparse(c) == sp.issparse(M) for c in chunks), name
        stacked = sp.vstack(chunks) if sp.issparse(M) else np.concatenate(chunks)
        assert_allclose(_dense(stacked), _dense(M), rtol=1e-15, err_msg=name)
        assert_allclose(_dense(stacked), _dense(M), rtol=1e-15, err_msg=name)  # re-read


@pytest.mark.parametrize("chunk_rows", [1, 7, 64, 100, 500, 999])
def test_batches_do_not_depend_on_the_chunks(X, chunk_rows):
    got = list(stream.batches(stream.from_array(X, chunk_rows), 64))
    assert [start for start, _ in got] == list(range(0, 500, 64))
    assert_array_equal(np.concatenate([b for _, b in got]), X)
    assert all(b.shape[0] == 64 for _, b in got[:-1]) and got[-1][1].shape[0] == 500 % 64


def _fit(source, **kw):
    model = MiniBatchNMF(5, init="random", batch_size=64, random_state=0, tol=0, max_iter=4,
                         max_no_improvement=None, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = model.fit_transform(source)
    return model, W


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_a_fit_from_any_reader_is_the_fit_of_the_matrix(X, S, tmp_path, solver):
    references = {id(X): _fit(X, solver=solver), id(S): _fit(S, solver=solver)}
    for name, reader, M in _readers(X, S, tmp_path):
        expected, W_expected = references[id(M)]
        model, W = _fit(reader, solver=solver)
        assert model.n_steps_ == expected.n_steps_ == 4 * 8, name
        assert_allclose(model.components_, expected.components_, rtol=1e-10, err_msg=name)
        # tol=0: every row's W solve runs the same steps on a stream as on the matrix.
        assert_allclose(W, W_expected, rtol=1e-9, atol=1e-13, err_msg=name)
        assert model.reconstruction_err_ == pytest.approx(expected.reconstruction_err_,
                                                          rel=1e-10), name
        assert_allclose(model.transform(reader), expected.transform(M), rtol=1e-9,
                        atol=1e-13, err_msg=name)


def test_csv_header_names_the_features(X, tmp_path):
    pd.DataFrame(X, columns=[f"word{j}" for j in range(24)]).to_csv(tmp_path / "x.csv",
                                                                      index=False)
    model, _ = _fit(stream.csv(tmp_path / "x.csv"))
    assert list(model.feature_names_in_) == [f"word{j}" for j in range(24)]
    assert list(model.get_feature_names_out()) == [f"minibatchnmf{i}" for i in range(5)]
    pd.DataFrame(X[:, ::-1]).to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(ValueError, match="feature names should match"):
        model.transform(stream.csv(tmp_path / "other.csv"))


def test_float32_stream_fits_in_float32(X, tmp_path):
    np.save(tmp_path / "x32.npy", X.astype(np.float32))
    model, W = _fit(stream.npy(tmp_path / "x32.npy", chunk_rows=100))
    assert model.components_.dtype == np.float32 and W.dtype == np.float32


def test_partial_fit_takes_a_generator_one_step_per_chunk(X):
    one = MiniBatchNMF(5, random_state=0)
    for start in range(0, 500, 100):
        one.partial_fit(X[start:start + 100])
    streamed = MiniBatchNMF(5, random_state=0).partial_fit(
        X[start:start + 100] for start in range(0, 500, 100))
    assert streamed.n_steps_ == one.n_steps_ == 5
    assert_allclose(streamed.components_, one.components_)


def _peak_bytes(fit):
    gc.collect()
    tracemalloc.start()
    try:
        fit()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["npy", "npz"])
def test_streaming_memory_is_one_chunk_plus_the_factors(tmp_path, kind):
    # A file of 10 chunks; the fit may hold twice (one chunk + the factors) at most.
    rng = np.random.default_rng(3)
    rows, n, k, chunk = 20_000, 100, 5, 2_000
    if kind == "npy":
        np.save(tmp_path / "big.npy", rng.random((rows, n)))
        reader = stream.npy(tmp_path / "big.npy", chunk_rows=chunk)
        chunk_bytes = chunk * n * 8
    else:
        for i in range(rows // chunk):
            sp.save_npz(tmp_path / f"part-{i:02d}.npz",
                        sp.random(chunk, n, density=0.2, format="csr", random_state=i),
                        compressed=False)
        reader = stream.npz_shards(tmp_path)
        shard = next(iter(reader))
        chunk_bytes = shard.data.nbytes + shard.indices.nbytes + shard.indptr.nbytes
        del shard
    factors = 8 * k * (rows + n)
    model = MiniBatchNMF(k, batch_size=chunk, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        peak = _peak_bytes(lambda: model.fit_transform(reader))
    assert peak <= 2 * (chunk_bytes + factors), (peak, chunk_bytes, factors)
    assert model.n_steps_ == 2 * rows // chunk
    peak = _peak_bytes(lambda: model.transform(reader))
    assert peak <= 2 * (chunk_bytes + factors), (peak, chunk_bytes, factors)


# ----------------------------------------------------------------------- errors
def test_a_bad_chunk_is_named_before_any_fitting(X):
    bad = X.copy()
    bad[210, 3] = -1.0
    chunks = [bad[:200], bad[200:]]
    with pytest.raises(ValueError, match=r"chunk 1 of X \(its row 0 is row 200 of X\).*"
                                         r"first at row 10, column 3"):
        MiniBatchNMF(3).fit(chunks)
    nan = X.copy()
    nan[5, 0] = np.nan
    with pytest.raises(ValueError, match=r"chunk 0 of X.*NaN"):
        MiniBatchNMF(3).fit([nan[:100], nan[100:]])
    with pytest.raises(ValueError, match="chunk 1 of the stream has 23 columns"):
        MiniBatchNMF(3).fit([X[:100], X[100:, 1:]])
    with pytest.raises(ValueError, match="all dense or all sparse"):
        MiniBatchNMF(3).fit([X[:100], sp.csr_matrix(X[100:])])
    with pytest.raises(ValueError, match="itakura-saito divergence is undefined where chunk 0"):
        MiniBatchNMF(3, beta_loss="itakura-saito").fit([np.zeros((4, 3)) + np.eye(4, 3)])


def test_a_generator_cannot_be_fitted_and_says_what_to_do(X):
    with pytest.raises(TypeError, match="read only once.*partial_fit"):
        MiniBatchNMF(3).fit(X[i:i + 100] for i in range(0, 500, 100))


def test_nndsvd_on_a_stream_says_what_to_do(X):
    with pytest.raises(ValueError, match="needs the SVD of the whole X.*init='random'"):
        MiniBatchNMF(3, init="nndsvda").fit([X[:100], X[100:]])
    model, _ = _fit([X[:100], X[100:]])  # init=None is 'random' on a stream
    assert model.components_.shape == (5, 24)


def test_reader_errors(tmp_path, X):
    with pytest.raises(FileNotFoundError, match="stream.npy: no file"):
        stream.npy(tmp_path / "missing.npy")
    np.save(tmp_path / "v.npy", np.arange(5.0))
    with pytest.raises(ValueError, match="needs a 2-D matrix"):
        stream.npy(tmp_path / "v.npy")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no file matching '\\*.npz'.*save_npz_shards"):
        stream.npz_shards(tmp_path / "empty")
    stream.save_npz_shards(sp.csr_matrix(X[:, :5]), tmp_path / "mixed", rows_per_shard=300)
    sp.save_npz(tmp_path / "mixed" / "part-00009.npz", sp.csr_matrix(X[:10]))
    with pytest.raises(ValueError, match="has 24 columns but 'part-00000.npz' has 5"):
        stream.npz_shards(tmp_path / "mixed")
    frame = pd.DataFrame(X[:4])
    frame["label"] = ["a", "b", "c", "d"]
    frame.to_csv(tmp_path / "text.csv", index=False)
    with pytest.raises(ValueError, match="column 'label' \\(column 24\\).*holds text"):
        list(stream.csv(tmp_path / "text.csv"))
    with pytest.raises(ValueError, match="chunk_rows must be a positive int"):
        stream.npy(tmp_path / "v.npy", chunk_rows=0)


def test_zarr_without_zarr_names_the_pip_command(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "zarr", None)  # as if zarr were not installed
    with pytest.raises(ImportError, match="pip install zarr"):
        stream.zarr(tmp_path / "x.zarr")
