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
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from grym_bridge.analysis.meter import MAX_COMPOUND_BEAT_BPM
from grym_bridge.analysis.spectrum import Spectrogram, bank_bins

MIN_BPM = 60.0
MAX_BPM = 200.0
_PRIOR_BPM = 115.0
_PRIOR_OCTAVES = 1.0
_TIGHTNESS = 100.0
_SLOW_BPM = 95.0  # below this a reading is slow: a half-time or 3/4 reading of a faster pulse
#: The envelope peaks about one hop before the onset: the frame whose window
#: first takes in most of a hit is centred that much earlier (measured on clicks).
ONSET_LAG_FRAMES = 1.0


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


#: Onset bands centred below this feed the low-band envelope (kick and bass: where bars start).
LOW_BAND_HZ = 200.0


def onset_envelopes(spec: Spectrogram) -> tuple[np.ndarray, np.ndarray]:
    """Onset strength per STFT frame (float64, >= 0): mean positive change of log band energy, over
    all bands and over the bands below `LOW_BAND_HZ`."""
    bands = _onset_bands(spec.sample_rate, spec.n_fft)
    lo, hi = bank_bins(bands)
    energy = spec.power[:, lo:hi] @ bands[lo:hi]  # only the bins in a band: half the work
    floor = max(float(energy.max()) * 1e-8, 1e-12)
    log_e = 10.0 * np.log10(np.maximum(energy, floor))
    # the first frame is compared with the quietest moment of each band, so a clip
    # that starts on a hit has an onset at 0 rather than none
    previous = np.concatenate((log_e.min(axis=0, keepdims=True), log_e[:-1]))
    rise = np.maximum(0.0, log_e - previous)
    edges = np.geomspace(40.0, min(11000.0, spec.sample_rate / 2.0), rise.shape[1] + 2)
    n_low = max(1, int(np.sum(edges[1:-1] < LOW_BAND_HZ)))
    return rise.mean(axis=1).astype(np.float64), rise[:, :n_low].mean(axis=1).astype(np.float64)


def onset_envelope(spec: Spectrogram) -> np.ndarray:
    """Onset strength per STFT frame over all bands (see `onset_envelopes`)."""
    return onset_envelopes(spec)[0]


@dataclass
class Tempo:
    bpm: float
    confidence: float
    beats: np.ndarray  # seconds
    #: other readings of the same pulse: (bpm, relative comb strength 0..1), e.g. half and double
    alternatives: list[tuple[float, float]] = field(default_factory=list)


def _autocorrelation(env: np.ndarray) -> np.ndarray:
    x = env - env.mean()
    n = x.size
    spec = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spec.real**2 + spec.imag**2)[:n]
    return ac / ac[0] if ac[0] > 0 else np.zeros(n)


def _comb(ac: np.ndarray, frame_rate: float, bpms: np.ndarray) -> np.ndarray:
    """The comb sum (the period and its multiples, weighted 1/k) of the autocorrelation at `bpms`."""
    lags = 60.0 * frame_rate / bpms
    idx = np.arange(ac.size)
    score = np.zeros_like(bpms, dtype=np.float64)
    for k in range(1, 5):
        ok = k * lags < ac.size - 1
        score[ok] += np.interp(k * lags[ok], idx, ac) / k
    return score


def _comb_tempo(ac: np.ndarray, frame_rate: float, onsets_per_s: float) -> tuple[float, float]:
    """(bpm, confidence) maximising the prior-weighted comb sum of the autocorrelation, then moved to
    the metrical level a producer counts (see `_producer_level`)."""
    bpms = np.arange(MIN_BPM, MAX_BPM, 0.05)
    lags = 60.0 * frame_rate / bpms
    score = _comb(ac, frame_rate, bpms)
    prior = np.exp(-0.5 * (np.log2(bpms / _PRIOR_BPM) / _PRIOR_OCTAVES) ** 2)
    best = int(np.argmax(score * prior))
    bpm = _producer_level(ac, float(bpms[best]), float(lags[best]), onsets_per_s)
    confidence = float(np.clip(np.interp(60.0 * frame_rate / bpm, np.arange(ac.size), ac), 0.0, 1.0))
    return bpm, confidence


