"""Synthetic music in a chosen meter, key and tempo, for the meter, tempo and chord tests.

Everything is built from note lists (MIDI pitch, start beat, length in beats, level) rendered as
decaying tones with a few harmonics, plus a kick and a hi-hat, so the answers are known exactly:

    waltz("D major", bpm=126, bars=8)   # bass on 1, chord on 2 and 3, one chord per bar
    jig("E minor", bpm=120, bars=8)     # 6/8: eighth-note arpeggios, bass on 1 and 4; 120 quarters/min
    swing("Bb major", bpm=140)          # 4/4 with the ride on the beat and the swung "and"
    ballad("F major", bpm=76, bars=6)   # 4/4, chords on 1 and 3, an eighth-note line, no drums
    trap("A minor", bpm=140)            # half-time snare on 3, hats in eighths with rolls, long 808
    cinematic("C minor", bpm=80)        # a chord every two bars, pedal bass, kick and toms, nothing else
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from grym_bridge.analysis.harmony import parse_key
from grym_bridge.audio_io import Audio

SR = 44100

#: (semitones above the tonic, minor?) per bar: I V vi IV / i VI III VII
CYCLES = {"major": [(0, False), (7, False), (9, True), (5, False)],
          "minor": [(0, True), (8, False), (3, False), (10, False)]}


def _hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def tone(midi: float, seconds: float, amp: float, sr: int = SR) -> np.ndarray:
    """A plucked tone: five harmonics falling 0.6x each, a 5 ms attack and a 0.4 s decay."""
    t = np.arange(int(seconds * sr)) / sr
    env = np.minimum(1.0, t / 0.005) * np.exp(-t / 0.4)
    f = _hz(midi)
    return amp * env * sum(0.6**h * np.sin(2 * np.pi * f * (h + 1) * t) for h in range(5) if f * (h + 1) < sr / 2)


def kick(sr: int = SR) -> np.ndarray:
    t = np.arange(int(0.3 * sr)) / sr
    return 0.9 * np.sin(2 * np.pi * (50 * t + 1.8 * (1 - np.exp(-t / 0.03)))) * np.exp(-t / 0.12)


def snare(seed: int = 1, sr: int = SR) -> np.ndarray:
    t = np.arange(int(0.2 * sr)) / sr
    noise = np.random.default_rng(seed).standard_normal(t.size)
    return (0.5 * noise + 0.4 * np.sin(2 * np.pi * 190 * t)) * np.exp(-t / 0.05)


def hat(seed: int = 0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(0.05 * sr)) / sr
    return 0.25 * np.diff(np.random.default_rng(seed).standard_normal(t.size), prepend=0.0) * np.exp(-t / 0.012)


def render(notes: list[tuple[float, float, float, float]], bpm: float, seconds: float,
           hits: list[tuple[str, float]] = (), sr: int = SR) -> Audio:
    """`notes` as (midi, start beat, beats, amp) and drum `hits` as (kick|snare|hat, beat), in quarter-note beats."""
    beat = 60.0 / bpm
    x = np.zeros(int(seconds * sr) + sr)
    for midi, start, length, amp in notes:
        s = int(start * beat * sr)
        seg = tone(midi, max(length * beat, 0.05) + 0.3, amp, sr)
        x[s : s + seg.size] += seg[: x.size - s]
    sounds = {"kick": kick(sr), "snare": snare(1, sr), "hat": hat(0, sr)}
    for name, at in hits:
        s = int(at * beat * sr)
        snd = sounds[name]
        x[s : s + snd.size] += snd[: x.size - s]
    x = x[: int(seconds * sr)]
    return Audio((x / max(1e-9, np.max(np.abs(x))) * 0.8)[None, :].astype(np.float32), sr)


def _triad(tonic: int, degree: int, minor: bool, base: int = 60) -> list[int]:
    root = base + (tonic + degree) % 12
    return [root, root + (3 if minor else 4), root + 7]


def bar_chords(key: str, bars: int) -> list[str]:
    """The chord names the generators below play, one per bar."""
    from grym_bridge.analysis.harmony import PITCH_CLASSES

    tonic, mode = parse_key(key)
    return [PITCH_CLASSES[(tonic + d) % 12] + ("m" if m else "") for d, m in (CYCLES[mode][b % 4] for b in range(bars))]


def waltz(key: str, *, bpm: float = 126.0, bars: int = 8, pickup: float = 0.0) -> Audio:
    """3/4: bass and kick on 1, the chord on 2 and 3, one chord per bar; `pickup` beats of a lone
    melody note before the first downbeat."""
    tonic, mode = parse_key(key)
    notes, hits = [], []
    if pickup:
        notes.append((72 + tonic, 0.0, pickup, 0.3))
    for b in range(bars):
        d, minor = CYCLES[mode][b % 4]
        t0 = pickup + 3 * b
        chord = _triad(tonic, d, minor)
        notes.append((chord[0] - 24, t0, 1.0, 0.6))
        hits.append(("kick", t0))
        for beat in (1, 2):
            notes += [(p, t0 + beat, 0.9, 0.22) for p in chord]
    return render(notes, bpm, (pickup + 3 * bars) * 60 / bpm + 0.5, hits)


def jig(key: str, *, bpm: float = 120.0, bars: int = 8) -> Audio:
    """6/8 at `bpm` quarter notes per minute: arpeggiated eighths, bass and kick on 1 and 4, hats on eighths."""
    tonic, mode = parse_key(key)
    notes, hits = [], []
    for b in range(bars):
        d, minor = CYCLES[mode][b % 4]
        t0 = 3.0 * b  # a 6/8 bar lasts three quarter notes
        chord = _triad(tonic, d, minor)
        notes += [(chord[0] - 24, t0, 1.4, 0.6), (chord[2] - 24, t0 + 1.5, 1.4, 0.45)]
        hits += [("kick", t0), ("kick", t0 + 1.5)]
        for e in range(6):
            notes.append((chord[e % 3] + 12 * (e // 3), t0 + 0.5 * e, 0.45, 0.35 if e % 3 == 0 else 0.22))
            hits.append(("hat", t0 + 0.5 * e))
    return render(notes, bpm, 3 * bars * 60 / bpm + 0.5, hits)


def ballad(key: str, *, bpm: float = 76.0, bars: int = 6) -> Audio:
    """4/4, no drums: bass on 1 and 3, the chord on every beat, an eighth-note line over it."""
    tonic, mode = parse_key(key)
    notes = []
    for b in range(bars):
        d, minor = CYCLES[mode][b % 4]
        t0 = 4.0 * b
        chord = _triad(tonic, d, minor)
        notes += [(chord[0] - 24, t0, 1.9, 0.5), (chord[0] - 24, t0 + 2, 1.9, 0.4)]
        notes += [(p, t0 + beat, 0.95, 0.18 if beat else 0.24) for beat in range(4) for p in chord]
        notes += [(chord[e % 3] + 12, t0 + 0.5 * e, 0.45, 0.16) for e in range(8)]
    return render(notes, bpm, 4 * bars * 60 / bpm + 0.5)


def swing(key: str, *, bpm: float = 140.0, bars: int = 8) -> Audio:
    """4/4 jazz time: walking bass on every beat, the ride on the beat and the swung "and" (two
    thirds through the beat), the chord on 2 and 4: a beat divided in three that is not 6/8."""
    tonic, mode = parse_key(key)
    notes, hits = [], []
    for b in range(bars):
        d, minor = CYCLES[mode][b % 4]
        chord = _triad(tonic, d, minor)
        for beat in range(4):
            t0 = 4.0 * b + beat
            notes.append((chord[beat % 3] - 24, t0, 0.9, 0.5))
            hits += [("kick", t0)] if beat % 2 == 0 else []
            hits += [("hat", t0), ("hat", t0 + 2 / 3)]
            if beat % 2 == 1:
                notes += [(p, t0, 0.6, 0.2) for p in chord]
    return render(notes, bpm, 4 * bars * 60 / bpm + 0.5, hits)


def _two_bar_chords(key: str, bpm: float, bars: int, level: float, bar: Callable[[float, list[int]], tuple[list, list]]
                    ) -> Audio:
    """4/4 with a held chord every two bars (the cycle's chords, two bars each) and what `bar(start
    beat, chord)` adds to every bar as (notes, hits)."""
    tonic, mode = parse_key(key)
    notes, hits = [], []
    for b in range(bars):
        d, minor = CYCLES[mode][(b // 2) % 4]
        chord = _triad(tonic, d, minor)
        if b % 2 == 0:
            notes += [(p, 4.0 * b, 7.5, level) for p in chord]
        more_notes, more_hits = bar(4.0 * b, chord)
        notes += more_notes
        hits += more_hits
    return render(notes, bpm, 4 * bars * 60 / bpm + 0.5, hits)


def trap(key: str, *, bpm: float = 140.0, bars: int = 12) -> Audio:
    """Half-time trap at `bpm` (what the producer set): one snare per bar on beat 3, a syncopated
    kick, hats in eighths with a roll of two 32nds twice a bar, a long 808 under a chord every two bars."""
    def bar(t0: float, chord: list[int]) -> tuple[list, list]:
        hits = [("kick", t0), ("kick", t0 + 1.75), ("kick", t0 + 2.5), ("snare", t0 + 2.0)]
        hits += [("hat", t0 + 0.5 * e) for e in range(8)] + [("hat", t0 + 2.375), ("hat", t0 + 3.625)]
        return [(chord[0] - 36, t0, 1.6, 0.7)], hits  # the 808

    return _two_bar_chords(key, bpm, bars, 0.12, bar)


def cinematic(key: str, *, bpm: float = 80.0, bars: int = 8) -> Audio:
    """Slow 4/4 with little in it: a chord every two bars, a low root on every bar, the kick on 1 and 3
    and low toms on 1, the "and" of 2 and 3: fewer onsets than beats at double the tempo."""
    def bar(t0: float, chord: list[int]) -> tuple[list, list]:
        toms = [(45, t0 + at, 0.5, 0.5) for at in (0.0, 1.5, 2.5)]
        return [(chord[0] - 24, t0, 3.5, 0.4)] + toms, [("kick", t0), ("kick", t0 + 2.0)]

    return _two_bar_chords(key, bpm, bars, 0.15, bar)
