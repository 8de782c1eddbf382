"""The ``nmfkit`` command, run as users run it: the installed script, in a subprocess."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.sparse as sp

import nmfkit


def _command():
    script = Path(sys.executable).parent / "nmfkit"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "nmfkit"]


def run(*args, cwd, check_rc=None, timeout=120):
    result = subprocess.run([*_command(), *map(str, args)], cwd=cwd, capture_output=True,
                            text=True, timeout=timeout,
                            env={**os.environ, "COLUMNS": "100", "PYTHONWARNINGS": "ignore"})
    if check_rc is not None:
        assert result.returncode == check_rc, (result.stdout, result.stderr)
    return result


def error_line(result):
    """The user-facing error: exit status 2 and exactly one line on stderr, no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def planted():
    """A 30 x 12 matrix of exact rank 3 with row and column names."""
    rng = np.random.default_rng(0)
    X = rng.random((30, 3)) @ rng.random((3, 12))
    rows = [f"sample{i}" for i in range(30)]
    cols = [f"f{j}" for j in range(12)]
    return X, rows, cols


def _write(fmt, folder, X, rows, cols):
    folder = Path(folder)
    if fmt == "csv":
        path = folder / "x.csv"
        pd.DataFrame(X, index=pd.Index(rows, name="name"), columns=cols).to_csv(path)
    elif fmt == "tsv":
        path = folder / "x.tsv"
        pd.DataFrame(X, index=rows, columns=cols).to_csv(path, sep="\t")
    elif fmt == "csv-bare":
        path = folder / "bare.csv"
        np.savetxt(path, X, delimiter=",")
    elif fmt == "npy":
        path = folder / "x.npy"
        np.save(path, X)
    elif fmt == "npz-dense":
        path = folder / "dense.npz"
        np.savez(path, X=X, row_labels=np.array(rows), column_labels=np.array(cols))
    elif fmt == "npz-sparse":
        path = folder / "sparse.npz"
        sp.save_npz(path, sp.csr_matrix(np.where(X > np.median(X), X, 0)))
    elif fmt == "mtx":
        path = folder / "x.mtx"
        scipy.io.mmwrite(path, sp.coo_matrix(np.where(X > np.median(X), X, 0)))
    elif fmt == "h5ad":
        anndata = pytest.importorskip("anndata")
        path = folder / "x.h5ad"
        anndata.AnnData(X=sp.csr_matrix(X), obs=pd.DataFrame(index=rows),
                        var=pd.DataFrame(index=cols)).write_h5ad(path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "tsv", "csv-bare", "npy", "npz-dense", "npz-sparse",
                                 "mtx", "h5ad"])
def test_fit_every_matrix_format_writes_labelled_factors(tmp_path, planted, fmt):
    X, rows, cols = planted
    path = _write(fmt, tmp_path, X, rows, cols)
    result = run("fit", path, "-k", 3, "--max-iter", 300, "-o", "m.nmf", "--out-dir", "out",
                 "-q", cwd=tmp_path, check_rc=0)
    assert "k=3" in result.stdout
    W = pd.read_csv(tmp_path / "out" / "W.csv", index_col=0)
    H = pd.read_csv(tmp_path / "out" / "H.csv", index_col=0)
    assert W.shape == (30, 3) and H.shape == (3, 12)
    assert (W.to_numpy() >= 0).all() and (H.to_numpy() >= 0).all()
    labelled = fmt in ("csv", "tsv", "npz-dense", "h5ad")
    assert list(W.index.astype(str)) == (rows if labelled else [str(i) for i in range(30)])
    assert list(H.columns) == (cols if labelled else [str(j) for j in range(12)])
    # The model file reloads, and its extras hold the training memberships.
    model = nmfkit.load(tmp_path / "m.nmf")
    assert model.components_.shape == (3, 12)
    # The file's column names are the model's feature names, as a DataFrame's would be.
    if labelled:
        assert list(model.feature_names_in_) == cols
    else:
        assert not hasattr(model, "feature_names_in_")
    assert np.allclose(model.extras_["W"], W.to_numpy(), rtol=1e-5, atol=1e-6)
    if fmt in ("csv", "tsv", "csv-bare", "npy", "npz-dense", "h5ad"):
        # Exact rank-3 data: the fit is close (relative error well under 5 %).
        assert model.reconstruction_err_ < 0.05 * np.linalg.norm(X)


