#!/bin/bash
# Rebuilds the shipped models from nothing but Debian packages: corpus -> tokenizer -> target and
# draft training -> models/xy-target, models/xy-draft (+ reference.json for the C++ test) ->
# the draft's greedy acceptance rate. Deterministic (fixed seeds, one thread); see models/README.md.
#
# Needs: apt-get (downloads bible-kjv-text, bible-kjv, fortunes, fortunes-min as .debs, nothing is
# installed), python3-torch, python3-numpy, python3-regex.
# Usage: tools/train/make_models.sh [WORK_DIR]   (default /tmp/xy-train)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$ROOT/tools/train
WORK=${1:-/tmp/xy-train}
PY=/usr/bin/python3  # Debian's interpreter, where python3-torch lives
mkdir -p "$WORK/data"

$PY "$T/build_corpus.py" --out "$WORK/corpus"
$PY "$T/bpe.py" train --corpus "$WORK/corpus/bpe_train.txt" --vocab-size 4096 --out "$WORK/tok"
for split in train valid; do
  $PY "$T/bpe.py" encode --tokenizer "$WORK/tok" --text "$WORK/corpus/$split.txt" \
    --out "$WORK/data/$split.u16"
done
# One thread each, both at once: the target (~56 min on one core) and the draft (~21 min) fill
# the machine's two cores, so the whole script finishes in about an hour.
pids=()
for preset in target draft; do
  nice -n 5 $PY "$T/train.py" --preset $preset --data "$WORK/data" --tokenizer "$WORK/tok" \
    --out "$ROOT/models/xy-$preset" >"$WORK/$preset.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done  # set -e: a failed training run fails the script
tail -n 2 "$WORK/target.log" "$WORK/draft.log"
cp "$WORK/corpus/sources.json" "$ROOT/models/corpus-sources.json"
$PY "$T/acceptance.py" --target "$ROOT/models/xy-target" --draft "$ROOT/models/xy-draft" \
  --valid "$WORK/data/valid.u16" | tee "$WORK/acceptance.json"
