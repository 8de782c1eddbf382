"""The documentation builds, references every public name, and its examples run.

- ``test_site_builds_strictly``: ``mkdocs build --strict`` (mkdocs.yml) into a temporary
  folder, so a broken link, anchor or ``:::`` reference fails. Skipped only when MkDocs or
  mkdocstrings is not installed (``pip install -e '.[docs]'``; the ``test`` extra has them).
- ``test_every_public_name_is_in_the_reference``: every module, class and function named
  in the ``__all__`` of the public modules has an entry in the built site's inventory.
- ``test_code_block[FILE:N]``: every ```` ```python ```` (or ``py``) block of README.md and
  of the guide pages (``docs/**/*.md`` except ``docs/architecture.md``, the maintainers'
  page) runs. Blocks of one file share one namespace and run in order, in one temporary
  working directory per file; the test of block N first runs blocks 0..N-1 of its file
  (once per process), so any test can run alone or on any xdist worker. A
  ``ConvergenceWarning`` in a block is an error: the examples are written to converge.
  Shell blocks (``bash``, ``console``, no language, ...) are never run.

Opting a Python block out: put ``<!-- skip-test: reason -->`` on the last non-blank line
before its opening fence. Use it only for blocks that need files or resources the test
cannot provide; the reason is shown in the test report.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
import traceback
import types
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
MAINTAINERS_PAGES = {ROOT / "docs" / "architecture.md"}
PYTHON_LANGUAGES = {"python", "py", "python3"}

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>.*)$")
_SKIP = re.compile(r"^\s*<!--\s*skip-test:(?P<reason>.*?)-->\s*$")


@dataclass(frozen=True)
class Block:
    path: Path
    index: int  # position among the file's Python blocks
    line: int  # 1-based line of the opening fence
    code: str
    skip: str | None  # the skip-test reason, or None

    @property
    def id(self):
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.index}"


def doc_files():
    pages = sorted(p for p in (ROOT / "docs").rglob("*.md") if p not in MAINTAINERS_PAGES)
    return [ROOT / "README.md", *pages]


def python_blocks(path):
    """The Python code blocks of a Markdown file, in order, with their skip markers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, previous, i = [], "", 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            if lines[i].strip():
                previous = lines[i]
            i += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        info = match["info"].strip().lstrip("{").lstrip(".")
        language = re.split(r"[\s}]", info, maxsplit=1)[0].lower() if info else ""
        end = i + 1
        while end < len(lines):
            stripped = lines[end].strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                break
            end += 1
        if language in PYTHON_LANGUAGES:
            body = "\n".join(line[indent:] if line[:indent].strip() == "" else line
                             for line in lines[i + 1:end])
            marker = _SKIP.match(previous)
            reason = (marker["reason"].strip() or "no reason given") if marker else None
            blocks.append(Block(path, len(blocks), i + 1, textwrap.dedent(body), reason))
        previous, i = "", end + 1
    return blocks


BLOCKS = {path: python_blocks(path) for path in doc_files()}
ALL_BLOCKS = [block for blocks in BLOCKS.values() for block in blocks]


# ---------------------------------------------------------------------------- examples

_RUNS = {}  # path -> {"namespace", "cwd", "outcomes": {index: None | traceback text}}


def _execute(block, namespace):
    from sklearn.exceptions import ConvergenceWarning

    # Pad with blank lines so that a traceback's line numbers are the Markdown file's.
    source = "\n" * block.line + block.code
    code = compile(source, str(block.path.relative_to(ROOT)), "exec")
    # (BLAS threads per xdist worker: tests/conftest.py.)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        exec(code, namespace)