#: Settings of `_producer_level`, chosen on the tune part of bench/evalset.py and on trap loops,
#: cinematic loops, fiddle reels and fast 3/4 songs rendered outside it.
_DOUBLE_RATIO = 0.95  # the half period this regular against the period: the faster pulse is the beat
_MIN_DOUBLE_LEVEL = 0.2  # ... and a periodicity at all (autocorrelation), not noise between two weak ones
_HALF_TIME_LEVEL = 0.15  # a slow reading whose sixteenths repeat this strongly ...
_HALF_TIME_ONSETS = 4.0  # ... and are played (onsets per beat): half time over the faster pulse
_TRIPLE_BAR = 1.15  # a 1.5-period periodicity this much stronger than the period's: the pulse groups in 3
_TRIPLE_HALF = 0.5  # ... and the half period at least this much of the period's (the faster pulse is there)
_MIN_ONSETS_PER_BEAT = 0.75  # fewer onsets per beat than this: most beats are silent, the beat is too fast
_TERNARY_THIRD = 0.2  # a reading above any dotted quarter whose thirds repeat this strongly ...


def _producer_level(ac: np.ndarray, bpm: float, lag: float, onsets_per_s: float) -> float:
    """The metrical level a producer's DAW would count, from the comb's reading `bpm` (period `lag`
    frames) and the onsets per second.

    The comb cannot tell a pulse from its half-speed reading (a 180 BPM click also repeats every 2
    beats), so the reading moves up an octave when:
    - something happens halfway through the period nearly as regularly as on it; slow music with
      eighth-note motion and fiddle reels in running eighths also repeat every half beat, so the bar
      is high (a reel at 96 is not 192);
    - a slow reading repeats strongly at its sixteenths and plays them: a half-time feel (trap's
      snare on 3) over hi-hats in eighths of the faster pulse, which is what the producer set
      (trap at 140, not 70; a ballad's eighth-note line does not reach its sixteenths);
    - a slow reading's one-and-a-half period repeats more strongly than the period itself: the
      faster pulse groups in threes (3/4), and no bar holds a whole number of the slow reading's beats.
    It moves down an octave when fewer onsets than beats come (slow chords and toms read at double
    time: most beats silent). A reading above any dotted quarter (`MAX_COMPOUND_BEAT_BPM`) that
    divides in three and not in two is three sixteenths of a reel or hornpipe: its quarter note is
    four sixteenths (x 3/4; the 4/3 error).
    """
    idx = np.arange(ac.size)

    def at(x: float) -> float:
        return float(np.interp(x, idx, ac))

    one, half = at(lag), at(lag / 2)
    per_beat = onsets_per_s * 60.0 / bpm
    if 2 * bpm < MAX_BPM:
        if half >= max(_DOUBLE_RATIO * one, _MIN_DOUBLE_LEVEL):
            return 2 * bpm
        if bpm < _SLOW_BPM and at(lag / 4) >= _HALF_TIME_LEVEL and per_beat >= _HALF_TIME_ONSETS:
            return 2 * bpm
        if bpm < _SLOW_BPM and at(1.5 * lag) > _TRIPLE_BAR * one and half >= max(_TRIPLE_HALF * one, _MIN_DOUBLE_LEVEL):
            return 2 * bpm
    if bpm / 2 >= MIN_BPM and per_beat < _MIN_ONSETS_PER_BEAT:
        return bpm / 2
    if bpm > MAX_COMPOUND_BEAT_BPM and at(lag / 3) >= _TERNARY_THIRD and half < 0:
        return 0.75 * bpm
    return bpm


#: The readings a DAW offers next to the tempo: half, double, and the 2/3 and 3/2 of a
#: compound or triple pulse.
ALTERNATIVE_FACTORS = (0.5, 2.0, 2.0 / 3.0, 1.5)


