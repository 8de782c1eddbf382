"""Topic models: tf-idf of documents factorized by NMF.

Rows of ``H`` are topics (weights over terms), rows of ``W`` say how much of each topic
a document holds — the text-mining example every NMF course starts with.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from ..io import ModelExtras, make_vectorizer, vectorize_documents
from .similarity import SimilarityIndex

__all__ = ["TopicModel"]


class TopicModel:
    """Topics of a corpus: tf-idf, then NMF.

    Parameters
    ----------
    n_topics : int
        Number of topics (the NMF rank ``k``).
    vectorizer : scikit-learn vectorizer, optional
        Turns documents into a non-negative matrix. It is cloned before fitting. Default
        :func:`nmfkit.io.make_vectorizer`: tf-idf with English stop words, sublinear term
        frequency, terms in at least 2 documents (for 50 or more documents) and at most
        95 % of them.
    **nmf_params
        Passed to :class:`nmfkit.NMF` (``beta_loss``, ``random_state``, ``max_iter``, ...).

    Attributes
    ----------
    model_ : nmfkit.NMF
        The fitted factorization; ``model_.components_`` is topics x terms.
    vectorizer_ : the fitted vectorizer
    terms_ : ndarray of str
        The vocabulary, in column order.
    document_topics_ : pandas.DataFrame of shape (n_documents, n_topics)
        ``W``: topic weights per document, indexed by the labels, columns ``0..k-1``.
    labels_ : pandas.Index
        The document labels.
    timings_ : dict of str to float
        Wall-clock seconds of the steps of :meth:`fit`: ``'vectorize'`` (building the
        tf-idf matrix) and ``'nmf'`` (the factorization, initialization included; the
        iterations alone are ``model_.loss_curve_``'s last ``seconds``).

    Examples
    --------
    >>> docs = ["the dog bites the man", "a man bites a dog", "dogs and men fight",
    ...         "stock prices fall", "prices of stocks rise", "markets and stock prices"]
    >>> topics = TopicModel(2, random_state=0).fit(docs)
    >>> sorted(topics.top_terms(2).groupby("topic")["term"].apply(" ".join))
    ['bites dog', 'prices stock']
    >>> int(topics.most_similar(0, n=1).index[0])
    1
    """

    def __init__(self, n_topics, vectorizer=None, **nmf_params):
        self.n_topics = n_topics
        self.vectorizer = vectorizer
        self.nmf_params = nmf_params

    # -- fitting ---------------------------------------------------------------------

    def _make_nmf(self):
        from .. import NMF

        params = {"init": "nndsvda", **self.nmf_params}
        return NMF(n_components=self.n_topics, **params)

    def fit(self, documents, labels=None):
        """Vectorize ``documents`` and fit NMF.

        Parameters
        ----------
        documents : sequence of str
        labels : sequence, optional
            One unique label per document (titles, file names); default ``0, 1, ...``.
            A pandas Series of documents gives its index as labels.

        Returns
        -------
        self
        """
        documents, labels = self._check_documents(documents, labels)
        vectorizer = make_vectorizer(len(documents)) if self.vectorizer is None \
            else clone(self.vectorizer)
        start = time.perf_counter()
        X, self.vectorizer_ = vectorize_documents(documents, vectorizer)
        vectorized = time.perf_counter()
        self._fit_matrix(X, labels)
        self.timings_ = {"vectorize": vectorized - start,
                         "nmf": time.perf_counter() - vectorized}
        return self

    def fit_transform(self, documents, labels=None):
        """Fit and return :attr:`document_topics_`."""
        return self.fit(documents, labels).document_topics_

    def _fit_matrix(self, X, labels):
        self.terms_ = np.asarray(self.vectorizer_.get_feature_names_out(), dtype=str)
        if self.n_topics > min(X.shape):
            raise ValueError(
                f"n_topics={self.n_topics} is more than the corpus supports "
                f"({X.shape[0]} documents, {X.shape[1]} terms); choose at most {min(X.shape)}"
            )
        self.model_ = self._make_nmf()
        W = self.model_.fit_transform(X)
        self.labels_ = labels
        self.document_topics_ = pd.DataFrame(W, index=labels, columns=self._topic_index())
        self.n_documents_, self.n_terms_ = X.shape
        return self

    @staticmethod
    def _check_documents(documents, labels):
        if isinstance(documents, str):
            raise TypeError("documents must be a sequence of strings, not one string; "
                            "wrap it in a list")
        if isinstance(documents, pd.Series):
            if labels is None:
                labels = documents.index
            documents = documents.tolist()
        documents = list(documents)
        if not documents:
            raise ValueError("no documents given")
        for i, doc in enumerate(documents):
            if not isinstance(doc, str):
                raise TypeError(f"document {i} is a {type(doc).__name__}, not a string")
        labels = pd.RangeIndex(len(documents)) if labels is None else pd.Index(list(labels))
        if len(labels) != len(documents):
            raise ValueError(f"{len(labels)} labels for {len(documents)} documents")
        if not labels.is_unique:
            raise ValueError("labels must be unique; repeated: "
                             f"{labels[labels.duplicated()].unique()[:3].tolist()}")
        return documents, labels

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise NotFittedError("this TopicModel is not fitted yet; call fit(documents) first")

    def _topic_index(self):
        return pd.RangeIndex(self.n_topics, name="topic")

    # -- results ---------------------------------------------------------------------

    def transform(self, documents, labels=None):
        """Topic weights of new documents (NMF ``transform`` of their tf-idf).

        Returns
        -------
        pandas.DataFrame of shape (n_documents, n_topics)
        """
        self._check_fitted()
        documents, labels = self._check_documents(documents, labels)
        X = sp.csr_matrix(self.vectorizer_.transform(documents))
        return pd.DataFrame(self.model_.transform(X), index=labels, columns=self._topic_index())

    @property
    def components_(self):
        """Topics x terms weights (``H``) as a DataFrame."""
        self._check_fitted()
        return pd.DataFrame(self.model_.components_, index=self._topic_index(),
                            columns=pd.Index(self.terms_, name="term"))

    def top_terms(self, n=10):
        """The ``n`` heaviest terms of every topic.

        Returns
        -------
        pandas.DataFrame
            Columns ``topic``, ``rank`` (1 = heaviest), ``term``, ``weight``; one row per
            topic and rank.
        """
        self._check_fitted()
        H = self.model_.components_
        n = min(int(n), H.shape[1])
        order = np.argsort(-H, axis=1, kind="stable")[:, :n]
        rows = [(t, r + 1, self.terms_[j], float(H[t, j]))
                for t in range(H.shape[0]) for r, j in enumerate(order[t])]
        return pd.DataFrame(rows, columns=["topic", "rank", "term", "weight"])

    def topic_names(self, n_terms=3):
        """A short name per topic: its ``n_terms`` heaviest terms joined by commas."""
        terms = self.top_terms(n_terms)
        return terms.groupby("topic")["term"].apply(", ".join).tolist()

    def similarity_index(self):
        """A :class:`~nmfkit.SimilarityIndex` over the documents' topic weights."""
        self._check_fitted()
        return SimilarityIndex(self.document_topics_)

    def most_similar(self, label, n=5):
        """The ``n`` documents whose topic mix is closest (cosine) to ``label``'s.

        Returns
        -------
        pandas.Series
            Cosine similarities labelled by the documents' labels, largest first.
        """
        return self.similarity_index().most_similar(label, n=n)

    # -- persistence -----------------------------------------------------------------

    def save(self, path, extras=None):
        """Save to one file (no pickle): the NMF, vocabulary, idf weights and labels.

        The file is a model file as ``nmfkit topics -o`` writes it (see
        :class:`nmfkit.io.ModelExtras`); ``extras`` (name -> array) are stored beside them.
        """
        self._check_fitted()
        saved = ModelExtras(W=self.document_topics_.to_numpy(), row_labels=self.labels_,
                            column_labels=self.terms_, kind="text", vectorizer=self.vectorizer_)
        self.model_.save(path, extras={**(extras or {}), **saved.to_arrays()})
        return path

    @classmethod
    def load(cls, path):
        """Load a topic model written by :meth:`save` (or by ``nmfkit topics -o``)."""
        from .. import load

        return cls.from_model(load(path), source=path)

    @classmethod
    def from_model(cls, model, *, source=None):
        """The topic model held by a loaded NMF model (:func:`nmfkit.load`) fitted on text.

        Parameters
        ----------
        model : nmfkit.NMF
            Loaded from a file written by :meth:`save`, ``nmfkit topics -o`` or
            ``nmfkit fit`` of text.
        source : str or Path, optional
            The file it was loaded from, named in the error message.

        Returns
        -------
        TopicModel
            Fitted: its topics, vocabulary and the training documents' topic weights.

        Raises
        ------
        ValueError
            When the model was not fitted on text (it holds no vocabulary).
        """
        saved = ModelExtras.of(model)
        if saved.vectorizer is None:
            where = "the model" if source is None else repr(str(source))
            raise ValueError(f"{where} holds an NMF model without a vocabulary; "
                             "it was not saved from text")
        self = cls(int(model.n_components_))
        self.model_ = model
        self.vectorizer_ = saved.vectorizer
        self.terms_ = np.asarray(self.vectorizer_.get_feature_names_out(), dtype=str)
        # The training memberships are optional in a model file: without them the topics
        # and transform work, similarity among the training documents does not.
        W = saved.W if saved.W is not None else np.zeros((0, self.n_topics))
        self.labels_ = (pd.Index(saved.row_labels) if saved.row_labels is not None
                        else pd.RangeIndex(len(W)))
        self.document_topics_ = pd.DataFrame(W, index=self.labels_, columns=self._topic_index())
        self.n_documents_, self.n_terms_ = len(self.labels_), len(self.terms_)
        return self
