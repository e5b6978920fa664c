"""Tests for genie_audio/data/audio.py: downmix, resampling, loudness, silence trimming, bad-input reasons."""

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from genie_audio.data import audio

SR = 16000


def tone(freq, seconds, rate=SR, amp=0.3):
  t = np.arange(int(seconds * rate)) / rate
  return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_frequency(x, rate):
  spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
  return np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)]


def test_to_mono_averages_channels():
  x = np.stack([np.ones(10, np.float32), np.zeros(10, np.float32)], axis=1)
  y = audio.to_mono(x)
  assert y.shape == (10,) and y.dtype == np.float32
  np.testing.assert_allclose(y, 0.5)
  np.testing.assert_array_equal(audio.to_mono(np.arange(4.0)), np.arange(4.0))


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resample_length_and_frequency(rate):
  x = tone(440.0, 2.0, rate)
  y = audio.resample(x, rate)
  assert y.dtype == np.float32
  assert abs(len(y) - 2 * SR) <= 1
  assert abs(peak_frequency(y, SR) - 440.0) < 2.0
  # A real resampler keeps the level (no aliasing loss, no gain).
  assert abs(np.sqrt(np.mean(y[SR // 2:-SR // 2] ** 2)) - 0.3 / np.sqrt(2)) < 0.01


def test_resample_same_rate_is_identity():
  x = tone(100.0, 0.5)
  np.testing.assert_array_equal(audio.resample(x, SR), x)


@pytest.mark.parametrize("level", [0.003, 0.05, 0.5])
def test_loudness_normalisation_hits_target(level):
  rng = np.random.default_rng(0)
  x = (level * (tone(220, 3.0, amp=1.0) + 0.5 * tone(330, 3.0, amp=1.0) + 0.1 * rng.standard_normal(3 * SR)))
  y = audio.normalize_loudness(x.astype(np.float32), SR, target_lufs=-23.0)
  assert abs(pyloudnorm.Meter(SR).integrated_loudness(y.astype(np.float64)) - (-23.0)) < 1.0
  assert np.max(np.abs(y)) <= 0.99


def test_loudness_peak_guard_scales_down_peaky_audio():
  x = np.zeros(3 * SR, np.float32)
  x[::4000] = 1.0  # clicks: very low loudness, so the target gain would push the peaks far above 1
  y = audio.normalize_loudness(x, SR, target_lufs=-10.0)
  assert np.max(np.abs(y)) == pytest.approx(0.99, abs=1e-6)


def test_loudness_of_clip_shorter_than_gating_block():
  x = tone(440, 0.2)
  y = audio.normalize_loudness(x, SR)
  assert np.all(np.isfinite(y)) and 0 < np.max(np.abs(y)) <= 0.99
  assert abs(audio.loudness(y, SR) - (-23.0)) < 0.5


def test_trim_silence_shortens_long_gap_and_keeps_music():
  music = tone(440, 2.0)
  x = np.concatenate([np.zeros(SR // 2), music, np.zeros(3 * SR), music, np.zeros(SR)]).astype(np.float32)
  y = audio.trim_silence(x, SR, max_gap_s=1.0, keep_gap_s=0.25)
  # 4 s of music, a 0.25 s gap and 2 x 0.05 s of edge, give or take a 20 ms frame at each cut.
  assert abs(len(y) / SR - 4.35) < 0.1
  assert np.sum(y ** 2) == pytest.approx(2 * np.sum(music ** 2), rel=0.01)


def test_trim_silence_keeps_short_gaps():
  x = np.concatenate([tone(440, 1.0), np.zeros(SR // 2), tone(440, 1.0)]).astype(np.float32)
  assert len(audio.trim_silence(x, SR)) == len(x)


def test_validate_reasons():
  with pytest.raises(audio.BadAudioError) as e:
    audio.validate(np.zeros(0, np.float32), SR)
  assert e.value.reason == audio.EMPTY
  with pytest.raises(audio.BadAudioError) as e:
    audio.validate(np.full(2 * SR, 1e-5, np.float32), SR)
  assert e.value.reason == audio.SILENT
  with pytest.raises(audio.BadAudioError) as e:
    audio.validate(tone(440, 0.3), SR)
  assert e.value.reason == audio.TOO_SHORT
  x = tone(440, 2.0)
  x[100] = np.nan
  with pytest.raises(audio.BadAudioError) as e:
    audio.validate(x, SR)
  assert e.value.reason == audio.NON_FINITE
  audio.validate(tone(440, 2.0), SR)


def test_process_file_good_and_bad(tmp_path):
  good = tmp_path / "good.wav"
  sf.write(good, np.stack([tone(440, 2.0, 44100), tone(660, 2.0, 44100)], axis=1), 44100)
  y, rate, channels = audio.process_file(good)
  assert (rate, channels, y.dtype) == (44100, 2, np.float32) and abs(len(y) - 2 * SR) < 0.1 * SR

  (tmp_path / "text.wav").write_text("this is not audio")
  (tmp_path / "empty.wav").write_bytes(b"")
  sf.write(tmp_path / "silent.wav", np.zeros(2 * SR, np.float32), SR)
  nan = tone(440, 2.0)
  nan[10:20] = np.nan
  sf.write(tmp_path / "nan.wav", nan, SR, subtype="FLOAT")
  sf.write(tmp_path / "short.wav", tone(440, 0.2), SR)
  expected = {"text.wav": audio.UNDECODABLE, "empty.wav": audio.EMPTY, "silent.wav": audio.SILENT,
              "nan.wav": audio.NON_FINITE, "short.wav": audio.TOO_SHORT}
  for name, reason in expected.items():
    with pytest.raises(audio.BadAudioError) as e:
      audio.process_file(tmp_path / name)
    assert e.value.reason == reason, name
