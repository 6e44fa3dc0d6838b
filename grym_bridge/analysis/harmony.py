"""Harmony from two chromas of one band: key and mode, chords per beat, and the chord sequence per bar.

Both chromas read the shared STFT between 120 Hz and 5 kHz, weighted towards the middle of the
keyboard. The folded one shares each bin among its nearest pitch classes: chords, the meter's
harmonic change, key segments and the no-key gate read it. The peak one places each spectral peak at
its interpolated frequency, which keeps low notes on their own pitch class: the key reads it.
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

from grym_bridge.analysis.spectrum import Spectrogram, bank_bins
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


def chromagrams(spec: Spectrogram) -> tuple[np.ndarray, np.ndarray]:
    """Two magnitude chromas per frame, each (frames, 12), not normalised: (folded, from peaks).

    Both read the same band (`_FMIN`.._FMAX), its `sustained` power and the same octave weighting.
    The folded chroma shares each STFT bin among its nearest pitch classes; chords, the meter, key
    segments and the no-key gate read it. The peak chroma places each spectral peak at its interpolated
    frequency (`peak_chroma`); the key reads it.

    Left unnormalised on purpose: the key profile is then weighted by level,
    so reverb tails and quiet passages do not count as much as the music
    itself (per-frame normalisation got 33 of 41 rendered songs right,
    level weighting 36; with the chroma band below, 39).
    """
    bank = _chroma_bank(spec.sample_rate, spec.n_fft)
    lo, hi = bank_bins(bank)
    power = sustained(spec.power[:, lo - 1 : hi + 1])  # a bin either side: the band's edge bins can be peaks
    folded = np.sqrt(power[:, 1:-1]) @ bank[lo:hi]
    return folded, peak_chroma(power, spec.sample_rate, spec.n_fft, lo)


#: The peak chroma leaves out peaks more than this under the frame's loudest bin (window sidelobes,
#: noise). Chosen on speed alone: -40 dB kept the analysis at 3x librosa's speed (-50 dB did not),
#: and mean profiles moved by at most 0.6% (median 0.3%) against no floor on 30 tune-part clips.
PEAK_FLOOR_DB = -40.0
#: Each peak spreads over the pitch classes beside it with a Gaussian this wide (semitones).
PEAK_WIDTH = 0.3
_CELLS = 10  # peaks are summed on a grid of tenths of a semitone, then folded by one small matmul


@lru_cache(maxsize=8)
def _peak_tables(sample_rate: int, n_fft: int, lo: int, width: int) -> tuple[np.ndarray, ...]:
    """Per bin lo - 1 .., its pitch in grid cells, the cells per bin there, and its octave weight;
    and the (cells, 12) fold of the grid."""
    k = np.maximum(np.arange(lo - 1, lo - 1 + width, dtype=np.float64), 1.0)
    midi = 69.0 + 12.0 * np.log2(k * sample_rate / n_fft / 440.0)
    slope = 12.0 / np.log(2.0) / k  # d midi / d bin; a peak's shift is under half a bin, so linear is enough
    octave = np.exp(-0.5 * ((midi - _CENTRE_MIDI) / _OCTAVE_WIDTH) ** 2)
    cell = np.arange(12 * _CELLS) / _CELLS
    d = (cell[:, None] - np.arange(12)[None, :] + 6.0) % 12.0 - 6.0
    fold = np.exp(-0.5 * (d / PEAK_WIDTH) ** 2)
    tables = tuple(a.astype(np.float32) for a in (midi * _CELLS, slope * _CELLS, octave, fold))
    for a in tables:
        a.flags.writeable = False  # cached and shared between threads
    return tables


def peak_chroma(power: np.ndarray, sample_rate: int, n_fft: int, lo: int) -> np.ndarray:
    """Chroma from spectral peaks, (frames, 12): `power` holds bins lo - 1 .. one past the band's end.

    Each peak (a bin above its neighbours and within `PEAK_FLOOR_DB` of the frame's loudest) is placed
    at its frequency interpolated by a parabola through the log power of its bin and their neighbours
    (as essentia's HPCP places peaks), with the amplitude the parabola's top. The shared STFT's bins
    are 10.8 Hz wide, a semitone near G3, and a Hann peak spans two bins either side: folding whole
    bins smears a low note onto the semitones beside it (of a pure D3 the folded chroma keeps 25% in D,
    of a G3 33%), so chords voiced around G3..D4 gave flat profiles with pitch classes out of the key.
    On bench/trainset.py's clips, keys from this chroma were right more often (bench/fit_key.py).
    """
    n, width = power.shape
    flat = power.ravel()
    centre = flat[1:-1]
    floor = np.repeat(power.max(axis=1) * np.float32(10.0 ** (PEAK_FLOOR_DB / 10.0)), width)[1:-1]
    is_peak = (centre > flat[:-2]) & (centre >= flat[2:]) & (centre > floor)
    is_peak[width - 2 :: width] = False  # a row's last bin (its right neighbour is in the next row)
    is_peak[width - 1 :: width] = False  # a row's first bin (its left neighbour is in the previous row)
    at = np.flatnonzero(is_peak) + 1
    tiny = np.float32(1e-30)
    a, b, c = np.log(flat[at - 1] + tiny), np.log(flat[at] + tiny), np.log(flat[at + 1] + tiny)
    shift = np.clip(np.float32(0.5) * (a - c) / np.minimum(a + c - 2 * b, np.float32(-1e-12)), -0.5, 0.5)
    frame, col = np.divmod(at, width)
    pitch, slope, octave, fold = _peak_tables(sample_rate, n_fft, lo, width)
    cell = np.rint(pitch[col] + shift * slope[col]).astype(np.int32) % (12 * _CELLS)
    # the parabola's top in log power, halved: the magnitude
    amplitude = np.exp(np.float32(0.5) * (b - np.float32(0.25) * (a - c) * shift)) * octave[col]
    grid = np.bincount(frame * (12 * _CELLS) + cell, weights=amplitude, minlength=n * 12 * _CELLS)
    return grid.reshape(n, 12 * _CELLS).astype(np.float32) @ fold


def sustained(power: np.ndarray) -> np.ndarray:
    """Each bin's minimum over three frames (~70 ms), the first and last frames kept as they are.

    It keeps sustained tones and drops drum hits, whose broadband energy would flatten the profile: a
    poor man's harmonic/percussive separation (40 of 41 rendered songs right instead of 39).
    """
    if power.shape[0] < 3:
        return power
    out = np.empty(power.shape, dtype=power.dtype)
    out[0], out[-1] = power[0], power[-1]
    np.minimum(power[:-2], power[1:-1], out=out[1:-1])
    np.minimum(out[1:-1], power[2:], out=out[1:-1])
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
#: by 5-fold cross-validation) on the peak chroma's features of bench/trainset.py's 679 clips, none in the
#: evaluation set: cross-validated over 10 fold orders 632.3 keys exact, relative + fifth confusions 33.1
#: (the folded chroma: 625.3 and 41.1); the hand-set score alone 584; tune part 64 -> 68 of 72. The largest
#: weights read as harmony: in a major key time on I and vi counts for it, on a minor v and iv against (a
#: minor v is the ii of the key a fifth down); in a minor key time on i, iv and bVI counts for it, on a major
#: IV (the relative major's V-of-V, or Dorian) against. It also tempers the opening cue.
KEY_WEIGHTS: tuple[tuple[float, ...], tuple[float, ...]] = (
    (  # major keys
        -0.0184, 0.0018, -0.0256, -0.0229, 0.1746, 0.0401, -0.0959, -0.0949, -0.0332, 0.0096, -0.1205, 0.0986,  # treble
        -0.0388, -0.0334, -0.0239, -0.0808, -0.0817, -0.0518, 0.031, 0.0155, 0.0366, 0.0599, -0.0028, 0.0834,  # bass
        -0.2095, -0.0989, 0.2776, -0.0132, -0.2172, 0.0706, -0.0036, -0.1351, 0.0752, 0.1442, -0.0569, 0.2322,  # opening
        -0.0128, -0.023, 0.1227, -0.1123, 0.1033, 0.0818, -0.0972, -0.0348, -0.0464, -0.0119, 0.0372, 0.1322,  # ending
        0.2505, -0.005, -0.0427, -0.0289, -0.048, -0.1284, -0.0132, 0.0882, -0.019, 0.1471, -0.0071, 0.089,  # major chords
        -0.0677, -0.0018, -0.0222, -0.0015, -0.0119, -0.1065, -0.0149, -0.2574, 0.0153, 0.1048, -0.0153, 0.0098,  # minor chords
    ),
    (  # minor keys
        0.0284, -0.1262, 0.0548, 0.1317, -0.0208, -0.0294, 0.0121, -0.0296, 0.142, -0.0916, 0.008, 0.0074,  # treble
        -0.0656, -0.102, -0.0518, -0.0403, -0.011, 0.0495, 0.0335, 0.1201, 0.1408, -0.0095, 0.025, -0.0019,  # bass
        -0.1388, -0.206, 0.1057, -0.1202, 0.014, 0.0611, 0.0246, -0.1018, 0.3028, 0.0502, 0.0536, -0.1109,  # opening
        0.0585, -0.2708, 0.2012, -0.0321, 0.0497, -0.0676, 0.015, -0.151, -0.0026, 0.0343, 0.0545, -0.0278,  # ending
        -0.1013, -0.126, -0.0142, -0.1207, -0.0015, -0.3102, -0.0014, 0.0474, 0.3217, -0.0307, 0.0598, -0.0054,  # major chords
        0.2357, -0.0022, -0.0757, 0.0025, 0.0057, 0.3727, 0.0019, -0.0227, -0.0049, -0.0285, -0.0964, -0.0189,  # minor chords
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
                 chords: list[str] | None = None, gate_chroma: np.ndarray | None = None) -> Key:
    """Key and mode; confidence is the winning key's profile correlation (0..1; the gate's, when refused).

    The clip's pitch-class profile (with `bass`, from `bass_chromagram`, mixed
    in: roots live there) is correlated with the 24 key profiles; `edges` (from
    `edge_chroma`) adds how well the opening and the ending fit each key's tonic
    triad, which settles relative and fifth confusions. Material whose chroma
    frames are too flat to hold notes (drums, noise) gives `name=None`.
    `weights` (one per row: beat lengths where the rows are beats) weights the means; `chords`
    (a chord label per beat) adds the bVI-bVII-i cadences into each minor key (`aeolian_cadences`).
    Last, `fitted_key_scores` adds the fitted reading of the profiles, the edges and the chords
    (`chord_functions`) against each key; the confidence stays the profile correlation.
    `gate_chroma` (rows as `chroma`'s) is what the no-key gate reads instead of `chroma`: its `tonalness`
    and its profile's best correlation with any key. The analyser reads the key from the peak chroma
    and the gate from the folded one its thresholds were chosen on (a click's single pitch class reads
    as a clear key in the peak chroma).
    """
    if not active.any():
        return Key(None, 0.0, np.zeros(12))
    w = np.ones(int(active.sum())) if weights is None else np.asarray(weights, dtype=np.float64)[active]

    def mean(x: np.ndarray) -> np.ndarray:
        return w @ x[active].astype(np.float64) / max(float(w.sum()), 1e-12)

    treble = mean(chroma)
    if treble.std() == 0:
        return Key(None, 0.0, treble)
    low = mean(bass) if bass is not None and bass[active].sum() > 0 else None

    def with_bass(treble: np.ndarray) -> np.ndarray:
        profile = treble / treble.sum()
        return profile if low is None else (1 - BASS_WEIGHT) * profile + BASS_WEIGHT * low / low.sum()

    profile = with_bass(treble)
    r = key_scores(profile)
    score = r.copy()
    if edges is not None:
        triads = _tonic_triads()
        score += OPENING_WEIGHT * (triads @ edges[0]) + ENDING_WEIGHT * (triads @ edges[1])
    if chords:
        score += AEOLIAN_WEIGHT * aeolian_cadences(chords)
    score += fitted_key_scores(key_features(treble, low, edges, chords))
    best = int(np.argmax(score))
    gate = chroma if gate_chroma is None else gate_chroma
    tonal, r_gate = tonalness(gate, active), r
    if gate_chroma is not None:
        gate_treble = mean(gate_chroma)
        r_gate = key_scores(with_bass(gate_treble)) if gate_treble.sum() > 0 else np.zeros(24)
    # the gate asks whether the profile looks like a key at all (its best fit), not like the key chosen
    keyed = tonal >= MIN_TONALNESS and r_gate.max() >= MIN_KEY_CORRELATION
    name = _key_templates()[1][best] if keyed else None
    confidence = r[best] if keyed else r_gate.max()  # refused: how little the profile looks like any key
    return Key(name, float(np.clip(confidence, 0.0, 1.0)), profile / profile.sum(), tonal)


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
