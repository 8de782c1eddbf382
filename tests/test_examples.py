"""Every script in examples/ runs as a user runs it and saves its figure.

Each example is a standalone script: run with the project's Python in a fresh
subprocess, in an empty folder, with a non-interactive matplotlib backend; it must exit 0
within a minute and write at least one PNG where it runs (what it prints is for the
reader).  The list is whatever ``examples/*.py`` holds, so a new example is tested by
being added.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_and_saves_its_figure(script, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = list(tmp_path.rglob("*.png"))
    assert figures, f"{script.name} saved no figure (.png) in its working folder"
    assert all(f.stat().st_size > 1000 for f in figures)
