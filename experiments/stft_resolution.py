"""Can the notes survive as shaped noise? The chroma ceiling of a rendering that keeps only per-bin power (issue 25).

    python experiments/stft_resolution.py --hops 200,400,500,1000 --frame_rate 8 [--ood runs/ood]

The tokenizer's envelope skip path (`models/envelope.py`, with `fine`) renders Gaussian noise with a variance per
STFT bin, predicted from one latent frame. Even with a perfect latent, that keeps only each bin's power over the
latent frame, and the notes survive only where the bins resolve semitones. For each flow hop (window 4 hops, as
`models/spectral.py`), every recording's STFT is replaced by noise with the recording's own power per bin, averaged
over the STFT frames of one latent frame (hop * frames = sample rate / frame_rate), then inverted and scored
against the original. Beside it the envelope vocoder at the same frame rate (pitchless by design) and silence
(a faint noise). Scored on a dataset's validation split and on a folder of music unlike it.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from benchmarks import common  # noqa: E402
from experiments import music_sets  # noqa: E402
from genie_audio.data import manifest  # noqa: E402
from genie_audio.eval import audio_metrics, baselines, pitch  # noqa: E402
from genie_audio.models import spectral  # noqa: E402

_HOPS = flags.DEFINE_list("hops", ["200", "400", "500", "1000"], "STFT hops (samples) of the flow to score.")
_RATE = flags.DEFINE_float("frame_rate", 8.0, "Latent frames per second: the power is held for one latent frame.")
_DATA = flags.DEFINE_string("dataset_dir", "data/demo", "Prepared dataset (its validation split is scored).")
_OOD = flags.DEFINE_string("ood", music_sets.UNLIKE_FOLDER, "Folder of music unlike the corpus ('' to skip; "
                           "the default is written on first use).")
_SECONDS = flags.DEFINE_float("max_seconds", 30.0, "Seconds read from each recording.")
_BANDS = flags.DEFINE_integer("vocoder_bands", 64, "Bands of the envelope vocoder baseline.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the noise's phases.")


def main(argv):
  del argv
  samples_per_latent = manifest.SAMPLE_RATE / _RATE.value
  hops = [int(h) for h in _HOPS.value]
  for hop in hops:
    if samples_per_latent % hop:
      raise ValueError(f"--hops: {hop} does not divide one latent frame ({samples_per_latent:g} samples at "
                       f"--frame_rate {_RATE.value:g})")
  rng = np.random.default_rng(_SEED.value)
  frames = {hop: int(samples_per_latent // hop) for hop in hops}
  rows = []
  for name, waves in music_sets.scored_sets(_DATA.value, _OOD.value, _SECONDS.value).items():
    estimates = {f"held power, hop {hop} (bins of {manifest.SAMPLE_RATE / spectral.n_fft(hop):.0f} Hz)":
                 [baselines.held_power_noise(w, hop, frames[hop], rng) for w in waves] for hop in hops}
    estimates[f"envelope vocoder, {_BANDS.value} bands"] = [
        baselines.envelope_vocoder(w, _RATE.value, _BANDS.value) for w in waves]
    estimates["silence"] = [audio_metrics.silence_baseline(w) for w in waves]
    for estimate, outs in estimates.items():
      rows.append(dict(test=name, recordings=len(waves), estimate=estimate,
                       chroma_similarity=float(np.mean([pitch.chroma_similarity(w, o) for w, o in zip(waves, outs)]))))
  common.print_table(rows, f"chroma similarity of noise holding each bin's power for one latent frame "
                           f"({_RATE.value:g} frames/s)")


if __name__ == "__main__":
  app.run(main)
