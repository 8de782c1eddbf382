#!/usr/bin/env bash
# `make bench`: build benchmarks/.venv (peers from PyPI, nmfkit from this checkout), then run.
# Arguments pass through to bench.py: --quick, --problems a,c, --contenders nmfkit,sklearn-cd
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/setup_venv.sh"
exec "$here/.venv/bin/python" "$here/bench.py" "$@"
