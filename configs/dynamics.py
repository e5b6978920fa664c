"""Masked dynamics model (stage 3) on the 50 frames/s latents, conditioned on the LAM's actions.

    python launch/train.py --config configs/dynamics.py --workdir runs/dynamics \
        --config.init.lam.workdir=runs/lam                                   # after stages 1 and 2
    python launch/evaluate.py --workdir runs/dynamics                        # in-painting, seams, action accuracy
    python launch/edit.py --workdir runs/dynamics --input song.wav --start 12.5 --end 15.0 --actions 3,3,5,5 \
        --output out.wav
    python launch/train.py --config configs/dynamics.py:tiny --workdir runs/dyn_tiny    # CPU size, reads runs/lam_tiny

The run reads everything upstream through `init.lam.workdir`: the LAM run's config gives the latent folder, the
latent width, the number of actions and R (latent frames per action); the latents' `latents.json` gives the
tokenizer run that decodes edits. Every recording is labelled once with the frozen LAM's action timeline
(cached in WORKDIR/action_labels.npz). `configs/dynamics_8hz.py` reuses `dynamics_config` for 8 frames/s.
"""

from __future__ import annotations

import os

import ml_collections

from configs import common


def dynamics_config(preset: str, *, window_frames: int, lam_workdir: str, tiny_window_frames: int,
                    tiny_lam_workdir: str) -> ml_collections.ConfigDict:
  """The dynamics config; the tiny_* arguments describe the tiny LAM run that `:tiny` reads."""
  c = common.base_config()
  c.task = "dynamics"
  c.total_steps = 200_000
  c.batch_size = 64
  c.optim.lr = 3e-4
  c.optim.warmup_steps = 2_000
  c.ema_decay = 0.9995
  c.log_every_steps = 100
  c.eval_every_steps = 5_000
  c.checkpoint_every_steps = 5_000
  c.init = ml_collections.ConfigDict(dict(lam=ml_collections.ConfigDict(dict(workdir=lam_workdir))))
  c.data.window_frames = window_frames  # T, a multiple of the LAM's frames_per_action
  # attention, remat: README "Many devices and hosts" (remat default from benchmarks/memory.py).
  c.model = ml_collections.ConfigDict(dict(dim=512, depth=8, num_heads=8, mlp_ratio=4, s_min=0.0,
                                           attention="auto", remat="none", dtype="bfloat16"))
  # Edit masks as an editor selects them (genie_audio/models/spans.py).
  c.mask = ml_collections.ConfigDict(dict(min_frac=0.1, max_frac=0.6, max_spans=3, multi_prob=0.25,
                                          edge_prob=0.2))
  c.cfg_drop_prob = 0.1         # share of windows trained with no actions (classifier-free guidance)
  # Extra weight on each action step's mean error (models.dynamics.dynamics_loss), about R: the actions move the
  # step means. Demo, tiny: edits follow the requested action 0.41 / 0.41 of the time (2 seeds) at guidance 4,
  # 0.34 without it; weights 3 and 30 gave 0.36 and 0.39 at best (experiments/dynamics_ablation.py).
  c.step_mean_weight = 10.0
  c.time_power = 1.0            # diffusion times u^time_power (> 1: more training at low noise)
  c.label_batch_size = 8        # LAM windows per call when labelling the dataset
  # Defaults of launch/edit.py (and of the headline evaluation numbers). Guidance above 1 acts only at noise
  # levels t <= guidance_max_t (editing/inpainting.py): over the whole path it pushed every request to the most
  # extreme code of its group. action_guidance: each sampler step also follows the frozen LAM towards the
  # requested codes (editing/action_guidance.py). Demo, tiny (experiments/action_guidance.py and
  # edits_in_audio.py): edits followed 0.33 -> 0.61 of the time in the latents at guidance 2 (0.38 at the old
  # guidance 4 without it), 0.33 -> 0.51 re-read from the output audio, 0.23 -> 0.48 on music unlike the
  # corpus; the LAM-free level-move correlation rises with it (0.79 -> 0.91) and the seams hold (1.39 -> 1.41).
  # Weights 1 / 5 / 10 gave 0.53 / 0.58 / 0.55 at guidance 2, 10 with rougher seams (1.43).
  # Edits that are music (issue 23, docs/editing.md; experiments/edit_music.py, retrieval_fill.py): the span starts
  # from the retrieval fill noised to start_t = 0.2 (1 = pure noise, which the tiny model renders as noise under the
  # music's envelope: tonality 0.06): the passage of the recording whose surroundings (retrieval_context_seconds
  # each side) match the span's in chroma and level (dB x retrieval_level_weight beside each frame's chroma) and
  # whose own chroma is closest to the span's (retrieval_harmony_weight: it keeps the tune's chords at that place).
  # Demo, 15 validation spans, resample edits: tonality 0.06 -> 0.16 (reconstruction 0.20), harmony -0.11 -> 0.52.
  # A retrieval start holds the actions less (random requests read back from the audio 0.51 -> 0.37 at start 0.3
  # and action guidance 3), so action guidance 12: 0.53. level_match takes the decoder's own level error (measured
  # on the decoded context margins; -3.5 dB for the demo tokenizer) out of the decode.
  c.edit = ml_collections.ConfigDict(dict(num_steps=32, guidance_scale=2.0, guidance_max_t=0.5, method="euler",
                                          crossfade_seconds=0.05, margin_seconds=0.25, action_guidance=12.0,
                                          start_t=0.2, retrieval_context_seconds=0.5, retrieval_match="chroma",
                                          retrieval_harmony_weight=16.0, retrieval_level_weight=2.0 / 30.0,
                                          level_match=True))
  c.eval = ml_collections.ConfigDict(dict(
      split="validation", num_windows=64, batch_size=16, seed=1234,
      report_windows=256,           # launch/evaluate.py: more windows, tighter accuracies than in training
      span_fraction=0.3,            # edited span, as a fraction of the window's action steps
      guidance_scales=(0.0, 1.0, 2.0, 3.0, 4.0, 6.0),  # 0: no action input (chance, unless action-guided)
      seam_seconds=0.1,             # seam windows reach this far each side of a span edge
      audio_windows=16,             # windows decoded for the seam metrics
      audio_in_training=False,      # seams need the tokenizer's decoder: launch/evaluate.py always has them
      music_starts_s=(10.0, 30.0, 50.0),  # report: edited spans in every validation recording (eval/edit_music.py)
      music_span_seconds=2.0))

  if preset == "tiny":  # the CPU demo size
    c.total_steps = 2000
    c.batch_size = 16
    c.shard_min_size = 256
    c.optim.lr = 1e-3
    c.optim.warmup_steps = 50
    c.ema_decay = 0.99
    c.log_every_steps = 25
    c.eval_every_steps = 500
    c.checkpoint_every_steps = 500
    c.init.lam.workdir = tiny_lam_workdir
    c.data.window_frames = tiny_window_frames
    c.model.update(dict(dim=96, depth=3, num_heads=4, dtype="float32"))
    c.edit.num_steps = 16
    c.eval.update(dict(num_windows=64, batch_size=32, audio_windows=8))
  return c


def get_config(arg=None):
  arg = common.parse_arg(arg, preset="default")
  return dynamics_config(arg.preset, window_frames=250, lam_workdir=os.path.join(common.REPO_ROOT, "runs", "lam"),
                         tiny_window_frames=80,
                         tiny_lam_workdir=os.path.join(common.REPO_ROOT, "runs", "lam_tiny"))
