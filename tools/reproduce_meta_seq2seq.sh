#!/bin/bash
# Meta seq2seq runs of docs/results/meta_seq2seq.md on the shared 2-core CPU, one after the other.
#   tools/reproduce_meta_seq2seq.sh EPISODE_TYPE SEED EPISODES [extra fairseq-train flags...]
# Adam, lr 1e-3 for the first half of EPISODES and 1e-4 for the second (the paper's schedule, 10,000 episodes),
# gradient norm clipped at 50; then the test episode is decoded greedily into <run>/test.json. Re-running resumes
# from <run>/checkpoint_last.pt (fairseq-train does) and appends to <run>/train.log. <run> is
# runs/meta_seq2seq/<RUN_NAME or TYPE_EPISODES_SEED>, or OUT_DIR where that is set.
set -euo pipefail
type=$1 seed=$2 episodes=$3
shift 3
name=${RUN_NAME:-${type}_${episodes}_${seed}}
out=${OUT_DIR:-runs/meta_seq2seq/$name}
per_epoch=$((episodes / 10))
mkdir -p "$out"
OMP_NUM_THREADS=1 .venv/bin/fairseq-train --user-dir seq_plugins --task meta_seq2seq_episodes --episode-type "$type" \
  --arch meta_seq2seq --criterion cross_entropy_acc --optimizer adam --lr-scheduler fixed \
  --lr 0.001,0.001,0.001,0.001,0.001,0.0001 --clip-norm 50 --max-update "$episodes" \
  --episodes-per-epoch "$per_epoch" --batch-size 1 --num-workers 0 --seed "$seed" --save-dir "$out" \
  --no-epoch-checkpoints --log-format simple --log-interval 100 "$@" >> "$out/train.log" 2>&1
OMP_NUM_THREADS=1 .venv/bin/python -m tools.meta_seq2seq_eval --checkpoint "$out/checkpoint_last.pt" \
  --include-support --out "$out/test.json" > "$out/test.txt" 2>&1
