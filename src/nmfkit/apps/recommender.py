"""Rating prediction and recommendations from a non-negative factorization of the ratings.

The ratings matrix R (users x items) is mostly unknown: an unrated film is not a film
rated 0.  NMF with ``missing='mask'`` fits only the observed ratings, so
``w_uᵀh_i`` predicts the unknown ones, and the non-negative factors read as parts: a
component is a taste shared by a group of users over a group of films (Zhang, Wang, Ford &
Makedon 2006, "Learning from incomplete ratings using non-negative matrix factorization").
:meth:`Recommender.genre_enrichment` says which genres a factor's heaviest films
over-represent, by the one-sided hypergeometric test of over-representation (the test of
gene-set enrichment analysis), with Benjamini & Hochberg's (1995) false discovery rate
over all the factor-genre pairs.

The model, with ``biases=True``::

    r̂_ui = w_uᵀ h_i + b_u + c_i,        W, H ≥ 0,

the biased matrix-factorization model of Koren, Bell & Volinsky (2009, "Matrix
factorization techniques for recommender systems", IEEE Computer 42(8), eq. 4) with its
factors held non-negative and the global mean carried by the factors (ratings are
positive, so WH can hold it).  It is fitted in two blocks:

1. the factors: :class:`nmfkit.NMF` (``missing='mask'``, ridge penalty ``alpha``) on
   the ratings themselves, which are non-negative;
2. the biases: regularised least squares of the factor model's residuals on the
   observed ratings, ``min Σ_Ω (r_ui − w_uᵀh_i − b_u − c_i)² + λ(‖b‖² + ‖c‖²)``, by exact
   alternating minimisation over b and c (Koren 2010, "Factor in the neighbors", TKDD
   4(1), §2.1, fits its baseline predictors the same way).

This is one pass of block coordinate descent on the joint objective starting from zero
biases (backfitting).  Biases are real numbers (a user who rates low gets ``b_u < 0``);
only the factor model is constrained.  Predictions are clipped to the rating scale.
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import hypergeom
from sklearn.exceptions import NotFittedError

from .similarity import SimilarityIndex, UnknownLabelError

__all__ = ["Recommender"]

#: Sweeps of the bias block; each is an exact minimisation over b, then over c.
_BIAS_SWEEPS = 50
#: The bias block stops when no bias moved by more than this (in rating units).
_BIAS_TOL = 1e-6


class Recommender:
    """Predict ratings and recommend items with a non-negative factor model.

    Parameters
    ----------
    n_factors : int, default=15
        Rank k of the factor model (the NMF's ``n_components``).
    biases : bool, default=True
        Add a user bias and an item bias, fitted after the factors on their residuals
        (see the module's documentation for the model and how it is fitted).
    alpha : float, default=0.01
        Ridge penalty of the factors, :class:`nmfkit.NMF`'s ``alpha_W`` (and
        ``alpha_H='same'``), scaled as scikit-learn scales it.
    bias_alpha : float, default=1.0
        Ridge penalty λ of the biases: a user with m ratings has its bias shrunk by
        m / (m + λ).
    max_iter : int, default=200
        Maximum iterations of the NMF.
    tol : float, default=1e-4
        The NMF's stopping rule (see :class:`nmfkit.NMF`).
    random_state : int, RandomState instance or None, default=None
        Seed of the NMF's random start.
    init : str, default='random'
        The NMF's initialisation.
    rating_range : (float, float) or None, default=None
        The rating scale, (lowest, highest); predictions are clipped to it.  Default: the
        smallest and largest rating seen by :meth:`fit`.
    columns : (str, str, str), default=('user', 'item', 'rating')
        Names of the user, item and rating columns of a long-form DataFrame.
    duplicates : {'error', 'mean'}, default='error'
        What to do with several ratings of one (user, item) pair: raise ValueError, or
        fit their mean.

    Attributes
    ----------
    model_ : nmfkit.NMF
        The fitted factorization of the users x items ratings matrix.
    users_, items_ : pandas.Index
        The user and item labels seen by :meth:`fit`, in row and column order.
    user_factors_ : pandas.DataFrame of shape (n_users, n_factors)
        W, indexed by user.
    item_factors_ : pandas.DataFrame of shape (n_items, n_factors)
        Hᵀ, indexed by item.
    user_bias_, item_bias_ : pandas.Series
        b and c (zeros with ``biases=False``).
    rating_range_ : (float, float)
        The scale predictions are clipped to.
    global_mean_ : float
        Mean training rating: the prediction for an unknown user or item with
        ``unknown='mean'``.
    titles_ : pandas.Series or None
        Item titles given to :meth:`fit`.
    ratings_ : scipy.sparse.csr_matrix of shape (n_users, n_items)
        The training ratings, rows and columns in the order of ``users_`` and ``items_``.

    Examples
    --------
    >>> import pandas as pd
    >>> ratings = pd.DataFrame({"user": ["ann", "ann", "bob", "bob", "cat", "cat"],
    ...                         "item": ["A", "B", "A", "C", "B", "C"],
    ...                         "rating": [5, 4, 4, 2, 5, 1]})
    >>> rec = Recommender(n_factors=1, random_state=0).fit(ratings)
    >>> rec.recommend("ann", n=1)["item"].tolist()
    ['C']
    >>> bool(1 <= rec.predict("ann", "C") <= 5)
    True
    """

    def __init__(self, n_factors=15, *, biases=True, alpha=0.01, bias_alpha=1.0,
                 max_iter=200, tol=1e-4, random_state=None, init="random",
                 rating_range=None, columns=("user", "item", "rating"),
                 duplicates="error"):
        self.n_factors = n_factors
        self.biases = biases
        self.alpha = alpha
        self.bias_alpha = bias_alpha
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.init = init
        self.rating_range = rating_range
        self.columns = columns
        self.duplicates = duplicates

    # -- input -----------------------------------------------------------------------

    def _check_params(self):
        if not isinstance(self.n_factors, Integral) or self.n_factors < 1:
            raise ValueError(f"n_factors must be an integer >= 1, got {self.n_factors!r}")
        for name in ("alpha", "bias_alpha"):
            value = getattr(self, name)
            if not isinstance(value, Real) or not value >= 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if self.duplicates not in ("error", "mean"):
            raise ValueError(f"duplicates must be 'error' or 'mean', got {self.duplicates!r}")
        if len(tuple(self.columns)) != 3:
            raise ValueError("columns must name three columns: (user, item, rating), got "
                             f"{self.columns!r}")
        if self.rating_range is not None:
            low, high = self.rating_range
            if not low < high:
                raise ValueError(f"rating_range must be (lowest, highest) with lowest < "
                                 f"highest, got {self.rating_range!r}")

    def _long_form(self, ratings, what="ratings", need_rating=True):
        """(users, items, ratings) arrays from a long-form DataFrame."""
        if not isinstance(ratings, pd.DataFrame):
            raise TypeError(f"{what} must be a pandas DataFrame with columns "
                            f"{list(self.columns)} or a scipy.sparse matrix, got "
                            f"{type(ratings).__name__}")
        user_col, item_col, rating_col = self.columns
        wanted = [user_col, item_col] + ([rating_col] if need_rating else [])
        absent = [c for c in wanted if c not in ratings.columns]
        if absent:
            raise ValueError(f"{what} has no column {absent[0]!r} (columns: "
                             f"{list(ratings.columns)}); name the user, item and rating "
                             "columns with Recommender(columns=(user, item, rating))")
        if ratings[[user_col, item_col]].isna().any().any():
            raise ValueError(f"{what} has a missing user or item label")
        values = None
        if need_rating:
            values = pd.to_numeric(ratings[rating_col], errors="coerce").to_numpy(np.float64)
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                raise ValueError(f"{what} has {bad.size} missing or non-numeric rating(s) "
                                 f"(first at row {bad[0]}); drop them: an unrated item is "
                                 "simply absent")
            negative = np.flatnonzero(values < 0)
            if negative.size:
                raise ValueError(
                    f"{what} has {negative.size} negative rating(s) (first at row "
                    f"{negative[0]}, value {values[negative[0]]:g}); a non-negative factor "
                    "model needs ratings >= 0: shift the scale (e.g. -2..2 to 1..5)")
        return ratings[user_col].to_numpy(), ratings[item_col].to_numpy(), values

    def _ratings_matrix(self, ratings):
        """(X, users, items): the observed ratings as CSR, stored entries observed."""
        if sp.issparse(ratings):
            X = sp.csr_matrix(ratings, dtype=np.float64, copy=True)
            X.sum_duplicates()
            if not np.isfinite(X.data).all():
                raise ValueError("the ratings matrix stores NaN or infinite values")
            if (X.data < 0).any():
                raise ValueError(f"the ratings matrix has {int((X.data < 0).sum())} negative "
                                 "rating(s); a non-negative factor model needs ratings >= 0")
            rows = np.diff(X.indptr) > 0
            cols = np.bincount(X.indices, minlength=X.shape[1]) > 0
            # Users and items without a rating have nothing to fit: they stay unknown.
            X = X[rows][:, cols].tocsr()
            return X, pd.Index(np.flatnonzero(rows)), pd.Index(np.flatnonzero(cols))
        user_labels, item_labels, values = self._long_form(ratings)
        if values.size == 0:
            raise ValueError("no ratings given")
        users, u = np.unique(user_labels, return_inverse=True)
        items, i = np.unique(item_labels, return_inverse=True)
        pair = u.astype(np.int64) * len(items) + i
        order = np.argsort(pair, kind="stable")
        repeated = np.flatnonzero(np.diff(pair[order]) == 0)
        if repeated.size and self.duplicates == "error":
            first = order[repeated[0] + 1]
            raise ValueError(
                f"ratings has {repeated.size} repeated (user, item) pair(s) (first: user "
                f"{user_labels[first]!r}, item {item_labels[first]!r} at row {first}); keep "
                "one rating per pair, or pass Recommender(duplicates='mean')")
        X = sp.coo_matrix((values, (u, i)), shape=(len(users), len(items))).tocsr()
        if repeated.size:  # duplicates='mean': coo → csr summed them; divide by the count
            counts = sp.coo_matrix((np.ones_like(values), (u, i)), shape=X.shape).tocsr()
            X.data /= counts.data
        return X, pd.Index(users), pd.Index(items)

    # -- fitting ---------------------------------------------------------------------

    def fit(self, ratings, titles=None):
        """Fit the factor model (and the biases) to the observed ratings.

        Parameters
        ----------
        ratings : pandas.DataFrame or scipy.sparse matrix
            Long form, one row per rating, with the columns named by ``columns``; or a
            users x items sparse matrix whose stored entries are the ratings (a stored 0
            is a rating of 0; an absent entry is unknown) — users and items are then the
            row and column numbers, and those with no rating are left out.
        titles : pandas.Series or DataFrame, optional
            Item titles indexed by item (a DataFrame's ``title`` column), shown by
            :meth:`recommend` and :meth:`similar_items`.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For negative or missing ratings, an absent column, or repeated (user, item)
            pairs with ``duplicates='error'``.
        """
        from .. import NMF

        self._check_params()
        X, self.users_, self.items_ = self._ratings_matrix(ratings)
        if self.rating_range is None:
            self.rating_range_ = (float(X.data.min()), float(X.data.max()))
        else:
            self.rating_range_ = tuple(float(v) for v in self.rating_range)
        self.global_mean_ = float(X.data.mean())
        self.ratings_ = X
        self.model_ = NMF(n_components=self.n_factors, init=self.init, missing="mask",
                          alpha_W=self.alpha, alpha_H="same", max_iter=self.max_iter,
                          tol=self.tol, random_state=self.random_state)
        W = self.model_.fit_transform(X)
        H = self.model_.components_
        factors = pd.RangeIndex(H.shape[0], name="factor")
        self.user_factors_ = pd.DataFrame(W, index=self.users_, columns=factors)
        self.item_factors_ = pd.DataFrame(H.T, index=self.items_, columns=factors)
        b, c = np.zeros(X.shape[0]), np.zeros(X.shape[1])
        if self.biases:
            b, c = _fit_biases(X, W, H, self.bias_alpha)
        self.user_bias_ = pd.Series(b, index=self.users_, name="user_bias")
        self.item_bias_ = pd.Series(c, index=self.items_, name="item_bias")
        self.titles_ = _check_titles(titles)
        return self

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise NotFittedError("this Recommender is not fitted yet; call fit(ratings) first")

    # -- predictions -----------------------------------------------------------------

    def _scores(self, u, i):
        """Unclipped model values at positions (u, i) (known users and items)."""
        W = self.user_factors_.to_numpy()
        H = self.item_factors_.to_numpy()
        return (np.einsum("nk,nk->n", W[u], H[i]) + self.user_bias_.to_numpy()[u]
                + self.item_bias_.to_numpy()[i])

    def _clip(self, values):
        return np.clip(values, *self.rating_range_)

    def predict(self, user, item, *, unknown="error"):
        """Predicted ratings, clipped to the rating scale.

        Parameters
        ----------
        user, item : label or array-like of labels
            One pair, or equal-length arrays of pairs.
        unknown : {'error', 'mean'}, default='error'
            For a user or item :meth:`fit` did not see: raise KeyError, or predict the
            mean training rating (``global_mean_``), as scikit-surprise does.

        Returns
        -------
        float or ndarray of float

        Raises
        ------
        KeyError
            (``UnknownLabelError``) for an unknown user or item with ``unknown='error'``.
        """
        self._check_fitted()
        if unknown not in ("error", "mean"):
            raise ValueError(f"unknown must be 'error' or 'mean', got {unknown!r}")
        scalar = np.ndim(user) == 0 and np.ndim(item) == 0
        users, items = np.atleast_1d(np.asarray(user, dtype=object)), \
            np.atleast_1d(np.asarray(item, dtype=object))
        if users.shape != items.shape:
            raise ValueError(f"user and item must have the same length, got {users.shape[0]} "
                             f"and {items.shape[0]}")
        u = self._positions(self.users_, users, "user", unknown)
        i = self._positions(self.items_, items, "item", unknown)
        known = (u >= 0) & (i >= 0)
        values = np.full(len(u), self.global_mean_)
        values[known] = self._scores(u[known], i[known])
        values = self._clip(values)
        return float(values[0]) if scalar else values

    @staticmethod
    def _positions(index, labels, what, unknown):
        positions = index.get_indexer(pd.Index(list(labels), dtype=index.dtype)
                                      if len(labels) else pd.Index([]))
        missing = np.flatnonzero(positions < 0)
        if missing.size and unknown == "error":
            raise UnknownLabelError(
                f"{missing.size} unknown {what}(s) (first: {labels[missing[0]]!r}): fit saw "
                f"{len(index)} {what}s; pass unknown='mean' to predict the mean rating")
        return positions

    def _user_position(self, user):
        positions = self._positions(self.users_, np.array([user], dtype=object), "user",
                                    "error")
        return int(positions[0])

    def _with_titles(self, frame):
        if self.titles_ is not None:
            frame.insert(frame.columns.get_loc("item") + 1, "title",
                         self.titles_.reindex(frame["item"]).to_numpy())
        return frame

    def recommend(self, user, n=10, *, exclude_seen=True):
        """The ``n`` items with the highest predicted rating for one user.

        Parameters
        ----------
        user : label
            A user seen by :meth:`fit`.
        n : int, default=10
        exclude_seen : bool, default=True
            Leave out the items the user rated in the training ratings.

        Returns
        -------
        pandas.DataFrame
            Columns ``item``, ``title`` (when titles were given to :meth:`fit`) and
            ``score`` (the predicted rating, clipped to the scale), best first.  Items
            are ordered by the unclipped prediction, so items tied at the top of the
            scale keep the model's order; ties of the model keep item order.

        Raises
        ------
        KeyError
            (``UnknownLabelError``) for an unknown user.
        """
        self._check_fitted()
        if not isinstance(n, Integral) or n < 0:
            raise ValueError(f"n must be an integer >= 0, got {n!r}")
        u = self._user_position(user)
        scores = self._scores(np.full(len(self.items_), u), np.arange(len(self.items_)))
        candidates = np.arange(len(self.items_))
        if exclude_seen:
            X = self.ratings_
            seen = X.indices[X.indptr[u]:X.indptr[u + 1]]
            candidates = np.setdiff1d(candidates, seen, assume_unique=True)
        order = candidates[np.argsort(-scores[candidates], kind="stable")[:n]]
        frame = pd.DataFrame({"item": self.items_[order], "score": self._clip(scores[order])})
        return self._with_titles(frame)

    def similar_items(self, item, n=10):
        """The ``n`` items whose factors are closest (cosine) to ``item``'s.

        Through :class:`nmfkit.SimilarityIndex` on the item factors Hᵀ: two films are
        alike when the same tastes explain their ratings.

        Returns
        -------
        pandas.DataFrame
            Columns ``item``, ``title`` (when known) and ``similarity``, largest first.
        """
        self._check_fitted()
        index = SimilarityIndex(self.item_factors_)
        similar = index.most_similar(item, n=n)
        frame = pd.DataFrame({"item": similar.index, "similarity": similar.to_numpy()})
        return self._with_titles(frame)

    # -- what the factors are --------------------------------------------------------

    def _rated_items(self, min_ratings):
        """Positions of the items with at least ``min_ratings`` training ratings."""
        _check_count(min_ratings, "min_ratings", minimum=0)
        counts = np.bincount(self.ratings_.indices, minlength=len(self.items_))
        keep = np.flatnonzero(counts >= min_ratings)
        if keep.size == 0:
            raise ValueError(f"no item has {min_ratings} or more training ratings (the most "
                             f"rated has {counts.max()}); lower min_ratings")
        return keep

    def _genre_population(self, genres, min_ratings, n_top, sep):
        """(item positions, their genre indicators, genre names) for the enrichment test.

        The population is the items with enough ratings *and* a known genre list, so the
        top items and the base rates are drawn from one set, as the hypergeometric test
        assumes.
        """
        indicators = _genre_indicators(genres, sep)
        keep = self._rated_items(min_ratings)
        where = indicators.index.get_indexer(self.items_[keep])
        if not (where >= 0).any():
            raise ValueError(
                f"genres describes none of the {keep.size} items with {min_ratings} or more "
                f"ratings: its index (e.g. {list(indicators.index[:3])!r}) must hold the "
                f"item labels of the ratings (e.g. {list(self.items_[keep[:3]])!r})")
        keep, where = keep[where >= 0], where[where >= 0]
        if keep.size < n_top:
            raise ValueError(f"only {keep.size} items have genres and {min_ratings} or more "
                             f"ratings, fewer than n_top={n_top}; lower n_top or min_ratings")
        G = indicators.to_numpy(dtype=bool)[where]
        present = G.any(axis=0)  # a genre none of these items has cannot be enriched
        return keep, G[:, present], indicators.columns[present]

    def _heaviest(self, keep, n):
        """Positions in ``keep`` of each factor's ``n`` largest weights: (k, n).

        Ranking by the weight h_ci itself: it does not change when a factor is rescaled
        (W's column times s, H's row divided by s), so it is a property of the model.
        """
        H = self.item_factors_.to_numpy()[keep]
        return np.argsort(-H, axis=0, kind="stable")[:n].T

    def top_items(self, n=10, *, min_ratings=20):
        """The ``n`` heaviest items of every factor: what each taste is a taste for.

        Parameters
        ----------
        n : int, default=10
        min_ratings : int, default=20
            Consider only the items with at least this many training ratings.  An item
            rated by a handful of users gets weights that rest on those few ratings.

        Returns
        -------
        pandas.DataFrame
            Columns ``factor``, ``rank`` (1 = heaviest), ``item``, ``title`` (when titles
            were given to :meth:`fit`) and ``weight`` (h_ci); one row per factor and rank.

        Examples
        --------
        >>> import pandas as pd
        >>> ratings = pd.DataFrame({"user": [1, 1, 2, 2, 3], "item": ["A", "B", "A", "C", "C"],
        ...                         "rating": [5, 4, 4, 2, 3]})
        >>> rec = Recommender(n_factors=1, random_state=0).fit(ratings)
        >>> rec.top_items(2, min_ratings=1).columns.tolist()
        ['factor', 'rank', 'item', 'weight']
        """
        self._check_fitted()
        _check_count(n, "n")
        keep = self._rated_items(min_ratings)
        top = self._heaviest(keep, min(n, keep.size))
        k, n = top.shape
        H = self.item_factors_.to_numpy()[keep]
        frame = pd.DataFrame({
            "factor": np.repeat(np.arange(k), n),
            "rank": np.tile(np.arange(1, n + 1), k),
            "item": self.items_[keep[top.ravel()]],
            "weight": H[top, np.arange(k)[:, None]].ravel(),
        })
        return self._with_titles(frame)

    def genre_enrichment(self, genres, *, n_top=30, min_ratings=20, sep="|"):
        """How much more often each genre appears among a factor's top items than overall.

        For each factor, its ``n_top`` heaviest items are compared with all the items
        considered (those with ``min_ratings`` training ratings and a genre list).  The
        factors never saw a genre, so a genre that is enriched among a factor's top items
        is something the ratings alone revealed ("genre discovery").

        Parameters
        ----------
        genres : pandas.Series, or pandas.DataFrame
            Indexed by item: a Series of genre lists as strings (``"Action|Sci-Fi"``,
            split at ``sep``); a DataFrame with such a ``genres`` column (as
            :func:`nmfkit.datasets.load_movielens` returns in ``movies``); or a DataFrame
            of 0/1 (or boolean) indicator columns, one per genre.  Any item categories
            will do (tags, studios, decades).  Items without an entry are left out.
        n_top : int, default=30
            How many of each factor's heaviest items form its "top".
        min_ratings : int, default=20
            Consider only the items with at least this many training ratings.
        sep : str, default='|'
            The separator of genre lists given as strings.

        Returns
        -------
        pandas.DataFrame
            One row per factor and genre, sorted by factor and then p-value: ``factor``,
            ``genre``, ``in_top`` (top items with the genre), ``share_top``
            (``in_top / n_top``), ``share_all`` (the genre's share of all the items
            considered), ``enrichment`` (``share_top / share_all``), ``p_value`` (the
            one-sided hypergeometric test: the chance that ``n_top`` items drawn at random
            hold ``in_top`` or more of the genre) and ``q_value`` (Benjamini-Hochberg
            adjusted over the whole table, since every factor is tested for every genre).

        Raises
        ------
        TypeError
            For genres that are not a Series or DataFrame, or a Series of non-strings.
        ValueError
            For indicator columns that are not 0/1, or genres whose index shares no item
            with the ratings, or fewer than ``n_top`` items to choose from.
        """
        self._check_fitted()
        _check_count(n_top, "n_top")
        keep, G, names = self._genre_population(genres, min_ratings, n_top, sep)
        top = self._heaviest(keep, n_top)
        in_top = G[top].sum(axis=1)  # (k, genres)
        total = G.sum(axis=0)
        k, n_genres = in_top.shape
        # P(X >= in_top) for X ~ Hypergeometric(population, genre's items, n_top draws)
        p_value = hypergeom.sf(in_top - 1, keep.size, total[None, :], n_top)
        share_top = in_top / n_top
        share_all = np.broadcast_to(total / keep.size, in_top.shape)
        frame = pd.DataFrame({
            "factor": np.repeat(np.arange(k), n_genres),
            "genre": np.tile(np.asarray(names, dtype=object), k),
            "in_top": in_top.ravel(),
            "share_top": share_top.ravel(),
            "share_all": share_all.ravel(),
            "enrichment": (share_top / share_all).ravel(),
            "p_value": p_value.ravel(),
            "q_value": _benjamini_hochberg(p_value.ravel()),
        })
        return frame.sort_values(["factor", "p_value"], kind="stable", ignore_index=True)

    def describe_factors(self, genres=None, *, n_items=5, n_genres=2, n_top=30,
                         min_ratings=20, sep="|"):
        """One line per factor: its heaviest items and, given genres, its enriched genres.

        Parameters
        ----------
        genres : pandas.Series or DataFrame, optional
            Item genres, in any form :meth:`genre_enrichment` takes.
        n_items : int, default=5
            How many of each factor's heaviest items to name.
        n_genres : int, default=2
            At most this many genres per factor: those enriched (``enrichment > 1``)
            with the smallest p-values.
        n_top, min_ratings, sep
            As for :meth:`genre_enrichment`.  With genres, the items named are drawn
            from the items that have a genre list.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``factor``; column ``top_items`` (titles, or item labels when
            :meth:`fit` had no titles, joined by "; "), and with genres ``genres`` (joined
            by ", "), and the ``enrichment`` and ``p_value`` of the first of them.

        Examples
        --------
        >>> import pandas as pd
        >>> ratings = pd.DataFrame({"user": [1, 1, 2, 2, 3], "item": ["A", "B", "A", "C", "C"],
        ...                         "rating": [5, 4, 4, 2, 3]})
        >>> genres = pd.Series({"A": "Drama", "B": "Drama|War", "C": "Comedy"})
        >>> rec = Recommender(n_factors=1, random_state=0).fit(ratings)
        >>> rec.describe_factors(genres, n_top=2, min_ratings=1).columns.tolist()
        ['top_items', 'genres', 'enrichment', 'p_value']
        """
        self._check_fitted()
        _check_count(n_items, "n_items")
        _check_count(n_genres, "n_genres")
        if genres is None:
            keep = self._rated_items(min_ratings)
        else:
            _check_count(n_top, "n_top")
            keep, _, _ = self._genre_population(genres, min_ratings, n_top, sep)
        top = self._heaviest(keep, min(n_items, keep.size))
        labels = self.items_[keep]
        if self.titles_ is not None:
            named = self.titles_.reindex(labels)
            labels = named.where(named.notna(), pd.Series(labels, index=named.index))
        names = np.asarray(labels, dtype=object).astype(str)
        frame = pd.DataFrame({"top_items": ["; ".join(names[row]) for row in top]},
                             index=pd.RangeIndex(top.shape[0], name="factor"))
        if genres is None:
            return frame
        table = self.genre_enrichment(genres, n_top=n_top, min_ratings=min_ratings, sep=sep)
        best = table[table["enrichment"] > 1].groupby("factor").head(n_genres)
        grouped = best.groupby("factor")
        frame["genres"] = grouped["genre"].agg(", ".join).reindex(frame.index).fillna("")
        first = grouped.head(1).set_index("factor")
        frame["enrichment"] = first["enrichment"].reindex(frame.index)
        frame["p_value"] = first["p_value"].reindex(frame.index)
        return frame

    # -- evaluation ------------------------------------------------------------------

    def evaluate(self, test, *, k=10, threshold=4.0):
        """Accuracy on held-out ratings, and ranking quality of :meth:`recommend`.

        Parameters
        ----------
        test : pandas.DataFrame
            Held-out ratings, long form with the same columns as for :meth:`fit`.
            Ratings of unknown users or items are predicted as ``global_mean_``.
        k : int, default=10
            Length of the recommendation lists.
        threshold : float, default=4.0
            A held-out rating of at least ``threshold`` marks a relevant item.

        Returns
        -------
        pandas.Series
            ``rmse`` and ``mae`` of :meth:`predict` over every held-out rating;
            ``precision@k`` and ``recall@k``: for each known user with a relevant
            held-out item, ``recommend(user, k)`` (training items excluded) is compared
            with the user's relevant held-out items — hits / k and hits / relevant —
            averaged over those users; ``n_ratings``, ``n_unknown`` (ratings predicted
            as the mean) and ``n_users`` (users in the ranking figures).
        """
        self._check_fitted()
        users, items, truth = self._long_form(test, what="test")
        predicted = self.predict(users, items, unknown="mean")
        error = predicted - truth
        known_user = self.users_.get_indexer(pd.Index(users, dtype=self.users_.dtype)) >= 0
        known = known_user & (self.items_.get_indexer(
            pd.Index(items, dtype=self.items_.dtype)) >= 0)
        relevant = pd.DataFrame({"user": users, "item": items})[(truth >= threshold) & known_user]
        precision, recall = [], []
        for user, group in relevant.groupby("user", sort=True):
            top = self.recommend(user, n=k)["item"]
            hits = np.isin(top.to_numpy(), group["item"].to_numpy()).sum()
            precision.append(hits / k)
            recall.append(hits / len(group))
        return pd.Series({
            "rmse": float(np.sqrt(np.mean(error ** 2))),
            "mae": float(np.mean(np.abs(error))),
            f"precision@{k}": float(np.mean(precision)) if precision else np.nan,
            f"recall@{k}": float(np.mean(recall)) if recall else np.nan,
            "n_ratings": len(truth),
            "n_unknown": int((~known).sum()),
            "n_users": len(precision),
        })


def _fit_biases(X, W, H, lam):
    """Biases b, c minimising Σ_Ω (x_ui − w_uᵀh_i − b_u − c_i)² + λ(‖b‖² + ‖c‖²).

    Exact alternating minimisation: with c fixed each b_u is a one-variable ridge
    problem, b_u = Σ_i e_ui / (|Ω_u| + λ), and the same for c with b fixed (Koren 2010,
    §2.1).  The problem is a strictly convex quadratic for λ > 0, so the sweeps converge
    to its minimiser.
    """
    X = X.tocoo()
    u, i = X.row, X.col
    residual = X.data - np.einsum("nk,kn->n", W[u], H[:, i])
    n_u = np.bincount(u, minlength=X.shape[0]) + lam
    n_i = np.bincount(i, minlength=X.shape[1]) + lam
    b, c = np.zeros(X.shape[0]), np.zeros(X.shape[1])
    for _ in range(_BIAS_SWEEPS):
        b_new = np.bincount(u, residual - c[i], minlength=X.shape[0]) / n_u
        c_new = np.bincount(i, residual - b_new[u], minlength=X.shape[1]) / n_i
        moved = max(np.abs(b_new - b).max(), np.abs(c_new - c).max())
        b, c = b_new, c_new
        if moved < _BIAS_TOL:
            break
    return b, c


def _check_count(value, name, minimum=1):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _genre_indicators(genres, sep):
    """Items x genres boolean DataFrame from genre strings or indicator columns."""
    if isinstance(genres, pd.DataFrame) and "genres" in genres.columns:
        genres = genres["genres"]
    if isinstance(genres, pd.Series):
        genres = genres[genres.notna()]
        text = genres.map(lambda value: isinstance(value, str)).to_numpy(dtype=bool)
        if not text.all():
            first = genres.index[np.flatnonzero(~text)[0]]
            raise TypeError(f"genres must hold genre lists as strings separated by {sep!r} "
                            f"(e.g. 'Action{sep}Sci-Fi'); item {first!r} has "
                            f"{genres.loc[first]!r}")
        indicators = genres.str.get_dummies(sep).astype(bool)
    elif isinstance(genres, pd.DataFrame):
        for column in genres.columns:
            values = genres[column]
            if not (pd.api.types.is_bool_dtype(values)
                    or (pd.api.types.is_numeric_dtype(values)
                        and values.isin([0, 1]).all())):
                raise ValueError(
                    f"genres given as a DataFrame need a 'genres' column of genre lists "
                    f"('Action{sep}Sci-Fi') or 0/1 indicator columns, one per genre; column "
                    f"{column!r} holds other values")
        indicators = genres.astype(bool)
    else:
        raise TypeError(f"genres must be a pandas Series (item -> 'Action{sep}Sci-Fi') or a "
                        f"DataFrame indexed by item, got {type(genres).__name__}")
    return indicators[~indicators.index.duplicated()]


def _benjamini_hochberg(p):
    """Benjamini & Hochberg (1995) adjusted p-values: q_(i) = min_{j>=i} p_(j) m / j."""
    order = np.argsort(p, kind="stable")
    scaled = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.empty_like(scaled)
    q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q


def _check_titles(titles):
    if titles is None:
        return None
    if isinstance(titles, pd.DataFrame):
        if "title" not in titles.columns:
            raise ValueError("titles given as a DataFrame need a 'title' column, indexed by "
                             "item")
        titles = titles["title"]
    if not isinstance(titles, pd.Series):
        raise TypeError(f"titles must be a pandas Series (item -> title), got "
                        f"{type(titles).__name__}")
    return titles[~titles.index.duplicated()]
