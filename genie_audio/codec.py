"""Whole-recording encode/decode with the diffusion tokenizer, in overlapping fixed-shape chunks.

`encode_long` and `decode_long` are functions of (model, params, ...) where `model` is a `Tokenizer` and
`params` its param tree (host numpy or device arrays, without the {'params': ...} wrapper). Each jits one
chunk shape per (model, settings) and reuses it, so a long file never recompiles per chunk.

Encoding is exact: the encoder is local (receptive field `model.encoder_receptive_field()`), so windows
that overlap by that much reproduce the whole-signal RAW latent in their centres. The DiTo normalisation
(LayerNorm over the (T, C) latent) is applied once, over the whole recording, after stitching: normalising
each chunk would rescale chunks differently and put steps into the latent at chunk borders. Training crops
are normalised per crop, so statistics over a long recording differ a little from what the decoder saw in
training; for music with a stable level that difference is small, and it keeps one latent per recording.

Decoding is generative, so chunks cannot agree exactly; they agree closely when their overlapping parts
start from the SAME noise: one noise signal for the whole recording (drawn per latent frame from the seed,
so it does not depend on the chunking) is sliced per chunk, and overlaps are crossfaded.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from genie_audio.data import audio
from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.diffusion import samplers
from genie_audio.models import envelope
from genie_audio.models.tokenizer import Tokenizer, normalize_latent

PyTree = Any
CROSSFADES = ("linear", "equal_power")


@dataclasses.dataclass(frozen=True)
class Encoded:
  """A recording's latent and the length it decodes back to."""
  latents: np.ndarray  # (T, C) float32, T = ceil(num_samples / total_stride)
  num_samples: int     # waveform length before padding to a multiple of the stride


def load_audio(path: str | os.PathLike) -> np.ndarray:
  """Any readable audio file -> 16 kHz mono float32; `audio.BadAudioError` naming the file otherwise."""
  try:
    wave, rate = audio.decode(path)
  except audio.BadAudioError as e:
    raise audio.BadAudioError(e.reason, f"{path}: {e.detail or e.reason}") from None
  return audio.resample(audio.to_mono(wave), rate, SAMPLE_RATE)


def sample_multiple(model: Tokenizer) -> int:
  """Decodable waveform lengths are multiples of this: the stride and the U-Net's down-sampling of patches."""
  return math.lcm(model.total_stride, model.frame_hop * 2 ** (len(model.decoder_channels) - 1))


def frame_multiple(model: Tokenizer) -> int:
  """Decodable latent lengths (frames) are multiples of this."""
  return sample_multiple(model) // model.total_stride


def encoder_margin_frames(model: Tokenizer) -> int:
  """Frames of context each side of a chunk that make chunked encoding exact."""
  return math.ceil(max(model.encoder_receptive_field()) / model.total_stride)


def seconds_to_frames(model: Tokenizer, seconds: float) -> int:
  return int(round(seconds * SAMPLE_RATE / model.total_stride))


# One compiled function per (model hyperparameters, kind, settings); shapes are fixed by the callers.
_JITTED: dict[tuple, Callable] = {}


def _model_key(model: Tokenizer) -> tuple:
  return tuple((f.name, getattr(model, f.name)) for f in dataclasses.fields(model)
               if f.name not in ("parent", "name"))


def _jitted(model: Tokenizer, kind: str, num_steps: int = 0, method: str = "euler") -> Callable:
  key = (_model_key(model), kind, num_steps, method)
  if key not in _JITTED:
    if kind == "encode":
      fn = lambda p, wave_BT: model.apply({"params": p}, wave_BT, method="encode", normalize=False)
    else:
      sampler = samplers.SAMPLERS[method]

      def fn(p, z_BTC, noise_BV):
        x1 = noise_BV.reshape(noise_BV.shape[0], *model.flow_shape(z_BTC.shape[1] * model.total_stride))
        velocity = lambda x, t_B: model.apply({"params": p}, x, t_B, z_BTC, method="velocity")
        return model.from_flow(sampler(velocity, x1, num_steps))
    _JITTED[key] = jax.jit(fn)
  return _JITTED[key]


def _run_batched(fn: Callable, params: PyTree, items: list[tuple[np.ndarray, ...]], batch_size: int
                 ) -> list[np.ndarray]:
  """fn(params, *stacked args) over `items` in batches of exactly `batch_size` (the last one padded by
  repetition), so every call has the same shape."""
  outputs = []
  for i in range(0, len(items), batch_size):
    group = items[i:i + batch_size]
    padded = group + [group[-1]] * (batch_size - len(group))
    args = [np.stack(arrays) for arrays in zip(*padded)]
    outputs.extend(np.asarray(fn(params, *args))[:len(group)])
  return outputs


