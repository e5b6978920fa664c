"""Writes the evaluation notebooks (tokenizer.ipynb, actions.ipynb, editing.ipynb) from the cells below.

  python notebooks/build.py            # rewrite the three notebooks (outputs cleared)
  python notebooks/build.py --check    # exit 1 if a committed notebook differs from what this file builds

Edit the cells here, not in the .ipynb files, so the notebooks stay reviewable as Python. Each notebook opens
with a Colab badge and an install cell, then a cell naming the run it reads (the demo pipeline's runs under
runs/demo by default, or $GENIE_RUNS: tests point it at a tiny trained pipeline and execute every notebook).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = "genie-audio/genie-audio"   # GitHub owner/name the Colab badge and the install cell use

INSTALL = '''\
# Make `genie_audio` importable. In a checkout: use it (no install). On Colab: clone the project and install its
# pinned requirements (a few minutes; if Colab then asks to restart the runtime, do so and run all again).
# Nothing happens when the package already imports.
import importlib.util, os, subprocess, sys
from pathlib import Path

ROOT = next((p for p in [Path.cwd(), *Path.cwd().parents] if (p / "genie_audio" / "__init__.py").exists()), None)
if ROOT is None and importlib.util.find_spec("genie_audio") is None:
  ROOT = Path("genie-audio").resolve()
  if not ROOT.exists():
    url = os.environ.get("GENIE_AUDIO_REPO", "https://github.com/{repo}")
    subprocess.run(["git", "clone", "--depth", "1", url, str(ROOT)], check=True)
  subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r", str(ROOT / "requirements.txt")], check=True)
if ROOT is not None:
  os.chdir(ROOT)  # run folders (runs/demo/...) are relative to the checkout
  sys.path.insert(0, str(ROOT))
print("working in", Path.cwd())'''.replace("{repo}", REPO)


def runs_cell(stage: str, extra: str = "") -> str:
  return f'''\
# Which run to read: the demo pipeline's (`bash launch/pipeline.sh` trains runs/demo/{{tokenizer,lam,dynamics}}
# on CPU), or any folder with that layout named by $GENIE_RUNS. Or set WORKDIR to any {stage} run.
RUNS = Path(os.environ.get("GENIE_RUNS", "runs/demo"))
WORKDIR = RUNS / "{stage}"
if not (WORKDIR / "config.json").exists():
  raise FileNotFoundError(f"{{WORKDIR}} is not a training run: train the demo pipeline first "
                          f"(bash launch/pipeline.sh) or set GENIE_RUNS / WORKDIR")
{extra}'''


def header(name: str, title: str, text: str) -> str:
  badge = (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
           f"(https://colab.research.google.com/github/{REPO}/blob/main/notebooks/{name}.ipynb)")
  return f"{badge}\n\n# {title}\n\n{text}"


TOKENIZER = [
    ("md", header("tokenizer", "genie-audio: the diffusion tokenizer",
                  "Listen to validation clips and their reconstructions (encode to latents, decode with the "
                  "flow-matching sampler), compare their spectrograms, and see how the reconstruction metrics "
                  "depend on the number of sampler steps. Runs on CPU in seconds on the tiny demo runs.")),
    ("code", INSTALL),
    ("code", runs_cell("tokenizer", '''CLIPS = 2                   # validation clips to listen to
SWEEP_STEPS = (1, 4, 16)    # sampler steps to compare (the run's own setting is added)''')),
    ("code", '''\
%matplotlib inline
import jax
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Audio, Markdown, display

from genie_audio import tasks
from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.eval import plots, reconstruction
from genie_audio.runs import run
from genie_audio.training.metrics import read_metrics

task = tasks.load(WORKDIR)
params, ema_params, step = run.load_train_params(WORKDIR)
params = jax.device_put(ema_params if ema_params is not None else params)
e = task.config.eval
print(f"{WORKDIR} at step {step}: {task.frame_rate:g} latent frames/s x {task.model.latent_dim} channels, "
      f"decoded with {e.sampler_steps} {e.method} steps")'''),
    ("md", "## Originals and reconstructions\nThe run's fixed validation crops, reconstructed with its own "
           "sampler settings."),
    ("code", '''\
clips = task.eval_clips()[:CLIPS]
recon = task.reconstruct(params, clips, e.sampler_steps, e.method, e.seed)
for i, (original, rebuilt) in enumerate(zip(clips, recon)):
  display(Markdown(f"**clip {i}**: original, then reconstruction"))
  display(Audio(original, rate=SAMPLE_RATE), Audio(rebuilt, rate=SAMPLE_RATE))
display(plots.spectrogram_figure({"original": clips[0], f"reconstruction ({e.sampler_steps} steps)": recon[0]}))'''),
    ("md", "## Metrics against sampler steps\nMulti-scale mel distance and log-spectral distance (lower is "
           "better), SI-SDR (generative decoders score near or below 0 dB while sounding right), chroma "
           "similarity and correlation (1 = the same notes; a pitchless estimate scores about 0.6 and 0 on "
           "music), against baselines a tokenizer must beat: silence, a low-pass copy, an envelope vocoder "
           "(the latent's count of band energies, resynthesised from noise: loudness and timbre but no notes) "
           "and Opus at the latent's bitrate (left out without opus-tools)."),
    ("code", '''\
steps = sorted(set(SWEEP_STEPS) | {e.sampler_steps})
scores = {n: reconstruction.mean_metrics(clips, task.reconstruct(params, clips, n, e.method, e.seed)) for n in steps}
baselines = reconstruction.baseline_metrics(clips, task.frame_rate, task.model.latent_dim)
keys = reconstruction.METRICS
rows = ["| sampler steps | " + " | ".join(k.replace("_", " ") for k in keys) + " |", "|---" * (1 + len(keys)) + "|"]
for name, m in [*scores.items(), *baselines.items()]:
  rows.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in keys) + " |")
display(Markdown("\\n".join(rows)))
for note in reconstruction.baseline_notes(task.frame_rate, task.model.latent_dim):
  print(note)

fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 3), layout="constrained")
for ax, key in zip(axes, keys):
  ax.plot(steps, [scores[n][key] for n in steps], marker="o", label="tokenizer")
  for (name, m), style in zip(baselines.items(), ("--", ":", "-.", (0, (1, 3)))):
    ax.axhline(m[key], color="0.4", ls=style, label=name)
  ax.set(xscale="log", xlabel="sampler steps", title=key)
axes[0].legend()
plt.show()'''),
    ("md", "## Training curve"),
    ("code", '''\
metrics = read_metrics(WORKDIR)
fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
for name in ("train/loss", "eval/recon/mel_distance"):
  logged = sorted(s for s, m in metrics.items() if name in m)
  if logged:
    ax.plot(logged, [metrics[s][name] for s in logged], label=name)
ax.set(xlabel="training step", yscale="log")
ax.legend()
plt.show()'''),
]

ACTIONS = [
    ("md", header("actions", "genie-audio: what the latent actions mean",
                  "The latent action model labels every step of a recording with one of a few actions, learned "
                  "without labels. Here: a recording's action timeline over its spectrogram, what each action "
                  "does to the music across the validation split (loudness, brightness, onsets, harmony), its "
                  "most typical passages, and how the codebook was used during training. The same table comes "
                  "from `python launch/describe_actions.py --workdir RUN`.")),
    ("code", INSTALL),
    ("code", runs_cell("lam", '''CLIP_SECONDS = 10.0     # the recording shown with its timeline
MAX_RECORDINGS = None   # validation recordings analysed (None: all)
MAX_SECONDS = 60.0      # ... each cut to its first MAX_SECONDS (None: whole)''')),
    ("code", '''\
%matplotlib inline
import matplotlib.pyplot as plt
from IPython.display import Audio, Markdown, display

from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.editing.action_reader import ActionReader
from genie_audio.eval import action_analysis, plots
from genie_audio.training.metrics import read_metrics

reader = ActionReader.load(WORKDIR)
print(f"LAM {reader.lam.workdir} at step {reader.lam.step}: {reader.num_actions} actions, one per "
      f"{reader.step_seconds:g} s ({reader.frames_per_action} latent frames)")'''),
    ("md", "## An action timeline\nThe first validation recording, encoded by the tokenizer and labelled by "
           "the LAM exactly as the editor does it."),
    ("code", '''\
recording = reader.recordings("validation")[0]
wave, _ = reader.read(recording, max_seconds=CLIP_SECONDS)
timeline = reader.infer_actions(wave)
display(Audio(wave, rate=SAMPLE_RATE))
display(plots.timeline_figure(wave, timeline.codes, timeline.step_seconds, reader.num_actions,
                              title=f"{recording.name}: {len(timeline)} steps"))'''),
    ("md", "## What each action does\nEvery step of the validation recordings, described by the audio it "
           "governs; mean ± standard deviation per action. The figure shows each action's mean descriptor in "
           "standard deviations from the average step, with a 95% interval."),
    ("code", '''\
analysis = action_analysis.analyze(reader, "validation", MAX_RECORDINGS, MAX_SECONDS)
display(Markdown(action_analysis.markdown_table(action_analysis.summarize(analysis))))
display(action_analysis.profile_figure(analysis))'''),
    ("md", "## Typical passages\nFor each action, the step nearest its mean descriptors, with half a second "
           "of music each side."),
    ("code", '''\
for action, picks in action_analysis.typical_steps(analysis, per_action=1, min_gap_s=2.0).items():
  for index, distance in picks:
    clip, start, end = action_analysis.example_clip(analysis, index, context_s=0.5)
    name = analysis.recordings[analysis.steps["recording"][index]]["name"]
    display(Markdown(f"**action {action}**: {name}, {start:.2f}-{end:.2f} s (step at "
                     f"{analysis.steps['start_s'][index]:.2f} s)"), Audio(clip, rate=SAMPLE_RATE))'''),
    ("md", "## Codebook usage over training"),
    ("code", '''display(plots.codebook_usage_figure(read_metrics(reader.lam.workdir)))'''),
]

EDITING = [
    ("md", header("editing", "genie-audio: editing a span with actions",
                  "Choose a span of a recording and the actions it should have; the dynamics model re-writes "
                  "that span (the audio outside it is the original, sample for sample). Then check the edit: "
                  "does the LAM find the requested actions in it (action accuracy, against chance), and do the "
                  "seams sound like the unedited audio (mel distance around the span edges)?")),
    ("code", INSTALL),
    ("code", runs_cell("dynamics", '''CLIP_SECONDS = 6.0          # the part of the recording that is edited
SPAN_STEPS = 5              # the edited span, in action steps (centred in the clip)
ACTIONS = None              # one action id per step, e.g. [1, 1, 3, 3, 5]; None: every step's action + 1
GUIDANCE_SCALES = None      # None: the scales the run's own evaluation uses''')),
    ("code", '''\
%matplotlib inline
import numpy as np
from IPython.display import Audio, Markdown, display

from genie_audio import codec
from genie_audio.data import manifest
from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.editing.edit import Editor
from genie_audio.eval import edit_metrics, plots

editor = Editor.load(WORKDIR)
dataset = editor.tokenizer.config.data.dataset_dir
song_path = manifest.shard_path(dataset, manifest.load_split(dataset, "validation")[0])
song = codec.load_audio(song_path)[:int(CLIP_SECONDS * SAMPLE_RATE)]
before = editor.infer_actions(song)
step = before.step_seconds
print(f"{song_path}: {len(song) / SAMPLE_RATE:g} s, {len(before)} steps of {step:g} s, {editor.num_actions} actions")
display(plots.timeline_figure(song, before.codes, step, editor.num_actions, title="before"))'''),
    ("md", "## The edit"),
    ("code", '''\
first = max(0, (len(before) - SPAN_STEPS) // 2)
START, END = first * step, min((first + SPAN_STEPS) * step, len(song) / SAMPLE_RATE)
requested = ACTIONS or [(int(a) + 1) % editor.num_actions for a in before.codes[first:first + SPAN_STEPS]]
result = editor.edit(song, START, END, actions=requested, seed=0)
s0, s1 = result.info["steps"]
after = editor.infer_actions(result.wave)
start, end = int(round(START * SAMPLE_RATE)), int(round(END * SAMPLE_RATE))
assert np.array_equal(result.wave[:start], song[:start]) and np.array_equal(result.wave[end:], song[end:])
display(Markdown(f"span {START:.2f}-{END:.2f} s: actions {result.info['actions_before']} -> {requested}; "
                 f"the LAM hears {after.codes[s0:s1].tolist()} in the edit. Before, then after:"))
display(Audio(song, rate=SAMPLE_RATE), Audio(result.wave, rate=SAMPLE_RATE))
display(plots.timeline_figure(result.wave, after.codes, step, editor.num_actions,
                              title=f"after: {START:.2f}-{END:.2f} s re-written"))'''),
    ("md", "## Action accuracy and seams\nAction accuracy: the share of edited steps in which the LAM, run on "
           "the edited audio, finds the requested action (chance: 1 / number of actions), for several "
           "guidance scales. Seam distance: mel distance between the edit and the original within ±"
           "`eval.seam_seconds` of each span edge, beside the same number for an *unedited* re-generation "
           "(the span re-written with its own actions)."),
    ("code", '''\
half = int(editor.dynamics.config.eval.seam_seconds * SAMPLE_RATE)

def scores(wave, wanted):
  """(share of the span's steps where the LAM finds `wanted` in `wave`, mean seam mel distance)."""
  found = editor.infer_actions(wave).codes[s0:s1]
  return (edit_metrics.action_accuracy(wanted, found),
          float(np.mean(edit_metrics.seam_distances(song, wave, start, end, half))))

rows = ["| guidance | action accuracy | seam mel distance |", "|---|---|---|"]
for g in GUIDANCE_SCALES or editor.dynamics.config.eval.guidance_scales:
  edited = editor.edit(song, START, END, actions=requested, guidance_scale=g, seed=0).wave
  rows.append("| {:g} | {:.2f} | {:.3f} |".format(g, *scores(edited, requested)))
unedited = editor.edit(song, START, END, resample=True, seed=0).wave
rows.append("| unedited (own actions) | {:.2f} | {:.3f} |".format(*scores(unedited, before.codes[s0:s1])))
display(Markdown("\\n".join(rows) + f"\\n\\nchance: {1 / editor.num_actions:.2f}"))'''),
    ("md", "## Is the span music?\nAn edit can follow the requested loudness moves and still be noise under the "
           "music's envelope. Look at the spectrograms (harmonic lines are notes) and at the span measures: "
           "tonality (1 - chroma entropy: ~0.05 for noise, ~0.2 for the demo's music) and harmony (centred "
           "chroma cosine with the original span), beside the fills that bound them: the tokenizer's "
           "reconstruction (ceiling), envelope noise (no pitch: the floor), the bars before pasted in (loop) and "
           "the best-matching passage of the recording (retrieval). `start_t` below 1 starts the edit from that "
           "passage noised part way."),
    ("code", '''\
from genie_audio.eval import edit_music

START_T = None              # None: the run's config.edit.start_t; 1 = from pure noise
edits = {"resample": dict(resample=True, start_t=START_T),
         "requested actions": dict(actions=requested, start_t=START_T)}
panels = edit_music.span_panels(editor, song, START, END, edits)
display(plots.stft_figure(panels, max_hz=4000.0, panel_width=3.2,
                          title=f"{START:.2f}-{END:.2f} s, with 0.5 s each side"))
prepared = editor.prepare(song)
fills = edit_music.baseline_fills(editor, prepared, START, END)
fills.update({name: editor.edit(prepared, START, END, seed=0, **request).wave for name, request in edits.items()})
trim = min(int(0.1 * SAMPLE_RATE), (end - start) // 4)
rows = ["| fill | tonality | harmony | level (dB) |", "|---|---|---|---|"]
for name, filled in fills.items():
  s = edit_music.score_fill(song, filled, start, end, trim, half)
  rows.append(f"| {name} | {s['tonality']:.3f} | {s['harmony']:.2f} | {s['level_db']:+.1f} |")
display(Markdown("\\n".join(rows)))'''),
]

NOTEBOOKS = {"tokenizer": TOKENIZER, "actions": ACTIONS, "editing": EDITING}


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
  nb = nbformat.v4.new_notebook()
  nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
              for kind, src in cells]
  for i, cell in enumerate(nb.cells):
    cell["id"] = f"cell-{i}"   # stable ids: rebuilding changes nothing
  nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                 "language_info": {"name": "python"}, "colab": {"provenance": []}}
  return nb


def main(argv: list[str]) -> int:
  check = "--check" in argv
  stale = []
  for name, cells in NOTEBOOKS.items():
    path = HERE / f"{name}.ipynb"
    text = nbformat.writes(build(cells)) + "\n"
    if check:
      if not path.exists() or path.read_text(encoding="utf-8") != text:
        stale.append(path.name)
    else:
      path.write_text(text, encoding="utf-8")
  if stale:
    print(f"out of date: {stale}; run python notebooks/build.py", file=sys.stderr)
  return 1 if stale else 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
