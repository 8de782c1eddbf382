"""Real data sets that ship inside Python packages (nothing is downloaded).

=====================  ==========================================  ===============================
loader                 what                                        comes from
=====================  ==========================================  ===============================
:func:`load_movies`    5,500 films with their critics' consensus   ``bokeh-sampledata==2025.0``
:func:`load_faces`     100 face images (and 100 non-faces), 25x25  ``scikit-image`` (LFW subset)
:func:`load_digits`    1,797 handwritten digits, 8x8               ``scikit-learn``
:func:`load_movielens` 100,000 ratings of 1,682 films by 943 users  ``recbole==1.2.1`` (``--no-deps``)
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

__all__ = ["load_movies", "load_faces", "load_digits", "load_movielens"]

_MOVIES_PIN = "bokeh-sampledata==2025.0"
_MOVIELENS_PIN = "recbole==1.2.1"


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


def _read_atomic(path):
    """A RecBole atomic file: tab-separated, header fields written ``name:type``.

    Read as text (no quoting: titles hold quote marks), then the ``float`` fields are
    converted; the ``:type`` suffix is dropped from the column names.
    """
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=3,
                        encoding="utf-8")
    names = {}
    for column in frame.columns:
        name, _, kind = column.partition(":")
        names[column] = name
        if kind == "float":
            frame[column] = pd.to_numeric(frame[column])
    return frame.rename(columns=names)


def load_movielens():
    """MovieLens 100k: 100,000 ratings (1 to 5 stars) of 1,682 films by 943 users.

    Read from the copy that ships in the ``recbole`` 1.2.1 wheel
    (``recbole/dataset_example/ml-100k/``), located without importing recbole; install
    it with ``pip install --no-deps recbole==1.2.1`` (its dependencies are not needed
    to read the files).  Every user rated at least 20 films (Harper & Konstan 2015,
    "The MovieLens Datasets: History and Context", ACM TiiS 5(4)).

    Returns
    -------
    sklearn.utils.Bunch
        ``ratings``: DataFrame with columns ``user``, ``item`` (int ids), ``rating``
        (float, 1 to 5), ``timestamp`` (int, seconds since 1970), in file order;
        ``movies``: DataFrame indexed by ``item``, columns ``title`` (``"Toy Story
        (1995)"``, as MovieLens writes it; not unique: a few films appear twice),
        ``name``, ``year`` (Int64), ``genres`` (``"Animation|Children's|Comedy"``;
        ``str.get_dummies("|")`` gives one column per genre);
        ``users``: DataFrame indexed by ``user``, columns ``age``, ``gender``,
        ``occupation``, ``zip_code``; ``DESCR``.

    Raises
    ------
    ImportError
        When recbole is missing, naming the pip command to run.

    Examples
    --------
    >>> movielens = load_movielens()  # doctest: +SKIP
    >>> movielens.ratings.shape  # doctest: +SKIP
    (100000, 4)
    >>> movielens.movies.loc[1, "title"]  # doctest: +SKIP
    'Toy Story (1995)'
    """
    spec = importlib.util.find_spec("recbole")  # locates the package without importing it
    hint = (f"MovieLens 100k ships in the recbole wheel: pip install --no-deps "
            f"{_MOVIELENS_PIN}")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"recbole is not installed; {hint}")
    folder = os.path.join(spec.submodule_search_locations[0], "dataset_example", "ml-100k")
    paths = {part: os.path.join(folder, f"ml-100k.{part}") for part in ("inter", "item", "user")}
    missing = [p for p in paths.values() if not os.path.exists(p)]
    if missing:
        raise ImportError(f"{missing[0]} is missing from the installed recbole; {hint}")

    ratings = _read_atomic(paths["inter"]).rename(columns={"user_id": "user", "item_id": "item"})
    ratings = ratings.astype({"user": "int64", "item": "int64", "rating": "float64"})
    ratings["timestamp"] = ratings["timestamp"].astype("int64")
    ratings = ratings[["user", "item", "rating", "timestamp"]].reset_index(drop=True)

    items = _read_atomic(paths["item"]).rename(
        columns={"item_id": "item", "movie_title": "name", "release_year": "year",
                 "class": "genres"})
    items["item"] = items["item"].astype("int64")
    items["year"] = pd.to_numeric(items["year"], errors="coerce").astype("Int64")
    # token_seq fields are space-separated; every genre is one token ("Sci-Fi").
    items["genres"] = items["genres"].str.split().str.join("|")
    year = items["year"].astype(str).where(items["year"].notna(), "")
    items["title"] = (items["name"] + " (" + year + ")").where(items["year"].notna(),
                                                              items["name"])
    items = items.set_index("item")[["title", "name", "year", "genres"]]

    users = _read_atomic(paths["user"]).rename(columns={"user_id": "user"})
    users["user"] = users["user"].astype("int64")
    users["age"] = users["age"].astype("int64")
    users = users.set_index("user")
    return Bunch(
        ratings=ratings, movies=items, users=users,
        DESCR="MovieLens 100k (GroupLens, 1998; Harper & Konstan 2015): 100,000 ratings "
              "from 1 to 5 of 1,682 films by 943 users, each user with 20 or more "
              "ratings; as shipped in the recbole 1.2.1 wheel.",
    )
