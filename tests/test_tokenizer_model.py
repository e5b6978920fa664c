"""Tests for the diffusion tokenizer: full-size shapes (eval_shape), latent regulariser, learning on a fixed
batch split over a device mesh, chunked encoding, config parsing and errors."""

import functools
import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P

from genie_audio.diffusion import flow
from genie_audio.models import spectral
from configs.models import TOKENIZER
from genie_audio.models.tokenizer import Tokenizer, tokenizer_from_config


def _model(name, **overrides):
  return tokenizer_from_config(ml_collections.ConfigDict({**TOKENIZER[name], **overrides}))


def _waves(key, B, T):
  """Sums of random sines: structured enough to be learnable."""
  k1, k2, k3 = jax.random.split(key, 3)
  freqs = jax.random.uniform(k1, (B, 3, 1), minval=100.0, maxval=2000.0)
  amps = jax.random.uniform(k2, (B, 3, 1), minval=0.05, maxval=0.3)
  phase = jax.random.uniform(k3, (B, 3, 1), maxval=2 * math.pi)
  n = jnp.arange(T) / 16000.0
  return jnp.sum(amps * jnp.sin(2 * math.pi * freqs * n + phase), axis=1)


# The tiny preset with an STFT encoder input and an STFT flow space.
STFT = dict(encoder_input="stft", stft_hop=160, strides=(2,), encoder_channels=(32, 32), flow_space="stft",
            wave_scale=7.0)


def _apply(model, variables, *args, **kwargs):
  """model.apply as one compiled program: applied eagerly, flax compiles every operation on its own (slow on CPU)."""
  return jax.jit(functools.partial(model.apply, **kwargs))(variables, *args)


def _init(model, B=4, T=3200):
  wave = _waves(jax.random.key(0), B, T)
  noise = jnp.zeros((B, *model.flow_shape(T)))
  variables = jax.jit(model.init)(jax.random.key(1), wave, noise, jnp.full((B,), 0.5))
  return model, variables, wave


@pytest.fixture(scope="module")
def tiny():
  return _init(_model("wave_tiny"))


@pytest.fixture(scope="module")
def tiny_stft():
  return _init(_model("wave_tiny", **STFT))


@pytest.fixture(scope="module")
def tiny_plane():
  return _init(_model("wave_tiny", **STFT, decoder_kind="unet2d", decoder_channels=(16, 32), decoder_freq_patch=16))


@pytest.fixture(params=["tiny", "tiny_stft", "tiny_plane"])
def any_tiny(request):
  return request.getfixturevalue(request.param)


@pytest.mark.parametrize("name,frames,dim", [("full_50hz", 250, 64), ("full_8hz", 40, 128)])
def test_full_presets_shapes_via_eval_shape(name, frames, dim):
  model = _model(name)
  B, T = 2, 5 * 16000
  wave = jax.ShapeDtypeStruct((B, T), jnp.float32)
  t = jax.ShapeDtypeStruct((B,), jnp.float32)
  variables = jax.eval_shape(model.init, jax.random.key(0), wave,
                             jax.ShapeDtypeStruct((B, *model.flow_shape(T)), jnp.float32), t)
  n_params = sum(x.size for x in jax.tree.leaves(variables))
  assert 20e6 < n_params < 60e6, n_params
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(variables))
  z = jax.eval_shape(functools.partial(model.apply, method="encode"), variables, wave)
  assert z.shape == (B, frames, dim) and z.dtype == jnp.float32
  x = jax.ShapeDtypeStruct((B, *model.flow_shape(T)), jnp.float32)
  v = jax.eval_shape(functools.partial(model.apply, method="velocity"), variables, x, t, z)
  assert v.shape == x.shape and v.dtype == jnp.float32


