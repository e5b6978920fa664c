"""Does the harmonic extension put the partials back above ~2 kHz? (issue 25)

    python experiments/harmonic_extension.py --workdir runs/demo/tokenizer [--crossovers 1500,2000,2500]
        [--band_hz 125,250] [--ood runs/ood] [--figure docs/tokenizer_lines]

Every recording is decoded once by a tokenizer run (`codec.reconstruct`, as `launch/evaluate.py`), then
post-processed by the extension at each crossover and band width (`eval/harmonic_extension.py`: each octave
above the crossover re-written from the octave below, transposed up an octave, at the decode's own level per
band). Scored on the run's validation recordings and on music unlike the corpus: chroma, mel distance, LSD per
band and the line correlation per band (`audio_metrics.band_line_correlations`: are the original's partials where
the decode has them; noise under the right envelope scores ~0).

Baselines: the envelope vocoder of 32 bands and Opus at 6 and 12.8 kbit/s; and two oracles that know the
original, to say what the extension can reach: the original below the crossover with noise at its own band levels
above (a perfect envelope path, no lines), and the original below the crossover with the extension above (the
extension fed perfect partials below and perfect band levels).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from benchmarks import common  # noqa: E402
from experiments import music_sets  # noqa: E402
from genie_audio import codec, tasks  # noqa: E402
from genie_audio.eval import audio_metrics, baselines, harmonic_extension, plots, reconstruction  # noqa: E402
from genie_audio.models import spectral  # noqa: E402
from genie_audio.runs import run  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "A tokenizer run with flow_space 'stft'.", required=True)
_CROSSOVERS = flags.DEFINE_list("crossovers", ["1500", "2000", "2500"], "Crossover frequencies (Hz).")
_BAND_HZ = flags.DEFINE_list("band_hz", ["125", "250"], "Widths of the bands whose level is kept (Hz).")
_OOD = flags.DEFINE_string("ood", music_sets.UNLIKE_FOLDER, "Folder of music unlike the corpus ('' to skip; "
                           "the default is written on first use).")
_SECONDS = flags.DEFINE_float("max_seconds", 20.0, "Seconds read from each recording.")
_STEPS = flags.DEFINE_integer("sampler_steps", 16, "Euler steps of each decode.")
_FIGURE = flags.DEFINE_string("figure", "", "Also write spectrograms (original, decode, decode with the first "
                              "crossover's extension) of 4 s of the first recording of each set to PREFIX_SET.png.")
_FIGURE_START = flags.DEFINE_float("figure_start", 2.0, "Start of the figures' stretch (seconds).")
_OPUS_KBPS = flags.DEFINE_list("opus_kbps", ["6", "12.8"], "Opus baselines (kbit/s; 12.8 is the 32-channel "
                               "latent's nominal rate, 6 Opus's lowest).")
_VOCODER_BANDS = 32

SCORES = ("chroma_similarity", "mel_distance", *(audio_metrics.band_name(*b) for b in audio_metrics.LSD_BANDS[1:]),
          *(audio_metrics.band_name(*b, "lines") for b in audio_metrics.LINE_BANDS))


def on_whole_hops(wave: np.ndarray, hop: int, transform) -> np.ndarray:
  """`transform` ((1, n) -> (1, n) samples) applied to the whole hops of `wave`; the samples after them kept."""
  n = len(wave) // hop * hop
  return np.concatenate([transform(wave[None, :n])[0], wave[n:]])


def extended(wave: np.ndarray, hop: int, crossover_hz: float, band_hz: float) -> np.ndarray:
  """`wave` with the extension above the crossover."""
  return on_whole_hops(wave, hop, lambda x: harmonic_extension.extend_wave(x, crossover_hz, band_hz, hop))


def noise_above(wave: np.ndarray, hop: int, crossover_hz: float, band_hz: float, seed: int = 0) -> np.ndarray:
  """`wave` below the crossover; above it, noise at its own level per band (a perfect envelope, no lines)."""
  def transform(x: np.ndarray) -> np.ndarray:
    spec = spectral.stft(jnp.asarray(x, jnp.float32), hop)
    k1, k2 = jax.random.split(jax.random.key(seed))
    drawn = jax.random.normal(k1, spec.shape) + 1j * jax.random.normal(k2, spec.shape)
    out = harmonic_extension.at_band_power(drawn, spec, harmonic_extension.bin_at(crossover_hz, hop),
                                           max(1, harmonic_extension.bin_at(band_hz, hop)))
    return np.asarray(spectral.istft(out, hop))
  return on_whole_hops(wave, hop, transform)


def write_figure(path: str, wave: np.ndarray, decoded: np.ndarray, hop: int, crossover_hz: float,
                 band_hz: float) -> None:
  stretch = slice(int(_FIGURE_START.value * codec.SAMPLE_RATE), int((_FIGURE_START.value + 4.0) * codec.SAMPLE_RATE))
  panels = {"original": wave[stretch], "decoded": decoded[stretch],
            f"decoded, extension above {crossover_hz:g} Hz": extended(decoded[stretch], hop, crossover_hz, band_hz)}
  plots.stft_figure(panels).savefig(path + ".tmp.png", dpi=70)
  os.replace(path + ".tmp.png", path)


def scores(references: list[np.ndarray], estimates: list[np.ndarray]) -> dict[str, float]:
  mean = reconstruction.average([reconstruction.mean_metrics(r, e) for r, e in zip(references, estimates)])
  return {k: mean[k] for k in SCORES}


def main(argv):
  del argv
  task = tasks.load(_WORKDIR.value)
  model = task.model
  if model.flow_space != "stft":
    raise ValueError(f"--workdir: {_WORKDIR.value} decodes waveform patches (flow_space {model.flow_space!r}); "
                     f"the extension works on STFT frames")
  params, ema, _ = run.load_train_params(_WORKDIR.value)
  params = ema if ema is not None else params
  crossovers = [float(c) for c in _CROSSOVERS.value]
  widths = [float(b) for b in _BAND_HZ.value]
  frame_rate = codec.SAMPLE_RATE / model.total_stride
  hop = model.stft_hop
  rows = []
  for name, waves in music_sets.scored_sets(task.config.data.dataset_dir, _OOD.value, _SECONDS.value).items():
    def row(estimate: str, outputs: list[np.ndarray]) -> None:
      rows.append(dict(test=name, estimate=estimate, **scores(waves, outputs)))

    decoded = [codec.reconstruct(model, params, w, num_steps=_STEPS.value) for w in waves]
    row("decoder as trained", decoded)
    if _FIGURE.value:
      write_figure(f"{_FIGURE.value}_{name}.png", waves[0], decoded[0], hop, crossovers[0], widths[0])
    for c in crossovers:
      for b in widths:
        row(f"decoder, extension above {c:g} Hz, bands {b:g} Hz", [extended(d, hop, c, b) for d in decoded])
    for c in crossovers:
      row(f"oracle: original, noise at its band levels above {c:g} Hz",
          [noise_above(w, hop, c, widths[0]) for w in waves])
      row(f"oracle: original, extension above {c:g} Hz", [extended(w, hop, c, widths[0]) for w in waves])
    row(f"envelope vocoder, {_VOCODER_BANDS} bands",
        [baselines.envelope_vocoder(w, frame_rate, _VOCODER_BANDS) for w in waves])
    for kbps in map(float, _OPUS_KBPS.value):
      try:
        row(f"Opus {kbps:g} kbit/s", [baselines.opus_roundtrip(w, kbps)[0] for w in waves])
      except baselines.CodecUnavailable as e:
        print(f"Opus left out: {e}", flush=True)
        break
  common.print_table(rows, f"{_WORKDIR.value}: decoded as trained, and post-processed by the harmonic extension "
                     f"({_STEPS.value} Euler steps, first {_SECONDS.value:g} s of each recording)")


if __name__ == "__main__":
  app.run(main)
