"""The demo corpus's songs: seeded MMA (Musical MIDI Accompaniment) song texts of small-band jazz.

Each tune is a seeded choice of chord form, groove, tempo, key and lead instrument, and also changes *inside*
itself (a new soloist, a drum break or trading fours, stop-time bars, a chorus without a lead, a groove change,
a louder last chorus), so there are real events for the latent action model to discover. `plan` lists the tunes
of a corpus (with their split and shard names); `demo_corpus.py` renders and prepares them.
"""

from __future__ import annotations

import dataclasses
import random

from genie_audio.archive import prepare
from genie_audio.data.manifest import SHARDS

VALIDATION_SHARE = (0.10, 0.15)  # of the total duration

# Chord forms written in C ("|" between bars, two chords in a bar split it in halves); Transpose moves them.
# (beats per bar, bars, final chord)
FORMS = {
    "jazz_blues": (4, "C7 | F7 | C7 | Gm7 C7 | F7 | F#dim7 | C7 | Em7 A7 | Dm7 | G7 | C7 A7 | Dm7 G7", "C9"),
    "basic_blues": (4, "C7 | F7 | C7 | C7 | F7 | F7 | C7 | C7 | G7 | F7 | C7 | G7", "C9"),
    "minor_blues": (4, "Cm7 | Cm7 | Cm7 | Cm7 | Fm7 | Fm7 | Cm7 | Cm7 | Ab7 | G7 | Cm7 | Dm7b5 G7", "Cm6"),
    "rhythm_changes": (4, " | ".join(
        ["CM7 Am7 | Dm7 G7 | Em7 A7 | Dm7 G7 | Gm7 C7 | FM7 F#dim7 | Em7 A7 | Dm7 G7"] * 2
        + ["E7 | E7 | A7 | A7 | D7 | D7 | G7 | G7",
           "CM7 Am7 | Dm7 G7 | Em7 A7 | Dm7 G7 | Gm7 C7 | FM7 F#dim7 | Dm7 G7 | C6 G7"]), "C6"),
    "ii_v_cycle": (4, "Dm7 | G7 | CM7 | CM7 | Cm7 | F7 | BbM7 | BbM7 | Bbm7 | Eb7 | AbM7 | AbM7 | Dm7 | G7 | "
                      "CM7 | Dm7 G7", "CM9"),
    "turnarounds": (4, "CM7 A7 | Dm7 G7 | Em7 A7 | Dm7 G7 | CM7 C7 | FM7 Fm7 | Em7 A7 | Dm7 G7", "C6"),
    "minor_ii_v": (4, "Dm7b5 | G7b9 | Cm7 | Cm7 | Fm7 | Bb7 | EbM7 | AbM7 | Dm7b5 | G7b9 | Cm7 | C7 | Fm7 | "
                      "G7 | Cm7 | Dm7b5 G7b9", "Cm6"),
    "modal_vamp": (4, " | ".join(["Dm7"] * 8 + ["Ebm7"] * 4 + ["Dm7"] * 4), "Dm7"),
    "ballad": (4, "CM7 | Am7 | Dm7 | G7 | Em7 | A7 | Dm7 | G7 | FM7 | Fm7 Bb7 | Em7 | A7 | Dm7 | G7 | "
                  "CM7 A7 | Dm7 G7", "CM9"),
    "bossa": (4, "CM7 | CM7 | D7 | D7 | Dm7 | G7 | CM7 | Dm7 G7 | CM7 | CM7 | Bb7 | Bb7 | Am7 | D7 | Dm7 | G7",
              "CM7"),
    "waltz": (3, "CM7 | Am7 | Dm7 | G7 | Em7 | A7 | Dm7 | G7 | FM7 | Fm7 | Em7 | A7 | Dm7 | G7 | CM7 | CM7",
              "CM7"),
    "minor_waltz": (3, "Cm7 | Cm7 | Fm7 | Fm7 | Dm7b5 | G7 | Cm7 | Cm7 | AbM7 | AbM7 | Dm7b5 | G7 | Cm7 | Fm7 | "
                       "Dm7b5 | G7", "Cm6"),
    "dixie": (4, "C | C | G7 | G7 | G7 | G7 | C | C | C | C7 | F | F#dim7 | C | G7 | C | G7", "C6"),
}

