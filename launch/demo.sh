#!/usr/bin/env bash
# The main job on the bundled demo corpus: set up, then the whole pipeline with tiny CPU configs
# (launch/pipeline.sh: prepare -> tokenizer -> encode -> LAM -> dynamics -> evaluations -> an example edit
# written to runs/demo/edit_example.wav). Extra arguments go to every training command.
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh
bash launch/pipeline.sh "$@"
