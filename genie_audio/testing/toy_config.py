"""Config of the toy stage used by the trainer tests (see `toy_task.py`).

    python launch/train.py --config genie_audio/testing/toy_config.py --workdir runs/toy \
        --config.data.dataset_dir=DATASET --config.total_steps=20
"""

import ml_collections

from configs import common


def get_config(arg=None):
  del arg
  c = common.base_config()
  c.task = "genie_audio.testing.toy_task:ToyTask"
  c.total_steps = 20
  c.batch_size = 8
  c.shard_min_size = 256
  c.optim.lr = 3e-3
  c.optim.warmup_steps = 2
  c.log_every_steps = 1
  c.eval_every_steps = 1000
  c.checkpoint_every_steps = 5
  c.data.num_workers = 0
  c.data.crop_frames = 1024
  c.data.read_delay_s = 0.0
  c.model = ml_collections.ConfigDict(dict(width=64))
  c.loss_scale = 1.0
  c.init = ml_collections.ConfigDict(dict(workdir=""))  # start from this run's params, as a progressive tokenizer
  return c
