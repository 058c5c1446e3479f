#!/usr/bin/env bash
# The GPU check of seed_ensemble, prepared to run once whenever a GPU machine is at hand (about 8 minutes).
#
#   bash benchmarks/gpu_check.sh --download   # here, with PyPI reachable: the wheels and sources into .whl/
#   bash benchmarks/gpu_check.sh              # there, from the repository root, with .whl/ carried along
#
# The machine is expected to have python3 with a CUDA build of torch (the device image does) and nothing else of
# ours: the pinned fairseq-fixed, hydra-core, omegaconf, bitarray, antlr4 and submitit come from .whl/ (fairseq is
# built there from its source, against that torch). Then, on CUDA: the exactness tests of tests/test_seed_ensemble.py
# (seed s of an ensemble against its single run; dropout 0, since CUDA draws dropout masks differently) and
# benchmarks/ensemble_speed.py (K = 1, 4, 16, 64, 256 for the Transformer and the LSTM with attention).
set -euo pipefail
cd "$(dirname "$0")/.."
pin() { grep -E "^$1==" requirements.txt; }

if [ "${1:-}" = "--download" ]; then
    mkdir -p .whl
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
        "$(pin bitarray)" "$(pin hydra-core)" "$(pin omegaconf)" "$(pin submitit)"
    # reading an sdist's metadata runs its setup.py, which for fairseq imports torch: the venv of `make install`
    .venv/bin/python -m pip download --no-deps --no-binary=:all: --no-build-isolation -d .whl \
        "$(pin fairseq-fixed)" "$(pin antlr4-python3-runtime)"
    exit 0
fi

began=$(date +%s)
export PYTHONPATH=/tmp/site:$PWD PYTHONWARNINGS=ignore PYTHONUNBUFFERED=1 MAX_JOBS=16
python3 -m pip install -q --no-index --no-deps --no-cache-dir --target /tmp/site .whl/*.whl
for source in .whl/antlr4*.tar.gz .whl/fairseq*fixed*.tar.gz; do
    python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir --target /tmp/site "$source"
done
echo "installed in $(( $(date +%s) - began )) s"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
SEQ_TEST_DEVICE=cuda python3 -m pytest -q -p no:cacheprovider tests/test_seed_ensemble.py
python3 benchmarks/ensemble_speed.py --device cuda --learners transformer_small lstm_attention_small --seconds 10
echo "gpu check done in $(( $(date +%s) - began )) s"
