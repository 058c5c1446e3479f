# `make demo` and `make test` install everything they need into .venv first (once; pip's cache makes a second
# install take seconds). Building fairseq-fixed from source takes about 5 minutes the first time.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
BUILD_PINS = $(shell grep -E '^(torch|numpy|cython|setuptools|wheel)==' requirements.txt)

.PHONY: install demo demo-transductions test

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check $(BUILD_PINS)
	$(PY) -m pip install --disable-pip-version-check --no-build-isolation -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check --no-build-isolation --no-deps -e .
	touch $@

demo: install
	PYTHONWARNINGS=ignore $(PY) -m tools.find_demo

demo-transductions: install
	PYTHONWARNINGS=ignore $(PY) -m tools.transduction_demo

test: install
	PYTHONWARNINGS=ignore $(PY) -m pytest -q tests
