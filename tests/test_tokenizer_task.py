"""The tokenizer stage's configs: presets validate, and errors name the field. Its sharded runs (progressive
training from upstream params with a trainable regex, evaluation) are tested with two processes
(tests/test_multiprocess.py)."""

import pytest

from configs import common, tokenizer, tokenizer_8hz
from genie_audio.tasks.tokenizer import TokenizerTask


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