def _run_through(block, tmp_path_factory, monkeypatch):
    """Run the blocks of ``block``'s file up to and including it, once per process."""
    run = _RUNS.get(block.path)
    if run is None:
        name = re.sub(r"\W+", "-", block.path.relative_to(ROOT).as_posix())
        run = _RUNS[block.path] = {
            "namespace": {"__name__": "__doc_example__"},
            "cwd": tmp_path_factory.mktemp(name),
            "outcomes": {},
        }
    monkeypatch.chdir(run["cwd"])
    for earlier in BLOCKS[block.path][: block.index + 1]:
        if earlier.skip is not None or earlier.index in run["outcomes"]:
            continue
        try:
            _execute(earlier, run["namespace"])
            run["outcomes"][earlier.index] = None
        except BaseException:  # noqa: BLE001 - reported as this block's failure
            run["outcomes"][earlier.index] = traceback.format_exc()
        if run["outcomes"][earlier.index] is not None:
            break
    failed_before = [i for i, error in run["outcomes"].items()
                     if error is not None and i < block.index]
    if failed_before:
        pytest.skip(f"needs block {failed_before[0]} of {block.path.name}, which failed")
    error = run["outcomes"].get(block.index)
    if error is not None:
        pytest.fail(f"{block.id} (line {block.line}) raised:\n{error}", pytrace=False)


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=[b.id for b in ALL_BLOCKS])
def test_code_block(block, tmp_path_factory, monkeypatch):
    if block.skip is not None:
        pytest.skip(f"skip-test: {block.skip}")
    _run_through(block, tmp_path_factory, monkeypatch)


def test_the_readme_and_the_guide_have_examples():
    assert BLOCKS[ROOT / "README.md"], "README.md has no ```python block (the quick start)"
    assert len(ALL_BLOCKS) >= 20, f"only {len(ALL_BLOCKS)} Python blocks found in the guide"


def test_skip_markers_sit_on_python_blocks():
    """A skip-test marker must precede a Python block; anywhere else it is a typo."""
    for path in doc_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if "skip-test" not in line:
                continue
            assert _SKIP.match(line), f"{path.name}:{number}: write <!-- skip-test: reason -->"
            following = next((next_line for next_line in lines[number:] if next_line.strip()), "")
            fence = _FENCE.match(following)
            language = fence["info"].strip().split(" ")[0].lower() if fence else ""
            assert language in PYTHON_LANGUAGES, (
                f"{path.name}:{number}: a skip-test marker must be followed by a ```python block "
                "(shell blocks are never run and need no marker)")


def test_relative_links_of_the_readme_exist():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        assert (ROOT / target.split("#")[0]).exists(), f"README.md links to missing {target}"


# ---------------------------------------------------------------------------- the site

