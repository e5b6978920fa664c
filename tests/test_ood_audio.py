"""The out-of-corpus music used to check the tokenizer: the synthetic piano and the two MMA pieces render."""

import numpy as np
import soundfile as sf

from genie_audio.testing import ood_audio


def test_piano_chords_are_stereo_and_ring_out():
  wave = ood_audio.piano_chords()
  assert wave.shape == (int(44100 * (1.6 * 5 + 1.0)), 2) and np.abs(wave).max() == np.float32(0.25)
  np.testing.assert_allclose(wave[:, 1], 0.9 * wave[:, 0], rtol=1e-6)


def test_mma_pieces_render_as_16khz_music(tmp_path):
  for name, (_, chords) in ood_audio.PIECES.items():
    out = tmp_path / f"{name}.wav"
    ood_audio.mma_piece(name, out, tmp_path / "work" / name)
    wave, rate = sf.read(out, dtype="float32")
    seconds = len(wave) / rate
    bars = len(chords.split()) + 1
    assert rate == 16000 and np.all(np.isfinite(wave)), name
    assert 2.0 * bars <= seconds <= 4.0 * bars, (name, seconds)  # 72-88 bpm: 2.7-3.3 s per 4/4 bar
    assert np.sqrt(np.mean(np.square(wave))) > 0.01, name  # sounding, not silence