# MMA groove families (stdlib): main groove, variants a chorus may switch to, intro, ending, swung eighths.
FAMILIES = {
    "Swing": ("Swing", ("SwingWalk", "SwingPlus", "Swing1", "Swing2"), "SwingIntro", "SwingEnd", True),
    "JazzCombo": ("JazzCombo", ("JazzCombo1", "JazzCombo2", "JazzComboPlus"), "JazzComboIntro",
                  "JazzComboEnd", True),
    "EasySwing": ("EasySwing", ("EasySwingWalk", "EasySwing1", "EasySwing2"), "EasySwingIntro",
                  "EasySwingEnd", True),
    "Bebop": ("Bebop", ("BebopPlus",), "BebopIntro", "BebopEnd", True),
    "FastSwing": ("FastSwing", ("FastSwingWalk",), "FastSwingIntro", "FastSwingEnd", True),
    "BigBand": ("BigBand", ("BigBand1", "BigBandPlus", "BigBand8"), "BigBandIntro", "BigBandEnd", True),
    "ModernJazz": ("ModernJazz", ("ModernJazz1", "ModernJazz2"), "ModernJazzIntro", "ModernJazzEnd", True),
    "Blues": ("Blues", ("Blues1", "BluesTriple"), "BluesIntro", "BluesEnd", True),
    "SlowBlues": ("SlowBlues", ("SlowBluesWalk4", "SlowBluesWalk8"), "SlowBluesIntro", "SlowBluesEnd", True),
    "Ballad": ("Ballad", ("Ballad1", "BalladPlus"), "BalladIntro", "BalladEnd", False),
    "SlowJazz": ("SlowJazz", ("SlowJazzWalk", "SlowJazz1", "SlowJazz2"), "SlowJazzIntro", "SlowJazzEnd", True),
    "BossaNova": ("BossaNova", ("BossaNovaPlus", "BossaNova1Sus"), "BossaNovaIntro", "BossaNovaEnd", False),
    "JazzWaltz": ("JazzWaltz", ("JazzWaltz1", "JazzWaltz2"), "JazzWaltzIntro", "JazzWaltzEnd", True),
    "ModernJazzWaltz": ("ModernJazzWaltz", ("ModernJazzWaltz1", "ModernJazzWaltz2"), "ModernJazzWaltzIntro",
                        "ModernJazzWaltzEnd", True),
    "Dixie": ("Dixie", ("Dixie1", "Dixie2", "DixieStrum"), "DixieIntro", "DixieEnd", True),
}

# GM lead voices and the MMA octave that puts them in their natural register.
LEADS = {"TenorSax": 4, "AltoSax": 5, "SopranoSax": 5, "BaritoneSax": 4, "Trumpet": 5, "MutedTrumpet": 5,
         "Trombone": 4, "Clarinet": 5, "Flute": 6, "Vibraphone": 5, "JazzGuitar": 5, "NylonGuitar": 5,
         "Harmonica": 5}


@dataclasses.dataclass(frozen=True)
class Style:
  """A kind of tune: the groove families, chord forms, tempo range (BPM) and lead voices it draws from."""
  families: tuple[str, ...]
  forms: tuple[str, ...]
  tempo: tuple[int, int]
  leads: tuple[str, ...]
  alt_families: tuple[str, ...] = ()  # a middle chorus may switch to one of these (bossa -> swing)


