"""Figures: log-mel and linear-frequency spectrograms, an action timeline over a spectrogram, per-action
descriptor profiles and codebook usage over training.

Every function returns a matplotlib `Figure` built without pyplot: no global figure list to leak from in a
training process, and nothing shown by accident. Save one with `fig.savefig(path)`, log it with
`MetricWriter.media`, show it in a notebook with `IPython.display.display(fig)`.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from genie_audio.eval import audio_metrics

SAMPLE_RATE = 16000
MEL_WINDOW, MEL_HOP, MEL_BANDS = 1024, 256, 80
STFT_WINDOW, STFT_HOP, STFT_MAX_HZ = 1024, 256, 4000.0
FLOOR_DB = -80.0   # spectrogram colour range below each one's peak


def log_mel(wave: np.ndarray, sample_rate: int = SAMPLE_RATE, window: int = MEL_WINDOW, hop: int = MEL_HOP,
            n_mels: int = MEL_BANDS) -> np.ndarray:
  """(n_mels, frames) mel power in dB (Slaney mels, as the metrics use), clamped FLOOR_DB below its peak."""
  magnitude = audio_metrics.stft_magnitude(np.asarray(wave, np.float64), window, hop)
  mel = magnitude ** 2 @ audio_metrics.mel_filterbank(sample_rate, window, n_mels).T
  db = 10.0 * np.log10(np.maximum(mel, 1e-12))
  return np.maximum(db, db.max() + FLOOR_DB).T


def action_colors(num_actions: int) -> list:
  """One distinct colour per action id (tab10 / tab20; sampled hues beyond 20)."""
  if num_actions <= 10:
    return [colormaps["tab10"](i) for i in range(num_actions)]
  if num_actions <= 20:
    return [colormaps["tab20"](i) for i in range(num_actions)]
  return [colormaps["hsv"](i / num_actions) for i in range(num_actions)]


def _draw_spectrogram(ax, wave: np.ndarray, sample_rate: int, start_s: float = 0.0, n_mels: int = MEL_BANDS):
  db = log_mel(wave, sample_rate, n_mels=n_mels)
  end_s = start_s + len(wave) / sample_rate
  image = ax.imshow(db, origin="lower", aspect="auto", cmap="magma", extent=(start_s, end_s, 0, n_mels),
                    interpolation="nearest")
  edges = audio_metrics.mel_band_edges(sample_rate, n_mels)[1:-1]   # band centres
  ticks = [hz for hz in (100, 250, 500, 1000, 2000, 4000, 8000) if edges[0] <= hz <= edges[-1]]
  ax.set_yticks(np.interp(ticks, edges, np.arange(n_mels) + 0.5), [f"{hz:g}" for hz in ticks])
  ax.set_ylabel("Hz (mel scale)")
  return image


def spectrogram_figure(waves: Mapping[str, np.ndarray], sample_rate: int = SAMPLE_RATE, title: str = "",
                       panel_width: float = 5.0) -> Figure:
  """Log-mel spectrograms side by side (e.g. {"original": x, "reconstruction": y}), one colour scale each."""
  fig = Figure(figsize=(panel_width * len(waves), 3.2), layout="constrained")
  axes = np.atleast_1d(fig.subplots(1, len(waves), sharey=True))
  for ax, (name, wave) in zip(axes, waves.items()):
    image = _draw_spectrogram(ax, wave, sample_rate)
    ax.set_title(name)
    ax.set_xlabel("s")
  fig.colorbar(image, ax=list(axes), label="dB")
  if title:
    fig.suptitle(title)
  return fig


def log_stft(wave: np.ndarray, sample_rate: int = SAMPLE_RATE, window: int = STFT_WINDOW, hop: int = STFT_HOP,
             max_hz: float = STFT_MAX_HZ) -> np.ndarray:
  """(bins up to max_hz, frames) STFT magnitude in dB (not clamped; the figure sets the colour range)."""
  magnitude = audio_metrics.stft_magnitude(np.asarray(wave, np.float64), window, hop)
  keep = np.fft.rfftfreq(window, d=1.0 / sample_rate) <= max_hz
  return 20.0 * np.log10(np.maximum(magnitude[:, keep], 1e-6)).T


def stft_figure(waves: Mapping[str, np.ndarray], sample_rate: int = SAMPLE_RATE, max_hz: float = STFT_MAX_HZ,
                title: str = "", panel_width: float = 5.0) -> Figure:
  """Log-magnitude spectrograms on a linear 0..max_hz axis (1024-point STFT) side by side, on the first one's
  colour scale: the harmonics of a note are evenly spaced lines there, so lost or wrong pitch is visible."""
  spectra = {name: log_stft(wave, sample_rate, max_hz=max_hz) for name, wave in waves.items()}
  top = max(float(next(iter(spectra.values())).max()), -100.0)
  fig = Figure(figsize=(panel_width * len(waves), 3.2), layout="constrained")
  axes = np.atleast_1d(fig.subplots(1, len(waves), sharey=True))
  for ax, (name, db), wave in zip(axes, spectra.items(), waves.values()):
    image = ax.imshow(db, origin="lower", aspect="auto", cmap="magma", vmin=top + FLOOR_DB, vmax=top,
                      extent=(0.0, len(wave) / sample_rate, 0.0, db.shape[0] * sample_rate / STFT_WINDOW),
                      interpolation="nearest")
    ax.set_title(name)
    ax.set_xlabel("s")
  axes[0].set_ylabel("Hz")
  fig.colorbar(image, ax=list(axes), label="dB")
  if title:
    fig.suptitle(title)
  return fig


def timeline_figure(wave: np.ndarray, codes: Sequence[int], step_seconds: float, num_actions: int, *,
                    sample_rate: int = SAMPLE_RATE, start_s: float = 0.0, title: str = "",
                    width: float = 10.0) -> Figure:
  """The action timeline (a coloured strip, one segment per run of equal codes, labelled with the id) above
  the recording's log-mel spectrogram; step s spans start_s + [s, s + 1) * step_seconds."""
  codes = np.asarray(codes, np.int64)
  end_s = start_s + len(wave) / sample_rate
  fig = Figure(figsize=(width, 3.6), layout="constrained")
  strip, spec = fig.subplots(2, 1, sharex=True, height_ratios=(1, 5))
  colors = action_colors(num_actions)
  changes = np.flatnonzero(np.diff(codes)) + 1
  for first, last in zip(np.concatenate([[0], changes]), np.concatenate([changes, [len(codes)]])):
    t0, t1 = start_s + first * step_seconds, min(start_s + last * step_seconds, end_s)
    code = int(codes[first])
    strip.axvspan(t0, t1, color=colors[code % len(colors)], lw=0)
    if (t1 - t0) >= 0.015 * (end_s - start_s):  # label runs wide enough to hold a number
      strip.text((t0 + t1) / 2, 0.5, str(code), ha="center", va="center", fontsize=8)
  strip.set_yticks([])
  strip.set_ylabel("action", rotation=0, ha="right", va="center")
  _draw_spectrogram(spec, wave, sample_rate, start_s)
  for t in start_s + changes * step_seconds:
    spec.axvline(t, color="white", lw=0.4, alpha=0.35)
  spec.set_xlim(start_s, end_s)
  spec.set_xlabel("s")
  strip.set_title(title or f"action timeline ({len(codes)} steps of {step_seconds:g} s, {num_actions} actions)")
  return fig


