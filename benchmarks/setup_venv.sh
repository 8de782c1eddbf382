#!/usr/bin/env bash
# Create benchmarks/.venv with nmfkit (editable, from this checkout) and the peers from PyPI.
# Idempotent: a stamp file records that the install finished for the current requirements.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venv="$here/.venv"
py="${PYTHON:-python3}"
stamp="$venv/.bench-installed"

if [[ -f "$stamp" && "$stamp" -nt "$here/requirements.txt" && "$stamp" -nt "$repo/pyproject.toml" ]]; then
  exit 0
fi
echo "setting up $venv (log: $venv/install.log)"
test -x "$venv/bin/python" || "$py" -m venv "$venv"
log="$venv/install.log"
pip() { "$venv/bin/python" -m pip install -q "$@" >>"$log" 2>&1 || { tail -30 "$log"; exit 1; }; }
pip --upgrade pip
# torch first and pinned exactly: 2.13.0 is served as a CPU wheel; any other spec would
# pull the CUDA build (gigabytes). The peers that depend on torch then find it satisfied.
pip "torch==2.13.0"
pip -r "$here/requirements.txt"
pip -e "$repo"
# MovieLens 100k for recommend.py ships in recbole's wheel; none of its dependencies are needed.
pip --no-deps recbole==1.2.1
# Guard: a peer must not have replaced the CPU torch.
"$venv/bin/python" - <<'PY'
import importlib.metadata as md
v = md.version("torch")
assert v.startswith("2.13.0"), f"torch was replaced by {v}; pin it back to 2.13.0"
print(f"benchmark venv ready (torch {v})")
PY
touch "$stamp"
