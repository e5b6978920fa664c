"""The bundled demo corpus: generated small-band jazz, rendered with sampled General MIDI instruments.

Songs are written as MMA (Musical MIDI Accompaniment) files from seeded choices (`demo_songs.py`: chord form,
groove, tempo, key, lead instrument, and changes inside each tune); demo.json lists each tune's sections with
their start times. MMA writes MIDI, fluidsynth renders it with the FluidR3 GM soundfont, and `prepare_folder`
turns the renders into an ordinary prepared dataset (tunes under validation/ become the validation split).

Needs only Debian packages: apt-get install -y --no-install-recommends mma fluidsynth fluid-soundfont-gm
"""

from __future__ import annotations

import concurrent.futures
import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from genie_audio.archive import prepare
from genie_audio.archive.demo_songs import plan
from genie_audio.data.manifest import MANIFEST, SAMPLE_RATE, SHARDS, SKIPPED, read_lines

DEFAULT_DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "demo"
DEMO_VERSION = 1
DEFAULT_MINUTES = 27.0
MARKER = "demo.json"
SONGS = "songs"
INSTALL = "apt-get install -y --no-install-recommends mma fluidsynth fluid-soundfont-gm"
SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/soundfonts/FluidR3_GM.sf2")


class DemoToolsMissingError(RuntimeError):
  """mma, fluidsynth or the GM soundfont is not installed."""


def soundfont() -> str:
  """Path of the FluidR3 GM soundfont; raises `DemoToolsMissingError` naming the install command."""
  missing = [tool for tool in ("mma", "fluidsynth") if shutil.which(tool) is None]
  font = next((f for f in SOUNDFONTS if os.path.exists(f)), None)
  if font is None:
    missing.append("FluidR3_GM.sf2")
  if missing:
    raise DemoToolsMissingError(f"the demo corpus needs {', '.join(missing)}: install with `{INSTALL}`")
  return font


# ---------------------------------------------------------------------------------------------------- rendering

def _run(cmd: list[str], cwd: Path) -> None:
  result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
  if result.returncode != 0:
    raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}) in {cwd}:\n"
                       f"{(result.stdout + result.stderr)[-2000:]}")


def render(song: str, wav_path: Path, work_dir: Path, font: str) -> None:
  """MMA song text -> MIDI -> 16 kHz float WAV. MMA embeds its input file name in the MIDI, so the input is
  always `song.mma` in the current directory: the bytes then depend on the song text only."""
  work_dir.mkdir(parents=True, exist_ok=True)
  (work_dir / "song.mma").write_text(song, encoding="utf-8")
  _run(["mma", "song.mma", "-f", "song.mid"], work_dir)
  wav_path.parent.mkdir(parents=True, exist_ok=True)
  _run(["fluidsynth", "-ni", "-q", "-T", "wav", "-O", "float", "-r", "16000", "-g", "0.5",
        "-F", str(wav_path.resolve()), font, "song.mid"], work_dir)


def _is_complete(out: Path, seed: int, minutes: float, max_tunes: int | None) -> dict | None:
  try:
    marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
  except (OSError, ValueError):
    return None
  wanted = {"version": DEMO_VERSION, "seed": seed, "minutes": minutes, "max_tunes": max_tunes}
  if any(marker.get(k) != v for k, v in wanted.items()) or not (out / MANIFEST).exists():
    return None
  if not all((out / t["shard"]).exists() for t in marker["tunes"]):
    return None
  return marker


def _clear(out: Path) -> None:
  """Empties an earlier (other seed, or interrupted) demo build; refuses to touch any other folder."""
  if not out.exists() or not any(out.iterdir()):
    return
  ours = {MARKER, f"{MARKER}.tmp", MANIFEST, SKIPPED, SHARDS, SONGS, "_render", ".building"}
  if not ((out / MARKER).exists() or (out / ".building").exists()) or {p.name for p in out.iterdir()} - ours:
    raise FileExistsError(f"{out} is not empty and is not a demo corpus: choose another output folder")
  for p in out.iterdir():
    shutil.rmtree(p) if p.is_dir() else p.unlink()


