"""Prepares a folder of audio files (wav/flac/ogg/mp3, any rate or channel count) into a dataset (manifest.py).

Every source goes through `audio.process_file` (and the quality filter, when given one); its shard is written
to a temporary file in shards/ and `os.replace`d into place before its manifest line is appended, so a killed
run leaves only complete shards and whole lines behind. A re-run skips every source already listed in a
manifest or skipped file.

Worker processes prepare sources in parallel and write the shards; this process appends the lines, in
sorted source order whatever the number of workers, so the dataset is byte-identical to a one-worker run.
Several hosts split the sources between them (host_share.py) and write into one shared folder.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import os
import struct
import sys
import time
from pathlib import Path
from typing import Protocol

import numpy as np
import tqdm

from genie_audio.archive import host_share, parallel
from genie_audio.data import audio
from genie_audio.data.manifest import (MANIFEST, SAMPLE_RATE, SHARDS, SKIPPED, TMP_MARK, Recording,
                                       append_line, read_lines, write_atomically, write_lines)

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
VALIDATION_DIR = "validation"
QUALITY = "quality"  # the skip reason of a recording the quality filter rejected


class Scorer(Protocol):
  """A recording filter (`quality.QualityModel` is one): this module does not import quality.py, which finds
  its inputs with `find_audio_files`, so the two do not import each other."""

  def score(self, samples: np.ndarray) -> float: ...

  def passes(self, score: float) -> bool: ...


def find_audio_files(input_dir: str | os.PathLike, exclude: tuple[str | os.PathLike, ...] = ()) -> list[str]:
  """Relative POSIX paths of all audio files under `input_dir`, sorted; folders in `exclude` are not entered."""
  root = Path(input_dir)
  excluded = {Path(e).resolve() for e in exclude}
  found = []
  for dirpath, dirnames, filenames in os.walk(root):
    # Sorted, in-place: os.walk order depends on the file system, the dataset must not.
    dirnames[:] = sorted(d for d in dirnames if (Path(dirpath) / d).resolve() not in excluded)
    for name in filenames:
      if name.lower().endswith(AUDIO_EXTENSIONS) and not name.startswith("."):
        found.append((Path(dirpath) / name).relative_to(root).as_posix())
  return sorted(found)


def shard_id(source: str) -> str:
  """Stable id of a source (its path relative to the input folder)."""
  return hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]


def assign_split(source: str, validation_fraction: float) -> str:
  """`validation/...` sources are validation; others by a stable hash of the path against the fraction."""
  if source.split("/", 1)[0] == VALIDATION_DIR and "/" in source:
    return "validation"
  # A salted hash, so the split does not correlate with the shard id's leading digits.
  u = int(hashlib.sha1(b"split:" + source.encode("utf-8")).hexdigest()[:8], 16) / 2**32
  return "validation" if u < validation_fraction else "train"


def repair_jsonl(path: str | os.PathLike) -> None:
  """Drops a torn last line (a killed `append_line`), so the next append starts on a fresh line."""
  path = Path(path)
  if not path.exists():
    return
  data = path.read_bytes()
  if not data or data.endswith(b"\n"):
    return
  cut = data.rfind(b"\n") + 1
  try:
    json.loads(data[cut:])
    fixed = data + b"\n"  # complete record, only its newline was lost
  except ValueError:
    fixed = data[:cut]
  with open(path, "wb") as f:
    f.write(fixed)
    f.flush()
    os.fsync(f.fileno())


def _remove_temp_shards(shards_dir: Path, share: host_share.HostShare) -> None:
  """Leftovers of a killed run (their sources were never recorded); only this host's, as other hosts may be
  writing theirs right now."""
  for p in shards_dir.iterdir():
    if TMP_MARK in p.name and (share.single or share.owns(p.name.split(".", 1)[0])):
      p.unlink()


def wav_bytes(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
  """A mono IEEE-float WAV file. Written by hand because libsndfile adds a PEAK chunk holding the current
  time, which would make identical audio give different shard bytes."""
  data = np.ascontiguousarray(samples, dtype="<f4").tobytes()
  fmt = struct.pack("<HHIIHHH", 3, 1, rate, rate * 4, 4, 32, 0)  # WAVE_FORMAT_IEEE_FLOAT, cbSize 0
  fact = struct.pack("<I", len(samples))
  body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<I", len(fact)) + fact
          + b"data" + struct.pack("<I", len(data)) + data)
  return b"RIFF" + struct.pack("<I", len(body)) + body


def write_shard(path: Path, samples: np.ndarray) -> None:
  """Writes a 16 kHz mono float32 WAV atomically (manifest.write_atomically)."""
  write_atomically(path, wav_bytes(samples))


def summarize(manifest_path: str | os.PathLike, skipped_path: str | os.PathLike, output_dir: str | os.PathLike,
              prepared: int = 0, already_done: int = 0) -> dict:
  """The summary dict of a dataset's (or one host's) manifest and skipped files: counts over all runs,
  `prepared` of this run."""
  records = read_lines(manifest_path)
  skipped = read_lines(skipped_path)
  frames = sum(int(r["frames"]) for r in records)
  return {
      "prepared": prepared,
      "skipped": len(skipped),
      "already_done": already_done,
      "hours": round(frames / SAMPLE_RATE / 3600, 4),
      "output": str(output_dir),
      "skipped_reasons": dict(sorted(collections.Counter(s["reason"] for s in skipped).items())),
  }


@dataclasses.dataclass(frozen=True)
class _Job:
  """What every worker needs to prepare one source (sent to each worker process once)."""
  input_dir: Path
  output_dir: Path
  validation_fraction: float
  quality_model: Scorer | None


def prepare_source(job: _Job, source: str) -> tuple[str, dict]:
  """Prepares one source: writes its shard and returns (MANIFEST, line), or returns (SKIPPED, line)."""
  try:
    samples, rate, channels = audio.process_file(job.input_dir / source)
  except audio.BadAudioError as e:
    return SKIPPED, {"source": source, "reason": e.reason}
  except Exception as e:  # one odd file must not stop a long preparation
    return SKIPPED, {"source": source, "reason": f"error:{type(e).__name__}"}
  score = None
  if job.quality_model is not None:
    score = round(job.quality_model.score(samples), 4)
    if not job.quality_model.passes(score):
      return SKIPPED, {"source": source, "reason": QUALITY, "score": score}
  shard = f"{SHARDS}/{shard_id(source)}.wav"
  write_shard(job.output_dir / shard, samples)
  record = Recording(shard=shard, source=source, frames=int(samples.shape[0]), original_rate=rate,
                     original_channels=channels, split=assign_split(source, job.validation_fraction),
                     quality_score=score)
  return MANIFEST, record.to_json()


def _lines_of_all_hosts(out: Path, name: str) -> list[dict]:
  """The lines of `name` in the dataset and in every host's part, dataset first."""
  files = [out / name] + host_share.part_files(out, name)
  return [line for path in files for line in read_lines(path)]


