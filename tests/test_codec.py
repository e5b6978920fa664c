"""Long-audio codec: chunked encoding equals whole-signal encoding; chunked decoding has no seams."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genie_audio import codec
from genie_audio.models.tokenizer import normalize_latent, tokenizer_from_config
from genie_audio.testing import fake_data
from genie_audio.testing.tokenizer_config import micro


# The micro model with an STFT encoder input and flow space (stride 2 x hop 16 = 32, like the wave one).
STFT = {"model.encoder_input": "stft", "model.flow_space": "stft", "model.stft_hop": 16, "model.strides": (2,),
        "model.encoder_channels": (8, 8)}


@pytest.fixture(scope="module", params=["wave", "stft"])
def model_and_params(request):
  model = tokenizer_from_config(micro("unused", **(STFT if request.param == "stft" else {})).model)

  @jax.jit  # one compilation, not one per eager op
  def init(key):
    x = jnp.zeros((1, 320))
    params = model.init(key, x, jnp.zeros((1, *model.flow_shape(320))), jnp.zeros((1,)))["params"]
    # A fresh decoder outputs zero velocity (zero-init output layer); perturb every weight so that decoding
    # really depends on the latent and the noise, like a trained model.
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.fold_in(key, 1), len(leaves))
    return jax.tree.unflatten(tree, [p + 0.1 * jax.random.normal(k, p.shape) for p, k in zip(leaves, keys)])

  return model, init(jax.random.key(0))


def test_chunked_encode_matches_whole_signal(model_and_params):
  model, params = model_and_params
  wave = fake_data.harmonic_notes(1.5, np.random.default_rng(0))[:-7]  # not a multiple of the stride
  S = model.total_stride
  frames = -(-len(wave) // S)
  padded = np.pad(wave, (0, frames * S - len(wave)))
  whole = np.asarray(model.apply({"params": params}, padded[None], method="encode", normalize=False))[0]
  encoded = codec.encode_long(model, params, wave, chunk_frames=96, batch_size=3, normalize=False)
  assert encoded.num_samples == len(wave) and encoded.latents.shape == whole.shape
  assert frames > 4 * 96  # several chunks, the last one shifted inside the signal
  np.testing.assert_allclose(encoded.latents, whole, atol=1e-4, rtol=1e-4)
  normalised = codec.encode_long(model, params, wave, chunk_frames=96)
  np.testing.assert_allclose(normalised.latents, np.asarray(normalize_latent(jnp.asarray(whole)[None]))[0],
                             atol=1e-3)


def test_chunked_decode_has_no_seams(model_and_params):
  model, params = model_and_params
  wave = fake_data.harmonic_notes(1.0, np.random.default_rng(1))
  encoded = codec.encode_long(model, params, wave)
  frames = encoded.latents.shape[0]
  kw = dict(num_samples=encoded.num_samples, num_steps=4)
  whole = codec.decode_long(model, params, encoded.latents, 0, chunk_frames=frames, **kw)
  chunk, overlap = 96, 24
  chunked = codec.decode_long(model, params, encoded.latents, 0, chunk_frames=chunk, overlap_frames=overlap, **kw)
  assert whole.shape == chunked.shape == (len(wave),)
  # Same global noise: the chunked decode stays close to the whole-signal decode everywhere...
  rms = np.sqrt(np.mean(whole ** 2))
  assert np.sqrt(np.mean((chunked - whole) ** 2)) < 0.05 * rms
  # ...and around each chunk border the sample-to-sample jumps are no larger than anywhere else.
  S = model.total_stride
  starts = list(range(0, frames - chunk, chunk - overlap)) + [frames - chunk]
  borders = [s * S for s in starts[1:]] + [(s + chunk) * S for s in starts[:-1]]
  jumps = np.abs(np.diff(chunked))
  border_jumps = np.array([jumps[b - 2:b + 2].max() for b in borders])
  assert border_jumps.max() < 4 * np.percentile(jumps, 99), (border_jumps, np.percentile(jumps, 99))


def test_short_latents_decode_in_one_call(model_and_params):
  model, params = model_and_params
  latents = np.random.default_rng(0).standard_normal((5, model.latent_dim)).astype(np.float32)
  out = codec.decode_long(model, params, latents, 3, num_samples=150, num_steps=2, chunk_frames=8)
  assert out.shape == (150,) and np.all(np.isfinite(out))
  with pytest.raises(ValueError, match="overlap_frames"):
    codec.decode_long(model, params, np.zeros((40, model.latent_dim)), chunk_frames=8, overlap_frames=8)
