"""Tokenizer ablation arms (issue 10: where are the notes lost?), as a config file for launch/train.py.

    python launch/train.py --config experiments/tokenizer_arms.py:ARM --workdir runs/ablation/ARM \
        --config.data.dataset_dir=data/demo --config.total_steps=N

Every arm is configs/tokenizer.py:tiny with another model (all start from WAVE_TINY, the tiny preset before
the change); `experiments/tokenizer_ablation.py` trains and
scores them all. Arms (encoder input / what the decoder's flow runs on):
  wave_wave   the tiny preset before the change: conv stem over samples, flow on 20-sample patches
  stft_wave   STFT log-magnitude encoder, flow on waveform patches
  wave_stft   conv-stem encoder, flow on compressed STFT frames
  stft_stft   STFT encoder and STFT flow
  stft_stft_wide  stft_stft with the decoder widened to the wave decoder's CPU cost per step
  stft_plane  STFT encoder, STFT flow with a 2D U-Net over (frames, bins) (`models/spectral_unet.py`)
  wave_plane  conv-stem encoder, STFT flow with the 2D U-Net
  wave_scale24  wave_wave with the waveform scaled by 24 in the flow (12 in the preset)
  wave_lowt   wave_wave trained on diffusion times t = u^2 (more at low noise, where the fine detail is made)
  wave_stft_s28  wave_stft with the waveform scaled by 28 (compressed coefficients at about 2x the noise's std)

Issue 25's arms (the upper spectrum): each is configs/tokenizer.py:tiny as it was before the issue (DEMO_TINY_50HZ,
decoder widths (64, 128)) with one change, so `demo` is that demo tokenizer and `wide` today's:
  demo        the demo preset: flow on compressed STFT frames (hop 160), decoder widths (64, 128)
  band_norm   the flow's bands lifted to the loudest band's RMS, measured on the demo corpus (DEMO_BAND_RMS; the
              table in docs/tokenizer.md was run with the option's first form, every band divided to unit RMS)
  skip        the linear least-squares velocity added to the network's output (`velocity_skip`)
  band_norm_skip  both
  wide        the decoder's first width 64 -> 256 (642 coefficients then enter 256 channels)
  band_norm_skip_wide  all three
  band_norm_skip_lowt  band_norm_skip trained on t = u^2 (more steps at low noise, where the upper detail is made)
  wide512     the decoder's first width 512 (latent conditioning at 128)
  hop80       the flow on STFT frames at hop 80 (322 coefficients per frame into the 64 channels, 200 frames/s)

Issue 25's second round, on the demo preset after the first (WIDE_TINY_50HZ, decoder widths (256, 128), no
envelope): the flow's noise floor. Each arm changes one thing:
  preset      that preset as it was (wave_scale 28: compressed coefficients at about twice the noise's std)
  envelope    a spectral envelope in 32 mel bands predicted from the latent carries every bin (the velocity of
              Gaussian data with that envelope, `models/envelope.py`); the U-Net adds the partials. The head
              reads the latent as the flow made it (its likelihood does not train the encoder)
  envelope_enc  the same, with the head's likelihood also training the encoder
  envelope_enc01  envelope_enc with the likelihood weighted 0.1 (config.envelope_loss_weight): a weaker pull on the
              encoder (the demo preset since; the other envelope arms weight it 1.0)
  envelope_fine  envelope with a per-bin term added to the bands: it can place the variance on the partials
  envelope_enc01_fine  envelope_enc01 with the per-bin term: its likelihood asks the encoder for the partials
  envelope_enc01_h320  envelope_enc01 (the demo preset since) on STFT frames of hop 320, one per latent frame: bins
              of 12.5 Hz instead of 25 (1282 coefficients per frame, half as many frames)
  envelope_enc01_fine_h320  and the per-bin term
  envelope_enc01_fine_r4  envelope_enc01 with the 8 frames/s preset's head: per-bin, 256 wide, four convolutions
              (three residual); at 8 frames/s that head names the notes
  envelope_enc_fine_r4  the same with the likelihood weighted 1.0, as at 8 frames/s: it asks the encoder for
              each bin's level, the partials (the bands alone at 1.0 took the notes)
  envelope_enc01_l24  envelope_enc01 with a 24-channel latent instead of 16: room for the upper bands beside
              the notes (every arm that pulled the 16 channels towards the envelope took them from the notes)
  envelope_enc01_l32  and a 32-channel latent
  envelope_enc01_l32_fine_r4  envelope_enc01_l32 with envelope_enc01_fine_r4's deep per-bin head: a pull towards
              the upper bands that cost the 16-channel latent notes, on a latent with chroma to spare
  envelope_enc01_l32_h320  envelope_enc01_l32 on STFT frames of hop 320 (finer bins), the other such pull
  l32_upper3  envelope_enc01_l32 (the demo preset) with the flow loss weighted 3x above 2 kHz
              (config.flow_loss_band_weights, 1 kHz bands; ramping up from 1.5 kHz): the network's width spent
              on the partials there rather than on the loud low bins
  l32_upper10  the same, 10x
  l32_upper1p5, l32_upper2  the same, 1.5x and 2x (3x took the notes: chroma 0.95 -> 0.84)
  l32_w512    envelope_enc01_l32 with the decoder twice as wide (512, 256): does width add lines, where the
              weighting only moved them (equal steps, not equal time: a step costs about twice)
  l32_lowt    envelope_enc01_l32 with diffusion times u^2 (config.time_power 2): more training near the data,
              where the fine structure between partials is decided

Issue 25's 8 frames/s arms: configs/tokenizer_8hz.py:tiny as it was before them (WAVE_TINY_8HZ) with one change
each (8hz_h500_stft_fine was the preset since, then 8hz_h500_stft_fine_ec256):
  8hz          that preset: conv-stem encoder over the samples, strides (4, 5, 5, 4, 5), latent 20
  8hz_l32      a 32-channel latent
  8hz_wide     the encoder twice as wide after its stem (8, 16, 40, 100, 200, 200)
  8hz_deep     two residual blocks per encoder stage
  8hz_stft     an STFT log-magnitude encoder (hop 200, strides (2, 5))
  8hz_norm     the flow's bands lifted to the loudest band's RMS, measured on the data (config.flow_band_norm)
  8hz_norm_skip  and the linear velocity skip
  8hz_envelope  the envelope skip of the 50 frames/s preset (32 mel bands, likelihood 0.1 training the encoder)
  8hz_fine    8hz_envelope with the per-bin term: its likelihood asks the encoder for each bin's level, the partials
  8hz_fine_w1  8hz_fine with the likelihood weighted 1.0 (a stronger pull on the encoder)
  8hz_env_wide  8hz_envelope with the decoder's first width 256, the 50 frames/s preset's (802 coefficients per
              STFT frame go into it)
  8hz_stft_fine  the STFT encoder (the partials in its input) with 8hz_fine_w1's per-bin likelihood
  8hz_stft_fine_l64  and a 64-channel latent (DC-AE's recipe: more channels at a higher compression; 512 values
              per second, the 50 frames/s preset's 800)
  8hz_fine_l64  8hz_fine_w1 with the 64-channel latent
Long STFT windows at 8 frames/s: noise with a recording's own per-bin power, held for one latent frame, keeps its
notes only when the bins resolve semitones (`experiments/stft_resolution.py`: hop 200, n_fft 800, chroma 0.74
out of corpus; hop 500, n_fft 2000, 0.91). So the flow and the envelope run on frames of hop 500:
  8hz_h500_env  8hz_envelope on STFT frames of hop 500 (4 per latent frame, 1001 bins of 8 Hz)
  8hz_h500_fine  and the per-bin term, its likelihood weighted 1.0 (the encoder is asked for each bin's level)
  8hz_h500_stft_fine  and an STFT log-magnitude encoder at the same hop (the partials resolved in its input)
  8hz_h500_stft_env  that encoder with the bands alone (no per-bin term, weight 0.1): what the per-bin term adds
  8hz_h500_stft_fine_l64  8hz_h500_stft_fine with a 64-channel latent
  8hz_h1000_stft_fine  8hz_h500_stft_fine at hop 1000 (bins of 4 Hz, 2 frames per latent frame)
Rendered from its envelope alone (`experiments/envelope_share.py`), the adopted arm's 9000-step chain keeps 0.64 of
its 0.66 chroma out of corpus and 0.70 of 0.74 on the validation crops (silence: 0.49, 0.66): the per-bin envelope,
a linear read-out of a 64-channel head, names most of the notes. So a wider head, and a wider latent:
  8hz_h500_stft_fine_ec256  8hz_h500_stft_fine with the envelope head 256 channels wide
  8hz_h500_stft_fine_ec256_l64  and a 64-channel latent
  8hz_h500_stft_fine_ec512  the envelope head 512 channels wide
  8hz_h500_stft_fine_ec256_dw256  ec256 with the decoder's first width 256 (2002 coefficients per STFT frame go
              into it): room for the network to add the partials, as it does at 50 frames/s
  8hz_h500_stft_fine_ec256_d4  ec256 with four convolutions in the head instead of two (more context, and more
              non-linearity before the per-bin read-out); its loss turns non-finite near step 1480 (unscored)
A read-out linear in log power adds notes' spectra as products, not sums; a non-negative mixture of learnt spectra
(`envelope_templates`) can sum the notes of a chord:
  8hz_h500_stft_fine_ec256_t128  ec256 with its bands multiplied per bin by a mixture of 128 learnt spectra
  8hz_h500_stft_ec256_t128  the same without the per-bin term (the mixture alone says where the partials are)
Depth, made stable: the head's convolutions after the first as pre-norm residual blocks (`envelope_residual`):
  8hz_h500_stft_fine_ec256_r4  ec256 with four convolutions, three of them residual blocks
  8hz_h500_stft_fine_ec256_r8  and eight (more context: 8 latent frames, 1 s, each side)
The training around that preset (8hz_r4 = 8hz_h500_stft_fine_ec256_r4, the preset since, until 8hz_r4_l64 won in the
sixth round: the preset now, with its latent 64 wide):
  8hz_r4_lr1e3  the learning rate halved (1e-3; the loss is noisy at batch 8)
  8hz_r4_lr4e3  the learning rate doubled (4e-3)
  8hz_r4_crop2  crops of 2 s at batch 4 (the same audio per step): 16 latent frames per crop instead of 8, so
              fewer of them sit at a crop's edge, where the convolutions see zero padding
  8hz_r4_enc256  the STFT encoder 256 channels wide instead of 128 (1001 log-magnitudes go into its first layer)
  8hz_r4_b16  batch 16 instead of 8 (a step costs less than twice as much on CPU, and the loss is noisy at 8)
  8hz_r4_p240  and a harmonic term (`envelope_pitches`): 240 pitches, 3 to the semitone from 41 Hz, each raising
              its 16 partials with gains shared by all pitches, so a note is one number, not a spectrum to learn
  8hz_r4_pitch3  half the training crops pitch-shifted by U[-3, 3] semitones (`data.augment.pitch_prob`): the
              corpus's registers and keys widened, for the music unlike it
  8hz_r4_pitch6  and by U[-6, 6]
  8hz_r4_l32  the latent 32 wide instead of 20 (at 50 frames/s, 16 -> 32 channels carried the notes out of corpus)
  8hz_r4_l64  and 64 wide
  8hz_r4_l64_s1  8hz_r4_l64 from another seed (the run-to-run spread)
  8hz_r4_l128  the latent 128 wide
"""

