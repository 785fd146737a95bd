# Every target bootstraps its own virtual environment (.venv) from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

CHROMIUM := /usr/bin/chromium

.PHONY: demo test test-slow lint typecheck chromium java docs bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,docs,spark]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/journeygraph demo --out out/demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy src

# The browser tests (tests/browser) drive Debian's Chromium; install it when missing (needs root).
$(CHROMIUM):
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

chromium: $(CHROMIUM)

# The Spark tests (tests/test_spark.py, local[2]) need a Java runtime; install Debian's when missing.
java:
	command -v java >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless)

test: lint typecheck chromium java
	$(BIN)/pytest -m "not slow" -q

test-slow: $(STAMP) java
	$(BIN)/pytest -m slow -q || [ $$? -eq 5 ]  # 5: no slow tests selected

docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

$(VENV)/.installed-bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $@

# BENCH_ARGS="--quick" for a short run; see python benchmarks/run.py --help
bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) site out .pytest_cache .mypy_cache .ruff_cache .hypothesis
