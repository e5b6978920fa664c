"""The diffusion tokenizer: DiTo (arXiv 2501.18593) in 1D with DC-AE residual autoencoding (arXiv 2410.10733).

Encoder: waveform (B, T) -> conv stem -> DownStages (residual conv blocks + strided conv + DC-AE shortcut), one
per stride -> projection to `latent_dim` -> DiTo's regulariser, a LayerNorm over the whole (T, C) latent of each
sample with no learned scale or bias (no KL). Non-causal 'SAME' convs and per-step norms only, so the raw latent
depends on a finite window (`encoder_receptive_field`) and long signals encode exactly in overlapping chunks.

Decoder (`velocity`): a velocity network on the noisy waveform cut into patches of `patch_size` samples. The
latent is projected and up-sampled to the patch rate (UpStages with DC-AE shortcuts) and concatenated to the
patches; a 1D U-Net (conv residual blocks FiLM-conditioned on the time embedding, x2 resampling between levels,
optional adaLN transformer blocks at the lowest rate) predicts the velocity of each patch.

Training (`__call__`) uses one flow-matching loss, see `genie_audio.diffusion.flow`:
    t = flow.sample_time(k_t, B); tau, t = flow.sample_sync(k_sync, t, prob=0.1)
    v_pred, aux = model.apply(variables, wave_BT, noise_BT, t, tau, rngs={"noise": k_z})
    loss = flow.flow_matching_loss(v_pred, aux["v_target"])

Dimension keys:
  B batch, T time (waveform samples or latent frames), N patches (decoder time), P samples per patch,
  C channels, E time-embedding dim.
"""

from __future__ import annotations

import math
from typing import Any

import einops
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genie_audio.diffusion import flow
from genie_audio.models import envelope, spectral
from genie_audio.models.axes import Conv, Dense, constrain_batch
from genie_audio.models.dcae import DownStage, UpStage, check_down, check_up, down_shortcut
from genie_audio.models.spectral_unet import SpectralVelocityNet
from genie_audio.models.layers import (ConvResBlock, RMSNorm, TimeEmbedding, TransformerBlock, layer_norm,
                                       remat_block)

Dtype = Any

_DILATIONS = (1, 3, 9)

def _factorize(n: int) -> tuple[int, ...]:
  """Splits an up-sampling factor into small stage factors, e.g. 8 -> (8,), 20 -> (5, 4), 50 -> (5, 5, 2)."""
  factors = []
  for f in (8, 5, 4, 3, 2):
    while n % f == 0 and n > 1:
      factors.append(f)
      n //= f
  if n > 1:
    factors.append(n)
  return tuple(factors)


def normalize_latent(z_BTC: jax.Array, mode: str = "TC") -> jax.Array:
  """DiTo's regulariser: parameter-free LayerNorm over (T, C) per sample ('TC') or over C per frame ('C')."""
  if mode not in ("TC", "C"):
    raise ValueError(f"latent_norm must be 'TC' or 'C', got {mode!r}")
  return layer_norm(z_BTC, axes=(1, 2) if mode == "TC" else -1)


class Encoder(nn.Module):
  """Waveform (B, T) -> raw latent (B, T / (stft_hop *) prod(strides), latent_dim), float32, before the
  regulariser. With `stft_hop` the stem is a projection of STFT log-magnitudes (one frame per hop), so pitch
  is laid out across channels from the first layer; without it, a conv over the samples."""
  strides: tuple[int, ...]
  channels: tuple[int, ...]  # stem width, then the output width of each stage
  depth: int
  kernel_size: int
  latent_dim: int
  stft_hop: int = 0  # 0: waveform input
  remat: str = "none"
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, wave_BT: jax.Array) -> jax.Array:
    if self.stft_hop:
      feats_BTF = spectral.log_magnitude(spectral.stft(wave_BT, self.stft_hop))
      x_BTC = Dense(self.channels[0], dtype=self.dtype, param_dtype=jnp.float32, name="stem")(
          feats_BTF.astype(self.dtype))
    else:
      x_BTC = Conv(self.channels[0], (self.kernel_size,), padding="SAME", dtype=self.dtype,
                   param_dtype=jnp.float32, name="stem")(wave_BT[..., None].astype(self.dtype))
    for i, r in enumerate(self.strides):
      x_BTC = DownStage(r, self.channels[i + 1], self.depth, self.kernel_size, _DILATIONS, remat=self.remat,
                        dtype=self.dtype, name=f"down{i}")(x_BTC)
    h = nn.silu(RMSNorm(dtype=self.dtype)(constrain_batch(x_BTC)))
    z_BTC = Dense(self.latent_dim, dtype=self.dtype, param_dtype=jnp.float32, name="to_latent")(h)
    if x_BTC.shape[-1] % self.latent_dim == 0:
      # DC-AE's output shortcut: average groups of channels down to the latent width.
      z_BTC = z_BTC + down_shortcut(x_BTC, 1, self.latent_dim, "to_latent")
    return z_BTC.astype(jnp.float32)


