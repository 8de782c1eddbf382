"""nmfkit.demo.run: the demo as a library function returning what the command prints."""
import contextlib

import numpy as np
import pytest

from nmfkit import demo


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    pytest.importorskip("skimage")
    steps = []

    @contextlib.contextmanager
    def progress(description):
        steps.append(description)
        yield

    out = tmp_path_factory.mktemp("demo") / "out"
    run = demo.run(out, progress=progress)
    return run, out, steps


def test_demo_writes_the_report_and_returns_what_it_found(result):
    run, out, steps = result
    assert run.report_path == out / "report.html" and run.report_path.exists()
    figures = list(run.figures_dir.iterdir())
    assert figures and all(p.suffix == ".png" for p in figures)
    assert steps and any("report" in s for s in steps)
    assert list(run.similar) == list(demo.SIMILAR_TO)
    for query, films in run.similar.items():
        assert len(films) == 5 and query not in films.index and films.is_monotonic_decreasing
        assert set(films.index) <= set(run.films.index)
    assert run.topics.n_topics == 20 and run.topics.n_documents_ == len(run.films)
    assert [p.name for p in run.parts] == ["Faces", "Digits"]
    for parts in run.parts:
        assert 0 < parts.relative_error < 1 and 0 <= parts.sparseness <= 1
        assert np.isclose(parts.shares.sum(), 1) and (parts.shares >= 0).all()
        assert parts.seconds > 0


def test_demo_timings_say_what_they_cover(result):
    run, _, _ = result
    assert set(run.timings) == {"loading films", "report", "total"}
    assert set(run.topics.timings_) == {"vectorize", "nmf"}
    # The report shows the iterations' time (the loss curve); the whole fit adds the
    # initialization, so it is at least as long.
    iterations = float(run.topics.model_.loss_curve_["seconds"].iloc[-1])
    assert iterations <= run.topics.timings_["nmf"]
    fits = run.topics.timings_["vectorize"] + run.topics.timings_["nmf"] + sum(
        p.seconds for p in run.parts)
    assert run.timings["total"] >= fits + run.timings["report"]


def test_demo_checks_its_folder_before_any_work(tmp_path):
    (tmp_path / "file").write_text("")
    steps = []
    with pytest.raises(NotADirectoryError, match="cannot write the demo's report"):
        demo.run(tmp_path / "file" / "out",
                 progress=lambda d: steps.append(d) or contextlib.nullcontext())
    assert steps == []