STYLES = {
    "medium_swing": Style(("Swing", "JazzCombo", "EasySwing", "ModernJazz"),
                          ("jazz_blues", "rhythm_changes", "ii_v_cycle", "turnarounds", "minor_ii_v"),
                          (120, 180), ("TenorSax", "AltoSax", "Trumpet", "MutedTrumpet", "Trombone",
                                       "Vibraphone", "JazzGuitar", "Clarinet")),
    "bebop": Style(("Bebop", "FastSwing"), ("rhythm_changes", "jazz_blues", "ii_v_cycle"), (190, 250),
                   ("AltoSax", "Trumpet", "TenorSax", "Vibraphone")),
    "big_band": Style(("BigBand",), ("jazz_blues", "rhythm_changes", "turnarounds"), (140, 190),
                      ("Trumpet", "TenorSax", "Trombone", "Clarinet", "AltoSax")),
    "blues": Style(("Blues", "SlowBlues"), ("basic_blues", "minor_blues", "jazz_blues"), (70, 120),
                   ("TenorSax", "Harmonica", "JazzGuitar", "Trombone", "BaritoneSax")),
    "ballad": Style(("Ballad", "SlowJazz"), ("ballad", "minor_ii_v"), (60, 84),
                    ("Flute", "TenorSax", "MutedTrumpet", "Vibraphone", "Clarinet")),
    "bossa": Style(("BossaNova",), ("bossa", "ii_v_cycle", "modal_vamp"), (110, 140),
                   ("Flute", "NylonGuitar", "TenorSax", "Vibraphone"), alt_families=("Swing",)),
    "waltz": Style(("JazzWaltz", "ModernJazzWaltz"), ("waltz", "minor_waltz"), (130, 190),
                   ("Flute", "Vibraphone", "SopranoSax", "JazzGuitar")),
    "dixie": Style(("Dixie",), ("dixie", "basic_blues"), (170, 220), ("Clarinet", "Trumpet", "Trombone")),
    "modal": Style(("ModernJazz", "JazzCombo"), ("modal_vamp",), (130, 170),
                   ("TenorSax", "Trumpet", "Vibraphone", "Flute")),
}

# Aria (MMA's automatic melody) rhythms per meter: "head" plays longer chord tones, "solo" runs eighths.
PATTERNS = {
    (4, "head"): ("{1 4 90; 2 4 80; 3 2 90}", "{1 2. 90; 4 4 80}", "{1.5 8 80; 2 4 90; 3 4. 85; 4.5 8 80}",
                  "{1 1 90}", "{1 4 90; 2 4 85; 3 4 90; 4 4 80}", "{1 2 90; 3 2 85}"),
    (4, "solo"): ("{1 8 90; 1.5 8 70; 2 8 85; 2.5 8 70; 3 8 90; 3.5 8 70; 4 4 85}",
                  "{1.5 8 80; 2 8 90; 2.5 8 75; 3 4 90; 4.5 8 80}",
                  "{1 4 90; 2.5 8 80; 3 8 85; 3.5 8 75; 4 8 85; 4.5 8 75}",
                  "{1 8 85; 1.5 8 70; 2 8 85; 2.5 8 70; 3 8 85; 3.5 8 70; 4 8 85; 4.5 8 70}",
                  "{1 2 90; 3.5 8 80; 4 8 85; 4.5 8 75}", "{1 4. 90; 2.5 8 80; 3 2 85}"),
    (3, "head"): ("{1 2. 90}", "{1 4 90; 2 2 85}", "{1 4 90; 2 4 80; 3 4 85}", "{1.5 8 80; 2 2 90}"),
    (3, "solo"): ("{1 8 90; 1.5 8 70; 2 8 85; 2.5 8 70; 3 4 85}", "{1 4 90; 2 8 80; 2.5 8 75; 3 8 85; 3.5 8 75}",
                  "{1 2 90; 3 8 80; 3.5 8 75}", "{1 8 85; 1.5 8 70; 2 8 85; 2.5 8 70; 3 8 85; 3.5 8 70}"),
}
DIRECTIONS = {"head": ("0 1 -1 2 -1 r", "1 1 -1 -1 r 2", "r 0 1 -2 1"),
              "solo": ("r rr 1 1 -1 r 2 -1", "1 1 1 -2 r 1 -1 r", "rr 1 -1 1 r -2 1")}
DRUMS_ONLY = "zWBCASPR"  # MMA rest suffix: mute walk, bass, chord, arpeggio, scale, plectrum, aria
LEAD_ONLY = "zDWBCASP"   # mute everything but the aria (stop-time)


def _bars(form: str) -> list[list[str]]:
  return [bar.split() for bar in FORMS[form][1].split("|")]