class VelocityNet(nn.Module):
  """(x_t (B, N, P), t (B,), z (B, T/stride, C)) -> velocity (B, N, P): a 1D U-Net at the frame rate.

  A frame is a patch of P waveform samples or one STFT frame of P = 2F compressed coefficients."""
  cond_factors: tuple[int, ...]  # latent rate -> patch rate
  cond_channels: int
  channels: tuple[int, ...]
  depth: int
  attn_depth: int
  heads: int
  kernel_size: int
  attention: str = "auto"
  remat: str = "none"
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BNP: jax.Array, t_B: jax.Array, z_BTC: jax.Array) -> jax.Array:
    x_BNP = x_BNP.astype(self.dtype)
    res_block, attn_block = remat_block(ConvResBlock, self.remat), remat_block(TransformerBlock, self.remat)
    c_BTC = Dense(self.cond_channels, dtype=self.dtype, param_dtype=jnp.float32, name="cond_in")(
        z_BTC.astype(self.dtype))
    for i, r in enumerate(self.cond_factors):
      c_BTC = UpStage(r, self.cond_channels, depth=1, kernel_size=3, remat=self.remat, dtype=self.dtype,
                      name=f"cond_up{i}")(c_BTC)
    c_BNC = constrain_batch(c_BTC)  # now at the patch rate
    h_BNC = Dense(self.channels[0], dtype=self.dtype, param_dtype=jnp.float32, name="in")(
        jnp.concatenate([x_BNP, c_BNC], axis=-1))
    temb_BE = TimeEmbedding(self.channels[-1], dtype=self.dtype)(t_B)

    skips = []
    for lvl, width in enumerate(self.channels):
      if lvl > 0:
        h_BNC = DownStage(2, width, depth=0, kernel_size=self.kernel_size, dtype=self.dtype,
                          name=f"unet_down{lvl}")(h_BNC)
      for j in range(self.depth):
        h_BNC = res_block(self.kernel_size, dtype=self.dtype, name=f"enc{lvl}_{j}")(h_BNC, temb_BE)
      skips.append(h_BNC)
    for j in range(self.attn_depth):
      h_BNC = attn_block(self.heads, attention=self.attention, dtype=self.dtype, name=f"mid_attn{j}")(h_BNC,
                                                                                                   temb_BE)
    for lvl in reversed(range(len(self.channels))):
      h_BNC = Dense(self.channels[lvl], dtype=self.dtype, param_dtype=jnp.float32, name=f"skip{lvl}")(
          jnp.concatenate([h_BNC, skips[lvl]], axis=-1))
      for j in range(self.depth):
        h_BNC = res_block(self.kernel_size, dtype=self.dtype, name=f"dec{lvl}_{j}")(h_BNC, temb_BE)
      if lvl > 0:
        h_BNC = UpStage(2, self.channels[lvl - 1], depth=0, kernel_size=self.kernel_size, dtype=self.dtype,
                        name=f"unet_up{lvl}")(h_BNC)

    h_BNC = nn.silu(RMSNorm(dtype=self.dtype)(h_BNC))
    # Zero-init output: the initial velocity is 0, so the first loss is E|v_target|^2 (no blow-up).
    v_BNP = Dense(x_BNP.shape[-1], dtype=self.dtype, param_dtype=jnp.float32,
                  kernel_init=nn.initializers.zeros, name="out")(h_BNC)
    return v_BNP.astype(jnp.float32)