def test_latent_is_normalised_and_velocity_shape(tiny):
  model, variables, wave = tiny
  z = _apply(model, variables, wave, method="encode")
  assert z.shape == (4, 3200 // 320, 16)
  np.testing.assert_allclose(z.mean(axis=(1, 2)), 0.0, atol=1e-5)
  np.testing.assert_allclose(z.var(axis=(1, 2)), 1.0, atol=1e-3)
  v = _apply(model, variables, wave, jnp.full((4,), 0.3), z, method="velocity")
  assert v.shape == wave.shape
  v_pred, aux = _apply(model, variables, wave, jnp.ones_like(wave), jnp.full((4,), 0.3),
                       jnp.array([0., .5, 0., 0.]), rngs={"noise": jax.random.key(0)})
  assert v_pred.shape == wave.shape and aux["v_target"].shape == wave.shape
  np.testing.assert_array_equal(aux["z_cond"][0], aux["z"][0])  # tau = 0: untouched
  assert not np.allclose(aux["z_cond"][1], aux["z"][1])


def test_flow_runs_on_the_scaled_waveform(tiny):
  """wave_scale multiplies the data of the flow: targets and x_t are scaled, x0_pred comes back at wave scale."""
  model, variables, wave = tiny
  assert model.wave_scale == 12.0  # the presets' scale: -23 LUFS audio (RMS ~0.07) to about unit variance
  noise, t = jax.random.normal(jax.random.key(3), wave.shape), jnp.full((4,), 0.25)
  v_pred, aux = model.apply(variables, wave, noise, t)
  np.testing.assert_allclose(aux["v_target"], flow.target_velocity(12.0 * wave, noise), rtol=1e-6)
  np.testing.assert_allclose(aux["x_t"], flow.interpolate(12.0 * wave, noise, t), rtol=1e-6)
  np.testing.assert_allclose(aux["x0_pred"], flow.predict_x0(aux["x_t"], v_pred, t) / 12.0, rtol=1e-5)
  # With the true velocity, the implied estimate is the waveform itself.
  np.testing.assert_allclose(flow.predict_x0(aux["x_t"], aux["v_target"], t) / 12.0, wave, atol=1e-5)


def test_stft_flow_space_and_encoder(tiny_stft):
  """The flow runs on compressed STFT frames of the scaled waveform; the true velocity gives the waveform back."""
  model, variables, wave = tiny_stft
  assert model.total_stride == 320 and model.flow_shape(3200) == (20, 642)
  encode = jax.jit(functools.partial(model.apply, method="encode"))
  z = encode(variables, wave)
  assert z.shape == (4, 10, 16)
  noise, t = jax.random.normal(jax.random.key(3), (4, 20, 642)), jnp.full((4,), 0.25)
  v_pred, aux = _apply(model, variables, wave, noise, t)
  x = spectral.compress(spectral.stft(7.0 * wave, 160), 0.5)
  assert v_pred.shape == aux["v_target"].shape == (4, 20, 642)
  np.testing.assert_allclose(aux["v_target"], flow.target_velocity(x, noise), rtol=1e-5, atol=1e-5)
  assert aux["x0_pred"].shape == wave.shape
  true_x0 = model.from_flow(flow.predict_x0(aux["x_t"], aux["v_target"], t))
  np.testing.assert_allclose(true_x0, wave, atol=1e-4)
  # The encoder reads magnitudes: a sign flip of the waveform leaves the latent (almost) unchanged.
  np.testing.assert_allclose(encode(variables, -wave), z, atol=1e-4)


def test_band_rms_puts_every_band_at_its_scale_and_the_skip_is_the_linear_velocity():
  """flow_band_rms lifts each band to the loudest band's RMS (and from_flow undoes it); velocity_skip makes the
  untrained model (zero-initialised output) predict the least-squares velocity of data at that RMS."""
  rms = (4.0, 2.0, 1.0, 0.5)
  plain, model = _model("wave_tiny", **STFT), _model("wave_tiny", **STFT, flow_band_rms=rms, velocity_skip=True)
  wave = _waves(jax.random.key(0), 2, 3200)
  x_plain, x = np.asarray(plain.to_flow(wave)), np.asarray(model.to_flow(wave))
  profile = np.tile(spectral.band_profile(rms, 160), 2) / 4.0
  np.testing.assert_allclose(x * profile, x_plain, rtol=1e-5, atol=1e-5)
  assert spectral.band_profile(rms, 160)[0] == 4.0 and spectral.band_profile(rms, 160)[-1] == 0.5
  np.testing.assert_allclose(model.from_flow(jnp.asarray(x)), wave, atol=1e-4)
  np.testing.assert_allclose(spectral.band_rms(x, 4), 4.0 * spectral.band_rms(x_plain, 4) / rms, rtol=0.2)
  _, variables, _ = _init(model, B=2)
  z = _apply(model, variables, wave, method="encode")
  x_t = jax.random.normal(jax.random.key(4), (2, *model.flow_shape(3200)))
  for t, skip in ((0.0, -1.0), (0.5, -7.5 / 4.25), (1.0, 1.0)):  # data RMS 4: (t - 16 (1 - t)) / (16 (1 - t)^2 + t^2)
    v = _apply(model, variables, x_t, jnp.full((2,), t), z, method="velocity")
    np.testing.assert_allclose(v, skip * x_t, rtol=1e-5, atol=1e-5)
  with pytest.raises(ValueError, match="flow_band_rms needs flow_space 'stft'"):
    _model("wave_tiny", flow_band_rms=rms).init(jax.random.key(0), jnp.zeros((1, 320)), jnp.zeros((1, 320)),
                                               jnp.zeros((1,)))


def test_plane_decoder_keeps_shapes_and_starts_at_zero_velocity(tiny_plane):
  model, variables, wave = tiny_plane
  z = _apply(model, variables, wave, method="encode")
  x_t = jax.random.normal(jax.random.key(4), (4, *model.flow_shape(3200)))
  v = _apply(model, variables, x_t, jnp.full((4,), 0.5), z, method="velocity")
  assert v.shape == (4, 20, 642)
  assert not np.any(v)  # zero-initialised output layer
  with pytest.raises(ValueError, match="'unet2d' needs flow_space 'stft'"):
    _model("wave_tiny", decoder_kind="unet2d").init(jax.random.key(0), jnp.zeros((1, 320)), jnp.zeros((1, 320)),
                                               jnp.zeros((1,)))


def test_bf16_forward_is_finite(tiny):
  _, variables, wave = tiny
  model = _model("wave_tiny", dtype="bfloat16")
  v, _ = _apply(model, variables, wave, jnp.ones_like(wave), jnp.full((4,), 0.3))
  assert v.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(v)))


