"""The benchmark problems of issue 3, generated deterministically from seeds.

Each problem is built once and cached under ``benchmarks/.cache/`` as plain ``.npy``
files, so that every contender's process loads the same bytes without regenerating
them (and without temporaries that would inflate its peak memory).

Problems (full size; ``--quick`` uses the smaller sizes in ``QUICK``):

a  dense 4,000 x 1,500, planted rank 30 plus noise, k=30, Frobenius
b  real tf-idf from the critics' consensus texts in bokeh-sampledata 2025.0, k=20
c  Poisson counts 2,000 x 1,000 from a rank-10 intensity, k=10, Kullback-Leibler
d  dense float32 20,000 x 2,000, planted rank 50 plus noise, k=50, Frobenius
e  sparse 200,000 x 20,000 at 0.5 % density, values from a planted rank-20 model, k=20
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import scipy.sparse as sp

CACHE = Path(__file__).resolve().parent / ".cache"


@dataclasses.dataclass(frozen=True)
class Problem:
    key: str
    title: str
    kind: str  # 'dense' | 'poisson' | 'sparse' | 'text'
    shape: tuple[int, int]
    k: int
    loss: str  # 'frobenius' | 'kullback-leibler'
    dtype: str = "float64"
    rank_true: int = 0
    density: float = 1.0
    noise: float = 0.0
    seed: int = 0
    n_docs: int = 0  # text problems: documents kept (0 = all)

    @property
    def sparse(self) -> bool:
        return self.kind in ("sparse", "text")

    def describe(self) -> str:
        return self.title

    def fingerprint(self) -> str:
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True).encode()
        return hashlib.sha1(blob).hexdigest()[:10]


FULL = {
    "a": Problem("a", "dense 4000x1500, planted rank 30 + noise, k=30", "dense",
                 (4000, 1500), 30, "frobenius", rank_true=30, noise=0.05, seed=1),
    "b": Problem("b", "tf-idf of bokeh-sampledata movies.db critics' consensus, k=20", "text",
                 (0, 0), 20, "frobenius", seed=2),
    "c": Problem("c", "Poisson counts 2000x1000, rank-10 intensity, KL, k=10", "poisson",
                 (2000, 1000), 10, "kullback-leibler", rank_true=10, seed=3),
    "d": Problem("d", "dense float32 20000x2000, planted rank 50 + noise, k=50", "dense",
                 (20000, 2000), 50, "frobenius", dtype="float32", rank_true=50,
                 noise=0.05, seed=4),
    "e": Problem("e", "sparse 200000x20000, 0.5% density, planted rank 20, k=20", "sparse",
                 (200_000, 20_000), 20, "frobenius", rank_true=20, density=0.005,
                 noise=0.05, seed=5),
}

QUICK = {
    "a": dataclasses.replace(FULL["a"], title="dense 1000x400, planted rank 10 + noise, k=10",
                             shape=(1000, 400), k=10, rank_true=10),
    "b": dataclasses.replace(FULL["b"], title="tf-idf of 1500 consensus texts, k=10",
                             k=10, n_docs=1500),
    "c": dataclasses.replace(FULL["c"], title="Poisson counts 500x300, KL, k=5",
                             shape=(500, 300), k=5, rank_true=5),
    "d": dataclasses.replace(FULL["d"], title="dense float32 3000x600, planted rank 20, k=20",
                             shape=(3000, 600), k=20, rank_true=20),
    "e": dataclasses.replace(FULL["e"], title="sparse 20000x4000, 0.5% density, rank 10, k=10",
                             shape=(20_000, 4_000), k=10, rank_true=10),
}


def get(key: str, quick: bool = False) -> Problem:
    return (QUICK if quick else FULL)[key]


# ----------------------------------------------------------------------------- generation
def _planted_dense(p: Problem) -> np.ndarray:
    rng = np.random.default_rng(p.seed)
    m, n = p.shape
    W = rng.exponential(1.0, (m, p.rank_true))
    H = rng.exponential(1.0, (p.rank_true, n))
    X = W @ H
    X += p.noise * X.mean() * np.abs(rng.standard_normal((m, n)))
    return X.astype(p.dtype)


def _poisson(p: Problem) -> np.ndarray:
    rng = np.random.default_rng(p.seed)
    m, n = p.shape
    W = rng.gamma(0.5, 1.0, (m, p.rank_true))
    H = rng.gamma(0.5, 1.0, (p.rank_true, n))
    lam = W @ H
    if p.density < 1.0:  # about that fraction of non-zeros (tuning.py poisson:MxNxK:FILL)
        lam *= -np.log1p(-p.density) / lam.mean()
    else:
        lam *= 2.0 / lam.mean()  # mean count 2: many zeros, a long tail
    return rng.poisson(lam).astype(p.dtype)


def _planted_sparse(p: Problem) -> sp.csr_matrix:
    """Entries at uniformly random positions, valued by a planted rank-r model plus noise."""
    rng = np.random.default_rng(p.seed)
    m, n = p.shape
    nnz_target = int(round(p.density * m * n))
    rows = rng.integers(0, m, nnz_target, dtype=np.int64)
    cols = rng.integers(0, n, nnz_target, dtype=np.int64)
    # Sort and deduplicate positions through one linear index.
    lin = np.unique(rows * n + cols)
    del rows, cols
    rows = (lin // n).astype(np.int32)
    cols = (lin % n).astype(np.int32)
    del lin
    W = rng.exponential(1.0, (m, p.rank_true))
    H = rng.exponential(1.0, (p.rank_true, n)).T.copy()
    vals = np.empty(rows.size, dtype=np.float64)
    step = 2_000_000
    for s in range(0, rows.size, step):
        r, c = rows[s:s + step], cols[s:s + step]
        vals[s:s + step] = np.einsum("ij,ij->i", W[r], H[c])
    vals += p.noise * vals.mean() * np.abs(rng.standard_normal(vals.size))
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=m), out=indptr[1:])
    X = sp.csr_matrix((vals.astype(p.dtype), cols, indptr.astype(np.int32)), shape=(m, n))
    return X


def consensus_texts(n_docs: int = 0) -> list[str]:
    """Critics' consensus sentences from bokeh-sampledata's movies.db (no download)."""
    import importlib.util

    spec = importlib.util.find_spec("bokeh_sampledata")
    if spec is None or spec.origin is None:
        raise RuntimeError("bokeh-sampledata==2025.0 is not installed")
    db = Path(spec.origin).parent / "_data" / "movies.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        rows = con.execute(
            "SELECT Consensus FROM tomatoes WHERE Consensus IS NOT NULL "
            "AND TRIM(Consensus) != '' AND Consensus NOT LIKE 'No consensus yet%' "
            "ORDER BY ID").fetchall()
    texts = [r[0] for r in rows]
    if not texts:
        raise RuntimeError(f"{db} has no consensus texts: pin bokeh-sampledata==2025.0")
    return texts[:n_docs] if n_docs else texts


def _tfidf(p: Problem) -> sp.csr_matrix:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = consensus_texts(p.n_docs)
    vec = TfidfVectorizer(stop_words="english", min_df=2)
    return vec.fit_transform(texts).tocsr().astype(p.dtype)


def build(p: Problem):
    if p.kind == "dense":
        return _planted_dense(p)
    if p.kind == "poisson":
        return _poisson(p)
    if p.kind == "sparse":
        return _planted_sparse(p)
    if p.kind == "text":
        return _tfidf(p)
    raise ValueError(p.kind)


def initial_factors(X, k: int, seed: int):
    """The shared start W0, H0: scikit-learn's 'random' init scale, from a fixed seed."""
    m, n = X.shape
    mean = float(X.sum()) / (m * n)
    avg = np.sqrt(mean / k)
    rng = np.random.RandomState(seed)
    H0 = (avg * np.abs(rng.standard_normal((k, n)))).astype(X.dtype)
    W0 = (avg * np.abs(rng.standard_normal((m, k)))).astype(X.dtype)
    return W0, H0


