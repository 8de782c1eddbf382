"""The ``nmfkit`` command: factorize data files, print topics, find similar items, report.

Run ``nmfkit --help`` or ``nmfkit COMMAND --help``. Every command prints one clear line
to stderr and exits with status 2 on a user error (missing file, unreadable format,
negative data, bad option); ``--debug`` shows the Python traceback instead.

This module only parses the command line, calls the library and prints: file formats
are :mod:`nmfkit.io`'s, the demo is :func:`nmfkit.demo.run`.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
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
    print(f"{PROG}: warning: {_cli_spelling(_one_line(message))}", file=sys.stderr, flush=True)


def _one_line(exc):
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    text = " ".join(text.split())
    return text or type(exc).__name__


# The library's messages name its Python parameters; the command's user typed options.
_OPTIONS = {"n_components": "-k", "n_topics": "-k", "beta_loss": "--loss", "solver": "--solver",
            "init": "--init", "missing": "--missing", "max_iter": "--max-iter", "tol": "--tol",
            "n_init": "--n-init", "alpha_W": "--alpha-W", "alpha_H": "--alpha-H",
            "l1_ratio": "--l1-ratio", "random_state": "--seed", "text_column": "--text-column",
            "label_column": "--label-column", "max_features": "--max-features",
            "orthogonal": "--orthogonal"}
_NAMES = "|".join(sorted(_OPTIONS, key=len, reverse=True))
# name='a', name='a', 'b'/'c' or 'd', name=0.5, name=9
_ASSIGNED = re.compile(rf"\b({_NAMES})=('[^']*'(?:(?:, or |, |/| or )'[^']*')*"
                       r"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[A-Za-z_][\w.-]*)")
# scikit-learn's InvalidParameterError: "The 'tol' parameter of NMF must be ..."
_PARAMETER = re.compile(rf"\bThe '({_NAMES})' parameter of \w+ ")
# a bare name with an underscore cannot be an English word: "increase max_iter"
_BARE = re.compile(r"\b(" + "|".join(n for n in _OPTIONS if "_" in n) + r")\b")
_CALLS = {"model.save()": f"'{PROG} fit DATA -k K -o MODEL'"}


def _cli_spelling(text):
    """A library message with its Python spellings as the command's options.

    ``missing='mask'`` becomes ``--missing mask``, ``solver='mu' or 'cd'`` becomes
    ``--solver mu or cd``, ``n_components=9`` becomes ``-k 9``, ``max_iter`` ``--max-iter``.
    """
    def assigned(match):
        return f"{_OPTIONS[match[1]]} {match[2].replace(chr(39), '')}"

    text = _ASSIGNED.sub(assigned, text)
    text = _PARAMETER.sub(lambda m: f"{_OPTIONS[m[1]]} ", text)
    text = _BARE.sub(lambda m: _OPTIONS[m[1]], text)
    for call, command in _CALLS.items():
        text = text.replace(call, command)
    return text


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
    from .io import FORMATS

    group = parser.add_argument_group("reading DATA")
    group.add_argument("--format", choices=FORMATS,
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


def _add_nmf_options(parser, *, k_help="number of components (the rank of WH)",
                     rank_selection=False):
    """The factorization options; ``rank_selection`` leaves out those select_rank sets
    itself (the rank, the mask, restarts, orthogonality)."""
    from .solvers import names

    group = parser.add_argument_group("factorization")
    if not rank_selection:
        group.add_argument("-k", "--n-components", dest="k", type=_positive_int, required=True,
                           help=k_help)
    group.add_argument("--loss", type=_loss, default="frobenius",
                       help="frobenius (default), kl (Kullback-Leibler, for counts), "
                            "is (Itakura-Saito, for spectra) or a beta value")
    group.add_argument("--solver", default="auto", choices=names(),
                       help=f"algorithm (default: auto, the fastest for the loss); "
                            f"'{PROG} solvers' lists what each supports")
    group.add_argument("--init", default="auto",
                       choices=["auto", "random", "nndsvd", "nndsvda", "nndsvdar"],
                       help="initialization (default: auto)")
    if not rank_selection:
        group.add_argument("--missing", default="error", choices=["error", "mask"],
                           help="empty cells / NaN: 'error' (default) or 'mask' (fit the "
                                "observed entries only)")
        group.add_argument("--orthogonal", choices=["W", "H"],
                           help="orthogonal NMF: H clusters the columns, W the rows (one "
                                "non-zero per column of H, or row of W)")
    group.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    group.add_argument("--max-iter", type=_positive_int, default=200,
                       help="most iterations (default 200)")
    group.add_argument("--tol", type=float, default=1e-4,
                       help="stop when the objective falls by less than this, relatively "
                            "(default 1e-4)")
    if not rank_selection:
        group.add_argument("--n-init", type=_positive_int, default=1,
                           help="restarts; the best objective is kept (default 1)")
    group.add_argument("--alpha-W", type=float, default=0.0, help="regularization of W")
    group.add_argument("--alpha-H", type=float, default=None,
                       help="regularization of H (default: same as W)")
    group.add_argument("--l1-ratio", type=float, default=0.0,
                       help="share of L1 in the regularization (0 = L2, 1 = L1 / sparse)")


def _nmf_params(args, console):
    """The :class:`nmfkit.NMF` parameters the factorization options set."""
    return dict(init=args.init, solver=args.solver, beta_loss=args.loss, tol=args.tol,
                max_iter=args.max_iter, random_state=args.seed, alpha_W=args.alpha_W,
                alpha_H="same" if args.alpha_H is None else args.alpha_H,
                l1_ratio=args.l1_ratio, n_init=args.n_init, missing=args.missing,
                orthogonal=args.orthogonal, verbose=console.nmf_verbose())


def _ranks(value):
    """'2:20' (2 to 20, both included), '2:20:2' (every second) or '3,5,8'."""
    try:
        if ":" in value:
            parts = [int(p) for p in value.split(":")]
            if len(parts) not in (2, 3):
                raise ValueError
            start, stop, step = parts[0], parts[1], parts[2] if len(parts) == 3 else 1
            if step < 1 or stop < start:
                raise ValueError
            ranks = list(range(start, stop + 1, step))
        else:
            ranks = [int(p) for p in value.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected ranks as FIRST:LAST (e.g. 2:20), FIRST:LAST:STEP or a list "
            f"(3,5,8); got {value!r}") from None
    if not ranks or min(ranks) < 1:
        raise argparse.ArgumentTypeError(f"ranks must be at least 1; got {value!r}")
    return ranks


def _methods(value):
    from .rank import METHODS

    methods = [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise argparse.ArgumentTypeError(
            f"unknown method {', '.join(map(repr, unknown)) or repr(value)}; choose from "
            f"{', '.join(METHODS)} (several: cv,consensus)")
    return methods


def _check_outputs(args, **what):
    """Fail now, before reading or fitting anything, if an output cannot be written.

    ``what`` maps each output option (``output``, ``out_dir``, ``report``, ``figures``)
    to what it holds; folders and the report's parent folders are created when written.
    """
    from .io import check_output_file, check_output_folder

    for option, holds in what.items():
        path = getattr(args, option, None)
        if not path:
            continue
        if option in ("out_dir", "figures"):
            check_output_folder(path, what=holds)
        else:
            check_output_file(path, what=holds, make_parents=holds == "the report")


def _read(args, console):
    from .io import read_matrix

    with console.step(f"loading {args.data}"):
        data = read_matrix(args.data, format=args.format, header=args.header,
                           index_col=args.index_col, delimiter=args.delimiter, key=args.key,
                           progress=console.bars)
    return data.transposed() if getattr(args, "transpose", False) else data


def _describe(X):
    from .io import summarize_matrix

    s = summarize_matrix(X)
    return (f"{s['n_rows']:,} x {s['n_columns']:,} {s['storage']}, "
            f"{100 * s['density']:.3g} % non-zero, values {s['min']:.4g} .. {s['max']:.4g}"
            + (f", {s['missing']:,} missing" if s["missing"] else ""))


def _fit_summary(model, seconds):
    """One line about a fit; ``seconds`` is the whole fit's wall-clock time.

    The iterations' own time (the loss curve's, which the report shows) is named apart
    from the whole fit's, which adds the checks, the initialization and any restarts.
    """
    how = getattr(model, "stop_reason_", None) or (
        "converged" if getattr(model, "converged_", model.n_iter_ < model.max_iter)
        else "max_iter reached")
    curve = getattr(model, "loss_curve_", None)
    timing = f"{seconds:.2f} s"
    if curve is not None and len(curve):
        restarts = f" ({model.n_init} restarts)" if model.n_init > 1 else ""
        timing = f"{float(curve['seconds'].iloc[-1]):.2f} s, whole fit{restarts} {seconds:.2f} s"
    return (f"k={model.n_components_}, solver {getattr(model, 'solver_', model.solver)}, "
            f"{model.n_iter_} iterations ({how}) in {timing}, "
            f"reconstruction error {model.reconstruction_err_:.6g}")


def _load_model(path, console):
    """The model in ``path`` and what is stored beside it (:class:`nmfkit.io.ModelExtras`)."""
    from . import load
    from .io import ModelExtras

    if not os.path.exists(path):
        raise FileNotFoundError(f"no such model file: {str(path)!r} (write one with "
                                f"'{PROG} fit DATA -k K -o {path}')")
    with console.step(f"loading {path}"):
        try:
            model = load(path)  # its ValueErrors name the file and what is wrong
        except (KeyError, OSError, EOFError) as exc:
            raise ValueError(f"cannot read {str(path)!r} as an nmfkit model file: "
                             f"{_one_line(exc)}") from None
    return model, ModelExtras.of(model)


def _print_topics(console, H, terms, n):
    width = len(str(H.shape[0] - 1))
    for t, row in enumerate(H):
        top = terms[np.argsort(-row, kind="stable")[:n]]
        console.out(f"topic {t:>{width}}: {' '.join(top)}")


def _write_outputs(args, console, model, data, W, rank_selection=None):
    from dataclasses import replace

    from .io import ModelExtras, write_factor_csv

    written = []
    if args.output:
        extras = replace(ModelExtras.from_data(data, W), rank_selection=(
            rank_selection.to_dict() if rank_selection is not None else None))
        with console.step(f"writing {args.output}"):
            model.save(args.output, extras=extras.to_arrays())
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
                                  image_shape=data.image_shape, rank_selection=rank_selection,
                                  title=f"NMF of {Path(data.source).name}")
            written.append(report.save(args.report))
    for path in written:
        console.note(f"wrote {path}")
    if not written:
        console.note("nothing written: add -o model.nmf to keep the model "
                     "(or --out-dir DIR for W.csv and H.csv)")


def _stopped(model):
    return EXIT_INTERRUPTED if getattr(model, "stop_reason_", None) == "interrupted" else 0


# --- commands -----------------------------------------------------------------------------


def cmd_fit(args, console):
    from . import NMF
    from .io import feature_names

    _check_outputs(args, output="the model", out_dir="W.csv and H.csv", report="the report",
                   checkpoint="the checkpoint")
    if args.resume and not args.checkpoint:
        raise UsageError("--resume continues from the file of --checkpoint FILE; give both.")
    if args.resume and not os.path.isfile(args.checkpoint):
        raise UsageError(f"--resume: there is no checkpoint at {args.checkpoint!r} yet; run "
                         "without --resume to start the fit (it writes one there).")
    data = _read(args, console)
    console.detail(f"data: {_describe(data.X)}")
    model = NMF(n_components=args.k, **_nmf_params(args, console))
    start = time.perf_counter()
    W = model.fit_transform(data.X, checkpoint=args.checkpoint,
                            checkpoint_every=args.checkpoint_every,
                            resume=args.checkpoint if args.resume else None)
    seconds = time.perf_counter() - start
    # A file's column names are what a DataFrame's would be: the model's feature names.
    # Text keeps its vocabulary in the vectorizer, as a Pipeline with one would.
    names = feature_names(data.column_labels) if data.kind != "text" else None
    if names is not None:
        model.feature_names_in_ = names
    console.out(f"fitted NMF of {data.source}: {_fit_summary(model, seconds)}")
    if data.kind == "text":
        _print_topics(console, model.components_, data.column_labels, 8)
    _write_outputs(args, console, model, data, W)
    return _stopped(model)


def cmd_transform(args, console):
    import pandas as pd

    from .io import align_columns, write_factor_csv

    _check_outputs(args, output="W")
    model, saved = _load_model(args.model, console)
    if saved.kind == "text" and saved.vectorizer is not None:
        from .apps.topics import TopicModel
        from .io import read_documents

        topics = TopicModel.from_model(model, source=args.model)
        with console.step(f"loading {args.data}"):
            docs, labels = read_documents(args.data, progress=console.bars)
        with console.step("transforming"):
            W = topics.transform(docs, labels)
        W.columns = [f"component {i} ({name})" for i, name in enumerate(topics.topic_names(3))]
    else:
        data = _read(args, console)
        if saved.column_labels is not None:
            data = align_columns(data, saved.column_labels, model=repr(args.model))
        n_features = model.components_.shape[1]
        if data.X.shape[1] != n_features:
            raise ValueError(f"{data.source!r} has {data.X.shape[1]} columns but "
                             f"{args.model!r} was fitted on {n_features}; give data with the "
                             "same features")
        with console.step("transforming"), warnings.catch_warnings():
            # The columns were matched to the training ones by name just above; a sparse
            # or headerless X has no names for scikit-learn to check again.
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            W = pd.DataFrame(model.transform(data.X), index=data.row_labels,
                             columns=[f"component {i}" for i in range(model.n_components_)])
    if args.output:
        write_factor_csv(args.output, W.to_numpy(), W.index, W.columns, index_name="sample")
        console.note(f"wrote {args.output} ({W.shape[0]:,} samples x {W.shape[1]} components)")
    else:
        W.rename_axis("sample").to_csv(sys.stdout, float_format="%.6g")
    return 0


def cmd_topics(args, console):
    from .apps.topics import TopicModel
    from .io import LabeledMatrix, make_vectorizer, read_documents

    _check_outputs(args, output="the model", out_dir="W.csv and H.csv", report="the report")
    corpus = Path(args.corpus)
    if not corpus.exists():
        raise FileNotFoundError(f"no such file or folder: {str(corpus)!r}")
    if not (corpus.is_dir() or corpus.suffix.lower() in (".txt", ".csv", ".tsv", ".tab")
            or args.format in ("txt", "folder")):
        raise UsageError(f"{str(corpus)!r}: topics reads a .txt file (one document per line), "
                         "a folder of .txt files, or a .csv/.tsv with --text-column")
    with console.step(f"loading {corpus}"):
        docs, labels = read_documents(corpus, text_column=args.text_column,
                                      label_column=args.label_column, progress=console.bars)
    vectorizer = make_vectorizer(len(docs))
    if args.max_features:
        vectorizer.set_params(max_features=args.max_features)
    topics = TopicModel(args.k, vectorizer=vectorizer, **_nmf_params(args, console))
    with console.step("vectorizing and fitting") if not console.bars else contextlib.nullcontext():
        topics.fit(docs, labels)
    model = topics.model_
    console.note(f"{len(docs):,} documents, {topics.n_terms_:,} terms "
                 f"(tf-idf in {topics.timings_['vectorize']:.2f} s); "
                 f"{_fit_summary(model, topics.timings_['nmf'])}")
    _print_topics(console, model.components_, topics.terms_, args.n_terms)
    data = LabeledMatrix(topics.vectorizer_.transform(docs), np.asarray(labels, dtype=str),
                         topics.terms_, kind="text", source=str(corpus),
                         vectorizer=topics.vectorizer_)
    _write_outputs(args, console, model, data, topics.document_topics_.to_numpy())
    return _stopped(model)


def cmd_similar(args, console):
    from .apps.similarity import SimilarityIndex

    model, saved = _load_model(args.model, console)
    if saved.W is None or saved.row_labels is None:
        raise ValueError(f"{args.model!r} does not hold the training samples' memberships; "
                         f"write it with '{PROG} fit ... -o' or '{PROG} topics ... -o'")
    index = SimilarityIndex(saved.W, labels=saved.row_labels)
    label = args.label
    if label not in index.labels_ and args.label.lstrip("-").isdigit() and args.by_position:
        label = int(args.label)
    result = index.most_similar(label, n=args.n)
    console.out(f"most similar to {result.name}:")
    for rank, (item, score) in enumerate(result.items(), start=1):
        console.out(f"{rank:>3}  {score:.3f}  {item}")
    return 0


def cmd_rank(args, console):
    from . import NMF
    from .rank import select_rank

    _check_outputs(args, plot="the plot", table="the table", output="the model",
                   out_dir="W.csv and H.csv", report="the report")
    data = _read(args, console)
    console.detail(f"data: {_describe(data.X)}")
    params = dict(init=args.init, solver=args.solver, beta_loss=args.loss, tol=args.tol,
                  max_iter=args.max_iter, alpha_W=args.alpha_W,
                  alpha_H="same" if args.alpha_H is None else args.alpha_H,
                  l1_ratio=args.l1_ratio)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Many short fits: a ConvergenceWarning per fit would bury the table.
        warnings.filterwarnings("ignore", message="Maximum number of iterations")
        result = select_rank(data.X, ranks=args.ranks, method=args.method,
                             n_runs=args.n_runs, n_folds=args.folds, rule=args.rule,
                             warm_start=args.warm_start, random_state=args.seed, n_jobs=args.jobs,
                             verbose=1 if console.bars else 0, **params)
    seconds = time.perf_counter() - start
    table = result.table
    marks = {k: ", ".join(m for m, best in result.best.items() if best == k)
             for k in table.index}
    shown = table.assign(best=[marks[k] and f"<- {marks[k]}" for k in table.index])
    console.out(f"rank selection of {data.source} ({data.X.shape[0]:,} x {data.X.shape[1]:,}"
                f", {', '.join(result.methods)}, {seconds:.1f} s)")
    console.out(shown.to_string(float_format=lambda v: f"{v:.4g}"))
    for method, best in result.best.items():
        console.out(f"best rank by {method}: {best}")
    written = []
    if args.table:
        table.to_csv(args.table)
        written.append(args.table)
    if args.plot:
        figure = result.plot()
        figure.savefig(args.plot, dpi=120, bbox_inches="tight")
        written.append(args.plot)
    for path in written:
        console.note(f"wrote {path}")
    if not (args.output or args.out_dir or args.report):
        return 0
    # The model at the chosen rank, written as 'fit' writes it, with the selection beside.
    model = NMF(n_components=result.best_rank, random_state=args.seed,
                verbose=console.nmf_verbose(), **params)
    start = time.perf_counter()
    W = model.fit_transform(data.X)
    console.out(f"fitted NMF at k = {result.best_rank}: "
                f"{_fit_summary(model, time.perf_counter() - start)}")
    _write_outputs(args, console, model, data, W, rank_selection=result)
    return _stopped(model)


def _saved_selection(saved):
    """The rank selection a model file keeps (``nmfkit rank -o``), or None."""
    if not saved.rank_selection:
        return None
    from .rank import RankSelection

    return RankSelection.from_dict(saved.rank_selection)


def cmd_report(args, console):
    from .report import build_report

    _check_outputs(args, output="the report", figures="the figures")
    model, saved = _load_model(args.model, console)
    X = _read(args, console).X if args.data else None
    summary = dict(saved.summary or {})
    if saved.source:
        summary["source"] = saved.source
    with console.step("building the report"):
        report = build_report(
            model, X, W=saved.W, row_labels=saved.row_labels, column_labels=saved.column_labels,
            kind=saved.kind or ("images" if saved.image_shape else "matrix"),
            image_shape=saved.image_shape, summary=summary or None,
            similar_to=args.similar_to or None, rank_selection=_saved_selection(saved),
            title=args.title or f"NMF report: {Path(saved.source or args.model).name}")
        path = report.save(args.output, figures_dir=args.figures)
    console.note(f"wrote {path}")
    console.out(str(Path(path).resolve()))
    return 0


def cmd_demo(args, console):
    from .demo import run

    console.out("nmfkit demo: non-negative matrix factorization on real data shipped in "
                "Python packages")
    result = run(args.out_dir, progress=console.step, verbose=console.nmf_verbose())
    rule = "-" * 72
    topics = result.topics
    console.out(f"\n{rule}\n1. Topics of {len(result.films):,} films: genres + Rotten Tomatoes "
                f"critics' consensus\n   tf-idf {topics.n_documents_:,} x {topics.n_terms_:,} "
                f"in {topics.timings_['vectorize']:.2f} s; NMF "
                f"{_fit_summary(topics.model_, topics.timings_['nmf'])}\n{rule}")
    _print_topics(console, topics.model_.components_, topics.terms_, 7)
    for query, films in result.similar.items():
        console.out(f"\nFilms most similar to {query} (cosine of topic weights):")
        for rank, (title, score) in enumerate(films.items(), 1):
            console.out(f"  {rank}. {score:.3f}  {title}")
    for number, parts in enumerate(result.parts, start=2):
        console.out(f"\n{rule}\n{number}. Parts of {parts.description}\n   NMF "
                    f"{_fit_summary(parts.model, parts.seconds)}\n{rule}")
        console.out(f"   rank {parts.model.n_components_}, relative error "
                    f"{parts.relative_error:.4f}; parts: {100 * parts.zero_fraction:.0f}% of "
                    f"pixels zero, Hoyer sparseness {parts.sparseness:.2f} "
                    "(0 = flat, 1 = one pixel)")
        console.out("   share of each part in the reconstructed images: "
                    + " ".join(f"{100 * v:.0f}%" for v in parts.shares))
    console.out(f"\n{rule}\nDone in {result.timings['total']:.1f} s. Figures in "
                f"{result.figures_dir}; open the report in a browser:\n"
                f"{result.report_path.resolve()}")
    return 0


def _cell(value):
    """A registry value as a table cell: yes/no for flags, names joined for lists."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "-"
    return "-" if value is None or value == "" else str(value)


