"""Grain pipeline throughput: waveform crops per second with 0 / 1 / 2 reader processes.

    python benchmarks/data_pipeline.py [--dataset data/demo] [--crop_seconds 1.0] [--batches 200]

Prints one table; ratios are against 0 workers measured in the same run.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from benchmarks.common import print_table  # noqa: E402
from configs.common import DEMO_DATASET  # noqa: E402
from genie_audio.archive import demo_corpus  # noqa: E402
from genie_audio.data import pipelines  # noqa: E402
from genie_audio.data.manifest import SAMPLE_RATE  # noqa: E402

_DATASET = flags.DEFINE_string("dataset", DEMO_DATASET, "Prepared dataset (built if it is the demo corpus).")
_CROP = flags.DEFINE_float("crop_seconds", 1.0, "Crop length.")
_BATCH = flags.DEFINE_integer("batch_size", 32, "Examples per batch.")
_BATCHES = flags.DEFINE_integer("batches", 200, "Batches timed per setting.")
_WORKERS = flags.DEFINE_list("workers", ["0", "1", "2"], "Worker counts to compare.")


def samples_per_second(num_workers: int) -> float:
  ds = pipelines.waveform_crops(_DATASET.value, "train", int(_CROP.value * SAMPLE_RATE),
                                batch_size=_BATCH.value, seed=0)
  iterator = pipelines.to_iterator(ds, num_workers)
  for _ in range(5):  # worker start-up and first reads are not throughput
    next(iterator)
  start = time.perf_counter()
  for _ in range(_BATCHES.value):
    next(iterator)
  return _BATCHES.value * _BATCH.value / (time.perf_counter() - start)


def main(argv):
  del argv
  if _DATASET.value == DEMO_DATASET:
    demo_corpus.ensure_demo_corpus(DEMO_DATASET)
  rows, baseline = [], None
  for workers in map(int, _WORKERS.value):
    rate = samples_per_second(workers)
    baseline = baseline or rate
    rows.append({"workers": workers, "crops/s": rate, "audio s/s": rate * _CROP.value,
                 "vs 0 workers": rate / baseline})
  print_table(rows, title=f"Grain waveform crops ({_CROP.value} s, batch {_BATCH.value}, {os.cpu_count()} cores)")


if __name__ == "__main__":
  app.run(main)
