#!/usr/bin/env bash
# Plain seq2seq sanity baselines of docs/results/meta_seq2seq.md: an attention LSTM seq2seq (no memory, no
# episodes) trained on SCAN's simple and add-jump splits. The last validation's seq_acc is greedy exact match on the
# test split (cross_entropy_acc: teacher-forced argmax right everywhere is greedy decoding reproducing the target).
#   tools/reproduce_scan_baselines.sh            SPLITS (default: simple addprim_jump), SEED (default 1)
# Re-running resumes each run from runs/scan/<split>_<seed>/checkpoint_last.pt and appends to its train.log.
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${SEED:-1}
for split in ${SPLITS:-simple addprim_jump}; do
    [ -d "data/scan/$split" ] || .venv/bin/python -m preprocess.scan --split "$split" --out "data/scan/$split"
    out=runs/scan/${split}_$seed
    mkdir -p "$out"
    OMP_NUM_THREADS=1 .venv/bin/fairseq-train "data/scan/$split/data-bin" --user-dir seq_plugins --task transduction \
        --arch lstm_seq2seq --attention additive --embed-dim 64 --hidden-size 200 --dropout 0.1 \
        --criterion cross_entropy_acc --optimizer adam --lr 1e-3 --batch-size 32 --required-batch-size-multiple 1 \
        --max-epoch 20 --valid-subset test --save-dir "$out" --no-epoch-checkpoints --seed "$seed" \
        --log-format simple --log-interval 50 >> "$out/train.log" 2>&1
    grep "valid on 'test'" "$out/train.log" | tail -1
done
