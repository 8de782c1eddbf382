"""Bad input to every public entry point gets a clear error before any work.

``CASES`` is the table of docs/errors.md: one row per (entry point, bad input), with the
exception and the words the message must hold.  ``test_the_table_in_the_docs_is_this_one``
keeps the page and the tests the same table.
"""
import re
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

import nmfkit
import pandas as pd
from nmfkit import NMF, Recommender, SimilarityIndex, SymmetricNMF, TopicModel, TriNMF, select_rank
from nmfkit.audio import separate

RNG = np.random.default_rng(0)
GOOD = RNG.random((6, 5))
SQUARE = GOOD[:5] @ GOOD[:5].T
RATINGS = pd.DataFrame({"user": [1, 1, 2, 2], "item": ["a", "b", "a", "c"],
                        "rating": [4.0, 5.0, 3.0, 2.0]})

BAD_DATA = {
    "negative values": (-GOOD, ValueError, r"Negative values in data passed to {who}.*first at "
                                           r"row 0, column 0"),
    "NaN": (np.where(GOOD > 0.9, np.nan, GOOD), ValueError, r"4 NaN .*first at row 1, column 0"),
    "infinity": (np.where(GOOD > 0.9, np.inf, GOOD), ValueError, r"4 infinite .*row 1, column 0"),
    "no rows": (np.empty((0, 5)), ValueError, r"0 sample\(s\)"),
    "1-D": (GOOD[0], ValueError, r"Expected 2D array, got 1D array"),
    "3-D": (GOOD[None], ValueError, r"dim 3"),
    "ragged rows": ([[1.0, 2.0], [3.0]], ValueError, r"ragged: row 0 has 2 values but row 1 "
                                                     r"has 1"),
    "text": ([["a", "b"], ["c", "d"]], ValueError, r"could not convert string to float: 'a'\. "
                                                   r"{who} needs numeric X"),
    "complex numbers": (GOOD + 1j, ValueError, r"Complex data not supported: {who} needs real"),
}


def _fit(estimator):
    return lambda X: estimator.fit(X)


ENTRY_POINTS = {
    "NMF.fit": _fit(NMF(2, max_iter=20)),
    "SymmetricNMF.fit": _fit(SymmetricNMF(2, max_iter=20)),
    "TriNMF.fit": _fit(TriNMF(2, max_iter=20)),
    "select_rank": lambda X: select_rank(X, ranks=[1, 2], max_iter=20),
}
WHO = {"NMF.fit": "NMF", "SymmetricNMF.fit": "SymmetricNMF", "TriNMF.fit": "TriNMF",
       "select_rank": "select_rank"}

CASES = []
for entry, call in ENTRY_POINTS.items():
    for kind, (X, error, message) in BAD_DATA.items():
        if entry == "select_rank" and kind == "negative values":
            message = r"X has 30 negative entries \(first at row 0, column 0"
        CASES.append((entry, kind, (lambda call=call, X=X: call(X)), error,
                      message.replace("{who}", WHO[entry])))

_fitted = NMF(2, max_iter=20).fit(GOOD)
SOUND = np.random.default_rng(0).standard_normal(4096)


def _no_gpu(call, X):
    """``call(X)`` where PyTorch sees no GPU (the case this row documents)."""
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    return call(X)


