"""What a continuous latent costs to transmit: a uniform scalar quantiser per channel, and the rate an entropy
coder with a fixed per-channel model of the training latents would need for it, in numpy.

A tokenizer's latent is continuous, so "8 bits a value" is a convention, not its rate. Quantised with a step of
`step` times each channel's standard deviation, the symbols a recording needs are what an arithmetic coder sends;
with a static model per channel (each symbol's frequency in the training latents) that costs the cross-entropy of
the recording's symbols under those frequencies. A coder that used context (earlier frames, other channels) would
need less: this is the rate of the simplest coder that uses no more than the training data.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

SMOOTHING = 0.5   # added to every symbol's count (Krichevsky-Trofimov): unseen symbols still cost finite bits


def quantise(z_TC: np.ndarray, step_C: np.ndarray) -> np.ndarray:
  """Integer symbols round(z / step) of latents (T, C), per channel step (C,) > 0."""
  z_TC, step_C = np.asarray(z_TC, np.float64), np.asarray(step_C, np.float64)
  if z_TC.ndim != 2 or step_C.shape != (z_TC.shape[1],):
    raise ValueError(f"quantise: latents (T, C) and steps (C,), got {z_TC.shape} and {step_C.shape}")
  if not np.all(step_C > 0):
    raise ValueError(f"quantise: every step must be > 0, got min {float(step_C.min()):g}")
  return np.rint(z_TC / step_C).astype(np.int64)


def dequantise(symbols_TC: np.ndarray, step_C: np.ndarray) -> np.ndarray:
  """The latents the symbols stand for, float32 (T, C)."""
  return (np.asarray(symbols_TC, np.float64) * np.asarray(step_C, np.float64)).astype(np.float32)


class ChannelModel:
  """Per-channel symbol frequencies of training latents (the coder's fixed model)."""

  def __init__(self, training_symbols: Iterable[np.ndarray]):
    stacked = np.concatenate([np.asarray(s, np.int64) for s in training_symbols], axis=0)
    if stacked.ndim != 2 or not stacked.size:
      raise ValueError(f"ChannelModel: expected symbol arrays (T, C) with frames, got {stacked.shape}")
    self.low = stacked.min(axis=0)
    self.counts = [np.bincount(column - low) for column, low in zip(stacked.T, self.low)]

  def bits(self, symbols_TC: np.ndarray) -> float:
    """Total bits to code `symbols_TC` (T, C): each symbol's -log2 of its smoothed training frequency. A symbol
    outside a channel's training range gets the smoothing count alone, over an alphabet that includes it."""
    symbols_TC = np.asarray(symbols_TC, np.int64)
    if symbols_TC.ndim != 2 or symbols_TC.shape[1] != len(self.counts):
      raise ValueError(f"ChannelModel.bits: expected (T, {len(self.counts)}) symbols, got {symbols_TC.shape}")
    total = 0.0
    for column, low, counts in zip(symbols_TC.T, self.low, self.counts):
      lo, hi = min(int(column.min()), int(low)), max(int(column.max()), int(low) + len(counts) - 1)
      smoothed = np.full(hi - lo + 1, SMOOTHING)
      smoothed[low - lo:low - lo + len(counts)] += counts
      total += float(-np.log2(smoothed[column - lo] / smoothed.sum()).sum())
    return total
