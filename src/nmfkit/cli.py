"""The ``nmfkit`` command: factorize data files, print topics, find similar items, report.

Run ``nmfkit --help`` or ``nmfkit COMMAND --help``. Every command prints one clear line
to stderr and exits with status 2 on a user error (missing file, unreadable format,
negative data, bad option); ``--debug`` shows the Python traceback instead.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np

__all__ = ["main", "build_parser"]

PROG = "nmfkit"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_LOSSES = {"fro": "frobenius", "frobenius": "frobenius", "kl": "kullback-leibler",
           "kullback-leibler": "kullback-leibler", "is": "itakura-saito",
           "itakura-saito": "itakura-saito"}


class UsageError(ValueError):
    """A mistake in how the command was called; reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports an error in one line (not usage + message)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=30)


# --- output ------------------------------------------------------------------------------


class _Console:
    """Where the command talks: results to stdout, progress and notes to stderr."""

    def __init__(self, quiet=False, verbose=0):
        self.quiet = quiet
        self.verbose = verbose

    def out(self, text=""):
        print(text, flush=True)

    def note(self, text):
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def detail(self, text):
        if self.verbose and not self.quiet:
            print(text, file=sys.stderr, flush=True)

    @property
    def bars(self):
        """Show progress bars: on a terminal, or when asked with -v; never with -q."""
        if self.quiet:
            return False
        return self.verbose > 0 or sys.stderr.isatty()

    def nmf_verbose(self):
        if self.verbose >= 2 and not self.quiet:
            return 2
        return 1 if self.bars else 0

    @contextlib.contextmanager
    def step(self, description):
        """A progress bar for one step that has no natural count (loading, writing)."""
        from tqdm.auto import tqdm

        start = time.perf_counter()
        with tqdm(total=1, desc=description, disable=not self.bars, leave=False,
                  file=sys.stderr, bar_format="{desc} {elapsed}") as bar:
            yield
            bar.update()
        self.detail(f"{description}: {time.perf_counter() - start:.2f} s")


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"{PROG}: warning: {_one_line(message)}", file=sys.stderr, flush=True)


def _one_line(exc):
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    text = " ".join(text.split())
    return text or type(exc).__name__


# --- shared pieces -------------------------------------------------------------------------


def _loss(value):
    key = value.lower()
    if key in _LOSSES:
        return _LOSSES[key]
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown loss {value!r}; use frobenius, kl, is or a number (beta)") from None


def _positive_int(value):
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _delimiter(value):
    return {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";"}.get(value, value)


def _add_common(parser):
    group = parser.add_argument_group("output")
    group.add_argument("-q", "--quiet", action="store_true",
                       help="print results only: no progress bars, notes or warnings")
    group.add_argument("-v", "--verbose", action="count", default=0,
                       help="progress bars even when not on a terminal and timings; "
                            "-vv logs every iteration")
    group.add_argument("--debug", action="store_true",
                       help="show the Python traceback of an error")


def _add_input_options(parser):
    group = parser.add_argument_group("reading DATA")
    group.add_argument("--format", choices=["csv", "tsv", "npy", "npz", "mtx", "h5ad", "txt",
                                            "folder"],
                       help="file format (default: from the extension)")
    header = group.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_const", const=True,
                        default="auto", help="first row of a CSV/TSV names the columns")
    header.add_argument("--no-header", dest="header", action="store_const", const=False,
                        help="first row of a CSV/TSV is data")
    index = group.add_mutually_exclusive_group()
    index.add_argument("--index-col", dest="index_col", action="store_const", const=True,
                       default="auto", help="first column of a CSV/TSV names the rows")
    index.add_argument("--no-index-col", dest="index_col", action="store_const", const=False,
                       help="first column of a CSV/TSV is data")
    group.add_argument("--delimiter", type=_delimiter,
                       help="CSV field separator (default ',' for .csv, tab for .tsv)")
    group.add_argument("--key", help="which array of a .npz file holding several")
    group.add_argument("--transpose", action="store_true",
                       help="factorize the transpose (columns become samples)")


