"""The sections of a report: each one a small object that renders itself to HTML.

A report is a list of sections, so new analyses (rank selection, recommendations)
slot in by writing one more :class:`Section` subclass.
"""
from __future__ import annotations

import base64
import html
import math
import re

import numpy as np
import pandas as pd

__all__ = [
    "Section",
    "HTMLSection",
    "TableSection",
    "DataSection",
    "FitSection",
    "ComponentsSection",
    "MembershipsSection",
    "SimilarItemsSection",
]


def escape(value):
    return html.escape(str(value), quote=True)


def data_uri(png):
    """``data:`` URI of PNG bytes, so the page needs no other file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def img(png, alt, css_class=None):
    cls = f' class="{css_class}"' if css_class else ""
    return f'<img src="{data_uri(png)}" alt="{escape(alt)}"{cls}>'


def format_number(value):
    """Short human form: 3 significant digits, integers as they are."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return "–"
        if value == 0:
            return "0"
        if abs(value) >= 1e5 or abs(value) < 1e-3:
            return f"{value:.3g}"
        return f"{value:.4g}"
    return str(value)


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "section"


def table_html(frame, *, caption=None, sortable=True, raw_html_columns=()):
    """A DataFrame as an HTML table; numeric cells carry ``data-value`` for sorting."""
    cls = ' class="sortable"' if sortable else ""
    num = ' class="num"'
    head = "".join(
        f'<th scope="col"{num if pd.api.types.is_numeric_dtype(frame[c]) else ""}>'
        f"{escape(c)}</th>" for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, values):
            if column in raw_html_columns:
                cells.append(f"<td>{value}</td>")
            elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
                    value, (bool, np.bool_)):
                cells.append(f'<td class="num" data-value="{float(value)!r}">'
                             f"{escape(format_number(value))}</td>")
            else:
                cells.append(f"<td>{escape(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (f'<div class="table-wrap"><table{cls}>{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def facts_html(facts):
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(format_number(v))}</dd>"
                    for k, v in facts.items())
    return f'<dl class="facts">{items}</dl>'


class Section:
    """One part of a report: a title, an anchor and an HTML body.

    Subclasses implement :meth:`body`; :meth:`figures` names the PNG files to write
    beside the page (the page itself embeds everything it shows).

    Parameters
    ----------
    title : str
    id : str, optional
        HTML anchor; default made from the title.
    intro : str, optional
        One sentence under the heading saying how to read the section.
    """

    def __init__(self, title, *, id=None, intro=None):
        self.title = title
        self.id = id or slug(title)
        self.intro = intro

    def body(self):
        """Inner HTML of the section."""
        raise NotImplementedError

    def figures(self):
        """PNG figures of this section, as a dict file name -> bytes."""
        return {}

    def render(self):
        """The whole ``<section>`` element."""
        intro = f'<p class="intro">{escape(self.intro)}</p>' if self.intro else ""
        return (f'<section class="report-section" id="{escape(self.id)}" '
                f'data-section="{escape(type(self).__name__)}">'
                f"<h2>{escape(self.title)}</h2>{intro}{self.body()}</section>")


class HTMLSection(Section):
    """A section with a body of ready-made (trusted) HTML."""

    def __init__(self, title, html_body, **kwargs):
        super().__init__(title, **kwargs)
        self.html_body = html_body

    def body(self):
        return self.html_body


class TableSection(Section):
    """A section showing one DataFrame as a sortable table."""

    def __init__(self, title, frame, **kwargs):
        super().__init__(title, **kwargs)
        self.frame = frame

    def body(self):
        return table_html(self.frame.reset_index() if self.frame.index.name else self.frame)


