"""The tokenizer stage in the shared loop: a sharded smoke run, and config validation naming the field.
Resuming and progressive training (upstream params + a trainable regex) are tested with two processes
(tests/test_multiprocess.py)."""

import numpy as np
import pytest

from configs import common, tokenizer, tokenizer_8hz
from genie_audio.tasks.tokenizer import TokenizerTask
from genie_audio.testing import fake_data
from genie_audio.testing.tokenizer_config import micro
from genie_audio.training import checkpoint, loop
from genie_audio.training.metrics import read_metrics


MESH = {"mesh.data": 2, "mesh.fsdp": 4}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
  return fake_data.write_fake_dataset(tmp_path_factory.mktemp("data"), recordings=4, seconds=2.0)


def test_sharded_smoke_run_saves_and_evaluates(dataset, tmp_path):
  last = loop.train(micro(dataset, total_steps=4, **MESH), tmp_path, TokenizerTask)
  assert checkpoint.Checkpointer(tmp_path, read_only=True).latest_step() == 4
  for name in ("recon", "baseline_silence", "baseline_lowpass", "baseline_envelope_vocoder"):
    for metric in ("mel_distance", "si_sdr", "lsd", "chroma_similarity", "chroma_correlation"):
      assert np.isfinite(last[f"eval/{name}/{metric}"]), (name, metric)
  metrics = read_metrics(tmp_path)
  assert sorted(s for s, m in metrics.items() if "train/loss" in m) == list(range(1, 5))
  assert all(np.isfinite(m["train/loss"]) for m in metrics.values() if "train/loss" in m)
  assert 0 <= metrics[4]["train/synced_fraction"] <= 1


@pytest.mark.parametrize("module", [tokenizer, tokenizer_8hz])
@pytest.mark.parametrize("preset", ["tiny", "default"])
def test_stage_configs_validate(module, preset):
  config = module.get_config(preset)
  common.validate(config)
  task = TokenizerTask(config)
  assert task.crop_frames == 16000 and config.task == "tokenizer"
  assert task.frame_rate == (50 if module is tokenizer else 8)
  # Every preset's flow runs on compressed STFT frames of the waveform times 28 (issue 10's ablation).
  assert task.model.flow_space == "stft" and task.model.wave_scale == 28.0
  assert task.augment.active


@pytest.mark.parametrize("override, field", [
    ({"data.crop_seconds": 1.01}, "config.data.crop_seconds=1.01"),
    ({"eval.clip_seconds": 0.0}, "config.eval.clip_seconds"),
    ({"noise_sync_prob": 1.5}, "config.noise_sync_prob"),
    ({"time_power": 0.0}, "config.time_power"),
    ({"eval.method": "rk4"}, "config.eval.method"),
    ({"data.augment.lowpass_prob": 2.0}, "config.data.augment.lowpass_prob=2.0"),
    ({"optim.trainable": "enc(oder"}, "config.optim.trainable"),
    ({"init.workdir": "/nonexistent/run"}, "config.init.workdir"),
])
def test_config_errors_name_the_field(override, field):
  config = tokenizer.get_config("tiny")
  for key, value in override.items():
    parent, _, leaf = key.rpartition(".")
    (config[parent] if parent else config)[leaf] = value
  with pytest.raises(ValueError, match=field.replace(".", r"\.")):
    common.validate(config)
