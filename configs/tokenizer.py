"""Stage 1, the diffusion tokenizer (DiTo in 1D): 16 kHz waveform -> 50 latent frames/s.

    python launch/prepare_data.py --demo --output data/demo      # or --input YOUR_AUDIO --output data/NAME
    python launch/train.py --config configs/tokenizer.py --workdir runs/tokenizer                   # GPU size
    python launch/train.py --config configs/tokenizer.py:tiny --workdir runs/tok_tiny
        # CPU size, 3000 steps (~14 min on 2 cores): validation chroma similarity 0.95 (envelope vocoder of
        # 32 bands 0.72, Opus 6 kbit/s 0.95), mel distance 2.16 (2.06, 3.51); docs/tokenizer.md

Progressive training on longer crops (1 s -> 2 s -> 5 s), starting from the previous run's params and
tuning only the middle (lowest-rate) layers of the decoder:

    python launch/train.py --config configs/tokenizer.py --workdir runs/tokenizer_2s \
        --config.data.crop_seconds=2 --config.init.workdir=runs/tokenizer \
        --config.optim.trainable='^decoder/(mid_attn|enc2_|dec2_)'

Then: launch/evaluate.py, launch/reconstruct.py and launch/encode.py with --workdir of the run.
"""

import ml_collections

from configs import common, models


def build(arg: str | None, model: dict, tiny_model: dict) -> ml_collections.ConfigDict:
  """The tokenizer config around a model dict (shared by the 50 and 8 frames/s files)."""
  arg = common.parse_arg(arg, preset="default")
  tiny = arg.preset == "tiny"
  c = common.base_config()
  c.task = "tokenizer"
  c.model = ml_collections.ConfigDict(dict(tiny_model if tiny else model))
  c.data.crop_seconds = 1.0      # training crop; crop_frames = crop_seconds * 16000, a multiple of the stride
  # Random band limits and fades of training crops (genie_audio/data/augment.py): the latent must then carry
  # the spectral envelope and level, instead of the decoder painting in the corpus's full-band texture.
  c.data.augment = ml_collections.ConfigDict(dict(
      lowpass_prob=0.3, lowpass_hz=(1000.0, 7000.0), highpass_prob=0.2, highpass_hz=(40.0, 400.0), order=2,
      fade_prob=0.2, fade_db=40.0))
  c.noise_sync_prob = 0.1        # DiTo noise synchronisation: share of samples with a noised latent
  # Bands (equal width, 0 Hz to Nyquist) in which the STFT flow's coefficients are lifted to the loudest band's
  # RMS, measured on the training data when the run starts (config.model.flow_band_rms, kept in config.json);
  # 0: off (issue 25: it reached the upper bins but cost the notes at CPU size, docs/tokenizer.md).
  c.flow_band_norm = 0
  # The envelope head's likelihood beside the flow loss (model.envelope_bands > 0). With envelope_trains_encoder
  # it also pulls on the encoder: at 1.0 the 16-channel latent went to the envelope and the notes went (issue 25).
  c.envelope_loss_weight = 0.1
  # Weights of the flow loss per equal-width band, 0 Hz to Nyquist (linear between band centres, scaled to mean
  # 1); (): every STFT coefficient alike (issue 25's frequency-dependent weighting).
  c.flow_loss_band_weights = ()
  c.time_power = 1.0             # diffusion times t = u^time_power, u ~ U[0, 1] (> 1: more training at low noise)
  c.init = ml_collections.ConfigDict(dict(workdir=""))  # start from this run's params (progressive training)
  c.optim.trainable = ""         # regex over param paths ('decoder/mid_attn0/...'); empty = all train
  c.eval = ml_collections.ConfigDict(dict(
      num_clips=16, clip_seconds=2.0,   # fixed validation crops, chosen deterministically
      sampler_steps=25, method="euler", seed=0,
      chunk_seconds=2.0, overlap_seconds=0.25))  # whole-file decoding (launch/evaluate.py --audio)
  # Attention kernel and block remat (docs/scale.md, "Many devices and hosts"; defaults from benchmarks/memory.py).
  c.model.attention = "auto"
  c.model.remat = "none"
  if tiny:  # CPU size: 3000 steps take ~12 minutes on 2 cores
    c.total_steps = 3000
    c.batch_size = 8
    c.optim.lr = 2e-3
    c.optim.warmup_steps = 100
    c.ema_decay = 0.99
    c.log_every_steps = 25
    c.eval_every_steps = 250
    c.checkpoint_every_steps = 250
    c.eval.num_clips = 4
    c.eval.sampler_steps = 16
  else:  # one GPU (H100-size), bf16 compute
    c.total_steps = 200_000
    c.batch_size = 64
    c.optim.lr = 3e-4
    c.optim.warmup_steps = 2000
    c.ema_decay = 0.9995
    c.log_every_steps = 100
    c.eval_every_steps = 5000
    c.checkpoint_every_steps = 5000
  return c


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  return build(arg, models.TOKENIZER["full_50hz"], models.TOKENIZER["tiny_50hz"])
