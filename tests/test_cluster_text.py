"""Text clustering by NMF on real text: critics' consensus of films of three genres."""
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer

from nmfkit import NMF
from nmfkit.cluster import hard_labels, soft_membership
from nmfkit.datasets import load_movies


def purity(truth, labels):
    """Share of documents in their cluster's majority category."""
    table = pd.crosstab(np.asarray(labels), np.asarray(truth))
    return table.max(axis=1).sum() / len(truth)


def test_nmf_clusters_film_texts_by_genre_at_least_as_purely_as_kmeans():
    films = load_movies()
    genres = ("Documentary", "Horror", "Comedy")
    films = films[films["genres"].str.strip().isin(genres)]  # films of one genre only
    truth = films["genres"].str.strip()
    assert set(truth) == set(genres) and len(films) > 400
    X = TfidfVectorizer(stop_words="english", min_df=2, sublinear_tf=True).fit_transform(
        films["consensus"])
    W = pd.DataFrame(NMF(3, random_state=0, max_iter=500).fit_transform(X), index=films.index)
    labels = hard_labels(W)
    assert list(labels.index) == list(films.index)
    # a text none of the topics explains (its words all too rare) has no cluster
    explained = (W > 0).any(axis=1)
    np.testing.assert_allclose(soft_membership(W).sum(axis=1), explained.astype(float))
    assert (labels[~explained] == -1).all() and explained.mean() > 0.99
    nmf_purity = purity(truth, labels)
    kmeans_purity = purity(truth, KMeans(3, n_init=10, random_state=0).fit_predict(X))
    assert nmf_purity >= kmeans_purity
    assert nmf_purity > 0.75
