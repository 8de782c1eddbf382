# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: demo test bench clean browser

$(VENV)/.demo-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[data]'
	touch $@

$(VENV)/.test-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	touch $@

demo: $(VENV)/.demo-installed
	$(VENV)/bin/nmfkit demo

# Headless Chromium for the report's browser test (Debian's package; needs root or sudo).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: $(VENV)/.test-installed browser
	$(PY) -m pytest -n 2 -q

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache nmfkit-demo

# Side-by-side speed benchmark (issue 3): own venv in benchmarks/.venv, writes
# benchmarks/RESULTS.md and benchmarks/results/results.json. Pass options with
# BENCH_ARGS, e.g. make bench BENCH_ARGS="--quick --problems a,c".
bench:
	bash benchmarks/run.sh $(BENCH_ARGS)
