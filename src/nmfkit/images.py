"""Parts of images: NMF's non-negative parts beside PCA's signed components.

A stack of n images of h x w pixels (or h x w x c, with colour channels) becomes the
matrix X of n rows and h·w·c columns, one image a row; NMF then writes each image as a
non-negative sum of k non-negative images, the rows of H.  Because nothing can be
subtracted, the rows of H tend to be *parts* — a stroke of a digit, the eyes or the
mouth of a face — where PCA's components ("eigenfaces", Turk & Pentland 1991) are whole,
signed images whose cancellations build each face (Lee & Seung 1999, "Learning the parts
of objects by non-negative matrix factorization", Nature 401:788).  How localised a part
is is measured by Hoyer's sparseness (:func:`nmfkit.metrics.sparseness`).

- :func:`flatten_images`, :func:`unflatten_images`: a stack of images and the matrix X.
- :func:`plot_components`: the components of a fitted NMF or PCA (nmfkit's or
  scikit-learn's) or a raw array, one image each.
- :func:`fit_ranks`, :func:`plot_reconstruction`: one fit per k, and images rebuilt from
  k = 2, 5, 10, ... components.
- :func:`component_table`, :func:`compare_with_pca`: sparseness, signs and
  reconstruction error of the components, and the parts-versus-eigenfaces figure.

This module is an application layer over the estimators (importable as
``nmfkit.images``).
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from .estimators.nmf import NMF
from .metrics import sparseness
from .plot import _figure

__all__ = [
    "flatten_images",
    "unflatten_images",
    "plot_components",
    "fit_ranks",
    "plot_reconstruction",
    "component_table",
    "compare_with_pca",
    "PartsComparison",
]

#: Colour maps: a non-negative component in grey, white at zero; a signed one red and
#: blue around a white zero, so that both panels of a comparison read "white = 0".
_PARTS_CMAP = "gray_r"
_SIGNED_CMAP = "RdBu_r"
_IMAGE_CMAP = "gray"


# ------------------------------------------------------------------------------ checks
def _as_dense(values, what, who):
    """``values`` as a NumPy array of numbers; sparse input is refused, not densified."""
    if sp.issparse(values):
        raise TypeError(f"{who}: {what} is a sparse matrix; images are dense — pass "
                        f"{what}.toarray() if it fits in memory.")
    if isinstance(values, (pd.DataFrame, pd.Series)):
        values = values.to_numpy()
    if isinstance(values, (list, tuple)):
        shapes = [np.shape(v) for v in values]
        for i, shape in enumerate(shapes[1:], start=1):
            if shape != shapes[0]:
                raise ValueError(f"{who}: {what} holds items of different shapes: item 0 is "
                                 f"{shapes[0]} but item {i} is {shape}; resize the images "
                                 "to one shape first.")
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{who}: {what} could not be read as an array ({error}).") from None
    if array.dtype == bool:
        array = array.astype(np.float64)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"{who}: {what} must hold real numbers (pixel values); got dtype "
                        f"{array.dtype}.")
    return array


def _check_image_shape(image_shape, who):
    """``image_shape`` as a tuple (h, w) or (h, w, c) of positive ints."""
    if image_shape is None:
        raise ValueError(f"{who}: image_shape is needed to draw a flat row as an image; pass "
                         "(height, width) or (height, width, channels), e.g. "
                         "images.shape[1:].")
    if isinstance(image_shape, numbers.Integral) or not isinstance(image_shape, Sequence):
        try:
            image_shape = tuple(image_shape)
        except TypeError:
            raise TypeError(f"{who}: image_shape must be a tuple (height, width) or (height, "
                            f"width, channels); got {image_shape!r}.") from None
    shape = tuple(image_shape)
    if (len(shape) not in (2, 3)
            or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                       for s in shape)
            or min(shape) < 1):
        raise ValueError(f"{who}: image_shape must be (height, width) or (height, width, "
                         f"channels) with positive integers; got {image_shape!r}.")
    return tuple(int(s) for s in shape)


def _check_width(n_features, image_shape, what, who):
    pixels = math.prod(image_shape)
    if n_features != pixels:
        raise ValueError(
            f"{who}: {what} has {n_features} columns but image_shape {image_shape} holds "
            f"{pixels} values; pass the shape the images were flattened from "
            "(images.shape[1:]).")


def _image_matrix(X, image_shape, who, *, need_shape=True):
    """(X as an n x p float array, image_shape) from a matrix or a stack of images.

    Without ``need_shape`` a matrix may come without ``image_shape`` (then None)."""
    X = _as_dense(X, "X", who)
    if X.ndim in (3, 4):
        stack_shape = X.shape[1:]
        if image_shape is not None and _check_image_shape(image_shape, who) != stack_shape:
            raise ValueError(f"{who}: X is a stack of images of shape {stack_shape} but "
                             f"image_shape is {tuple(image_shape)}; leave image_shape out "
                             "for a stack, or pass the flat matrix.")
        X = X.reshape(X.shape[0], -1)
        image_shape = stack_shape
    elif X.ndim == 2:
        if need_shape or image_shape is not None:
            image_shape = _check_image_shape(image_shape, who)
            _check_width(X.shape[1], image_shape, "X", who)
    else:
        raise ValueError(f"{who}: X must be a matrix (n_images, n_pixels) or a stack of "
                         f"images (n_images, height, width[, channels]); got {X.ndim} "
                         f"dimension(s), shape {X.shape}.")
    if X.shape[0] == 0:
        raise ValueError(f"{who}: X has no images (0 rows).")
    X = X.astype(np.float64, copy=False)
    if not np.isfinite(X).all():
        r, c = (int(v) for v in np.argwhere(~np.isfinite(X))[0])
        raise ValueError(f"{who}: X has a NaN or infinite value (first at row {r}, column "
                         f"{c}); replace it before factorizing.")
    return X, image_shape


def _check_n_components(n_components, X, who):
    if (not isinstance(n_components, numbers.Integral) or isinstance(n_components, bool)
            or n_components < 1):
        raise ValueError(f"{who}: n_components must be a positive integer; got "
                         f"{n_components!r}.")
    limit = min(X.shape)
    if n_components > limit:
        raise ValueError(f"{who}: n_components={n_components} exceeds min(n_images, "
                         f"n_pixels) = {limit}; PCA has no more components than that — "
                         f"pass n_components <= {limit}.")
    return int(n_components)


def _components_of(model, who):
    """The components (k x p float array) of a fitted model, or of a raw array."""
    if hasattr(model, "fit") and not isinstance(model, np.ndarray):
        try:
            check_is_fitted(model, "components_")
        except NotFittedError:
            raise NotFittedError(f"{who}: this {type(model).__name__} is not fitted yet; "
                                 "call fit(X) first, or pass its components_ array.") from None
        model = model.components_
    components = _as_dense(model, "the components", who)
    if components.ndim == 1:
        components = components[None, :]
    if components.ndim != 2 or components.shape[0] == 0:
        raise ValueError(f"{who}: components must be a fitted model or an array of shape "
                         f"(n_components, n_pixels); got shape {components.shape}.")
    components = components.astype(np.float64, copy=False)
    if not np.isfinite(components).all():
        raise ValueError(f"{who}: the components hold NaN or infinite values.")
    return components


# ------------------------------------------------------------------- stacks and matrices
def flatten_images(images):
    """A stack of images as a matrix, one image a row.

    Parameters
    ----------
    images : array-like of shape (n_images, height, width) or (n_images, height, width, channels)
        Grey or colour images, all of one shape (a list of equal-shaped arrays works).

    Returns
    -------
    ndarray of shape (n_images, height * width [* channels])
        Row i is image i read in C order (row by row, channels innermost); the dtype is
        kept.  ``unflatten_images(X, images.shape[1:])`` gives the stack back.

    Raises
    ------
    ValueError
        When the input is not a stack of 2-D or 3-D images, or the images differ in shape.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.images import flatten_images
    >>> flatten_images(np.arange(12).reshape(3, 2, 2)).tolist()
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    """
    who = "flatten_images"
    stack = _as_dense(images, "images", who)
    if stack.ndim not in (3, 4):
        hint = (" — for a single image pass images[None]" if stack.ndim == 2 else "")
        raise ValueError(f"{who}: images must be a stack of shape (n_images, height, width) "
                         f"or (n_images, height, width, channels); got {stack.ndim} "
                         f"dimension(s), shape {stack.shape}{hint}.")
    if 0 in stack.shape:
        raise ValueError(f"{who}: images has an empty axis (shape {stack.shape}).")
    return stack.reshape(stack.shape[0], -1)


def unflatten_images(X, image_shape):
    """Rows of a matrix (data, reconstructions or components) as a stack of images.

    Parameters
    ----------
    X : array-like of shape (n_images, n_pixels) or (n_pixels,)
        One image a row; a single row gives a stack of one image.
    image_shape : tuple of int
        (height, width) or (height, width, channels), with height * width [* channels]
        equal to ``n_pixels``.

    Returns
    -------
    ndarray of shape (n_images, *image_shape)

    Raises
    ------
    ValueError
        When X is not 1-D or 2-D, or its width does not match ``image_shape``.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit.images import unflatten_images
    >>> unflatten_images(np.arange(8), (2, 4)).shape
    (1, 2, 4)
    >>> unflatten_images(np.ones((5, 12)), (2, 2, 3)).shape
    (5, 2, 2, 3)
    """
    who = "unflatten_images"
    image_shape = _check_image_shape(image_shape, who)
    X = _as_dense(X, "X", who)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2:
        raise ValueError(f"{who}: X must be a matrix (n_images, n_pixels) or one row; got "
                         f"{X.ndim} dimensions, shape {X.shape}.")
    _check_width(X.shape[1], image_shape, "X", who)
    return X.reshape((X.shape[0], *image_shape))


# ---------------------------------------------------------------------------- drawing
def _grid(count, n_columns):
    n_columns = n_columns or min(8, math.ceil(math.sqrt(count)))
    if not isinstance(n_columns, numbers.Integral) or n_columns < 1:
        raise ValueError(f"n_columns must be a positive integer; got {n_columns!r}.")
    n_columns = min(int(n_columns), count)
    return math.ceil(count / n_columns), n_columns


def _show(ax, values, image_shape, *, signed, cmap=None, limits=None):
    """Draw one flat vector as an image: signed ones around a white zero, others from 0."""
    image = values.reshape(image_shape)
    if limits is None:
        top = float(np.max(np.abs(image))) or 1.0
        limits = (-top, top) if signed else (0.0, top)
    low, high = limits
    if len(image_shape) == 3:
        # Colour: matplotlib takes RGB(A) in [0, 1], so map the limits onto it.
        rgb = np.clip((image - low) / ((high - low) or 1.0), 0.0, 1.0)
        ax.imshow(rgb[..., 0] if image_shape[2] == 1 else rgb, cmap=cmap,
                  interpolation="nearest")
    else:
        ax.imshow(image, cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _draw_gallery(container, components, image_shape, *, titles, n_columns, cmap, title):
    """One axis per component on a Figure or SubFigure; returns the axes."""
    signed = bool((components < 0).any())
    cmap = cmap or (_SIGNED_CMAP if signed else _PARTS_CMAP)
    n_rows, n_columns = _grid(len(components), n_columns)
    axes = []
    for i, component in enumerate(components):
        ax = container.add_subplot(n_rows, n_columns, i + 1)
        _show(ax, component, image_shape, signed=signed, cmap=cmap)
        ax.set_title(titles[i], fontsize=8)
        axes.append(ax)
    if title:
        container.suptitle(title, fontsize=10)
    return axes


def plot_components(model, image_shape, *, n_components=None, titles=None, n_columns=None,
                    cmap=None, title=None):
    """The components of a factorization, each drawn as an image.

    Parameters
    ----------
    model : fitted estimator or array-like of shape (n_components, n_pixels)
        Anything with ``components_`` — nmfkit's or scikit-learn's ``NMF``,
        ``MiniBatchNMF``, ``PCA`` — or the components array itself.
    image_shape : tuple of int
        (height, width) or (height, width, channels) of one image.
    n_components : int, optional
        Draw only the first ``n_components``.
    titles : sequence of str, optional
        One per component drawn; default ``"0"``, ``"1"``, ...
    n_columns : int, optional
        Default about the square root of the number drawn, at most 8.
    cmap : str, optional
        Default: grey from white (zero) to black for non-negative components, and red
        (positive) and blue (negative) around a white zero when any entry is negative,
        as PCA's are.  Each component is scaled to its own largest magnitude.
    title : str, optional
        A title above the gallery.

    Returns
    -------
    matplotlib.figure.Figure
        One axis per component drawn.

    Raises
    ------
    NotFittedError
        When ``model`` is an estimator that has not been fitted.
    ValueError
        When the components' width does not match ``image_shape``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from nmfkit import NMF
    >>> from nmfkit.images import plot_components
    >>> X = load_digits().data
    >>> model = NMF(6, init="nndsvda", random_state=0).fit(X)
    >>> len(plot_components(model, (8, 8)).axes)
    6
    """
    who = "plot_components"
    image_shape = _check_image_shape(image_shape, who)
    components = _components_of(model, who)
    _check_width(components.shape[1], image_shape, "the components", who)
    if n_components is not None:
        if not isinstance(n_components, numbers.Integral) or n_components < 1:
            raise ValueError(f"{who}: n_components must be a positive integer; got "
                             f"{n_components!r}.")
        components = components[:n_components]
    if titles is None:
        titles = [str(i) for i in range(len(components))]
    elif len(titles) != len(components):
        raise ValueError(f"{who}: {len(titles)} titles for {len(components)} components; "
                         "give one title per component drawn.")
    n_rows, n_cols = _grid(len(components), n_columns)
    fig = _figure(1.3 * n_cols, 1.4 * n_rows + (0.3 if title else 0.0))
    _draw_gallery(fig, components, image_shape, titles=titles, n_columns=n_cols,
                  cmap=cmap, title=title)
    return fig


# -------------------------------------------------------------------- fits and errors
def _default_nmf(random_state):
    return NMF(init="nndsvda", max_iter=400, random_state=random_state)


def _check_ks(ks, who):
    if isinstance(ks, numbers.Integral):
        ks = [ks]
    try:
        ks = list(ks)
    except TypeError:
        raise TypeError(f"{who}: ks must be a sequence of positive integers; got "
                        f"{ks!r}.") from None
    if not ks or not all(isinstance(k, numbers.Integral) and not isinstance(k, bool)
                         and k >= 1 for k in ks):
        raise ValueError(f"{who}: ks must be a non-empty sequence of positive integers; "
                         f"got {ks!r}.")
    if len(set(ks)) != len(ks):
        raise ValueError(f"{who}: ks has repeated values {ks!r}; give each k once.")
    return sorted(int(k) for k in ks)


def fit_ranks(X, model=None, ks=(2, 5, 10, 20)):
    """One fit of ``model`` per number of components k.

    Parameters
    ----------
    X : array-like of shape (n_images, n_pixels), or a stack of images
        A stack (n_images, height, width[, channels]) is flattened first.
    model : estimator, optional
        A template with an ``n_components`` parameter (nmfkit's or scikit-learn's
        ``NMF``, ``PCA``, ...): it is cloned for each k and never fitted itself.  Default
        ``nmfkit.NMF(init="nndsvda", max_iter=400, random_state=0)``.
    ks : sequence of int, default=(2, 5, 10, 20)
        The numbers of components; fitted in increasing order.

    Returns
    -------
    dict
        k → fitted estimator, in increasing k; pass it to :func:`plot_reconstruction` or
        :func:`component_table`.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from nmfkit.images import fit_ranks
    >>> models = fit_ranks(load_digits().data[:300], ks=(2, 8))
    >>> {k: m.components_.shape for k, m in models.items()}
    {2: (2, 64), 8: (8, 64)}
    """
    who = "fit_ranks"
    X, _ = _image_matrix(X, None, who, need_shape=False)
    ks = _check_ks(ks, who)
    template = _default_nmf(0) if model is None else model
    if not hasattr(template, "get_params") or "n_components" not in template.get_params():
        raise TypeError(f"{who}: {type(template).__name__} has no n_components parameter; "
                        "pass an estimator such as nmfkit.NMF or sklearn's PCA.")
    return {k: clone(template).set_params(n_components=k).fit(X) for k in ks}


def _reconstruction(model, X):
    """X rebuilt by ``model``: inverse_transform(transform(X)) (NMF: WH; PCA: mean + …)."""
    return np.asarray(model.inverse_transform(model.transform(X)), dtype=np.float64)


def _summary(components, X, X_hat):
    top = np.max(np.abs(components)) if components.size else 0.0
    norm_X = float(np.linalg.norm(X))
    return {
        "n_components": int(components.shape[0]),
        "sparseness": float(np.mean(sparseness(components, axis=1))),
        "negative_fraction": float(np.mean(components < 0)),
        "zero_fraction": float(np.mean(np.abs(components) <= 1e-12 * top)),
        "relative_error": (float(np.linalg.norm(X - X_hat)) / norm_X if norm_X > 0
                           else float("nan")),
    }


def _as_model_mapping(models, who):
    if isinstance(models, Mapping):
        items = list(models.items())
    elif hasattr(models, "components_") or hasattr(models, "fit"):
        items = [(type(models).__name__, models)]
    else:
        raise TypeError(f"{who}: pass a fitted model or a dict of them (label → model, as "
                        f"fit_ranks returns); got {type(models).__name__}.")
    if not items:
        raise ValueError(f"{who}: no models given.")
    for label, model in items:
        if not (hasattr(model, "transform") and hasattr(model, "inverse_transform")):
            raise TypeError(f"{who}: model {label!r} ({type(model).__name__}) cannot "
                            "rebuild X: it needs transform and inverse_transform.")
        _components_of(model, f"{who} (model {label!r})")
    return items


def component_table(X, models):
    """Sparseness, signs and reconstruction error of fitted models' components.

    Parameters
    ----------
    X : array-like of shape (n_images, n_pixels), or a stack of images
        The images the errors are measured on (usually those fitted).
    models : fitted estimator or dict
        One model, or label → fitted model (e.g. ``{"NMF": nmf, "PCA": pca}``, or the
        dict :func:`fit_ranks` returns).  Each needs ``components_``, ``transform`` and
        ``inverse_transform``.

    Returns
    -------
    pandas.DataFrame
        One row per model, indexed by its label, with columns

        - ``n_components``;
        - ``sparseness``: the mean over components of Hoyer's sparseness (Hoyer 2004,
          eq. 1; :func:`nmfkit.metrics.sparseness`): 1 for a component with a single
          non-zero pixel, 0 for one with all pixels of equal magnitude;
        - ``negative_fraction``: the share of the components' entries below zero;
        - ``zero_fraction``: the share at zero (at most 1e-12 of the largest magnitude);
        - ``relative_error``: ‖X − X̂‖_F / ‖X‖_F with X̂ =
          ``inverse_transform(transform(X))`` (for PCA, its mean plus the projection).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from nmfkit.images import component_table, fit_ranks
    >>> X = load_digits().data[:300]
    >>> table = component_table(X, fit_ranks(X, ks=(2, 8)))
    >>> bool(table.loc[8, "relative_error"] < table.loc[2, "relative_error"])
    True
    """
    who = "component_table"
    items = _as_model_mapping(models, who)
    X, _ = _image_matrix(X, None, who, need_shape=False)
    rows = {}
    for label, model in items:
        components = _components_of(model, who)
        if X.shape[1] != components.shape[1]:
            raise ValueError(f"{who}: X has shape {X.shape} but model {label!r} has "
                             f"components of {components.shape[1]} pixels; pass the "
                             "images the model was fitted on.")
        rows[label] = _summary(components, X, _reconstruction(model, X))
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table


def _pick_images(n_rows, index, n_images, who):
    if index is None:
        if not isinstance(n_images, numbers.Integral) or n_images < 1:
            raise ValueError(f"{who}: n_images must be a positive integer; got {n_images!r}.")
        # Spread over the data set, so that one class of a sorted set does not fill it.
        return np.unique(np.linspace(0, n_rows - 1, min(n_images, n_rows)).round().astype(int))
    index = np.atleast_1d(np.asarray(index))
    if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer) or index.size == 0:
        raise ValueError(f"{who}: index must be a non-empty sequence of row numbers; got "
                         f"{index!r}.")
    if index.min() < -n_rows or index.max() >= n_rows:
        raise ValueError(f"{who}: index {index.tolist()} has row numbers outside X's "
                         f"{n_rows} rows.")
    return index


def plot_reconstruction(X, model=None, image_shape=None, ks=(2, 5, 10, 20), *,
                        n_images=5, index=None):
    """Images rebuilt from k components, for increasing k, beside the originals.

    Parameters
    ----------
    X : array-like of shape (n_images, n_pixels), or a stack of images
        The images; a stack (n_images, height, width[, channels]) needs no
        ``image_shape``.
    model : estimator, dict of fitted estimators, or None
        What is drawn: either a *template* estimator with an ``n_components`` parameter
        (nmfkit's or scikit-learn's ``NMF``, ``PCA``), cloned and fitted on X once per k
        of ``ks`` (the template itself is left unfitted) — or *prefit* models, a dict
        k → fitted model such as :func:`fit_ranks` returns (then ``ks`` is ignored and
        the dict's order, by increasing number of components, is used).  Pass the dict
        to draw and tabulate (:func:`component_table`) the same fits.  Default: the
        template ``nmfkit.NMF(init="nndsvda", max_iter=400, random_state=0)``.
    image_shape : tuple of int, optional
        (height, width) or (height, width, channels); needed when X is a matrix.
    ks : sequence of int, default=(2, 5, 10, 20)
        Numbers of components for a template; drawn in increasing order.
    n_images : int, default=5
        How many images to show, spread evenly over X's rows.
    index : sequence of int, optional
        The rows to show instead.

    Returns
    -------
    matplotlib.figure.Figure
        One row per image shown, one column for the original and one per k; each
        column's title gives its k and the relative error ‖X − X̂‖_F / ‖X‖_F over all of
        X.  Every image of a row is drawn on the original's grey scale, so a
        reconstruction's contrast compares with it.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from nmfkit.images import plot_reconstruction
    >>> X = load_digits().data[:300]
    >>> fig = plot_reconstruction(X, image_shape=(8, 8), ks=(2, 8), n_images=3)
    >>> len(fig.axes)
    9
    """
    who = "plot_reconstruction"
    X, image_shape = _image_matrix(X, image_shape, who)
    rows = _pick_images(X.shape[0], index, n_images, who)
    if isinstance(model, Mapping):
        items = _as_model_mapping(model, who)
        items.sort(key=lambda item: _components_of(item[1], who).shape[0])
        for label, fitted in items:
            _check_width(_components_of(fitted, who).shape[1], image_shape,
                         f"model {label!r}'s components", who)
    else:
        if model is not None and not hasattr(model, "get_params"):
            raise TypeError(f"{who}: model must be an estimator (a template fitted once per "
                            "k) or a dict k → fitted model; got "
                            f"{type(model).__name__}.")
        items = list(fit_ranks(X, model, ks).items())
    columns = []
    for label, fitted in items:
        X_hat = _reconstruction(fitted, X)
        error = float(np.linalg.norm(X - X_hat) / (np.linalg.norm(X) or 1.0))
        k = _components_of(fitted, who).shape[0]
        columns.append((f"k = {k}\nerror {error:.3f}", X_hat[rows]))

    n_cols = 1 + len(columns)
    fig = _figure(1.25 * n_cols, 1.25 * len(rows) + 0.35)
    for r, row in enumerate(rows):
        original = X[row]
        limits = (float(original.min()), float(original.max()) or 1.0)
        panels = [("original", original)] + [(title, images[r]) for title, images in columns]
        for c, (title, values) in enumerate(panels):
            ax = fig.add_subplot(len(rows), n_cols, r * n_cols + c + 1)
            _show(ax, values, image_shape, signed=False, cmap=_IMAGE_CMAP, limits=limits)
            if r == 0:
                ax.set_title(title, fontsize=8)
    return fig


# ------------------------------------------------------------------- parts vs PCA
@dataclass(frozen=True)
class PartsComparison:
    """What :func:`compare_with_pca` returns; unpacks as ``figure, table = ...``.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        NMF's parts (left) and PCA's components (right), ``n_components`` axes each.
    table : pandas.DataFrame
        :func:`component_table` of the two fits, indexed ``"NMF"``, ``"PCA"``.
    nmf, pca : fitted estimators
        The two fits.
    """

    figure: object
    table: pd.DataFrame
    nmf: object = field(default=None, repr=False)
    pca: object = field(default=None, repr=False)

    def __iter__(self):
        return iter((self.figure, self.table))


def compare_with_pca(X, image_shape=None, n_components=16, *, nmf=None, pca=None,
                     random_state=0, n_columns=None):
    """NMF's parts beside PCA's signed components, with their sparseness and errors.

    Fits NMF and PCA with the same number of components on the same images and draws
    both galleries side by side: NMF's non-negative, often localised parts and PCA's
    whole, signed "eigenimages" (Lee & Seung 1999, Fig. 1).

    Parameters
    ----------
    X : array-like of shape (n_images, n_pixels), or a stack of images
        Non-negative images (NMF needs X ≥ 0).
    image_shape : tuple of int, optional
        (height, width) or (height, width, channels); needed when X is a matrix.
    n_components : int, default=16
        Components of each method (at most min(n_images, n_pixels)).
    nmf : estimator, optional
        Template for the NMF fit, cloned with ``n_components`` set; default
        ``nmfkit.NMF(init="nndsvda", max_iter=400, random_state=random_state)``.
    pca : estimator, optional
        Template for the PCA fit; default
        ``sklearn.decomposition.PCA(random_state=random_state)``.
    random_state : int, RandomState or None, default=0
        Seed of the default estimators.
    n_columns : int, optional
        Columns of each gallery (default about the square root of ``n_components``).

    Returns
    -------
    PartsComparison
        ``figure``, ``table`` (see :func:`component_table`; rows ``"NMF"`` and
        ``"PCA"``), and the fitted ``nmf`` and ``pca``.  Unpacks as
        ``figure, table = compare_with_pca(...)``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from nmfkit.images import compare_with_pca
    >>> figure, table = compare_with_pca(load_digits().data[:400], (8, 8), 9)
    >>> len(figure.axes), list(table.index)
    (18, ['NMF', 'PCA'])
    >>> bool(table.loc["NMF", "sparseness"] > table.loc["PCA", "sparseness"])
    True
    """
    who = "compare_with_pca"
    X, image_shape = _image_matrix(X, image_shape, who)
    n_components = _check_n_components(n_components, X, who)
    if nmf is None:
        nmf = _default_nmf(random_state)
    if pca is None:
        pca = PCA(random_state=random_state)
    fits = {}
    for label, template in (("NMF", nmf), ("PCA", pca)):
        if not hasattr(template, "get_params") or "n_components" not in template.get_params():
            raise TypeError(f"{who}: {label.lower()} must be an estimator with an "
                            f"n_components parameter; got {type(template).__name__}.")
        fits[label] = clone(template).set_params(n_components=n_components).fit(X)
    table = component_table(X, fits)

    n_rows, n_cols = _grid(n_components, n_columns)
    fig = _figure(2 * 1.2 * n_cols + 0.4, 1.25 * n_rows + 0.6)
    left, right = fig.subfigures(1, 2, wspace=0.04)
    names = {"NMF": "NMF parts", "PCA": "PCA components"}
    for container, label in ((left, "NMF"), (right, "PCA")):
        row = table.loc[label]
        _draw_gallery(container, _components_of(fits[label], who), image_shape,
                      titles=[str(i) for i in range(n_components)], n_columns=n_cols,
                      cmap=None,
                      title=(f"{names[label]}: sparseness {row['sparseness']:.2f}, "
                             f"{row['negative_fraction']:.0%} negative, "
                             f"error {row['relative_error']:.3f}"))
    return PartsComparison(figure=fig, table=table, nmf=fits["NMF"], pca=fits["PCA"])