def _bar_line(chords: list[str], meter: int, mode: str) -> str:
  """One MMA chord line; `mode` "band" plays normally, "drums" leaves only drums, "stop" hits on beat 1."""
  beats = [chords[0]] * meter
  if len(chords) == 2:  # two chords split the bar: 2+2 in 4/4, 2+1 in 3/4
    beats[2:] = [chords[1]] * (meter - 2)
  if mode == "drums":
    return f"{beats[0]}{DRUMS_ONLY}"
  if mode == "stop":
    return " ".join([beats[0]] + [f"{c}{LEAD_ONLY}" for c in beats[1:]])
  return " ".join(c if i == 0 or c != beats[i - 1] else "/" for i, c in enumerate(beats))


def _aria_setup(rng: random.Random, lead: str | None, role: str, meter: int, swing: bool,
                harmony: bool) -> list[str]:
  if lead is None:
    return ["Aria Off"]
  patterns = rng.sample(PATTERNS[(meter, role)], 4)
  lines = [f"Aria Voice {lead}", f"Aria Octave {LEADS[lead]}",
           f"Aria ScaleType {'Chord' if role == 'head' else 'Scale'}",
           f"Aria Direction {rng.choice(DIRECTIONS[role])}",
           f"Aria Range {1.0 if role == 'head' else rng.choice((1.5, 2.0))}",
           f"Aria Articulate {100 if role == 'head' else 85}",
           f"Aria RSkip {5 if role == 'head' else 10}",
           f"Aria Harmony {'Open' if harmony else 'None'}"]
  # SwingMode converts eighths when a pattern is *defined*, so it is switched on only around the Aria's.
  lines += (["SwingMode On"] if swing else []) + ["Aria Sequence " + " ".join(patterns)]
  lines += (["SwingMode Off"] if swing else []) + ["Aria On"]
  return lines