def action_profile_figure(profile_AD: np.ndarray, error_AD: np.ndarray, counts_A: Sequence[int],
                          labels: Sequence[str], columns: int = 4) -> Figure:
  """One panel per action: each descriptor's mean over the action's steps in standard deviations from the
  mean over all steps (bars), with a 95% interval of that mean (whiskers)."""
  A, D = profile_AD.shape
  columns = min(columns, A)
  rows = -(-A // columns)
  fig = Figure(figsize=(3.2 * columns, 0.35 * D * rows + 0.8 * rows), layout="constrained")
  axes = np.asarray(fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)).reshape(-1)
  colors = action_colors(A)
  limit = float(np.nanmax(np.abs(profile_AD) + np.nan_to_num(error_AD))) if np.isfinite(profile_AD).any() else 1.0
  total = max(int(np.sum(counts_A)), 1)
  for a, ax in enumerate(axes):
    if a >= A:
      ax.set_visible(False)
      continue
    if counts_A[a] == 0:
      ax.text(0.5, 0.5, "never used", transform=ax.transAxes, ha="center", va="center")
    else:
      ax.barh(np.arange(D), np.nan_to_num(profile_AD[a]), xerr=np.nan_to_num(error_AD[a]),
              color=colors[a], ecolor="0.3", capsize=2)
    ax.axvline(0, color="0.5", lw=0.6)
    ax.set_title(f"action {a}: {counts_A[a]} steps ({100 * counts_A[a] / total:.0f}%)", fontsize=9)
    ax.set_yticks(np.arange(D), labels, fontsize=8)
    ax.set_xlim(-max(limit, 0.5) * 1.05, max(limit, 0.5) * 1.05)
  axes[0].invert_yaxis()  # shared by all panels: the first descriptor on top
  for ax in axes[-columns:]:
    ax.set_xlabel("std. dev. from the mean step", fontsize=8)
  return fig


def codebook_usage_figure(metrics: Mapping[int, Mapping[str, float]],
                          names: Sequence[str] = ("train/codebook_usage", "eval/lam/codebook_usage",
                                                  "train/perplexity", "eval/lam/perplexity")) -> Figure:
  """Codebook usage (share of codes used) and perplexity against the training step, from `read_metrics`."""
  fig = Figure(figsize=(9, 3), layout="constrained")
  usage, perplexity = fig.subplots(1, 2)
  for name in names:
    steps = sorted(s for s, m in metrics.items() if name in m)
    if steps:
      ax = perplexity if name.endswith("perplexity") else usage
      ax.plot(steps, [metrics[s][name] for s in steps], marker="o" if len(steps) < 30 else None, ms=3,
              label=name)
  for ax, label in ((usage, "share of codes used"), (perplexity, "perplexity")):
    ax.set_xlabel("training step")
    ax.set_ylabel(label)
    if ax.lines:
      ax.legend(fontsize=8)
    else:
      ax.text(0.5, 0.5, "not logged", transform=ax.transAxes, ha="center")
  return fig