def cmd_solvers(args, console):
    import shutil

    from .solvers import available

    table = available().map(_cell)
    # The descriptions are sentences: listed under the table, so that its columns fit.
    descriptions = table.pop("description") if "description" in table.columns else None
    console.out(table.to_string(line_width=shutil.get_terminal_size((100, 24)).columns))
    if descriptions is not None:
        width = max(map(len, [table.index.name or "", *descriptions.index]))
        console.out(f"\n{table.index.name or '':<{width}}  description")
        for name, text in descriptions.items():
            console.out(f"{name:<{width}}  {text}")
    return 0


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
    "rank": """\
examples:
  nmfkit rank counts.csv --ranks 2:20                    # masked cross-validation
  nmfkit rank counts.csv --ranks 2:10 --method cv,consensus --plot rank.png
  nmfkit rank matrix.mtx --ranks 5:30:5 --method bcv --loss kl --jobs 2""",
    "report": """\
example:
  nmfkit report model.nmf -o report.html --figures figures/""",
    "demo": """\
example:
  nmfkit demo            # writes nmfkit-demo/report.html and prints its path""",
    "solvers": """\
example:
  nmfkit solvers         # then: nmfkit fit data.csv -k 10 --solver mu""",
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
              nmfkit rank data.csv --ranks 2:20
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
    group = fit.add_argument_group("long fits")
    group.add_argument("--checkpoint", metavar="FILE",
                       help="write the state of the fit here every --checkpoint-every "
                            "iterations and on Ctrl-C (atomically: a crash leaves a whole file)")
    group.add_argument("--checkpoint-every", type=_positive_int, default=10, metavar="N",
                       help="iterations between checkpoints (default 10)")
    group.add_argument("--resume", action="store_true",
                       help="continue the fit recorded in --checkpoint FILE (same data and "
                            "options; --max-iter and --tol may change)")
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

    rank = add("rank", "choose the number of components: score each rank by "
                       "cross-validation, consensus, stability or error", cmd_rank)
    rank.add_argument("data", metavar="DATA",
                      help=".csv .tsv .npy .npz .mtx .h5ad (samples in rows)")
    selection = rank.add_argument_group("rank selection")
    selection.add_argument("--ranks", type=_ranks, default=list(range(2, 16)),
                           help="ranks to compare: FIRST:LAST (both included), "
                                "FIRST:LAST:STEP or a list 3,5,8 (default 2:15)")
    selection.add_argument("--method", type=_methods, default=["cv"],
                           help="cv (masked cross-validation, the default), consensus, "
                                "stability, bcv (bi-cross-validation), error; several "
                                "with commas")
    selection.add_argument("--n-runs", type=_positive_int,
                           help="restarts per rank for consensus and stability (default 30)")
    selection.add_argument("--folds", type=_positive_int, default=5,
                           help="folds of cv and bcv (default 5)")
    selection.add_argument("--rule", choices=["min", "1se"], default="min",
                           help="cv/bcv: the lowest error, or the smallest rank within one "
                                "standard error of it (default min)")
    selection.add_argument("--no-warm-start", dest="warm_start", action="store_false",
                           default="auto",
                           help="cv: fit every rank from --init, not from the fold's fit "
                                "at the rank below (the default for dense data)")
    selection.add_argument("--jobs", type=int, help="fits in parallel (-1: all cores)")
    selection.add_argument("--plot", metavar="PNG", help="save the criteria against rank here")
    selection.add_argument("--table", metavar="CSV", help="save the table here")
    selection.add_argument("-o", "--output", metavar="MODEL",
                           help="fit the best rank and write the model (.nmf) here, with "
                                "the selection (nmfkit report shows it)")
    selection.add_argument("--out-dir", metavar="DIR",
                           help="fit the best rank and write W.csv and H.csv here")
    selection.add_argument("--report", metavar="HTML",
                           help="fit the best rank and write an HTML report here, with a "
                                "'Choosing k' section")
    _add_nmf_options(rank, rank_selection=True)
    _add_input_options(rank)
    _add_common(rank)

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

    solvers = add("solvers", "list the algorithms --solver accepts and what each supports",
                  cmd_solvers)
    _add_common(solvers)
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
            print(f"{name}: error: {_cli_spelling(_one_line(exc))}", file=sys.stderr)
            return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
