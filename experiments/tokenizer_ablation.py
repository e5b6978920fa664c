"""Issue 10's tokenizer ablation: which representation carries the notes, at equal CPU time per arm.

    python experiments/tokenizer_ablation.py --budget_arm wave_wave --budget_steps 1000 [--arms A,B] [--runs DIR]
        [--noood] [--rounds 1] [--set FIELD=VALUE ...]    # e.g. a smoke run: no music unlike the corpus, one round

1. Measures every arm's train-step time on the same batch in this process (so the ratios share conditions)
   and gives each arm `budget / step_time` steps (budget: --budget_seconds, or the time of --budget_steps
   steps of --budget_arm) (the arms are in experiments/tokenizer_arms.py).
2. Trains each arm with launch/train.py on the demo corpus (a finished arm is reused).
3. Scores each arm with launch/evaluate.py on the demo validation crops and on music unlike the corpus
   (`genie_audio/testing/ood_audio.py`, written to RUNS/ood), and prints one table: chroma similarity,
   multi-scale mel distance, LSD and LSD per band (0-1, 1-2, 2-4, 4-8 kHz) for every arm, next to the
   envelope-vocoder and Opus baselines, and where each arm's decoder stops writing STFT bins (`decoder_cutoff_hz`).
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from benchmarks import common  # noqa: E402
from experiments import music_sets, tokenizer_arms  # noqa: E402
from experiments.common import config_flags, with_overrides  # noqa: E402
from genie_audio.eval import audio_metrics  # noqa: E402

_BUDGET = flags.DEFINE_float("budget_seconds", 400.0, "Train-step seconds every arm gets (at measured speed).")
_BUDGET_ARM = flags.DEFINE_string("budget_arm", None, "With --budget_steps: the budget is the time of that many "
                                  "steps of this arm (instead of --budget_seconds).")
_BUDGET_STEPS = flags.DEFINE_integer("budget_steps", None, "See --budget_arm.")
_ARMS = flags.DEFINE_list("arms", list(tokenizer_arms.ARMS), "Arms to run.")
_RUNS = flags.DEFINE_string("runs", "runs/ablation", "Folder for the arms' runs.")
_DATA = flags.DEFINE_string("dataset_dir", "data/demo", "Prepared dataset.")
_FIXED = flags.DEFINE_list("fixed_steps", [], "arm=N pairs: train these arms N steps instead of the measured "
                          "budget (e.g. an arm with the same network as one already run, so equal steps are equal "
                          "compute, whatever the load on the machine when each was timed). N = 0: timed only "
                          "(the --budget_arm of an earlier run), not trained again.")
_STEPS = flags.DEFINE_integer("sampler_steps", 16, "Euler steps when scoring.")
_OOD = flags.DEFINE_bool("ood", True, "Also score music unlike the corpus (rendered into RUNS/ood).")
_ROUNDS = flags.DEFINE_integer("rounds", 2, "Timing rounds over the arms (the fastest counts).")
_SET = flags.DEFINE_multi_string("set", [], "FIELD=VALUE config override on every arm (after the arm's own).")

PY = sys.executable
METRICS = ("chroma_similarity", "mel_distance", "lsd", *(audio_metrics.band_name(*b) for b in audio_metrics.LSD_BANDS),
           *(audio_metrics.band_name(*b, "lines") for b in audio_metrics.LINE_BANDS))


def step_seconds(arms: list[str], rounds: int = 2) -> dict[str, tuple[float, int]]:
  """{arm: (train-step seconds, parameter count)} at the training batch. The arms are timed in turn for
  `rounds` rounds and the fastest round counts, so a burst of other load on the machine does not make one
  arm look slow. Each time is the median of 20 steps; even so, on 2 cores copies of one network were timed
  up to 14% apart (19% with 5 steps, runs/abl25n_8hz), so arms with one network should get equal
  --fixed_steps."""
  import jax

  from genie_audio.tasks.tokenizer import TokenizerTask
  best = {}
  for _ in range(rounds):
    for arm in arms:
      task = TokenizerTask(with_overrides(tokenizer_arms.get_config(arm), _SET.value))
      wave = 0.07 * np.random.default_rng(0).standard_normal((task.config.batch_size, task.crop_frames))
      seconds, _, state = common.time_train_step(task, {"wave": wave.astype(np.float32)}, repeats=20)
      params = int(sum(np.prod(x.shape) for x in jax.tree.leaves(state.params)))
      best[arm] = (min(seconds, best.get(arm, (np.inf,))[0]), params)
  return best


def evaluate(workdir: str, *extra: str) -> dict:
  out = subprocess.run([PY, "launch/evaluate.py", "--workdir", workdir, "--steps", str(_STEPS.value), *extra],
                       check=True, capture_output=True, text=True).stdout
  return json.loads(out.strip().splitlines()[-1])


def decoder_cutoff_hz(workdir: str, band_hz: float = 500.0, floor: float = 0.1) -> float | None:
  """Where the decoder stops writing: the lower edge of the first `band_hz` band whose output weights (the norm of
  the last layer's kernel per STFT bin, real and imaginary parts averaged) fall below `floor` of the largest
  band's; the Nyquist frequency when none does. None for a decoder that does not write STFT frames through one
  dense layer. Above it the sampler's noise is left as it was drawn (issue 25: 2.5 kHz at the old demo width)."""
  from genie_audio.data.manifest import SAMPLE_RATE
  from genie_audio.runs import run
  if run.load_config(workdir).model.get("flow_space") != "stft":
    return None
  out = run.load_params(workdir).get("decoder", {}).get("out")
  if out is None:
    return None
  norms = np.linalg.norm(np.asarray(out["kernel"]), axis=0)
  bins = len(norms) // 2
  per_bin = (norms[:bins] + norms[bins:]) / 2
  hz = np.arange(bins) * (SAMPLE_RATE / 2) / (bins - 1)
  edges = np.arange(0.0, SAMPLE_RATE / 2, band_hz)
  bands = np.array([per_bin[(hz >= low) & (hz < low + band_hz)].mean() for low in edges])
  below = np.flatnonzero(bands < floor * bands.max())
  return float(edges[below[0]]) if len(below) else SAMPLE_RATE / 2


def rows_for(name: str, result: dict, extra: dict) -> list[dict]:
  """One row for the arm, and one per baseline (only the first time a source is scored)."""
  rows = [dict(extra, estimate=name, **{k: result[k] for k in METRICS})]
  for base in ("envelope_vocoder", "opus"):
    if base in result["baselines"]:
      rows.append(dict(estimate=f"baseline: {base}", **{k: result["baselines"][base][k] for k in METRICS}))
  return rows


def main(argv):
  del argv
  os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  timing = step_seconds(_ARMS.value, _ROUNDS.value)
  budget = _BUDGET.value
  if _BUDGET_ARM.value:
    budget = _BUDGET_STEPS.value * timing[_BUDGET_ARM.value][0]
  steps = {arm: round(budget / seconds) for arm, (seconds, _) in timing.items()}
  steps.update({arm: int(n) for arm, n in (item.split("=") for item in _FIXED.value)})
  common.print_table([dict(arm=a, step_s=s, params=n, steps=steps[a]) for a, (s, n) in timing.items()],
                     f"equal CPU time ({budget:.0f} s of train steps): steps per arm")
  ood = os.path.join(_RUNS.value, "ood")
  if _OOD.value:
    music_sets.write_unlike_folder(ood)
  tables = {"validation": [], "ood": []}
  for arm, (_, params) in timing.items():
    workdir, n = os.path.join(_RUNS.value, arm), steps[arm]
    if n == 0:
      continue
    subprocess.run([PY, "launch/train.py", f"--config=experiments/tokenizer_arms.py:{arm}", f"--workdir={workdir}",
                    f"--config.data.dataset_dir={_DATA.value}", f"--config.total_steps={n}",
                    f"--config.eval_every_steps={n}", f"--config.checkpoint_every_steps={n}",
                    *config_flags(_SET.value)],
                   check=True, stdout=subprocess.DEVNULL)
    info = dict(arm=arm, params=params, steps=n, decoder_cutoff_hz=decoder_cutoff_hz(workdir))
    for source, extra in (("validation", ()), ("ood", ("--audio", ood)))[:2 if _OOD.value else 1]:
      result = evaluate(workdir, *extra)
      with open(os.path.join(workdir, f"eval_{source}.json"), "w") as f:
        json.dump(result, f, indent=1)
      rows = rows_for(arm, result, info)
      tables[source].extend(rows if not tables[source] else rows[:1])
      print(json.dumps(dict(source=source, **rows[0])), flush=True)
  for source, rows in tables.items():
    if rows:
      common.print_table(rows, f"{source} ({_STEPS.value} Euler steps)")


if __name__ == "__main__":
  app.run(main)
