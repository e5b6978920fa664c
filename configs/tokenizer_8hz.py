"""Stage 1, the diffusion tokenizer at high compression: 16 kHz waveform -> 8 latent frames/s (stride 2000).

    python launch/train.py --config configs/tokenizer_8hz.py --workdir runs/tokenizer_8hz              # GPU
    python launch/train.py --config configs/tokenizer_8hz.py:tiny --workdir runs/tok8_tiny              # CPU
        # 3000 steps on 2 cores (flow on STFT frames): validation mel distance 4.06 (envelope vocoder 3.05),
        # chroma similarity 0.65 (vocoder 0.67, silence 0.65): at this size and rate it carries no notes yet

Same fields as configs/tokenizer.py (progressive training, evaluation, ...); only the model differs.
"""

import ml_collections

from configs import tokenizer
from genie_audio.models.tokenizer import PRESETS

# CPU size at stride 4*5*5*4*5 = 2000; widths satisfy the DC-AE rules at the factors of 5; the flow runs on
# compressed STFT frames at hop 200 (80 frames/s; hop 160 does not divide the stride), as in configs/tokenizer.py.
TINY_8HZ = dict(strides=(4, 5, 5, 4, 5), encoder_channels=(4, 8, 20, 50, 100, 100), encoder_depth=1,
                latent_dim=20, patch_size=25, flow_space="stft", stft_hop=200, stft_power=0.5,
                decoder_channels=(64, 128), decoder_depth=1, decoder_attn_depth=0, dtype="float32", wave_scale=28.0)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  return tokenizer.build(arg, PRESETS["full_8hz"], TINY_8HZ)
