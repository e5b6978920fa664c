"""Data-preparation throughput: audio hours prepared per wall-clock minute with 1 and 2 workers, and the
quality filter's cost per hour of audio, on a generated collection of 44.1 kHz stereo FLAC and MP3 files.

    python benchmarks/prepare.py [--hours 2] [--folder DIR] [--workers 1,2]   # DIR: TMPDIR/genie_prepare_bench
    python benchmarks/prepare.py --hours 0 --file_seconds 5 --workers 1 --trees 2   # a smoke run: 2 files

The collection (half FLAC, half MP3, at least two files of --file_seconds, 3 minutes by default) is generated
once and reused: a few distinct clips are synthesised and encoded, the rest are copies of them under other names
(each still decoded and prepared in full). Prints one table; ratios are measured in the same run. CPU seconds
(this process and its workers) are given beside wall seconds: on a shared machine they show the cost per core
when wall times cannot.
"""

import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import threadpoolctl  # noqa: E402
from absl import app, flags  # noqa: E402

from genie_audio.archive import parallel, prepare, quality, quality_training  # noqa: E402
from genie_audio.data.manifest import read_manifest, shard_path  # noqa: E402
from genie_audio.testing import ood_audio  # noqa: E402

_HOURS = flags.DEFINE_float("hours", 2.0, "Length of the generated collection.")
_FOLDER = flags.DEFINE_string("folder", os.path.join(tempfile.gettempdir(), "genie_prepare_bench"),
                             "Where the collection and outputs go.")
_WORKERS = flags.DEFINE_list("workers", ["1", "2"], "Worker counts to compare.")
_TREES = flags.DEFINE_integer("trees", 200, "Trees of the quality model whose cost is measured.")
_FILE_S = flags.DEFINE_float("file_seconds", 180.0, "Length of each generated file.")

RATE = 44100
DISTINCT = 2  # synthesised clips per format; the other files are copies


def clip(seed: int, seconds: float) -> np.ndarray:
  """`seconds` of piano chords (different phases and levels per repeat) over a faint noise floor."""
  rng = np.random.default_rng(seed)
  parts, total = [], 0
  while total < seconds * RATE:
    part = ood_audio.piano_chords(RATE, chord_seconds=rng.uniform(1.2, 2.0), seed=int(rng.integers(1 << 30)))
    parts.append(part * rng.uniform(0.5, 1.0))
    total += len(part)
  x = np.concatenate(parts)[:int(seconds * RATE)]
  return (x + 0.003 * rng.standard_normal(x.shape)).astype(np.float32)


def make_collection(folder: Path, hours: float, file_s: float) -> tuple[Path, float]:
  """The input folder (made unless a previous run made the same one) and its length in hours."""
  source = folder / "input"
  files = max(2, int(round(hours * 3600 / file_s)))
  marker = source / "collection.json"
  wanted = {"files": files, "file_s": file_s, "rate": RATE, "distinct": DISTINCT}
  if marker.exists() and json.loads(marker.read_text()) == wanted:
    return source, files * file_s / 3600
  shutil.rmtree(source, ignore_errors=True)
  source.mkdir(parents=True)
  formats = (("flac", "FLAC", None), ("mp3", "MP3", "MPEG_LAYER_III"))
  for i in range(files):
    ext, fmt, subtype = formats[i % 2]
    path = source / f"{i:04d}.{ext}"
    if i < 2 * DISTINCT:
      sf.write(path, clip(i, file_s), RATE, format=fmt, subtype=subtype)
    else:
      shutil.copyfile(source / f"{(i // 2) % DISTINCT * 2 + i % 2:04d}.{ext}", path)
  marker.write_text(json.dumps(wanted))
  return source, files * file_s / 3600


def cpu_seconds() -> float:
  """CPU time of this process and of its finished (joined) worker processes."""
  own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
  return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def timed_prepare(source: Path, out: Path, workers: int, model=None) -> tuple[float, float]:
  """(wall, CPU) seconds of preparing `source` afresh."""
  shutil.rmtree(out, ignore_errors=True)
  start, start_cpu = time.perf_counter(), cpu_seconds()
  prepare.prepare_folder(source, out, progress=False, workers=workers, quality_model=model)
  return time.perf_counter() - start, cpu_seconds() - start_cpu


def filter_seconds_per_hour(dataset: Path, model: quality.QualityModel) -> tuple[float, float]:
  """(wall, CPU) seconds the filter (features + trees) takes per hour of prepared audio, on one core."""
  wall = cpu = audio_s = 0.0
  for recording in read_manifest(dataset):
    samples = sf.read(shard_path(dataset, recording), dtype="float32")[0]
    with threadpoolctl.threadpool_limits(1):  # as in a preparation worker
      start, start_cpu = time.perf_counter(), cpu_seconds()
      model.score(samples)
      wall, cpu = wall + time.perf_counter() - start, cpu + cpu_seconds() - start_cpu
    audio_s += recording.duration_s
  return wall / (audio_s / 3600), cpu / (audio_s / 3600)


def row(run: str, workers: int, hours: float, seconds: tuple[float, float], baseline: float | None) -> dict:
  wall, cpu = seconds
  rate = hours / (wall / 60)
  return {"run": run, "workers": workers, "audio h": round(hours, 3), "wall s": wall, "audio h/min": rate,
          "x real time": hours * 3600 / wall, "x real time per worker": hours * 3600 / wall / workers,
          "vs first": rate / (baseline or rate), "CPU s": cpu, "x real time per CPU s": hours * 3600 / cpu}


def main(argv):
  del argv
  # Imported here, not at the top: every spawned worker re-imports this file, and benchmarks.common imports JAX.
  from benchmarks.common import print_table
  if "MP3" not in sf.available_formats():
    raise SystemExit("this libsndfile cannot write MP3 (needs libsndfile >= 1.1); the collection needs it")
  folder = Path(_FOLDER.value)
  source, hours = make_collection(folder, _HOURS.value, _FILE_S.value)
  rows = []
  for workers in map(int, _WORKERS.value):
    rows.append(row("prepare", workers, hours, timed_prepare(source, folder / "out", workers),
                    rows[0]["audio h/min"] if rows else None))
  # A filter trained on a few of the prepared recordings: its cost, not its verdicts, is measured here.
  model = quality_training.train(quality.find_inputs(folder / "out")[:4], None, trees=_TREES.value, folds=0,
                                 progress=False)
  model.classifier.n_jobs = 1
  per_hour, cpu_per_hour = filter_seconds_per_hour(folder / "out", model)
  workers = max(map(int, _WORKERS.value))
  rows.append(row("prepare + quality filter", workers, hours, timed_prepare(source, folder / "out", workers, model),
                  rows[0]["audio h/min"]))
  rows.append({"run": f"quality filter alone: {per_hour:.1f} s per audio hour", "workers": 1,
               "x real time": 3600 / per_hour, "x real time per worker": 3600 / per_hour,
               "CPU s": cpu_per_hour * hours, "x real time per CPU s": 3600 / cpu_per_hour})
  shutil.rmtree(folder / "out", ignore_errors=True)
  print_table(rows, title=f"Preparing {hours:.2f} h of 44.1 kHz stereo FLAC + MP3 ({parallel.available_cores()} "
                          f"cores, load average {os.getloadavg()[0]:.1f} at the end)")


if __name__ == "__main__":
  app.run(main)
