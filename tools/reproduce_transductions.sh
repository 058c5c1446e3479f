#!/usr/bin/env bash
# The CPU-budget reproduction of docs/results/transductions.md: 3 tasks x {SRNN, LSTM} x {no attention, additive},
# two runs at a time on one thread each, then the tables. Finished runs are skipped when re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-runs/transductions}
GRID=hyperparams/transductions/cpu_budget.json
TASKS=${TASKS:-"identity reversal total_reduplication"}
for task in $TASKS; do
  $PY -m preprocess.transductions --task "$task" --out "data/transductions/$task" \
      --dev-size 200 --test-size 1000 --ood-size 1000
done
for task in $TASKS; do for arch in srnn_seq2seq lstm_seq2seq; do for att in none additive; do
  echo "$task $arch $att"
done; done; done | xargs -P "${JOBS:-2}" -L 1 bash -c \
  '"$0" -m tools.transduction_run --data "data/transductions/$1" --grid '"$GRID"' --threads 1 \
     --set arch="$2" --set attention="$3" --out "'"$OUT"'/$1/$2-$3" > "'"$OUT"'.$1.$2.$3.out" 2>&1 \
     || echo "FAILED: $1 $2 $3 (see '"$OUT"'.$1.$2.$3.out)"' "$PY"
$PY -m tools.transduction_table "$OUT"
