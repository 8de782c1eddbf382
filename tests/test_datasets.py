"""Data sets shipped inside packages: real content, and a pip hint when missing."""
import importlib.util

import numpy as np
import pytest

from nmfkit import datasets


def test_movies_have_real_consensus_texts():
    movies = datasets.load_movies()
    assert len(movies) > 5000 and movies.index.is_unique
    assert list(movies.columns) == ["title", "year", "genres", "director", "imdb_rating",
                                    "consensus"]
    assert not movies.consensus.isin(["", "No consensus yet."]).any()
    assert not movies.consensus.str.contains("&#039;|&amp;", regex=True).any()  # unescaped
    assert "Pixar" in movies.loc["Toy Story (1995)", "consensus"]
    assert "Animation" in movies.loc["Toy Story (1995)", "genres"]
    assert len(datasets.load_movies(with_consensus=False)) == 12569


def test_faces_and_digits():
    faces = datasets.load_faces()
    assert faces.data.shape == (100, 625) and faces.image_shape == (25, 25)
    assert faces.data.min() >= 0 and faces.data.max() <= 1 and (faces.target == 1).all()
    both = datasets.load_faces(include_non_faces=True)
    assert both.data.shape == (200, 625) and both.target.sum() == 100
    assert len(set(both.labels)) == 200
    digits = datasets.load_digits()
    assert digits.data.shape == (1797, 64) and digits.image_shape == (8, 8)
    assert np.all(digits.data >= 0)


@pytest.mark.parametrize("loader, package", [(datasets.load_movies, "bokeh-sampledata==2025.0"),
                                             (datasets.load_faces, "scikit-image")])
def test_missing_package_names_the_pip_command(monkeypatch, loader, package):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=f"pip install '{package}'"):
        loader()
