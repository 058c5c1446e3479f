#!/bin/bash
# One meta seq2seq run: tools/reproduce_meta_seq2seq.sh EPISODE_TYPE SEED EPISODES [extra fairseq-train flags...]
# Adam, lr 1e-3 for the first half of EPISODES and 1e-4 for the second (the paper's schedule, 10,000 episodes),
# gradient norm clipped at 50, one thread; then the test episode is decoded greedily into <run>/test.json.
# Re-running resumes from <run>/checkpoint_last.pt and appends to <run>/train.log. <run> is
# runs/meta_seq2seq/<RUN_NAME or TYPE_EPISODES_SEED>, or OUT_DIR where that is set.
# The cells of Lake's Tables 2-3, with their result files: .venv/bin/python -m tools.meta_seq2seq_run cell NAME SEED
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m tools.meta_seq2seq_run train "$@"
