"""Figures of a factorization, drawn with matplotlib's object API (no pyplot state).

Every function returns a :class:`matplotlib.figure.Figure` that works without a display
(the Agg canvas), so it can be saved, embedded in a report, or shown in a notebook.
"""
from __future__ import annotations

import io as _io
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "plot_loss_curve",
    "plot_top_terms",
    "plot_image_components",
    "plot_heatmap",
    "figure_to_png",
]


def _figure(width, height):
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_to_png(fig, *, dpi=100):
    """PNG bytes of ``fig``.

    Examples
    --------
    >>> figure_to_png(plot_loss_curve([3.0, 2.0, 1.5]))[:4]
    b'\\x89PNG'
    """
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def plot_loss_curve(model_or_losses, *, title="Convergence"):
    """Objective per iteration, on a log scale.

    Parameters
    ----------
    model_or_losses : fitted NMF, DataFrame with ``iteration`` and ``loss``, or sequence
        A fitted model uses its ``loss_curve_``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    curve = getattr(model_or_losses, "loss_curve_", model_or_losses)
    if hasattr(curve, "columns"):
        iterations, losses = curve["iteration"].to_numpy(), curve["loss"].to_numpy(float)
    else:
        losses = np.asarray(curve, dtype=float)
        iterations = np.arange(1, len(losses) + 1)
    fig = _figure(6, 3.2)
    ax = fig.add_subplot()
    if len(losses):
        ax.plot(iterations, losses, marker="o" if len(losses) < 30 else None, markersize=3,
                color="#2563eb")
        if np.all(losses > 0) and losses.max() / max(losses.min(), 1e-300) > 10:
            ax.set_yscale("log")
    else:
        ax.text(0.5, 0.5, "no loss history recorded", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel("iteration")
    ax.set_ylabel("objective")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return fig


def plot_top_terms(top_terms, *, n_columns=5):
    """Horizontal bars of each topic's heaviest terms.

    Parameters
    ----------
    top_terms : pandas.DataFrame
        As returned by :meth:`nmfkit.TopicModel.top_terms` (``topic``, ``rank``, ``term``,
        ``weight``).
    n_columns : int
        Topics per row of the grid.

    Returns
    -------
    matplotlib.figure.Figure
    """
    topics = list(dict.fromkeys(top_terms["topic"]))
    n_columns = max(1, min(n_columns, len(topics)))
    n_rows = math.ceil(len(topics) / n_columns)
    n_terms = int(top_terms.groupby("topic").size().max())
    fig = _figure(2.6 * n_columns, 0.22 * n_terms * n_rows + 0.6 * n_rows)
    for i, topic in enumerate(topics):
        ax = fig.add_subplot(n_rows, n_columns, i + 1)
        rows = top_terms[top_terms["topic"] == topic].sort_values("rank")
        ax.barh(np.arange(len(rows)), rows["weight"], color="#2563eb")
        ax.set_yticks(np.arange(len(rows)), rows["term"].tolist(), fontsize=8)
        ax.invert_yaxis()
        ax.set_xticks([])
        ax.set_title(f"topic {topic}", fontsize=9)
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
    return fig


def plot_image_components(H, image_shape, *, titles=None, n_columns=None, cmap="gray"):
    """Each row of ``H`` drawn as an image: the "parts" NMF learns from pictures.

    Parameters
    ----------
    H : ndarray of shape (k, height * width)
    image_shape : (int, int)
    titles : sequence of str, optional
    n_columns : int, optional
        Default about the square root of ``k``, at most 8.

    Returns
    -------
    matplotlib.figure.Figure
    """
    H = np.asarray(H)
    k = H.shape[0]
    n_columns = n_columns or min(8, math.ceil(math.sqrt(k)))
    n_rows = math.ceil(k / n_columns)
    fig = _figure(1.3 * n_columns, 1.45 * n_rows)
    for i in range(k):
        ax = fig.add_subplot(n_rows, n_columns, i + 1)
        ax.imshow(H[i].reshape(image_shape), cmap=cmap, interpolation="nearest")
        ax.set_title(titles[i] if titles is not None else f"{i}", fontsize=8)
        ax.axis("off")
    return fig


def image_png(values, image_shape, *, cmap="gray"):
    """PNG bytes of one image (a component or a sample), scaled to its own range."""
    from matplotlib.image import imsave

    buffer = _io.BytesIO()
    image = np.asarray(values, dtype=float).reshape(image_shape)
    vmax = image.max() if image.max() > image.min() else image.min() + 1.0
    imsave(buffer, image, cmap=cmap, format="png", vmin=image.min(), vmax=vmax)
    return buffer.getvalue()


def plot_heatmap(H, *, column_labels=None, row_labels=None, max_columns=60,
                 title="Components (rows) over features (columns)"):
    """Heat map of ``H``; with many columns, only the heaviest of each component.

    Parameters
    ----------
    H : ndarray of shape (k, n_features)
    column_labels : sequence of str, optional
    row_labels : sequence of str, optional
    max_columns : int
        When ``n_features`` is larger, show the union of each component's heaviest
        columns (in their original order), as many as fit.

    Returns
    -------
    matplotlib.figure.Figure
    """
    H = np.asarray(H, dtype=float)
    k, n = H.shape
    columns = np.arange(n)
    if n > max_columns:
        per_component = max(1, max_columns // k)
        top = np.argsort(-H, axis=1, kind="stable")[:, :per_component]
        columns = np.unique(top.ravel())[:max_columns]
    shown = H[:, columns]
    fig = _figure(min(12, 2 + 0.18 * len(columns)), 1.2 + 0.3 * k)
    ax = fig.add_subplot()
    image = ax.imshow(shown, aspect="auto", cmap="viridis", interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_yticks(np.arange(k), row_labels if row_labels is not None else np.arange(k))
    if len(columns) <= 80:
        labels = [str(column_labels[j]) if column_labels is not None else str(j)
                  for j in columns]
        ax.set_xticks(np.arange(len(columns)), labels, rotation=90, fontsize=7)
    ax.set_xlabel("feature" + (f" (the {len(columns)} heaviest of {n})" if n > max_columns
                               else ""))
    ax.set_ylabel("component")
    ax.set_title(title)
    return fig