class DataSection(Section):
    """Shape, sparsity and value range of the data that was factorized.

    Parameters
    ----------
    summary : dict
        As returned by :func:`nmfkit.io.summarize_matrix`, optionally with ``source`` and
        ``kind``.
    """

    def __init__(self, summary, title="Data", **kwargs):
        kwargs.setdefault("intro", "What was factorized: rows are samples, columns features.")
        super().__init__(title, **kwargs)
        self.summary = dict(summary)

    def body(self):
        s = self.summary
        facts = {}
        for key, name in (("source", "source"), ("kind", "kind"), ("n_rows", "rows"),
                          ("n_columns", "columns"), ("storage", "storage"),
                          ("nonzeros", "non-zero entries"), ("density", "density"),
                          ("missing", "missing entries"), ("min", "smallest value"),
                          ("max", "largest value"), ("mean", "mean value")):
            if key in s and s[key] is not None:
                facts[name] = s[key]
        if "density" in facts:
            facts["density"] = f"{100 * float(s['density']):.3g} % of entries are non-zero"
        return facts_html(facts)


class FitSection(Section):
    """The fit: loss, solver, iterations, time and the convergence curve.

    Parameters
    ----------
    model : fitted NMF
    """

    def __init__(self, model, title="Fit", **kwargs):
        kwargs.setdefault("intro", "How the factorization X ≈ WH was found; the curve "
                                   "should fall and flatten.")
        super().__init__(title, **kwargs)
        self.model = model
        self._png = None

    def _curve_png(self):
        if self._png is None:
            from ..plot import figure_to_png, plot_loss_curve

            curve = getattr(self.model, "loss_curve_", None)
            self._png = figure_to_png(plot_loss_curve(curve if curve is not None else []))
        return self._png

    def facts(self):
        m = self.model
        curve = getattr(m, "loss_curve_", None)
        facts = {
            "components (k)": int(getattr(m, "n_components_", m.n_components)),
            "solver": getattr(m, "solver_", getattr(m, "solver", "?")),
            "loss": str(getattr(m, "beta_loss", "frobenius")),
            "initialization": getattr(m, "init_", getattr(m, "init", None)),
            "iterations": int(getattr(m, "n_iter_", 0)),
            "max_iter": getattr(m, "max_iter", None),
            "reconstruction error": float(getattr(m, "reconstruction_err_", float("nan"))),
        }
        if curve is not None and len(curve):
            facts["final objective"] = float(curve["loss"].iloc[-1])
            facts["time (s)"] = float(curve["seconds"].iloc[-1])
        if getattr(m, "stop_reason_", None):
            facts["stopped"] = m.stop_reason_
        elif facts["max_iter"] is not None:
            facts["stopped"] = ("before max_iter (tolerance reached or stopped early)"
                                if facts["iterations"] < facts["max_iter"]
                                else "at max_iter: raise --max-iter for a closer fit")
        return {k: v for k, v in facts.items() if v is not None}

    def body(self):
        return (facts_html(self.facts())
                + f"<figure>{img(self._curve_png(), 'Objective per iteration')}"
                  "<figcaption>Objective per iteration.</figcaption></figure>")

    def figures(self):
        return {f"{self.id}-convergence.png": self._curve_png()}


class RankSelectionSection(Section):
    """How k was chosen: every rank tried, scored by each criterion of
    :func:`nmfkit.select_rank`, with the best rank of each method marked.

    Parameters
    ----------
    selection : nmfkit.rank.RankSelection
    """

    def __init__(self, selection, title="Choosing k", **kwargs):
        kwargs.setdefault("intro", "Each rank tried and its score by each criterion; the "
                                   "model was fitted at the best rank of the first method.")
        super().__init__(title, **kwargs)
        self.selection = selection
        self._pngs = None

    _CAPTIONS = {
        "criteria": "Each criterion against rank; the dashed line is the best rank of its "
                    "method.",
        "consensus": "Consensus matrix at the best rank of 'consensus': how often two "
                     "samples fall in one component across restarts.",
    }

    def _figures(self):
        """PNGs by kind: the criteria, and the consensus matrix when it was kept."""
        if self._pngs is None:
            from ..plot import figure_to_png

            s = self.selection
            self._pngs = {"criteria": figure_to_png(s.plot())}
            if s.consensus_ and "consensus" in s.best:
                self._pngs["consensus"] = figure_to_png(s.plot_consensus())
        return self._pngs

    def body(self):
        s = self.selection
        best_for = {k: ", ".join(m for m, best in s.best.items() if best == k)
                    for k in s.table.index}
        frame = s.table.assign(**{"best for": [best_for[k] for k in s.table.index]})
        facts = {f"best rank by {method}": best for method, best in s.best.items()}
        figures = "".join(
            f"<figure>{img(png, self._CAPTIONS[kind])}<figcaption>"
            f"{escape(self._CAPTIONS[kind])}</figcaption></figure>"
            for kind, png in self._figures().items())
        return facts_html(facts) + table_html(frame.reset_index()) + figures

    def figures(self):
        return {f"{self.id}-{kind}.png": png for kind, png in self._figures().items()}


