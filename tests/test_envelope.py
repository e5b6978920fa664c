"""Tests for the tokenizer's envelope skip path (`models/envelope.py`): the band layout, the Gaussian velocity,
and a head that learns the level of what it hears."""

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from configs.models import TOKENIZER
from genie_audio import codec
from genie_audio.diffusion import flow
from genie_audio.eval import pitch
from genie_audio.models import envelope
from genie_audio.models.tokenizer import tokenizer_from_config

STFT = dict(encoder_input="stft", stft_hop=160, strides=(2,), encoder_channels=(32, 32), flow_space="stft",
            wave_scale=7.0)


def test_bands_interpolate_between_mel_spaced_centres():
  weights = envelope.band_interpolation(8, 321, 8000.0)
  np.testing.assert_allclose(weights.sum(axis=0), 1.0, atol=1e-6)
  assert np.all(weights >= 0) and np.all((weights > 0).sum(axis=0) <= 2)
  np.testing.assert_allclose(np.full(8, 3.0) @ weights, 3.0, atol=1e-5)  # a flat envelope stays flat
  ramp = np.arange(8.0) @ weights  # band values 0..7 read out across the bins: rising, from band 0 to band 7
  assert ramp[0] == 0.0 and ramp[-1] == pytest.approx(7.0) and np.all(np.diff(ramp) >= 0)
  # Mel spacing: the first band centre above 0 Hz sits far below an eighth of the band (1 kHz).
  assert np.argmax(weights[1]) < 321 / 8 / 2
  with pytest.raises(ValueError, match="at least 2 bands"):
    envelope.band_interpolation(1, 321, 8000.0)


@pytest.mark.parametrize("s_min", [0.0, 0.01])
def test_gaussian_velocity_is_the_least_squares_velocity_of_gaussian_data(s_min):
  """For data N(0, var) no other multiple of x_t predicts the target velocity better."""
  k_x, k_e = jax.random.split(jax.random.key(0))
  var, t = 9.0, jnp.full((20000,), 0.3)
  x = 3.0 * jax.random.normal(k_x, (20000, 1))
  noise = jax.random.normal(k_e, (20000, 1))
  x_t = flow.interpolate(x, noise, t, s_min)
  target = flow.target_velocity(x, noise, s_min)
  v = flow.gaussian_velocity(x_t, t, var, s_min)
  error = lambda scale: float(jnp.mean(jnp.square(scale * v - target)))
  assert error(1.0) < min(error(0.9), error(1.1))
  # At t = 1 the data estimate it implies is the mean, 0; at t = 0 the velocity is -x (to within s_min).
  np.testing.assert_allclose(flow.predict_x0(x_t, flow.gaussian_velocity(x_t, 1.0, var, s_min), 1.0, s_min), 0.0,
                             atol=1e-4)
  np.testing.assert_allclose(flow.gaussian_velocity(x, 0.0, var, s_min), -x, rtol=s_min + 1e-5)


def _model(**overrides):
  return tokenizer_from_config(ml_collections.ConfigDict({**TOKENIZER["wave_tiny"], **STFT, **overrides}))