import ml_collections

from configs import tokenizer
from configs.models import TOKENIZER

# The tiny 50 frames/s tokenizer before issue 10 (waveform in, flow on 20-sample patches): every arm's base.
WAVE_TINY = dict(TOKENIZER["wave_tiny"], patch_size=20, decoder_channels=(64, 128))

_STFT_ENCODER = dict(encoder_input="stft", stft_hop=160, strides=(2,), encoder_channels=(64, 64))
# wave_scale 7: compressed STFT coefficients of prepared audio (-23 LUFS) then have about unit variance
# (1.34 at the waveform's scale 12; compression at power 0.5 scales them by sqrt(scale)).
_STFT_FLOW = dict(flow_space="stft", stft_hop=160, stft_power=0.5, wave_scale=7.0)

ARMS = {
    "wave_wave": {},
    "stft_wave": _STFT_ENCODER,
    "wave_stft": _STFT_FLOW,
    "stft_stft": dict(_STFT_ENCODER, **_STFT_FLOW),
    "stft_stft_wide": dict(_STFT_ENCODER, **_STFT_FLOW, decoder_channels=(128, 256), decoder_depth=2),
    "stft_plane": dict(_STFT_ENCODER, **_STFT_FLOW, decoder_kind="unet2d", decoder_channels=(32, 64),
                       decoder_freq_patch=16, cond_channels=64),
    "wave_plane": dict(_STFT_FLOW, decoder_kind="unet2d", decoder_channels=(32, 64), decoder_freq_patch=16,
                       cond_channels=64),
    "wave_scale24": dict(wave_scale=24.0),
    "wave_lowt": {},
    "wave_stft_s28": dict(_STFT_FLOW, wave_scale=28.0),
}
# The demo's tiny_50hz before issue 25's envelope (the second round's base), and before its width (the first's).
_ENVELOPE_KEYS = ("envelope_bands", "envelope_trains_encoder", "envelope_fine")
# Their latent stays at 16 channels, the preset's until envelope_enc01_l32 won (the preset since).
WIDE_TINY_50HZ = dict({k: v for k, v in TOKENIZER["tiny_50hz"].items() if k not in _ENVELOPE_KEYS}, latent_dim=16)
DEMO_TINY_50HZ = dict(WIDE_TINY_50HZ, decoder_channels=(64, 128))
# RMS of the compressed STFT coefficients (hop 160, power 0.5, wave_scale 28) of 128 random 1 s training crops
# of the demo corpus in 16 bands of 500 Hz (`models.spectral.band_rms`): 5.1 at the bottom, 1 near 7 kHz.
DEMO_BAND_RMS = (5.12, 3.918, 3.147, 2.859, 2.668, 2.214, 1.776, 1.544, 1.378, 1.31, 1.2, 1.22, 1.143, 1.08, 0.963,
                 0.369)
