#!/usr/bin/env bash
# Reproduces the CPU tokenizer measurements: demo corpus, tiny training (3000 steps), eval curve,
# evaluation with a sampler-steps sweep, and recordings unlike the corpus (synthetic piano chords, an organ
# hymn, piano arpeggios with strings, and espeak-ng speech; each file's numbers sit in the JSON's per_file).
# Needs `apt-get install -y espeak-ng` for the speech file (skipped without it).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
RUN=${RUN:-runs/tok_tiny}
$PY launch/prepare_data.py --demo --output data/demo
$PY launch/train.py --config configs/tokenizer.py:tiny --workdir "$RUN" --config.total_steps=3000 "$@"
# Eval curve: mel distance of the reconstructions against the two baselines.
$PY - "$RUN" <<'PYEOF'
import sys
sys.path.insert(0, ".")
from genie_audio.training.metrics import read_metrics
for step, m in sorted(read_metrics(sys.argv[1]).items()):
  if "eval/recon/mel_distance" in m:
    print(step, *(round(m[f"eval/{k}/mel_distance"], 3) for k in ("recon", "baseline_silence", "baseline_lowpass")))
PYEOF
for steps in 1 4 16 50; do
  $PY launch/evaluate.py --workdir "$RUN" --steps $steps | tail -1
done
mkdir -p "$RUN/ood"
$PY -c "import sys, soundfile as sf; sys.path.insert(0, '.'); from genie_audio.testing import ood_audio; \
sf.write('$RUN/ood/piano_chords.wav', ood_audio.piano_chords(), 44100); \
[ood_audio.mma_piece(n, '$RUN/ood/' + n + '.wav', '$RUN/ood_work/' + n) for n in ood_audio.PIECES]"
if command -v espeak-ng > /dev/null; then
  espeak-ng -v en-us -s 150 -w "$RUN/ood/speech.wav" "The quick brown fox jumps over the lazy dog. \
Genie audio learns latent actions from recorded music, and this sentence is speech, which it has never heard."
fi
$PY launch/evaluate.py --workdir "$RUN" --audio "$RUN/ood" --steps 16 | tail -1
$PY launch/reconstruct.py --workdir "$RUN" --input "$RUN/ood/piano_chords.wav" --output "$RUN/piano_chords.recon.wav"
