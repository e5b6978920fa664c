"""The quality filter: train it, score recordings with it, or make degraded copies to check it on.

  python launch/quality.py train --good DIR [DIR ...] --bad DIR|synth --output MODEL [--split train]
  python launch/quality.py score --model MODEL --input DIR [--split validation] [--csv scores.csv]
  python launch/quality.py degrade --input DIR --output DIR [--split validation]

A DIR is a folder of audio files or a prepared dataset (then --split picks its recordings). `--bad synth`
makes the bad class from the good audio (noise, crackle, band limits, clipping, wow and flutter, babble), and
adds restyled good copies (another equaliser and room, `--style-copies`), so style cannot tell the classes apart.
`score` ends with one JSON line {"threshold": T, "files": [{"path", "score", "passed"}, ...]}; use the model
when preparing with `python launch/prepare_data.py --quality-model MODEL`.
"""

import argparse
import csv
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import soundfile as sf  # noqa: E402

from genie_audio.archive import degrade, parallel, quality, quality_training  # noqa: E402
from genie_audio.data.manifest import SAMPLE_RATE  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  commands = parser.add_subparsers(dest="command", required=True)
  train = commands.add_parser("train", help="train a filter")
  train.add_argument("--good", nargs="+", required=True, help="folders of usable recordings")
  train.add_argument("--bad", required=True, help="a folder of unusable recordings, or 'synth'")
  train.add_argument("--output", required=True, help="model file to write")
  train.add_argument("--cut-seconds", type=float, default=quality.DEFAULT_CUT_S, help="length of a scored cut")
  train.add_argument("--sigma", type=float, default=quality.DEFAULT_SIGMA_CUTS,
                     help="Gaussian smoothing of cut probabilities over time, in cuts")
  train.add_argument("--threshold", type=float, default=quality.DEFAULT_THRESHOLD,
                     help="a recording is kept when its mean smoothed probability is above this")
  train.add_argument("--trees", type=int, default=200, help="ExtraTrees size")
  train.add_argument("--folds", type=int, default=5, help="cross-validation folds (grouped by recording)")
  train.add_argument("--style-copies", type=int, default=quality_training.DEFAULT_STYLE_COPIES,
                     help="with --bad synth: restyled versions (equaliser, room) of each good recording, so that "
                          "the collection's sound is not learnt as the mark of a good recording")
  score = commands.add_parser("score", help="score recordings with a trained filter")
  score.add_argument("--model", required=True)
  score.add_argument("--input", required=True)
  score.add_argument("--csv", default="quality_scores.csv", help="CSV file of path, score, passed")
  copies = commands.add_parser("degrade", help="write a degraded copy of each recording per degradation")
  copies.add_argument("--input", required=True)
  copies.add_argument("--output", required=True, help="folder for KIND/NAME.flac copies (16 kHz mono)")
  for sub in (train, score, copies):
    sub.add_argument("--split", help="with a prepared dataset: only this split (train / validation)")
  for sub in (train, score):
    sub.add_argument("--workers", type=int, default=parallel.available_cores(), help="processes (default: cores)")
  # Another default seed for copies than for training, so checking copies are not drawn like trained-on ones.
  for sub, seed in ((train, 0), (copies, 1)):
    sub.add_argument("--seed", type=int, default=seed, help="degradation (and tree) seed")
  return parser.parse_args(argv)


def train(args: argparse.Namespace) -> None:
  # Every folder is listed (and checked) before any audio is read.
  good = [i for folder in args.good for i in quality.find_inputs(folder, args.split)]
  bad = None if args.bad == quality_training.SYNTH else quality.find_inputs(args.bad, args.split)
  settings = quality.Settings(args.cut_seconds, args.sigma, args.threshold)
  model = quality_training.train(good, bad, settings, args.trees, args.seed, args.folds, args.workers,
                                 style_copies=args.style_copies)
  quality.save(model, args.output)
  print(json.dumps({"model": args.output, **model.report}, indent=1))


def score(args: argparse.Namespace) -> None:
  model = quality.load(args.model)
  inputs = quality.find_inputs(args.input, args.split)
  files = []
  for result in quality.score_inputs(model, inputs, args.workers):
    if "error" in result:  # a file preparation would skip: no score
      shown, verdict = "-", f"dropped ({result['error']})"
    else:
      shown, verdict = f"{result['score']:.4f}", "kept" if result["passed"] else "dropped"
    print(f"{shown:>8}  {verdict:8}  {result['path']}")
    files.append(result)
  with open(args.csv, "w", newline="", encoding="utf-8") as f:
    writer = csv.DictWriter(f, ["path", "score", "passed", "seconds", "error"])
    writer.writeheader()
    writer.writerows(files)
  print(json.dumps({"threshold": model.settings.threshold, "files": files}))


def write_degraded(args: argparse.Namespace) -> None:
  out = Path(args.output)
  for index, source in enumerate(quality.find_inputs(args.input, args.split)):
    for kind, copy in degrade.degraded_copies(source.load(), args.seed, index):
      path = (out / kind / source.name).with_suffix(".flac")
      path.parent.mkdir(parents=True, exist_ok=True)
      sf.write(path, copy, SAMPLE_RATE)
    print(f"degraded {source.name}", flush=True)


def main(argv: list[str]) -> int:
  args = parse_args(argv)
  try:
    {"train": train, "score": score, "degrade": write_degraded}[args.command](args)
  except (FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
