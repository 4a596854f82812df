# `make serve` to read the site, `make test` to test it. Both create .venv/ on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
READY  := $(VENV)/.installed
# Keras's other backends (JAX, PyTorch: about 4 GB) for the blocks that run on each backend.
# Reading the site does not need them (frozen outputs serve it); testing and refreshing do.
BACKENDS_READY := $(VENV)/.backends
# Dates in the sitemap come from the last commit, so two builds of one commit are identical.
export SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
# Material's end-of-life banner would bury the build's own warnings. Set here only: every build,
# test and benchmark runs under make, and a child process inherits it (README, "Environment").
export NO_MKDOCS_2_WARNING := 1
# constraints.txt pins every transitive dependency (the `constraints` target below). It is one
# universal resolution, with markers where platforms differ (tensorflow on macOS, tensorflow-cpu
# elsewhere), so it is applied everywhere: it resolves on every platform TensorFlow 2.21 has wheels
# for (Linux x86-64, macOS arm64, Windows x86-64; not Linux aarch64 or macOS x86-64, where no pin would).
CONSTRAINTS := -c constraints.txt


.PHONY: serve build check test test-paths lint outputs bench clean browser constraints backends

$(READY): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(CONSTRAINTS) -e '.[test]'
	touch $@

backends: $(BACKENDS_READY)

# Keras 2 for the tf-keras2 backend: tf-keras names `tensorflow` as its dependency, which tensorflow-cpu
# provides under another name, so it is installed without dependencies (its only one is TensorFlow).
TF_KERAS := 2.21.0

$(BACKENDS_READY): $(READY) Makefile
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(CONSTRAINTS) -e '.[test,backends]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps tf-keras==$(TF_KERAS)
	touch $@

serve: $(READY)
	$(BIN)/mkdocs serve --dirty --dev-addr 127.0.0.1:8000

build: $(READY)
	$(BIN)/mkdocs build --strict

# The browser tests (tests/browser) need a Chromium, found or installed by
# tools/ensure_browser.py (fails loudly when there is none); axe-core comes from PyPI.
test: $(READY) $(BACKENDS_READY) lint browser
	$(BIN)/python -m pytest

# The fast loop: lint, the engine, the tools and the maths extension, without Keras's backends
# or a browser (tests marked `backends` or `browser` are left out; `make test` runs them all).
check: $(READY)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest tests/engine tests/tools tests/test_maths.py -m "not backends and not browser" -q

# Formatting is not checked: `ruff format` would rewrite 52 of the 65 files.
lint: $(READY)
	$(BIN)/ruff check .

# The CI build and tests on each TensorFlow CPU kernel path: Eigen (most CPUs), oneDNN (on by
# default on CPUs with AVX512-VNNI/BF16/AMX), and oneDNN held to SSE4.1 (rounds differently
# again). All three must pass, or a reader on another kind of CPU gets a red build. The first path
# runs every test; the other two only what the kernel path can change: the check build (every page
# executed and compared with frozen/) and tests/pages (Keras against the references, the outputs
# the build stored), not the browser, engine or tools tests: the site shows the frozen outputs on
# every path (only the stamp names the kernels), and the engine and tools tests check no kernel's numbers.
test-paths: $(READY) $(BACKENDS_READY) lint browser
	CI=true TF_ENABLE_ONEDNN_OPTS=0 $(BIN)/python -m pytest
	CI=true TF_ENABLE_ONEDNN_OPTS=1 $(BIN)/python -m pytest tests/pages
	CI=true TF_ENABLE_ONEDNN_OPTS=1 ONEDNN_MAX_CPU_ISA=SSE41 $(BIN)/python -m pytest tests/pages

browser: $(READY)
	$(BIN)/python tools/ensure_browser.py

# Re-execute every page and rewrite frozen/ (then re-read the prose next to each changed output).
outputs: $(READY) $(BACKENDS_READY)
	DOCEXEC_MODE=refresh $(BIN)/mkdocs build --strict
	$(BIN)/python tools/walkthrough_notebook.py --refresh

bench: $(READY)
	$(BIN)/python benchmarks/build.py
	$(BIN)/python benchmarks/conv.py

# Re-pin every transitive dependency after changing pyproject.toml (this exact command wrote
# constraints.txt; run it on Linux x86-64). uv comes from PyPI; it is not a project dependency.
UV_VERSION := 0.13.9
constraints: $(READY)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip compile pyproject.toml --all-extras --universal --python-version 3.11.5 --python $(BIN)/python --no-annotate \
		-o constraints.txt

clean:
	rm -rf site .pytest_cache test-artifacts
