"""What each latent action does to the music: audio descriptors of the steps it governs, per action.

    reader = ActionReader.load("runs/demo/lam")            # or a dynamics run
    analysis = analyze(reader, split="validation")         # every step of every validation recording
    paths = write_report(analysis, "runs/demo/lam/actions")

Step s of a recording's action timeline governs its audio samples [s R stride, (s + 1) R stride) (R latent
frames per action, `stride` samples per frame). Each step gets the descriptors of `descriptors.py` (loudness and
its change, spectral centroid and its change, onset density, chroma movement, low/high balance and its
change), measured on the recording's prepared audio. Per action: the number of steps, their share, and each
descriptor's mean, spread (std, quartiles) and count of measurable steps; a profile (mean in standard
deviations of all steps) for the figure; and its most typical steps: those nearest the action's centroid in
that standardised space. Over all steps (`measure`, `action_measures.py`): the share of each descriptor's
variance the action explains (eta squared, state vs move descriptors) and, given the reader, gain
invariance: how many steps keep their action when the recording is played 10 dB softer or 6 dB louder.

write_report writes (atomically, each file complete or absent):
  actions.md     the legend (one line per action, `action_legend.py`), the per-action table (mean ± std), then
                 the eta squared and gain invariance tables, markdown
  legend.json    {action: its legend line}
  actions.csv    the per-action statistics, one row per action and one for all steps
  measures.json  {"eta_squared": {"state": {descriptor: value}, "move": {...}}, "gain_invariance":
                 {"-10dB": x, "+6dB": y}, "gain_invariance_raw": {...}} (gain entries only if measured)
  eta_squared.csv  one row per descriptor: kind, eta squared, measurable steps
  steps.csv      every step: recording, times, action, descriptors
  actions.png    one panel per action: its descriptor profile
  examples/      action{a}_{rank}.wav: the most typical steps with `context_s` of audio each side, and
                 examples.csv saying where each one comes from
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import soundfile as sf

from genie_audio.data import pipelines
from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.eval import action_legend, action_measures, descriptors, plots

FADE_S = 0.01                  # fade in/out of example clips (no clicks at their cuts)
FORMATS = {"centroid_hz": "{:.0f}", "onset_density": "{:.1f}"}   # others: {:.2f}


@dataclasses.dataclass
class Analysis:
  """Every analysed step: `steps` maps column -> (N,) array (see `STEP_COLUMNS` and descriptors.NAMES)."""
  steps: dict[str, np.ndarray]
  recordings: list[dict[str, Any]]   # {name, audio_path, num_samples}, indexed by steps["recording"]
  num_actions: int
  step_seconds: float

  @property
  def codes(self) -> np.ndarray:
    return self.steps["action"]

  def values(self) -> np.ndarray:
    """(N, D) descriptor values, NaN where not measurable."""
    return np.stack([self.steps[name] for name in descriptors.NAMES], axis=1)


STEP_COLUMNS = ("recording", "step", "start_s", "end_s", "action")


def describe_recording(wave: np.ndarray, codes: np.ndarray, step_samples: int,
                       sample_rate: int = SAMPLE_RATE) -> dict[str, np.ndarray]:
  """Step columns of one recording: step index, times, action and descriptors, one entry per step that
  starts inside the audio."""
  steps = min(len(codes), -(-len(wave) // step_samples))
  values = descriptors.step_descriptors(descriptors.frame_features(wave, sample_rate), step_samples, steps)
  index = np.arange(steps)
  return {"step": index, "start_s": index * step_samples / sample_rate,
          "end_s": np.minimum((index + 1) * step_samples, len(wave)) / sample_rate,
          "action": np.asarray(codes[:steps], np.int64), **values}


def analyze(reader, split: str = "validation", max_recordings: int | None = None,
            max_seconds: float | None = None, progress: Callable[[str], None] | None = None) -> Analysis:
  """Timelines and step descriptors of a split's recordings (`reader`: an `ActionReader`), optionally only the
  first `max_recordings`, each cut to its first `max_seconds`."""
  refs = reader.recordings(split)[:max_recordings]
  columns: dict[str, list[np.ndarray]] = {}
  recordings = []
  for i, ref in enumerate(refs):
    if progress:
      progress(f"[{i + 1}/{len(refs)}] {ref.name}")
    wave, z_TC = reader.read(ref, max_seconds)
    table = describe_recording(wave, reader.timeline_of(z_TC), reader.step_samples)
    table["recording"] = np.full(len(table["step"]), i)
    for key, value in table.items():
      columns.setdefault(key, []).append(value)
    recordings.append(dict(name=ref.name, audio_path=ref.audio_path, num_samples=len(wave)))
  steps = {key: np.concatenate(value) for key, value in columns.items()}
  return Analysis(steps, recordings, reader.num_actions, reader.step_seconds)


# ---------------------------------------------------------------------------------------------- statistics

def nan_mean_std(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(mean, std, count) over the finite entries along `axis`; NaN where there are none (no warnings)."""
  finite = np.isfinite(values)
  n = finite.sum(axis=axis)
  safe = np.where(finite, values, 0.0)
  mean = np.where(n > 0, safe.sum(axis=axis) / np.maximum(n, 1), np.nan)
  deviation = np.where(finite, values - np.expand_dims(mean, axis), 0.0)
  std = np.where(n > 0, np.sqrt((deviation ** 2).sum(axis=axis) / np.maximum(n, 1)), np.nan)
  return mean, std, n


