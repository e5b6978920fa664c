"""Tests for the span measures (genie_audio/eval/span_music.py), the retrieval fill (editing/retrieval.py) and
the in-painting sampler's start from given latents (editing/inpainting.py, diffusion/samplers.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genie_audio.data import spectra
from genie_audio.diffusion import samplers
from genie_audio.editing import inpainting, retrieval
from genie_audio.eval import span_music

RATE = 16000


def tones(midis, seconds=1.0, seed=0):
  t = np.arange(int(seconds * RATE)) / RATE
  phases = np.random.default_rng(seed).uniform(0, 2 * np.pi, len(midis))
  return sum(np.sin(2 * np.pi * 440.0 * 2 ** ((m - 69) / 12) * t + p) for m, p in zip(midis, phases)) / len(midis)


def noise(seconds=1.0, seed=0):
  return np.random.default_rng(seed).normal(0, 0.3, int(seconds * RATE))


def test_a_tone_is_tonal_and_noise_is_not():
  assert span_music.tonality(tones([69])) > 0.8        # one pitch class
  assert 0.3 < span_music.tonality(tones([60, 64, 67])) < 0.7  # three classes: log 3 / log 12 of entropy
  assert span_music.tonality(noise()) < 0.1
  assert np.isnan(span_music.tonality(np.zeros(RATE)))


def test_harmony_is_high_for_the_same_notes_and_low_for_others():
  c_major = tones([60, 64, 67])
  assert span_music.harmony(tones([48, 64, 79], seed=1), c_major) > 0.9   # same classes, other octaves
  assert span_music.harmony(tones([61, 66, 70]), c_major) < 0             # F# major: no shared class
  assert abs(span_music.harmony(noise(), c_major)) < 0.5


def test_level_is_the_rms_ratio_in_db():
  wave = tones([60])
  assert span_music.level_db(0.5 * wave, wave) == pytest.approx(-6.02, abs=0.01)
  scores = span_music.span_scores(2.0 * wave, wave)
  assert set(scores) == {"tonality", "harmony", "level_db"} and scores["level_db"] == pytest.approx(6.02, abs=0.01)


def test_inner_drops_the_seams_and_refuses_a_too_short_span():
  np.testing.assert_array_equal(span_music.inner(np.arange(10.0), 2, 8, 1), np.arange(3.0, 7.0))
  with pytest.raises(ValueError, match="too short"):
    span_music.inner(np.arange(10.0), 2, 4, 1)


def test_retrieval_finds_the_planted_passage_and_never_the_span_itself():
  rng = np.random.default_rng(0)
  source = rng.normal(size=(500, 4))
  target = source.copy()
  target[200:230] = 0.0  # the span's frames are unknown to the fill
  other = rng.normal(size=(600, 4))
  other[400:470] = source[180:250]  # the span with 20 frames of context either side, elsewhere
  fill, match = retrieval.best_fill([target, other], target, 200, 230, 20, self_source=0)
  assert (match.source, match.start) == (1, 420) and match.distance == pytest.approx(0.0, abs=1e-9)
  np.testing.assert_allclose(fill, source[200:230], rtol=1e-6)
  # In the edited recording alone the span and its context are out of reach: another place is chosen.
  _, match = retrieval.best_fill([target], target, 200, 230, 20, self_source=0)
  assert match.start + 30 + 20 <= 180 or match.start - 20 >= 250
  assert retrieval.best_fill([target[:60]], target[:60], 20, 40, 20, self_source=0) is None


def test_retrieval_can_match_on_other_features_and_fill_from_the_latents():
  rng = np.random.default_rng(2)
  latents, features = rng.normal(size=(400, 4)), rng.normal(size=(400, 3))
  features[300:360] = features[100:160]  # the notes around frames 120-140 come back around 320-340
  target = features.copy()
  target[120:140] = 0.0
  fill, match = retrieval.best_fill([latents], latents, 120, 140, 20, self_source=0, features=([target], target))
  assert match.start == 320
  np.testing.assert_array_equal(fill, latents[320:340].astype(np.float32))


def test_the_fit_term_prefers_a_fill_whose_content_agrees_with_the_context():
  rng = np.random.default_rng(3)
  features = rng.uniform(size=(300, 3))
  target = features.copy()
  target[90:130] = [1.0, 0.0, 0.0]   # the context is all class 0 ...
  target[100:120] = 0.0
  good, bad = features.copy(), features.copy()
  good[200:240], bad[200:240] = [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]
  good[210:230] = [1.0, 0.0, 0.0]    # ... a fill of class 0 fits it, one of class 2 does not
  bad[210:230] = [0.0, 0.0, 1.0]
  assert retrieval.best_match([bad, good], target, 100, 120, 10, fit_weight=0.0).distance == pytest.approx(0.0)
  assert retrieval.best_match([bad, good], target, 100, 120, 10, fit_weight=1.0).source == 1
  np.testing.assert_allclose(retrieval.fit_distances(good, np.array([1.0, 0, 0]), 20, 210, 1), [0.0])


def test_frame_level_is_the_rms_in_db():
  wave = 0.5 * np.sin(2 * np.pi * 440.0 * np.arange(RATE) / RATE)
  np.testing.assert_allclose(spectra.frame_level_db(wave, 320)[5:-5], 20 * np.log10(0.5 / np.sqrt(2)), atol=0.01)
  assert spectra.frame_level_db(np.zeros(RATE), 320).max() == -80.0


def test_moving_average_keeps_the_mean_of_each_window():
  frames = np.arange(10.0)[:, None] * np.ones((1, 2))
  smooth = spectra.moving_average(frames, 3)
  np.testing.assert_allclose(smooth[1:-1, 0], np.arange(1.0, 9.0))
  np.testing.assert_allclose(smooth[[0, -1], 0], [0.5, 8.5])  # fewer frames at the ends


def test_context_distances_are_zero_where_the_context_repeats():
  source = np.random.default_rng(1).normal(size=(300, 3))
  d = retrieval.context_distances(source, source[100:110], source[140:150], 30)
  assert int(np.argmin(d)) + 10 == 110 and d.min() == pytest.approx(0.0, abs=1e-9)


def test_samplers_start_part_way():
  x = jnp.ones((2, 5, 3))
  # v = x / t integrates x_t = t c: from t_start the result is exactly 0 for any start.
  out = samplers.euler(lambda x, t: x / t[:, None, None], x, 4, t_start=0.5)
  np.testing.assert_allclose(out, 0.0, atol=1e-6)
  # A zero field leaves the start untouched, whatever t_start.
  np.testing.assert_allclose(samplers.heun(lambda x, t: 0 * x, x, 3, t_start=0.3), x)


def test_inpaint_from_start_latents_mixes_them_with_the_noise_at_start_t():
  zero_velocity = lambda params, x, t, ctx, m, a, method: jnp.zeros_like(x)
  latents = jnp.arange(2 * 6 * 2, dtype=jnp.float32).reshape(2, 6, 2)
  start = jnp.full_like(latents, 10.0)
  mask = jnp.zeros((2, 6), bool).at[:, 2:4].set(True)
  noise = jax.random.normal(jax.random.key(0), latents.shape)
  out = inpainting.inpaint(zero_velocity, {}, latents, mask, jnp.zeros((2, 6), jnp.int32), jax.random.key(1),
                           num_steps=3, noise_BTC=noise, start_BTC=start, start_t=0.25)
  np.testing.assert_allclose(out[:, 2:4], 0.75 * 10.0 + 0.25 * noise[:, 2:4], rtol=1e-6)
  np.testing.assert_array_equal(out[:, :2], latents[:, :2])  # context stays bit-exact
  with pytest.raises(ValueError, match="needs start latents"):
    inpainting.inpaint(zero_velocity, {}, latents, mask, jnp.zeros((2, 6), jnp.int32), jax.random.key(1),
                       num_steps=3, start_t=0.5)
