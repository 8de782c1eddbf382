"""The demo: NMF on real data that ships inside Python packages, and a report of it.

Three factorizations X ≈ WH: topics of film critics' texts and the films most similar
by their mix of topics (bokeh-sampledata), the parts of faces (scikit-image) and of
handwritten digits (scikit-learn); one self-contained HTML report of all three.
``nmfkit demo`` runs :func:`run` and prints its result.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["run", "DemoResult", "PartsResult", "SIMILAR_TO"]

#: Films whose neighbours the demo lists.
SIMILAR_TO = ("Toy Story (1995)", "Alien (1979)")


@dataclass
class PartsResult:
    """The parts NMF finds in a set of images.

    Attributes
    ----------
    name : str
        ``'Faces'`` or ``'Digits'``.
    description : str
        What the images are and where they come from.
    model : nmfkit.NMF
        The fitted model; ``model.components_`` are the parts.
    W : ndarray of shape (n_images, k)
        How much of each part every image holds.
    seconds : float
        Wall-clock time of the fit, initialization included.
    relative_error : float
        ``‖X − WH‖ / ‖X‖``.
    zero_fraction : float
        Share of the parts' pixels that are zero.
    sparseness : float
        Mean Hoyer sparseness of the parts (0 = flat, 1 = one pixel).
    shares : ndarray of shape (k,)
        Share of each part in the reconstructed images (sums to 1).
    """

    name: str
    description: str
    model: object
    W: np.ndarray = field(repr=False)
    seconds: float
    relative_error: float
    zero_fraction: float
    sparseness: float
    shares: np.ndarray = field(repr=False)


@dataclass
class DemoResult:
    """What :func:`run` found and wrote.

    Attributes
    ----------
    report_path : pathlib.Path
        The HTML report.
    figures_dir : pathlib.Path
        Its figures as PNG files.
    topics : nmfkit.TopicModel
        The topic model of the films; ``topics.timings_`` splits its time into tf-idf
        and NMF.
    films : pandas.DataFrame
        The films (:func:`nmfkit.datasets.load_movies`).
    similar : dict of str to pandas.Series
        For each film of ``similar_to``, the most similar films by cosine of topic
        weights, largest first.
    parts : list of PartsResult
        Faces, then digits.
    timings : dict of str to float
        Wall-clock seconds: ``'loading films'``, ``'report'`` (building and writing it,
        figures included) and ``'total'``; the fits' times are in ``topics.timings_``
        and ``parts[i].seconds``.
    """

    report_path: Path
    figures_dir: Path
    topics: object
    films: pd.DataFrame = field(repr=False)
    similar: dict
    parts: list
    timings: dict


def run(out_dir="nmfkit-demo", *, progress=None, verbose=0, n_topics=20,
        similar_to=SIMILAR_TO, n_similar=5):
    """Fit topics of film critics' texts and parts of faces and digits; write a report.

    Everything comes from packages already installed (``bokeh-sampledata``,
    ``scikit-image``, scikit-learn): nothing is downloaded.

    Parameters
    ----------
    out_dir : str or Path, default='nmfkit-demo'
        Where ``report.html`` and ``figures/*.png`` are written (created if needed).
    progress : callable, optional
        ``progress(description)`` returns a context manager wrapped around each slow
        step that has no iterations of its own (loading, writing the report), e.g. to
        show a progress bar; the command line passes its own.
    verbose : int, default=0
        Passed to every :class:`nmfkit.NMF`: 1 shows a progress bar per fit, 2 logs
        every iteration.
    n_topics : int, default=20
        Topics of the films.
    similar_to : sequence of str, default=SIMILAR_TO
        Films (``"Title (Year)"``) whose most similar films are listed.
    n_similar : int, default=5
        How many similar films for each.

    Returns
    -------
    DemoResult

    Raises
    ------
    ImportError
        When a package holding the data is missing (the message says what to install).
    OSError
        When ``out_dir`` cannot be written (checked before any work).

    Examples
    --------
    >>> from nmfkit import demo
    >>> result = demo.run("nmfkit-demo")  # doctest: +SKIP
    >>> result.report_path  # doctest: +SKIP
    PosixPath('nmfkit-demo/report.html')
    >>> result.similar["Toy Story (1995)"]  # doctest: +SKIP
    """
    from . import NMF
    from .apps.topics import TopicModel
    from .datasets import load_digits, load_faces, load_movies
    from .io import check_output_folder, summarize_matrix
    from .metrics import sparseness
    from .report import HTMLSection, Report, analysis_sections

    step = progress or (lambda description: contextlib.nullcontext())
    out_dir = Path(out_dir)
    check_output_folder(out_dir, what="the demo's report")
    start = time.perf_counter()

    # 1. Film critics' texts -> topics, and films similar by their topic mix.
    with step("loading films (bokeh-sampledata movies.db)"):
        movies = load_movies()
    loaded = time.perf_counter()
    documents = movies["genres"].str.replace(",", "", regex=False) + ". " + movies["consensus"]
    topics = TopicModel(n_topics, random_state=0, max_iter=300, verbose=verbose)
    topics.fit(documents, movies.index)
    similar = {query: topics.most_similar(query, n=n_similar) for query in similar_to}

    # 2. Faces -> parts; 3. digits -> strokes.
    faces, digits = load_faces(), load_digits()
    image_sets = [("Faces", faces, "100 face photographs, 25 x 25 (LFW subset, scikit-image)"),
                  ("Digits", digits, "1,797 handwritten digits, 8 x 8 (scikit-learn)")]
    parts = []
    for name, images, description in image_sets:
        X = images.data
        model = NMF(16, init="nndsvda", max_iter=400, random_state=0, verbose=verbose)
        t0 = time.perf_counter()
        W = model.fit_transform(X)
        seconds = time.perf_counter() - t0
        H = model.components_
        # Part j contributes Σ W[:, j] H[j, :] to the reconstruction: (ΣW_j)(ΣH_j), which
        # does not depend on how the scale is split between W and H.
        contribution = W.sum(axis=0) * H.sum(axis=1)
        parts.append(PartsResult(
            name=name, description=description, model=model, W=W, seconds=seconds,
            relative_error=model.reconstruction_err_ / float(np.linalg.norm(X)),
            zero_fraction=float(np.mean(H <= 1e-12 * H.max())),
            sparseness=float(np.mean(sparseness(H, axis=1))),
            shares=contribution / contribution.sum()))

    # The report: one page, every analysis a group of sections.
    intro = HTMLSection("About", (
        "<p>Three factorizations X ≈ WH on real data that ships inside Python packages. "
        "<b>Films</b>: each document is a film's genres and its critics' consensus; rows of "
        "H are topics, rows of W each film's mix of topics, and films with a similar mix "
        "are listed. <b>Faces</b> and <b>digits</b>: rows of H are parts, drawn as images; "
        "each picture is a non-negative sum of parts.</p>"), id="about")
    report = Report("nmfkit demo", [intro], subtitle="Topics of film critics' texts, similar "
                    "films, and the parts of faces and digits")
    reporting = time.perf_counter()
    with step("writing the report"):
        report.add(*analysis_sections(
            topics.model_, W=topics.document_topics_.to_numpy(), row_labels=movies.index,
            column_labels=topics.terms_, kind="text", similar_to=list(similar_to),
            summary={"source": "bokeh-sampledata 2025.0: movies.db", "kind": "text",
                     **summarize_matrix(topics.vectorizer_.transform(documents))},
            name="Films"))
        for result, (name, images, _) in zip(parts, image_sets):
            report.add(*analysis_sections(result.model, images.data, W=result.W,
                                          row_labels=images.labels, kind="images",
                                          image_shape=images.image_shape, name=name))
        figures_dir = out_dir / "figures"
        path = report.save(out_dir / "report.html", figures_dir=figures_dir)
    end = time.perf_counter()
    return DemoResult(report_path=Path(path), figures_dir=figures_dir, topics=topics,
                      films=movies, similar=similar, parts=parts,
                      timings={"loading films": loaded - start, "report": end - reporting,
                               "total": end - start})
