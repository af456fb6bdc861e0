# Two commands do all the set-up on a fresh machine (Python >= 3.11 and the package registries):
#   make run    — create .venv, install hospigen, run the main job on the embedded defaults
#   make test   — create .venv, install hospigen with every extra, run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS ?= gcp,aws,beam,redis,validate,dev

.PHONY: install run test test-slow lint bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/hospigen demo --out hospigen-demo

test: $(STAMP)
	sh scripts/system-deps.sh
	bash scripts/bq-emulator-venv.sh
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	sh scripts/system-deps.sh
	bash scripts/bq-emulator-venv.sh
	$(BIN)/python -m pytest -m slow

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

docs: $(STAMP)
	$(BIN)/python scripts/cli_docs.py

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf output hospigen-demo .pytest_cache
