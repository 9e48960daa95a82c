# Quick start on a fresh machine (Python 3.11+ and make):  make report  &&  make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install report test lab bench lint clean

# (Re)install when pyproject.toml changes; `make install` forces it.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install:
	rm -f $(STAMP)
	$(MAKE) $(STAMP)

report: $(STAMP)
	$(BIN)/crmresearch features cdnow --end 1997-09-30 --out reports/features/cdnow_features.parquet \
		--summary reports/features/cdnow_features_summary.md
	$(BIN)/crmresearch report all --out reports

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Jupyter refuses to run as root without --allow-root (containers, CI machines); LAB_ARGS passes
# any other option: make lab LAB_ARGS="--no-browser --port 8899"
LAB_ARGS ?= $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
lab: $(STAMP)
	$(BIN)/jupyter lab $(LAB_ARGS) notebooks

bench: $(STAMP)
	$(BIN)/python benchmarks/features.py
	$(BIN)/python benchmarks/index.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
