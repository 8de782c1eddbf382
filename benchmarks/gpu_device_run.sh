#!/usr/bin/env bash
# Issue 24's GPU check in one go on a leased GPU machine: install, test, benchmark.
#
# That machine reaches no package registry.  Its python3 (3.12) already holds a CUDA
# build of torch, numpy, scipy, scikit-learn, numba, pandas, tqdm, matplotlib, pytest and
# hypothesis; what it lacks (array-api-compat, nmf-torch, torchnmf) travels as wheels,
# made here first, where the registry is reachable:
#
#   bash benchmarks/gpu_device_run.sh --prepare     # -> benchmarks/.cache/gpu-wheels/ (ignored)
#
# then, through the session's device tool, from the repository root:
#
#   command: bash benchmarks/gpu_device_run.sh
#   carry:   ["benchmarks/.cache/gpu-wheels"]
#   timeout_s: 600
#
# It makes a venv over the machine's python (its packages visible through a .pth file,
# ours installed first), installs nmfkit from this checkout (editable, no dependencies),
# runs tests/test_backends.py and tests/test_device.py (when present) on the GPU, then
# benchmarks/gpu.py.  Everything it writes goes to $OUT (default
# benchmarks/results/gpu-device/): device.log (set-up, versions), pytest.log, gpu.log,
# gpu.json, gpu.md.  It ends within about 9.5 minutes: each step has a time limit, and
# gpu.py's --deadline is what is left after the tests.
#
# To try the script itself on a machine without a GPU (python3 with a CPU torch):
#   NO_GPU_OK=1 BENCH_ARGS="--device cpu --quick" OUT=/tmp/out bash benchmarks/gpu_device_run.sh
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
wheels="$here/.cache/gpu-wheels"

if [[ "${1:-}" == "--prepare" ]]; then
  set -e
  mkdir -p "$wheels"
  rm -f "$wheels"/*.whl
  py=python3
  # Pure-Python wheels for the GPU machine's CPython 3.12 on x86-64.
  "$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform any -d "$wheels" torchnmf==0.3.5 \
    array-api-compat==1.16.0
  # nmf-torch ships as source with a Cython extension: build its wheel with a CPython 3.12.
  py312="${PYTHON312:-$(command -v python3.12 || true)}"
  if [[ -z "$py312" || ! -x "$py312" ]] || ! "$py312" -V >/dev/null 2>&1; then
    py312="$(pyenv root 2>/dev/null)/versions/$(pyenv versions --bare 2>/dev/null | grep -m1 '^3\.12')/bin/python3.12"
  fi
  if ! "$py312" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
    echo "no CPython 3.12 found to build nmf-torch's wheel: set PYTHON312=/path/to/python3.12" >&2
    exit 1
  fi
  "$py312" -m pip wheel -q --no-deps -w "$wheels" nmf-torch==0.1.1
  if git -C "$repo" rev-parse >/dev/null 2>&1 && ! git -C "$repo" check-ignore -q "$wheels/x.whl"; then
    echo "warning: $wheels is not ignored by git; it must not be committed" >&2
  fi
  ls -la "$wheels"
  echo "carry benchmarks/.cache/gpu-wheels with: bash benchmarks/gpu_device_run.sh"
  exit 0
fi

OUT="${OUT:-$repo/benchmarks/results/gpu-device}"
mkdir -p "$OUT"
start=$SECONDS
log="$OUT/device.log"
say() { echo "[$((SECONDS - start)) s] $*" | tee -a "$log"; }
cd "$repo"

say "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
nvidia-smi >>"$log" 2>&1 || say "nvidia-smi failed"
py=python3
say "base python: $(command -v $py) ($($py -V 2>&1))"

# A venv over the machine's python: its site-packages (torch with CUDA, pip, ...) are
# read through a .pth file after the venv's own, so the carried wheels take precedence.
# --without-pip: the base interpreter may lack ensurepip; the machine's pip, seen
# through the .pth file, installs into the venv.
venv=/tmp/nmfkit-gpu-venv
rm -rf "$venv"
"$py" -m venv --without-pip "$venv" >>"$log" 2>&1 || { say "venv creation failed"; exit 1; }
vpy="$venv/bin/python"
base_site="$("$py" -c 'import site; print("\n".join(site.getsitepackages()))')"
venv_site="$("$vpy" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
printf '%s\n' "$base_site" >"$venv_site/zz_machine_site.pth"

if compgen -G "$wheels/*.whl" >/dev/null; then
  "$vpy" -m pip install -q --no-index --no-deps --no-compile "$wheels"/*.whl >>"$log" 2>&1 \
    || say "installing the carried wheels failed (see $log)"
else
  say "no wheels in $wheels: run 'bash benchmarks/gpu_device_run.sh --prepare' here and carry that folder"
fi
if ! "$vpy" -m pip install -q --no-index --no-deps --no-build-isolation -e "$repo" >>"$log" 2>&1; then
  # The machine's setuptools may predate what pyproject.toml asks for: import from src.
  say "editable install of nmfkit failed; importing it from $repo/src instead"
  printf '%s\n' "$repo/src" >"$venv_site/nmfkit_src.pth"
fi

"$vpy" - >>"$log" 2>&1 <<'PY'
import importlib.metadata as md
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("gpu", torch.cuda.get_device_name(0))
for name in ("nmfkit", "nmf-torch", "torchnmf", "array-api-compat", "numpy", "scipy",
             "scikit-learn", "numba", "threadpoolctl", "pandas", "pytest", "hypothesis"):
    try:
        print(name, md.version(name))
    except md.PackageNotFoundError:
        print(name, "MISSING")
import nmfkit, nmf, torchnmf  # noqa: E401  the benchmark's imports, checked before it runs
print("nmfkit from", nmfkit.__file__)
PY
say "environment: $(grep -E '^(torch|gpu|nmfkit from)' "$log" | tr '\n' ';')"
if ! "$vpy" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  say "PyTorch sees no CUDA GPU"
  [[ "${NO_GPU_OK:-}" == 1 ]] || exit 1
fi

tests=(tests/test_backends.py)
[[ -f tests/test_device.py ]] && tests+=(tests/test_device.py)
say "pytest ${tests[*]}"
timeout 150 "$vpy" -m pytest -q -p no:cacheprovider "${tests[@]}" >"$OUT/pytest.log" 2>&1
say "pytest exit $? ($(tail -1 "$OUT/pytest.log"))"

# What is left of ~9.5 minutes, less the traces' grace (90 s) and the write-up, is
# gpu.py's deadline for starting repeated rounds.
left=$((570 - (SECONDS - start)))
deadline=$((left - 150))
((deadline < 60)) && deadline=60
say "benchmarks/gpu.py --deadline $deadline (limit $left s)"
# shellcheck disable=SC2086  # BENCH_ARGS: extra arguments, split on spaces
PYTHONUNBUFFERED=1 timeout --kill-after=10 "$left" "$vpy" benchmarks/gpu.py --out "$OUT" \
  --deadline "$deadline" ${BENCH_ARGS:-} >"$OUT/gpu.log" 2>&1
say "gpu.py exit $?"
tail -5 "$OUT/gpu.log" | tee -a "$log"