def standardize(values_ND: np.ndarray) -> np.ndarray:
  """Each descriptor in standard deviations from its mean over all steps (NaN stays NaN)."""
  mean, std, _ = nan_mean_std(values_ND)
  return (values_ND - mean) / np.where(std > 0, std, 1.0)


def profile(analysis: Analysis) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(mean z (A, D), 95% half-interval of that mean (A, D), step counts (A,)) per action."""
  z = standardize(analysis.values())
  A, D = analysis.num_actions, z.shape[1]
  mean, error = np.full((A, D), np.nan), np.full((A, D), np.nan)
  counts = np.bincount(analysis.codes, minlength=A)[:A]
  for a in range(A):
    mean[a], std, n = nan_mean_std(z[analysis.codes == a])
    error[a] = np.where(n > 1, 1.96 * std / np.sqrt(np.maximum(n, 1)), np.nan)
  return mean, error, counts


def legend(analysis: Analysis) -> dict[int, str]:
  """{action: a line saying what its steps do} (`action_legend.py`)."""
  effects, _, counts = profile(analysis)
  return action_legend.legend(effects, nan_mean_std(analysis.values())[1], counts)


def _stats(values: np.ndarray) -> dict[str, float]:
  finite = values[np.isfinite(values)]
  if finite.size == 0:
    return dict(mean=np.nan, std=np.nan, median=np.nan, q25=np.nan, q75=np.nan, n=0)
  q25, median, q75 = np.percentile(finite, [25, 50, 75])
  return dict(mean=float(finite.mean()), std=float(finite.std()), median=float(median), q25=float(q25),
              q75=float(q75), n=int(finite.size))


def summarize(analysis: Analysis) -> list[dict[str, Any]]:
  """One row per action, then one for all steps: action, steps, share, and per descriptor NAME_mean,
  NAME_std, NAME_median, NAME_q25, NAME_q75, NAME_n."""
  total = len(analysis.codes)
  rows = []
  for action in [*range(analysis.num_actions), "all"]:
    selected = np.ones(total, bool) if action == "all" else analysis.codes == action
    row: dict[str, Any] = dict(action=action, steps=int(selected.sum()),
                               share=float(selected.sum() / max(total, 1)))
    for name in descriptors.NAMES:
      row.update({f"{name}_{k}": v for k, v in _stats(analysis.steps[name][selected]).items()})
    rows.append(row)
  return rows


def typical_steps(analysis: Analysis, per_action: int = 3, min_gap_s: float = 1.0
                  ) -> dict[int, list[tuple[int, float]]]:
  """Per action, up to `per_action` (step index, distance) nearest its centroid in standardised descriptor
  space (root-mean-square over the measurable descriptors), at least `min_gap_s` apart within a recording.
  Steps missing more than half of the descriptors are never chosen."""
  z = standardize(analysis.values())
  recording, start = analysis.steps["recording"], analysis.steps["start_s"]
  chosen: dict[int, list[tuple[int, float]]] = {}
  for a in range(analysis.num_actions):
    index = np.flatnonzero(analysis.codes == a)
    centroid = nan_mean_std(z[index])[0]
    distance = np.sqrt(nan_mean_std((z[index] - centroid) ** 2, axis=1)[0])
    usable = (np.isfinite(z[index]).mean(axis=1) > 0.5) & np.isfinite(distance)
    picks: list[tuple[int, float]] = []
    for i, d in sorted(zip(index[usable], distance[usable]), key=lambda pair: pair[1]):
      if len(picks) == per_action:
        break
      if all(recording[p] != recording[i] or abs(start[p] - start[i]) >= min_gap_s for p, _ in picks):
        picks.append((int(i), float(d)))
    chosen[a] = picks
  return chosen


def measure(analysis: Analysis, reader=None) -> dict[str, Any]:
  """Eta squared of every descriptor by action; with `reader` (an `ActionReader`) also the gain invariance of
  the analysed recordings (as analysed: cut to the same length), by the editor's inference (coded at the
  training loudness: `gain_invariance`) and with the tokenizer seeing the played level
  (`gain_invariance_raw`). Keys as in `measures.json` (module docstring); None where eta squared is undefined
  (a descriptor never measured or constant), so the result is plain JSON."""
  eta = action_measures.eta_squared_table(analysis.steps, analysis.codes)
  finite = lambda table: {name: (v if np.isfinite(v) else None) for name, v in table.items()}
  result: dict[str, Any] = {"eta_squared": {kind: finite(table) for kind, table in eta.items()}}
  if reader is not None:
    waves = [pipelines.read_wave(r["audio_path"], 0, r["num_samples"]) for r in analysis.recordings]
    for key, matched in (("gain_invariance", True), ("gain_invariance_raw", False)):
      infer = lambda wave, m=matched: reader.infer_actions(wave, match_loudness=m).codes
      result[key] = action_measures.gain_invariance(infer, waves)
  return result


# ------------------------------------------------------------------------------------------------- outputs

def _format(name: str, value: float | None) -> str:
  return "–" if value is None or not np.isfinite(value) else FORMATS.get(name, "{:.2f}").format(value)


def markdown_table(summary: list[dict[str, Any]]) -> str:
  """The per-action table: steps, share, and mean ± std of every descriptor."""
  header = ["action", "steps", "share"] + [f"{name} ({unit})" for name, unit, _ in descriptors.DESCRIPTORS]
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for row in summary:
    cells = [str(row["action"]), str(row["steps"]), f"{100 * row['share']:.1f}%"]
    cells += [f"{_format(n, row[f'{n}_mean'])} ± {_format(n, row[f'{n}_std'])}" if row[f"{n}_n"] else "–"
              for n in descriptors.NAMES]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def measures_markdown(measures: dict[str, Any], steps: dict[str, np.ndarray] | None = None) -> str:
  """The eta squared table (kind, descriptor, value[, measurable steps]) and, if measured, the gain
  invariance table."""
  lines = ["", "Share of each descriptor's variance across steps explained by the action (eta squared):", "",
           "| kind | descriptor | eta squared |" + (" steps |" if steps else ""),
           "|---|---|---|" + ("---|" if steps else "")]
  for kind, table in measures["eta_squared"].items():
    for name, value in table.items():
      count = f" {int(np.isfinite(steps[name]).sum())} |" if steps else ""
      lines.append(f"| {kind} | {name} | {_format('eta', value)} |{count}")
  if "gain_invariance" in measures:
    gains = list(measures["gain_invariance"])
    lines += ["", "Gain invariance: share of steps whose action is unchanged at another gain:", "",
              "| inference | " + " | ".join(gains) + " |", "|---|" + "---|" * len(gains)]
    for key, label in (("gain_invariance", "editor (coded at the training loudness)"),
                       ("gain_invariance_raw", "models alone (coded at the played level)")):
      if key in measures:
        lines.append(f"| {label} | " + " | ".join(f"{measures[key][g]:.3f}" for g in gains) + " |")
  return "\n".join(lines) + "\n"


def eta_squared_rows(measures: dict[str, Any], steps: dict[str, np.ndarray]) -> list[dict[str, Any]]:
  return [dict(descriptor=name, kind=kind, eta_squared=value, steps=int(np.isfinite(steps[name]).sum()))
          for kind, table in measures["eta_squared"].items() for name, value in table.items()]


def csv_text(rows: list[dict[str, Any]]) -> str:
  buffer = io.StringIO()
  writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else [], lineterminator="\n")
  writer.writeheader()
  for row in rows:
    writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
  return buffer.getvalue()


def write_atomically(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
  """Calls write(temporary path) next to `path`, then renames it over `path`: readers see all or nothing."""
  path = Path(path)
  tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
  try:
    write(str(tmp))
    os.replace(tmp, path)
  finally:
    if tmp.exists():
      tmp.unlink()
  return path


def write_text(path: str | os.PathLike, text: str) -> Path:
  return write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def example_clip(analysis: Analysis, index: int, context_s: float) -> tuple[np.ndarray, float, float]:
  """(audio, clip start s, clip end s): step `index` with up to `context_s` of its recording each side,
  faded in and out over FADE_S."""
  recording = analysis.recordings[int(analysis.steps["recording"][index])]
  first = max(0, int(round((analysis.steps["start_s"][index] - context_s) * SAMPLE_RATE)))
  last = min(recording["num_samples"], int(round((analysis.steps["end_s"][index] + context_s) * SAMPLE_RATE)))
  wave = pipelines.read_wave(recording["audio_path"], first, last - first).copy()
  fade = min(int(FADE_S * SAMPLE_RATE), len(wave) // 2)
  if fade:
    ramp = np.linspace(0.0, 1.0, fade, endpoint=False)
    wave[:fade] *= ramp
    wave[len(wave) - fade:] *= ramp[::-1]
  return wave, first / SAMPLE_RATE, last / SAMPLE_RATE


def write_examples(analysis: Analysis, output_dir: str | os.PathLike, per_action: int = 3,
                   context_s: float = 0.5) -> list[dict[str, Any]]:
  """The most typical steps of every action as WAVs in `output_dir` (+ examples.csv); returns their rows."""
  output_dir = Path(output_dir)
  output_dir.mkdir(parents=True, exist_ok=True)
  rows = []
  gap = 2 * context_s + analysis.step_seconds   # clips of one recording do not overlap
  for action, picks in typical_steps(analysis, per_action, gap).items():
    for rank, (i, distance) in enumerate(picks):
      wave, clip_start, clip_end = example_clip(analysis, i, context_s)
      name = f"action{action}_{rank}.wav"
      write_atomically(output_dir / name, lambda tmp, w=wave: sf.write(tmp, np.clip(w, -1, 1), SAMPLE_RATE,
                                                                        subtype="PCM_16", format="WAV"))
      recording = analysis.recordings[int(analysis.steps["recording"][i])]
      rows.append(dict(action=action, rank=rank, file=name, recording=recording["name"],
                       step=int(analysis.steps["step"][i]), step_start_s=float(analysis.steps["start_s"][i]),
                       step_end_s=float(analysis.steps["end_s"][i]), clip_start_s=clip_start,
                       clip_end_s=clip_end, distance=distance))
  write_text(output_dir / "examples.csv", csv_text(rows))
  return rows


def step_rows(analysis: Analysis) -> list[dict[str, Any]]:
  names = [r["name"] for r in analysis.recordings]
  rows = []
  for i in range(len(analysis.codes)):
    row = {"recording": names[int(analysis.steps["recording"][i])]}
    row.update({k: (int(analysis.steps[k][i]) if k in ("step", "action") else float(analysis.steps[k][i]))
                for k in (*STEP_COLUMNS[1:], *descriptors.NAMES)})
    rows.append(row)
  return rows


def profile_figure(analysis: Analysis):
  mean, error, counts = profile(analysis)
  return plots.action_profile_figure(mean, error, counts, [d[0] for d in descriptors.DESCRIPTORS])


def write_report(analysis: Analysis, output_dir: str | os.PathLike, examples: int = 3,
                 context_s: float = 0.5, measures: dict[str, Any] | None = None) -> dict[str, str]:
  """Writes the tables, CSVs, figure and example WAVs (module docstring) into `output_dir`; returns their
  paths. `measures` (default: `measure(analysis)`, eta squared only) go into actions.md and measures.json."""
  output_dir = Path(output_dir)
  output_dir.mkdir(parents=True, exist_ok=True)
  summary = summarize(analysis)
  measures = measure(analysis) if measures is None else measures
  lines = legend(analysis)
  counts = np.bincount(analysis.codes, minlength=analysis.num_actions)[:analysis.num_actions]
  table = (action_legend.legend_markdown(lines, counts) + "\n" + markdown_table(summary)
           + measures_markdown(measures, analysis.steps))
  paths = {"table": write_text(output_dir / "actions.md", table),
           "legend": write_text(output_dir / "legend.json", json.dumps({str(a): t for a, t in lines.items()},
                                                                      indent=1)),
           "csv": write_text(output_dir / "actions.csv", csv_text(summary)),
           "measures": write_text(output_dir / "measures.json", json.dumps(measures, indent=1)),
           "eta_squared_csv": write_text(output_dir / "eta_squared.csv",
                                         csv_text(eta_squared_rows(measures, analysis.steps))),
           "steps_csv": write_text(output_dir / "steps.csv", csv_text(step_rows(analysis)))}
  figure = profile_figure(analysis)
  paths["figure"] = write_atomically(output_dir / "actions.png",
                                     lambda tmp: figure.savefig(tmp, format="png", dpi=110))
  if examples > 0:
    write_examples(analysis, output_dir / "examples", examples, context_s)
    paths["examples"] = output_dir / "examples"
  return {k: str(v) for k, v in paths.items()}
