"""Harmony from one chroma: key and mode, chords per beat, and the chord sequence per bar.

The chroma is the shared STFT's magnitude folded onto the 12 pitch classes
(bins between 120 Hz and 5 kHz, weighted towards the middle of the keyboard).
The key is the best correlation of the clip's pitch-class profile with the
Albrecht-Shanahan profiles rotated to all 24 keys, plus cues that settle
relative and fifth confusions (the opening and ending triads, cadences, and a
fitted reading of the chords as Roman numerals); chords are the best match of
each beat's chroma against major and minor triad templates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft

from grym_bridge.analysis.spectrum import Spectrogram
from grym_bridge.audio_io import resample

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
    return np.sqrt(sustained(spec.power[:, lo:hi])) @ bank[lo:hi]


def sustained(power: np.ndarray) -> np.ndarray:
    """Each bin's minimum over three frames (~70 ms), the first and last frames kept as they are.

    It keeps sustained tones and drops drum hits, whose broadband energy would flatten the profile: a
    poor man's harmonic/percussive separation (40 of 41 rendered songs right instead of 39).
    """
    if power.shape[0] < 3:
        return power
    out = power.copy()
    out[1:-1] = np.minimum(np.minimum(power[:-2], power[1:-1]), power[2:])
    return out


#: The bass chroma: a 0.74 s window at 1/32 of the STFT's rate (1.4 kHz: the bass range and its
#: first harmonics) resolves semitones down to ~40 Hz, which the shared 93 ms STFT cannot (its bins
#: are 10.8 Hz wide; an A2 root fell out of the chord). Small FFTs: about 10 ms per 30 s.
_BASS_DECIMATE, _BASS_NFFT = 32, 1024
_BASS_FMIN, _BASS_FMAX = 38.0, 270.0


@lru_cache(maxsize=8)
def _bass_bank(sample_rate: float, n_fft: int) -> tuple[np.ndarray, int, int]:
    """(bins, 12) folding matrix for the bass range, and the slice of bins it uses."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    ok = (freqs >= _BASS_FMIN) & (freqs <= _BASS_FMAX)
    lo, hi = int(np.flatnonzero(ok)[0]), int(np.flatnonzero(ok)[-1]) + 1
    midi = 69.0 + 12.0 * np.log2(freqs[lo:hi] / 440.0)
    width = np.maximum(0.35, 12.0 * np.log2(1.0 + (sample_rate / n_fft) / freqs[lo:hi]))
    fb = np.zeros((hi - lo, 12), dtype=np.float32)
    for pc in range(12):
        d = (midi - pc + 6.0) % 12.0 - 6.0
        fb[:, pc] = np.exp(-0.5 * (d / width) ** 2)
    # the lowest note is the bass: weight falls by 0.7 per octave up
    fb *= (_BASS_FMIN / freqs[lo:hi, None]) ** 0.5
    fb.flags.writeable = False
    return fb, lo, hi


