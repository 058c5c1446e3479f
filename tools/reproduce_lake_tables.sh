#!/bin/bash
# Every cell of Lake (2019) Tables 2-3 at the paper's budget, WORKERS runs at a time (one thread each), in the
# order below; a run whose result file exists is skipped, a cut-off run resumes from its checkpoint.
#   WORKERS=2 SEEDS_HEADLINE=5 SEEDS_OTHER=3 bash tools/reproduce_lake_tables.sh
# Result files: docs/results/meta_seq2seq/runs/<cell>/seed<N>.json; logs: runs/meta_seq2seq/<cell>_<N>/.
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${WORKERS:-2} headline=${SEEDS_HEADLINE:-5} other=${SEEDS_OTHER:-3}
{
  for seed in $(seq 1 "$headline"); do
    for cell in add_jump_permutation length around_right add_jump_augmentation; do echo "$cell $seed"; done
  done
  for seed in $(seq 1 "$other"); do
    for cell in add_jump_permutation_no_support_loss add_jump_augmentation_no_support_loss \
        add_jump_permutation_no_decoder_attention add_jump_augmentation_no_decoder_attention \
        add_jump_seq2seq add_jump_seq2seq_augmented around_right_seq2seq length_seq2seq; do
      echo "$cell $seed"
    done
  done
} | xargs -P "$workers" -L 1 .venv/bin/python -m tools.meta_seq2seq_run cell
