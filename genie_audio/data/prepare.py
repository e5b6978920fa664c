"""Prepares a folder of audio files (wav/flac/ogg/mp3, any rate or channel count) into a dataset (manifest.py).

Every source goes through `audio.process_file`; its shard is written to a temporary file in shards/ and
`os.replace`d into place before its manifest line is appended, so a killed run leaves only complete shards
and whole lines behind. A re-run skips every source already listed in manifest.jsonl or skipped.jsonl.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import struct
from pathlib import Path

import numpy as np
import tqdm

from genie_audio.data import audio
from genie_audio.data.manifest import (MANIFEST, SAMPLE_RATE, SHARDS, SKIPPED, Recording, append_line,
                                       read_lines)

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
VALIDATION_DIR = "validation"
_TMP_MARK = ".tmp-"


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


def _remove_temp_shards(shards_dir: Path) -> None:
  for p in shards_dir.iterdir():
    if _TMP_MARK in p.name:
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
  """Writes a 16 kHz mono float32 WAV atomically: temporary file in the same folder, fsync, `os.replace`."""
  tmp = path.with_name(f"{path.name}{_TMP_MARK}{os.getpid()}")
  with open(tmp, "wb") as f:
    f.write(wav_bytes(samples))
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


def summarize(output_dir: str | os.PathLike, prepared: int = 0, already_done: int = 0) -> dict:
  """The summary dict of a dataset folder (counts over all runs, `prepared` of this run)."""
  out = Path(output_dir)
  records = read_lines(out / MANIFEST)
  skipped = read_lines(out / SKIPPED)
  frames = sum(int(r["frames"]) for r in records)
  return {
      "prepared": prepared,
      "skipped": len(skipped),
      "already_done": already_done,
      "hours": round(frames / SAMPLE_RATE / 3600, 4),
      "output": str(out),
      "skipped_reasons": dict(sorted(collections.Counter(s["reason"] for s in skipped).items())),
  }


def prepare_folder(input_dir: str | os.PathLike, output_dir: str | os.PathLike,
                   validation_fraction: float = 0.1, progress: bool = True) -> dict:
  """Prepares every audio file under `input_dir` into the dataset `output_dir`; resumes a previous run.

  Returns {"prepared", "skipped", "already_done", "hours", "output", "skipped_reasons"}.
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
  _remove_temp_shards(shards_dir)  # leftovers of a killed run; their sources were never recorded
  repair_jsonl(out / MANIFEST)
  repair_jsonl(out / SKIPPED)
  done = {r["source"] for r in read_lines(out / MANIFEST)} | {s["source"] for s in read_lines(out / SKIPPED)}

  prepared = already_done = skipped_now = 0
  bar = tqdm.tqdm(sources, desc="prepare", unit="file", disable=not progress)
  for source in bar:
    if source in done:
      already_done += 1
      continue
    try:
      samples, rate, channels = audio.process_file(root / source)
    except audio.BadAudioError as e:
      append_line(out / SKIPPED, {"source": source, "reason": e.reason})
      skipped_now += 1
      continue
    except Exception as e:  # one odd file must not stop a long preparation
      append_line(out / SKIPPED, {"source": source, "reason": f"error:{type(e).__name__}"})
      skipped_now += 1
      continue
    shard = f"{SHARDS}/{shard_id(source)}.wav"
    write_shard(out / shard, samples)
    record = Recording(shard=shard, source=source, frames=int(samples.shape[0]), original_rate=rate,
                       original_channels=channels, split=assign_split(source, validation_fraction))
    append_line(out / MANIFEST, record.to_json())
    prepared += 1
    bar.set_postfix(prepared=prepared, skipped=skipped_now, refresh=False)
  bar.close()
  return summarize(out, prepared=prepared, already_done=already_done)