CASES += [
    ("NMF", "n_components=0", lambda: NMF(0).fit(GOOD), ValueError,
     r"'n_components' parameter of NMF must be an int in the range \[1, inf\)"),
    ("NMF", "huge n_components", lambda: NMF(10**6).fit(GOOD), ValueError,
     r"n_components=1000000 needs .* GiB .* pass a smaller n_components"),
    ("NMF.transform", "wrong number of columns", lambda: _fitted.transform(GOOD[:, :3]),
     ValueError, r"X has 3 features, but NMF is expecting 5 features"),
    ("NMF", "unknown solver", lambda: NMF(2, solver="magic").fit(GOOD), ValueError,
     r"'solver' parameter of NMF must be"),
    ("NMF", "a device PyTorch does not know", lambda: NMF(2, device="tpu").fit(GOOD),
     ValueError, r"device='tpu' is not a device PyTorch knows; pass one of None"),
    ("NMF", "`device='cuda'` with no GPU", lambda: _no_gpu(NMF(2, device="cuda").fit, GOOD),
     ValueError, r"device='cuda' but PyTorch sees no CUDA GPU.*pass device='cpu'"),
    ("SymmetricNMF.fit", "non-square matrix", lambda: SymmetricNMF(2).fit(GOOD), ValueError,
     r"square symmetric matrix .* got shape \(6, 5\)"),
    ("SymmetricNMF.fit", "non-symmetric matrix", lambda: SymmetricNMF(2).fit(np.triu(SQUARE)),
     ValueError, r"largest asymmetry"),
    ("SymmetricNMF.fit", "directed graph", lambda: SymmetricNMF(2).fit(nx.DiGraph([(0, 1)])),
     ValueError, r"directed graph.*to_undirected\(\)"),
    ("SymmetricNMF.fit", "negative edge weight",
     lambda: SymmetricNMF(1).fit(nx.Graph([(0, 1, {"weight": -1.0}), (1, 2)])), ValueError,
     r"edge \(0, 1\) of the graph has .weight. = -1"),
    ("TriNMF.fit", "more row clusters than rows", lambda: TriNMF(7).fit(GOOD), ValueError,
     r"n_row_clusters=7 is larger than n_samples=6"),
    ("select_rank", "all zeros", lambda: select_rank(np.zeros((6, 5)), ranks=[1, 2]),
     ValueError, r"X is all zeros"),
    ("select_rank", "unknown method", lambda: select_rank(GOOD, ranks=[1, 2], method="guess"),
     ValueError, r"guess"),
    ("load", "no such file", lambda: nmfkit.load("no-such-model.nmf"), FileNotFoundError,
     r"No model file at 'no-such-model.nmf'"),
    ("NMF.fit", "checkpoint in a missing folder",
     lambda: NMF(2).fit(GOOD, checkpoint="no/such/folder/fit.ckpt"), FileNotFoundError,
     r"the folder of checkpoint='no/such/folder/fit.ckpt' does not exist"),
    ("NMF.fit", "checkpoint_every=0",
     lambda: NMF(2).fit(GOOD, checkpoint="fit.ckpt", checkpoint_every=0), ValueError,
     r"checkpoint_every must be a positive number of iterations, got 0"),
    ("NMF.fit", "resume a missing checkpoint", lambda: NMF(2).fit(GOOD, resume="none.ckpt"),
     FileNotFoundError, r"no checkpoint file at resume='none.ckpt'"),
    ("SimilarityIndex.most_similar", "a label that does not exist",
     lambda: SimilarityIndex(pd.DataFrame(GOOD, index=[f"item {i}" for i in range(6)]))
     .most_similar("itme 1"), KeyError, r"no item labelled 'itme 1' among 6 items; did you "
                                        r"mean 'item 1'"),
    ("Recommender.recommend", "a user the fit never saw",
     lambda: Recommender(2, random_state=0).fit(RATINGS).recommend(7), KeyError,
     r"1 unknown user\(s\) \(first: 7\)"),
    ("Recommender.genre_enrichment", "genres indexed by other labels than the items",
     lambda: Recommender(2, random_state=0).fit(RATINGS).genre_enrichment(
         pd.Series({"x": "Drama"}), n_top=1, min_ratings=1), ValueError,
     r"genres describes none of the 3 items"),
    ("audio.separate", "a stereo signal", lambda: separate(np.zeros((4096, 2)), 16000, 2),
     ValueError, r"signal must be 1-D .*signal\[:, 0\]"),
    ("audio.separate", "NaN sample",
     lambda: separate(np.where(np.arange(4096) == 7, np.nan, SOUND), 16000, 2), ValueError,
     r"1 NaN or infinite sample\(s\) \(first at sample 7\)"),
    ("audio.separate", "a file name instead of samples", lambda: separate("song.wav", 16000, 2),
     TypeError, r"scipy.io.wavfile.read"),
    ("audio.separate", "shorter than one frame", lambda: separate(SOUND[:1000], 16000, 2),
     ValueError, r"1000 sample\(s\), fewer than one STFT frame \(n_fft=2048\)"),
    ("audio.separate", "all zeros", lambda: separate(np.zeros(4096), 16000, 2), ValueError,
     r"all zeros"),
    ("TopicModel.fit", "one string instead of a list", lambda: TopicModel(2).fit("a text"),
     TypeError, r"not one string; wrap it in a list"),
    ("NMF.fit", '`solver="em"` with a sparse X',
     lambda: NMF(2, solver="em", missing="mask").fit(sp.csr_matrix(GOOD)), ValueError,
     r"solver='em' needs dense X, with NaN at the unobserved entries; for a sparse X use "
     r"solver='auto'"),
    ("NMF.fit (dask array)", "negative values", lambda: NMF(2).fit(_dask(-GOOD)), ValueError,
     r"30 negative entries \(first at row 0, column 0"),
    ("NMF.fit (dask array)", "dense and sparse chunks mixed",
     lambda: NMF(2).fit(_dask(GOOD, sparse_first=True)), TypeError,
     r"mixes dense and sparse chunks"),
    ("NMF.fit (dask array)", "a solver that needs all of X at once",
     lambda: NMF(2, solver="pgd").fit(_dask(GOOD)), ValueError,
     r"solver='pgd' does not run on a dask array.*use solver='hals', 'mu'"),
    ("NMF.fit (dask array)", "an NNDSVD start", lambda: NMF(2, init="nndsvd").fit(_dask(GOOD)),
     ValueError, r"init='nndsvd' needs an SVD of all of X.*init='random'"),
    ("NMF.fit (dask array)", "`missing='mask'`",
     lambda: NMF(2, missing="mask").fit(_dask(GOOD)), ValueError,
     r"missing='mask' is not available for a dask array"),
    ("NMF.fit (dask array)", "`orthogonal=`", lambda: NMF(2, orthogonal="H").fit(_dask(GOOD)),
     ValueError, r"orthogonal='H' is not available for a dask array"),
    ("NMF.fit (dask array)", "`shuffle=True`", lambda: NMF(2, shuffle=True).fit(_dask(GOOD)),
     ValueError, r"shuffle=True .*pass shuffle=False"),
    ("NMF.fit (dask array)", "a checkpoint",
     lambda: NMF(2).fit(_dask(GOOD), checkpoint="fit.ckpt"), ValueError,
     r"checkpoint= and resume= are not available for a dask array"),
    ("NMF.transform (dask array)", "wrong number of columns",
     lambda: NMF(2, max_iter=20).fit(GOOD).transform(_dask(GOOD[:, :3])), ValueError,
     r"X has 3 features, but NMF is expecting 5"),
]


