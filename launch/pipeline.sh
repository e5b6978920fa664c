#!/usr/bin/env bash
# The whole pipeline on the demo corpus with tiny configs, on CPU (~20 minutes on 2 cores):
#   prepare -> tokenizer -> encode -> latent action model -> dynamics model -> an example edit,
# evaluating each stage (the last line of every evaluation is one JSON object).
# Runs go to $RUNS (default runs/demo); re-running resumes finished and interrupted stages.
# Step counts: TOKENIZER_STEPS, LAM_STEPS, DYNAMICS_STEPS. Extra arguments go to every training command.
# RATE=_8hz runs the 8 frames/s chain (configs/*_8hz.py) instead of the 50 frames/s one, e.g.
#   RATE=_8hz RUNS=runs/demo_8hz bash launch/pipeline.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
RUNS=$(realpath -m "${RUNS:-runs/demo}")  # absolute: later stages find earlier runs from any folder
RATE=${RATE:-}
# 3000 steps of the 50 frames/s tokenizer and 9000 of the 8 frames/s one (its STFT encoder is ~5x cheaper a
# step) each take about 7-12 minutes on 2 cores.
TOKENIZER_STEPS=${TOKENIZER_STEPS:-$([ "$RATE" = _8hz ] && echo 9000 || echo 3000)}
LAM_STEPS=${LAM_STEPS:-1500}
DYNAMICS_STEPS=${DYNAMICS_STEPS:-2000}
EDIT_ACTIONS=7,7,1,5,2
if [ "$RATE" = _8hz ]; then EDIT_ACTIONS=7,7,1,5; fi

$PY launch/prepare_data.py --demo --output data/demo --no-progress
$PY launch/train.py --config configs/tokenizer$RATE.py:tiny --workdir "$RUNS/tokenizer" \
  --config.data.dataset_dir=data/demo --config.total_steps="$TOKENIZER_STEPS" "$@"
$PY launch/evaluate.py --workdir "$RUNS/tokenizer"
$PY launch/encode.py --workdir "$RUNS/tokenizer" --noprogress
$PY launch/train.py --config configs/lam$RATE.py:tiny --workdir "$RUNS/lam" \
  --config.init.tokenizer.workdir="$RUNS/tokenizer" --config.total_steps="$LAM_STEPS" "$@"
$PY launch/evaluate.py --workdir "$RUNS/lam"
$PY launch/train.py --config configs/dynamics$RATE.py:tiny --workdir "$RUNS/dynamics" \
  --config.init.lam.workdir="$RUNS/lam" --config.total_steps="$DYNAMICS_STEPS" "$@"
$PY launch/evaluate.py --workdir "$RUNS/dynamics"

# An example edit: 1 s of a validation recording re-written with chosen actions (5 action steps of 0.2 s; at
# 8 frames/s, 4 of 0.25 s).
SONG=$($PY -c "import json; print(next('data/demo/' + r['shard'] for r in map(json.loads, open('data/demo/manifest.jsonl')) if r['split'] == 'validation'))")
$PY launch/edit.py --workdir "$RUNS/dynamics" --input "$SONG" --start 20.0 --end 21.0 --actions "$EDIT_ACTIONS" \
  --output "$RUNS/edit_example.wav"