def _griffe_extension():
    pytest.importorskip("griffe", reason="the docs build needs griffe: pip install -e '.[docs]'")
    spec = importlib.util.spec_from_file_location("griffe_rst_roles",
                                                  ROOT / "docs" / "griffe_rst_roles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sphinx_markup_in_docstrings_becomes_markdown():
    rewrite = _griffe_extension().rewrite
    text = rewrite("See :func:`nmfkit.io.read_matrix` and :class:`~nmfkit.NMF`::\n\n"
                   "    code\n")
    assert '<autoref identifier="nmfkit.io.read_matrix" optional>' in text
    assert "<code>NMF</code></autoref>:\n\n    code" in text
    table = rewrite("=====  =====\nname   what\n=====  =====\n``a``  one\nb      two\n"
                    "=====  =====\n")
    assert table.splitlines() == ["| name | what |", "|---|---|", "| ``a`` | one |",
                                  "| b | two |"]


def _missing_docs_packages():
    needed = {"mkdocs": "mkdocs", "mkdocstrings": "mkdocstrings",
              "mkdocstrings_handlers.python": "mkdocstrings-python"}
    missing = []
    for module, package in needed.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(package)
    return missing


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    missing = _missing_docs_packages()
    if missing:
        pytest.skip(f"building the docs needs {', '.join(missing)}: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    return result, out


def test_site_builds_strictly(site):
    result, out = site
    assert result.returncode == 0, (
        f"mkdocs build --strict failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    assert (out / "index.html").is_file()
    assert (out / "api" / "nmf" / "index.html").is_file()
    # The site works offline: no script or style sheet comes from elsewhere.
    remote = re.compile(r"<(?:script|link)\b[^>]*(?:src|href)=[\"'](?:https?:)?//", re.I)
    fetching = [page.relative_to(out).as_posix() for page in out.rglob("*.html")
                if remote.search(page.read_text(encoding="utf-8"))]
    assert not fetching, f"pages that load scripts or styles from the network: {fetching}"


def _inventory(site_dir):
    """Names in the site's objects.inv (Sphinx inventory v2: 4 header lines, then zlib)."""
    data = (site_dir / "objects.inv").read_bytes()
    for _ in range(4):
        data = data[data.index(b"\n") + 1:]
    return {line.split(" ", 1)[0] for line in zlib.decompress(data).decode().splitlines()}


# Modules whose ``__all__`` is the public API, and names required besides those.
PUBLIC_MODULES = ["nmfkit", "nmfkit.apps.topics", "nmfkit.apps.similarity", "nmfkit.datasets",
                  "nmfkit.io", "nmfkit.metrics", "nmfkit.plot", "nmfkit.report",
                  "nmfkit.solvers", "nmfkit.demo", "nmfkit.rank", "nmfkit.cluster",
                  "nmfkit.images", "nmfkit.audio", "nmfkit.stream", "nmfkit.distributed"]
REQUIRED = {"nmfkit.objectives": ["beta_divergence"],
            "nmfkit.solvers": ["available", "names", "register", "Solver", "Settings"],
            "nmfkit.demo": ["run"]}


def _public_names():
    for module_name in sorted(set(PUBLIC_MODULES) | set(REQUIRED)):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue  # a module not written yet: nothing to document
        names = list(getattr(module, "__all__", []))
        # A required name counts once it exists, so a new one cannot stay undocumented.
        names += [n for n in REQUIRED.get(module_name, []) if hasattr(module, n)]
        for name in dict.fromkeys(names):
            yield module_name, name, getattr(module, name)


def test_every_public_name_is_in_the_reference(site):
    result, out = site
    if result.returncode != 0:
        pytest.skip("the site did not build (test_site_builds_strictly says why)")
    documented = _inventory(out)
    missing = []
    for module_name, name, obj in _public_names():
        full = f"{module_name}.{name}"
        if not (callable(obj) or isinstance(obj, types.ModuleType)):
            continue  # data (__version__, io.FORMATS): described in the page's prose
        where = {full}
        if hasattr(obj, "__module__") and hasattr(obj, "__qualname__"):
            where.add(f"{obj.__module__}.{obj.__qualname__}")  # documented where defined
        if isinstance(obj, types.ModuleType):
            where.add(obj.__name__)
        if not where & documented:
            missing.append(full)
    assert not missing, (
        "public names without an API reference entry (add or enable their ::: line "
        f"under docs/api/): {', '.join(missing)}")


def test_solver_table_is_the_registry():
    """docs/solvers.md's table is rendered from nmfkit.solvers.available() at build time
    (docs/solver_table.py), so a registered solver appears in it without a doc edit."""
    spec = importlib.util.spec_from_file_location("solver_table", ROOT / "docs" / "solver_table.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    import nmfkit.solvers as solvers

    assert hook.MARKER in (ROOT / "docs" / "solvers.md").read_text()
    record = solvers.register(solvers.Solver(name="doc-test", solve=lambda *a, **k: None,
                                             description="registered by a test"))
    try:
        table = hook.on_page_markdown(hook.MARKER, None, None, None)
    finally:
        solvers.unregister(record.name)
    for name in [*solvers.available().index, "doc-test"]:
        assert f"| `{name}` |" in table
    assert "registered by a test" in table