def _dask(X, sparse_first=False):
    """X as a dask array of row blocks of 3 (the first block CSR if ``sparse_first``)."""
    import dask.array as da
    import scipy.sparse as sp

    Xd = da.from_array(X, chunks=(3, X.shape[1]))
    if sparse_first:
        return Xd.map_blocks(lambda b, block_info=None: sp.csr_matrix(b)
                             if block_info[0]["chunk-location"][0] == 0 else b,
                             meta=np.empty((0, 0)))
    return Xd


@pytest.mark.parametrize("entry, kind, call, error, message", CASES,
                         ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_bad_input_gets_a_clear_error(entry, kind, call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_all_zero_data_gives_zero_factors_and_a_warning():
    for estimator in (NMF(2), SymmetricNMF(2), TriNMF(2, init="random")):
        with pytest.warns(UserWarning, match="X is all zeros"):
            estimator.fit(np.zeros((5, 5)))
        assert not np.any(estimator.components_)


def _doc_rows():
    text = (Path(__file__).resolve().parents[1] / "docs" / "errors.md").read_text()
    rows = set()
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 3:
            rows.add((cells[0].strip("`"), cells[1]))
    return rows


def test_the_table_in_the_docs_is_this_one():
    assert _doc_rows() == {(entry, kind) for entry, kind, *_ in CASES}