def compose(rng: random.Random, style_name: str, target_s: float, song_seed: int) -> tuple[str, dict]:
  """Writes one tune: (MMA song text, description with its sections and their start times in seconds)."""
  style = STYLES[style_name]
  family_name = rng.choice(style.families)
  main, variants, intro, ending, swing = FAMILIES[family_name]
  form = rng.choice(style.forms)
  meter, _, final = FORMS[form]
  bars = _bars(form)
  tempo = rng.randint(*style.tempo)
  transpose = rng.randint(-5, 6)
  leads = rng.sample(style.leads, min(3, len(style.leads)))
  bar_s = meter * 60.0 / tempo
  chorus_s = len(bars) * bar_s
  n_choruses = max(2, min(12, round((target_s - 8 * bar_s) / chorus_s)))
  while n_choruses > 2 and n_choruses * chorus_s > 190:
    n_choruses -= 1

  # Blocks of bars with uniform content: (kind, bars, groove, lead, role, bar mode, dynamic, harmony, swing).
  blocks = []
  if rng.random() < 0.7:
    blocks.append(("intro", bars[-4:], intro, None, "head", "band", "mf", False, swing))
  blocks.append(("head", bars, main, leads[0], "head", "band", "mf", style_name == "big_band", swing))
  groove, groove_swing = main, swing
  for chorus in range(1, n_choruses - 1):
    lead = leads[chorus % len(leads)]
    if rng.random() < 0.5 or chorus == 1:
      if style.alt_families and rng.random() < 0.4:
        alt = FAMILIES[rng.choice(style.alt_families)]
        groove, groove_swing = rng.choice((alt[0],) + alt[1]), alt[4]
      else:
        groove, groove_swing = rng.choice(variants + (main,)), swing
    dyn = rng.choice(("mf", "f"))
    r = rng.random()
    if r < 0.12:
      blocks.append(("trio", bars, groove, None, "solo", "band", dyn, False, groove_swing))
    elif r < 0.3 and len(bars) % 4 == 0:
      for start in range(0, len(bars), 4):  # trading fours: lead, then the drummer
        drums = (start // 4) % 2 == 1
        blocks.append(("drums" if drums else "solo", bars[start:start + 4], groove, None if drums else lead,
                       "solo", "drums" if drums else "band", dyn, False, groove_swing))
    elif r < 0.45:
      blocks.append(("stop_time", bars[:4], groove, lead, "solo", "stop", dyn, False, groove_swing))
      blocks.append(("solo", bars[4:], groove, lead, "solo", "band", dyn, False, groove_swing))
    else:
      blocks.append(("solo", bars, groove, lead, "solo", "band", dyn, False, groove_swing))
  if n_choruses == 2 or rng.random() < 0.5:  # a two-chorus tune gets at least this one inner change
    blocks.append(("drums", bars[-2:], groove, None, "solo", "drums", "f", False, groove_swing))
  out_groove = rng.choice((main,) + tuple(v for v in variants if v.endswith("Plus"))) if variants else main
  blocks.append(("head_out", bars, out_groove, leads[0], "head", "band", "ff", rng.random() < 0.5, swing))
  blocks.append(("ending", [[final]] * 2, ending, leads[0], "head", "band", "ff", False, swing))

  lines = [f"// genie-audio demo tune: {style_name}, {form}", f"RndSeed {song_seed}", f"Tempo {tempo}",
           f"Transpose {transpose}", "Volume mf",
           "Begin Aria", " Volume ff", " RVolume 10", " RTime 4", " SeqRnd On", "End"]
  sections, t, bar_no, state = [], 0.0, 1, {}
  for kind, block_bars, block_groove, lead, role, mode, dyn, harmony, block_swing in blocks:
    lines.append(f"// {kind}")
    if state.get("groove") != block_groove:
      lines.append(f"Groove {block_groove}")
    if state.get("dyn") != dyn:
      lines.append(f"Volume {dyn}")
    aria = (lead, role, harmony, block_swing)
    if state.get("aria") != aria or kind == "ending":
      aria_lines = _aria_setup(rng, lead, role, meter, block_swing, harmony)
      if kind == "ending":  # the lead holds a chord tone over the final bars
        aria_lines = [ln for ln in aria_lines if not ln.startswith(("Aria Sequence", "SwingMode"))]
        aria_lines.insert(-1, "Aria Sequence {1 1 90}")
      lines += aria_lines
    state = {"groove": block_groove, "dyn": dyn, "aria": aria}
    for chords in block_bars:
      lines.append(f"{bar_no} {_bar_line(chords, meter, mode)}")
      bar_no += 1
    sections.append({"kind": kind, "start_s": round(t, 3), "bars": len(block_bars), "groove": block_groove,
                     "lead": lead, "dynamic": dyn})
    t += len(block_bars) * bar_s
  info = {"style": style_name, "form": form, "meter": meter, "tempo": tempo, "transpose": transpose,
          "leads": leads, "estimated_s": round(t, 2), "sections": sections}
  return "\n".join(lines) + "\n", info


def plan(seed: int, minutes: float, max_tunes: int | None = None) -> list[dict]:
  """Seeded tune list (each with name, split, song text, description) totalling about `minutes`."""
  rng = random.Random(seed)
  order = []
  tunes, total = [], 0.0
  while total < minutes * 60 and (max_tunes is None or len(tunes) < max_tunes):
    if not order:  # every style once before any repeats
      order = rng.sample(sorted(STYLES), len(STYLES))
    style = order.pop()
    song, info = compose(rng, style, rng.uniform(70, 170), song_seed=rng.randrange(1, 2**31))
    tunes.append(dict(info, name=f"{len(tunes):02d}_{style}_{info['form']}", song=song, split="train"))
    total += info["estimated_s"]
  # Validation: random whole tunes until VALIDATION_SHARE of the audio (at least one, never all).
  valid_s = 0.0
  for i in rng.sample(range(len(tunes)), len(tunes)):
    if len(tunes) < 2 or valid_s >= VALIDATION_SHARE[0] * total:
      break
    if valid_s > 0 and valid_s + tunes[i]["estimated_s"] > VALIDATION_SHARE[1] * total:
      continue
    tunes[i]["split"] = "validation"
    valid_s += tunes[i]["estimated_s"]
  for tune in tunes:
    prefix = "validation/" if tune["split"] == "validation" else ""
    tune["source"] = f"{prefix}{tune['name']}.wav"
    tune["shard"] = f"{SHARDS}/{prepare.shard_id(tune['source'])}.wav"
  return tunes
