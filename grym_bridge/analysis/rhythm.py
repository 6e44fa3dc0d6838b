"""Rhythm from one onset envelope: tempo, beats, onset density and the 16th-note pattern per bar.

The onset envelope is the positive spectral flux of log band energies read
from the shared STFT. Tempo comes from its autocorrelation scored as a comb
(the period and its multiples, so a click at 180 BPM does not read as 90),
beats from Ellis' dynamic programme ("Beat tracking by dynamic programming",
2007), and the tempo is then refined by a straight-line fit through the
beats, which is far finer than one STFT hop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from grym_bridge.analysis.spectrum import Spectrogram

MIN_BPM = 60.0
MAX_BPM = 200.0
_PRIOR_BPM = 120.0
_PRIOR_OCTAVES = 1.0
_TIGHTNESS = 100.0
_DOUBLE_RATIO = 0.8
_ONSET_CUE = 0.25
#: The envelope peaks about one hop before the onset: the frame whose window
#: first takes in most of a hit is centred that much earlier (measured on clicks).
ONSET_LAG_FRAMES = 1.0
_STEPS_PER_BEAT = 4
_BEATS_PER_BAR = 4


@lru_cache(maxsize=8)
def _onset_bands(sample_rate: int, n_fft: int, n_bands: int = 40) -> np.ndarray:
    """Triangular log-spaced bands from 40 Hz to 11 kHz as a (bins, bands) float32 matrix."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    top = min(11000.0, sample_rate / 2.0)
    edges = np.geomspace(40.0, top, n_bands + 2)
    fb = np.zeros((freqs.size, n_bands), dtype=np.float32)
    for b in range(n_bands):
        lo, mid, hi = edges[b], edges[b + 1], edges[b + 2]
        up = (freqs - lo) / (mid - lo)
        down = (hi - freqs) / (hi - mid)
        fb[:, b] = np.clip(np.minimum(up, down), 0.0, None)
    # a band narrower than one bin would be empty: give it its nearest bin
    for b in np.flatnonzero(fb.sum(axis=0) == 0):
        fb[int(np.argmin(np.abs(freqs - edges[b + 1]))), b] = 1.0
    fb.flags.writeable = False  # cached and shared between threads
    return fb


def onset_envelope(spec: Spectrogram) -> np.ndarray:
    """Onset strength per STFT frame (float64, >= 0): mean positive change of log band energy."""
    energy = spec.power @ _onset_bands(spec.sample_rate, spec.n_fft)
    floor = max(float(energy.max()) * 1e-8, 1e-12)
    log_e = 10.0 * np.log10(np.maximum(energy, floor))
    # the first frame is compared with the quietest moment of each band, so a clip
    # that starts on a hit has an onset at 0 rather than none
    previous = np.concatenate((log_e.min(axis=0, keepdims=True), log_e[:-1]))
    return np.maximum(0.0, log_e - previous).mean(axis=1).astype(np.float64)


@dataclass
class Tempo:
    bpm: float
    confidence: float
    beats: np.ndarray  # seconds


def _autocorrelation(env: np.ndarray) -> np.ndarray:
    x = env - env.mean()
    n = x.size
    spec = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spec.real**2 + spec.imag**2)[:n]
    return ac / ac[0] if ac[0] > 0 else np.zeros(n)


