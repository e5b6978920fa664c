"""LAM ablation: codebook size x action granularity K, with the controllability gap of each (CPU-size runs).

    python benchmarks/lam_ablation.py --tokenizer runs/demo/tokenizer --actions 4,8,16 --frames 5,10,20

Trains `configs/lam.py:tiny` once per cell on the tokenizer run's latents (resuming cells already trained),
evaluates it with launch/evaluate.py and prints one table.
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from benchmarks.common import print_table  # noqa: E402

_TOKENIZER = flags.DEFINE_string("tokenizer", "runs/demo/tokenizer", "Trained tokenizer run (with latents).")
_OUT = flags.DEFINE_string("out", "runs/lam_ablation", "Folder for the ablation runs.")
_ACTIONS = flags.DEFINE_list("actions", ["4", "8", "16"], "Codebook sizes.")
_FRAMES = flags.DEFINE_list("frames", ["5", "10", "20"], "Latent frames per action (K).")
_STEPS = flags.DEFINE_integer("steps", 1500, "Training steps per cell.")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args: str) -> str:
  result = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT)
  if result.returncode:
    raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
  return result.stdout


def main(argv):
  del argv
  rows = []
  for num_actions in map(int, _ACTIONS.value):
    for frames in map(int, _FRAMES.value):
      workdir = os.path.join(_OUT.value, f"A{num_actions}_K{frames}")
      _run("launch/train.py", "--config=configs/lam.py:tiny", f"--workdir={workdir}",
           f"--config.init.tokenizer.workdir={_TOKENIZER.value}", f"--config.total_steps={_STEPS.value}",
           f"--config.model.num_actions={num_actions}", f"--config.model.frames_per_action={frames}",
           f"--config.eval_every_steps={_STEPS.value}")
      report = json.loads(_run("launch/evaluate.py", f"--workdir={workdir}").strip().splitlines()[-1])
      rows.append({"actions": num_actions, "K": frames, "s/action": frames / 50,
                   "codes used": report["codebook_usage"] * num_actions, "perplexity": report["perplexity"],
                   "err inferred": report["hidden_error_inferred"], "err none": report["hidden_error_none"],
                   "err random": report["hidden_error_random"], "gap (random/inferred)":
                   report["controllability_gap"], "none/inferred":
                   report["hidden_error_none"] / report["hidden_error_inferred"], "stability": report["stability"]})
  print_table(rows, title=f"LAM ablation on {_TOKENIZER.value} latents ({_STEPS.value} steps each, tiny LAM)")


if __name__ == "__main__":
  app.run(main)
