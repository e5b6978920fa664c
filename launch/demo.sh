#!/usr/bin/env bash
# The main job on the bundled demo corpus: set up, build the corpus, train the tiny tokenizer on CPU.
# Extra arguments go to the training command, e.g. `bash launch/demo.sh --config.total_steps=500`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh
.venv/bin/python launch/prepare_data.py --demo --output data/demo
.venv/bin/python launch/train.py --config configs/tokenizer.py:tiny --workdir runs/demo/tokenizer \
  --config.total_steps=2000 "$@"
.venv/bin/python launch/evaluate.py --workdir runs/demo/tokenizer