class ComponentsSection(Section):
    """The components (rows of H), drawn for what they are.

    Text: bars of each topic's heaviest terms. Images: each component as a picture.
    Anything else: a heat map.

    Parameters
    ----------
    H : ndarray of shape (k, n_features)
    kind : {'text', 'images', 'table', 'matrix'}
    column_labels : sequence of str, optional
    image_shape : (int, int), optional
        Needed when ``kind == 'images'``.
    n_terms : int
        Terms per topic for text.
    """

    def __init__(self, H, *, kind="matrix", column_labels=None, image_shape=None, n_terms=10,
                 title="Components", **kwargs):
        if kind == "images" and image_shape is None:
            raise ValueError("kind='images' needs image_shape=(height, width)")
        intros = {
            "text": "Each topic is a row of H: its heaviest terms, longest bar first.",
            "images": "Each component is a row of H drawn as an image: the parts that "
                      "samples are built from.",
        }
        kwargs.setdefault("intro", intros.get(
            kind, "Rows of H: how much each feature weighs in each component."))
        super().__init__(title, **kwargs)
        self.H = np.asarray(H, dtype=float)
        self.kind = kind
        self.column_labels = (np.asarray(column_labels, dtype=str) if column_labels is not None
                              else np.array([str(j) for j in range(self.H.shape[1])]))
        self.image_shape = tuple(image_shape) if image_shape is not None else None
        self.n_terms = n_terms
        self._figure = None

    def top_terms(self):
        order = np.argsort(-self.H, axis=1, kind="stable")[:, : self.n_terms]
        return pd.DataFrame(
            [(t, r + 1, self.column_labels[j], self.H[t, j])
             for t in range(self.H.shape[0]) for r, j in enumerate(order[t])],
            columns=["topic", "rank", "term", "weight"])

    def names(self, n=3):
        """Short component names (heaviest terms) for text; numbers otherwise."""
        if self.kind != "text":
            return [str(i) for i in range(self.H.shape[0])]
        terms = self.top_terms()
        return [", ".join(terms[terms.topic == t].term.head(n)) for t in range(self.H.shape[0])]

    def _figure_png(self):
        if self._figure is None:
            from ..plot import figure_to_png, plot_heatmap, plot_image_components, plot_top_terms

            if self.kind == "text":
                fig = plot_top_terms(self.top_terms())
            elif self.kind == "images":
                fig = plot_image_components(self.H, self.image_shape)
            else:
                fig = plot_heatmap(self.H, column_labels=self.column_labels)
            self._figure = figure_to_png(fig)
        return self._figure

    def body(self):
        if self.kind == "text":
            cards = []
            terms = self.top_terms()
            for t in range(self.H.shape[0]):
                rows = terms[terms.topic == t]
                top = rows.weight.max() or 1.0
                bars = "".join(
                    f'<div class="bar-row"><span class="term" title="{escape(r.term)}">'
                    f'{escape(r.term)}</span><div class="bar" role="img" '
                    f'aria-label="{escape(format_number(r.weight))}" '
                    f'style="width:{100 * r.weight / top:.1f}%"></div></div>'
                    for r in rows.itertuples())
                cards.append(f'<div class="card"><h3>Topic {t}</h3>{bars}</div>')
            return f'<div class="cards">{"".join(cards)}</div>'
        if self.kind == "images":
            from ..plot import image_png

            items = "".join(
                f"<figure>{img(image_png(self.H[i], self.image_shape), f'component {i}', 'pixel')}"
                f"<figcaption>component {i}</figcaption></figure>"
                for i in range(self.H.shape[0]))
            return f'<div class="gallery">{items}</div>'
        return (f"<figure>{img(self._figure_png(), 'Heat map of the components')}"
                "<figcaption>Components (rows) over features (columns).</figcaption></figure>")

    def figures(self):
        return {f"{self.id}.png": self._figure_png()}