_NORM, _SKIP, _WIDE = dict(flow_band_rms=DEMO_BAND_RMS), dict(velocity_skip=True), dict(decoder_channels=(256, 128))
DEMO_ARMS = {
    "demo": {},
    "band_norm": _NORM,
    "skip": _SKIP,
    "band_norm_skip": dict(_NORM, **_SKIP),
    "wide": _WIDE,
    "band_norm_skip_wide": dict(_NORM, **_SKIP, **_WIDE),
    "band_norm_skip_lowt": dict(_NORM, **_SKIP),
    "wide512": dict(decoder_channels=(512, 128), cond_channels=128),
    "hop80": dict(stft_hop=80),
}
# The 8 frames/s preset's envelope head (issue 25, fourth round): per-bin, 256 wide, four convolutions deep; arm
# 8hz_h500_stft_fine_ec256_r4 at 8 frames/s, envelope_enc*_fine_r4 at 50.
_DEEP_FINE_ENVELOPE = dict(envelope_bands=32, envelope_trains_encoder=True, envelope_fine=True, envelope_channels=256,
                           envelope_depth=4, envelope_residual=True)
_L32 = dict(envelope_bands=32, envelope_trains_encoder=True, latent_dim=32)  # envelope_enc01_l32, the demo preset
PRESET_ARMS = {
    "preset": {},
    "envelope": dict(envelope_bands=32),
    "envelope_enc": dict(envelope_bands=32, envelope_trains_encoder=True),
    "envelope_enc01": dict(envelope_bands=32, envelope_trains_encoder=True),
    "envelope_fine": dict(envelope_bands=32, envelope_fine=True),
    "envelope_enc01_fine": dict(envelope_bands=32, envelope_trains_encoder=True, envelope_fine=True),
    "envelope_enc01_h320": dict(envelope_bands=32, envelope_trains_encoder=True, stft_hop=320),
    "envelope_enc01_fine_h320": dict(envelope_bands=32, envelope_trains_encoder=True, envelope_fine=True,
                                     stft_hop=320),
    "envelope_enc01_fine_r4": dict(_DEEP_FINE_ENVELOPE),
    "envelope_enc_fine_r4": dict(_DEEP_FINE_ENVELOPE),
    "envelope_enc01_l24": dict(envelope_bands=32, envelope_trains_encoder=True, latent_dim=24),
    "envelope_enc01_l32": _L32,
    "envelope_enc01_l32_fine_r4": dict(_DEEP_FINE_ENVELOPE, latent_dim=32),
    "envelope_enc01_l32_h320": dict(envelope_bands=32, envelope_trains_encoder=True, latent_dim=32, stft_hop=320),
    **{arm: _L32 for arm in ("l32_upper1p5", "l32_upper2", "l32_upper3", "l32_upper10", "l32_lowt")},
    "l32_w512": dict(_L32, decoder_channels=(512, 256)),
}
# The demo's tiny_8hz before the long STFT windows (every 8 frames/s arm's base): a conv stem over the samples,
# strides (4, 5, 5, 4, 5), latent 20, the flow on STFT frames of hop 200.
WAVE_TINY_8HZ = dict(strides=(4, 5, 5, 4, 5), encoder_channels=(4, 8, 20, 50, 100, 100), encoder_depth=1,
                     latent_dim=20, patch_size=25, flow_space="stft", stft_hop=200, stft_power=0.5,
                     decoder_channels=(64, 128), decoder_depth=1, decoder_attn_depth=0, dtype="float32",
                     wave_scale=28.0)
