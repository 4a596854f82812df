# `make serve` to read the site, `make test` to test it. Both create .venv/ on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
READY  := $(VENV)/.installed
# Keras's other backends (JAX, PyTorch: about 4 GB) for the blocks that run on each backend.
# Reading the site does not need them (frozen outputs serve it); testing and refreshing do.
BACKENDS_READY := $(VENV)/.backends
AXE    := node_modules/axe-core/axe.min.js
# Dates in the sitemap come from the last commit, so two builds of one commit are identical.
export SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
# Material's end-of-life banner would bury the build's own warnings.
export NO_MKDOCS_2_WARNING := 1
# Transitive pins from a Linux install; other systems resolve from pyproject.toml alone.
CONSTRAINTS := $(if $(filter Linux,$(shell uname -s)),-c constraints.txt,)

.PHONY: serve build test test-paths outputs bench clean browser backends

$(READY): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(CONSTRAINTS) -e '.[test]'
	touch $@

backends: $(BACKENDS_READY)

$(BACKENDS_READY): $(READY)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(CONSTRAINTS) -e '.[test,backends]'
	touch $@

serve: $(READY)
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

build: $(READY)
	$(BIN)/mkdocs build --strict

# The browser tests (tests/browser) need a Chromium, found or installed by
# tools/ensure_browser.py (fails loudly when there is none), and axe-core from npm.
test: $(READY) $(BACKENDS_READY) browser $(AXE)
	$(BIN)/python -m pytest

# The CI build and tests on each TensorFlow CPU kernel path: Eigen (most CPUs), oneDNN (on by
# default on CPUs with AVX512-VNNI/BF16/AMX), and oneDNN held to SSE4.1 (rounds differently
# again). All three must pass, or a reader on another kind of CPU gets a red build.
test-paths: $(READY) $(BACKENDS_READY) browser $(AXE)
	CI=true TF_ENABLE_ONEDNN_OPTS=0 $(BIN)/python -m pytest
	CI=true TF_ENABLE_ONEDNN_OPTS=1 $(BIN)/python -m pytest
	CI=true TF_ENABLE_ONEDNN_OPTS=1 ONEDNN_MAX_CPU_ISA=SSE41 $(BIN)/python -m pytest

browser: $(READY)
	$(BIN)/python tools/ensure_browser.py

$(AXE): package.json package-lock.json
	@command -v npm >/dev/null || { echo "make test needs npm for axe-core (Debian: apt-get install npm)" >&2; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

# Re-execute every page and rewrite frozen/ (then re-read the prose next to each changed output).
outputs: $(READY) $(BACKENDS_READY)
	DOCEXEC_MODE=refresh $(BIN)/mkdocs build --strict
	$(BIN)/python tools/walkthrough_notebook.py --refresh

bench: $(READY)
	$(BIN)/python benchmarks/build.py
	$(BIN)/python benchmarks/conv.py

clean:
	rm -rf site .pytest_cache test-artifacts
