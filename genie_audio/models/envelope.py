"""A spectral envelope predicted from the latent, and the flow velocity it implies (the decoder's skip path).

Why: the 1D velocity net sees each STFT frame's 2F = 642 compressed coefficients through its first width (256
at CPU size). To remove the noise from every coefficient, all 642 must pass through that width; the net gives up
on the bins it cannot carry, and the sampler's unit noise stays there as a floor (issue 25: a flat noise floor
over clean piano, where the original is silent). If the coefficients of a frame and band were Gaussian with a
known variance s^2, the exact velocity would be linear in x_t, bin by bin (`flow.gaussian_velocity`). So a small
head predicts s^2 per frame and band from the latent alone (`SpectralEnvelope`, trained by the Gaussian
likelihood of the clean coefficients, `gaussian_nll`), that linear velocity carries every bin, and the U-Net
adds what a Gaussian envelope cannot say: which bins hold the partials. Sampled with the U-Net's output at zero,
the decoder is an envelope vocoder of its own latent: silent where the music is silent, hiss where it hisses.

Bands are spaced evenly on the mel scale from 0 Hz to Nyquist (narrow where the notes are), and the log-variance
is interpolated linearly between their centres, so neighbouring bins change smoothly. With `fine`, a per-bin
term is added (a linear read-out of the head's features, starting at zero): an envelope that can put the
variance on a note's partials and take it off the bins between them, which the smooth bands cannot.
With `templates`, the bands are multiplied per bin by a non-negative mixture of learnt spectra (activations @
templates, both kept positive): a chord's spectrum is the sum of its notes' spectra, which a read-out linear in
log power cannot say in one step. With `pitches`, a note is one number: the head reads out an activation per
pitch (a grid in log frequency) that raises the log-variance on that pitch's harmonic partials, with gains per
partial shared by every pitch (`harmonic_comb`), so a note learnt in one register is already shaped in another.
With `residual`, the convolutions after the first are pre-norm residual blocks.

Dimension keys: B batch, T latent frames, N flow frames, K bands, F frequency bins, C channels.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from genie_audio.models.axes import Conv, Dense

Dtype = Any

VARIANCE_FLOOR = 1e-4  # in the flow's units (unit noise): ~40 dB under the noise, far below any music
MIXTURE_FLOOR = 1e-4  # a bin no template covers sits 40 dB under its band, not at minus infinity
TEMPLATE_GAIN = 16.0
LOG_BOUND = 30.0  # the mixture's factors stay finite in float32 whatever the head outputs
LOWEST_PITCH_MIDI = 28   # E1, 41 Hz: the double bass's lowest string
PARTIALS = 16


def _mel(hz: np.ndarray) -> np.ndarray:
  return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def band_interpolation(num_bands: int, num_bins: int, nyquist_hz: float) -> np.ndarray:
  """(K, F) weights: per-band values @ weights = per-bin values, linear between band centres (evenly spaced on
  the mel scale, the outer ones at 0 Hz and Nyquist), each column summing to 1."""
  if num_bands < 2:
    raise ValueError(f"band_interpolation: need at least 2 bands, got {num_bands}")
  centres = _mel(np.linspace(0.0, nyquist_hz, num_bins))  # each bin's position on the mel scale
  band_mels = np.linspace(0.0, _mel(nyquist_hz), num_bands)
  weights = np.zeros((num_bands, num_bins), np.float32)
  upper = np.clip(np.searchsorted(band_mels, centres, side="right"), 1, num_bands - 1)
  lower = upper - 1
  frac = np.clip((centres - band_mels[lower]) / (band_mels[upper] - band_mels[lower]), 0.0, 1.0)
  weights[lower, np.arange(num_bins)] = 1.0 - frac
  weights[upper, np.arange(num_bins)] += frac
  return weights


def harmonic_comb(num_pitches: int, per_semitone: int, num_bins: int, nyquist_hz: float,
                  partials: int = PARTIALS) -> np.ndarray:
  """(partials, P, F) weights: [k, p, f] is how much bin f holds the k-th harmonic of pitch p, a triangle 1.5
  bins wide each side (a Hann window's main lobe is 2 bins each side). Pitches are spaced `per_semitone` to the
  semitone from LOWEST_PITCH_MIDI; partials above Nyquist are left out."""
  midi = LOWEST_PITCH_MIDI + np.arange(num_pitches) / per_semitone
  f0_hz = 440.0 * 2.0 ** ((midi - 69.0) / 12.0)
  bin_hz = nyquist_hz / (num_bins - 1)
  bins = np.arange(num_bins)
  comb = np.zeros((partials, num_pitches, num_bins), np.float32)
  for k in range(partials):
    position = (k + 1) * f0_hz[:, None] / bin_hz  # (P, 1) in bins
    comb[k] = np.maximum(0.0, 1.0 - np.abs(bins[None, :] - position) / 1.5) * (position < num_bins - 1)
  return comb


class SpectralEnvelope(nn.Module):
  """z (B, T, C) -> log-variance (B, N, 2F) of the flow's compressed coefficients (real parts, then imaginary
  parts, alike), N = T * frames_per_latent."""
  frames_per_latent: int
  num_bands: int
  num_bins: int
  nyquist_hz: float = 8000.0
  channels: int = 64
  depth: int = 2
  fine: bool = False
  templates: int = 0
  pitches: int = 0
  pitches_per_semitone: int = 3
  residual: bool = False
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, z_BTC: jax.Array) -> jax.Array:
    B, T, _ = z_BTC.shape
    h = z_BTC.astype(self.dtype)
    for i in range(self.depth):  # `depth` latent frames of context each side
      conv = Conv(self.channels, (3,), padding="SAME", dtype=self.dtype, param_dtype=jnp.float32, name=f"conv{i}")
      if self.residual and i:  # pre-norm residual blocks: a deep plain stack diverged (issue 25, ec256_d4)
        h = h + conv(nn.silu(nn.LayerNorm(dtype=self.dtype, name=f"norm{i}")(h)))
      else:
        h = nn.silu(conv(h))
    # Sub-frame resolution by a linear read-out of frames_per_latent x K values per latent frame.
    logvar_BTR = Dense(self.frames_per_latent * self.num_bands, dtype=self.dtype, param_dtype=jnp.float32,
                       name="bands")(h)
    logvar_BNK = logvar_BTR.astype(jnp.float32).reshape(B, T * self.frames_per_latent, self.num_bands)
    logvar_BNF = logvar_BNK @ band_interpolation(self.num_bands, self.num_bins, self.nyquist_hz)
    if self.fine:
      fine_BTR = Dense(self.frames_per_latent * self.num_bins, dtype=self.dtype, param_dtype=jnp.float32,
                       kernel_init=nn.initializers.zeros, name="fine")(h)
      logvar_BNF = logvar_BNF + fine_BTR.astype(jnp.float32).reshape(B, -1, self.num_bins)
    if self.templates:
      logvar_BNF = logvar_BNF + self._log_template_mixture(h)
    if self.pitches:
      logvar_BNF = logvar_BNF + self._harmonic_term(h)
    return jnp.concatenate([logvar_BNF, logvar_BNF], axis=-1)

  def _log_template_mixture(self, h_BTC: jax.Array) -> jax.Array:
    """log(activations @ templates) per flow frame and bin. Both are exponentials of what the head learns, so a
    bin's log power follows its templates directly (with softplus-positive ones a test tone's partial stood 8x
    above its neighbours where the `fine` term's stood 30x). 0 at initialisation (every template 1, activations
    summing to 1), so training starts from the bands alone, as the zero-initialised `fine` term does."""
    K = self.templates
    log_act_BTR = Dense(self.frames_per_latent * K, dtype=self.dtype, param_dtype=jnp.float32,
                        kernel_init=nn.initializers.zeros, bias_init=nn.initializers.constant(-np.log(K)),
                        name="activations")(h_BTC)
    # Templates start at 1 give or take a little noise, which tells them apart. Stored divided by TEMPLATE_GAIN:
    # a shared template's log power moves that many times faster than one of Adam's steps (as the `fine` term,
    # a sum over channels, does).
    raw_KF = self.param("templates", nn.initializers.normal(0.3 / TEMPLATE_GAIN), (K, self.num_bins))
    act_BNK = _bounded_exp(log_act_BTR.astype(jnp.float32)).reshape(h_BTC.shape[0], -1, K)
    return jnp.log(act_BNK @ _bounded_exp(TEMPLATE_GAIN * raw_KF) + MIXTURE_FLOOR)

  def _harmonic_term(self, h_BTC: jax.Array) -> jax.Array:
    """Per flow frame and bin, the log-variance the pitch activations add on their partials. Activations start
    at zero (training starts from the bands, as with `fine`); every partial's gain starts at 1."""
    P = self.pitches
    act_BTR = Dense(self.frames_per_latent * P, dtype=self.dtype, param_dtype=jnp.float32,
                    kernel_init=nn.initializers.zeros, name="pitch_activations")(h_BTC)
    gains_K = self.param("partial_gains", nn.initializers.ones, (PARTIALS,))
    comb_KPF = harmonic_comb(P, self.pitches_per_semitone, self.num_bins, self.nyquist_hz)
    comb_PF = jnp.einsum("k,kpf->pf", gains_K, comb_KPF)
    return act_BTR.astype(jnp.float32).reshape(h_BTC.shape[0], -1, P) @ comb_PF


def _bounded_exp(x: jax.Array) -> jax.Array:
  return jnp.exp(jnp.clip(x, -LOG_BOUND, LOG_BOUND))


def variance(logvar: jax.Array) -> jax.Array:
  """The envelope's variance, never below VARIANCE_FLOOR (so a silent band stays finite)."""
  return VARIANCE_FLOOR + jnp.exp(logvar)


def gaussian_nll(x: jax.Array, logvar: jax.Array) -> jax.Array:
  """Mean negative log-likelihood (up to a constant) of zero-mean Gaussian data x with variance(logvar): its
  minimum is where the variance equals the local mean of x^2, the envelope of the clean coefficients."""
  var = variance(logvar)
  return jnp.mean(jnp.log(var) + jnp.square(x) / var) / 2