_STFT_8HZ = dict(encoder_input="stft", stft_hop=200, strides=(2, 5), encoder_channels=(64, 64, 64))
# The STFT encoder and the envelope on frames of hop 500 (the 8 frames/s preset since, with envelope_fine).
_H500_STFT = dict(stft_hop=500, encoder_input="stft", strides=(4,), encoder_channels=(128, 128), envelope_bands=32,
                  envelope_trains_encoder=True)
# The 8 frames/s preset since the fourth round (arm 8hz_h500_stft_fine_ec256_r4): the fifth round's base.
_R4 = dict(_H500_STFT, **_DEEP_FINE_ENVELOPE)
EIGHT_HZ_ARMS = {
    "8hz": {},
    "8hz_l32": dict(latent_dim=32),
    "8hz_wide": dict(encoder_channels=(8, 16, 40, 100, 200, 200)),
    "8hz_deep": dict(encoder_depth=2),
    "8hz_stft": _STFT_8HZ,
    "8hz_norm": {},
    "8hz_norm_skip": _SKIP,
    "8hz_envelope": dict(envelope_bands=32, envelope_trains_encoder=True),
    "8hz_fine": dict(envelope_bands=32, envelope_trains_encoder=True, envelope_fine=True),
    "8hz_fine_w1": dict(envelope_bands=32, envelope_trains_encoder=True, envelope_fine=True),
    "8hz_env_wide": dict(envelope_bands=32, envelope_trains_encoder=True, decoder_channels=(256, 128)),
    "8hz_stft_fine": dict(_STFT_8HZ, envelope_bands=32, envelope_trains_encoder=True, envelope_fine=True),
    "8hz_stft_fine_l64": dict(_STFT_8HZ, envelope_bands=32, envelope_trains_encoder=True, envelope_fine=True,
                              latent_dim=64),
    "8hz_fine_l64": dict(envelope_bands=32, envelope_trains_encoder=True, envelope_fine=True, latent_dim=64),
    "8hz_h500_env": dict(stft_hop=500, envelope_bands=32, envelope_trains_encoder=True),
    "8hz_h500_fine": dict(stft_hop=500, envelope_bands=32, envelope_trains_encoder=True, envelope_fine=True),
    "8hz_h500_stft_fine": dict(_H500_STFT, envelope_fine=True),
    "8hz_h500_stft_env": _H500_STFT,
    "8hz_h500_stft_fine_l64": dict(_H500_STFT, envelope_fine=True, latent_dim=64),
    "8hz_h1000_stft_fine": dict(_H500_STFT, stft_hop=1000, strides=(2,), envelope_fine=True),
    "8hz_h500_stft_fine_ec256": dict(_H500_STFT, envelope_fine=True, envelope_channels=256),
    "8hz_h500_stft_fine_ec256_l64": dict(_H500_STFT, envelope_fine=True, envelope_channels=256, latent_dim=64),
    "8hz_h500_stft_fine_ec512": dict(_H500_STFT, envelope_fine=True, envelope_channels=512),
    "8hz_h500_stft_fine_ec256_d4": dict(_H500_STFT, envelope_fine=True, envelope_channels=256, envelope_depth=4),
    "8hz_h500_stft_fine_ec256_dw256": dict(_H500_STFT, envelope_fine=True, envelope_channels=256,
                                           decoder_channels=(256, 128)),
    "8hz_h500_stft_fine_ec256_t128": dict(_H500_STFT, envelope_fine=True, envelope_channels=256,
                                          envelope_templates=128),
    "8hz_h500_stft_ec256_t128": dict(_H500_STFT, envelope_channels=256, envelope_templates=128),
    "8hz_h500_stft_fine_ec256_r4": _R4,
    "8hz_h500_stft_fine_ec256_r8": dict(_R4, envelope_depth=8),
    "8hz_r4_lr1e3": _R4,
    "8hz_r4_lr4e3": _R4,
    "8hz_r4_crop2": _R4,
    "8hz_r4_enc256": dict(_R4, encoder_channels=(256, 256)),
    "8hz_r4_b16": _R4,
    "8hz_r4_p240": dict(_R4, envelope_pitches=240),
    "8hz_r4_pitch3": _R4,
    "8hz_r4_pitch6": _R4,
    "8hz_r4_l32": dict(_R4, latent_dim=32),
    "8hz_r4_l64": dict(_R4, latent_dim=64),
    "8hz_r4_l64_s1": dict(_R4, latent_dim=64),
    "8hz_r4_l128": dict(_R4, latent_dim=128),
}
# Arms that change the training rather than the model.
CONFIG = {"wave_lowt": dict(time_power=2.0), "band_norm_skip_lowt": dict(time_power=2.0),
          "envelope": dict(envelope_loss_weight=1.0), "envelope_enc": dict(envelope_loss_weight=1.0),
          "envelope_enc01": dict(envelope_loss_weight=0.1),
          "envelope_enc01_fine": dict(envelope_loss_weight=0.1), "envelope_enc01_h320": dict(envelope_loss_weight=0.1),
          "envelope_enc01_fine_h320": dict(envelope_loss_weight=0.1),
          "envelope_enc01_fine_r4": dict(envelope_loss_weight=0.1),
          "envelope_enc_fine_r4": dict(envelope_loss_weight=1.0),
          "envelope_enc01_l24": dict(envelope_loss_weight=0.1), "envelope_enc01_l32": dict(envelope_loss_weight=0.1),
          "envelope_enc01_l32_fine_r4": dict(envelope_loss_weight=0.1),
          "envelope_enc01_l32_h320": dict(envelope_loss_weight=0.1),
          "8hz_envelope": dict(envelope_loss_weight=0.1),
          "8hz_fine": dict(envelope_loss_weight=0.1), "8hz_fine_w1": dict(envelope_loss_weight=1.0),
          "8hz_env_wide": dict(envelope_loss_weight=0.1), "8hz_stft_fine": dict(envelope_loss_weight=1.0),
          "8hz_stft_fine_l64": dict(envelope_loss_weight=1.0), "8hz_fine_l64": dict(envelope_loss_weight=1.0),
          "8hz_h500_env": dict(envelope_loss_weight=0.1), "8hz_h500_fine": dict(envelope_loss_weight=1.0),
          "8hz_h500_stft_env": dict(envelope_loss_weight=0.1),
          **{arm: dict(envelope_loss_weight=1.0)
             for arm in ("8hz_h500_stft_fine", "8hz_h500_stft_fine_l64", "8hz_h1000_stft_fine",
                         "8hz_h500_stft_fine_ec256", "8hz_h500_stft_fine_ec256_l64", "8hz_h500_stft_fine_ec512",
                         "8hz_h500_stft_fine_ec256_dw256", "8hz_h500_stft_fine_ec256_d4",
                         "8hz_h500_stft_fine_ec256_t128", "8hz_h500_stft_ec256_t128",
                         "8hz_h500_stft_fine_ec256_r4", "8hz_h500_stft_fine_ec256_r8", "8hz_r4_enc256",
                         "8hz_r4_p240", "8hz_r4_l32", "8hz_r4_l64", "8hz_r4_l128")},
          "8hz_r4_l64_s1": dict(envelope_loss_weight=1.0, seed=1),
          "8hz_r4_lr1e3": dict(envelope_loss_weight=1.0, optim=dict(lr=1e-3)),
          "8hz_r4_lr4e3": dict(envelope_loss_weight=1.0, optim=dict(lr=4e-3)),
          "8hz_r4_crop2": dict(envelope_loss_weight=1.0, batch_size=4, data=dict(crop_seconds=2.0)),
          "8hz_r4_b16": dict(envelope_loss_weight=1.0, batch_size=16),
          **{f"8hz_r4_pitch{n}": dict(envelope_loss_weight=1.0,
                                      data=dict(augment=dict(pitch_prob=0.5, pitch_semitones=float(n))))
             for n in (3, 6)},
          "envelope_fine": dict(envelope_loss_weight=1.0),
          **{f"l32_upper{name}": dict(envelope_loss_weight=0.1, flow_loss_band_weights=(1.0, 1.0) + (w,) * 6)
             for name, w in (("1p5", 1.5), ("2", 2.0), ("3", 3.0), ("10", 10.0))},
          "l32_lowt": dict(envelope_loss_weight=0.1, time_power=2.0), "l32_w512": dict(envelope_loss_weight=0.1),
          "8hz_norm": dict(flow_band_norm=16), "8hz_norm_skip": dict(flow_band_norm=16)}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  known = sorted(ARMS) + sorted(DEMO_ARMS) + sorted(PRESET_ARMS) + sorted(EIGHT_HZ_ARMS)
  if arg not in known:
    raise ValueError(f"unknown arm {arg!r}; known: {known}")
  c = tokenizer.get_config("tiny")
  if arg in DEMO_ARMS:
    c.model = ml_collections.ConfigDict(dict(DEMO_TINY_50HZ, **DEMO_ARMS[arg]))
  elif arg in PRESET_ARMS:
    c.model = ml_collections.ConfigDict(dict(WIDE_TINY_50HZ, **PRESET_ARMS[arg]))
  elif arg in EIGHT_HZ_ARMS:
    c.model = ml_collections.ConfigDict(dict(WAVE_TINY_8HZ, **EIGHT_HZ_ARMS[arg]))
  else:
    c.model = ml_collections.ConfigDict(dict(WAVE_TINY, **ARMS[arg]))
  c.update(CONFIG.get(arg, {}))
  return c