def encode_long(model: Tokenizer, params: PyTree, wave_T: np.ndarray, *, chunk_frames: int | None = None,
                batch_size: int = 4, normalize: bool = True) -> Encoded:
  """(T,) 16 kHz waveform -> `Encoded` latent of the whole recording.

  Windows of `chunk_frames` kept frames plus `encoder_margin_frames` of context each side (default
  chunk: ~10 s) are encoded `batch_size` at a time; windows at the ends are shifted inside the signal
  rather than padded, so every kept frame equals the whole-signal raw latent up to float error.
  """
  wave_T = np.asarray(wave_T, np.float32)
  if wave_T.ndim != 1 or wave_T.size == 0:
    raise ValueError(f"encode_long: expected a non-empty mono waveform (T,), got shape {wave_T.shape}")
  params = jax.device_put(params)  # host params: one transfer, not one per chunk
  S, n = model.total_stride, wave_T.shape[0]
  frames = math.ceil(n / S)
  padded = np.zeros(frames * S, np.float32)  # zeros after the end, as 'SAME' padding would see
  padded[:n] = wave_T
  chunk = chunk_frames or seconds_to_frames(model, 10.0)
  margin = encoder_margin_frames(model)
  window = chunk + 2 * margin
  encode = _jitted(model, "encode")
  if frames <= window:
    z_TC = np.asarray(encode(params, padded[None]))[0]
  else:
    starts = list(range(0, frames, chunk))
    window_starts = [min(max(s - margin, 0), frames - window) for s in starts]
    pieces = _run_batched(encode, params, [(padded[w * S:(w + window) * S],) for w in window_starts],
                          batch_size)
    z_TC = np.empty((frames, pieces[0].shape[-1]), np.float32)
    for s, w, z in zip(starts, window_starts, pieces):
      keep = min(chunk, frames - s)
      z_TC[s:s + keep] = z[s - w:s - w + keep]
  if normalize:
    z_TC = np.asarray(normalize_latent(jnp.asarray(z_TC)[None], model.latent_norm))[0]
  return Encoded(z_TC.astype(np.float32), n)


def frame_noise(rng: jax.Array | int, frames: int, values_per_frame: int) -> np.ndarray:
  """Unit Gaussian noise (frames * values_per_frame,), drawn per latent frame from fold_in(rng, frame): the
  noise of a frame is the same however the recording is chunked or padded. The values are the frame's share
  of the tokenizer's flow space (`math.prod(model.flow_shape(total_stride))`)."""
  key = jax.random.key(rng) if isinstance(rng, int) else rng
  return np.asarray(_draw_frame_noise(key, jnp.arange(frames), values_per_frame)).reshape(-1)


@functools.partial(jax.jit, static_argnums=2)
def _draw_frame_noise(key: jax.Array, frames_F: jax.Array, values_per_frame: int) -> jax.Array:
  draw = lambda i: jax.random.normal(jax.random.fold_in(key, i), (values_per_frame,), jnp.float32)
  return jax.vmap(draw)(frames_F)


def _fade(length: int, crossfade: str) -> np.ndarray:
  """Rising ramp over `length` samples; samples sit at (i + 0.5) / length so both sides stay > 0."""
  x = (np.arange(length) + 0.5) / max(length, 1)
  return np.sin(0.5 * np.pi * x) if crossfade == "equal_power" else x


