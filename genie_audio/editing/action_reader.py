"""Action timelines from a LAM or a dynamics run, without the dynamics model: for analysis and plots.

    reader = ActionReader.load("runs/demo/lam")     # a LAM run, or a dynamics run (its config names the LAM run)
    reader.infer_actions(wave)                      # 16 kHz mono -> requests.Timeline (encoded by the tokenizer at
                                                    # its training loudness, as the editor does)
    for rec in reader.recordings("validation"):     # the recordings the LAM's latent folder holds
      wave, z_TC = reader.read(rec)                 # their audio and their latents, as the LAM saw them
      codes = reader.timeline_of(z_TC)              # (S,) the action of every step

Timelines are computed exactly as `edit.Editor` does (`actions.infer_timeline`), so they are the ones an
editor shows. The tokenizer is loaded only when audio has to be encoded (`infer_actions`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import jax
import numpy as np

from genie_audio import codec
from genie_audio.data import latents as latent_store
from genie_audio.data import manifest, pipelines
from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.editing import actions as actions_lib
from genie_audio.editing.render import encode_at_training_level
from genie_audio.editing.requests import Timeline, check_wave
from genie_audio.runs import run, trained_run


@dataclasses.dataclass(frozen=True)
class RecordingRef:
  """One recording of the LAM's latent folder and its prepared audio shard."""
  name: str          # the source file it was prepared from
  audio_path: str
  latent_path: str
  latent_frames: int
  num_samples: int


def lam_workdir(workdir: str | os.PathLike) -> str:
  """The LAM run behind `workdir`: itself if it is one, else the LAM run a dynamics run names."""
  config = run.load_config(workdir)
  if config.task == "lam":
    return str(workdir)
  if config.task == "dynamics":
    return str(config.init.lam.workdir)
  raise ValueError(f"{workdir} is a {config.task!r} run; actions come from a 'lam' or 'dynamics' run")


class ActionReader:
  """The frozen LAM of a run (params on device, jitted inference) and the latent folder it was trained on."""

  def __init__(self, lam: trained_run.TrainedRun, latent_dir: str):
    self.lam = dataclasses.replace(lam, params=jax.device_put(lam.params))
    self.latent_dir = latent_dir
    self.frames_per_action = lam.config.model.frames_per_action
    self.num_actions = lam.config.model.num_actions
    self.window_steps = lam.config.data.window_frames // self.frames_per_action
    meta = latent_store.read_meta(latent_dir) or {}
    self.frame_rate = float(meta.get("frame_rate", lam.config.data.frame_rate))
    self.stride = int(round(SAMPLE_RATE / self.frame_rate))   # audio samples per latent frame
    self.step_samples = self.stride * self.frames_per_action
    self.step_seconds = self.step_samples / SAMPLE_RATE
    self.dataset_dir = meta.get("dataset_dir", "")
    self._infer = actions_lib.make_infer_fn(lam.model)
    self._tokenizer: trained_run.TrainedRun | None = None

  @classmethod
  def load(cls, workdir: str | os.PathLike) -> "ActionReader":
    lam = trained_run.load_lam(lam_workdir(workdir), f"the LAM run of {workdir}")
    return cls(lam, trained_run.lam_latent_dir(lam))

  @property
  def tokenizer(self) -> trained_run.TrainedRun:
    if self._tokenizer is None:
      self._tokenizer = trained_run.load_tokenizer(self.latent_dir)
    return self._tokenizer

  def timeline_of(self, latents_TC: np.ndarray) -> np.ndarray:
    """(S,) int32 action codes of a recording's normalised latent (T, C), S = ceil(T / R)."""
    return actions_lib.infer_timeline(self._infer, self.lam.params, latents_TC, self.frames_per_action,
                                      self.window_steps)

  def infer_actions(self, wave: np.ndarray, match_loudness: bool = True) -> Timeline:
    """The action timeline of any 16 kHz mono recording, encoded whole by the run's tokenizer at its training
    loudness (as `Editor.infer_actions`), or at the recording's own level with `match_loudness=False` (what
    the models alone make of a gain change: `eval.action_measures.gain_invariance`)."""
    wave = check_wave(wave)
    if match_loudness:
      z_TC = encode_at_training_level(self.tokenizer, wave)[0]
    else:
      z_TC = codec.encode_long(self.tokenizer.model, self.tokenizer.params, wave).latents
    return Timeline(self.timeline_of(z_TC), self.step_seconds, len(wave) / SAMPLE_RATE)

  def recordings(self, split: str = "validation") -> list[RecordingRef]:
    """The split's recordings that have both latents and audio, in the latent manifest's order."""
    if not self.dataset_dir:
      raise FileNotFoundError(f"{self.latent_dir}: latents.json names no dataset_dir; re-encode with "
                              f"python launch/encode.py --workdir TOKENIZER_RUN")
    audio = {Path(r.shard).stem: r for r in manifest.read_manifest(self.dataset_dir)}
    refs = []
    for entry in latent_store.load_split(self.latent_dir, split):
      recording = audio.get(Path(entry.shard).stem)
      if recording is not None:
        refs.append(RecordingRef(entry.source, str(manifest.shard_path(self.dataset_dir, recording)),
                                 str(Path(self.latent_dir) / entry.shard), entry.frames, recording.frames))
    if not refs:
      raise FileNotFoundError(f"none of the {split} recordings of {self.latent_dir} has its audio in "
                              f"{self.dataset_dir}")
    return refs

  def read(self, ref: RecordingRef, max_seconds: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(wave (N,), latents (T, C)) of a recording, or of its first whole steps within `max_seconds`."""
    frames = ref.latent_frames
    if max_seconds is not None:
      steps = max(1, int(max_seconds / self.step_seconds))
      frames = min(frames, steps * self.frames_per_action)
    samples = min(ref.num_samples, frames * self.stride)
    return (pipelines.read_wave(ref.audio_path, 0, samples),
            pipelines.read_latent(ref.latent_path, 0, frames))
