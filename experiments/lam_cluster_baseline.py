"""Non-learned baselines for the LAM's eta squared (issue 11): what an 8-way partition of the steps scores
without any learning, from the same latents.

    python experiments/lam_cluster_baseline.py --workdir runs/lam_ablation2/norm
    python experiments/lam_cluster_baseline.py \
        --workdirs runs/lam_ablation2/norm,runs/lam_ablation/sdelta,runs/lam_ablation3/residual

The first LAM run gives the latent folder (its tokenizer's), the step of R latent frames, the window of W steps
and the A actions. Every step of a recording gets a code from its latents alone:
  step_mean       k-means (k = A) of the step's mean latent: a state baseline
  step_mean_norm  k-means of the step mean after standardising each channel over its window of W steps
                  (non-overlapping windows, standardised over their frames): the LAM's window_norm view, unlearnt
  step_delta      k-means of the step mean minus the previous step's (zeros for a recording's first step)
  level           A quantile bins of the step mean's projection on the training latents' first principal
                  component (`tasks.lam.level_direction`, the LAM decoder's level input): a volume knob
  random          uniform random codes: the floor
The clusters and bins are fitted on the training split's steps (features standardised with that split's
statistics) and applied to the analysed split, as a learnt model is. Each baseline and each run's own actions
(one row per run; every run must read the same latent folder, so the baselines are computed once) are scored
by the LAM's code path, `action_analysis.analyze` + `measure`: codes used, perplexity, and eta squared of every
state (level = loudness_db, centroid, balance = low_high_db) and move descriptor. Codes and perplexity are
those of the scored steps (a run's report gives them on its evaluation windows instead). About half a minute on
CPU: the recordings are read once, their descriptors computed once, and only the action column changes per row.

Dimension keys: T latent frames, C latent channels, S action steps, R frames per step, N steps of a split.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import dataclasses  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from benchmarks.common import print_table  # noqa: E402
from genie_audio.data import pipelines  # noqa: E402
from genie_audio.editing import actions as actions_lib  # noqa: E402
from genie_audio.editing.action_reader import ActionReader, lam_workdir  # noqa: E402
from genie_audio.eval import action_analysis, descriptors  # noqa: E402
from genie_audio.models import vq  # noqa: E402
from genie_audio.runs import trained_run  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", "runs/lam_ablation2/norm", "Finished LAM run (one LAM row).")
_WORKDIRS = flags.DEFINE_list("workdirs", None, "Several finished LAM runs on the same latents, one row each "
                              "(instead of --workdir); the first sets R, W and the actions.")
_LATENTS = flags.DEFINE_string("latents", "", "Latent folder (default: the first run's).")
_SPLIT = flags.DEFINE_string("split", "validation", "Split whose recordings are scored.")
_SEED = flags.DEFINE_integer("seed", 0, "k-means and random-code seed.")

STD_FLOOR = 1e-3   # as the LAM's standardize_over_time: a channel constant over a window is centred, not blown up
STATE_COLUMNS = {"loudness_db": "level", "centroid_hz": "centroid", "low_high_db": "balance"}
KMEANS_BASELINES = ("step_mean", "step_mean_norm", "step_delta")


# ---------------------------------------------------------------------------------- per-step features

def padded_steps(z_TC: np.ndarray, R: int) -> np.ndarray:
  """(S, R, C) the frames of every step, S = ceil(T / R); a last partial step is completed by repeating the last
  frame, as `actions.infer_timeline` does for the LAM."""
  S = actions_lib.num_steps(len(z_TC), R)
  padded_TC = np.concatenate([z_TC, np.repeat(z_TC[-1:], S * R - len(z_TC), axis=0)])
  return padded_TC.reshape(S, R, z_TC.shape[1])


def window_standardize(z_TC: np.ndarray, frames: int) -> np.ndarray:
  """Each channel to mean 0, std 1 over the frames of consecutive non-overlapping windows of `frames` frames
  (the last one may be shorter)."""
  out_TC = np.empty_like(z_TC, dtype=np.float64)
  for start in range(0, len(z_TC), frames):
    w_TC = z_TC[start:start + frames].astype(np.float64)
    out_TC[start:start + frames] = (w_TC - w_TC.mean(0)) / np.maximum(w_TC.std(0), STD_FLOOR)
  return out_TC


def step_deltas(m_SC: np.ndarray) -> np.ndarray:
  """Each step's mean minus the previous step's; zeros for the first step."""
  return np.diff(m_SC, axis=0, prepend=m_SC[:1])


def step_features(z_TC: np.ndarray, R: int, window_steps: int) -> dict[str, np.ndarray]:
  """{baseline: (S, C) features} of one recording's latents for the k-means baselines (KMEANS_BASELINES)."""
  m_SC = padded_steps(z_TC, R).mean(axis=1)
  # Standardise the padded frames, so each window holds exactly window_steps whole steps (the last: up to).
  norm_SRC = window_standardize(padded_steps(z_TC, R).reshape(-1, z_TC.shape[1]), window_steps * R)
  return {"step_mean": m_SC, "step_mean_norm": norm_SRC.reshape(len(m_SC), R, -1).mean(axis=1),
          "step_delta": step_deltas(m_SC)}


