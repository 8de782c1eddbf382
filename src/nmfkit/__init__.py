"""nmfkit: non-negative matrix factorization, V ≈ WH with W, H ≥ 0.

A drop-in replacement for scikit-learn's ``NMF`` (change the import, keep the code)
and the variants and applications built on it.
"""
from importlib import import_module

from ._version import __version__  # noqa: E402

from .estimators.nmf import NMF  # noqa: E402
from .estimators.persistence import load  # noqa: E402

# Applications and heavier modules load on first use, so ``import nmfkit`` stays quick.
_LAZY = {
    "TopicModel": ("nmfkit.apps.topics", "TopicModel"),
    "SimilarityIndex": ("nmfkit.apps.similarity", "SimilarityIndex"),
    "Recommender": ("nmfkit.apps.recommender", "Recommender"),
    "SymmetricNMF": ("nmfkit.estimators.symmetric", "SymmetricNMF"),
    "TriNMF": ("nmfkit.estimators.tri", "TriNMF"),
    "MiniBatchNMF": ("nmfkit.estimators.minibatch", "MiniBatchNMF"),
    "cluster": ("nmfkit.cluster", None),
    "datasets": ("nmfkit.datasets", None),
    "images": ("nmfkit.images", None),
    "audio": ("nmfkit.audio", None),
    "stream": ("nmfkit.stream", None),
    "report": ("nmfkit.report", None),
    "metrics": ("nmfkit.metrics", None),
    "rank": ("nmfkit.rank", None),
    "select_rank": ("nmfkit.rank", "select_rank"),
    "RankSelection": ("nmfkit.rank", "RankSelection"),
    "demo": ("nmfkit.demo", None),
    "solvers": ("nmfkit.solvers", None),
}


def __getattr__(name):
    if name in _LAZY:
        module_name, attr = _LAZY[name]
        module = import_module(module_name)
        return module if attr is None else getattr(module, attr)
    raise AttributeError(f"module 'nmfkit' has no attribute {name!r}")


__all__ = ["NMF", "load", "__version__", *_LAZY]
