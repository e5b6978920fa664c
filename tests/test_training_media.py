"""What training logs to TensorBoard beside scalars, on the tiny pipeline's runs: the LAM's action-timeline
figure (with params sharded over a mesh, as in training) and the dynamics model's edit audio and spectrograms."""

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from genie_audio import tasks
from genie_audio.runs import run
from genie_audio.training import sharding
from genie_audio.training.metrics import MetricWriter

# The tiny trained pipeline, as a session fixture registered once for every module that names it.
pytest_plugins = ["fixtures_pipeline"]


def test_lam_evaluation_logs_the_action_timeline(pipeline_runs, tmp_path):
  task = tasks.load(pipeline_runs["lam"])
  params = run.load_params(pipeline_runs["lam"])
  mesh = sharding.make_mesh(2, 4)  # the training mesh: the evaluation splits its windows over it
  metrics, media = task.evaluate(jax.device_put(params, NamedSharding(mesh, P())), None, step=2)
  assert "eval/lam/perplexity" in metrics
  strip = media["lam/action_timeline"].axes[0]
  assert "fake003.wav: actions of 30 steps" in strip.get_title()  # the whole 3 s validation recording
  assert len(strip.patches) >= 1 and all(0 <= int(t.get_text()) < 4 for t in strip.texts)
  writer = MetricWriter(tmp_path, enabled=True)
  writer.media(2, media)
  writer.close()
  assert list((tmp_path / "tensorboard").iterdir())


def test_dynamics_evaluation_with_audio_returns_the_edits(pipeline_runs):
  task = tasks.load(pipeline_runs["dynamics"])
  task.config.eval.audio_in_training = True
  task.config.edit.guidance_scale = 4.0  # an edit default outside the sweep (1, 2) is added to it
  params, ema_params, _ = run.load_train_params(pipeline_runs["dynamics"])
  metrics, media = task.evaluate(params, ema_params, step=2)
  assert np.isfinite(metrics["eval/dyn/seam_mel_distance_unedited"])
  names = {"original", "reconstruction", "unedited", "g1", "g2", "g4"}  # g4: the edit default, added
  figure = media.pop("eval/dyn/span_spectrograms")  # one edited validation span: is it music?
  assert [ax.get_title() for ax in figure.axes[:4]] == ["original", "reconstruction", "resample", "random actions"]
  assert set(media) == {f"eval/dyn/audio_{n}" for n in names}
  original = media["eval/dyn/audio_original"]
  assert all(wave.shape == original.shape and wave.dtype == np.float32 for wave in media.values())
  task.config.eval.audio_in_training = False
  assert task.evaluate(params, ema_params, step=2)[1] == {}
