"""Model presets: the `config.model` dicts of the tokenizer sizes, in one place.

A stage's config file puts one of these (or its own dict) into `config.model`; the model is then built from
`config.model` by one function per model: `models.tokenizer.tokenizer_from_config`, `models.lam.lam_from_config`,
`models.dynamics.dynamics_from_config`. The LAM and dynamics sizes live in `configs/lam.py` and
`configs/dynamics.py`, beside the fields that must agree with them.

Adam train step, batch 8 x 1 s, float32, on 2 CPU cores: wave_tiny 0.13 s (~450 steps/min). Timed together
(median of 3, issue 25's fifth round): full_50hz 2.5 s, full_8hz 0.66 s (its hop-500 STFT frames are 4 per
latent frame; on hop 200 it took 2.9 s).
"""

TOKENIZER: dict[str, dict] = {
    # The smallest model, the flow on 40-sample waveform patches: 50 frames/s, 0.25M params (tests, arms).
    "wave_tiny": dict(strides=(2, 4, 5, 8), encoder_channels=(4, 8, 16, 40, 64), encoder_depth=1, latent_dim=16,
                      patch_size=40, decoder_channels=(32, 64), decoder_depth=1, decoder_attn_depth=0,
                      dtype="float32", wave_scale=12.0),
    # GPU size, 16 kHz -> 50 frames/s (stride 320); the flow on compressed STFT frames at 100 frames/s (the
    # CPU ablation's winner, configs/tokenizer.py); 42.2M params.
    "full_50hz": dict(strides=(2, 4, 5, 8), encoder_channels=(32, 64, 128, 320, 512), encoder_depth=2,
                      latent_dim=64, patch_size=40, flow_space="stft", stft_hop=160, stft_power=0.5,
                      decoder_channels=(256, 512, 512), decoder_depth=2, decoder_attn_depth=2, decoder_heads=8,
                      dtype="bfloat16", wave_scale=28.0),
    # GPU size, 16 kHz -> 8 frames/s (stride 2000): the CPU preset's recipe below at GPU width (issue 25). The
    # encoder reads STFT log-magnitudes of hop 500 (bins of 8 Hz, which resolve semitones; at hop 200 even a
    # recording's own per-bin power scores only chroma 0.74 out of corpus, at hop 500 0.90), the flow runs on
    # those STFT frames (4 per latent frame), and the per-bin envelope, 512 wide and four convolutions deep
    # (three residual), asks the latent for each bin's level. Not yet trained at this size.
    "full_8hz": dict(encoder_input="stft", stft_hop=500, strides=(2, 2), encoder_channels=(256, 512, 512),
                     encoder_depth=2, latent_dim=128, patch_size=25, flow_space="stft", stft_power=0.5,
                     decoder_channels=(256, 512, 512), decoder_depth=2, decoder_attn_depth=2, decoder_heads=8,
                     dtype="bfloat16", wave_scale=28.0, envelope_bands=32, envelope_trains_encoder=True,
                     envelope_fine=True, envelope_channels=512, envelope_depth=4, envelope_residual=True),
    # CPU size at 8 frames/s (issue 25, docs/tokenizer.md "8 frames/s"). Noise with a recording's own power per
    # STFT bin, held for one latent frame, keeps the notes only where the bins resolve semitones: so the encoder
    # reads STFT log-magnitudes and the flow runs on STFT frames of hop 500 (window 2000, bins of 8 Hz, 4 per
    # latent frame), and a per-bin envelope (`envelope_fine`, its likelihood weighted 1.0 in
    # configs/tokenizer_8hz.py) asks the latent for each bin's level. At equal CPU time, chroma similarity
    # 0.63 -> 0.74 on the validation crops, 0.52 -> 0.57 on music unlike the corpus, above the envelope vocoder
    # of the same 20 values per frame on both (0.67, 0.48). A 64-channel latent scored 0.75 / 0.67, but below
    # its own vocoder of 64 bands on the validation crops (0.81). Rendered from the envelope alone, the model
    # keeps most of its chroma, so the envelope head names the notes: 256 channels wide instead of 64 (its
    # per-bin read-out is linear in them), 0.73 -> 0.76 and 0.57 -> 0.70 at equal CPU time; and four
    # convolutions deep, the last three pre-norm residual blocks (a plain stack of four diverged), 0.76 -> 0.78
    # and 0.69 -> 0.72. With that head the latent's width pays again: in the 9000-step chain 20 -> 32 -> 64
    # channels score 0.78 -> 0.80 -> 0.83 on the validation crops and 0.72 -> 0.78 -> 0.82 out of corpus, above a
    # vocoder of as many bands (64 bands: 0.81, 0.63); coded, 64 channels keep 0.80 / 0.82 at 1.1 kbit/s. On 64
    # the 32-wide LAM steers as on 20 (dynamics action accuracy 0.68), on 32 better (0.80).
    "tiny_8hz": dict(encoder_input="stft", stft_hop=500, strides=(4,), encoder_channels=(128, 128),
                     encoder_depth=1, latent_dim=64, patch_size=25, flow_space="stft", stft_power=0.5,
                     decoder_channels=(64, 128), decoder_depth=1, decoder_attn_depth=0, dtype="float32",
                     wave_scale=28.0, envelope_bands=32, envelope_trains_encoder=True, envelope_fine=True,
                     envelope_channels=256, envelope_depth=4, envelope_residual=True),
}
# The CPU demo's tokenizer: the wave_tiny encoder; the decoder's flow runs on compressed STFT frames (hop 160,
# 100 frames/s), not on waveform patches. At equal CPU time (experiments/tokenizer_ablation.py) the flow on
# 20-sample patches kept the envelope but blurred the notes (chroma similarity 0.77 on music unlike the corpus);
# on STFT frames it renders them into the right bins (0.91). wave_scale 28 puts the compressed coefficients at
# about twice the noise's std (the same lesson as the waveform's scale: 28 vs 7 took the validation mel
# distance from 4.0 to 3.5). The decoder's first width is 256 (issue 25): every STFT frame's 642 coefficients
# enter and leave the U-Net through it, and at 64 the network dropped every bin above ~2.4 kHz (their in and out
# weights stayed near zero) and left the sampler's noise there; at 256 the drop moves to ~3.4 kHz and the mel
# distance falls on both evaluation sets (docs/tokenizer.md, experiments/tokenizer_arms.py `wide`).
# A spectral envelope predicted from the latent carries every bin (`envelope_bands`, models/envelope.py; its
# likelihood, weighted 0.1 in configs/tokenizer.py, also trains the encoder): where the U-Net gives up, the
# output follows the music's envelope instead of the sampler's noise; at equal steps chroma similarity 0.86 ->
# 0.92 and mel distance 3.26 -> 2.48 on the validation crops, mel 4.54 -> 3.16 on music unlike the corpus
# (`envelope_enc01` in docs/tokenizer.md). The latent has 32 channels, not wave_tiny's 16: every pull on 16 channels
# towards the envelope took them from the notes, and at equal CPU time (a step costs the same) 32 channels scored
# chroma 0.921 -> 0.946 on the validation crops and 0.888 -> 0.962 on music unlike the corpus (`envelope_enc01_l32`).
TOKENIZER["tiny_50hz"] = dict(TOKENIZER["wave_tiny"], flow_space="stft", stft_hop=160, stft_power=0.5,
                              wave_scale=28.0, decoder_channels=(256, 128), envelope_bands=32,
                              envelope_trains_encoder=True, latent_dim=32)
