"""nmfkit at another commit, for ``bench.py --baseline REF`` (before / after runs).

The commit's ``src/`` is extracted with ``git archive REF src | tar -x`` into
``benchmarks/.cache/nmfkit-<sha>/`` (no worktree, no change to the repository's git
state), once per commit.  Workers of the baseline contender get that ``src`` first on
``PYTHONPATH``; every other worker gets the benchmark venv's nmfkit (this checkout).  The
two never meet in one process: each run is its own process, and worker.py checks where
``nmfkit`` was imported from before it fits anything.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = HERE / ".cache"


def resolve(ref: str) -> str:
    """The short hash of the commit ``ref`` names (``HEAD``, a branch, a hash)."""
    out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", "--short=7",
                          f"{ref}^{{commit}}"], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{ref}: not a commit of {REPO} ({out.stderr.strip()})")
    return out.stdout.strip()


def source_dir(sha: str) -> Path:
    """The folder to put on PYTHONPATH for nmfkit at ``sha`` (holds ``nmfkit/``)."""
    return CACHE / f"nmfkit-{sha}" / "src"


def prepare(ref: str) -> tuple[str, Path]:
    """Extract ``src/`` of ``ref`` (once); returns (short hash, its source folder)."""
    sha = resolve(ref)
    root = source_dir(sha).parent
    if not (root / ".extracted").exists():
        tmp = root.with_name(root.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        archive = subprocess.Popen(["git", "-C", str(REPO), "archive", sha, "src"],
                                   stdout=subprocess.PIPE)
        tar = subprocess.run(["tar", "-x", "-C", str(tmp)], stdin=archive.stdout)
        archive.stdout.close()
        if archive.wait() or tar.returncode:
            raise SystemExit(f"--baseline {ref}: git archive {sha} src | tar -x failed")
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
        (root / ".extracted").write_text(sha + "\n")
    src = source_dir(sha)
    if not (src / "nmfkit" / "__init__.py").exists():
        raise SystemExit(f"--baseline {ref}: {sha} has no src/nmfkit/__init__.py")
    return sha, src


def subject(sha: str) -> str:
    """The commit's date and subject line, for the report."""
    return subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%cs %s", sha],
                          capture_output=True, text=True).stdout.strip()
