# Two commands on a fresh machine: `make demo` (the main job, no Redis) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The LTI browser test checks its pages with axe-core (npm), kept inside the repository.
AXE := .ci/node/node_modules/axe-core/axe.min.js

.PHONY: demo test lint bench install

install: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/seqquiz demo -o seqquiz-demo

$(AXE):
	mkdir -p .ci/node
	npm install --prefix .ci/node --no-save --no-audit --no-fund axe-core@4 >/dev/null

test: $(STAMP) $(AXE)
	$(PY) -m pytest -n 2 --dist loadfile -q

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PY) bench/bench_core.py
