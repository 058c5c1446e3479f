#!/usr/bin/env bash
# The numbers of docs/results/find.md: FPA and description length of FIND's four learners (the _small grids) on
# add-or-mul L=20, count-or-mem L=40, hierar-or-linear d=4 and comp-or-mem N=5.
#
#   bash tools/reproduce_find.sh [fpa|mdl|report]...     (default: fpa mdl report)
#
# Cheap tasks and learners first. Re-running resumes every sweep: finished runs are skipped. WORKERS (default 2)
# runs at once, one thread each. TASKS and LEARNERS (space-separated, defaults below) pick a subset; FIND's
# transformer_lm learner (Transformer with cross+self-attention, its grids for comp-or-mem) runs on LM_TASKS too.
# SEEDS (default 1-16) are the seeds of every sweep (results/find-<phase>-<task>-<learner>-seeds<SEEDS>);
# SEEDS_PER_PROCESS sets tools/sweep.py --seeds-per-process (default: the fastest K recorded for this device).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
WORKERS=${WORKERS:-2}
TASKS=${TASKS:-hierar-or-linear/4 comp-or-mem/5 add-or-mul/20 count-or-mem/40}
LEARNERS=${LEARNERS:-transformer cnn lstm_attention lstm_noattention}
LM_TASKS=${LM_TASKS:-comp-or-mem/5}
SEEDS=${SEEDS:-1-16}
PER_PROCESS=${SEEDS_PER_PROCESS:+--seeds-per-process $SEEDS_PER_PROCESS}
PHASES=${*:-fpa mdl report}
status=0

for spec in $TASKS; do  # a no-op on the same data; refuses data made by other options (e.g. unpadded dictionaries)
    $PY -m preprocess.find --task "${spec%/*}" --sizes "${spec#*/}" --out data/find || exit 1
done

learners() {  # task
    echo $LEARNERS
    case " $LM_TASKS " in *" $1 "*) echo transformer_lm ;; esac
}

sweep() {  # phase task learner
    local grids=hyperparams/default
    [ "${2%/*}" = hierar-or-linear ] && grids=hyperparams/hierar-or-linear
    $PY tools/sweep.py --sweep "$grids/$3_small.json" --task "data/find/$2" --n-workers "$WORKERS" \
        --threads 1 --seeds "$SEEDS" $PER_PROCESS --"$1" --name "find-$1-${2/\//-}-$3-seeds$SEEDS" || status=1
}

for phase in $PHASES; do
    case $phase in
        fpa|mdl)
            for spec in $TASKS; do
                for learner in $(learners "$spec"); do sweep "$phase" "$spec" "$learner"; done
            done ;;
        report)
            for spec in $TASKS; do
                for phase_dir in fpa mdl; do
                    dirs=$(ls -d results/find-$phase_dir-${spec/\//-}-*-seeds$SEEDS 2>/dev/null)
                    [ -n "$dirs" ] && $PY tools/report.py $dirs --out "docs/results/find/${spec/\//-}-$phase_dir-seeds$SEEDS"
                done
            done ;;
        *) echo "reproduce_find.sh: unknown phase $phase (fpa, mdl or report)" >&2; exit 2 ;;
    esac
done
exit $status