def _comb_tempo(ac: np.ndarray, frame_rate: float) -> tuple[float, float]:
    """(bpm, confidence) maximising the prior-weighted comb sum of the autocorrelation."""
    bpms = np.arange(MIN_BPM, MAX_BPM, 0.05)
    lags = 60.0 * frame_rate / bpms
    idx = np.arange(ac.size)
    score = np.zeros_like(bpms)
    for k in range(1, 5):
        ok = k * lags < ac.size - 1
        score[ok] += np.interp(k * lags[ok], idx, ac) / k
    prior = np.exp(-0.5 * (np.log2(bpms / _PRIOR_BPM) / _PRIOR_OCTAVES) ** 2)
    best = int(np.argmax(score * prior))
    bpm, lag = float(bpms[best]), float(lags[best])
    # The comb cannot tell a pulse from its half-speed reading (a 180 BPM click
    # also repeats every 2 beats). When something happens halfway through the
    # period nearly as regularly as on it, the faster pulse is the beat.
    if 2 * bpm < MAX_BPM and np.interp(lag / 2, idx, ac) >= _DOUBLE_RATIO * np.interp(lag, idx, ac):
        bpm, lag = 2 * bpm, lag / 2
    confidence = float(np.clip(np.interp(lag, idx, ac), 0.0, 1.0))
    return bpm, confidence


def _track_beats(env: np.ndarray, period: float) -> np.ndarray:
    """Beat frames by dynamic programming at a fixed `period` (in frames)."""
    n = env.size
    std = env.std()
    if std == 0:
        return np.zeros(0, dtype=np.int64)
    width = max(1, int(round(period / 32)))
    kernel = np.exp(-0.5 * (np.arange(-2 * width, 2 * width + 1) / width) ** 2)
    local = np.convolve(env / std, kernel, mode="same")
    lo, hi = max(1, int(round(period / 2))), max(2, int(round(2 * period)))
    offsets = np.arange(hi, lo - 1, -1)  # how far back the previous beat may be
    penalty = -_TIGHTNESS * np.log(offsets / period) ** 2
    cum = local.copy()
    back = np.full(n, -1, dtype=np.int64)
    for t in range(lo, n):
        start = t - hi
        if start < 0:
            cand = cum[: t - lo + 1] + penalty[-start:]
            j = int(np.argmax(cand))
            prev = j
        else:
            cand = cum[start : t - lo + 1] + penalty
            j = int(np.argmax(cand))
            prev = start + j
        if cand[j] > 0:
            cum[t] = local[t] + cand[j]
            back[t] = prev
    # the last beat: the latest local maximum of the cumulative score that is strong enough
    peaks = np.flatnonzero((cum[1:-1] >= cum[:-2]) & (cum[1:-1] > cum[2:])) + 1
    if peaks.size == 0:
        return np.zeros(0, dtype=np.int64)
    strong = peaks[cum[peaks] >= 0.5 * np.median(cum[peaks])]
    t = int(strong[-1])
    beats = [t]
    while back[t] >= 0:
        t = int(back[t])
        beats.append(t)
    beats_arr = np.array(beats[::-1], dtype=np.int64)
    # trim weak beats at the ends (silence before the first note, a tail after the last)
    rms = math.sqrt(float(np.mean(local**2)))
    strong_beats = np.flatnonzero(local[beats_arr] >= 0.5 * rms)
    if strong_beats.size == 0:
        return np.zeros(0, dtype=np.int64)
    return beats_arr[strong_beats[0] : strong_beats[-1] + 1]


