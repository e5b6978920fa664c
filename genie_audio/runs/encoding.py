"""Encodes a prepared dataset (both splits) into latent shards with a trained tokenizer (`data/latents.py` format).

Each recording is encoded whole (in exact overlapping chunks, `codec.encode_long`) and normalised
over the whole recording. Resumable: recordings already in the latent manifest are skipped, and
`latents.json` is written last, so its presence means the latent dataset is complete.

With several processes each encodes its share of the recordings (`distributed.my_share`): process 0 into the
folder, the others into a staging folder `.process<i>/` beside it, from which process 0 moves their shards and
manifest lines in once all are done; only process 0 writes the manifest and `latents.json`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from pathlib import Path

import jax
import soundfile as sf
from tqdm import tqdm

from genie_audio import codec
from genie_audio.archive import demo_corpus, prepare
from genie_audio.data import latents, manifest
from genie_audio.models.tokenizer import tokenizer_from_config
from genie_audio.runs import run
from genie_audio.training import distributed
from genie_audio.runs.trained_run import default_latent_dir

log = logging.getLogger(__name__)

PARTIAL = ".encoding.json"  # which tokenizer checkpoint a partial encoding came from


def encode_dataset(tokenizer_workdir: str | os.PathLike, output_dir: str | os.PathLike | None = None, *,
                   batch_size: int = 4, progress: bool = True) -> str:
  """Encodes the tokenizer run's dataset (its config's data.dataset_dir) into `output_dir` (default
  WORKDIR/latents) and returns that folder; an already complete folder is returned as is."""
  workdir = Path(tokenizer_workdir).absolute()
  out = Path(output_dir or default_latent_dir(workdir)).absolute()
  config = run.load_config(workdir)
  if config.task != "tokenizer":
    raise ValueError(f"{workdir} is a {config.task!r} run, not a tokenizer run")
  params, ema_params, step = run.load_train_params(workdir)
  meta = latents.read_meta(out)
  if meta is not None:
    if meta.get("tokenizer_step") != step:
      log.warning("%s was encoded by step %s of %s, which is now at step %d; delete it to re-encode",
                  out, meta.get("tokenizer_step"), workdir, step)
    return str(out)
  index, _ = distributed.process_position()
  first = index == 0
  out.mkdir(parents=True, exist_ok=True)
  partial = out / PARTIAL
  if partial.exists() and json.loads(partial.read_text()).get("tokenizer_step") != step:
    raise ValueError(f"{out} holds a partial encoding by another checkpoint of {workdir} (now at step {step}); "
                     f"delete {out} or choose another output folder")
  if first:
    partial.write_text(json.dumps({"tokenizer_workdir": str(workdir), "tokenizer_step": step}))

  dataset_dir = demo_corpus.ensure_if_default(config.data.dataset_dir)
  if first:
    prepare.repair_jsonl(out / manifest.MANIFEST)  # a killed run may have left a torn last line
  done = {e.shard for e in latents.read_entries(out)}
  todo = [r for r in manifest.read_manifest(dataset_dir)
          if f"{manifest.SHARDS}/{Path(r.shard).stem}.npy" not in done]
  model = tokenizer_from_config(config.model)
  params = jax.device_put(ema_params if ema_params is not None else params)  # one transfer for all files
  target = out if first else out / f".process{index}"
  mine = distributed.my_share(todo)
  bar = tqdm(mine, desc="encode", unit="rec", disable=not (progress and first), dynamic_ncols=True)
  for recording in bar:
    wave, rate = sf.read(manifest.shard_path(dataset_dir, recording), dtype="float32", always_2d=False)
    if rate != manifest.SAMPLE_RATE or wave.ndim != 1:
      raise ValueError(f"{manifest.shard_path(dataset_dir, recording)}: not a 16 kHz mono shard (re-prepare)")
    encoded = codec.encode_long(model, params, wave, batch_size=batch_size)
    latents.write_shard(target, Path(recording.shard).stem, recording.source, recording.split, encoded.latents)
  bar.close()
  staged = distributed.gather_objects(None if first else str(target))  # waits for every process's share
  if first:
    for folder in filter(None, staged):
      _adopt_staged(Path(folder), out)
    latents.write_meta(out, {"frame_rate": manifest.SAMPLE_RATE / model.total_stride,
                             "latent_dim": model.latent_dim, "tokenizer_workdir": str(workdir),
                             "tokenizer_step": step, "dataset_dir": str(Path(dataset_dir).absolute())})
    partial.unlink()
  distributed.gather_objects(None)  # the others return once latents.json is there
  return str(out)


def _adopt_staged(staging: Path, out: Path) -> None:
  """Moves another process's encoded shards into `out` and appends their manifest lines, then drops the folder."""
  for entry in latents.read_entries(staging):
    (out / entry.shard).parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging / entry.shard, out / entry.shard)
    manifest.append_line(out / manifest.MANIFEST, dataclasses.asdict(entry))
  shutil.rmtree(staging)