def _tone_steps(T=3200, seed=0):
  """440 Hz tones at random phases, 20 dB louder in the first half (the latent is normalised per example, so
  only a crop's levels relative to each other reach the decoder)."""
  n = jnp.arange(T) / 16000.0
  phases = jax.random.uniform(jax.random.key(seed), (2, 1), maxval=2 * jnp.pi)
  return jnp.where(n < n[T // 2], 0.3, 0.03) * jnp.sin(2 * jnp.pi * 440.0 * n + phases)


def _envelope_nll(model, wave, noise, t):
  return lambda params: model.apply({"params": params}, wave, noise, t)[1]["envelope_nll"]


def _train_envelope(model, params, wave, noise, t, steps=150):
  """`steps` Adam steps on the envelope's likelihood alone -> (params, first loss, last loss)."""
  loss_fn, optimizer = _envelope_nll(model, wave, noise, t), optax.adam(3e-3)

  @jax.jit
  def step(params, state):
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, state = optimizer.update(grads, state)
    return optax.apply_updates(params, updates), state, loss

  state, losses = optimizer.init(params), []
  for _ in range(steps):
    params, state, loss = step(params, state)
    losses.append(float(loss))
  return params, losses[0], losses[-1]


def _logvar_of(model, params, wave):
  """The head's log-variance for a waveform, through the encoder."""
  return jax.jit(lambda p, w: model.apply({"params": p}, w, method=lambda m, w: m.envelope(m.encode(w))))(
      params, wave)


def _setup(model, wave):
  noise = jax.random.normal(jax.random.key(2), (2, *model.flow_shape(wave.shape[1])))
  t = jnp.array([0.4, 0.7])
  return noise, t, jax.jit(model.init)(jax.random.key(1), wave, noise, t)["params"]


def test_untrained_model_predicts_the_envelope_velocity_and_the_head_learns_the_level():
  """The U-Net's output starts at zero, so the velocity is the Gaussian velocity of the head's envelope; a few
  Adam steps on the envelope's likelihood make it report the louder half as louder, by about the step's size."""
  model, wave = _model(envelope_bands=8), _tone_steps()
  noise, t, params = _setup(model, wave)
  z = jax.jit(functools.partial(model.apply, method="encode"))({"params": params}, wave)
  v = jax.jit(functools.partial(model.apply, method="velocity"))({"params": params}, noise, t, z)
  logvar = _logvar_of(model, params, wave)
  assert logvar.shape == noise.shape
  np.testing.assert_allclose(v, flow.gaussian_velocity(noise, t, envelope.variance(logvar)), rtol=1e-4, atol=1e-5)

  params, first, last = _train_envelope(model, params, wave, noise, t)
  assert last < first - 1.0
  logvar = _logvar_of(model, params, wave)
  # The tone's bins (440 Hz, bins 16-20): the loud half's variance sits well above the quiet half's. A 20 dB
  # level step is a 10 dB step of the compressed coefficients (power 0.5), a factor 10 in their variance.
  ratio = float(jnp.exp(jnp.mean(logvar[:, 2:8, 16:21]) - jnp.mean(logvar[:, 12:18, 16:21])))
  assert 3.0 < ratio < 30.0


@pytest.mark.parametrize("trains_encoder", [False, True])
def test_the_envelope_trains_the_encoder_only_when_told(trains_encoder):
  model, wave = _model(envelope_bands=8, envelope_trains_encoder=trains_encoder), _tone_steps()
  noise, t, params = _setup(model, wave)
  encoder_grads = jax.jit(jax.grad(_envelope_nll(model, wave, noise, t)))(params)["encoder"]
  largest = max(float(jnp.abs(g).max()) for g in jax.tree.leaves(encoder_grads))
  assert (largest > 0.0) == trains_encoder


def test_envelope_needs_the_stft_flow_and_excludes_the_plain_skip():
  wave = jnp.zeros((1, 320))
  for overrides in (dict(flow_space="wave", encoder_input="wave", strides=(2, 4, 5, 8),
                         encoder_channels=(4, 8, 16, 40, 64)),
                    dict(velocity_skip=True)):
    model = _model(envelope_bands=8, **overrides)
    with pytest.raises(ValueError, match="envelope_bands needs flow_space 'stft' and no velocity_skip"):
      model.init(jax.random.key(0), wave, jnp.zeros((1, *model.flow_shape(320))), jnp.zeros((1,)))


@pytest.mark.parametrize("per_bin", [dict(envelope_fine=True), dict(envelope_templates=16),
                                     dict(envelope_fine=True, envelope_depth=3, envelope_residual=True),
                                     dict(envelope_pitches=150)])
def test_per_bin_envelope_puts_the_variance_on_the_partial_not_on_its_band(per_bin):
  """With envelope_fine a per-bin term (zero at the start), or with envelope_templates a mixture of learnt spectra
  (1 at the start), the head lights up a tone's bins and leaves their neighbours in the same mel band dark,
  which the smooth bands alone cannot; so does a head of residual blocks."""
  model, wave = _model(envelope_bands=8, **per_bin), _tone_steps(seed=1)
  noise, t, params = _setup(model, wave)
  if per_bin.get("envelope_residual"):
    assert "norm1" in params["envelope"] and "norm0" not in params["envelope"]  # the first conv is no block
  if "envelope_fine" in per_bin:
    assert float(jnp.abs(params["envelope"]["fine"]["kernel"]).max()) == 0.0
  if "envelope_pitches" in per_bin:
    assert float(jnp.abs(params["envelope"]["pitch_activations"]["kernel"]).max()) == 0.0
  params, _, _ = _train_envelope(model, params, wave, noise, t)
  logvar = _logvar_of(model, params, wave)
  # 440 Hz is bin 17.6; bins 21-23 (525-575 Hz) share its mel band and hold only the window's side lobes.
  contrast = float(jnp.mean(logvar[:, :, 17:19]) - jnp.mean(logvar[:, :, 21:24]))
  assert contrast > np.log(30.0)  # the smooth bands alone reach ~log(7) here


def test_harmonic_comb_lights_each_pitch_s_partials_below_nyquist():
  """Pitch p of the comb (3 to the semitone from E1) peaks on the bins of its harmonics k * f0, fades over
  1.5 bins each side, and has no partial at or above Nyquist."""
  per_semitone, num_bins, nyquist = 3, 1001, 8000.0  # bins of 8 Hz, the 8 frames/s preset's hop 500
  a4, a6 = ((midi - envelope.LOWEST_PITCH_MIDI) * per_semitone for midi in (69, 93))
  comb = envelope.harmonic_comb(a6 + 1, per_semitone, num_bins, nyquist)
  assert comb.shape == (envelope.PARTIALS, a6 + 1, num_bins)
  for pitch, f0_bins, below_nyquist in ((a4, 55, envelope.PARTIALS), (a6, 220, 4)):  # 440 Hz = bin 55 exactly
    for k in range(envelope.PARTIALS):
      lit = np.flatnonzero(comb[k, pitch]).tolist()
      if k < below_nyquist:
        peak = f0_bins * (k + 1)
        assert comb[k, pitch, peak] == 1.0 and lit == [peak - 1, peak, peak + 1], (pitch, k)
      else:
        assert lit == [], (pitch, k)
  assert 0.0 < comb[0, a4 - 1, 54] < 1.0  # a third of a semitone lower falls between bins 53 and 54
  assert comb.min() >= 0.0 and comb.max() <= 1.0


def test_template_mixture_adds_the_spectra_of_a_chord_and_starts_at_one():
  """The mixture is activations @ templates in power: two notes sounding together give the sum of their spectra
  (a read-out linear in log power would multiply them); at initialisation it is 1 everywhere, give or take the
  templates' small noise, so training starts from the bands alone."""
  sizes = dict(frames_per_latent=1, num_bands=4, num_bins=6, channels=8)
  with_mixture, bands_only = envelope.SpectralEnvelope(**sizes, templates=2), envelope.SpectralEnvelope(**sizes)
  z = jnp.ones((1, 1, 3))
  params = with_mixture.init(jax.random.key(0), z)["params"]

  def log_mixture(params):
    rest = {k: v for k, v in params.items() if k not in ("activations", "templates")}
    return np.asarray(with_mixture.apply({"params": params}, z) - bands_only.apply({"params": rest}, z))[0, 0, :6]

  assert np.abs(log_mixture(params)).max() < 1.0
  notes = np.array([[1.0, 0, 0, 4.0, 0, 0], [0, 2.0, 0, 0, 0, 3.0]])  # two notes' spectra (power per bin)
  params["templates"] = jnp.log(jnp.asarray(notes) + 1e-12) / envelope.TEMPLATE_GAIN
  params["activations"] = dict(kernel=jnp.zeros((8, 2)), bias=jnp.zeros((2,)))
  np.testing.assert_allclose(np.exp(log_mixture(params)), notes.sum(0) + envelope.MIXTURE_FLOOR, rtol=1e-3)


def test_envelope_only_renders_the_learnt_partial_and_needs_an_envelope():
  """codec.envelope_only (a recording rendered from the envelope alone) keeps the tone's pitch class once the head
  has learnt to put the variance on its partial; a tokenizer without an envelope is refused."""
  model, wave = _model(envelope_bands=8, envelope_fine=True), _tone_steps(seed=1)
  noise, t, params = _setup(model, wave)
  trained, _, _ = _train_envelope(model, params, wave, noise, t)
  tone = np.asarray(wave[0])
  untrained_out, trained_out = (codec.envelope_only(model, p, tone) for p in (params, trained))
  assert trained_out.shape == tone.shape
  similarity = [pitch.chroma_similarity(tone, out) for out in (untrained_out, trained_out)]
  assert similarity[1] > 0.45 and similarity[1] > similarity[0] + 0.25, similarity  # 0.58 and 0.23 here
  plain = _model()
  with pytest.raises(ValueError, match="no spectral envelope"):
    codec.envelope_only(plain, _setup(plain, wave)[2], tone)
