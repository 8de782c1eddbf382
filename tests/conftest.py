"""Shared test data: small planted problems, a tf-idf-like sparse matrix, digits."""
import os
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import settings

# Property tests draw the same examples on every run, so a red CI run can be replayed
# and a green one is not luck.  To search fresh examples:
# HYPOTHESIS_PROFILE=explore make test
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
# make fuzz: many fresh examples for tests/test_fuzz.py (and every other property test).
settings.register_profile("fuzz", max_examples=2000, derandomize=False, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

SOLVERS = ["hals", "mu", "als", "anls", "pgd"]
MONOTONE_SOLVERS = ["hals", "mu", "anls"]
EXACT_SOLVERS = ["hals", "anls"]


def planted(m=60, n=40, k=5, noise=0.0, seed=0, density=None):
    """X = W H (+ noise) with non-negative W (m x k), H (k x n); optional sparse H."""
    rng = np.random.default_rng(seed)
    W = rng.random((m, k))
    H = rng.random((k, n))
    if density is not None:
        H *= rng.random((k, n)) < density
    X = W @ H
    if noise:
        X = np.abs(X + noise * X.std() * rng.standard_normal((m, n)))
    return X, W, H


def tfidf_like(m=300, n=500, seed=0):
    """A sparse tf-idf matrix from Zipf-distributed word counts in m documents."""
    from sklearn.feature_extraction.text import TfidfTransformer

    rng = np.random.default_rng(seed)
    topics = rng.dirichlet(np.full(n, 0.05), size=8)
    mix = rng.dirichlet(np.full(8, 0.3), size=m)
    lengths = rng.integers(20, 80, size=m)
    counts = np.vstack([rng.multinomial(L, p / p.sum()) for L, p in zip(lengths, mix @ topics)])
    X = TfidfTransformer(sublinear_tf=True).fit_transform(sp.csr_matrix(counts))
    X = X[:, np.asarray(X.sum(axis=0)).ravel() > 0]
    return sp.csr_matrix(X)


@pytest.fixture
def python_sigint():
    """SIGINT raises KeyboardInterrupt during the test, as in a terminal, whatever the
    test runner inherited (a runner started in the background ignores SIGINT)."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def dense_problem():
    return planted(60, 40, 5, noise=0.05, seed=1)[0]


@pytest.fixture(scope="session")
def sparse_problem():
    return tfidf_like(120, 200, seed=2)


def frobenius(X, W, H):
    R = (X.toarray() if sp.issparse(X) else X) - W @ H
    return 0.5 * float((R * R).sum())


def fit(X, **params):
    """Fit nmfkit.NMF with warnings silenced (tests cap max_iter); returns (model, W)."""
    from nmfkit import NMF

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = NMF(**params)
        W = model.fit_transform(X)
    return model, W


@pytest.fixture(scope="session", autouse=True)
def _blas_threads_per_worker():
    """Under pytest-xdist, each worker's BLAS gets its share of the cores: N workers each
    running BLAS on every core oversubscribe the machine many times over."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers <= 1:
        yield
        return
    from threadpoolctl import threadpool_limits

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with threadpool_limits(limits=max(1, (cores or 1) // workers), user_api="blas"):
        yield
