"""Find similar items by the cosine similarity of their NMF features.

The field's worked example: fit NMF to tf-idf of articles, normalise the rows of ``W``
and read ``W @ w_query`` as cosine similarity — an article about "Dog bites man" and
one about "Man bites dog" share topics even when they share few words.
"""
from __future__ import annotations

import difflib

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["SimilarityIndex", "UnknownLabelError"]


class UnknownLabelError(KeyError):
    """A label that is not in the index; the message suggests close matches."""

    def __str__(self):  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else ""


class SimilarityIndex:
    """Cosine similarity between labelled items, computed from their features.

    Parameters
    ----------
    features : array-like or pandas.DataFrame of shape (n_items, n_features)
        Non-negative features, typically the ``W`` of an NMF fit. A DataFrame's index
        gives the labels when ``labels`` is not passed. Rows are scaled to unit length;
        an all-zero row is similar to nothing (similarity 0).
    labels : sequence of str, optional
        One unique label per item (titles, file names, ...). Default ``0, 1, 2, ...``.

    Attributes
    ----------
    labels_ : pandas.Index
        The labels.
    normalized_features_ : ndarray of shape (n_items, n_features)
        Rows of ``features`` with unit Euclidean norm (zero rows stay zero).

    Examples
    --------
    >>> W = [[0.9, 0.1], [0.8, 0.2], [0.0, 1.0]]
    >>> index = SimilarityIndex(W, labels=["Dog bites man", "Man bites dog", "Stock prices"])
    >>> index.most_similar("Dog bites man", n=2).round(3)
    Man bites dog    0.991
    Stock prices     0.110
    Name: Dog bites man, dtype: float64
    """

    def __init__(self, features, labels=None):
        if isinstance(features, pd.DataFrame):
            if labels is None:
                labels = features.index
            features = features.to_numpy()
        if sp.issparse(features):
            features = features.toarray()  # features are n_items x k, small by design
        F = np.asarray(features, dtype=np.float64)
        if F.ndim != 2:
            raise ValueError(f"features must be 2-D (items x features), got shape {F.shape}")
        if not np.isfinite(F).all():
            raise ValueError("features hold NaN or infinite values")
        if labels is None:
            labels = range(F.shape[0])
        labels = pd.Index(list(labels))
        if len(labels) != F.shape[0]:
            raise ValueError(f"{len(labels)} labels for {F.shape[0]} items; give one label per row")
        if not labels.is_unique:
            repeated = labels[labels.duplicated()].unique()[:3].tolist()
            raise ValueError(f"labels must be unique; repeated: {repeated}")
        # Divide by each row's largest entry first: the squares of a row of tiny values
        # (1e-160) are subnormal and its norm would lose digits.
        peaks = np.abs(F).max(axis=1, keepdims=True)
        F = np.divide(F, peaks, out=np.zeros_like(F), where=peaks > 0)
        norms = np.linalg.norm(F, axis=1, keepdims=True)
        self.labels_ = labels
        self.normalized_features_ = np.divide(F, norms, out=np.zeros_like(F), where=norms > 0)

    def __len__(self):
        return len(self.labels_)

    def _position(self, label_or_index):
        if label_or_index in self.labels_:
            return self.labels_.get_loc(label_or_index)
        if isinstance(label_or_index, (int, np.integer)) and not isinstance(label_or_index, bool):
            if -len(self) <= label_or_index < len(self):
                return int(label_or_index) % len(self)
            raise IndexError(f"item {label_or_index} is out of range: the index holds "
                             f"{len(self)} items")
        text = str(label_or_index)
        strings = [str(v) for v in self.labels_]
        close = difflib.get_close_matches(text, strings, n=3, cutoff=0.6)
        if not close:  # "toy story" should find "Toy Story (1995)"
            lowered = text.lower()
            close = [s for s in strings if lowered in s.lower()][:3]
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownLabelError(f"no item labelled {text!r} among {len(self)} items{hint}")

    def similarities(self, label_or_index):
        """Cosine similarity of one item to every item (itself included), in index order.

        Parameters
        ----------
        label_or_index : label or int
            A label; an integer that is not a label is taken as a row position.

        Returns
        -------
        pandas.Series
            Indexed by the labels, named after the query.

        Raises
        ------
        KeyError
            (``UnknownLabelError``) for an unknown label, suggesting close matches.
        """
        i = self._position(label_or_index)
        values = self.normalized_features_ @ self.normalized_features_[i]
        return pd.Series(values, index=self.labels_, name=self.labels_[i])

    def most_similar(self, label_or_index, n=5, *, include_self=False):
        """The ``n`` items most similar to one item, largest cosine similarity first.

        Parameters
        ----------
        label_or_index : label or int
        n : int, default=5
        include_self : bool, default=False
            Keep the query item itself (similarity 1) in the result.

        Returns
        -------
        pandas.Series
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        scores = self.similarities(label_or_index)
        if not include_self:
            scores = scores.drop(scores.name)
        # A stable sort keeps index order among ties, so results are reproducible.
        return scores.sort_values(ascending=False, kind="stable").head(n)