def _add_nmf_options(parser, *, k_help="number of components (the rank of WH)"):
    group = parser.add_argument_group("factorization")
    group.add_argument("-k", "--n-components", dest="k", type=_positive_int, required=True,
                       help=k_help)
    group.add_argument("--loss", type=_loss, default="frobenius",
                       help="frobenius (default), kl (Kullback-Leibler, for counts), "
                            "is (Itakura-Saito, for spectra) or a beta value")
    group.add_argument("--solver", default="auto",
                       choices=["auto", "hals", "cd", "mu", "als", "anls", "pgd"],
                       help="algorithm (default: auto, the fastest for the loss)")
    group.add_argument("--init", default="auto",
                       choices=["auto", "random", "nndsvd", "nndsvda", "nndsvdar"],
                       help="initialization (default: auto)")
    group.add_argument("--missing", default="error", choices=["error", "mask"],
                       help="empty cells / NaN: 'error' (default) or 'mask' (fit the observed "
                            "entries only)")
    group.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    group.add_argument("--max-iter", type=_positive_int, default=200,
                       help="most iterations (default 200)")
    group.add_argument("--tol", type=float, default=1e-4,
                       help="stop when the objective falls by less than this, relatively "
                            "(default 1e-4)")
    group.add_argument("--n-init", type=_positive_int, default=1,
                       help="restarts; the best objective is kept (default 1)")
    group.add_argument("--alpha-W", type=float, default=0.0, help="regularization of W")
    group.add_argument("--alpha-H", type=float, default=None,
                       help="regularization of H (default: same as W)")
    group.add_argument("--l1-ratio", type=float, default=0.0,
                       help="share of L1 in the regularization (0 = L2, 1 = L1 / sparse)")


def _make_nmf(args, console):
    from . import NMF

    return NMF(
        n_components=args.k, init=args.init, solver=args.solver, beta_loss=args.loss,
        tol=args.tol, max_iter=args.max_iter, random_state=args.seed, alpha_W=args.alpha_W,
        alpha_H="same" if args.alpha_H is None else args.alpha_H, l1_ratio=args.l1_ratio,
        n_init=args.n_init, missing=args.missing, verbose=console.nmf_verbose(),
    )


def _read(args, console, path=None, progress_label="loading"):
    from .io import read_matrix

    path = path or args.data
    with console.step(f"{progress_label} {path}"):
        data = read_matrix(path, format=args.format, header=args.header,
                           index_col=args.index_col, delimiter=args.delimiter, key=args.key,
                           progress=console.bars)
    if getattr(args, "transpose", False):
        data.X = data.X.T.tocsr() if hasattr(data.X, "tocsr") else np.ascontiguousarray(data.X.T)
        data.row_labels, data.column_labels = data.column_labels, data.row_labels
        data.kind = "matrix" if data.kind in ("images",) else data.kind
        data.image_shape = None
    return data


def _describe(X):
    from .io import summarize_matrix

    s = summarize_matrix(X)
    return (f"{s['n_rows']:,} x {s['n_columns']:,} {s['storage']}, "
            f"{100 * s['density']:.3g} % non-zero, values {s['min']:.4g} .. {s['max']:.4g}"
            + (f", {s['missing']:,} missing" if s["missing"] else ""))


def _fit(model, X, console):
    """Fit, reporting an interruption (Ctrl-C keeps the best factors so far)."""
    start = time.perf_counter()
    W = model.fit_transform(X)
    seconds = time.perf_counter() - start
    interrupted = getattr(model, "stop_reason_", None) == "interrupted"
    return W, seconds, interrupted


def _fit_summary(model, seconds):
    how = getattr(model, "stop_reason_", None) or (
        "converged" if getattr(model, "converged_", model.n_iter_ < model.max_iter)
        else "max_iter reached")
    return (f"k={model.n_components_}, solver {getattr(model, 'solver_', model.solver)}, "
            f"{model.n_iter_} iterations ({how}), {seconds:.2f} s, "
            f"reconstruction error {model.reconstruction_err_:.6g}")


def _model_extras(data, W, *, info=None):
    from .io import summarize_matrix, vectorizer_to_extras

    meta = {"kind": data.kind, "source": data.source, "image_shape": data.image_shape,
            "summary": summarize_matrix(data.X), **(info or {})}
    extras = {
        "W": np.asarray(W, dtype=np.float64),
        "row_labels": np.asarray(data.row_labels, dtype=str),
        "column_labels": np.asarray(data.column_labels, dtype=str),
        "info": np.asarray(json.dumps(meta)),
    }
    if data.vectorizer is not None:
        extras.update(vectorizer_to_extras(data.vectorizer))
    return extras


