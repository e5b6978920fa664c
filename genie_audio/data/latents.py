"""The latent-shard format written by `launch/encode.py` and read by the LAM and dynamics stages.

    LATENTS/
      latents.json        {"frame_rate", "latent_dim", "tokenizer_workdir", "tokenizer_step", "dataset_dir"}
      shards/<id>.npy     one recording each, float32 (T, C): the tokenizer's latent sequence
      manifest.jsonl      one line per recording: {"shard", "source", "frames", "split"}

Like the waveform manifest, a line is appended only after its shard is complete, and `latents.json` is
written last, so its presence means the whole dataset is encoded. It records the tokenizer run and the dataset
relative to the latent folder where they share its grandparent (`paths.record`: the latents move with their
tokenizer run); `read_meta` gives them back as paths to use.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from genie_audio.data import manifest, paths

META = "latents.json"
META_PATHS = ("tokenizer_workdir", "dataset_dir")  # the folders latents.json names


@dataclasses.dataclass(frozen=True)
class LatentEntry:
  shard: str     # relative to the latent folder
  source: str    # the recording's source path, as in the waveform manifest
  frames: int    # latent frames
  split: str


def write_shard(latent_dir: str | os.PathLike, entry_id: str, source: str, split: str,
                z_TC: np.ndarray) -> LatentEntry:
  """Writes one recording's latents atomically and appends its manifest line."""
  shards = Path(latent_dir) / manifest.SHARDS
  shards.mkdir(parents=True, exist_ok=True)
  final = shards / f"{entry_id}.npy"
  tmp = shards / f".{entry_id}.tmp.npy"
  np.save(tmp, np.asarray(z_TC, dtype=np.float32))
  os.replace(tmp, final)
  entry = LatentEntry(f"{manifest.SHARDS}/{entry_id}.npy", source, int(z_TC.shape[0]), split)
  manifest.append_line(Path(latent_dir) / manifest.MANIFEST, dataclasses.asdict(entry))
  return entry


def write_meta(latent_dir: str | os.PathLike, meta: dict) -> None:
  """Writes latents.json (last: the folder is then complete), its folders recorded by `paths.record`."""
  path = Path(latent_dir) / META
  tmp = path.with_suffix(".tmp")
  meta = paths.map_fields(meta, META_PATHS, lambda p: paths.record(p, latent_dir))
  tmp.write_text(json.dumps(meta, indent=2, sort_keys=True))
  os.replace(tmp, path)


def read_meta(latent_dir: str | os.PathLike) -> dict | None:
  """latents.json with its folders resolved against `latent_dir`, or None while the folder is incomplete."""
  path = Path(latent_dir) / META
  if not path.exists():
    return None
  return paths.map_fields(json.loads(path.read_text()), META_PATHS, lambda p: paths.resolve(p, latent_dir))


def read_entries(latent_dir: str | os.PathLike) -> list[LatentEntry]:
  path = Path(latent_dir) / manifest.MANIFEST
  fields = {f.name for f in dataclasses.fields(LatentEntry)}
  entries = []
  for number, record in enumerate(manifest.read_lines(path), start=1):
    if fields - record.keys():
      raise ValueError(f"{path}:{number}: missing field(s) {sorted(fields - record.keys())}")
    entries.append(LatentEntry(**{k: record[k] for k in fields}))
  return entries


def load_split(latent_dir: str | os.PathLike, split: str) -> list[LatentEntry]:
  """Entries of one split of a complete latent dataset; errors say which command makes it."""
  if read_meta(latent_dir) is None:
    raise FileNotFoundError(f"{Path(latent_dir) / META} does not exist: the latents are not (fully) encoded; "
                            f"run python launch/encode.py --workdir TOKENIZER_RUN first")
  entries = [e for e in read_entries(latent_dir) if e.split == split]
  if not entries:
    raise ValueError(f"{Path(latent_dir) / manifest.MANIFEST}: no entries in split {split!r}")
  return entries