def quantile_edges(level_N: np.ndarray, bins: int) -> np.ndarray:
  """(bins - 1,) inner quantiles of `level_N`: the edges of `bins` equally full bins."""
  return np.quantile(level_N, np.linspace(0.0, 1.0, bins + 1)[1:-1])


def level_codes(level_S: np.ndarray, edges: np.ndarray) -> np.ndarray:
  """(S,) the bin of every level, 0 .. len(edges)."""
  return np.searchsorted(edges, level_S, side="right").astype(np.int64)


def perplexity(codes_N: np.ndarray, num_codes: int) -> float:
  """exp(entropy) of the codes' distribution (`vq.perplexity`): 1 = one code, num_codes = all equally."""
  return float(vq.perplexity(np.bincount(codes_N, minlength=num_codes)))


# ------------------------------------------------------------------------------------------ the baselines

def fit_baselines(train_z: list[np.ndarray], R: int, window_steps: int, num_actions: int,
                  level_direction_C: np.ndarray, seed: int) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
  """A function latents (T, C) -> {baseline: (S,) codes}, fitted on the training recordings' latents."""
  from sklearn.cluster import KMeans   # imported here: the pure functions above (and their test) need no sklearn

  features = [step_features(z_TC, R, window_steps) for z_TC in train_z]
  fitted = {}
  for name in KMEANS_BASELINES:
    x_NF = np.concatenate([f[name] for f in features]).astype(np.float64)
    mean_F, std_F = x_NF.mean(0), np.maximum(x_NF.std(0), 1e-8)
    kmeans = KMeans(num_actions, n_init=4, random_state=seed).fit((x_NF - mean_F) / std_F)
    fitted[name] = (mean_F, std_F, kmeans)
  level = lambda z_TC: padded_steps(z_TC, R).mean(axis=1) @ level_direction_C
  edges = quantile_edges(np.concatenate([level(z_TC) for z_TC in train_z]), num_actions)
  rng = np.random.default_rng(seed)

  def codes_of(z_TC: np.ndarray) -> dict[str, np.ndarray]:
    f = step_features(z_TC, R, window_steps)
    codes = {name: kmeans.predict((f[name] - mean_F) / std_F).astype(np.int64)
             for name, (mean_F, std_F, kmeans) in fitted.items()}
    codes["level"] = level_codes(level(z_TC), edges)
    codes["random"] = rng.integers(0, num_actions, len(f["step_mean"]))
    return codes

  return codes_of


class _ReadOnce:
  """What `action_analysis.analyze` asks of an ActionReader, with every recording read once and a zero timeline;
  `with_codes` then puts any timeline into the analysed steps."""

  def __init__(self, reader: ActionReader, split: str):
    self.split, self.refs = split, reader.recordings(split)
    self.data = [reader.read(ref) for ref in self.refs]
    self.frames_per_action = reader.frames_per_action
    self.step_samples, self.num_actions, self.step_seconds = (reader.step_samples, reader.num_actions,
                                                              reader.step_seconds)

  def recordings(self, split: str):
    assert split == self.split, (split, self.split)
    return self.refs

  def read(self, ref, max_seconds=None):
    assert max_seconds is None
    return self.data[self.refs.index(ref)]

  def timeline_of(self, z_TC: np.ndarray) -> np.ndarray:
    return np.zeros(actions_lib.num_steps(len(z_TC), self.frames_per_action), np.int64)


def with_codes(analysis: action_analysis.Analysis, codes_by_recording: list[np.ndarray]
               ) -> action_analysis.Analysis:
  """The analysis with every step's action taken from its recording's (S,) codes."""
  offsets = np.cumsum([0] + [len(c) for c in codes_by_recording])[:-1]
  codes_N = np.concatenate(codes_by_recording)[offsets[analysis.steps["recording"]] + analysis.steps["step"]]
  return dataclasses.replace(analysis, steps={**analysis.steps, "action": codes_N.astype(np.int64)})