def _loss(model, params, wave, rng):
  k_t, k_sync, k_e, k_z = jax.random.split(rng, 4)
  t = flow.sample_time(k_t, wave.shape[0])
  tau, t = flow.sample_sync(k_sync, t, prob=0.1)
  noise = jax.random.normal(k_e, (wave.shape[0], *model.flow_shape(wave.shape[1])))
  v, aux = model.apply(params, wave, noise, t, tau, rngs={"noise": k_z})
  return flow.flow_matching_loss(v, aux["v_target"])


def test_adam_steps_reduce_loss(any_tiny):
  """40 Adam steps on one batch split over a (data 2, fsdp 2) mesh, as the train loop splits it (jit with
  NamedSharding in Auto axes: flax Dense grads would need out_sharding in Explicit mode)."""
  model, variables, wave = any_tiny
  mesh = jax.make_mesh((2, 2), ("data", "fsdp"), axis_types=(AxisType.Auto,) * 2)
  wave = jax.device_put(wave, NamedSharding(mesh, P(("data", "fsdp"))))
  opt = optax.adam(5e-3)
  eval_keys = jax.random.split(jax.random.key(99), 8)

  @jax.jit
  def eval_loss(params):  # fixed noise and times: a deterministic measure
    return jnp.mean(jax.vmap(lambda k: _loss(model, params, wave, k))(eval_keys))

  @jax.jit
  def step(params, opt_state, rng):
    loss, g = jax.value_and_grad(functools.partial(_loss, model))(params, wave, rng)
    updates, opt_state = opt.update(g, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  before = float(eval_loss(variables))
  params, opt_state = variables, opt.init(variables)
  for i in range(40):
    params, opt_state, loss = step(params, opt_state, jax.random.key(i))
    assert np.isfinite(float(loss)), i
  after = float(eval_loss(params))
  assert after < 0.8 * before, (before, after)


def test_chunked_encoding_matches_whole(any_tiny):
  model, variables, _ = any_tiny
  S = model.total_stride
  margin = math.ceil(max(model.encoder_receptive_field()) / S)  # frames of context each side
  frames, hop = 24, 8
  wave = _waves(jax.random.key(5), 1, frames * S)
  encode = jax.jit(functools.partial(model.apply, method="encode", normalize=False))
  whole = encode(variables, wave)
  pieces = []
  for start in range(0, frames, hop):
    lo, hi = max(start - margin, 0), min(start + hop + margin, frames)
    z = encode(variables, wave[:, lo * S:hi * S])
    pieces.append(z[:, start - lo:start - lo + hop])
  np.testing.assert_allclose(jnp.concatenate(pieces, axis=1), whole, atol=1e-5)
  # Without context the chunk edges do differ: the margin is really needed.
  z = encode(variables, wave[:, hop * S:2 * hop * S])
  assert not np.allclose(z[:, 0], whole[:, hop], atol=1e-5)


def test_errors():
  model = _model("wave_tiny")
  with pytest.raises(ValueError, match="not divisible by the total stride 320"):
    model.init(jax.random.key(0), jnp.zeros((1, 1000)), jnp.zeros((1, 1000)), jnp.zeros((1,)))
  with pytest.raises(ValueError, match=r"encoder stage 2 \(stride 5\).*16 -> 32"):
    _model("wave_tiny", encoder_channels=(4, 8, 16, 32, 64)).init(
        jax.random.key(0), jnp.zeros((1, 320)), jnp.zeros((1, 320)), jnp.zeros((1,)))
  with pytest.raises(ValueError, match="unknown keys"):
    _model("wave_tiny", decoder_width=3)
  with pytest.raises(ValueError, match="flow_space must be 'wave' or 'stft'"):
    _model("wave_tiny", flow_space="mdct").init(jax.random.key(0), jnp.zeros((1, 320)), jnp.zeros((1, 320)),
                                           jnp.zeros((1,)))
  with pytest.raises(ValueError, match="stft_hop 96 must divide the total stride 320"):
    _model("wave_tiny", flow_space="stft", stft_hop=96).init(jax.random.key(0), jnp.zeros((1, 320)),
                                                        jnp.zeros((1, 320)), jnp.zeros((1,)))
  assert isinstance(_model("full_50hz"), Tokenizer) and _model("full_50hz").dtype == jnp.bfloat16
