#!/usr/bin/env bash
# The CPU-budget runs of docs/results/riglstm.md, one at a time on one thread: copying (T = 50 -> 200) and
# sequential MNIST (14x14 -> 16, 19, 24) for lstm_labeller, rim and riglstm, then RigLSTM's ablations on copying,
# then bouncing balls (4 balls -> 5, 6) for the three and grid_lstm.
# Finished runs are skipped when re-run; tools.riglstm_table prints the tables from what exists. TASKS picks parts
# (e.g. TASKS=bouncing_balls OUT=runs/riglstm_long BALLS_EPOCHS=30 for a longer budget of those runs alone).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
OUT=${OUT:-runs/riglstm}
TASKS=${TASKS:-copying seq_mnist ablations bouncing_balls}
SEED=${SEED:-1}
export OMP_NUM_THREADS=1 PYTHONWARNINGS=ignore
COMMON="--user-dir seq_plugins --criterion label_cross_entropy --optimizer adam --batch-size 64 --embed-dim 16
        --seed $SEED --num-workers 0 --no-progress-bar --no-epoch-checkpoints --log-format simple"
declare -A MODEL=(
  [lstm]="--arch lstm_labeller --hidden-size 192"
  [rim]="--arch rim --num-cells 6 --cell-size 32 --num-active 4"
  [riglstm]="--arch riglstm --num-cells 6 --cell-size 32 --num-active 5 --num-views 6 --top-views 5 --top-cells 5"
  [grid_lstm]="--arch grid_lstm --hidden-size 96 --num-layers 2"
)
COPYING="--task copying --dormant 50 --test-dormant 200 --train-size 3200 --valid-size 256 --test-size 512
         --data-seed 1"
COPYING_BUDGET="--lr 1e-3 --max-epoch ${COPY_EPOCHS:-6}"
MNIST="--task seq_mnist --mnist-path data/mnist.pkl.gz --train-resolution 14 --test-resolutions 14,16,19,24
       --max-train-examples 9600 --max-valid-examples 1000 --max-test-examples ${MNIST_TEST:-1000}"
BALLS="--task bouncing_balls --train-balls 4 --test-balls 4,5,6 --frames 30 --resolution 16 --train-size 1600
       --valid-size 200 --test-size 200 --data-seed 1"
# a 16x16 frame has 256 inputs: a wider encoder than the tokens' 16 (the later --embed-dim wins)
BALLS_BUDGET="--embed-dim 64 --lr 1e-2 --max-epoch ${BALLS_EPOCHS:-12}"
MNIST_BUDGET="--batch-size-valid 500 --lr 2e-3 --max-epoch ${MNIST_EPOCHS:-1} --best-checkpoint-metric acc --maximize-best-checkpoint-metric"

run() {  # name task_flags budget_flags model_flags test_subsets [extra model flags]
  local dir=$OUT/$1
  [ -f "$dir/test.log" ] && return 0
  mkdir -p "$dir"
  echo "$(date +%T) $1"
  if [ ! -f "$dir/trained" ]; then
    # shellcheck disable=SC2086
    $BIN/fairseq-train $COMMON $2 $3 $4 ${6:-} --save-dir "$dir" > "$dir/train.log" 2>&1 \
      || { echo "FAILED $1"; return 1; }
    touch "$dir/trained"
    rm -f "$dir/checkpoint_last.pt"
  fi
  # shellcheck disable=SC2086
  $BIN/fairseq-validate --user-dir seq_plugins $2 --path "$dir/checkpoint_best.pt" --valid-subset "$5" \
      --batch-size 500 --num-workers 0 > "$dir/test.log.tmp" 2>&1 && mv "$dir/test.log.tmp" "$dir/test.log" \
      || echo "FAILED testing $1"
}

wanted() { [[ " $TASKS " == *" $1 "* ]]; }

wanted copying && for model in lstm rim riglstm; do
  run "copying/$model" "$COPYING" "$COPYING_BUDGET" "${MODEL[$model]}" test
done
wanted seq_mnist && for model in lstm rim riglstm; do
  run "seq_mnist/$model" "$MNIST" "$MNIST_BUDGET" "${MODEL[$model]}" test14,test16,test19,test24
done
wanted ablations && for flag in input-views cell-selection input-selection state-selection soft-update; do
  run "copying/riglstm-no-$flag" "$COPYING" "$COPYING_BUDGET" "${MODEL[riglstm]}" test "--no-$flag"
done
wanted bouncing_balls && for model in lstm rim riglstm grid_lstm; do
  run "bouncing_balls/$model" "$BALLS" "$BALLS_BUDGET" "${MODEL[$model]}" test4,test5,test6
done
echo "$(date +%T) done"
