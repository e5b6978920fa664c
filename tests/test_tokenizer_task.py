"""The tokenizer stage's configs: presets validate, and errors name the field. Its sharded runs (progressive
training from upstream params with a trainable regex, evaluation) are tested with two processes
(tests/test_multiprocess.py)."""

import json

import jax
import numpy as np
import pytest

from configs import common, tokenizer, tokenizer_8hz
from genie_audio import tasks
from genie_audio.tasks import tokenizer as tokenizer_task
from genie_audio.tasks.tokenizer import TokenizerTask
from genie_audio.testing import fake_data, pipeline
from genie_audio.training import loop


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
    ({"flow_loss_band_weights": (1.0, 0.0)}, "config.flow_loss_band_weights"),
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


def test_flow_loss_band_weights_weigh_each_coefficient_by_its_band():
  """Equal-width bands 0 Hz to Nyquist, linear between their centres, mean 1; real and imaginary parts alike."""
  weight = tokenizer_task.flow_loss_weight((1.0, 3.0), 160)
  assert weight.shape == (642,) and weight.mean() == pytest.approx(1.0)
  np.testing.assert_array_equal(weight[:321], weight[321:])
  assert weight[0] == pytest.approx(weight[80]) and weight[320] == pytest.approx(3 * weight[0])
  assert tokenizer_task.flow_loss_weight((), 160) is None
  config = tokenizer.get_config("tiny")
  config.flow_loss_band_weights = (1.0, 3.0)
  common.validate(config)
  config.model.flow_space, config.model.envelope_bands = "wave", 0
  with pytest.raises(ValueError, match="config.flow_loss_band_weights.*flow_space 'stft'"):
    common.validate(config)


def test_flow_band_norm_measures_the_training_data_into_the_runs_config(tmp_path):
  """With config.flow_band_norm the run measures its data's band RMS when it starts and keeps it in config.json,
  so the run reloads with the same flow scaling; the measure is deterministic (a resumed run agrees)."""
  dataset = fake_data.write_fake_dataset(tmp_path / "data", recordings=2, seconds=2.0)
  config = pipeline.tokenizer_config(dataset, total_steps=1, flow_band_norm=4,
                                     **{"model.flow_space": "stft", "model.stft_hop": 32})
  loop.train(config, tmp_path / "run", TokenizerTask, devices=jax.devices()[:1])
  recorded = json.loads((tmp_path / "run" / "config.json").read_text())["model"]["flow_band_rms"]
  assert len(recorded) == 4 and all(v > 0 for v in recorded)
  assert recorded[0] > recorded[-1]  # the fake recordings, like music, are louder at the bottom
  assert tasks.load(tmp_path / "run").model.flow_band_rms == tuple(recorded)
  task = TokenizerTask(pipeline.tokenizer_config(dataset, flow_band_norm=4,
                                                 **{"model.flow_space": "stft", "model.stft_hop": 32}))
  task.prepare()
  assert list(task.model.flow_band_rms) == recorded
  with pytest.raises(ValueError, match="config.flow_band_norm=4.*flow_space 'stft'"):
    common.validate(pipeline.tokenizer_config(dataset, flow_band_norm=4))
