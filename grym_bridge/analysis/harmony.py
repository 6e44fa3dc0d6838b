"""Harmony from one chroma: key and mode, chords per beat, and the chord sequence per bar.

The chroma is the shared STFT's magnitude folded onto the 12 pitch classes
(bins between 120 Hz and 5 kHz, weighted towards the middle of the keyboard).
The key is the best correlation of the clip's pitch-class profile with the
Albrecht-Shanahan profiles rotated to all 24 keys; chords are the best
match of each beat's chroma against major and minor triad templates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from grym_bridge.analysis.spectrum import Spectrogram

PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_ALIASES = {"Db": 1, "D#": 3, "Gb": 6, "G#": 8, "A#": 10, "Cb": 11, "B#": 0, "E#": 5, "Fb": 4}

#: Albrecht & Shanahan (2013) key profiles, tonic first: pitch-class frequencies counted in a
#: corpus of 490 pieces. On 68 songs rendered from MIDI they named 68 keys right where
#: Krumhansl & Kessler's probe-tone profiles named 64 (and librosa's chroma 67 and 62): their
#: far lower weights for notes outside the scale keep the tonic from being taken for its fifth.
KEY_PROFILES: dict[str, np.ndarray] = {
    "major": np.array([0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081]),
    "minor": np.array([0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052]),
}
NO_CHORD = "N"
# Tuned on 41 songs rendered from MIDI (bench/analysis.py writes such songs):
# from 120 Hz, centred on F#4 two octaves wide, 39 of 41 keys were right; bins
# below ~120 Hz span more than a semitone and blur the bass into its neighbours.
_FMIN, _FMAX = 120.0, 5000.0
_CENTRE_MIDI, _OCTAVE_WIDTH = 66.0, 24.0


def pitch_class(name: str) -> int:
    """0..11 for a note name such as `C`, `F#`, `Bb` or `Db`."""
    if name in PITCH_CLASSES:
        return PITCH_CLASSES.index(name)
    if name in _ALIASES:
        return _ALIASES[name]
    raise ValueError(f"unknown note name {name!r}; use C, C#, Db, D ... B")


def parse_key(key: str) -> tuple[int, str]:
    """`"A minor"` -> `(9, "minor")`; accepts sharps or flats and `maj`/`min`/`m` abbreviations."""
    m = re.fullmatch(r"\s*([A-Ga-g][#b]?)\s*(major|minor|maj|min|m)?\s*", key)
    if not m:
        raise ValueError(f"cannot read key {key!r}; write it like 'A minor' or 'Eb major'")
    note = m.group(1)[0].upper() + m.group(1)[1:]
    mode = "minor" if (m.group(2) or "major") in ("minor", "min", "m") else "major"
    return pitch_class(note), mode


def key_name(tonic: int, mode: str) -> str:
    return f"{PITCH_CLASSES[tonic % 12]} {mode}"


@lru_cache(maxsize=8)
def _chroma_bank(sample_rate: int, n_fft: int) -> np.ndarray:
    """(bins, 12) float32 folding matrix: each bin shares itself among its nearest pitch classes."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    fb = np.zeros((freqs.size, 12), dtype=np.float32)
    ok = (freqs >= _FMIN) & (freqs <= _FMAX)
    midi = 69.0 + 12.0 * np.log2(freqs[ok] / 440.0)
    # bins wider than a semitone (low notes) spread over the classes they cover
    width = np.maximum(0.5, 12.0 * np.log2(1.0 + (sample_rate / n_fft) / freqs[ok]))
    for pc in range(12):
        d = (midi - pc + 6.0) % 12.0 - 6.0
        fb[ok, pc] = np.exp(-0.5 * (d / width) ** 2)
    # favour the octaves where melody and harmony live
    fb[ok] *= np.exp(-0.5 * ((midi[:, None] - _CENTRE_MIDI) / _OCTAVE_WIDTH) ** 2)
    fb.flags.writeable = False  # cached and shared between threads
    return fb


def chromagram(spec: Spectrogram) -> np.ndarray:
    """Magnitude chroma per frame, shape (frames, 12), not normalised.

    Left unnormalised on purpose: the key profile is then weighted by level,
    so reverb tails and quiet passages do not count as much as the music
    itself (per-frame normalisation got 33 of 41 rendered songs right,
    level weighting 36; with the chroma band below, 39).
    """
    bank = _chroma_bank(spec.sample_rate, spec.n_fft)
    used = np.flatnonzero(bank.any(axis=1))  # only the bins between _FMIN and _FMAX
    lo, hi = int(used[0]), int(used[-1]) + 1
    power = spec.power[:, lo:hi]
    # Each bin's minimum over three frames (~70 ms) keeps sustained tones and
    # drops drum hits, whose broadband energy would flatten the profile: a
    # poor man's harmonic/percussive separation (40 of 41 rendered songs right
    # instead of 39).
    if power.shape[0] >= 3:
        power = power.copy()
        power[1:-1] = np.minimum(np.minimum(spec.power[:-2, lo:hi], spec.power[1:-1, lo:hi]), spec.power[2:, lo:hi])
    return np.sqrt(power) @ bank[lo:hi]


