"""A self-contained HTML report of a factorization.

One ``.html`` file with everything inline (figures as ``data:`` URIs, CSS and the
table-sorting script in the page): it opens offline, on a laptop or a phone, and can be
mailed as it is. A report is a list of :class:`Section` objects; :func:`build_report`
makes the standard ones (data, fit, components, memberships, similar items) for a
fitted model, and any other section — rank selection, recommendations — is appended
with :meth:`Report.add`.

Examples
--------
>>> import numpy as np, nmfkit
>>> X = np.random.default_rng(0).random((20, 6))
>>> model = nmfkit.NMF(2, random_state=0, max_iter=50)
>>> W = model.fit_transform(X)
>>> report = build_report(model, X, W=W)
>>> [s.id for s in report.sections]
['data', 'fit', 'components', 'memberships', 'similar-items']
>>> report.to_html().startswith("<!DOCTYPE html>")
True
"""
from __future__ import annotations

import datetime
import os
from importlib import resources
from pathlib import Path
from string import Template

import numpy as np

from .sections import (
    ComponentsSection,
    DataSection,
    FitSection,
    HTMLSection,
    MembershipsSection,
    RankSelectionSection,
    Section,
    SimilarItemsSection,
    TableSection,
    escape,
    slug,
)

__all__ = [
    "Report",
    "build_report",
    "analysis_sections",
    "Section",
    "HTMLSection",
    "TableSection",
    "DataSection",
    "FitSection",
    "ComponentsSection",
    "MembershipsSection",
    "RankSelectionSection",
    "SimilarItemsSection",
]


def _asset(name):
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


class Report:
    """An HTML report: a title and a list of sections.

    Parameters
    ----------
    title : str
    sections : sequence of Section, optional
    subtitle : str, optional
        One line under the title.

    Examples
    --------
    >>> report = Report("Demo", [HTMLSection("Hello", "<p>hi</p>")])
    >>> "Hello" in report.to_html()
    True
    """

    def __init__(self, title="NMF report", sections=(), *, subtitle=""):
        self.title = title
        self.subtitle = subtitle
        self.sections = []
        self.add(*sections)

    def add(self, *sections):
        """Append sections (anchors are made unique); returns ``self``."""
        taken = {s.id for s in self.sections}
        for section in sections:
            if not isinstance(section, Section):
                raise TypeError(f"expected a report Section, got {type(section).__name__}")
            base, number = section.id, 2
            while section.id in taken:
                section.id = f"{base}-{number}"
                number += 1
            taken.add(section.id)
            self.sections.append(section)
        return self

    def to_html(self):
        """The whole page as a string."""
        from .. import __version__

        nav = "\n".join(f'<a href="#{escape(s.id)}">{escape(s.title)}</a>' for s in self.sections)
        body = "\n".join(s.render() for s in self.sections)
        return Template(_asset("template.html")).substitute(
            title=escape(self.title),
            subtitle=escape(self.subtitle),
            version=escape(__version__),
            date=datetime.date.today().isoformat(),
            css=_asset("report.css"),
            js=_asset("report.js"),
            nav=nav,
            body=body,
        )

    def save(self, path, *, figures_dir=None):
        """Write the page (atomically) and, with ``figures_dir``, each figure as a PNG.

        Returns
        -------
        pathlib.Path
            The page's path.
        """
        path = Path(path)
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True)
        text = self.to_html()
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        if figures_dir is not None:
            figures_dir = Path(figures_dir)
            figures_dir.mkdir(parents=True, exist_ok=True)
            for section in self.sections:
                for name, png in section.figures().items():
                    (figures_dir / name).write_bytes(png)
        return path


def analysis_sections(model, X=None, *, W=None, row_labels=None, column_labels=None,
                      kind=None, image_shape=None, similar_to=None, n_top=5, summary=None,
                      name=None, rank_selection=None):
    """The standard sections for one fitted model.

    Parameters
    ----------
    model : fitted NMF
    X : array-like or sparse, optional
        The data; gives the data summary and, for images, thumbnails of samples.
    W : ndarray of shape (n_samples, k), optional
        The samples' memberships; default ``model.transform(X)`` when ``X`` is given.
    row_labels, column_labels : sequence of str, optional
        Sample and feature names (default: the model's ``feature_names_in_`` for columns).
    kind : {'text', 'images', 'table', 'matrix'}, optional
        How to draw the components; default ``'images'`` when ``image_shape`` is given.
    image_shape : (int, int), optional
    similar_to : sequence of labels, optional
        Items for the "similar items" table (shown when row labels exist or W is given).
    n_top : int
        Samples per component and neighbours per item.
    summary : dict, optional
        A precomputed data summary (:func:`nmfkit.io.summarize_matrix`), used when X is
        not given.
    name : str, optional
        Prefix for the section titles ("Movies: fit"), for reports of several analyses.
    rank_selection : nmfkit.rank.RankSelection, optional
        How k was chosen (:func:`nmfkit.select_rank`): adds a "Choosing k" section.

    Returns
    -------
    list of Section
    """
    from ..io import summarize_matrix

    prefix = f"{name}: " if name else ""
    ids = (lambda s: f"{slug(name)}-{s}") if name else (lambda s: s)
    H = np.asarray(model.components_)
    if column_labels is None and hasattr(model, "feature_names_in_"):
        column_labels = model.feature_names_in_
    if kind is None:
        kind = "images" if image_shape is not None else "matrix"
    if W is None and X is not None:
        W = model.transform(X)
    sections = []
    if X is not None or summary is not None:
        info = dict(summary or {})
        if X is not None:
            info.update(summarize_matrix(X if hasattr(X, "shape") and not hasattr(X, "columns")
                                         else np.asarray(X)))
        info.setdefault("kind", kind)
        sections.append(DataSection(info, title=f"{prefix}Data", id=ids("data")))
    if rank_selection is not None:
        sections.append(RankSelectionSection(rank_selection, title=f"{prefix}Choosing k",
                                             id=ids("choosing-k")))
    sections.append(FitSection(model, title=f"{prefix}Fit", id=ids("fit")))
    components = ComponentsSection(H, kind=kind, column_labels=column_labels,
                                   image_shape=image_shape, title=f"{prefix}Components",
                                   id=ids("components"))
    sections.append(components)
    if W is not None:
        images = None
        if kind == "images" and X is not None:
            images = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
        sections.append(MembershipsSection(
            W, row_labels=row_labels, n=n_top,
            component_names=components.names() if kind == "text" else None,
            sample_images=images, image_shape=image_shape,
            title=f"{prefix}Memberships", id=ids("memberships")))
        labels = row_labels if row_labels is not None else [str(i) for i in range(len(W))]
        sections.append(SimilarItemsSection(W, labels, queries=similar_to, n=n_top,
                                            title=f"{prefix}Similar items",
                                            id=ids("similar-items")))
    return sections


def build_report(model, X=None, *, title="NMF report", subtitle=None, **kwargs):
    """A :class:`Report` with the standard sections for one fitted model.

    Takes the parameters of :func:`analysis_sections`.

    Returns
    -------
    Report
    """
    if subtitle is None:
        k = getattr(model, "n_components_", getattr(model, "n_components", "?"))
        subtitle = f"Non-negative matrix factorization X ≈ WH with k = {k} components"
    return Report(title, analysis_sections(model, X, **kwargs), subtitle=subtitle)
