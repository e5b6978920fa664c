"""LAM ablation arms (issue 11: actions that are moves, not volume levels), as a config file.

    python launch/train.py --config experiments/lam_arms.py:ARM --workdir runs/lam_ablation/ARM \
        --config.init.tokenizer.workdir=runs/demo/tokenizer --config.total_steps=1500

Every arm is configs/lam.py:tiny with a few fields changed; `experiments/lam_ablation.py` trains, scores and
tabulates them. All arms have the same network and window, so equal steps are equal compute (the encoder views
and the loss weighting cost a few elementwise operations; the residual views add two decoder forward passes
per step, about a third more compute at the tiny size).
  base          the tiny preset before issue 11: the encoder sees the raw window, the loss scores raw latents
  norm          the encoder sees each window standardised per channel (no absolute level or colour)
  delta         the encoder sees the frame-to-frame change of each channel
  wstd          the loss divides each channel's error by its variance in the window
  norm_wstd     norm + wstd
  short_masks   hidden runs of 1-2 steps between visible steps, no long blocks (every hidden step has context
                on both sides, so its level is predictable and the action is left to carry the change)
  norm_short    norm + short_masks
  norm_16       norm with 16 actions
  norm_r5       norm with 5 latent frames (0.1 s) per action
  sdelta        the encoder sees each frame minus the frame one step earlier (step-to-step change)
  sdelta_steps  sdelta + steps
  sdelta_short  sdelta + short_masks: the step before a hidden step is mostly visible, so a change-coding
                action has something to change from (Genie's setting: the past and the action give the next)
  steps         the loss scores each hidden step's mean latent (what a step does as a whole), not its frames
  norm_steps    norm + steps
  norm_steps_16 norm_steps with 16 actions
  causal        the encoder's steps see only themselves and their past (Genie's LAM encoder)
  norm_causal   norm + causal
  norm_sdelta   the encoder sees norm's and sdelta's views side by side
  norm_residual the encoder sees norm's view and, beside it, each frame's residual after the decoder's
                context-only prediction (its step hidden, the neighbour steps visible, no action)
  residual      the encoder sees only the residual (norm_residual without norm's view)
  level_side    norm, and the decoder gets every step's level (projection on the training latents' first
                principal component) as a side input, so the actions need not carry it
  norm_residual_level  norm_residual + level_side
  level_side_steps  level_side scored on step means (no within-step detail to chase once the level is given)
  level_side_wstd   level_side with each channel's error divided by its window variance
  norm_s1, residual_s1, sdelta_s1, sdelta_short_s1  those arms with another seed (init, data order, masks):
                the run-to-run spread
Size arms (more compute per step than the others, at the same steps; candidates for the tiny preset):
  big           base with a wider, deeper LAM (model_dim 64, two encoder and two decoder blocks)
  norm_big      norm at that size
  norm_16_big   norm_16 at that size
  level_side_big  level_side at that size (does a bigger LAM find moves once the level is given?)
  residual_big  residual at that size
  sdelta_big    sdelta at that size (sdelta names moves best; does size make its actions inform the steps?)
  sdelta_short_big  sdelta_short at that size
  sdelta_short_wstd  sdelta_short with each channel's error divided by its window variance (issue 25: on the
                32-channel latent no channel should win the loss by its scale alone)
  sdelta_short_w64  sdelta_short with model_dim 64 at depth 1 (the width alone, for a wider latent)
  sdelta_short_w64_s1  that arm with another seed
"""

import ml_collections

from configs import lam

_NORM = {"model.encoder_view": "window_norm"}
_BIG = {"model.model_dim": 64, "model.encoder_depth": 2, "model.decoder_depth": 2, "model.num_heads": 4}
_SHORT = {"mask.rate": 0.35, "mask.max_span": 2, "mask.block_prob": 0.0}