def _load_model(path, console):
    from . import load

    if not os.path.exists(path):
        raise FileNotFoundError(f"no such model file: {str(path)!r} (write one with "
                                f"'{PROG} fit DATA -k K -o {path}')")
    with console.step(f"loading {path}"):
        try:
            model = load(path)
        except (ValueError, KeyError, OSError, EOFError) as exc:
            raise ValueError(f"{str(path)!r} is not an nmfkit model file ({_one_line(exc)})") \
                from None
    extras = getattr(model, "extras_", {}) or {}
    info = json.loads(str(extras["info"])) if "info" in extras else {}
    return model, extras, info


def _component_names(model, extras, info, n_terms=3):
    if info.get("kind") == "text" and "column_labels" in extras:
        H = model.components_
        terms = np.asarray(extras["column_labels"], dtype=str)
        return [", ".join(terms[np.argsort(-row, kind="stable")[:n_terms]]) for row in H]
    return None


def _print_topics(console, H, terms, n):
    width = len(str(H.shape[0] - 1))
    for t, row in enumerate(H):
        top = terms[np.argsort(-row, kind="stable")[:n]]
        console.out(f"topic {t:>{width}}: {' '.join(top)}")


def _write_outputs(args, console, model, data, W, extras):
    from .io import write_factor_csv

    written = []
    if args.output:
        with console.step(f"writing {args.output}"):
            model.save(args.output, extras=extras)
        written.append(args.output)
    if getattr(args, "out_dir", None):
        out = Path(args.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        components = [f"component {i}" for i in range(model.n_components_)]
        written.append(write_factor_csv(out / "W.csv", W, data.row_labels, components,
                                        index_name="sample"))
        written.append(write_factor_csv(out / "H.csv", model.components_, components,
                                        data.column_labels, index_name="component"))
    if getattr(args, "report", None):
        from .report import build_report

        with console.step("writing the report"):
            report = build_report(model, data.X, W=W, row_labels=data.row_labels,
                                  column_labels=data.column_labels, kind=data.kind,
                                  image_shape=data.image_shape,
                                  title=f"NMF of {Path(data.source).name}")
            written.append(report.save(args.report))
    for path in written:
        console.note(f"wrote {path}")
    if not written:
        console.note("nothing written: add -o model.nmf to keep the model "
                     "(or --out-dir DIR for W.csv and H.csv)")


# --- commands -----------------------------------------------------------------------------


def cmd_fit(args, console):
    data = _read(args, console)
    console.detail(f"data: {_describe(data.X)}")
    model = _make_nmf(args, console)
    W, seconds, interrupted = _fit(model, data.X, console)
    console.out(f"fitted NMF of {data.source}: {_fit_summary(model, seconds)}")
    if data.kind == "text":
        _print_topics(console, model.components_, data.column_labels, 8)
    _write_outputs(args, console, model, data, W, _model_extras(data, W))
    return EXIT_INTERRUPTED if interrupted else 0


def _align_columns(data, extras, info, model_path):
    """Reorder the new data's columns as in training when both have names."""
    if "column_labels" not in extras or data.kind != "table":
        return data
    trained = np.asarray(extras["column_labels"], dtype=str)
    default = np.array([str(i) for i in range(len(data.column_labels))])
    if np.array_equal(data.column_labels, default) or np.array_equal(data.column_labels, trained):
        return data
    position = {label: i for i, label in enumerate(data.column_labels)}
    missing = [t for t in trained if t not in position]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise ValueError(f"{data.source!r} lacks {len(missing)} column(s) that "
                         f"{model_path!r} was fitted on: {shown}")
    order = [position[t] for t in trained]
    data.X = data.X[:, order]
    data.column_labels = trained
    return data


def cmd_transform(args, console):
    from .io import read_documents, write_factor_csv

    model, extras, info = _load_model(args.model, console)
    if info.get("kind") == "text" and "vectorizer" in extras:
        from .io import LabeledMatrix, vectorizer_from_extras

        docs, labels = read_documents(args.data, progress=console.bars)
        vectorizer = vectorizer_from_extras(extras)
        import scipy.sparse as sp

        data = LabeledMatrix(sp.csr_matrix(vectorizer.transform(docs)), np.asarray(labels),
                             np.asarray(extras["vocabulary"], dtype=str), kind="text",
                             source=str(args.data))
    else:
        data = _align_columns(_read(args, console), extras, info, args.model)
    n_features = model.components_.shape[1]
    if data.X.shape[1] != n_features:
        raise ValueError(f"{data.source!r} has {data.X.shape[1]} columns but {args.model!r} "
                         f"was fitted on {n_features}; give data with the same features")
    with console.step("transforming"):
        W = model.transform(data.X)
    names = _component_names(model, extras, info)
    columns = [f"component {i}" + (f" ({names[i]})" if names else "")
               for i in range(W.shape[1])]
    if args.output:
        write_factor_csv(args.output, W, data.row_labels, columns, index_name="sample")
        console.note(f"wrote {args.output} ({W.shape[0]:,} samples x {W.shape[1]} components)")
    else:
        import pandas as pd

        pd.DataFrame(W, index=pd.Index(data.row_labels, name="sample"),
                     columns=columns).to_csv(sys.stdout, float_format="%.6g")
    return 0


def cmd_topics(args, console):
    from .apps.topics import TopicModel
    from .io import LabeledMatrix, read_documents

    corpus = Path(args.corpus)
    if not corpus.exists():
        raise FileNotFoundError(f"no such file or folder: {str(corpus)!r}")
    if corpus.suffix.lower() in (".csv", ".tsv"):
        import pandas as pd

        if not args.text_column:
            raise UsageError(f"{str(corpus)!r} is a table: name its text column with "
                             "--text-column (and optionally --label-column)")
        with console.step(f"loading {corpus}"):
            table = pd.read_csv(corpus, sep="\t" if corpus.suffix.lower() == ".tsv" else ",")
        for column in filter(None, (args.text_column, args.label_column)):
            if column not in table.columns:
                raise ValueError(f"{str(corpus)!r} has no column {column!r}; it has "
                                 f"{', '.join(map(str, table.columns[:10]))}")
        table = table[table[args.text_column].notna()]
        docs = table[args.text_column].astype(str).tolist()
        labels = (table[args.label_column].astype(str).tolist() if args.label_column
                  else [str(i) for i in table.index])
    elif corpus.is_dir() or corpus.suffix.lower() == ".txt" or args.format in ("txt", "folder"):
        with console.step(f"loading {corpus}"):
            docs, labels = read_documents(corpus, progress=console.bars)
    else:
        raise UsageError(f"{str(corpus)!r}: topics reads a .txt file (one document per line), "
                         "a folder of .txt files, or a .csv/.tsv with --text-column")
    if len(set(labels)) != len(labels):
        raise ValueError("document labels repeat; choose a --label-column with unique values")
    from .io import make_vectorizer

    vectorizer = make_vectorizer(len(docs))
    if args.max_features:
        vectorizer.set_params(max_features=args.max_features)
    topics = TopicModel(args.k, vectorizer=vectorizer, init=args.init, solver=args.solver,
                        beta_loss=args.loss, tol=args.tol, max_iter=args.max_iter,
                        random_state=args.seed, n_init=args.n_init,
                        alpha_W=args.alpha_W, l1_ratio=args.l1_ratio,
                        alpha_H="same" if args.alpha_H is None else args.alpha_H,
                        verbose=console.nmf_verbose())
    start = time.perf_counter()
    with console.step("vectorizing and fitting") if not console.bars else contextlib.nullcontext():
        topics.fit(docs, labels)
    seconds = time.perf_counter() - start
    model = topics.model_
    console.note(f"{len(docs):,} documents, {topics.n_terms_:,} terms; "
                 f"{_fit_summary(model, seconds)}")
    _print_topics(console, model.components_, topics.terms_, args.n_terms)
    data = LabeledMatrix(topics.vectorizer_.transform(docs), np.asarray(labels, dtype=str),
                         topics.terms_, kind="text", source=str(corpus),
                         vectorizer=topics.vectorizer_)
    W = topics.document_topics_.to_numpy()
    _write_outputs(args, console, model, data, W, _model_extras(data, W))
    return EXIT_INTERRUPTED if getattr(model, "stop_reason_", None) == "interrupted" else 0


def cmd_similar(args, console):
    from .apps.similarity import SimilarityIndex

    model, extras, info = _load_model(args.model, console)
    if "W" not in extras or "row_labels" not in extras:
        raise ValueError(f"{args.model!r} does not hold the training samples' memberships; "
                         f"write it with '{PROG} fit ... -o' or '{PROG} topics ... -o'")
    index = SimilarityIndex(extras["W"], labels=np.asarray(extras["row_labels"], dtype=str))
    label = args.label
    if label not in index.labels_ and args.label.lstrip("-").isdigit() and args.by_position:
        label = int(args.label)
    result = index.most_similar(label, n=args.n)
    console.out(f"most similar to {result.name}:")
    for rank, (item, score) in enumerate(result.items(), start=1):
        console.out(f"{rank:>3}  {score:.3f}  {item}")
    return 0


def cmd_report(args, console):
    from .report import build_report

    model, extras, info = _load_model(args.model, console)
    X = None
    if args.data:
        data = _read(args, console)
        X = data.X
    kind = info.get("kind") or ("images" if info.get("image_shape") else "matrix")
    row_labels = extras.get("row_labels")
    column_labels = extras.get("column_labels")
    summary = dict(info.get("summary") or {})
    if info.get("source"):
        summary["source"] = info["source"]
    with console.step("building the report"):
        report = build_report(
            model, X, W=extras.get("W"), row_labels=row_labels, column_labels=column_labels,
            kind=kind, image_shape=info.get("image_shape"), summary=summary or None,
            similar_to=args.similar_to or None,
            title=args.title or f"NMF report: {Path(info.get('source') or args.model).name}")
        path = report.save(args.output, figures_dir=args.figures)
    console.note(f"wrote {path}")
    console.out(str(Path(path).resolve()))
    return 0


DEMO_QUERIES = ("Toy Story (1995)", "Alien (1979)")


def run_demo(out_dir, console):
    """Topics and similar films from critics' texts, parts of faces and digits; a report."""
    from . import NMF
    from .apps.topics import TopicModel
    from .datasets import load_digits, load_faces, load_movies
    from .metrics import sparseness
    from .report import HTMLSection, Report, analysis_sections

    start = time.perf_counter()
    out_dir = Path(out_dir)
    rule = "-" * 72
    console.out("nmfkit demo: non-negative matrix factorization on real data shipped in "
                "Python packages")

    # 1. Film critics' texts -> topics, and films similar by their topic mix.
    with console.step("loading films (bokeh-sampledata movies.db)"):
        movies = load_movies()
    documents = movies["genres"].str.replace(",", "", regex=False) + ". " + movies["consensus"]
    topics = TopicModel(20, random_state=0, max_iter=300, verbose=console.nmf_verbose())
    t0 = time.perf_counter()
    topics.fit(documents, movies.index)
    console.out(f"\n{rule}\n1. Topics of {len(movies):,} films: genres + Rotten Tomatoes "
                f"critics' consensus\n   tf-idf {topics.n_documents_:,} x {topics.n_terms_:,}, "
                f"{_fit_summary(topics.model_, time.perf_counter() - t0)}\n{rule}")
    _print_topics(console, topics.model_.components_, topics.terms_, 7)
    for query in DEMO_QUERIES:
        console.out(f"\nFilms most similar to {query} (cosine of topic weights):")
        for rank, (title, score) in enumerate(topics.most_similar(query, n=5).items(), 1):
            console.out(f"  {rank}. {score:.3f}  {title}")

    # 2. Faces -> parts; 3. digits -> strokes.
    faces = load_faces()
    digits = load_digits()
    image_sets = [("Faces", faces.data, faces.labels, faces.image_shape, 16,
                   "100 face photographs, 25 x 25 (LFW subset, scikit-image)"),
                  ("Digits", digits.data, digits.labels, digits.image_shape, 16,
                   "1,797 handwritten digits, 8 x 8 (scikit-learn)")]
    image_results = []
    for number, (name, X, labels, shape, k, about) in enumerate(image_sets, start=2):
        model = NMF(k, init="nndsvda", max_iter=400, random_state=0,
                    verbose=console.nmf_verbose())
        t0 = time.perf_counter()
        W = model.fit_transform(X)
        image_results.append((name, model, X, W, labels, shape))
        console.out(f"\n{rule}\n{number}. Parts of {about}\n   "
                    f"{_fit_summary(model, time.perf_counter() - t0)}\n{rule}")
        parts = model.components_
        # Part j contributes Σ W[:, j] H[j, :] to the reconstruction: (ΣW_j)(ΣH_j), which
        # does not depend on how the scale is split between W and H.
        contribution = W.sum(axis=0) * parts.sum(axis=1)
        share = contribution / contribution.sum()
        relative = model.reconstruction_err_ / float(np.linalg.norm(X))
        console.out(f"   rank {model.n_components_}, relative error {relative:.4f}; parts: "
                    f"{100 * float(np.mean(parts <= 1e-12 * parts.max())):.0f}% of pixels "
                    f"zero, Hoyer sparseness {float(np.mean(sparseness(parts, axis=1))):.2f} "
                    "(0 = flat, 1 = one pixel)")
        console.out("   share of each part in the reconstructed images: "
                    + " ".join(f"{100 * v:.0f}%" for v in share))

    # The report: one page, every analysis a group of sections.
    intro = HTMLSection("About", (
        "<p>Three factorizations X ≈ WH on real data that ships inside Python packages. "
        "<b>Films</b>: each document is a film's genres and its critics' consensus; rows of "
        "H are topics, rows of W each film's mix of topics, and films with a similar mix "
        "are listed. <b>Faces</b> and <b>digits</b>: rows of H are parts, drawn as images; "
        "each picture is a non-negative sum of parts.</p>"), id="about")
    report = Report("nmfkit demo", [intro], subtitle="Topics of film critics' texts, similar "
                    "films, and the parts of faces and digits")
    with console.step("writing the report"):
        report.add(*analysis_sections(
            topics.model_, W=topics.document_topics_.to_numpy(), row_labels=movies.index,
            column_labels=topics.terms_, kind="text", similar_to=list(DEMO_QUERIES),
            summary={"source": "bokeh-sampledata 2025.0: movies.db", "kind": "text",
                     **_summary(topics.vectorizer_.transform(documents))},
            name="Films"))
        for name, model, X, W, labels, shape in image_results:
            report.add(*analysis_sections(model, X, W=W, row_labels=labels, kind="images",
                                          image_shape=shape, name=name))
        path = report.save(out_dir / "report.html", figures_dir=out_dir / "figures")
    console.out(f"\n{rule}\nDone in {time.perf_counter() - start:.1f} s. Figures in "
                f"{out_dir / 'figures'}; open the report in a browser:\n"
                f"{Path(path).resolve()}")
    return 0


def _summary(X):
    from .io import summarize_matrix

    return summarize_matrix(X)


def cmd_demo(args, console):
    return run_demo(Path(args.out_dir), console)


# --- parser -------------------------------------------------------------------------------

_EXAMPLES = {
    "fit": """\
examples:
  nmfkit fit counts.csv -k 10 -o model.nmf
  nmfkit fit matrix.mtx -k 20 --loss kl --out-dir factors/   # W.csv, H.csv with labels
  nmfkit fit articles/ -k 8 -o topics.nmf --report report.html""",
    "transform": """\
example:
  nmfkit transform model.nmf new_samples.csv -o W_new.csv""",
    "topics": """\
examples:
  nmfkit topics abstracts.txt -k 10            # one document per line
  nmfkit topics articles/ -k 8 -n 12 -o topics.nmf
  nmfkit topics reviews.csv --text-column review --label-column title -k 15""",
    "similar": """\
example:
  nmfkit similar topics.nmf "Dog bites man" -n 5""",
    "report": """\
example:
  nmfkit report model.nmf -o report.html --figures figures/""",
    "demo": """\
example:
  nmfkit demo            # writes nmfkit-demo/report.html and prints its path""",
}


def build_parser():
    """The argparse parser of the ``nmfkit`` command."""
    from . import __version__

    parser = _Parser(
        prog=PROG, formatter_class=_Formatter,
        description="Non-negative matrix factorization X ≈ WH (W, H >= 0) from the "
                    "command line.",
        epilog=textwrap.dedent("""\
            examples:
              nmfkit demo
              nmfkit fit data.csv -k 10 -o model.nmf
              nmfkit topics articles/ -k 8
              nmfkit similar model.nmf "Toy Story (1995)"
              nmfkit report model.nmf -o report.html

            Run 'nmfkit COMMAND --help' for the options of a command."""),
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def add(name, help_text, func):
        sub = commands.add_parser(name, help=help_text, description=help_text,
                                  epilog=_EXAMPLES[name], formatter_class=_Formatter)
        sub.set_defaults(func=func)
        return sub

    fit = add("fit", "factorize a data file and save the model", cmd_fit)
    fit.add_argument("data", metavar="DATA",
                     help=".csv .tsv .npy .npz .mtx .h5ad, .txt (a document per line) or a "
                          "folder of .txt files")
    _add_nmf_options(fit)
    fit.add_argument("-o", "--output", metavar="MODEL", help="write the model (.nmf) here")
    fit.add_argument("--out-dir", metavar="DIR", help="write W.csv and H.csv with labels here")
    fit.add_argument("--report", metavar="HTML", help="also write an HTML report here")
    _add_input_options(fit)
    _add_common(fit)

    transform = add("transform", "memberships (W) of new data under a saved model",
                    cmd_transform)
    transform.add_argument("model", metavar="MODEL", help="model file from 'nmfkit fit -o'")
    transform.add_argument("data", metavar="DATA", help="new samples, same columns as training")
    transform.add_argument("-o", "--output", metavar="CSV",
                           help="write W here (default: print CSV to stdout)")
    _add_input_options(transform)
    _add_common(transform)

    topics = add("topics", "topics of a corpus: tf-idf, NMF, top terms per topic", cmd_topics)
    topics.add_argument("corpus", metavar="CORPUS",
                        help=".txt (one document per line), a folder of .txt files, or a "
                             ".csv/.tsv with --text-column")
    _add_nmf_options(topics, k_help="number of topics")
    topics.add_argument("-n", "--n-terms", type=_positive_int, default=10,
                        help="terms shown per topic (default 10)")
    topics.add_argument("--text-column", help="column of a .csv/.tsv holding the text")
    topics.add_argument("--label-column", help="column of a .csv/.tsv naming the documents")
    topics.add_argument("--max-features", type=_positive_int,
                        help="keep only this many most frequent terms")
    topics.add_argument("--format", choices=["txt", "folder"], help=argparse.SUPPRESS)
    topics.add_argument("-o", "--output", metavar="MODEL", help="write the model (.nmf) here")
    topics.add_argument("--out-dir", metavar="DIR",
                        help="write W.csv (document x topic) and H.csv (topic x term) here")
    topics.add_argument("--report", metavar="HTML", help="also write an HTML report here")
    _add_common(topics)

    similar = add("similar", "items most similar to one item of a saved model", cmd_similar)
    similar.add_argument("model", metavar="MODEL", help="model file from 'nmfkit fit/topics -o'")
    similar.add_argument("label", metavar="LABEL", help="the item's label (row name)")
    similar.add_argument("-n", type=_positive_int, default=5, help="how many (default 5)")
    similar.add_argument("--by-position", action="store_true",
                         help="read LABEL as a row number when no row has that label")
    _add_common(similar)

    report = add("report", "write a self-contained HTML report of a saved model", cmd_report)
    report.add_argument("model", metavar="MODEL", help="model file from 'nmfkit fit/topics -o'")
    report.add_argument("-o", "--output", metavar="HTML", default="report.html",
                        help="where to write it (default report.html)")
    report.add_argument("--data", metavar="DATA",
                        help="the training data, to summarize it and show sample pictures")
    report.add_argument("--figures", metavar="DIR", help="also save the figures as PNG here")
    report.add_argument("--similar-to", metavar="LABEL", action="append",
                        help="item for the similar-items table (repeatable)")
    report.add_argument("--title", help="title of the page")
    _add_input_options(report)
    _add_common(report)

    demo = add("demo", "topics of film critics' texts, similar films and parts of faces, "
                       "on data shipped in packages", cmd_demo)
    demo.add_argument("--out-dir", default="nmfkit-demo", metavar="DIR",
                      help="where to write report.html and figures (default nmfkit-demo)")
    _add_common(demo)
    return parser


# Exceptions that mean "the input or the options are wrong": reported in one line.
_USER_ERRORS = (ValueError, TypeError, KeyError, IndexError, OSError, ImportError)


def main(argv=None):
    """Run the ``nmfkit`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    console = _Console(quiet=args.quiet, verbose=args.verbose)
    name = f"{PROG} {args.command}"
    with warnings.catch_warnings():
        if args.quiet:
            warnings.simplefilter("ignore")
        elif not args.debug:
            warnings.showwarning = _show_warning
        try:
            return args.func(args, console)
        except KeyboardInterrupt:
            if args.debug:
                raise
            print(f"{name}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except BrokenPipeError:  # e.g. `nmfkit transform ... | head`
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0
        except _USER_ERRORS as exc:
            if args.debug:
                raise
            print(f"{name}: error: {_one_line(exc)}", file=sys.stderr)
            return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
