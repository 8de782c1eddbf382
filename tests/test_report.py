"""The HTML report: self-contained, and checked in a real headless Chromium."""
import io
import re
import shutil

import numpy as np
import pytest

import nmfkit
from nmfkit.report import HTMLSection, Report, analysis_sections, build_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    """A report of three real analyses: film texts, faces (images), digits as a heat map."""
    movies = nmfkit.datasets.load_movies().iloc[::4]
    topics = nmfkit.TopicModel(5, random_state=0, max_iter=100).fit(movies.consensus,
                                                                      movies.index)
    faces = nmfkit.datasets.load_faces()
    face_model = nmfkit.NMF(6, init="nndsvda", random_state=0, max_iter=100)
    W_faces = face_model.fit_transform(faces.data)
    digits = nmfkit.datasets.load_digits()
    digit_model = nmfkit.NMF(4, random_state=0, max_iter=100)
    digit_model.fit(digits.data[:300])
    report = Report("Test report", subtitle="three analyses")
    report.add(*analysis_sections(topics.model_, W=topics.document_topics_.to_numpy(),
                                  row_labels=movies.index, column_labels=topics.terms_,
                                  kind="text", name="Films"))
    report.add(*analysis_sections(face_model, faces.data, W=W_faces, row_labels=faces.labels,
                                  kind="images", image_shape=faces.image_shape, name="Faces"))
    report.add(*analysis_sections(digit_model, digits.data[:300], name="Digits"))
    folder = tmp_path_factory.mktemp("report")
    path = report.save(folder / "report.html", figures_dir=folder / "figures")
    return path, [s.id for s in report.sections]


def test_page_is_self_contained(report_file):
    path, ids = report_file
    page = path.read_text()
    # no network: every src/href is a data URI or an in-page anchor
    for url in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert url.startswith(("data:", "#")), url
    assert "@import" not in page and "url(http" not in page
    assert len(ids) == len(set(ids)) == 14  # no data section for the films: no X given
    figures = sorted(p.name for p in (path.parent / "figures").iterdir())
    assert "faces-components.png" in figures and "films-fit-convergence.png" in figures


def test_sections_follow_the_analysis():
    X = np.random.default_rng(0).random((12, 5))
    model = nmfkit.NMF(2, random_state=0, max_iter=50)
    W = model.fit_transform(X)
    report = build_report(model, X, W=W, row_labels=[f"r{i}" for i in range(12)],
                          similar_to=["r3"])
    assert [s.id for s in report.sections] == ["data", "fit", "components", "memberships",
                                               "similar-items"]
    similar = report.sections[-1].table()
    assert set(similar["item"]) == {"r3"} and "r3" not in set(similar["similar item"])
    assert similar["cosine similarity"].is_monotonic_decreasing
    memberships = report.sections[3].table()
    assert np.isclose(memberships["share"].sum(), 1.0)
    # without W or X there is nothing to list per sample: only the fit and the components
    assert [s.id for s in build_report(model).sections] == ["fit", "components"]
    # new kinds of section slot in; ids stay unique
    report.add(HTMLSection("Fit", "<p>later</p>"))
    assert report.sections[-1].id == "fit-2"
    with pytest.raises(ValueError, match="image_shape"):
        build_report(model, X, kind="images")
    with pytest.raises(KeyError, match="did you mean"):
        build_report(model, X, W=W, row_labels=[f"row {i}" for i in range(12)],
                     similar_to=["row 33"])


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium") and not shutil.os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser, path, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    messages = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: messages.append(f"requestfailed: {r.url}"))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, messages


@pytest.mark.parametrize("width, height", [(1366, 900), (390, 844)], ids=["laptop", "phone"])
def test_report_in_headless_chromium(browser, report_file, width, height):
    from PIL import Image

    path, ids = report_file
    page, messages = _open(browser, path, width, height)
    assert messages == []
    # every section is there, with its heading, and linked from the navigation
    for section_id in ids:
        assert page.locator(f"section#{section_id} h2").count() == 1, section_id
        assert page.locator(f'nav a[href="#{section_id}"]').count() == 1
    # every image decoded
    sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete, i.naturalWidth])")
    assert len(sizes) > 20 and all(done and w > 0 for done, w in sizes)
    # nothing overflows the screen sideways (tables scroll inside their own box)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # the screenshot shows something: many distinct grey levels, not a blank page
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("L"),
                      dtype=float)
    assert shot.std() > 10 and len(np.unique(shot)) > 50
    page.close()


def test_tables_sort_on_click(browser, report_file):
    path, _ = report_file
    page, messages = _open(browser, path, 1366, 900)
    table = page.locator("section#films-memberships table")
    heading = table.locator("th", has_text="share")

    def shares():
        return [float(v) for v in table.locator("tbody tr td.num:nth-child(3)").evaluate_all(
            "cells => cells.map(c => c.dataset.value)")]

    original = shares()
    heading.click()
    assert heading.get_attribute("aria-sort") == "ascending"
    assert shares() == sorted(original)
    heading.click()
    assert heading.get_attribute("aria-sort") == "descending"
    assert shares() == sorted(original, reverse=True)
    # text columns sort too, and the other heading loses its mark
    samples = table.locator("th", has_text="top samples")
    samples.click()
    texts = table.locator("tbody tr td:nth-child(4)").all_inner_texts()
    assert texts == sorted(texts, key=str.lower) or texts == sorted(texts)
    assert heading.get_attribute("aria-sort") is None
    assert messages == []
    page.close()
