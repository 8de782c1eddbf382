"""TopicModel and SimilarityIndex: properties on planted and real data."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import CountVectorizer

import nmfkit
from nmfkit.apps.similarity import SimilarityIndex, UnknownLabelError
from nmfkit.apps.topics import TopicModel

ANIMALS = ["dog bites man", "man bites dog", "dog chases cat", "cat bites dog",
           "the cat and the dog", "dog and cat fight"]
MONEY = ["stock prices fall", "stock markets rise", "prices of stock crash",
         "markets fall as prices rise", "stock prices and markets", "investors sell stock"]


def test_dog_bites_man():
    """The field's example: similar by topic, not by word order."""
    topics = TopicModel(2, random_state=0).fit(ANIMALS + MONEY, labels=ANIMALS + MONEY)
    best = topics.most_similar("Dog bites man".lower(), n=3)
    assert best.name == "dog bites man" and "dog bites man" not in best.index
    assert set(best.index) <= set(ANIMALS)
    assert best.is_monotonic_decreasing


def test_topic_model_separates_planted_topics():
    topics = TopicModel(2, random_state=0, max_iter=300).fit(ANIMALS + MONEY)
    W = topics.document_topics_
    assert W.shape == (12, 2) and (W.to_numpy() >= 0).all()
    animal_topic = int(np.argmax(W.iloc[:6].sum()))
    assert (W.iloc[:6].idxmax(axis=1) == animal_topic).all()
    assert (W.iloc[6:].idxmax(axis=1) != animal_topic).all()
    terms = topics.top_terms(3)
    assert list(terms.columns) == ["topic", "rank", "term", "weight"]
    assert len(terms) == 6 and terms.groupby("topic")["weight"].is_monotonic_decreasing.all()
    assert {"dog", "stock"} <= set(terms.term)
    # new documents land in the right topic; training documents get their own weights back
    new = topics.transform(["a dog and a cat", "stock markets"], labels=["pets", "finance"])
    assert new.loc["pets"].idxmax() == animal_topic != new.loc["finance"].idxmax()
    again = topics.transform(ANIMALS + MONEY).to_numpy()
    assert np.allclose(again, W.to_numpy(), atol=0.05 * W.to_numpy().max())
    assert len(topics.topic_names(2)) == 2


def test_topic_model_accepts_a_vectorizer_and_a_series(tmp_path):
    docs = pd.Series(ANIMALS + MONEY, index=[f"d{i}" for i in range(12)])
    vec = CountVectorizer()
    topics = TopicModel(2, vectorizer=vec, random_state=0).fit(docs)
    assert not hasattr(vec, "vocabulary_")  # the given vectorizer is cloned, not fitted
    assert list(topics.document_topics_.index[:2]) == ["d0", "d1"]
    path = topics.save(tmp_path / "t.nmf")
    loaded = TopicModel.load(path)
    assert loaded.top_terms(3).equals(topics.top_terms(3))
    assert np.allclose(loaded.transform(["stock prices"]), topics.transform(["stock prices"]))


def test_topic_model_errors():
    with pytest.raises(NotFittedError):
        TopicModel(2).top_terms()
    with pytest.raises(TypeError, match="not one string"):
        TopicModel(2).fit("one long string")
    with pytest.raises(ValueError, match="more than the corpus supports"):
        TopicModel(50).fit(ANIMALS)
    with pytest.raises(ValueError, match="repeated"):
        TopicModel(2).fit(ANIMALS, labels=["a"] * 6)


def test_topics_on_real_film_texts_are_about_film():
    movies = nmfkit.datasets.load_movies().iloc[::3]
    topics = TopicModel(8, random_state=0, max_iter=100).fit(movies.consensus, movies.index)
    assert topics.document_topics_.index.equals(movies.index)
    terms = set(topics.top_terms(10).term)
    assert {"comedy", "performances"} & terms and not {"the", "and", "of"} & terms


