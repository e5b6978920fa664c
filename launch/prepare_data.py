"""Prepares audio into a dataset (16 kHz mono shards + manifest), or builds the bundled demo corpus.

  python launch/prepare_data.py --input ~/music/jazz --output data/jazz [--validation-fraction 0.1]
      [--workers N] [--quality-model MODEL] [--num-hosts H --host-index I]
  python launch/prepare_data.py --demo --output data/demo [--seed 0]

The last line printed is one JSON object (prepared / skipped counts, hours, output folder, ...). With several
hosts, each runs this command on the same input and output folders (shared storage); host 0 waits for the
others and writes the manifest. Without the flags the host share comes from jax.distributed (if the process
joined a group) or from SLURM / Open MPI variables.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from genie_audio.archive import demo_corpus, host_share, parallel, prepare, quality  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  source = parser.add_mutually_exclusive_group(required=True)
  source.add_argument("--input", help="folder of wav/flac/ogg/mp3 files (searched recursively)")
  source.add_argument("--demo", action="store_true", help="build the generated-jazz demo corpus instead")
  parser.add_argument("--output", help="dataset folder to write (default for --demo: data/demo)")
  parser.add_argument("--validation-fraction", type=float, default=0.1,
                      help="share of files (by a stable hash of their path) put in the validation split; "
                           "files under INPUT/validation/ always are")
  parser.add_argument("--seed", type=int, default=0, help="demo corpus seed")
  parser.add_argument("--minutes", type=float, default=demo_corpus.DEFAULT_MINUTES,
                      help="demo corpus length in minutes")
  parser.add_argument("--workers", type=int, default=parallel.available_cores(),
                      help="processes preparing files in parallel (default: all cores); output is the same for any")
  parser.add_argument("--quality-model", help="drop recordings this filter rejects (python launch/quality.py train)")
  parser.add_argument("--num-hosts", type=int, help="hosts sharing the work (default: from the environment)")
  parser.add_argument("--host-index", type=int, help="this host, 0 .. num-hosts - 1")
  parser.add_argument("--no-progress", action="store_true", help="no progress bar")
  args = parser.parse_args(argv)
  if args.input is not None and args.output is None:
    parser.error("--output is required with --input")
  if (args.num_hosts is None) != (args.host_index is None):
    parser.error("--num-hosts and --host-index go together")
  return args


def main(argv: list[str]) -> int:
  args = parse_args(argv)
  try:
    if args.demo:
      summary = demo_corpus.build_demo_corpus(args.output or demo_corpus.DEFAULT_DEMO_DIR, seed=args.seed,
                                              minutes=args.minutes, progress=not args.no_progress)
    else:
      share = (host_share.default_share() if args.num_hosts is None
               else host_share.HostShare(args.num_hosts, args.host_index))
      # Loaded before any file is touched: a bad model path fails here, not after hours of work.
      model = quality.load(args.quality_model) if args.quality_model else None
      summary = prepare.prepare_folder(args.input, args.output, validation_fraction=args.validation_fraction,
                                       progress=not args.no_progress, workers=args.workers, share=share,
                                       quality_model=model)
  except (FileNotFoundError, FileExistsError, ValueError, TimeoutError, demo_corpus.DemoToolsMissingError) as e:
    print(f"error: {e}", file=sys.stderr)
    print(json.dumps({"error": str(e), "prepared": 0, "skipped": 0}))
    return 1
  print(json.dumps(summary, sort_keys=True))
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