def decode_long(model: Tokenizer, params: PyTree, latents_TC: np.ndarray, rng: jax.Array | int = 0, *,
                num_samples: int | None = None, num_steps: int = 50, method: str = "euler",
                chunk_frames: int | None = None, overlap_frames: int | None = None, batch_size: int = 4,
                crossfade: str = "linear") -> np.ndarray:
  """(T, C) normalised latent -> waveform (num_samples,), decoded in overlapping chunks.

  Chunks of `chunk_frames` (default ~2 s; a multiple of `frame_multiple(model)`) overlap by `overlap_frames`
  (default ~0.25 s, at most half a chunk); the last chunk is shifted to end at the last frame instead of
  being padded. All chunks slice one global noise signal (`frame_noise`), so overlaps nearly agree, and are
  mixed with a crossfade: 'linear' (weights sum to 1: right for the nearly identical signals that shared
  noise gives) or 'equal_power' (powers sum to 1: right for uncorrelated signals). A latent no longer than
  a chunk is decoded in one call (edge-padded to a decodable length). `num_samples` (default T * stride)
  cuts the result, e.g. to `Encoded.num_samples`. `rng`: a key or an int seed (fixed = reproducible).
  """
  latents_TC = np.asarray(latents_TC, np.float32)
  if latents_TC.ndim != 2:
    raise ValueError(f"decode_long: expected latents (T, C), got shape {latents_TC.shape}")
  if method not in samplers.SAMPLERS:
    raise ValueError(f"decode_long: unknown method {method!r}; expected one of {sorted(samplers.SAMPLERS)}")
  if crossfade not in CROSSFADES:
    raise ValueError(f"decode_long: crossfade must be one of {CROSSFADES}, got {crossfade!r}")
  S, frames, multiple = model.total_stride, latents_TC.shape[0], frame_multiple(model)
  V = math.prod(model.flow_shape(S))  # noise values per latent frame, in the flow's space
  chunk = chunk_frames or max(multiple, seconds_to_frames(model, 2.0) // multiple * multiple)
  overlap = min(seconds_to_frames(model, 0.25), chunk // 2) if overlap_frames is None else overlap_frames
  if chunk % multiple:
    raise ValueError(f"decode_long: chunk_frames={chunk} must be a multiple of {multiple} (decoder shapes)")
  if not 0 <= overlap < chunk:
    raise ValueError(f"decode_long: overlap_frames={overlap} must be in [0, chunk_frames={chunk})")
  num_samples = frames * S if num_samples is None else num_samples
  params = jax.device_put(params)
  decode = _jitted(model, "decode", num_steps, method)
  if frames <= chunk:
    padded_frames = math.ceil(frames / multiple) * multiple
    z = np.pad(latents_TC, ((0, padded_frames - frames), (0, 0)), mode="edge")
    noise = frame_noise(rng, padded_frames, V)
    wave = np.asarray(decode(params, z[None], noise[None]))[0]
    return wave[:num_samples]

  starts = list(range(0, frames - chunk, chunk - overlap)) + [frames - chunk]
  noise = frame_noise(rng, frames, V)
  waves = _run_batched(decode, params, [(latents_TC[s:s + chunk], noise[s * V:(s + chunk) * V]) for s in starts],
                       batch_size)
  total = np.zeros(frames * S, np.float64)
  weight = np.zeros(frames * S, np.float64)
  for k, (s, wave) in enumerate(zip(starts, waves)):
    w = np.ones(chunk * S)
    if k > 0:  # fade in over the overlap with the previous chunk
      left = (starts[k - 1] + chunk - s) * S
      w[:left] *= _fade(left, crossfade)
    if k + 1 < len(starts):  # fade out over the overlap with the next chunk
      right = (s + chunk - starts[k + 1]) * S
      w[chunk * S - right:] *= _fade(right, crossfade)[::-1]
    total[s * S:(s + chunk) * S] += w * wave
    weight[s * S:(s + chunk) * S] += w if crossfade == "linear" else w ** 2
  out = total / (weight if crossfade == "linear" else np.sqrt(weight))
  return out[:num_samples].astype(np.float32)


def training_level_gain(wave_T: np.ndarray) -> float:
  """The gain that brings a recording to the loudness of prepared training data (as `prepare_data` does:
  TARGET_LUFS, peaks kept under PEAK_LIMIT); 1 for silence."""
  current = audio.loudness(wave_T, SAMPLE_RATE)
  if not np.isfinite(current):
    return 1.0
  gain = 10.0 ** ((audio.TARGET_LUFS - current) / 20.0)
  peak = float(np.max(np.abs(wave_T)))
  return min(gain, audio.PEAK_LIMIT / peak) if peak > 0 else gain


def _encode_at_training_level(model: Tokenizer, params: PyTree, wave_T: np.ndarray, match_loudness: bool = True
                              ) -> tuple[Encoded, float]:
  """A recording encoded at the training data's loudness (`match_loudness`), and the gain that took it there."""
  gain = training_level_gain(wave_T) if match_loudness else 1.0
  return encode_long(model, params, np.asarray(wave_T, np.float32) * gain), gain


def reconstruct(model: Tokenizer, params: PyTree, wave_T: np.ndarray, rng: jax.Array | int = 0, *,
                num_steps: int = 50, method: str = "euler", chunk_frames: int | None = None,
                overlap_frames: int | None = None, match_loudness: bool = True) -> np.ndarray:
  """Encode + decode a whole recording (T,) -> (T,). With `match_loudness` the input is coded at the
  training data's loudness and the output gets the inverse gain, so quiet or loud files stay in the level
  range the model was trained on."""
  encoded, gain = _encode_at_training_level(model, params, wave_T, match_loudness)
  wave = decode_long(model, params, encoded.latents, rng, num_samples=encoded.num_samples, num_steps=num_steps,
                     method=method, chunk_frames=chunk_frames, overlap_frames=overlap_frames)
  return wave / gain


def envelope_only(model: Tokenizer, params: PyTree, wave_T: np.ndarray, rng: int = 0) -> np.ndarray:
  """A recording (T,) encoded, then rendered from the tokenizer's spectral envelope alone: Gaussian noise with
  the envelope's variance in the flow's space, what the sampler gives with the network's output at zero (an
  envelope vocoder of the model's own latent). What it keeps of the notes, the envelope head names; the rest of
  a reconstruction's is the network's (issue 25, `experiments/envelope_share.py`)."""
  if not model.envelope_bands:
    raise ValueError("envelope_only: the tokenizer has no spectral envelope (model.envelope_bands is 0)")
  encoded, gain = _encode_at_training_level(model, params, wave_T)
  variance = model.apply({"params": params}, jnp.asarray(encoded.latents)[None],
                         method=lambda m, z: envelope.variance(m.envelope(z)))
  noise = np.random.default_rng(rng).standard_normal(variance.shape).astype(np.float32)
  wave = np.asarray(model.from_flow(jnp.sqrt(variance) * noise))[0]
  return np.pad(wave, (0, max(0, encoded.num_samples - len(wave))))[:encoded.num_samples] / gain
