"""Reconstruction evaluation helpers: fixed validation crops, and metrics averaged against the baselines.

Used by the tokenizer's periodic evaluation and by `launch/evaluate.py`; numbers are comparable across
steps and runs because the crops are chosen deterministically (no randomness, manifest order).
"""

from __future__ import annotations

import math
import os

import numpy as np

from genie_audio.data import manifest, pipelines
from genie_audio.eval import audio_metrics

METRICS = ("mel_distance", "si_sdr", "lsd")


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
  """`audio_metrics.evaluate_pair`, averaged over a batch (B, T) (or of one pair (T,))."""
  return {k: float(np.mean(v)) for k, v in audio_metrics.evaluate_pair(reference, estimate).items()}


def baseline_metrics(reference: np.ndarray, frame_rate: float) -> dict[str, dict[str, float]]:
  """{'silence': metrics, 'lowpass': metrics}: the trivial estimates a tokenizer must beat (low-pass at
  frame_rate / 2, what a latent that merely tracked the waveform could carry)."""
  return {name: {k: float(np.mean(v)) for k, v in metrics.items()}
          for name, metrics in audio_metrics.baseline_metrics(reference, frame_rate).items()}


def average(results: list[dict[str, float]]) -> dict[str, float]:
  """Key-wise mean of several metric dicts (e.g. one per file)."""
  return {k: float(np.mean([r[k] for r in results])) for k in results[0]}