def build_demo_corpus(output_dir: str | os.PathLike = DEFAULT_DEMO_DIR, seed: int = 0,
                      minutes: float = DEFAULT_MINUTES, max_tunes: int | None = None,
                      workers: int | None = None, progress: bool = True) -> dict:
  """Builds (or finds, if already complete for these arguments) the demo corpus as a prepared dataset.

  Returns the `prepare_folder` summary plus "tunes", "minutes", "validation_minutes", "build_seconds", "cached".
  """
  out = Path(output_dir)
  out.parent.mkdir(parents=True, exist_ok=True)
  with open(out.parent / f".{out.name}.lock", "w") as lock:
    # Several training processes on one machine may all ask for the corpus: one builds, the others wait.
    fcntl.flock(lock, fcntl.LOCK_EX)
    marker = _is_complete(out, seed, minutes, max_tunes)
    if marker is not None:  # counted like a finished `prepare_folder` re-run: nothing new, all done
      done = marker["summary"]
      return dict(done, output=str(out), prepared=0, already_done=done["prepared"] + done["skipped"],
                  cached=True)
    return _build(out, seed, minutes, max_tunes, workers, progress)


def _build(out: Path, seed: int, minutes: float, max_tunes: int | None, workers: int | None,
           progress: bool) -> dict:
  font = soundfont()
  start = time.time()
  _clear(out)
  out.mkdir(parents=True, exist_ok=True)
  (out / ".building").write_text(json.dumps({"seed": seed}), encoding="utf-8")
  tunes = plan(seed, minutes, max_tunes)
  render_dir, songs_dir = out / "_render", out / SONGS
  songs_dir.mkdir(exist_ok=True)
  for tune in tunes:  # kept next to the dataset so every tune can be read (and replayed with mma)
    (songs_dir / f"{tune['name']}.mma").write_text(tune["song"], encoding="utf-8")
  workers = workers or min(4, os.cpu_count() or 1)
  with concurrent.futures.ThreadPoolExecutor(workers) as pool:  # threads only wait on subprocesses
    jobs = [pool.submit(render, t["song"], render_dir / "wav" / t["source"], render_dir / "work" / t["name"],
                        font) for t in tunes]
    for job in jobs:
      job.result()
  summary = prepare.prepare_folder(render_dir / "wav", out, validation_fraction=0.0, progress=progress)
  if summary["skipped"]:
    raise RuntimeError(f"demo corpus: {summary['skipped']} rendered tunes were rejected: "
                       f"{summary['skipped_reasons']} (see {out / SKIPPED})")
  shutil.rmtree(render_dir)
  frames = {r["source"]: r["frames"] for r in read_lines(out / MANIFEST)}
  summary.update(tunes=len(tunes), minutes=round(sum(frames.values()) / SAMPLE_RATE / 60, 2),
                 validation_minutes=round(sum(frames[t["source"]] for t in tunes
                                              if t["split"] == "validation") / SAMPLE_RATE / 60, 2),
                 build_seconds=round(time.time() - start, 1))
  marker = {"version": DEMO_VERSION, "seed": seed, "minutes": minutes, "max_tunes": max_tunes,
            "summary": summary, "tunes": [{k: v for k, v in t.items() if k != "song"} for t in tunes]}
  tmp = out / f"{MARKER}.tmp"
  tmp.write_text(json.dumps(marker, indent=1), encoding="utf-8")
  os.replace(tmp, out / MARKER)  # written last: its presence means the corpus is complete
  (out / ".building").unlink()
  return dict(summary, cached=False)


def ensure_demo_corpus(output_dir: str | os.PathLike = DEFAULT_DEMO_DIR, seed: int = 0) -> str:
  """The demo corpus folder, built first if missing (10-30 s); for configs that default to it."""
  build_demo_corpus(output_dir, seed=seed, progress=False)
  return str(output_dir)


def ensure_if_default(dataset_dir: str | os.PathLike) -> str:
  """`dataset_dir`, with the demo corpus built first when it is the demo corpus's default folder."""
  if os.path.abspath(dataset_dir) == os.path.abspath(DEFAULT_DEMO_DIR):
    ensure_demo_corpus(dataset_dir)
  return str(dataset_dir)