def assemble(output_dir: str | os.PathLike, sources: list[str], num_hosts: int, timeout_s: float = 24 * 3600,
             poll_s: float = 5.0) -> None:
  """Waits until every source has a line in some host's part, then writes manifest.jsonl and skipped.jsonl
  (atomically) holding every host's lines in sorted source order, as one host would have written them."""
  out = Path(output_dir)
  deadline = time.monotonic() + timeout_s
  reported = None
  while True:
    manifest_lines = _lines_of_all_hosts(out, MANIFEST)
    skipped_lines = _lines_of_all_hosts(out, SKIPPED)
    done = {line["source"] for line in manifest_lines + skipped_lines}
    missing = [s for s in sources if s not in done]
    if not missing:
      break
    hosts = sorted({host_share.owner(shard_id(s), num_hosts) for s in missing})
    if time.monotonic() > deadline:
      raise TimeoutError(f"{out}: {len(missing)} source(s) still unprepared after {timeout_s:.0f} s, owned by "
                         f"host(s) {hosts} of {num_hosts} (first: {missing[0]}); re-run those hosts")
    if len(missing) != reported:  # a line when the others make progress, not every poll
      print(f"host 0: waiting for host(s) {hosts} ({len(missing)} source(s) left)", file=sys.stderr, flush=True)
      reported = len(missing)
    time.sleep(poll_s)
  order = {s: i for i, s in enumerate(sources)}
  for name, lines in ((MANIFEST, manifest_lines), (SKIPPED, skipped_lines)):
    first = {}
    for line in lines:
      first.setdefault(line["source"], line)
    # Sources no longer in the input keep their lines, after the others.
    write_lines(out / name, sorted(first.values(), key=lambda r: (order.get(r["source"], len(order)), r["source"])))