def score(name: str, analysis: action_analysis.Analysis) -> dict:
  """One table row: codes used, perplexity, eta squared of every state and move descriptor."""
  eta = action_analysis.measure(analysis)["eta_squared"]
  used = len(np.unique(analysis.codes))
  row = {"baseline": name, "codes": f"{used}/{analysis.num_actions}",
         "perp": perplexity(analysis.codes, analysis.num_actions)}
  row.update({column: eta["state"][d] for d, column in STATE_COLUMNS.items()})
  row.update({d: eta["move"][d] for d in descriptors.MOVES})
  return row


# ------------------------------------------------------------------------------------------------ the runs

def _from_runs(path: str) -> str:
  """The part of a path from its last `runs` folder on ('' if none): how a worktree's run names a folder."""
  parts = Path(path).parts
  return str(Path(*parts[len(parts) - parts[::-1].index("runs") - 1:])) if "runs" in parts else ""


def check_latents(workdir: str, named: str, shared: str) -> None:
  """Refuses a run that did not train on `shared`. A run trained in a since-removed worktree (its named folder
  gone) passes when the folder's path from runs/ on is the same: the worktrees link the main checkout's runs/."""
  if os.path.realpath(named) == os.path.realpath(shared):
    return
  if not Path(named).exists() and _from_runs(named) and _from_runs(named) == _from_runs(shared):
    print(f"note: {workdir} names {named}, which no longer exists; read as {shared} (same {_from_runs(named)})",
          file=sys.stderr)
    return
  raise ValueError(f"{workdir} trained on the latents {named}, not {shared}: the baselines are computed once, on "
                   f"one latent folder; pass runs of one tokenizer (or run this once per latent folder)")


def load_runs(workdirs: list[str], latents: str) -> tuple[list[ActionReader], str]:
  """An ActionReader per run, all on one latent folder (`latents`, default the first run's), with R and the
  number of actions of the first."""
  lams = [trained_run.load_lam(lam_workdir(w), f"the LAM run of {w}") for w in workdirs]
  shared = latents or trained_run.lam_latent_dir(lams[0])
  readers = []
  for workdir, lam in zip(workdirs, lams):
    check_latents(workdir, trained_run.config_latent_dir(lam.config), shared)
    readers.append(ActionReader(lam, shared))
    for key in ("frames_per_action", "num_actions"):
      if getattr(readers[-1], key) != getattr(readers[0], key):
        raise ValueError(f"{workdir}: {key}={getattr(readers[-1], key)}, but {workdirs[0]} has "
                         f"{getattr(readers[0], key)}: its steps would not be the baselines' steps")
  return readers, shared


def main(argv):
  del argv
  if _WORKDIRS.value and flags.FLAGS["workdir"].present:
    raise app.UsageError("pass --workdir or --workdirs, not both")
  workdirs = _WORKDIRS.value or [_WORKDIR.value]
  readers, latent_dir = load_runs(workdirs, _LATENTS.value)
  first = readers[0]
  R, W, A = first.frames_per_action, first.window_steps, first.num_actions

  from genie_audio.tasks.lam import level_direction   # the training stack: only the level baseline needs it
  train_z = [pipelines.read_latent(ref.latent_path, 0, ref.latent_frames) for ref in first.recordings("train")]
  codes_of = fit_baselines(train_z, R, W, A, level_direction(latent_dir), _SEED.value)

  held = _ReadOnce(first, _SPLIT.value)
  analysis = action_analysis.analyze(held, _SPLIT.value)
  baseline_codes = [codes_of(z_TC) for _, z_TC in held.data]
  rows = [score(name, with_codes(analysis, [c[name] for c in baseline_codes]))
          for name in (*KMEANS_BASELINES, "level", "random")]
  for workdir, reader in zip(workdirs, readers):
    rows.append(score(f"LAM {workdir}", with_codes(analysis, [reader.timeline_of(z) for _, z in held.data])))
  print_table(rows, title=f"Eta squared by code: non-learned {A}-way baselines vs LAM runs, {_SPLIT.value} split "
              f"({len(analysis.codes)} steps of {R} frames, window {W} steps, fitted on {len(train_z)} train "
              f"recordings of {latent_dir})")


if __name__ == "__main__":
  app.run(main)
