"""Stage 1, the diffusion tokenizer at high compression: 16 kHz waveform -> 8 latent frames/s (stride 2000).

    python launch/train.py --config configs/tokenizer_8hz.py --workdir runs/tokenizer_8hz              # GPU
    python launch/train.py --config configs/tokenizer_8hz.py:tiny --workdir runs/tok8_tiny              # CPU
        # 3000 steps on 2 cores (flow on STFT frames): validation mel distance 4.06 (envelope vocoder 3.05),
        # chroma similarity 0.65 (vocoder 0.67, silence 0.65): at this size and rate it carries no notes yet

Same fields as configs/tokenizer.py (progressive training, evaluation, ...); only the model differs.
"""

import ml_collections

from configs import models, tokenizer


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  return tokenizer.build(arg, models.TOKENIZER["full_8hz"], models.TOKENIZER["tiny_8hz"])