def prepare_folder(input_dir: str | os.PathLike, output_dir: str | os.PathLike,
                   validation_fraction: float = 0.1, progress: bool = True, workers: int = 1,
                   share: host_share.HostShare = host_share.HostShare(),
                   quality_model: Scorer | None = None, assemble_timeout_s: float = 24 * 3600) -> dict:
  """Prepares every audio file under `input_dir` (this host's share of them) into the dataset `output_dir`
  with `workers` processes; resumes a previous run. Host 0 of several assembles the manifest at the end.

  Returns {"prepared", "skipped", "already_done", "hours", "output", "skipped_reasons"}, of this host's share
  when there are several hosts, except on host 0, which reports the assembled dataset.
  """
  root = Path(input_dir)
  if not root.is_dir():
    raise FileNotFoundError(f"input folder {root} does not exist (or is not a folder)")
  if not 0.0 <= validation_fraction <= 1.0:
    raise ValueError(f"validation_fraction must be in [0, 1], got {validation_fraction}")
  out = Path(output_dir)
  # An output folder inside the input folder (or equal to it) must not feed its own shards back in.
  sources = find_audio_files(root, exclude=(out, out / SHARDS))
  if not sources:
    raise ValueError(f"input folder {root} holds no audio files ({', '.join(AUDIO_EXTENSIONS)})")

  shards_dir = out / SHARDS
  shards_dir.mkdir(parents=True, exist_ok=True)
  _remove_temp_shards(shards_dir, share)
  manifest_path = out / MANIFEST if share.single else share.part(out, MANIFEST)
  skipped_path = out / SKIPPED if share.single else share.part(out, SKIPPED)
  manifest_path.parent.mkdir(exist_ok=True)
  repair_jsonl(manifest_path)
  repair_jsonl(skipped_path)
  done = {line["source"] for name in (MANIFEST, SKIPPED) for line in _lines_of_all_hosts(out, name)}
  mine = [s for s in sources if share.owns(shard_id(s))]
  todo = [s for s in mine if s not in done]

  job = _Job(root, out, validation_fraction, quality_model)
  prepared = skipped_now = 0
  bar = tqdm.tqdm(total=len(mine), initial=len(mine) - len(todo), desc="prepare", unit="file",
                  disable=not progress)
  for kind, line in parallel.ordered_map(prepare_source, todo, workers, context=job):
    append_line(manifest_path if kind == MANIFEST else skipped_path, line)
    prepared += kind == MANIFEST
    skipped_now += kind == SKIPPED
    bar.update()
    bar.set_postfix(prepared=prepared, skipped=skipped_now, refresh=False)
  bar.close()
  if not share.single and share.host_index == 0:
    assemble(out, sources, share.num_hosts, timeout_s=assemble_timeout_s)
    manifest_path, skipped_path = out / MANIFEST, out / SKIPPED
  return summarize(manifest_path, skipped_path, out, prepared=prepared, already_done=len(mine) - len(todo))