def test_fit_text_file_and_folder(tmp_path):
    docs = ["dogs bark at cats", "cats chase mice", "dogs chase cats", "stock prices fall",
            "stock markets rise", "markets and prices crash"] * 2
    (tmp_path / "docs.txt").write_text("\n".join(docs) + "\n")
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i, doc in enumerate(docs[:6]):
        (folder / f"doc{i}.txt").write_text(doc)
    result = run("fit", "docs.txt", "-k", 2, "-o", "t.nmf", "--out-dir", "o1", "-q",
                 cwd=tmp_path, check_rc=0)
    assert "topic 0:" in result.stdout
    W = pd.read_csv(tmp_path / "o1" / "W.csv", index_col=0)
    assert list(W.index[:2]) == ["line 1", "line 2"]
    H = pd.read_csv(tmp_path / "o1" / "H.csv", index_col=0)
    assert {"dogs", "stock"} <= set(H.columns)
    run("fit", "corpus", "-k", 2, "--out-dir", "o2", "-q", cwd=tmp_path, check_rc=0)
    W2 = pd.read_csv(tmp_path / "o2" / "W.csv", index_col=0)
    assert list(W2.index) == [f"doc{i}" for i in range(6)]
    # transform new documents with the saved vocabulary: animal text -> the animal topic
    (tmp_path / "new.txt").write_text("cats and dogs\nprices of stock\n")
    run("transform", "t.nmf", "new.txt", "-o", "Wnew.csv", "-q", cwd=tmp_path, check_rc=0)
    Wnew = pd.read_csv(tmp_path / "Wnew.csv", index_col=0).to_numpy()
    assert Wnew.shape == (2, 2)
    assert np.argmax(Wnew[0]) != np.argmax(Wnew[1])


def test_transform_reorders_named_columns_and_matches_training(tmp_path, planted):
    X, rows, cols = planted
    path = _write("csv", tmp_path, X, rows, cols)
    run("fit", path, "-k", 3, "-o", "m.nmf", "--out-dir", "out", "-q", "--max-iter", 300,
        cwd=tmp_path, check_rc=0)
    shuffled = pd.read_csv(path, index_col=0)[cols[::-1]]
    shuffled.to_csv(tmp_path / "shuffled.csv")
    run("transform", "m.nmf", "shuffled.csv", "-o", "W2.csv", "-q", cwd=tmp_path, check_rc=0)
    W_train = pd.read_csv(tmp_path / "out" / "W.csv", index_col=0).to_numpy()
    W_new = pd.read_csv(tmp_path / "W2.csv", index_col=0).to_numpy()
    assert np.allclose(W_new, W_train, rtol=0.05, atol=0.05 * W_train.max())
    # stdout when no -o
    printed = run("transform", "m.nmf", "shuffled.csv", "-q", cwd=tmp_path, check_rc=0)
    assert printed.stdout.splitlines()[0].startswith("sample,component 0")
    # a missing column is named
    shuffled.drop(columns=["f3"]).to_csv(tmp_path / "short.csv")
    line = error_line(run("transform", "m.nmf", "short.csv", cwd=tmp_path))
    assert "'f3'" in line and "lacks" in line