def tempo_alternatives(env: np.ndarray, frame_rate: float, bpm: float, pulse_bpm: float | None = None
                       ) -> list[tuple[float, float]]:
    """(bpm, strength 0..1) for each of `ALTERNATIVE_FACTORS` times `bpm`: the comb score of that
    reading over the score of the pulse the beats follow (`pulse_bpm`, `bpm` unless a 6/8 beat)."""
    if bpm <= 0 or env.size < 8:
        return []
    ac = _autocorrelation(env)
    cands = np.array([bpm * f for f in ALTERNATIVE_FACTORS] + [pulse_bpm or bpm])
    score = np.maximum(_comb(ac, frame_rate, np.clip(cands, 20.0, 400.0)), 0.0)
    ref = score[-1] if score[-1] > 0 else 1.0
    return [(round(float(c), 2), round(float(np.clip(v / ref, 0.0, 1.0)), 3)) for c, v in zip(cands[:-1], score[:-1])]


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
    # cum[t] depends only on cum[t - hi .. t - lo]: a block of `lo` frames needs nothing computed
    # inside it, so each block is one vectorised step (12x fewer Python iterations, same result)
    for t0 in range(lo, n, lo):
        t = np.arange(t0, min(t0 + lo, n))
        prev = t[:, None] - offsets[None, :]
        cand = np.where(prev >= 0, cum[np.maximum(prev, 0)] + penalty[None, :], -np.inf)
        j = np.argmax(cand, axis=1)
        rows = np.arange(t.size)
        best = cand[rows, j]
        ok = best > 0
        cum[t[ok]] = local[t[ok]] + best[ok]
        back[t[ok]] = prev[rows, j][ok]
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


def estimate_tempo(env: np.ndarray, frame_rate: float, onsets_per_s: float | None = None) -> Tempo:
    """Global tempo (BPM), its confidence (0..1) and beat times in seconds; `onsets_per_s` (`onset_density`
    of `env`) is computed here when the caller has not already."""
    if env.size < 8 or not np.any(env > 0):
        return Tempo(0.0, 0.0, np.zeros(0))
    ac = _autocorrelation(env)
    density = onset_density(env, frame_rate) if onsets_per_s is None else onsets_per_s
    bpm, confidence = _comb_tempo(ac, frame_rate, density)
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


def rhythm_pattern(env: np.ndarray, frame_rate: float, beats: np.ndarray, phase: int, beats_per_bar: int = 4,
                   steps_per_beat: int = 4) -> list[list[float]]:
    """Onset strength (0..1) on a grid of `steps_per_beat` per beat, one list per bar of `beats_per_bar`
    beats starting at beat `phase` (16 steps in 4/4, 12 in 3/4, 12 in 6/8: sixteenths or eighths)."""
    if beats.size < beats_per_bar + 1 or env.max() <= 0:
        return []
    norm = _normalised(env)
    beats = beats - ONSET_LAG_FRAMES / frame_rate  # back onto the envelope's frames
    # grid positions between consecutive beats
    frac = np.arange(steps_per_beat) / steps_per_beat
    grid = (beats[:-1, None] + np.diff(beats)[:, None] * frac).ravel() * frame_rate
    # the strongest frame within half a step of each grid point
    step = max(1, int(round(np.median(np.diff(beats)) * frame_rate / steps_per_beat / 2)))
    centres = np.clip(np.round(grid).astype(int), 0, env.size - 1)
    window = np.clip(centres[:, None] + np.arange(-step // 2, step // 2 + 1), 0, env.size - 1)
    values = norm[window].max(axis=1)
    per_bar = steps_per_beat * beats_per_bar
    start = phase * steps_per_beat
    usable = (values.size - start) // per_bar
    bars = values[start : start + usable * per_bar].reshape(usable, per_bar) if usable > 0 else np.zeros((0, per_bar))
    return [[round(float(v), 3) for v in bar] for bar in bars]