class Tokenizer(nn.Module):
  """DiTo-style diffusion autoencoder for 16 kHz mono waveforms; see the module docstring.

  Fields (frozen hyperparameters):
    strides: per-stage down-sampling factors of the encoder; their product (times `stft_hop` with an STFT
      encoder input) is the hop, `total_stride` (320 -> 50 frames/s at 16 kHz).
    encoder_channels: len(strides) + 1 widths: the stem, then each stage's output. Stage i needs
      (encoder_channels[i] * strides[i]) % encoder_channels[i+1] == 0 (DC-AE shortcut).
    encoder_depth: residual conv blocks per stage (dilations cycle 1, 3, 9); encoder_kernel_size: their kernel.
    encoder_input: 'wave' (a conv stem over the samples) or 'stft' (STFT log-magnitudes at `stft_hop`).
    latent_dim: latent channels C. latent_norm: 'TC' (DiTo, per sample over the whole latent) or 'C'.
    flow_space: what the decoder's flow runs on: 'wave' (the waveform in patches of `patch_size` samples) or
      'stft' (compressed STFT frames at `stft_hop`, `models/spectral.py`, inverted after sampling).
    patch_size: waveform samples per decoder patch (flow_space 'wave'); must divide the hop.
    stft_hop: STFT hop in samples (window 4 hops) for the 'stft' encoder input and flow space.
    stft_power: magnitude compression of the 'stft' flow space (|X|^power e^(i phase)).
    decoder_kind: 'unet1d' (a U-Net over frames, every frame's coefficients as channels) or 'unet2d' (a U-Net
      over the STFT plane, `models/spectral_unet.py`; flow_space 'stft' only). decoder_freq_patch: neighbouring
      bins per position of that plane.
    decoder_channels: U-Net widths per level (x2 down-sampling between levels, DC-AE shortcuts, so each
      consecutive pair must satisfy w[i+1] | 2 * w[i]). decoder_depth: residual blocks per level and side.
    decoder_attn_depth, decoder_heads: adaLN transformer blocks at the lowest U-Net rate (0 = none).
    decoder_kernel_size: U-Net conv kernel. cond_channels: latent-conditioning width (None = decoder_channels[0]).
    s_min: flow-matching noise floor at t = 0. dtype: compute dtype (params stay float32).
    attention, remat: `layers.ATTENTION_KINDS` (the U-Net's attention kernel) and `layers.REMAT_POLICIES`
      (recompute the residual and transformer blocks of the encoder and the 1D decoder in the backward pass).
    flow_band_rms: () or the RMS of the flow's compressed STFT coefficients in equal-width frequency bands from
      0 Hz to Nyquist, measured on training audio (`tasks.tokenizer.measure_flow_band_rms`). Each band is then
      lifted to the loudest band's RMS (coefficients divided by rms / max(rms), linear between band centres):
      quiet upper bins sit as far above the flow's unit noise as the loud low ones (the lesson of wave_scale),
      and whatever noise the decoder leaves in a band comes out scaled down by that band's lift.
    velocity_skip: add the linear least-squares velocity, (t - (1 - t) s^2) / ((1 - t)^2 s^2 + t^2) x_t for data
      of RMS s (max(flow_band_rms), else 1), to the network's output, so the network predicts only a residual:
      removing the noise from every coefficient no longer has to pass through the U-Net's first width (642
      coefficients into 64 channels at CPU size).
    envelope_bands: 0, or a spectral envelope in this many mel-spaced bands predicted from the latent
      (`models/envelope.py`, flow_space 'stft'): the velocity of Gaussian data with that envelope is added to
      the network's output, so every bin is carried to the envelope's level (silence where the music is
      silent) and the network adds the partials. The head learns from `aux['envelope_nll']`, on a latent held
      fixed unless `envelope_trains_encoder` (issue 25: then the encoder spent its 16 channels on the envelope
      and the notes went, chroma 0.86 -> 0.73). envelope_fine: add a per-bin term to the bands (`models/envelope.py`).
    envelope_channels, envelope_depth: the envelope head's width (its per-bin read-out is linear in these
      features) and its number of convolutions over the latent frames. envelope_templates: 0, or multiply
      the bands per bin by a non-negative mixture of this many learnt spectra (`models/envelope.py`).
      envelope_pitches: 0, or a harmonic term on this many pitches, 3 to the semitone from 41 Hz.
      envelope_residual: the head's convolutions after the first are pre-norm residual blocks.
    wave_scale: the waveform enters the flow multiplied by this, and decoded samples are divided by it (the
      encoder sees the waveform as it is). Prepared audio sits at -23 LUFS, an RMS near 0.07, against unit
      noise: at scale 1 whatever noise the velocity net fails to remove stays as a white floor only ~20 dB
      under the music, loud in quiet passages and empty bands. Scaling the data to about unit variance (as
      image diffusion does) puts that floor ~20 dB lower.
  """
  strides: tuple[int, ...] = (2, 4, 5, 8)
  encoder_channels: tuple[int, ...] = (32, 64, 128, 320, 512)
  encoder_depth: int = 2
  encoder_kernel_size: int = 7
  encoder_input: str = "wave"
  latent_dim: int = 64
  latent_norm: str = "TC"
  flow_space: str = "wave"
  patch_size: int = 40
  stft_hop: int = 160
  stft_power: float = 0.5
  decoder_kind: str = "unet1d"
  decoder_freq_patch: int = 16
  decoder_channels: tuple[int, ...] = (256, 512, 512)
  decoder_depth: int = 2
  decoder_attn_depth: int = 4
  decoder_heads: int = 8
  decoder_kernel_size: int = 3
  cond_channels: int | None = None
  s_min: float = 0.0
  dtype: Dtype = jnp.float32
  wave_scale: float = 1.0
  flow_band_rms: tuple[float, ...] = ()
  velocity_skip: bool = False
  envelope_bands: int = 0
  envelope_trains_encoder: bool = False
  envelope_fine: bool = False
  envelope_channels: int = 64
  envelope_depth: int = 2
  envelope_templates: int = 0
  envelope_pitches: int = 0
  envelope_residual: bool = False
  attention: str = "auto"
  remat: str = "none"

  @property
  def total_stride(self) -> int:
    """Waveform samples per latent frame."""
    return math.prod(self.strides) * (self.stft_hop if self.encoder_input == "stft" else 1)

  @property
  def frame_hop(self) -> int:
    """Waveform samples per decoder frame (a patch, or an STFT frame)."""
    return self.stft_hop if self.flow_space == "stft" else self.patch_size

  def flow_shape(self, num_samples: int) -> tuple[int, ...]:
    """Shape of one example in the flow's space for a waveform of `num_samples` samples."""
    if self.flow_space == "stft":
      return (num_samples // self.stft_hop, 2 * spectral.num_bins(self.stft_hop))
    return (num_samples,)

  def to_flow(self, wave_BT: jax.Array) -> jax.Array:
    """(B, T) waveform -> (B, *flow_shape(T)) data in the flow's space."""
    x_BT = wave_BT.astype(jnp.float32) * self.wave_scale
    if self.flow_space == "stft":
      return spectral.compress(spectral.stft(x_BT, self.stft_hop), self.stft_power) / self._coefficient_rms()
    return x_BT

  def from_flow(self, x: jax.Array) -> jax.Array:
    """Inverse of `to_flow`: flow-space data (B, ...) -> (B, T) waveform."""
    if self.flow_space == "stft":
      x = spectral.istft(spectral.decompress(x * self._coefficient_rms(), self.stft_power), self.stft_hop)
    return x / self.wave_scale

  def _coefficient_rms(self) -> jax.Array | float:
    """(2F,) divisor of the compressed coefficients (real parts, then imaginary parts), from `flow_band_rms`:
    each band's RMS relative to the loudest band's (<= 1, so it lifts)."""
    if not self.flow_band_rms:
      return 1.0
    relative = np.asarray(self.flow_band_rms) / max(self.flow_band_rms)
    return jnp.asarray(spectral.coefficient_profile(relative, self.stft_hop), jnp.float32)

  def encoder_receptive_field(self) -> tuple[int, int]:
    """(left, right) samples beyond a frame's own `total_stride` samples that can affect its raw latent.

    Chunks that overlap by at least ceil(max(left, right) / total_stride) frames on each side reproduce the
    whole-signal raw latent exactly in their centres (chunk starts must be multiples of total_stride).
    """
    left = right = 0
    rate = 1  # samples per step at the current layer's input

    def conv(k, d, r):
      pad = (k - 1) * d  # 'SAME' at stride 1: floor(pad / 2) before, the rest after
      return pad // 2 * r, (pad - pad // 2) * r

    if self.encoder_input == "stft":
      # A frame's window reaches (n_fft - hop) / 2 samples beyond its own hop on each side; the stem is
      # per frame.
      left = right = (spectral.n_fft(self.stft_hop) - self.stft_hop) // 2
      rate = self.stft_hop
    else:
      left, right = conv(self.encoder_kernel_size, 1, rate)
    for s in self.strides:
      for j in range(self.encoder_depth):
        l, r_ = conv(self.encoder_kernel_size, _DILATIONS[j % len(_DILATIONS)], rate)
        left, right = left + 2 * l, right + 2 * r_  # two convs per block
      # Strided conv, kernel 2s, stride s, 'SAME' pads s // 2 before: reaches s // 2 steps before the block
      # and s - s // 2 after it.
      left, right = left + s // 2 * rate, right + (s - s // 2) * rate
      rate *= s
    return left, right

  def _check(self) -> None:
    if len(self.encoder_channels) != len(self.strides) + 1:
      raise ValueError(f"encoder_channels needs len(strides) + 1 = {len(self.strides) + 1} widths (stem, then "
                       f"one per stage); got {self.encoder_channels}")
    for field in ("encoder_input", "flow_space"):
      if getattr(self, field) not in ("wave", "stft"):
        raise ValueError(f"{field} must be 'wave' or 'stft', got {getattr(self, field)!r}")
    if self.decoder_kind not in ("unet1d", "unet2d"):
      raise ValueError(f"decoder_kind must be 'unet1d' or 'unet2d', got {self.decoder_kind!r}")
    if self.decoder_kind == "unet2d" and self.flow_space != "stft":
      raise ValueError("decoder_kind 'unet2d' needs flow_space 'stft' (it convolves over frequency bins)")
    if "stft" in (self.encoder_input, self.flow_space) and (self.stft_hop < 2 or self.stft_hop % 2):
      raise ValueError(f"stft_hop must be a positive even number of samples, got {self.stft_hop}")
    for i, r in enumerate(self.strides):
      check_down(self.encoder_channels[i], r, self.encoder_channels[i + 1], f"encoder stage {i} (stride {r})")
    if self.flow_band_rms and (self.flow_space != "stft" or min(self.flow_band_rms) <= 0):
      raise ValueError(f"flow_band_rms needs flow_space 'stft' and positive values; got flow_space "
                       f"{self.flow_space!r}, minimum {min(self.flow_band_rms)}")
    if self.envelope_bands and (self.flow_space != "stft" or self.velocity_skip):
      raise ValueError(f"envelope_bands needs flow_space 'stft' and no velocity_skip (both are a skip path); got "
                       f"flow_space {self.flow_space!r}, velocity_skip {self.velocity_skip}")
    if self.total_stride % self.frame_hop:
      name = "stft_hop" if self.flow_space == "stft" else "patch_size"
      raise ValueError(f"{name} {self.frame_hop} must divide the total stride {self.total_stride}")
    for i in range(1, len(self.decoder_channels)):
      a, b = self.decoder_channels[i - 1], self.decoder_channels[i]
      check_down(a, 2, b, f"decoder U-Net level {i}")
      check_up(b, 2, a, f"decoder U-Net level {i}")

  def setup(self):
    self._check()
    self.encoder = Encoder(self.strides, self.encoder_channels, self.encoder_depth, self.encoder_kernel_size,
                           self.latent_dim, stft_hop=self.stft_hop if self.encoder_input == "stft" else 0,
                           remat=self.remat, dtype=self.dtype)
    cond_factors = _factorize(self.total_stride // self.frame_hop)
    cond_channels = self.cond_channels or self.decoder_channels[0]
    if self.decoder_kind == "unet2d":
      self.decoder = SpectralVelocityNet(cond_factors, cond_channels, self.decoder_channels, self.decoder_depth,
                                         freq_patch=self.decoder_freq_patch, dtype=self.dtype)
    else:
      self.decoder = VelocityNet(cond_factors, cond_channels, self.decoder_channels, self.decoder_depth,
                                 self.decoder_attn_depth, self.decoder_heads, self.decoder_kernel_size,
                                 attention=self.attention, remat=self.remat, dtype=self.dtype)
    if self.envelope_bands:
      self.envelope = envelope.SpectralEnvelope(self.total_stride // self.frame_hop, self.envelope_bands,
                                                spectral.num_bins(self.stft_hop), fine=self.envelope_fine,
                                                channels=self.envelope_channels, depth=self.envelope_depth,
                                                templates=self.envelope_templates,
                                                pitches=self.envelope_pitches,
                                                residual=self.envelope_residual, dtype=self.dtype)

  def _check_length(self, T: int, what: str) -> None:
    if T % self.total_stride:
      raise ValueError(f"Tokenizer.{what}: waveform length {T} is not divisible by the total stride "
                       f"{self.total_stride} (strides {self.strides}); crop or pad it to a multiple")
    n_frames, down = T // self.frame_hop, 2 ** (len(self.decoder_channels) - 1)
    if what != "encode" and n_frames % down:
      raise ValueError(f"Tokenizer.{what}: {n_frames} decoder frames of {self.frame_hop} samples are not "
                       f"divisible by the U-Net's down-sampling {down}; use a waveform length multiple of "
                       f"{math.lcm(self.frame_hop * down, self.total_stride)}")

  def encode(self, wave_BT: jax.Array, normalize: bool = True) -> jax.Array:
    """(B, T) waveform -> (B, T / total_stride, latent_dim) float32 latent (normalised unless told not to)."""
    self._check_length(wave_BT.shape[1], "encode")
    z_BTC = self.encoder(wave_BT)
    return normalize_latent(z_BTC, self.latent_norm) if normalize else z_BTC

  def velocity(self, x_t: jax.Array, t_B: jax.Array, z_BTC: jax.Array) -> jax.Array:
    """Predicted flow velocity of the noisy flow-space data x_t (B, *flow_shape(T)) at times t_B (B,), given
    the latent z."""
    return self._velocity_and_envelope(x_t, t_B, z_BTC)[0]

  def _velocity_and_envelope(self, x_t: jax.Array, t_B: jax.Array, z_BTC: jax.Array
                             ) -> tuple[jax.Array, jax.Array | None]:
    """The velocity, and the envelope's log-variance (None without `envelope_bands`)."""
    T = x_t.shape[1] * self.frame_hop if self.flow_space == "stft" else x_t.shape[1]
    self._check_length(T, "velocity")
    if z_BTC.shape[1] * self.total_stride != T:
      raise ValueError(f"Tokenizer.velocity: latent has {z_BTC.shape[1]} frames but the flow data covers "
                       f"{T} samples (expected frames * {self.total_stride})")
    if self.flow_space == "stft":
      v = self.decoder(x_t, t_B, z_BTC)
    else:
      x_BNP = einops.rearrange(x_t, "B (N P) -> B N P", P=self.patch_size)
      v = einops.rearrange(self.decoder(x_BNP, t_B, z_BTC), "B N P -> B (N P)")
    x_t, logvar = x_t.astype(jnp.float32), None
    if self.velocity_skip:
      v = v + flow.gaussian_velocity(x_t, t_B, max(self.flow_band_rms, default=1.0) ** 2, self.s_min)
    if self.envelope_bands:
      logvar = self.envelope(z_BTC if self.envelope_trains_encoder else jax.lax.stop_gradient(z_BTC))
      # The head learns only from its likelihood (aux['envelope_nll']), not through the velocity.
      var = jax.lax.stop_gradient(envelope.variance(logvar))
      v = v + flow.gaussian_velocity(x_t, t_B, var, self.s_min)
    return v, logvar

  def __call__(self, wave_BT: jax.Array, noise: jax.Array, t_B: jax.Array, tau_B: jax.Array | None = None,
               latent_noise_BTC: jax.Array | None = None) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Training forward: returns (predicted velocity in the flow's space, aux).

    noise: unit Gaussian of shape (B, *flow_shape(T)). tau_B: DiTo noise-sync levels from `flow.sample_sync`
    (0 = not synced); None skips sync. The latent noise is `latent_noise_BTC` if given, else drawn from the
    'noise' rng stream (apply(..., rngs={'noise': key})).
    aux: z (clean normalised latent), z_cond (latent given to the decoder), x_t and v_target (in the flow's
    space), t, tau, x0_pred (the waveform estimate implied by the predicted velocity).
    """
    z_BTC = self.encode(wave_BT)
    z_cond_BTC = z_BTC
    if tau_B is not None:
      if latent_noise_BTC is None:
        latent_noise_BTC = jax.random.normal(self.make_rng("noise"), z_BTC.shape, jnp.float32)
      z_cond_BTC = flow.noise_latent(z_BTC, latent_noise_BTC, tau_B)
    x = self.to_flow(wave_BT)
    x_t = flow.interpolate(x, noise, t_B, self.s_min)
    v, logvar = self._velocity_and_envelope(x_t, t_B, z_cond_BTC)
    aux = {} if logvar is None else dict(envelope_nll=envelope.gaussian_nll(x, logvar))
    aux.update(z=z_BTC, z_cond=z_cond_BTC, x_t=x_t, v_target=flow.target_velocity(x, noise, self.s_min),
               t=t_B, tau=jnp.zeros_like(t_B) if tau_B is None else tau_B,
               x0_pred=self.from_flow(flow.predict_x0(x_t, v, t_B, self.s_min)))
    return v, aux


_REQUIRED = ("strides", "encoder_channels", "latent_dim", "patch_size", "decoder_channels", "decoder_depth")
_OPTIONAL = ("encoder_depth", "encoder_kernel_size", "encoder_input", "flow_space", "stft_hop", "stft_power",
             "decoder_kind", "decoder_freq_patch", "latent_norm", "decoder_attn_depth", "decoder_heads",
             "decoder_kernel_size", "cond_channels", "s_min", "dtype", "wave_scale", "flow_band_rms",
             "velocity_skip", "envelope_bands", "envelope_trains_encoder", "envelope_fine", "envelope_channels",
             "envelope_depth", "envelope_templates", "envelope_pitches", "envelope_residual",
             "attention", "remat")
_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def tokenizer_from_config(model: ml_collections.ConfigDict) -> Tokenizer:
  """Builds a Tokenizer from a run's `config.model` (sizes: `configs/models.py`).

  Required keys: strides, encoder_channels, latent_dim, patch_size, decoder_channels, decoder_depth.
  Optional keys (defaults are Tokenizer's fields): encoder_depth (2), encoder_kernel_size (7), latent_norm
  ('TC'), decoder_attn_depth (4), decoder_heads (8), decoder_kernel_size (3), cond_channels (None),
  s_min (0.0), dtype ('float32' | 'bfloat16', default 'float32'), wave_scale (1.0). Unknown keys raise (typos
  fail loudly).
  """
  keys = set(model.keys())
  missing = [k for k in _REQUIRED if k not in keys]
  unknown = sorted(keys - set(_REQUIRED) - set(_OPTIONAL))
  if missing or unknown:
    raise ValueError(f"config.model: missing keys {missing}, unknown keys {unknown}")
  kw = {k: model[k] for k in _REQUIRED + _OPTIONAL if k in keys}
  for k in ("strides", "encoder_channels", "decoder_channels"):
    kw[k] = tuple(int(v) for v in kw[k])
  if "flow_band_rms" in kw:
    kw["flow_band_rms"] = tuple(float(v) for v in kw["flow_band_rms"])
  kw["dtype"] = _DTYPES[kw.get("dtype", "float32")]
  return Tokenizer(**kw)
