# `make demo` and `make test` install everything they need into .venv first (once; pip's cache makes a second
# install take seconds). Building fairseq-fixed from source takes about 5 minutes the first time.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
BUILD_PINS = $(shell grep -E '^(torch|numpy|cython|setuptools|wheel)==' requirements.txt)

.PHONY: install demo demo-transductions test test-portable

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

# The tests that compare two computations of the same numbers, run again under other CPU kernels of torch
# (ATen's dispatch), MKL and oneDNN on this machine: each must hold on any CPU, not only on the one it was written
# on (docs/testing.md)
NUMERIC_TESTS = tests/test_greedy.py tests/test_seed_ensemble.py tests/test_packed_lstm.py tests/test_fast_lstm.py \
	tests/test_fast_adam.py tests/test_model.py tests/test_meta_seq2seq.py tests/test_riglstm_cell.py \
	tests/test_grid_lstm.py tests/test_prequential.py tests/test_seeding.py tests/test_lookup25.py
KERNELS = avx2 default

test-portable: install
	for capability in $(KERNELS); do \
	  echo "== ATEN_CPU_CAPABILITY=$$capability MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2"; \
	  ATEN_CPU_CAPABILITY=$$capability MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 \
	    PYTHONWARNINGS=ignore $(PY) -m pytest -q $(NUMERIC_TESTS) || exit 1; \
	done