@pytest.mark.parametrize("fmt", ["csv", "h5ad"])
def test_transform_with_feature_names_warns_of_nothing(tmp_path, planted, fmt):
    X, rows, cols = planted
    path = _write(fmt, tmp_path, X, rows, cols)
    run("fit", path, "-k", 3, "-o", "m.nmf", "--max-iter", 300, "-q", cwd=tmp_path, check_rc=0)
    result = subprocess.run([*_command(), "transform", "m.nmf", path.name, "-o", "W.csv"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    assert pd.read_csv(tmp_path / "W.csv", index_col=0).shape == (30, 3)


def test_topics_similar_and_report_on_real_movie_texts(tmp_path):
    movies = nmfkit.datasets.load_movies()
    sample = movies[movies.year.between(1990, 2000)]
    sample[["title", "consensus"]].assign(label=sample.index).to_csv(tmp_path / "films.csv",
                                                                     index=False)
    result = run("topics", "films.csv", "--text-column", "consensus", "--label-column", "label",
                 "-k", 6, "-n", 5, "-o", "films.nmf", "--seed", 1, cwd=tmp_path, check_rc=0)
    topic_lines = [ln for ln in result.stdout.splitlines() if ln.startswith("topic")]
    assert len(topic_lines) == 6 and all(len(ln.split(":")[1].split()) == 5 for ln in topic_lines)
    similar = run("similar", "films.nmf", "Toy Story (1995)", "-n", 4, cwd=tmp_path, check_rc=0)
    lines = similar.stdout.strip().splitlines()
    assert lines[0] == "most similar to Toy Story (1995):" and len(lines) == 5
    scores = [float(ln.split()[1]) for ln in lines[1:]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 + 1e-9 for s in scores)
    assert not any("Toy Story (1995)" in ln for ln in lines[1:])
    wrong = error_line(run("similar", "films.nmf", "toy story", cwd=tmp_path))
    assert "did you mean 'Toy Story (1995)'" in wrong
    out = run("report", "films.nmf", "-o", "films.html", cwd=tmp_path, check_rc=0)
    page = (tmp_path / "films.html").read_text()
    assert Path(out.stdout.strip()) == (tmp_path / "films.html").resolve()
    for section in ("data", "fit", "components", "memberships", "similar-items"):
        assert f'id="{section}"' in page


def test_topics_of_a_text_file_prints_terms(tmp_path):
    (tmp_path / "t.txt").write_text("Dog bites man\nMan bites dog\nDog eats meat\n"
                                    "Stock prices fall\nPrices of stock rise\n")
    result = run("topics", "t.txt", "-k", 2, "-n", 3, "-q", cwd=tmp_path, check_rc=0)
    assert [ln.split(":")[0] for ln in result.stdout.splitlines()] == ["topic 0", "topic 1"]
    joined = result.stdout
    assert "dog" in joined and "stock" in joined


def test_version_and_help_with_examples(tmp_path, capsys):
    from nmfkit.cli import main

    result = run("--version", cwd=tmp_path, check_rc=0)
    assert result.stdout.strip() == f"nmfkit {nmfkit.__version__}"
    # help is argparse's own output: checked in-process, one subprocess is enough above
    for command in ("fit", "transform", "topics", "similar", "rank", "report", "demo",
                    "solvers"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        assert "example" in text and f"nmfkit {command}" in text.split("example")[1]
    module = subprocess.run([sys.executable, "-m", "nmfkit", "--version"], capture_output=True,
                            text=True, cwd=tmp_path)
    assert module.returncode == 0 and module.stdout.strip() == result.stdout.strip()


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    (folder / "neg.csv").write_text("a,b\n1,-0.5\n2,3\n")
    (folder / "text.csv").write_text("a,b,c\nx,1,oops\ny,2,3\n")
    (folder / "data.xlsx").write_bytes(b"PK\x03\x04")
    (folder / "broken.npy").write_bytes(b"not numpy at all")
    (folder / "vector.npy").write_bytes(b"")
    np.save(folder / "vector.npy", np.arange(5.0))
    np.save(folder / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(folder / "two.npz", a=np.ones((2, 2)), b=np.ones((2, 2)))
    (folder / "broken.mtx").write_text("%%MatrixMarket nonsense\n1 2\n")
    (folder / "empty.txt").write_text("\n\n")
    (folder / "empty_dir").mkdir()
    (folder / "nan.csv").write_text("a,b\n1,\n2,3\n")
    (folder / "empty.csv").write_text("")
    # DataFrame(array).to_csv(): integer column names 0, 1 after an empty cell.
    pd.DataFrame([[1.0, 2.0], [-0.5, 3.0]]).to_csv(folder / "pandas_neg.csv")
    (folder / "ok.csv").write_text("a,b\n1,2\n2,3\n")
    np.save(folder / "ok.npy", np.ones((3, 2)))
    nmfkit.NMF(1, max_iter=5).fit(np.ones((3, 2))).save(folder / "m.nmf")
    (folder / "docs.txt").write_text("dog bites man\nstock prices fall\n")
    return folder


@pytest.mark.parametrize("args, expected", [
    (["fit", "missing.csv", "-k", "2"], "no such file or folder: 'missing.csv'"),
    (["fit", "neg.csv", "-k", "1"], "negative"),
    (["fit", "text.csv", "-k", "1"], "column 'c' is not numeric"),
    (["fit", "data.xlsx", "-k", "1"], "unknown file type '.xlsx'"),
    (["fit", "broken.npy", "-k", "1"], "cannot read 'broken.npy' as .npy"),
    (["fit", "vector.npy", "-k", "1"], "shape (5,)"),
    (["fit", "objects.npy", "-k", "1"], "Python objects"),
    (["fit", "two.npz", "-k", "1"], "several arrays (a, b)"),
    (["fit", "broken.mtx", "-k", "1"], "Matrix Market"),
    (["fit", "empty.txt", "-k", "1"], "has no text"),
    (["fit", "empty_dir", "-k", "1"], "has no .txt files"),
    (["fit", "nan.csv", "-k", "1"], "nan"),
    (["fit", "empty.csv", "-k", "1"], "is empty"),
    (["fit", "neg.csv", "-k", "0"], "must be at least 1"),
    (["fit", "neg.csv", "-k", "1", "--loss", "banana"], "unknown loss 'banana'"),
    (["fit", "neg.csv"], "the following arguments are required: -k"),
    (["fit", "neg.csv", "-k", "1", "--solver", "magic"], "invalid choice: 'magic'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["similar", "nothere.nmf", "x"], "no such model file: 'nothere.nmf'"),
    (["report", "neg.csv"], "is not an nmfkit model file"),
    (["topics", "neg.csv", "-k", "1"], "--text-column"),
    (["fit", "pandas_neg.csv", "-k", "1"], "1 negative entry (first at row 1, column 0"),
    (["solvers", "extra"], "unrecognized arguments: extra"),
    (["rank", "ok.csv", "--ranks", "5:2"], "expected ranks as FIRST:LAST"),
    (["rank", "ok.csv", "--ranks", "0,1"], "ranks must be at least 1"),
    (["rank", "ok.csv", "--method", "cv,guess"], "unknown method 'guess'; choose from cv"),
    (["rank", "neg.csv", "--ranks", "1"], "negative"),
    (["rank", "ok.csv", "-k", "2"], "unrecognized arguments: -k"),
])
def test_user_errors_print_one_line_and_exit_2(bad_files, args, expected):
    line = error_line(run(*args, cwd=bad_files))
    assert line.startswith("nmfkit"), line
    assert expected.lower() in line.lower(), line


@pytest.mark.parametrize("args, cli, python", [
    (["fit", "nan.csv", "-k", "1"], "--missing mask", "missing='mask'"),
    (["fit", "pandas_neg.csv", "-k", "1"], "--missing mask", "missing="),
    (["fit", "ok.csv", "-k", "1", "--missing", "mask", "--solver", "als"], "--solver als",
     "solver="),
    (["fit", "ok.csv", "-k", "1", "--loss", "kl", "--solver", "pgd"],
     "--loss kullback-leibler", "beta_loss"),
    (["fit", "ok.csv", "-k", "5", "--init", "nndsvd"], "-k 5", "n_components"),
    (["fit", "ok.csv", "-k", "1", "--tol", "-1"], "--tol must be", "'tol' parameter"),
    (["fit", "ok.csv", "-k", "1", "--solver", "onmf"], "--orthogonal W or H", "orthogonal="),
    (["topics", "ok.csv", "-k", "1"], "--text-column", "text_column"),
])
def test_errors_speak_in_options_not_python(bad_files, args, cli, python):
    line = error_line(run(*args, cwd=bad_files))
    assert cli in line and python not in line, line


def test_python_spellings_become_options():
    from nmfkit.cli import _cli_spelling

    assert _cli_spelling("use missing='mask' or solver='mu', 'hals'/'cd' or 'auto'; got "
                         "solver='als'.") == ("use --missing mask or --solver mu, hals/cd or "
                                              "auto; got --solver als.")
    assert _cli_spelling("beta_loss=0.5 needs n_components=3 (tol=1e-05); increase "
                         "max_iter, alpha_W/alpha_H") == (
        "--loss 0.5 needs -k 3 (--tol 1e-05); increase --max-iter, --alpha-W/--alpha-H")
    # English words that are also parameter names stay words without '='.
    assert _cli_spelling("missing entries; the solver converged") == (
        "missing entries; the solver converged")


@pytest.mark.parametrize("args, path", [
    (["fit", "none.csv", "-k", "2", "-o", "nodir/m.nmf"], "nodir/m.nmf"),
    (["fit", "none.csv", "-k", "2", "--out-dir", "ok.csv/out"], "ok.csv/out"),
    (["fit", "none.csv", "-k", "2", "--report", "ok.csv/r.html"], "ok.csv/r.html"),
    (["fit", "none.csv", "-k", "2", "-o", "."], "."),
    (["topics", "none.txt", "-k", "2", "-o", "nodir/t.nmf"], "nodir/t.nmf"),
    (["topics", "none.txt", "-k", "2", "--out-dir", "ok.csv/o"], "ok.csv/o"),
    (["transform", "none.nmf", "none.csv", "-o", "nodir/W.csv"], "nodir/W.csv"),
    (["report", "none.nmf", "-o", "ok.csv/r.html"], "ok.csv/r.html"),
    (["report", "none.nmf", "--figures", "ok.csv/figures"], "ok.csv/figures"),
    (["demo", "--out-dir", "ok.csv/demo"], "ok.csv/demo"),
])
def test_outputs_are_checked_before_reading_or_fitting(bad_files, args, path):
    # The inputs do not exist: the output is checked first, so its error is the one shown.
    line = error_line(run(*args, cwd=bad_files))
    assert "cannot write" in line and repr(path) in line and ".tmp" not in line, line
    assert not list(bad_files.glob(".nmfkit-*"))


def test_a_data_file_given_as_the_model_is_one_sentence(bad_files):
    line = error_line(run("transform", "ok.csv", "ok.csv", cwd=bad_files))
    assert line.count("is not an nmfkit model file") == 1 and "model.save()" not in line, line
    assert line.startswith("nmfkit transform: error: 'ok.csv' is not an nmfkit model file")


def test_solver_choices_and_table_come_from_the_registry(tmp_path, capsys):
    from nmfkit import solvers
    from nmfkit.cli import build_parser, main

    def solver_choices():
        fit = build_parser()._subparsers._group_actions[0].choices["fit"]
        return next(a for a in fit._actions if a.dest == "solver").choices

    assert tuple(solver_choices()) == solvers.names()
    solvers.register(solvers.Solver(name="toy-solver", solve="nmfkit.solvers.mu:solve",
                                    description="a solver registered by a test"))
    try:
        assert "toy-solver" in solver_choices()
        assert main(["solvers"]) == 0
        out = capsys.readouterr().out
        assert "toy-solver" in out and "a solver registered by a test" in out
    finally:
        solvers.unregister("toy-solver")
    table = run("solvers", cwd=tmp_path, check_rc=0).stdout
    for name in solvers.available().index:
        assert name in table
    for column in solvers.available().columns:
        assert column in table
    assert "True" not in table and "False" not in table  # flags read yes / no


def test_orthogonal_option_reaches_the_solver_the_registry_offers(tmp_path, planted):
    X, rows, cols = planted
    path = _write("csv", tmp_path, X, rows, cols)
    result = run("fit", path, "-k", 3, "--orthogonal", "H", "-o", "m.nmf", "-q", cwd=tmp_path,
                 check_rc=0)
    assert "solver onmf" in result.stdout
    H = nmfkit.load(tmp_path / "m.nmf").components_
    assert ((H > 0).sum(axis=0) <= 1).all()  # one non-zero per column of H


def test_fit_summary_names_what_each_time_covers():
    from nmfkit.cli import _fit_summary

    model = nmfkit.NMF(2, random_state=0).fit(np.random.default_rng(0).random((20, 6)))
    iterations = float(model.loss_curve_["seconds"].iloc[-1])
    line = _fit_summary(model, 1.5)
    assert f"iterations (converged) in {iterations:.2f} s, whole fit 1.50 s" in line, line


def test_debug_shows_the_traceback(bad_files):
    result = run("fit", "neg.csv", "-k", "1", "--debug", cwd=bad_files)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_ctrl_c_keeps_the_best_result_so_far(tmp_path):
    rng = np.random.default_rng(1)
    np.save(tmp_path / "big.npy", rng.random((1500, 400)))
    # A process started in the background by a non-interactive shell (`make test &`,
    # nohup) ignores SIGINT, and so would the CLI, which inherits that: give it the
    # default disposition, as a terminal's foreground job has.
    proc = subprocess.Popen([*_command(), "fit", "big.npy", "-k", "40", "--tol", "0",
                             "--max-iter", "100000", "-o", "m.nmf", "-v"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # wait until the progress bar (shown on stderr with -v) reports a few iterations
    deadline = time.time() + 60
    seen = ""
    while seen.count("loss=") < 3 and time.time() < deadline:
        seen += proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in (seen + err)
    model = nmfkit.load(tmp_path / "m.nmf")
    assert model.n_iter_ >= 1 and np.isfinite(model.components_).all()
    assert (model.components_ >= 0).all()


def test_killed_fit_resumes_from_its_checkpoint(tmp_path):
    """--checkpoint survives SIGKILL; --resume finishes the fit with the uninterrupted
    objective; --resume without a checkpoint is a usage error before any work."""
    rng = np.random.default_rng(2)
    X = rng.random((400, 6)) @ rng.random((6, 300))
    np.save(tmp_path / "x.npy", np.abs(X + 0.05 * X.mean() * rng.standard_normal(X.shape)))
    options = ["-k", "6", "--solver", "hals", "--tol", "1e-6", "--max-iter", "3000"]
    run("fit", "x.npy", *options, "-o", "full.nmf", cwd=tmp_path, check_rc=0)
    proc = subprocess.Popen([*_command(), "fit", "x.npy", *options, "-o", "m.nmf", "-v",
                             "--checkpoint", "fit.ckpt", "--checkpoint-every", "1"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 60
    while not (tmp_path / "fit.ckpt").exists() and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert not (tmp_path / "m.nmf").exists()
    run("fit", "x.npy", *options, "-o", "m.nmf", "--checkpoint", "fit.ckpt", "--resume",
        cwd=tmp_path, check_rc=0)
    full, resumed = nmfkit.load(tmp_path / "full.nmf"), nmfkit.load(tmp_path / "m.nmf")
    assert resumed.reconstruction_err_ == pytest.approx(full.reconstruction_err_, rel=1e-4)
    assert resumed.loss_curve_["iteration"].is_monotonic_increasing
    message = error_line(run("fit", "x.npy", *options, "--checkpoint", "none.ckpt",
                             "--resume", cwd=tmp_path))
    assert "no checkpoint at 'none.ckpt'" in message


def test_demo_writes_report_and_prints_its_path(tmp_path):
    result = run("demo", "--out-dir", "demo", cwd=tmp_path, check_rc=0, timeout=240)
    report = (tmp_path / "demo" / "report.html").resolve()
    assert result.stdout.strip().splitlines()[-1] == str(report)
    out = result.stdout
    assert "Films most similar to Toy Story (1995)" in out
    # Each time says what it covers: the tf-idf, the iterations (the report's figure) and
    # the whole fit.
    assert re.search(r"tf-idf [\d,]+ x [\d,]+ in [\d.]+ s; NMF k=20, solver \w+, \d+ "
                     r"iterations \(\w[\w ]*\) in [\d.]+ s, whole fit [\d.]+ s", out), out
    # Toy Story's neighbours by topic mix include other animated films
    block = out.split("Films most similar to Toy Story (1995)")[1].split("\n\n")[0]
    animated = nmfkit.datasets.load_movies()
    titles = [ln.split("  ", 2)[-1].strip() for ln in block.strip().splitlines()[1:]]
    assert sum("Animation" in animated.loc[t, "genres"] for t in titles) >= 3, titles
    figures = sorted(p.name for p in (tmp_path / "demo" / "figures").iterdir())
    assert any("faces" in f for f in figures) and any("films" in f for f in figures)
    page = report.read_text()
    assert "http://" not in page and "https://" not in page
    assert json.dumps("Toy Story (1995)")[1:-1] in page


def test_rank_prints_the_table_marks_the_best_and_saves_plot_and_table(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.random((80, 4)) @ rng.random((4, 40)) + 0.01 * rng.random((80, 40))
    pd.DataFrame(X, index=[f"s{i}" for i in range(80)],
                 columns=[f"f{j}" for j in range(40)]).to_csv(tmp_path / "x.csv")
    result = run("rank", "x.csv", "--ranks", "2:6", "--method", "cv,error", "--folds", "3",
                 "--plot", "rank.png", "--table", "rank.csv", cwd=tmp_path, check_rc=0)
    assert "best rank by cv: 4" in result.stdout
    assert re.search(r"^4 .*<- cv", result.stdout, flags=re.MULTILINE), result.stdout
    table = pd.read_csv(tmp_path / "rank.csv", index_col="rank")
    assert table.index.tolist() == [2, 3, 4, 5, 6]
    assert {"cv_error", "cv_error_std", "rss", "explained_variance"} <= set(table.columns)
    assert (tmp_path / "rank.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote rank.png" in result.stderr


def test_rank_no_warm_start_fits_every_rank_from_init(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.random((60, 3)) @ rng.random((3, 30)) + 0.05 * rng.random((60, 30))
    np.savetxt(tmp_path / "x.csv", X, delimiter=",")
    tables = {}
    for flags in ((), ("--no-warm-start",)):
        run("rank", "x.csv", "--ranks", "2:4", "--folds", "2", "--seed", "0", "--table",
            "t.csv", *flags, cwd=tmp_path, check_rc=0)
        tables[flags] = pd.read_csv(tmp_path / "t.csv", index_col="rank")["cv_error"]
    warm, cold = tables[()], tables[("--no-warm-start",)]
    assert warm[2] == cold[2]  # the lowest rank starts from --init either way
    assert warm[4] != cold[4]


def test_rank_fits_the_best_rank_and_its_report_shows_how_k_was_chosen(tmp_path):
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(3), 15)
    X = np.eye(3)[groups] @ rng.random((3, 30)) * 5 + 0.1 * rng.random((45, 30))
    np.save(tmp_path / "x.npy", X)
    result = run("rank", "x.npy", "--ranks", "2:5", "--method", "error,consensus",
                 "--n-runs", "5", "--max-iter", "500", "-o", "m.nmf", cwd=tmp_path,
                 check_rc=0)
    best = int(re.search(r"best rank by error: (\d+)", result.stdout).group(1))
    assert best == 3 and "best rank by consensus:" in result.stdout
    assert "fitted NMF at k = 3" in result.stdout
    model = nmfkit.load(tmp_path / "m.nmf")
    assert model.n_components_ == 3
    run("report", "m.nmf", "-o", "r.html", "--figures", "figs", cwd=tmp_path, check_rc=0)
    page = (tmp_path / "r.html").read_text()
    assert 'id="choosing-k"' in page and "best rank by consensus" in page
    assert (tmp_path / "figs" / "choosing-k-criteria.png").exists()