def _refine(env: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Sub-frame beat positions: a parabola through each beat's peak and its neighbours."""
    f = frames.astype(np.float64)
    inner = (frames > 0) & (frames < env.size - 1)
    a, b, c = env[frames[inner] - 1], env[frames[inner]], env[frames[inner] + 1]
    denom = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(denom < 0, 0.5 * (a - c) / denom, 0.0)
    f[inner] += np.clip(shift, -0.5, 0.5)
    return f


def estimate_tempo(env: np.ndarray, frame_rate: float) -> Tempo:
    """Global tempo (BPM), its confidence (0..1) and beat times in seconds."""
    if env.size < 8 or not np.any(env > 0):
        return Tempo(0.0, 0.0, np.zeros(0))
    ac = _autocorrelation(env)
    bpm, confidence = _comb_tempo(ac, frame_rate)
    frames = _track_beats(env, 60.0 * frame_rate / bpm)
    beats = (_refine(env, frames) + ONSET_LAG_FRAMES) / frame_rate if frames.size else np.zeros(0)
    if beats.size >= 4:
        intervals = np.diff(beats)
        nominal = 60.0 / bpm
        steps = np.maximum(1, np.round(intervals / nominal))
        index = np.concatenate(([0.0], np.cumsum(steps)))
        slope = np.polyfit(index, beats, 1)[0]
        if abs(60.0 / slope - bpm) / bpm < 0.06:
            bpm = 60.0 / slope
    return Tempo(float(bpm), confidence, beats)


def _normalised(env: np.ndarray) -> np.ndarray:
    """The envelope over its 99th percentile, clipped to 1: one huge first hit cannot flatten the rest."""
    scale = float(np.percentile(env, 99)) if env.size >= 100 else float(env.max())
    scale = scale if scale > 0 else float(env.max())
    return np.minimum(env / scale, 1.0)


def onset_density(env: np.ndarray, frame_rate: float) -> float:
    """Onsets per second: peaks of the envelope that stand out from their surroundings."""
    if env.size == 0 or env.max() <= 0:
        return 0.0
    norm = _normalised(env)
    from scipy import signal  # here, not at the top: scipy.signal takes ~1 s to import

    peaks, _ = signal.find_peaks(norm, prominence=0.07, distance=max(1, int(round(0.05 * frame_rate))))
    return float(peaks.size / (env.size / frame_rate))


def beat_strength(env: np.ndarray, frame_rate: float, beats: np.ndarray) -> np.ndarray:
    """The normalised onset strength (0..1) at each beat."""
    if beats.size == 0 or env.max() <= 0:
        return np.zeros(beats.size)
    frames = np.round((beats - ONSET_LAG_FRAMES / frame_rate) * frame_rate).astype(int)
    return _normalised(env)[np.clip(frames, 0, env.size - 1)]


def downbeat_phase(strength: np.ndarray, harmonic_change: np.ndarray) -> int:
    """Which of the first four beats is a downbeat (4/4 assumed).

    Chords change on the bar line far more often than anywhere else, so
    harmonic change is the main cue; onset strength (a kick on one) breaks ties
    in material without harmony.
    """
    if strength.size < _BEATS_PER_BAR:
        return 0
    score = [harmonic_change[p::_BEATS_PER_BAR].mean() + _ONSET_CUE * strength[p::_BEATS_PER_BAR].mean()
             for p in range(_BEATS_PER_BAR)]
    return int(np.argmax(score))


def rhythm_pattern(env: np.ndarray, frame_rate: float, beats: np.ndarray, phase: int) -> list[list[float]]:
    """Onset strength (0..1) on a 16th-note grid, one list of 16 per 4/4 bar starting at beat `phase`."""
    if beats.size < _BEATS_PER_BAR + 1 or env.max() <= 0:
        return []
    norm = _normalised(env)
    beats = beats - ONSET_LAG_FRAMES / frame_rate  # back onto the envelope's frames
    # 16th positions between consecutive beats
    frac = np.arange(_STEPS_PER_BEAT) / _STEPS_PER_BEAT
    grid = (beats[:-1, None] + np.diff(beats)[:, None] * frac).ravel() * frame_rate
    # the strongest frame within half a step of each grid point
    step = max(1, int(round(np.median(np.diff(beats)) * frame_rate / _STEPS_PER_BEAT / 2)))
    centres = np.clip(np.round(grid).astype(int), 0, env.size - 1)
    window = np.clip(centres[:, None] + np.arange(-step // 2, step // 2 + 1), 0, env.size - 1)
    values = norm[window].max(axis=1)
    per_bar = _STEPS_PER_BEAT * _BEATS_PER_BAR
    start = phase * _STEPS_PER_BEAT
    usable = (values.size - start) // per_bar
    bars = values[start : start + usable * per_bar].reshape(usable, per_bar) if usable > 0 else np.zeros((0, per_bar))
    return [[round(float(v), 3) for v in bar] for bar in bars]