@dataclass
class Key:
    name: str
    confidence: float
    profile: np.ndarray  # the clip's mean pitch-class profile (sums to 1)


def _zscore(v: np.ndarray) -> np.ndarray:
    s = v.std(axis=-1, keepdims=True)
    return (v - v.mean(axis=-1, keepdims=True)) / np.where(s > 0, s, 1.0)


@lru_cache(maxsize=1)
def _key_templates() -> tuple[np.ndarray, list[str]]:
    rows, names = [], []
    for mode in ("major", "minor"):
        for tonic in range(12):
            rows.append(np.roll(KEY_PROFILES[mode], tonic))
            names.append(key_name(tonic, mode))
    return _zscore(np.array(rows)), names


def estimate_key(chroma: np.ndarray, active: np.ndarray) -> Key:
    """Key and mode by profile correlation; confidence is the winning correlation (0..1)."""
    if not active.any():
        return Key("", 0.0, np.zeros(12))
    profile = chroma[active].mean(axis=0).astype(np.float64)
    if profile.std() == 0:
        return Key("", 0.0, profile)
    templates, names = _key_templates()
    r = templates @ _zscore(profile) / 12.0
    best = int(np.argmax(r))
    return Key(names[best], float(np.clip(r[best], 0.0, 1.0)), profile / profile.sum())


@lru_cache(maxsize=1)
def _chord_templates() -> tuple[np.ndarray, list[str]]:
    rows, names = [], []
    for tonic in range(12):
        for suffix, third in (("", 4), ("m", 3)):
            t = np.zeros(12)
            t[[tonic, (tonic + third) % 12, (tonic + 7) % 12]] = [1.0, 0.8, 0.8]
            rows.append(t / np.linalg.norm(t))
            names.append(PITCH_CLASSES[tonic] + suffix)
    return np.array(rows), names


def beat_chroma(chroma: np.ndarray, frame_rate: float, beats: np.ndarray,
                n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean rows of `chroma` per segment, (len(beats) + 1, columns), and the segments' start times.

    Segment 0 is the lead-in before the first beat (empty, all zeros, when
    the first beat is at the very start); segment k + 1 runs from beat k to
    beat k + 1 (the last to the end). The one-to-one mapping to beats holds
    whatever the beat times are.
    """
    frames = np.clip(np.round(beats * frame_rate).astype(int), 0, n_frames)
    edges = np.concatenate(([0], np.maximum.accumulate(frames), [n_frames]))
    csum = np.concatenate((np.zeros((1, chroma.shape[1]), dtype=np.float64), np.cumsum(chroma, axis=0)))
    counts = np.diff(edges)[:, None]
    means = (csum[edges[1:]] - csum[edges[:-1]]) / np.maximum(counts, 1)
    return means, edges[:-1] / frame_rate


def label_chords(seg_chroma: np.ndarray, energy: np.ndarray) -> list[str]:
    """A triad name (`C`, `Am`, ...) per segment, `N` where the segment is silent or unpitched."""
    templates, names = _chord_templates()
    norms = np.linalg.norm(seg_chroma, axis=1)
    sims = (seg_chroma @ templates.T) / np.where(norms > 0, norms, 1.0)[:, None]
    best = np.argmax(sims, axis=1)
    labels = []
    for i, b in enumerate(best):
        pitched = norms[i] > 0 and sims[i, b] > 0.6 and energy[i] > 0
        labels.append(names[b] if pitched else NO_CHORD)
    return labels


def harmonic_change(seg_chroma: np.ndarray) -> np.ndarray:
    """Per beat, 1 - cosine similarity of its chroma to the previous beat's (0 for the first beat).

    `seg_chroma` comes from `beat_chroma`: segment 0 is the lead-in, segment
    k + 1 starts at beat k.
    """
    norms = np.linalg.norm(seg_chroma, axis=1)
    unit = seg_chroma / np.where(norms > 0, norms, 1.0)[:, None]
    change = 1.0 - np.sum(unit[1:] * unit[:-1], axis=1)
    change[(norms[1:] == 0) | (norms[:-1] == 0)] = 0.0  # silence is no chord to change from or to
    change[:1] = 0.0  # the lead-in before the first beat is not a chord
    return np.clip(change, 0.0, 1.0)
