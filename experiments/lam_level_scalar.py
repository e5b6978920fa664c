"""Which per-step scalar of the latents tracks a step's loudness best (issue 11: the LAM decoder's level input).

    python experiments/lam_level_scalar.py --latents runs/demo/tokenizer/latents [--split validation]

For every action step (R latent frames) of the split's recordings: the step's loudness (descriptors.py,
`loudness_db`, on the prepared audio) and candidate scalars computed from its latent frames alone:
  norm          mean over the step's frames of the frame's L2 norm
  log_norm      log of that
  rms           mean over the frames of the frame's root-mean-square (the norm over sqrt(C))
  pc1           mean over the frames of the projection on the first principal component of the training
                split's latent frames (sign chosen to correlate positively)
  mean_norm     the L2 norm of the step's mean frame
  centred_norm  mean over the frames of the L2 norm of (frame - the training split's mean frame)
  frame_std     mean over the frames of the frame's std over channels
  linear        a ridge read-out of loudness from the step's mean latent, fitted on the training split
                (an upper bound: not one fixed scalar, but what a learnt projection could reach)
Prints each scalar's Pearson and Spearman correlation with the step loudness on the split (non-silent steps).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from benchmarks.common import print_table  # noqa: E402
from genie_audio.data import latents as latent_store  # noqa: E402
from genie_audio.data import manifest, pipelines  # noqa: E402
from genie_audio.data.manifest import SAMPLE_RATE  # noqa: E402
from genie_audio.eval import descriptors  # noqa: E402

_LATENTS = flags.DEFINE_string("latents", "runs/demo/tokenizer/latents", "Encoded latent folder.")
_SPLIT = flags.DEFINE_string("split", "validation", "Split whose steps are scored.")
_R = flags.DEFINE_integer("frames_per_action", 10, "Latent frames per action step.")
_SILENT_DB = -60.0   # steps quieter than this are left out (their loudness is the floor, not the music)


def split_steps(latent_dir: str, split: str, R: int) -> tuple[np.ndarray, np.ndarray]:
  """(step latents (N, R, C), step loudness dB (N,)) of every whole step of the split's recordings."""
  meta = latent_store.read_meta(latent_dir)
  stride = int(round(SAMPLE_RATE / meta["frame_rate"]))
  audio = {Path(r.shard).stem: r for r in manifest.read_manifest(meta["dataset_dir"])}
  steps, loudness = [], []
  for entry in latent_store.load_split(latent_dir, split):
    recording = audio[Path(entry.shard).stem]
    S = entry.frames // R
    z_TC = pipelines.read_latent(str(Path(latent_dir) / entry.shard), 0, S * R)
    wave = pipelines.read_wave(str(manifest.shard_path(meta["dataset_dir"], recording)), 0,
                               min(recording.frames, S * R * stride))
    values = descriptors.step_descriptors(descriptors.frame_features(wave), R * stride, S)
    steps.append(np.asarray(z_TC, np.float64).reshape(S, R, -1))
    loudness.append(values["loudness_db"])
  return np.concatenate(steps), np.concatenate(loudness)


def rank(x: np.ndarray) -> np.ndarray:
  return np.argsort(np.argsort(x)).astype(np.float64)


def main(argv):
  del argv
  R = _R.value
  train_z, train_db = split_steps(_LATENTS.value, "train", R)
  z, db = split_steps(_LATENTS.value, _SPLIT.value, R)
  frames_FC = train_z.reshape(-1, train_z.shape[-1])
  mean_C = frames_FC.mean(0)
  pc1_C = np.linalg.svd(frames_FC - mean_C, full_matrices=False)[2][0]
  keep_train = np.isfinite(train_db) & (train_db > _SILENT_DB)
  if np.corrcoef((train_z @ pc1_C).mean(1)[keep_train], train_db[keep_train])[0, 1] < 0:
    pc1_C = -pc1_C
  # Ridge read-out of the loudness from the step's mean latent (upper bound of any linear scalar).
  x_train = train_z.mean(1)[keep_train]
  x_mean, x_std = x_train.mean(0), x_train.std(0) + 1e-9
  A = (x_train - x_mean) / x_std
  w = np.linalg.solve(A.T @ A + 1.0 * np.eye(A.shape[1]), A.T @ (train_db[keep_train] - train_db[keep_train].mean()))
  C = z.shape[-1]
  norm_N = np.linalg.norm(z, axis=-1).mean(1)
  candidates = {
      "norm (mean frame L2 norm)": norm_N,
      "log_norm": np.log(norm_N),
      "mean_norm (L2 norm of the step's mean frame)": np.linalg.norm(z.mean(1), axis=-1),
      "pc1 (mean projection on training PC1)": (z @ pc1_C).mean(1),
      "centred_norm (mean L2 norm of frame - training mean)": np.linalg.norm(z - mean_C, axis=-1).mean(1),
      "frame_std (mean std over channels)": z.std(-1).mean(1),
      "linear (ridge read-out, upper bound)": ((z.mean(1) - x_mean) / x_std) @ w,
  }
  keep = np.isfinite(db) & (db > _SILENT_DB)
  rows = []
  for name, value in candidates.items():
    v, d = value[keep], db[keep]
    rows.append({"scalar": name, "pearson": float(np.corrcoef(v, d)[0, 1]),
                 "spearman": float(np.corrcoef(rank(v), rank(d))[0, 1]),
                 "r2 (linear fit)": float(np.corrcoef(v, d)[0, 1] ** 2)})
  print_table(rows, title=f"Step loudness vs latent scalars: {_SPLIT.value} split of {_LATENTS.value}, "
                          f"{int(keep.sum())} steps above {_SILENT_DB:g} dBFS of {len(db)} (C={C}, R={R})")


if __name__ == "__main__":
  app.run(main)