def bass_chromagram(mono: np.ndarray, sample_rate: int, spec: Spectrogram) -> np.ndarray:
    """Magnitude chroma of 38..270 Hz per frame of `spec`, shape (frames, 12).

    Computed on the signal resampled to 1/32 of the STFT's rate with a long
    window (so low notes separate), then held over the shared STFT's frames.
    """
    rate = spec.sample_rate // _BASS_DECIMATE
    x = resample(np.asarray(mono, dtype=np.float32), sample_rate, rate, quality="LQ")
    hop = _BASS_NFFT // 8
    padded = np.pad(x, (_BASS_NFFT // 2, _BASS_NFFT // 2 + hop))
    frames = np.lib.stride_tricks.sliding_window_view(padded, _BASS_NFFT)[::hop][: x.shape[0] // hop + 1]
    bank, lo, hi = _bass_bank(float(rate), _BASS_NFFT)
    win = np.hanning(_BASS_NFFT + 1)[:-1].astype(np.float32)
    mag = np.abs(scipy.fft.rfft(frames * win, axis=1, workers=1)[:, lo:hi])
    bass = mag @ bank
    # each shared-STFT frame takes the bass frame nearest in time
    idx = np.clip(np.round(spec.times * rate / hop).astype(int), 0, bass.shape[0] - 1)
    return bass[idx]


@dataclass
class Key:
    name: str | None  # None: no key (unpitched material, silence)
    confidence: float
    profile: np.ndarray  # the clip's mean pitch-class profile (sums to 1)
    tonalness: float = 0.0  # how far the profile is from flat: what tells music from drums and noise


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


# The settings below were chosen on the tune part of bench/evalset.py (82 clips, 72 with a key:
# rendered songs in all 24 keys, Bach chorales, fiddle tunes, grym's own compositions; drums;
# noise); the measure part was not looked at. Exact keys: the profile alone 52/72 (8 relative and 7
# fifth confusions); with a quarter of bass chroma 56/72; with the opening and ending chords 67/72
# (2 relative, 1 fifth), the same for opening weights 1.0..1.5 and ending weights 0..0.2. A minor's
# and C major's pitch classes are one set: only where the music starts and ends tells them apart.
#: Share of the bass chroma in the key profile (each part first scaled to sum 1).
BASS_WEIGHT = 0.25
#: Weight of the opening's fit to each key's tonic triad: music starts (and ends) at home.
OPENING_WEIGHT, ENDING_WEIGHT = 1.5, 0.15
#: Weight of the share of chord changes that are a bVI-bVII-i cadence into each minor key: the minor
#: loop's way home (trap, cinematic, pop in minor), which the profile reads as the relative major's
#: IV-V-vi. Tune part: one relative confusion fewer (a house loop in A minor), none more, for 1..2.
AEOLIAN_WEIGHT = 1.0
#: The fitted part of the key score, per mode of the key (major, minor): 72 weights over `key_features`
#: read from the key's tonic up (treble, bass, opening, ending; chords on each degree, major then minor).
#: Fitted by bench/fit_key.py (logistic regression over the 24 keys, pulled to 0 by an L2 penalty chosen
#: by 5-fold cross-validation) on bench/trainset.py's 392 clips, none in the evaluation set: cross-validated
#: 344 -> 354 keys exact, relative + fifth confusions 39 -> 31; tune part 68 -> 67 of 72. The largest
#: weights read as harmony: in a major key time on I and vi counts for it, on a minor v, iii and iv
#: against (a minor v is the ii of the key a fifth down); in a minor key time on i, iv and bVI counts for it,
#: on a major IV (the relative major's V-of-V, or Dorian) against. It also tempers the opening cue.
KEY_WEIGHTS: tuple[tuple[float, ...], tuple[float, ...]] = (
    (  # major keys
        0.0048, -0.0147, 0.0334, 0.0138, 0.1207, 0.0132, -0.0412, -0.0415, -0.0316, -0.0088, -0.0752, 0.0027,  # treble
        -0.1311, -0.0424, -0.052, -0.0557, -0.0823, -0.0268, 0.0547, 0.0938, 0.0738, 0.062, 0.0195, 0.0621,  # bass
        -0.2073, -0.0825, 0.2787, 0.0093, -0.2201, -0.1155, 0.087, 0.0093, 0.1367, -0.0363, -0.0607, 0.1937,  # opening
        -0.0215, -0.0497, 0.1451, -0.0532, 0.0249, -0.019, -0.0085, -0.0894, 0.0021, -0.0322, 0.1229, 0.1201,  # ending
        0.4483, -0.0178, 0.0512, -0.0525, -0.0477, -0.0914, -0.0179, -0.0074, -0.0517, 0.0906, 0.0242, -0.061,  # major chords
        -0.0787, 0.0144, 0.09, -0.0086, -0.133, -0.1299, -0.0177, -0.1924, 0.0088, 0.2756, -0.0515, -0.0684,  # minor chords
    ),
    (  # minor keys
        -0.0019, -0.0463, 0.0291, 0.0558, -0.0038, -0.017, -0.0176, -0.0028, 0.017, -0.023, 0.0204, 0.0146,  # treble
        -0.1314, -0.1441, -0.0411, -0.0491, 0.0124, 0.1191, 0.0364, 0.1428, 0.1582, -0.023, 0.0411, -0.097,  # bass
        0.0471, -0.0773, -0.0055, -0.1029, -0.103, 0.0545, 0.0102, -0.0155, 0.2483, 0.0063, -0.0108, -0.0437,  # opening
        0.025, -0.2039, 0.1948, -0.0296, 0.1023, -0.0136, -0.1414, -0.1364, 0.0082, 0.008, 0.1739, -0.129,  # ending
        -0.0941, -0.1526, 0.0559, -0.0906, -0.0077, -0.2813, -0.0059, -0.0331, 0.2547, -0.0106, 0.1042, -0.0056,  # major chords
        0.2528, -0.0449, -0.0081, -0.015, 0.0008, 0.3511, -0.0028, 0.0443, -0.0226, -0.0562, -0.1579, -0.0502,  # minor chords
    ),
)
#: Below this tonalness a clip has no key. Tune part (82 clips): drums and noise up to 0.31,
#: music from 0.345 (a house loop under loud kicks); the middle of the gap.
MIN_TONALNESS = 0.33
#: ... and the profile must look like a key at all: a click's one pitch class correlates 0.29;
#: music on the tune part from 0.36.
MIN_KEY_CORRELATION = 0.32


def key_scores(profile: np.ndarray) -> np.ndarray:
    """Correlation of `profile` with the 24 key templates (majors C..B, then minors C..B)."""
    templates, _names = _key_templates()
    return templates @ _zscore(profile) / 12.0


def tonalness(chroma: np.ndarray, active: np.ndarray) -> float:
    """How peaked the chroma frames are (0 flat): notes make peaks, drums and noise spread evenly.

    The 75th percentile, over the frames within 20 dB of the loud ones, of each frame's spread
    (std / mean of its 12 bins): a house loop whose kicks flatten most frames still has chords
    between them, and the near-silence between noise bursts does not count.
    """
    frames = chroma[active].astype(np.float64)
    level = frames.sum(axis=1)
    if frames.shape[0] == 0 or level.max() <= 0:
        return 0.0
    loud = frames[level >= 0.1 * np.percentile(level, 95)]
    spread = loud.std(axis=1) / np.maximum(loud.mean(axis=1), 1e-12)
    return float(np.percentile(spread, 75))


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def edge_chroma(seg_chroma: np.ndarray, seg_bass: np.ndarray, beats: int = 2) -> tuple[np.ndarray, np.ndarray] | None:
    """The pitch classes of the first and of the last `beats` beats with music (treble and bass alike)."""
    level = seg_chroma.sum(axis=1)
    music = np.flatnonzero(level > 0.05 * level.max()) if level.size and level.max() > 0 else np.zeros(0, int)
    if music.size == 0:
        return None
    first, last = int(music[0]), int(music[-1]) + 1

    def part(lo: int, hi: int) -> np.ndarray:
        return _unit(_unit(seg_chroma[lo:hi].sum(axis=0)) + _unit(seg_bass[lo:hi].sum(axis=0)))

    return part(first, first + beats), part(max(0, last - beats), last)


def aeolian_cadences(labels: list[str]) -> np.ndarray:
    """(24,) in the key order: for each minor key, the share of chord changes in `labels` (per beat, from
    `label_chords`) that complete bVI-bVII-i into its tonic; 0 for the major keys."""
    seq = [c for i, c in enumerate(labels) if c != NO_CHORD and (i == 0 or c != labels[i - 1])]
    seq = [c for i, c in enumerate(seq) if i == 0 or c != seq[i - 1]]  # again, where an N stood between
    out = np.zeros(24)
    for x, y, z in zip(seq, seq[1:], seq[2:]):
        if x.endswith("m") or y.endswith("m") or not z.endswith("m"):
            continue
        rx, ry, rz = pitch_class(x), pitch_class(y), pitch_class(z[:-1])
        if (ry - rx) % 12 == 2 and (rz - ry) % 12 == 2:
            out[12 + rz] += 1.0
    return out / max(len(seq) - 1, 1)


def chord_functions(labels: list[str] | None) -> np.ndarray:
    """(24,) the share of labelled beats on each chord: major chords on C..B, then minor chords on C..B.

    Read against a key (rolled to its tonic) this is the clip's chords as Roman numerals: how much of
    it sits on I, IV, V, vi, on a major V in minor (the raised leading tone), on chords foreign to the key.
    """
    out = np.zeros(24)
    for c in labels or ():
        if c != NO_CHORD:
            minor = c.endswith("m")
            out[pitch_class(c[:-1] if minor else c) + (12 if minor else 0)] += 1.0
    return out / max(float(out.sum()), 1.0)


def key_features(treble: np.ndarray, low: np.ndarray | None, edges: tuple[np.ndarray, np.ndarray] | None,
                 chords: list[str] | None) -> np.ndarray:
    """(72,) what the fitted part of the key score reads: six blocks of 12 pitch classes (or chord roots).

    The treble and the bass profile (each summing to 1), the opening and the ending chroma (unit length,
    from `edge_chroma`), and `chord_functions` (its major-chord and minor-chord halves); a block that is
    missing is zeros.
    """
    zeros = np.zeros(12)
    low = zeros if low is None or low.sum() <= 0 else low / low.sum()
    opening, ending = (zeros, zeros) if edges is None else edges
    return np.concatenate([treble / treble.sum(), low, opening, ending, chord_functions(chords)])


@lru_cache(maxsize=1)
def _tonic_rolls() -> np.ndarray:
    """(12, 12) index: row t lists the pitch classes from tonic t up, so x[_tonic_rolls()[t]] is x rolled to t."""
    return (np.arange(12)[None, :] + np.arange(12)[:, None]) % 12


def fitted_key_scores(features: np.ndarray) -> np.ndarray:
    """(24,) `KEY_WEIGHTS` applied to `key_features` read from each key's tonic (majors C..B, then minors)."""
    blocks = features.reshape(6, 12)[:, _tonic_rolls()]  # (block, tonic, degree)
    weights = np.asarray(KEY_WEIGHTS).reshape(2, 6, 12)
    return np.concatenate([np.einsum("ftj,fj->t", blocks, weights[m]) for m in range(2)])


def estimate_key(chroma: np.ndarray, active: np.ndarray, bass: np.ndarray | None = None,
                 edges: tuple[np.ndarray, np.ndarray] | None = None, weights: np.ndarray | None = None,
                 chords: list[str] | None = None) -> Key:
    """Key and mode; confidence is the winning key's profile correlation (0..1).

    The clip's pitch-class profile (with `bass`, from `bass_chromagram`, mixed
    in: roots live there) is correlated with the 24 key profiles; `edges` (from
    `edge_chroma`) adds how well the opening and the ending fit each key's tonic
    triad, which settles relative and fifth confusions. Material whose chroma
    frames are too flat to hold notes (drums, noise) gives `name=None`.
    `weights` (one per row: beat lengths where the rows are beats) weights the means; `chords`
    (a chord label per beat) adds the bVI-bVII-i cadences into each minor key (`aeolian_cadences`).
    Last, `fitted_key_scores` adds the fitted reading of the profiles, the edges and the chords
    (`chord_functions`) against each key; the confidence stays the profile correlation.
    """
    if not active.any():
        return Key(None, 0.0, np.zeros(12))
    w = np.ones(int(active.sum())) if weights is None else np.asarray(weights, dtype=np.float64)[active]

    def mean(x: np.ndarray) -> np.ndarray:
        return w @ x[active].astype(np.float64) / max(float(w.sum()), 1e-12)

    treble = mean(chroma)
    if treble.std() == 0:
        return Key(None, 0.0, treble)
    tonal = tonalness(chroma, active)
    profile = treble / treble.sum()
    low = None
    if bass is not None and bass[active].sum() > 0:
        low = mean(bass)
        profile = (1 - BASS_WEIGHT) * profile + BASS_WEIGHT * low / low.sum()
    r = key_scores(profile)
    score = r.copy()
    if edges is not None:
        triads = _tonic_triads()
        score += OPENING_WEIGHT * (triads @ edges[0]) + ENDING_WEIGHT * (triads @ edges[1])
    if chords:
        score += AEOLIAN_WEIGHT * aeolian_cadences(chords)
    score += fitted_key_scores(key_features(treble, low, edges, chords))
    best = int(np.argmax(score))
    keyed = tonal >= MIN_TONALNESS and r[best] >= MIN_KEY_CORRELATION
    name = _key_templates()[1][best] if keyed else None
    return Key(name, float(np.clip(r[best], 0.0, 1.0)), profile / profile.sum(), tonal)


@lru_cache(maxsize=1)
def _tonic_triads() -> np.ndarray:
    """(24, 12) unit triad templates in the order of the key templates (majors, then minors)."""
    rows = []
    for third in (4, 3):
        for tonic in range(12):
            t = np.zeros(12)
            t[[tonic, (tonic + third) % 12, (tonic + 7) % 12]] = [1.0, 0.8, 0.8]
            rows.append(t / np.linalg.norm(t))
    return np.array(rows)


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


#: How much the bass chroma counts in a chord's pitch classes (both scaled to unit length first).
CHORD_BASS_WEIGHT = 0.6


def label_chords(seg_chroma: np.ndarray, energy: np.ndarray, seg_bass: np.ndarray | None = None) -> list[str]:
    """A triad name (`C`, `Am`, ...) per segment, `N` where the segment is silent or unpitched.

    `seg_bass` (the bass chroma per segment) puts the root back: the shared
    STFT starts at 120 Hz, so a low voicing such as A2-C3-E3 lost its A and
    read as C, and its harmonics (A2's fifth partial is C#) turned minor
    triads major.
    """
    templates, names = _chord_templates()
    x = seg_chroma.astype(np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms > 0, norms, 1.0)
    if seg_bass is not None:
        b = seg_bass.astype(np.float64)
        bn = np.linalg.norm(b, axis=1, keepdims=True)
        x = x + CHORD_BASS_WEIGHT * b / np.where(bn > 0, bn, 1.0)
    xn = np.linalg.norm(x, axis=1)
    sims = (x @ templates.T) / np.where(xn > 0, xn, 1.0)[:, None]
    best = np.argmax(sims, axis=1)
    labels = []
    for i, k in enumerate(best):
        pitched = xn[i] > 0 and sims[i, k] > 0.6 and energy[i] > 0
        labels.append(names[k] if pitched else NO_CHORD)
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