# ----------------------------------------------------------------------------- cache
def cache_dir(p: Problem) -> Path:
    return CACHE / f"{p.key}-{p.fingerprint()}"


def ensure_cached(p: Problem) -> Path:
    d = cache_dir(p)
    if (d / "done").exists():
        return d
    d.mkdir(parents=True, exist_ok=True)
    X = build(p)
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        X.sort_indices()
        np.save(d / "data.npy", X.data)
        np.save(d / "indices.npy", X.indices)
        np.save(d / "indptr.npy", X.indptr)
        meta = {"sparse": True, "shape": list(X.shape), "nnz": int(X.nnz)}
    else:
        np.save(d / "X.npy", X)
        meta = {"sparse": False, "shape": list(X.shape), "nnz": int(np.count_nonzero(X))}
    W0, H0 = initial_factors(X, p.k, seed=p.seed + 1000)
    np.save(d / "W0.npy", W0)
    np.save(d / "H0.npy", H0)
    meta["dtype"] = str(X.dtype)
    meta["problem"] = dataclasses.asdict(p)
    (d / "meta.json").write_text(json.dumps(meta, indent=1))
    (d / "done").write_text("")
    return d


def load(d: Path):
    """Load X, W0, H0 and the metadata from a cache folder."""
    meta = json.loads((d / "meta.json").read_text())
    if meta["sparse"]:
        X = sp.csr_matrix((np.load(d / "data.npy"), np.load(d / "indices.npy"),
                           np.load(d / "indptr.npy")), shape=tuple(meta["shape"]))
    else:
        X = np.load(d / "X.npy")
    return X, np.load(d / "W0.npy"), np.load(d / "H0.npy"), meta


if __name__ == "__main__":  # python problems.py a b ... : build the caches
    import sys

    quick = "--quick" in sys.argv
    for key in [a for a in sys.argv[1:] if not a.startswith("-")] or list(FULL):
        prob = get(key, quick)
        path = ensure_cached(prob)
        print(key, path, json.loads((path / "meta.json").read_text())["nnz"], flush=True)
