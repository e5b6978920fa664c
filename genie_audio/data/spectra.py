"""Short-time spectra of waveforms as pure numpy: the periodic Hann window, |STFT| with centre padding, and the
pitch-class (chroma) folding of its bins. Shared by the metrics (`eval.audio_metrics`, `eval.pitch`) and the
editor's retrieval fill, which matches passages by the notes around them (`editing.retrieval`)."""

from __future__ import annotations

import numpy as np

A4_HZ, A4_MIDI = 440.0, 69


def hann_window(length: int) -> np.ndarray:
  """Periodic Hann window (the STFT convention: sums exactly to length / 2 and overlap-adds flat at hop w/4)."""
  n = np.arange(length)
  return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / length)


def stft_magnitude(x: np.ndarray, window: int, hop: int) -> np.ndarray:
  """|STFT| with a periodic Hann window of `window` samples (= n_fft) and centre padding.

  x: (..., T). Returns (..., 1 + T // hop, window // 2 + 1). The signal is reflect-padded by window // 2 on both
  sides so frame k is centred on sample k * hop (torch.stft(center=True) / librosa convention).
  """
  x = np.asarray(x, dtype=np.float64)
  if window < 2 or hop < 1:
    raise ValueError(f"need window >= 2 and hop >= 1, got window={window}, hop={hop}")
  if x.shape[-1] < 1:
    raise ValueError(f"empty signal, shape {x.shape}")
  pad = window // 2
  # Reflect needs at least 2 samples; a 1-sample signal falls back to zero padding.
  mode = "reflect" if x.shape[-1] > 1 else "constant"
  padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)], mode=mode)
  frames = np.lib.stride_tricks.sliding_window_view(padded, window, axis=-1)[..., ::hop, :]
  return np.abs(np.fft.rfft(frames * hann_window(window), axis=-1))


def chroma_matrix(sample_rate: int, n_fft: int, fmin: float, fmax: float) -> np.ndarray:
  """(12, n_fft // 2 + 1) 0/1 matrix: row c sums the bins in [fmin, fmax] whose nearest pitch class is c
  (equal temperament, A4 = 440 Hz; class 0 is C)."""
  freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
  inside = (freqs >= fmin) & (freqs <= fmax)
  midi = A4_MIDI + 12.0 * np.log2(np.where(inside, freqs, A4_HZ) / A4_HZ)
  classes = np.round(midi).astype(np.int64) % 12
  return ((classes[None, :] == np.arange(12)[:, None]) & inside[None, :]).astype(np.float64)


def moving_average(frames_TF: np.ndarray, width: int) -> np.ndarray:
  """Each frame replaced by the mean of the `width` frames centred on it (fewer at the ends); same shape."""
  frames_TF = np.asarray(frames_TF, np.float64)
  kernel = np.ones(width)
  sums = np.stack([np.convolve(column, kernel, mode="same") for column in frames_TF.T], axis=1)
  counts = np.convolve(np.ones(len(frames_TF)), kernel, mode="same")[:, None]
  return sums / counts


def frame_level_db(wave: np.ndarray, hop: int, window: int = 2048, floor_db: float = -80.0) -> np.ndarray:
  """(1 + T // hop,) RMS level of the Hann-windowed frame centred on sample k * hop, dB (full scale 0 dB),
  at least `floor_db`."""
  # Parseval: the one-sided spectrum holds half the frame's energy sum(x^2 w^2) * window.
  power = np.sum(stft_magnitude(wave, window, hop) ** 2, axis=-1) * 2.0 / (window * np.sum(hann_window(window) ** 2))
  return np.maximum(10.0 * np.log10(np.maximum(power, 1e-30)), floor_db)


def frame_chroma(wave: np.ndarray, hop: int, sample_rate: int, n_fft: int = 2048, fmin: float = 65.0,
                 fmax: float = 4000.0) -> np.ndarray:
  """(1 + T // hop, 12) pitch-class distribution of each frame (each row sums to 1, silence to 0): which notes
  sound around sample k * hop, whatever the level."""
  power = stft_magnitude(wave, n_fft, hop) ** 2 @ chroma_matrix(sample_rate, n_fft, fmin, fmax).T
  total = power.sum(-1, keepdims=True)
  return np.where(total > 1e-20, power / np.maximum(total, 1e-20), 0.0)
