"""The analysis evaluation set: rendered music with known key, tempo and meter, drums, and noise.

    .venv/bin/python bench/evalset.py            # build (or reuse) bench/out/evalset/, print a summary

Every clip is rendered here with fluidsynth and Debian's FluidR3 General MIDI soundfont from MIDI
this module writes (nothing large is committed); clips are cached under `bench/out/evalset/` by a
hash of their recipe, so a second run only renders what changed.

What is in it (135 clips, and the held-out group):
- **generated songs** (48): every one of the 24 keys twice, in 4/4, 3/4 and 6/8, at 64..176 BPM
  (slow ballads without drums among them), minor keys with borrowed chords (bVI, bVII, iv, a major
  V), one-bar comping patterns that follow the meter (oom-pah-pah, 6/8 arpeggios), varied
  instruments;
- **corpus pieces** from music21 (needs `pip install music21`): Bach chorales (4/4 and 3/4) and
  fiddle tunes from Ryan's Mammoth Collection (6/8 jigs, reels and hornpipes), transposed so the
  tonics spread over the circle of fifths, at chosen tempi. Truth: the key signature's major or
  relative minor, whichever the final bass note names (pieces that end elsewhere are left out);
- **grym's own compositions** (24): chords, bass and drums from `grym_bridge.compose` in each of its
  styles (lofi, house, pop, jazz, cinematic, trap), 16 bars at the style's tempo, keys around the
  circle of fifths: the loops the issue saw misread (an F# minor house loop, lofi A minor chords);
- **drum-only** loops in the three meters (a tempo and meter, no key) and **noise** (neither);
- **modulating songs** (12, appended last so the other groups' splits stay): generated songs that move
  once, at a phrase boundary near the middle, up a tone, up a semitone, to the relative or to the
  dominant; the truth is the two key segments (`EvalClip.segments`), the clip's `key` the opening one;
- **held-out** (about 45, appended after the modulating songs; bench/evalset_heldout.py): songs,
  compositions and corpus pieces with seeds, keys, tempi, instruments and pieces that neither the rest
  of this set nor bench/trainset.py uses, every key; added after the key scorer was tuned and fitted,
  ALL measure-only, for confirming the measure part's figures: nothing may be chosen on it.

Tempo truth is quarter notes per minute, as a DAW's tempo field reads (a 6/8 jig at dotted
quarter = 100 is 150 BPM); meter truth is the class "4/4" (2/2, 2/4 and 4/4), "3/4" or "6/8".

The split is fixed before any tuning: within each group (generated, corpus, composed, drums, noise,
modulating) in the order built, every third clip (index 2, 5, 8, ...) is measure-only; the rest is the
tune part. The held-out group is measure-only as a whole.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import mido
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evalset_corpus import corpus_midi, corpus_specs  # noqa: E402
from evalset_heldout import heldout_specs  # noqa: E402

from grym_bridge.analysis.harmony import PITCH_CLASSES, parse_key  # noqa: E402
from grym_bridge.audio_io import Audio, load_audio, write_audio  # noqa: E402

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SR = 44100
SECONDS = 30.0
OUT = ROOT / "bench" / "out" / "evalset"
TRAINSET = OUT.parent / "trainset"  # bench/trainset.py's clips: the held-out group avoids its corpus pieces
VERSION = "1"  # bump when a recipe's meaning changes: cached clips are rebuilt


@dataclass
class EvalClip:
    name: str
    group: str  # generated, corpus, composed, drums, noise, modulating
    file: str
    bpm: float | None  # quarter notes per minute; None: no tempo (noise)
    key: str | None  # None: no key (drums, noise)
    meter: str | None  # "4/4", "3/4", "6/8"; None for noise
    split: str  # tune or measure
    #: the keys over time, [{"start", "end", "key"}] in seconds, for clips that modulate (else None)
    segments: list[dict[str, Any]] | None = None

    def path(self, folder: Path = OUT) -> Path:
        return folder / self.file


# -- generated songs ---------------------------------------------------------------------

# (semitones above the tonic, quality) per bar; lowercase roman numerals are minor chords
PROGRESSIONS = {
    "major": [[(0, ""), (7, ""), (9, "m"), (5, "")], [(0, ""), (5, ""), (7, ""), (0, "")],
              [(0, ""), (10, ""), (5, ""), (0, "")], [(0, ""), (5, "m"), (0, ""), (7, "")]],
    "minor": [[(0, "m"), (8, ""), (3, ""), (10, "")], [(0, "m"), (5, "m"), (7, ""), (0, "m")],
              [(0, "m"), (10, ""), (8, ""), (7, "")], [(0, "m"), (5, "m"), (10, ""), (3, "")],
              [(0, "m"), (8, ""), (5, "m"), (7, "")]],
}
SCALES = {"major": [0, 2, 4, 5, 7, 9, 11], "minor": [0, 2, 3, 5, 7, 8, 10]}
#: quarter notes per bar, and the felt beat's length in quarter notes
METERS = {"4/4": (4.0, 1.0), "3/4": (3.0, 1.0), "6/8": (3.0, 1.5)}
# (piano-ish comping, bass, pad, lead) General MIDI programs
BANDS = [(0, 33, 48, 73), (4, 32, 89, 80), (25, 34, 49, 65), (16, 33, 52, 71), (2, 38, 50, 56), (5, 35, 91, 81)]


def _generated_specs() -> list[dict[str, Any]]:
    specs = []
    meters = ["4/4", "3/4", "6/8", "4/4"]
    # felt beats per minute; a 6/8 song's quarter-note tempo is 1.5x its dotted-quarter beat
    tempi = [76, 124, 92, 68, 100, 138, 84, 72, 112, 150, 64, 96, 128, 88, 104, 80, 118, 160, 70, 132, 108, 86, 144,
             74]
    for i in range(48):
        mode = "major" if (i + i // 24) % 2 == 0 else "minor"
        tonic = (7 * i + 5 * (i // 24)) % 12
        meter = meters[i % 4]
        felt = tempi[i % 24] + (6 if i >= 24 else 0)
        bpm = felt * METERS[meter][1]
        if meter == "6/8" and bpm > 180:
            bpm /= 2
        drums = not (felt < 90 and i % 3 == 0)  # some slow pieces are piano ballads without drums
        specs.append({"kind": "song", "key": f"{PITCH_CLASSES[tonic]} {mode}", "meter": meter, "bpm": float(bpm),
                      "drums": drums, "seed": 2000 + i, "band": i % len(BANDS),
                      "house": mode == "minor" and meter == "4/4" and i % 8 == 5})
    return specs


class _Tracks:
    """Note events per channel, written as a type-1 MIDI file at one tempo."""

    def __init__(self) -> None:
        self.tpb = 480
        self.events: dict[int, list[tuple[int, mido.Message]]] = {}

    def note(self, ch: int, pitch: int, start: float, length: float, vel: int) -> None:
        on, off = int(start * self.tpb), int((start + length) * self.tpb) - 1
        evs = self.events.setdefault(ch, [])
        evs.append((on, mido.Message("note_on", channel=ch, note=int(pitch), velocity=int(vel))))
        evs.append((off, mido.Message("note_off", channel=ch, note=int(pitch), velocity=0)))

    def save(self, path: Path, bpm: float, meter: str, programs: dict[int, int]) -> None:
        song = mido.MidiFile(type=1, ticks_per_beat=self.tpb)
        meta = mido.MidiTrack()
        meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))
        num, den = (int(x) for x in meter.split("/"))
        meta.append(mido.MetaMessage("time_signature", numerator=num, denominator=den))
        song.tracks.append(meta)
        for ch, evs in sorted(self.events.items()):
            track = mido.MidiTrack()
            if ch != 9:
                track.append(mido.Message("program_change", channel=ch, program=programs.get(ch, 0), time=0))
            now = 0
            for tick, msg in sorted(evs, key=lambda e: (e[0], e[1].type == "note_on")):
                track.append(msg.copy(time=tick - now))
                now = tick
            song.tracks.append(track)
        song.save(path)


def _drums(t: _Tracks, meter: str, bar0: float, rng: np.random.Generator, house: bool = False) -> None:
    if meter == "4/4":
        for b in range(4):
            if house or b % 2 == 0:
                t.note(9, 36, bar0 + b, 0.25, 112)
            if b % 2 == 1:
                t.note(9, 38 if not house else 39, bar0 + b, 0.25, 100)
            for h in ((0.5,) if house else (0.0, 0.5)):
                t.note(9, 42 if not house else 46, bar0 + b + h, 0.2, 70 + int(rng.integers(0, 20)))
    elif meter == "3/4":
        t.note(9, 36, bar0, 0.25, 112)
        for b in (1, 2):
            t.note(9, 38, bar0 + b, 0.25, 70)
        for b in range(3):
            t.note(9, 42, bar0 + b, 0.2, 60 + int(rng.integers(0, 15)))
    else:  # 6/8: kick on 1, snare on 4, hats on the eighths
        t.note(9, 36, bar0, 0.25, 112)
        t.note(9, 38, bar0 + 1.5, 0.25, 96)
        for e in range(6):
            t.note(9, 42, bar0 + 0.5 * e, 0.2, (85 if e % 3 == 0 else 60) + int(rng.integers(0, 12)))


def _song(spec: dict[str, Any], path: Path) -> None:
    rng = np.random.default_rng(spec["seed"])
    bar_len, beat = METERS[spec["meter"]]
    bars = int(SECONDS * spec["bpm"] / 60 / bar_len) + 1
    # the held-out group names its own programs (bands neither the tune part nor the trainset used)
    comp, bass_p, pad, lead = spec["programs"] if "programs" in spec else BANDS[spec["band"]]
    t = _Tracks()
    for bar in range(bars):
        b0 = bar * bar_len
        # a modulating song moves to its second key at a bar (its progression starts again there)
        moved = "modulate" in spec and bar >= spec["modulate"]["bar"]
        tonic, mode = parse_key(spec["modulate"]["key"] if moved else spec["key"])
        progs = PROGRESSIONS[mode]
        prog = progs[spec["seed"] % len(progs)]
        scale = [(tonic + s) % 12 for s in SCALES[mode]]
        phrase_bar = bar - spec["modulate"]["bar"] if moved else bar
        degree, quality = prog[(phrase_bar + spec.get("start", 0)) % 4]  # "start": the cycle begins off I
        root = (tonic + degree) % 12
        third = 3 if quality == "m" else 4
        chord = sorted(48 + (root + iv) % 12 + (12 if (root + iv) % 12 < root else 0) + (12 if root > 7 else 0)
                       for iv in (0, third, 7))
        if spec["drums"]:
            _drums(t, spec["meter"], b0, rng, spec.get("house", False))
        bass = 36 + root
        if spec["meter"] == "4/4":
            for b in range(4):
                t.note(1, bass + (7 if b == 2 else 0), b0 + b, 0.9, 95)
            hits = [(0.0, 1.9), (2.0, 1.9)] if not spec.get("house") else [(x + 0.5, 0.4) for x in range(4)]
        elif spec["meter"] == "3/4":
            t.note(1, bass, b0, 0.95, 100)
            hits = [(1.0, 0.9), (2.0, 0.9)]  # oom-pah-pah
        else:
            t.note(1, bass, b0, 1.4, 100)
            t.note(1, bass + 7, b0 + 1.5, 1.4, 85)
            hits = []
            for e in range(6):  # eighth-note arpeggio
                t.note(0, chord[e % 3] + 12 * (e // 3 % 2), b0 + 0.5 * e, 0.45, 78 if e % 3 == 0 else 62)
        for start, length in hits:
            for p in chord:
                t.note(0, p + 12, b0 + start, length, 76)
        for p in chord:
            t.note(2, p, b0, bar_len, 50)
        pos = 0.0
        step = 0.5
        while pos < bar_len - 1e-9:
            length = step * (1 if rng.random() < 0.6 else 2)
            on_beat = abs(pos / beat - round(pos / beat)) < 1e-9
            pool = [c % 12 for c in chord] if on_beat else scale
            if quality == "" and degree == 7 and mode == "minor":
                pool = [(p + 1) % 12 if p == (tonic + 10) % 12 else p for p in pool]  # leading tone over V
            t.note(3, 72 + int(rng.choice(pool)), b0 + pos, min(length, bar_len - pos) * 0.9, 82)
            pos += length
    t.save(path, spec["bpm"], spec["meter"], {0: comp, 1: bass_p, 2: pad, 3: lead})


# -- songs that modulate -----------------------------------------------------------------

#: (first key, second key, meter, quarter-note BPM, drums): up a tone, to the relative, to the dominant,
#: up a semitone; the second key starts at the phrase (4 bars) nearest the middle of the clip.
MODULATIONS = [("C major", "D major", "4/4", 100, True), ("A minor", "C major", "4/4", 92, True),
               ("G major", "D major", "3/4", 120, True), ("E major", "F major", "4/4", 110, True),
               ("F major", "D minor", "4/4", 84, False), ("Bb major", "C major", "4/4", 126, True),
               ("E minor", "G major", "3/4", 132, True), ("D major", "A major", "4/4", 76, False),
               ("C minor", "Eb major", "4/4", 104, True), ("Ab major", "Bb major", "6/8", 138, True),
               ("A major", "E major", "3/4", 144, True), ("F# minor", "A major", "4/4", 116, True)]


def _modulating_specs() -> list[dict[str, Any]]:
    specs = []
    for i, (first, second, meter, bpm, drums) in enumerate(MODULATIONS):
        bar_len = METERS[meter][0]
        bars = int(SECONDS * bpm / 60 / bar_len) + 1
        at = max(4, 4 * round(bars / 8))
        change = at * bar_len * 60.0 / bpm
        specs.append({"kind": "song", "key": first, "meter": meter, "bpm": float(bpm), "drums": drums,
                      "seed": 6000 + i, "band": i % len(BANDS), "modulate": {"bar": at, "key": second},
                      "segments": [{"start": 0.0, "end": round(change, 3), "key": first},
                                   {"start": round(change, 3), "end": SECONDS, "key": second}]})
    return specs


# -- grym's own compositions -------------------------------------------------------------

COMPOSE_STYLES = ("lofi", "house", "pop", "jazz", "cinematic", "trap")


def _composed_specs() -> list[dict[str, Any]]:
    """grym's compose (chords, bass and drums of one seed) in every style, keys around the circle."""
    from grym_bridge.compose.styles import STYLES

    specs = []
    for i in range(24):
        style = COMPOSE_STYLES[i % len(COMPOSE_STYLES)]
        mode = "minor" if (i // len(COMPOSE_STYLES)) % 2 == 0 else "major"
        tonic = (7 * i + 9 + 5 * (i // 12)) % 12
        specs.append({"kind": "composed", "style": style, "key": f"{PITCH_CLASSES[tonic]} {mode}", "meter": "4/4",
                      "bpm": float(STYLES[style].tempo), "seed": 5000 + i})
    return specs


def _composed_midi(spec: dict[str, Any], path: Path) -> None:
    from grym_bridge.compose.api import ComposeRequest, compose

    parts = []
    for kind in ("chords", "bass", "drums"):
        part = path.with_suffix(f".{kind}.mid")
        # tempo and length only where a spec names them (the held-out group); the older specs' meter, 4/4, is
        # compose's default, so their MIDI is what it was
        compose(ComposeRequest(kind=kind, key=spec["key"], style=spec["style"], bars=spec.get("bars", 16),
                               seed=spec["seed"], tempo=spec.get("tempo"), time_signature=spec.get("meter")),
                out=part)
        parts.append(mido.MidiFile(str(part)))
        part.unlink()
    merged = mido.MidiFile(type=1, ticks_per_beat=parts[0].ticks_per_beat)
    for m in parts:
        merged.tracks.extend(m.tracks)
    merged.save(str(path))


# -- drums and noise ---------------------------------------------------------------------

def _drum_specs() -> list[dict[str, Any]]:
    return [{"kind": "drums", "meter": m, "bpm": float(b), "seed": 3000 + i, "house": i % 4 == 1}
            for i, (m, b) in enumerate([("4/4", 120), ("4/4", 92), ("3/4", 132), ("6/8", 144), ("4/4", 174),
                                        ("3/4", 96), ("6/8", 108), ("4/4", 78), ("4/4", 140)])]


def _drum_midi(spec: dict[str, Any], path: Path) -> None:
    rng = np.random.default_rng(spec["seed"])
    bar_len = METERS[spec["meter"]][0]
    t = _Tracks()
    for bar in range(int(SECONDS * spec["bpm"] / 60 / bar_len) + 1):
        _drums(t, spec["meter"], bar * bar_len, rng, spec["house"] and spec["meter"] == "4/4")
    t.save(path, spec["bpm"], spec["meter"], {})


def _noise(spec: dict[str, Any]) -> Audio:
    rng = np.random.default_rng(spec["seed"])
    n = int(SECONDS * SR)
    x = rng.standard_normal((2, n))
    if spec["colour"] == "pink":
        f = np.fft.rfftfreq(n, 1.0 / SR)
        s = np.fft.rfft(x, axis=1)
        s[:, 1:] /= np.sqrt(f[1:])
        s[:, 0] = 0
        x = np.fft.irfft(s, n, axis=1)
    if spec["colour"] == "bursts":  # irregular noise bursts: onsets with no pulse
        gate = np.zeros(n)
        for start in np.sort(rng.uniform(0, SECONDS - 0.3, 40)):
            s0 = int(start * SR)
            gate[s0 : s0 + int(0.15 * SR)] = np.exp(-np.arange(int(0.15 * SR)) / (0.04 * SR))
        x = x * gate
    x = 0.3 * x / np.max(np.abs(x))
    return Audio(x.astype(np.float32), SR)


def _noise_specs() -> list[dict[str, Any]]:
    return [{"kind": "noise", "colour": c, "seed": 4000 + i} for i, c in enumerate(["white", "pink", "bursts",
                                                                                     "pink", "bursts", "white"])]


# -- building ----------------------------------------------------------------------------

def _render(mid: Path, wav: Path, timeout: float | None = None) -> Audio:
    """fluidsynth's rendering of `mid`, cut to 30 s; `timeout` (s) raises subprocess.TimeoutExpired."""
    try:
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-F", str(wav), "-r", str(SR), str(SOUNDFONT),
                        str(mid)], check=True, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        wav.unlink(missing_ok=True)
        raise
    rendered = load_audio(wav)
    wav.unlink()
    return Audio(rendered.samples[:, : int(SECONDS * SR)], SR)


def _name(spec: dict[str, Any]) -> str:
    digest = hashlib.sha1(json.dumps({**spec, "v": VERSION}, sort_keys=True).encode()).hexdigest()[:10]
    return f"{spec['kind']}_{digest}"


def _make(spec: dict[str, Any], stem: Path, limited: bool) -> Audio:
    """One clip's audio: noise drawn here, everything else written as MIDI and rendered (20 s limit if `limited`)."""
    if spec["kind"] == "noise":
        return _noise(spec)
    mid = stem.with_suffix(".mid")
    try:
        {"song": _song, "corpus": corpus_midi, "composed": _composed_midi, "drums": _drum_midi}[spec["kind"]](spec, mid)
        return _render(mid, stem.with_suffix(".wav"), timeout=20 if limited else None)
    finally:
        mid.unlink(missing_ok=True)


def build(folder: Path = OUT, *, quiet: bool = False) -> list[EvalClip]:
    """Render every clip missing from `folder` and return the whole set (with its split)."""
    if shutil.which("fluidsynth") is None or not SOUNDFONT.exists():
        raise SystemExit("the evaluation set needs fluidsynth and fluid-soundfont-gm (apt-get install fluidsynth "
                         "fluid-soundfont-gm)")
    folder.mkdir(parents=True, exist_ok=True)
    picked = folder / f"corpus_specs_v{VERSION}.json"  # choosing pieces parses ~150 scores: 15 s
    corpus = json.loads(picked.read_text()) if picked.exists() else corpus_specs()
    if corpus and not picked.exists():
        picked.write_text(json.dumps(corpus))
    groups = {"generated": _generated_specs(), "corpus": corpus, "composed": _composed_specs(),
              "drums": _drum_specs(),
              "noise": _noise_specs(), "modulating": _modulating_specs(),  # new groups go last: splits stay
              "heldout": heldout_specs(folder, TRAINSET, VERSION)}
    skip_file = folder / f"heldout_left_out_v{VERSION}.json"  # held-out pieces fluidsynth or music21 failed on
    skip = set(json.loads(skip_file.read_text())) if skip_file.exists() else set()
    clips: list[EvalClip] = []
    for group, specs in groups.items():
        for i, spec in enumerate(specs):
            name = _name(spec)
            target = folder / f"{name}.flac"
            if name in skip:
                continue
            if not target.exists():
                if not quiet:
                    print(f"rendering {group} {i + 1}/{len(specs)}", file=sys.stderr, flush=True)
                try:
                    write_audio(target, _make(spec, folder / name, group == "heldout"), subtype="PCM_16")
                except Exception as exc:  # noqa: BLE001  re-raised below unless it is one of the two known failures
                    known = isinstance(exc, subprocess.TimeoutExpired) or spec["kind"] == "corpus"
                    if group != "heldout" or not known:
                        raise
                    # fluidsynth hangs on a few fiddle tunes, music21 cannot expand some scores: left out, once
                    print(f"  left out ({type(exc).__name__}): {spec.get('source', name)}", file=sys.stderr)
                    skip.add(name)
                    skip_file.write_text(json.dumps(sorted(skip)))
                    continue
            label = spec.get("source", "").split("/")[-1] or spec.get("style", "") or \
                f"{spec.get('meter', '')} {spec.get('bpm', '')}".strip()
            label += f" {spec.get('key') or spec.get('colour') or ''}"
            if "modulate" in spec:
                label = f"{spec['meter']} {spec['bpm']:g} {spec['key']}>{spec['modulate']['key']}"
            # the held-out group is all measure-only: it came after the tuning and fitting, for confirmation
            split = "measure" if group == "heldout" or i % 3 == 2 else "tune"
            clips.append(EvalClip(name=f"{group} {label}"[:40], group=group, file=target.name,
                                  bpm=spec.get("bpm"), key=spec.get("key"), meter=spec.get("meter"),
                                  split=split, segments=spec.get("segments")))
    (folder / "manifest.json").write_text(json.dumps([asdict(c) for c in clips], indent=1))
    return clips


if __name__ == "__main__":
    built = build()
    for split in ("tune", "measure"):
        part = [c for c in built if c.split == split]
        by = {g: sum(c.group == g for c in part) for g in ("generated", "corpus", "composed", "drums", "noise",
                                                            "modulating", "heldout")}
        meters = {m: sum(c.meter == m for c in part) for m in ("4/4", "3/4", "6/8")}
        print(f"{split}: {len(part)} clips {by} meters {meters} keys {len({c.key for c in part if c.key})}")
