"""Does a tokenizer's latent carry pitch? A linear read-out of chroma from the latent frames (issue 10).

    python experiments/latent_probe.py --workdirs runs/ablation/wave_wave,runs/ablation/stft_stft \
        [--ood runs/ood]

For each run: encode the demo corpus (train split to fit, validation split and the out-of-corpus pieces to
test), compute the 12-bin chroma of the audio at the latent's frame rate, and fit a ridge regression from the
latent (each frame with `context` frames either side) to the L2-normalised chroma. The score is the mean
cosine similarity of predicted and true chroma on the test frames (non-silent frames only). Two references
on the same frames: the envelope vocoder's features (log band energies, the same number of values per
second as the latent; pitchless by construction) and the mean chroma (a constant guess).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from benchmarks import common  # noqa: E402
from experiments import music_sets  # noqa: E402
from genie_audio import codec, tasks  # noqa: E402
from genie_audio.data import manifest  # noqa: E402
from genie_audio.eval import audio_metrics, baselines, pitch  # noqa: E402
from genie_audio.runs import run  # noqa: E402

_WORKDIRS = flags.DEFINE_list("workdirs", None, "Tokenizer runs to probe.", required=True)
_OOD = flags.DEFINE_string("ood", music_sets.UNLIKE_FOLDER, "Folder of out-of-corpus audio ('' to skip; the "
                           "default is written on first use).")
_SECONDS = flags.DEFINE_float("max_seconds", 60.0, "Seconds read from each recording.")
_CONTEXT = flags.DEFINE_integer("context", 2, "Latent frames either side stacked into one feature.")
_RIDGE = flags.DEFINE_float("ridge", 1.0, "Ridge penalty (features are standardised).")


def stack_context(x_TC: np.ndarray, context: int) -> np.ndarray:
  """(T, C) -> (T, (2 context + 1) C): each frame with its neighbours (edges repeated)."""
  padded = np.pad(x_TC, ((context, context), (0, 0)), mode="edge")
  return np.concatenate([padded[i:i + len(x_TC)] for i in range(2 * context + 1)], axis=1)


def chroma_targets(wave: np.ndarray, hop: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
  """(frames, 12) L2-normalised chroma at the latent's frame rate, and a mask of non-silent frames."""
  c = pitch.chroma(np.pad(wave, (0, max(0, frames * hop - len(wave)))), hop=hop)[:frames]
  energy = c.sum(axis=1)
  voiced = energy > energy.max() * 10 ** (-pitch.SILENCE_DB / 10)
  return c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12), voiced


def envelope_features(wave: np.ndarray, frame_rate: float, bands: int, frames: int) -> np.ndarray:
  """Log band energies per latent frame: what the envelope vocoder keeps of the audio."""
  hop, n_fft = baselines.vocoder_frame(manifest.SAMPLE_RATE, frame_rate)
  average, _ = baselines.band_matrices(manifest.SAMPLE_RATE, n_fft, bands)
  mag = audio_metrics.stft_magnitude(np.pad(wave, (0, max(0, frames * hop - len(wave)))), n_fft, hop)[:frames]
  return np.log(mag @ average.T + 1e-5)


def fit_ridge(x: np.ndarray, y: np.ndarray, penalty: float):
  mean, std = x.mean(0), x.std(0) + 1e-8
  xs = np.concatenate([(x - mean) / std, np.ones((len(x), 1))], axis=1)
  w = np.linalg.solve(xs.T @ xs + penalty * np.eye(xs.shape[1]), xs.T @ y)
  return lambda q: np.concatenate([(q - mean) / std, np.ones((len(q), 1))], axis=1) @ w


def cosine(pred: np.ndarray, target: np.ndarray, centre: bool = False) -> float:
  """Mean cosine of predicted and true chroma; `centre` removes each vector's mean over the 12 classes first
  (a flat, pitchless chroma then scores 0, as in `pitch.chroma_correlation`)."""
  pred = np.maximum(pred, 0.0)  # chroma is non-negative
  if centre:
    pred, target = pred - pred.mean(1, keepdims=True), target - target.mean(1, keepdims=True)
  num = np.sum(pred * target, axis=1)
  return float(np.mean(num / np.maximum(np.linalg.norm(pred, axis=1) * np.linalg.norm(target, axis=1), 1e-12)))


def collect(task, params, waves: list[np.ndarray]):
  """Stacked latent features, envelope features, chroma targets over the voiced frames of all `waves`."""
  model = task.model
  S, rate = model.total_stride, manifest.SAMPLE_RATE / model.total_stride
  lat, env, tgt = [], [], []
  for wave in waves:
    z = codec.encode_long(model, params, wave * codec.training_level_gain(wave)).latents
    target, voiced = chroma_targets(wave, S, len(z))
    lat.append(stack_context(z, _CONTEXT.value)[voiced])
    env.append(stack_context(envelope_features(wave, rate, model.latent_dim, len(z)), _CONTEXT.value)[voiced])
    tgt.append(target[voiced])
  return np.concatenate(lat), np.concatenate(env), np.concatenate(tgt)


def main(argv):
  del argv
  rows = []
  for workdir in _WORKDIRS.value:
    task = tasks.load(workdir)
    params, ema, _ = run.load_train_params(workdir)
    params = ema if ema is not None else params
    data = task.config.data.dataset_dir
    fit = collect(task, params, music_sets.split_waves(data, "train", _SECONDS.value))
    tests = {"validation": collect(task, params, music_sets.split_waves(data, "validation", _SECONDS.value))}
    if _OOD.value:
      tests["ood"] = collect(task, params, music_sets.unlike_waves(_OOD.value))
    latent = fit_ridge(fit[0], fit[2], _RIDGE.value)
    envelope = fit_ridge(fit[1], fit[2], _RIDGE.value)
    mean_chroma = fit[2].mean(0)
    for name, (lat, env, tgt) in tests.items():
      estimates = {"latent": latent(lat), "envelope": envelope(env),
                   "mean_chroma": np.broadcast_to(mean_chroma, tgt.shape)}
      row = dict(run=os.path.basename(workdir.rstrip("/")), test=name, frames=len(tgt))
      row.update({f"{k}_cos": cosine(v, tgt) for k, v in estimates.items()})
      row.update({f"{k}_corr": cosine(v, tgt, centre=True) for k, v in estimates.items()})
      rows.append(row)
  common.print_table(rows, "chroma read-out (cosine / centred cosine of predicted and true chroma; higher = more pitch)")


if __name__ == "__main__":
  app.run(main)
