"""Stage 1, the diffusion tokenizer at high compression: 16 kHz waveform -> 8 latent frames/s (stride 2000).

    python launch/train.py --config configs/tokenizer_8hz.py --workdir runs/tokenizer_8hz              # GPU
    python launch/train.py --config configs/tokenizer_8hz.py:tiny --workdir runs/tok8_tiny              # CPU
        # STFT encoder, flow on STFT frames of hop 500 with a per-bin envelope (configs/models.py tiny_8hz)

Same fields as configs/tokenizer.py (progressive training, evaluation, ...); only the model differs.
"""

import ml_collections

from configs import models, tokenizer


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = tokenizer.build(arg, models.TOKENIZER["full_8hz"], models.TOKENIZER["tiny_8hz"])
  # The per-bin envelope's likelihood is what asks the encoder for the partials at this rate (without the
  # per-bin term the same encoder carried no notes); every arm that carried notes weighted it 1.0, the
  # 50 frames/s preset's 0.1 was not measured with this encoder (issue 25, docs/tokenizer.md "8 frames/s").
  c.envelope_loss_weight = 1.0
  return c