class MembershipsSection(Section):
    """Which samples each component explains most (the largest entries of each column of W).

    Parameters
    ----------
    W : ndarray of shape (n_samples, k)
    row_labels : sequence of str, optional
    n : int
        Samples listed per component.
    component_names : sequence of str, optional
        E.g. topic terms, shown beside each component.
    sample_images : ndarray of shape (n_samples, height * width), optional
        With ``image_shape``, thumbnails of the top samples.
    """

    def __init__(self, W, *, row_labels=None, n=5, component_names=None, sample_images=None,
                 image_shape=None, title="Memberships", **kwargs):
        kwargs.setdefault("intro", "The samples with the largest weight on each component; "
                                   "'share' is the component's part of all weight in W. "
                                   "Click a column heading to sort.")
        super().__init__(title, **kwargs)
        self.W = np.asarray(W, dtype=float)
        self.row_labels = (np.asarray(row_labels, dtype=str) if row_labels is not None
                           else np.array([str(i) for i in range(self.W.shape[0])]))
        self.n = n
        self.component_names = component_names
        self.sample_images = sample_images
        self.image_shape = image_shape

    def table(self):
        total = self.W.sum() or 1.0
        rows = []
        for c in range(self.W.shape[1]):
            order = np.argsort(-self.W[:, c], kind="stable")[: self.n]
            row = {"component": c}
            if self.component_names is not None:
                row["top terms"] = self.component_names[c]
            row["share"] = float(self.W[:, c].sum() / total)
            row["top samples"] = "; ".join(
                f"{self.row_labels[i]} ({format_number(self.W[i, c])})" for i in order)
            rows.append(row)
        return pd.DataFrame(rows)

    def body(self):
        frame = self.table()
        raw = ()
        if self.sample_images is not None and self.image_shape is not None:
            from ..plot import image_png

            thumbs = []
            for c in range(self.W.shape[1]):
                order = np.argsort(-self.W[:, c], kind="stable")[: self.n]
                thumbs.append("".join(
                    img(image_png(np.asarray(self.sample_images[i]), self.image_shape),
                        self.row_labels[i], "thumb") for i in order))
            frame.insert(len(frame.columns) - 1, "pictures", thumbs)
            raw = ("pictures",)
        return table_html(frame, raw_html_columns=raw)


class SimilarItemsSection(Section):
    """The items most similar (cosine of their rows of W) to a few chosen items.

    Parameters
    ----------
    W : ndarray of shape (n_samples, k)
    row_labels : sequence of str
    queries : sequence of labels, optional
        Default: the 3 samples with the largest total weight.
    n : int
        Neighbours listed per query.
    """

    def __init__(self, W, row_labels, *, queries=None, n=5, title="Similar items", **kwargs):
        kwargs.setdefault("intro", "Nearest items by cosine similarity of their memberships "
                                   "(rows of W, scaled to unit length).")
        super().__init__(title, **kwargs)
        from ..apps.similarity import SimilarityIndex

        self.index = SimilarityIndex(W, labels=[str(v) for v in row_labels])
        if queries is None:
            heaviest = np.argsort(-np.asarray(W).sum(axis=1), kind="stable")[:3]
            queries = [self.index.labels_[i] for i in heaviest]
        self.queries = list(queries)
        for q in self.queries:  # fail now, with the helpful message, not while rendering
            self.index.similarities(q)
        self.n = n

    def table(self):
        rows = []
        for q in self.queries:
            for rank, (label, score) in enumerate(self.index.most_similar(q, self.n).items(), 1):
                rows.append({"item": str(q), "rank": rank, "similar item": label,
                             "cosine similarity": float(score)})
        return pd.DataFrame(rows, columns=["item", "rank", "similar item", "cosine similarity"])

    def body(self):
        return table_html(self.table())