def test_dominant_topics_follow_the_genres_more_than_lda_topics_do():
    """Issue 22: on the critics' consensus texts alone, the dominant NMF topic agrees with
    a film's first genre (normalised mutual information) more than the dominant topic of
    scikit-learn's LDA on the same texts (word counts, its input)."""
    from sklearn.decomposition import LatentDirichletAllocation
    from sklearn.metrics import normalized_mutual_info_score

    movies = nmfkit.datasets.load_movies()
    genre = movies["genres"].str.split(",").str[0].str.strip()
    topics = TopicModel(10, random_state=0).fit(movies.consensus, movies.index)
    ours = normalized_mutual_info_score(genre, topics.document_topics_.to_numpy().argmax(1))
    counts = CountVectorizer(stop_words="english", min_df=2).fit_transform(movies.consensus)
    lda = LatentDirichletAllocation(10, random_state=0).fit(counts)
    theirs = normalized_mutual_info_score(genre, lda.transform(counts).argmax(1))
    assert ours > 2 * theirs and ours > 0.1


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(1, 5)),
              elements=st.floats(0, 100)))
def test_similarity_properties(F):
    index = SimilarityIndex(F)
    S = np.vstack([index.similarities(i).to_numpy() for i in range(len(F))])
    assert np.allclose(S, S.T)  # symmetric
    assert (S >= -1e-12).all() and (S <= 1 + 1e-9).all()  # non-negative features: in [0, 1]
    nonzero = (F != 0).any(axis=1)
    assert np.allclose(np.diag(S)[nonzero], 1.0) and np.allclose(S[~nonzero], 0.0)
    best = index.most_similar(0, n=len(F))
    assert 0 not in best.index and len(best) == len(F) - 1
    assert best.is_monotonic_decreasing
    with_self = index.most_similar(0, n=len(F), include_self=True)
    assert 0 in with_self.index and with_self.iloc[0] == pytest.approx(S[0].max())


def test_similarity_of_tiny_features_keeps_its_digits():
    # Found by hypothesis: rows of 1.8e-160 have subnormal squares, and a plain norm
    # gave a self-similarity of 0.99996.
    index = SimilarityIndex(np.array([[1.83532173e-160], [1.83532173e-160]]))
    np.testing.assert_allclose(index.similarities(0).to_numpy(), [1.0, 1.0], rtol=1e-12)


def test_similarity_labels_and_errors():
    W = pd.DataFrame([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]],
                     index=["Toy Story (1995)", "Toy Story 2 (1999)", "Alien (1979)"])
    index = SimilarityIndex(W)
    assert index.most_similar("Toy Story (1995)", n=1).index.tolist() == ["Toy Story 2 (1999)"]
    assert index.similarities(2).name == "Alien (1979)"
    with pytest.raises(UnknownLabelError, match=r"did you mean 'Toy Story \(1995\)'"):
        index.most_similar("Toy Story")
    with pytest.raises(KeyError, match="no item labelled 'Jaws'"):
        index.most_similar("Jaws")
    with pytest.raises(IndexError, match="out of range"):
        index.most_similar(7)
    with pytest.raises(ValueError, match="unique"):
        SimilarityIndex([[1.0], [2.0]], labels=["a", "a"])
    with pytest.raises(ValueError, match="one label per row"):
        SimilarityIndex([[1.0], [2.0]], labels=["a"])


def test_topic_model_file_is_the_command_line_format(tmp_path):
    from nmfkit.io import ModelExtras

    topics = TopicModel(2, random_state=0).fit(ANIMALS + MONEY)
    assert set(topics.timings_) == {"vectorize", "nmf"}
    assert all(seconds >= 0 for seconds in topics.timings_.values())
    path = topics.save(tmp_path / "t.nmf", extras={"note": np.asarray("mine")})
    model = nmfkit.load(path)
    saved = ModelExtras.of(model)  # what `nmfkit similar/report/transform` read
    assert saved.kind == "text" and saved.row_labels.tolist() == [str(i) for i in range(12)]
    assert str(model.extras_["note"]) == "mine"
    again = TopicModel.from_model(model)
    assert again.top_terms(3).equals(topics.top_terms(3))
    new = ["a dog and a cat", "stock markets"]
    assert np.allclose(again.transform(new), topics.transform(new))


def test_topic_model_from_a_model_not_fitted_on_text(tmp_path):
    model = nmfkit.NMF(2, random_state=0).fit(np.random.default_rng(0).random((6, 4)))
    model.save(tmp_path / "m.nmf")
    with pytest.raises(ValueError, match="'m.nmf' holds an NMF model without a vocabulary"):
        TopicModel.from_model(nmfkit.load(tmp_path / "m.nmf"), source="m.nmf")