ARMS = {
    "base": {},
    "norm": _NORM,
    "delta": {"model.encoder_view": "delta"},
    "wstd": {"loss_weighting": "window_std"},
    "norm_wstd": dict(_NORM, loss_weighting="window_std"),
    "short_masks": _SHORT,
    "norm_short": dict(_NORM, **_SHORT),
    "norm_16": dict(_NORM, **{"model.num_actions": 16}),
    "norm_r5": dict(_NORM, **{"model.frames_per_action": 5}),
    "sdelta": {"model.encoder_view": "step_delta"},
    "sdelta_steps": {"model.encoder_view": "step_delta", "loss_space": "step_means"},
    "steps": {"loss_space": "step_means"},
    "norm_steps": dict(_NORM, loss_space="step_means"),
    "norm_steps_16": dict(_NORM, loss_space="step_means", **{"model.num_actions": 16}),
    "causal": {"model.encoder_attention": "step_causal"},
    "norm_causal": dict(_NORM, **{"model.encoder_attention": "step_causal"}),
    "norm_sdelta": {"model.encoder_view": "norm_and_step_delta"},
    "norm_residual": {"model.encoder_view": "norm_and_residual"},
    "residual": {"model.encoder_view": "residual"},
    "level_side": dict(_NORM, **{"model.decoder_level_input": True}),
    "level_side_steps": dict(_NORM, loss_space="step_means", **{"model.decoder_level_input": True}),
    "level_side_wstd": dict(_NORM, loss_weighting="window_std", **{"model.decoder_level_input": True}),
    "norm_s1": dict(_NORM, seed=1),
    "residual_s1": {"model.encoder_view": "residual", "seed": 1},
    "norm_residual_level": {"model.encoder_view": "norm_and_residual", "model.decoder_level_input": True},
    "big": _BIG,
    "norm_big": dict(_NORM, **_BIG),
    "norm_16_big": dict(_NORM, **_BIG, **{"model.num_actions": 16}),
    "level_side_big": dict(_NORM, **_BIG, **{"model.decoder_level_input": True}),
    "residual_big": dict(_BIG, **{"model.encoder_view": "residual"}),
    "sdelta_s1": {"model.encoder_view": "step_delta", "seed": 1},
    "sdelta_big": dict(_BIG, **{"model.encoder_view": "step_delta"}),
    "sdelta_short": dict(_SHORT, **{"model.encoder_view": "step_delta"}),
    "sdelta_short_s1": dict(_SHORT, **{"model.encoder_view": "step_delta", "seed": 1}),
    "sdelta_short_big": dict(_BIG, **_SHORT, **{"model.encoder_view": "step_delta"}),
    "sdelta_short_wstd": dict(_SHORT, loss_weighting="window_std", **{"model.encoder_view": "step_delta"}),
    "sdelta_short_w64": dict(_SHORT, **{"model.encoder_view": "step_delta", "model.model_dim": 64}),
    "sdelta_short_w64_s1": dict(_SHORT, **{"model.encoder_view": "step_delta", "model.model_dim": 64, "seed": 1}),
}
# Every field the arms change, at the value of the base arm (so an arm states its whole difference).
BASE = {"model.encoder_view": "window", "loss_weighting": "none", "mask.rate": 0.5, "mask.max_span": 4,
        "mask.block_prob": 0.2, "model.num_actions": 8, "model.frames_per_action": 10,
        "loss_space": "frames", "model.model_dim": 32, "model.encoder_depth": 1, "model.decoder_depth": 1,
        "model.num_heads": 2,
        "model.encoder_attention": "bidirectional", "model.decoder_level_input": False, "seed": 0}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  if arg not in ARMS:
    raise ValueError(f"unknown arm {arg!r}; known: {sorted(ARMS)}")
  c = lam.get_config("tiny")
  for field, value in dict(BASE, **ARMS[arg]).items():
    *parents, leaf = field.split(".")
    node = c
    for parent in parents:
      node = node[parent]
    node[leaf] = value
  return c
