"""The prepared-dataset format: 16 kHz mono WAV shards plus a JSON-lines manifest.

A prepared dataset is a folder:

    DATASET/
      shards/<id>.wav     one recording each, 16 kHz mono float32 WAV (listenable, random access)
      manifest.jsonl      one line per prepared recording (see `Recording`)
      skipped.jsonl       one line per skipped source file: {"source": ..., "reason": ...} (+ "score" for reason
                          "quality": the quality filter's score of a recording it rejected)
      parts/              per-host manifest and skipped lines of a multi-host preparation (archive/host_share.py)

Lines are appended (and fsynced) only after their shard is complete, so a killed preparation leaves a
valid dataset behind and a re-run resumes from it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Iterable

SAMPLE_RATE = 16000
MANIFEST = "manifest.jsonl"
SKIPPED = "skipped.jsonl"
SHARDS = "shards"
SPLITS = ("train", "validation")
TMP_MARK = ".tmp-"  # in the name of a file being written (write_atomically)


@dataclasses.dataclass(frozen=True)
class Recording:
  """One prepared recording."""
  shard: str              # path of the WAV shard, relative to the dataset folder
  source: str             # path of the original file, relative to the input folder
  frames: int             # samples at SAMPLE_RATE
  original_rate: int
  original_channels: int
  split: str              # "train" or "validation"
  quality_score: float | None = None  # the quality filter's score, when one ran

  @property
  def duration_s(self) -> float:
    return self.frames / SAMPLE_RATE

  def to_json(self) -> dict:
    record = dict(dataclasses.asdict(self), duration_s=round(self.duration_s, 4))
    if self.quality_score is None:
      del record["quality_score"]  # unfiltered datasets keep the lines they always had
    return record


def append_line(path: str | os.PathLike, record: dict) -> None:
  """Appends one JSON line and fsyncs, so a crash never leaves a torn line behind a complete one."""
  with open(path, "a", encoding="utf-8") as f:
    f.write(json.dumps(record, sort_keys=True) + "\n")
    f.flush()
    os.fsync(f.fileno())


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
  """Writes a whole file so that readers see the old file or the new one, never half of it: a temporary file
  (`TMP_MARK` + pid) in the same folder, fsync, `os.replace`. A killed writer leaves only the temporary file."""
  path = Path(path)
  tmp = path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}")
  with open(tmp, "wb") as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


def write_lines(path: str | os.PathLike, records: Iterable[dict]) -> None:
  """Writes a whole JSON-lines file atomically, lines as `append_line` writes them."""
  write_atomically(path, "".join(json.dumps(record, sort_keys=True) + "\n" for record in records).encode("utf-8"))


def read_lines(path: str | os.PathLike) -> list[dict]:
  """Reads a JSON-lines file; a torn last line (killed writer) is ignored, any other bad line is an error."""
  path = Path(path)
  if not path.exists():
    return []
  lines = path.read_text(encoding="utf-8").splitlines()
  records = []
  for number, line in enumerate(lines, start=1):
    if not line.strip():
      continue
    try:
      records.append(json.loads(line))
    except json.JSONDecodeError as e:
      if number == len(lines):
        break  # interrupted append: the shard it described is redone on the next run
      raise ValueError(f"{path}:{number}: not a JSON line ({e})") from None
  return records


def read_manifest(dataset_dir: str | os.PathLike) -> list[Recording]:
  """All prepared recordings of a dataset, with errors that name the file, line and field."""
  path = Path(dataset_dir) / MANIFEST
  if not path.exists():
    raise FileNotFoundError(
        f"{path} does not exist: prepare the dataset first "
        f"(python launch/prepare_data.py --input AUDIO_DIR --output {dataset_dir})")
  fields = {f.name for f in dataclasses.fields(Recording)}
  required = {f.name for f in dataclasses.fields(Recording) if f.default is dataclasses.MISSING}
  recordings = []
  for number, record in enumerate(read_lines(path), start=1):
    missing = required - record.keys()
    if missing:
      raise ValueError(f"{path}:{number}: missing field(s) {sorted(missing)}")
    rec = Recording(**{k: record[k] for k in fields if k in record})
    if rec.split not in SPLITS:
      raise ValueError(f"{path}:{number}: field 'split' is {rec.split!r}, expected one of {SPLITS}")
    recordings.append(rec)
  return recordings


def load_split(dataset_dir: str | os.PathLike, split: str) -> list[Recording]:
  """The recordings of one split; an empty split is an error that says how to fix it."""
  if split not in SPLITS:
    raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
  recordings = [r for r in read_manifest(dataset_dir) if r.split == split]
  if not recordings:
    raise ValueError(f"{Path(dataset_dir) / MANIFEST}: no recordings in split {split!r}")
  return recordings


def shard_path(dataset_dir: str | os.PathLike, recording: Recording) -> Path:
  return Path(dataset_dir) / recording.shard


def total_duration_s(recordings: Iterable[Recording]) -> float:
  return sum(r.duration_s for r in recordings)
