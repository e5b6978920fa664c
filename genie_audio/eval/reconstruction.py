"""Reconstruction evaluation helpers: fixed validation crops, and metrics averaged against the baselines.

Used by the tokenizer's periodic evaluation and by `launch/evaluate.py`; numbers are comparable across
steps and runs because the crops are chosen deterministically (no randomness, manifest order). Metrics: the
three of `audio_metrics`, its per-band LSD (lsd_0k_1k ... lsd_4k_8k) and line correlation (lines_0k_1k ...
lines_4k_8k: are the partials there), plus `pitch.chroma_similarity` and
`pitch.chroma_correlation`, which notice wrong notes.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np

from genie_audio.data import manifest, pipelines
from genie_audio.eval import audio_metrics, baselines, pitch

METRICS = ("mel_distance", "si_sdr", "lsd", "chroma_similarity", "chroma_correlation",
           *(audio_metrics.band_name(*band) for band in audio_metrics.LSD_BANDS),
           *(audio_metrics.band_name(*band, "lines") for band in audio_metrics.LINE_BANDS))


def fixed_crops(dataset_dir: str | os.PathLike, split: str, num_clips: int, clip_frames: int,
                align: int = 1) -> np.ndarray:
  """(num_clips, clip_frames) crops: round-robin over the split's recordings, at evenly spaced positions
  within each (starts rounded down to multiples of `align`)."""
  recordings = [r for r in manifest.load_split(dataset_dir, split) if r.frames >= clip_frames]
  if not recordings:
    raise ValueError(f"{dataset_dir}: no {split} recording is at least {clip_frames} samples long; "
                     f"use a shorter evaluation clip")
  per_recording = math.ceil(num_clips / len(recordings))
  crops = []
  for i in range(num_clips):
    recording, k = recordings[i % len(recordings)], i // len(recordings)
    start = (recording.frames - clip_frames) * (2 * k + 1) // (2 * per_recording)  # centre of k-th slot
    start -= start % align
    crops.append(pipelines.read_wave(str(manifest.shard_path(dataset_dir, recording)), start, clip_frames))
  return np.stack(crops)


def mean_metrics(reference: np.ndarray, estimate: np.ndarray) -> dict[str, float]:
  """`audio_metrics.evaluate_pair` and the two chroma scores, averaged over a batch (B, T) (or of one pair (T,)).

  A wholly silent reference clip has no chroma score (NaN) and is left out of those means."""
  metrics = dict(audio_metrics.evaluate_pair(reference, estimate),
                 chroma_similarity=pitch.chroma_similarity(reference, estimate),
                 chroma_correlation=pitch.chroma_correlation(reference, estimate))
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN chroma (silent references) averages to NaN
    return {k: float(np.nanmean(metrics[k])) for k in METRICS}


def baseline_metrics(reference: np.ndarray, frame_rate: float, latent_dim: int) -> dict[str, dict[str, float]]:
  """`mean_metrics` of each estimate of `baselines.baseline_estimates` for a latent of `latent_dim` channels at
  `frame_rate`: silence, lowpass, envelope_vocoder and opus (left out when opus-tools are missing; see
  `baseline_notes`)."""
  estimates = baselines.baseline_estimates(reference, frame_rate, latent_dim)
  return {name: mean_metrics(reference, estimate) for name, estimate in estimates.items() if estimate is not None}


def baseline_notes(frame_rate: float, latent_dim: int) -> list[str]:
  """Why a baseline of `baseline_metrics` is missing or off its nominal setting (`baselines.baseline_notes`)."""
  return baselines.baseline_notes(frame_rate, latent_dim)


def average(results: list[dict[str, float]]) -> dict[str, float]:
  """Key-wise mean of several metric dicts (e.g. one per file)."""
  return {k: float(np.mean([r[k] for r in results])) for k in results[0]}
