"""Tokenizer training augmentations: band limits and fades on hand-computed cases, determinism, config errors."""

import numpy as np
import pytest

from configs import tokenizer as tokenizer_config
from genie_audio.data import augment, pipelines

RATE = 16000


def _sine(hz, seconds=1.0):
  t = np.arange(int(seconds * RATE)) / RATE
  return np.sin(2 * np.pi * hz * t).astype(np.float32)


def _amplitude(wave_T, hz):
  """Amplitude of the `hz` component in the middle half (away from the mirrored ends)."""
  n = len(wave_T)
  mid = wave_T[n // 4: 3 * n // 4]
  t = np.arange(n // 4, 3 * n // 4) / RATE
  return 2 * abs(np.mean(mid * np.exp(-2j * np.pi * hz * t)))


def test_band_response_matches_butterworth_magnitudes():
  r = augment.band_response(np.array([0.0, 1000.0, 2000.0, 8000.0]), None, 2000.0, order=2)
  np.testing.assert_allclose(r, [1.0, 1 / np.sqrt(1 + 0.5 ** 4), 1 / np.sqrt(2), 1 / np.sqrt(1 + 4 ** 4)])
  r = augment.band_response(np.array([0.0, 100.0, 400.0]), 200.0, None, order=1)
  np.testing.assert_allclose(r, [0.0, 1 / np.sqrt(1 + 4), 1 / np.sqrt(1 + 0.25)])


def test_band_limit_passes_the_band_and_cuts_outside_it():
  wave = _sine(200) + _sine(6000) + _sine(30)
  out = augment.band_limit(wave, low_hz=100.0, high_hz=2000.0, order=2, rate=RATE)
  assert out.dtype == np.float32 and out.shape == wave.shape
  high_pass_200 = 1 / np.sqrt(1 + (100 / 200) ** 4)
  assert _amplitude(out, 200) == pytest.approx(high_pass_200 / np.sqrt(1 + 0.1 ** 4), rel=1e-3)
  assert _amplitude(out, 6000) == pytest.approx(1 / np.sqrt(1 + 3 ** 4), rel=1e-2)
  assert _amplitude(out, 30) == pytest.approx(1 / np.sqrt(1 + (100 / 30) ** 4), rel=2e-2)


def test_band_limit_does_not_wrap_the_end_into_the_start():
  """A click at the very end must not leak to the start (the FFT is circular; the crop is mirrored first)."""
  wave = np.zeros(4000, np.float32)
  wave[-1] = 1.0
  out = augment.band_limit(wave, None, 1000.0, order=2, rate=RATE)
  assert np.max(np.abs(out[:1000])) < 1e-6 < np.max(np.abs(out[-50:]))


def test_level_ramp_is_linear_in_db():
  ramp = augment.level_ramp(5, 0.0, -40.0)
  np.testing.assert_allclose(20 * np.log10(ramp), [0, -10, -20, -30, -40], atol=1e-4)


def test_no_probability_leaves_the_crop_alone_and_draws_are_reproducible():
  wave = np.random.default_rng(0).normal(size=8000).astype(np.float32)
  assert not augment.WaveAugment().active
  np.testing.assert_array_equal(augment.WaveAugment()(wave, np.random.default_rng(1)), wave)
  every = augment.WaveAugment(lowpass_prob=1.0, highpass_prob=1.0, fade_prob=1.0, fade_db=30.0)
  first, again = (every(wave, np.random.default_rng(5)) for _ in range(2))
  np.testing.assert_array_equal(first, again)
  assert not np.allclose(first, every(wave, np.random.default_rng(6)))
  # A fade takes one end of the crop down to at most 30 dB below the other; the band limits lower the power.
  assert np.sqrt(np.mean(first ** 2)) < np.sqrt(np.mean(wave ** 2))


def test_fade_only_scales_each_sample():
  wave = np.ones(1000, np.float32)
  out = augment.WaveAugment(fade_prob=1.0, fade_db=20.0)(wave, np.random.default_rng(3))
  assert np.all(np.diff(out) != 0) and np.all(np.sign(np.diff(out)) == np.sign(out[-1] - out[0]))
  assert max(out[0], out[-1]) == pytest.approx(1.0) and min(out[0], out[-1]) >= 0.1 - 1e-6


def test_crop_pipeline_applies_the_augmentation_deterministically():
  data = {"a": _sine(440, 2.0), "b": _sine(3000, 2.0)}
  read = lambda path, start, length: data[path][start:start + length]
  spec = pipelines.CropSpec("wave", 4000)
  items = [("a", 32000), ("b", 32000)]
  every = augment.WaveAugment(lowpass_prob=1.0, lowpass_hz=(500.0, 600.0))
  plain = pipelines.crop_dataset(items, read, spec, batch_size=4, seed=0)[0]["wave"]
  first = pipelines.crop_dataset(items, read, spec, batch_size=4, seed=0, augment=every)[0]["wave"]
  again = pipelines.crop_dataset(items, read, spec, batch_size=4, seed=0, augment=every)[0]["wave"]
  np.testing.assert_array_equal(first, again)
  # The same crops (the offset is drawn before the augmentation), low-passed: the power goes down.
  assert np.all(np.sum(first ** 2, axis=1) < np.sum(plain ** 2, axis=1))


@pytest.mark.parametrize("semitones", [12.0, -3.0, 1.0])
def test_pitch_shift_moves_a_tone_by_the_interval_and_keeps_its_level(semitones):
  wave = _sine(440.0, 1.5)
  out = augment.pitch_shift(wave, semitones, 8000)
  assert out.dtype == np.float32 and out.shape == (8000,)
  shifted = 440.0 * 2 ** (semitones / 12)
  assert _amplitude(out, shifted) == pytest.approx(1.0, abs=0.02)
  assert _amplitude(out, 440.0) < 0.1  # a quarter second: a semitone away still leaks ~0.05


def test_pitch_shift_up_drops_what_would_pass_nyquist_and_asks_for_enough_samples():
  wave = _sine(7000.0, 1.0) + _sine(500.0, 1.0)
  out = augment.pitch_shift(wave, 5.0, 8000)  # 7 kHz would land at 9.4 kHz, above the 8 kHz Nyquist
  assert _amplitude(out, 500.0 * 2 ** (5 / 12)) == pytest.approx(1.0, abs=0.02)
  aliased = 16000 - 7000 * 2 ** (5 / 12)
  assert _amplitude(out, aliased) < 0.01
  needed = augment.frames_for_pitch_shift(8000, 5.0)
  assert needed >= 8000 * 2 ** (5 / 12)
  with pytest.raises(ValueError, match=f"needs {needed}, got {needed - 1}"):
    augment.pitch_shift(wave[:needed - 1], 5.0, 8000)


def test_crop_pipeline_reads_enough_for_a_pitch_shift_and_returns_the_crop_length():
  data = {"long": _sine(440, 2.0), "short": _sine(440, 0.26)}  # 4160 samples: a 4000 crop, not a shift up
  reads = []
  def read(path, start, length):
    reads.append(length)
    return data[path][start:start + length]
  shifting = augment.WaveAugment(pitch_prob=1.0, pitch_semitones=4.0)
  assert shifting.active and shifting.frames_to_read(4000) == augment.frames_for_pitch_shift(4000, 4.0)
  items = [("long", 32000), ("short", 4160)]
  batch = pipelines.crop_dataset(items, read, pipelines.CropSpec("wave", 4000), batch_size=4, seed=0,
                                 augment=shifting)[0]["wave"]
  assert batch.shape == (4, 4000) and set(reads) == {shifting.frames_to_read(4000)}
  # Every crop is the 440 Hz tone moved by up to 4 semitones, so 440 Hz itself is mostly gone from the batch.
  assert np.mean([_amplitude(crop, 440.0) for crop in batch]) < 0.5


def test_config_errors_name_the_field():
  config = tokenizer_config.get_config("tiny")
  assert augment.from_config(config.data.augment).active
  with pytest.raises(ValueError, match=r"config\.data\.augment\.fade_prob=1\.5"):
    augment.from_config(dict(fade_prob=1.5))
  with pytest.raises(ValueError, match=r"config\.data\.augment\.lowpass_hz=\(7000\.0, 9000\.0\)"):
    augment.from_config(dict(lowpass_hz=(7000, 9000)))
  with pytest.raises(ValueError, match=r"unknown field\(s\) \['lowpass'\]"):
    augment.from_config(dict(lowpass=0.5))
  with pytest.raises(ValueError, match=r"config\.data\.augment\.pitch_semitones=13\.0"):
    augment.from_config(dict(pitch_prob=0.5, pitch_semitones=13.0))
