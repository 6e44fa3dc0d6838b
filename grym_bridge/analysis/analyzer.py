"""`analyze`: every feature of a clip from shared intermediates, as one JSON-able `Analysis`.

The order of work, and what each step shares:
1. loudness and peaks on the original samples and rate (one K-weighted power signal);
2. the mono downmix and its one STFT (`spectrum.stft_power`);
3. one onset envelope (and its low bands) -> tempo, beats, onset density;
4. two chromagrams of one band and a bass chromagram -> chords per beat and local keys (segments) from
   the folded one, the key from the one read from spectral peaks;
5. meter and the first downbeat (harmonic change and low-band accents per beat) -> the DAW tempo,
   its alternatives, the bars, the chord of every bar, the rhythm pattern;
6. the feature vector.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from grym_bridge.analysis import features, harmony, key_segments, loudness, meter, rhythm, spectrum
from grym_bridge.audio_io import Audio, load_limited

if TYPE_CHECKING:
    from grym_bridge.config import Config

Progress = Callable[[float, str], None]

#: Bump when a feature's definition, scaling or the vector layout changes.
#: 6: the key reads a chroma from spectral peaks; 5: the key also reads the chords as Roman numerals (fitted);
#: 4: key segments, producer tempo.
ANALYZER_VERSION = "6"


@dataclass
class Analysis:
    """What a clip is. Levels in dB, times in seconds, frequencies in Hz; `None` in JSON means -inf."""

    path: str | None
    duration_s: float
    sample_rate: int
    channels: int
    lufs_integrated: float
    loudness_range_lu: float
    true_peak_dbtp: float
    sample_peak_dbfs: float
    rms_dbfs: float
    crest_factor_db: float
    stereo_correlation: float
    stereo_width: float
    spectral_centroid_hz: float
    spectral_rolloff_hz: float
    spectral_flatness: float
    spectral_tilt_db_per_oct: float
    bands_db: dict[str, float]
    tempo_bpm: float  # the DAW's tempo: quarter notes per minute (in 6/8, 1.5x the dotted-quarter beat)
    tempo_confidence: float
    beats: list[float]  # the felt beats (dotted quarters in 6/8)
    onset_density: float
    key: str | None  # None: no key (drums, noise, silence)
    key_confidence: float
    chords: list[dict[str, Any]]
    rhythm_pattern: list[list[float]]
    harmonic_pattern: list[str]
    feature_vector: list[float]
    meter: str | None = None  # "4/4", "3/4" or "6/8"; None without beats
    beats_per_bar: int = 4  # felt beats per bar (2 in 6/8)
    downbeats: list[float] = field(default_factory=list)  # bar starts, from the first downbeat
    #: other readings of the tempo a DAW can offer: {"bpm", "confidence" (0..1, against the tempo's), "relation"}
    tempo_alternatives: list[dict[str, Any]] = field(default_factory=list)
    #: the keys over time, [{"start", "end", "key", "confidence"}] in seconds: one segment in one key, one per
    #: key after each modulation; `key` is the first segment's (the opening key); [] where `key` is None
    key_segments: list[dict[str, Any]] = field(default_factory=list)
    analyzer_version: str = ANALYZER_VERSION
    embedding: list[float] | None = field(default=None)


def _notify(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(fraction, message)


def _db(x: float) -> float:
    return 10.0 * math.log10(x) if x > 0 else float("-inf")


def _channel_energy(samples: np.ndarray) -> np.ndarray:
    """Sum of squares per channel; float32 BLAS dots (5x faster than float64, exact to ~1e-6 relative)."""
    return np.array([float(np.dot(ch, ch)) for ch in samples], dtype=np.float64)


def stereo_image(samples: np.ndarray, channel_energy: np.ndarray | None = None) -> tuple[float, float]:
    """(correlation, width) of the first two channels.

    Correlation is Pearson's r of left and right (1 mono, 0 unrelated, -1
    out of phase); width is the side share of mid+side energy (0 mono,
    0.5 unrelated, 1 out of phase). Mono and silent clips read (1.0, 0.0).
    `channel_energy` (sum of squares per channel) saves a pass when known.
    """
    if samples.shape[0] < 2:
        return 1.0, 0.0
    if channel_energy is None:
        channel_energy = _channel_energy(samples[:2])
    ll, rr = float(channel_energy[0]), float(channel_energy[1])
    lr = float(np.dot(samples[0], samples[1]))  # float32 BLAS: r to about 1e-5, 5x faster than float64
    if ll == 0.0 or rr == 0.0:
        return (1.0, 0.0) if ll == rr else (0.0, 0.5)
    correlation = lr / math.sqrt(ll * rr)
    mid, side = ll + rr + 2 * lr, ll + rr - 2 * lr  # 4x mid and side energy
    width = side / (mid + side) if mid + side > 0 else 0.0
    return float(np.clip(correlation, -1.0, 1.0)), float(np.clip(width, 0.0, 1.0))


def _merge_chords(labels: list[str], times: np.ndarray) -> list[dict[str, Any]]:
    """One entry per chord change: each chord lasts until the next entry's time (empty segments skipped)."""
    out: list[dict[str, Any]] = []
    keep = np.concatenate((np.diff(times) > 0, [True])) if len(times) else np.zeros(0, dtype=bool)
    for label, t, k in zip(labels, times, keep):
        if not k:
            continue
        if not out or out[-1]["chord"] != label:
            out.append({"time_s": round(float(t), 3), "chord": label})
    return out


def _bar_chords(labels: list[str], phase: int, n_beats: int, beats_per_bar: int) -> list[str]:
    """The most frequent chord of each bar (beat-segment labels include the lead-in before beat 1)."""
    per_beat = labels[1 : n_beats + 1]  # segment 0 is the time before the first beat
    bars = []
    for start in range(phase, len(per_beat) - beats_per_bar + 1, beats_per_bar):
        bar = [c for c in per_beat[start : start + beats_per_bar] if c != harmony.NO_CHORD]
        # ties go to the chord heard first in the bar (the one on the downbeat)
        bars.append(max(dict.fromkeys(bar), key=bar.count) if bar else harmony.NO_CHORD)
    return bars


_RELATIONS = {0.5: "half", 2.0: "double", 2.0 / 3.0: "two_thirds", 1.5: "three_halves"}


#: The time signatures bars can follow, as the meter class the analysis tells apart.
METER_OF_TIME_SIGNATURE = {"4/4": "4/4", "2/4": "4/4", "2/2": "4/4", "3/4": "3/4", "6/8": "6/8", "12/8": "6/8"}


def meter_class(time_signature: str | None) -> str | None:
    """The session's time signature as one of the meters the analysis tells apart (None: let it find one)."""
    if not time_signature:
        return None
    return METER_OF_TIME_SIGNATURE.get(time_signature.replace(" ", ""))


@dataclass
class BeatChroma:
    """The folded chroma, the bass chroma and the frame energy per beat segment (`harmony.beat_chroma`)."""

    chroma: np.ndarray
    bass: np.ndarray
    energy: np.ndarray  # (segments,)
    times: np.ndarray  # each segment's start, seconds
    frame_rate: float
    beats: np.ndarray

    @classmethod
    def read(cls, chroma: np.ndarray, bass: np.ndarray, frame_energy: np.ndarray, frame_rate: float,
             beats: np.ndarray) -> "BeatChroma":
        def mean(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return harmony.beat_chroma(frames, frame_rate, beats, frames.shape[0])

        seg_chroma, times = mean(chroma)
        return cls(seg_chroma, mean(bass)[0], mean(frame_energy[:, None])[0][:, 0], times, frame_rate, beats)

    def mean(self, frames: np.ndarray) -> np.ndarray:
        """The mean rows of a per-frame array over these beat segments."""
        return harmony.beat_chroma(frames, self.frame_rate, self.beats, frames.shape[0])[0]

    def labels(self, seg_chroma: np.ndarray) -> list[str]:
        """A chord per beat segment of `seg_chroma` (this clip's beats), with this bass and energy."""
        labels = harmony.label_chords(seg_chroma, self.energy, self.bass)
        if len(labels) > 1 and self.times.size > 1 and self.times[1] < 0.1:
            labels[0] = labels[1]  # a lead-in of a few frames is the first chord's attack, not a chord
        return labels


def clip_key(chroma: np.ndarray, peaks: np.ndarray, bass: np.ndarray, active: np.ndarray,
             beats: BeatChroma) -> tuple[harmony.Key, np.ndarray, list[str]]:
    """The clip's key, read from the peak chroma (its profile, its opening and ending, its chords per beat);
    the no-key gate reads the folded chroma, on which its thresholds were chosen.

    Returns the key, the peak chroma per beat segment and its chord labels (the opening key segment's
    key is read from them as well).
    """
    seg_peaks = beats.mean(peaks)
    labels = beats.labels(seg_peaks)
    key = harmony.estimate_key(peaks, active, bass, harmony.edge_chroma(seg_peaks, beats.bass), chords=labels,
                               gate_chroma=chroma)
    return key, seg_peaks, labels


def analyze(audio: Audio, *, progress: Progress | None = None, time_signature: str | None = None) -> Analysis:
    """Analyse `audio` (any rate, 1 to 8 channels); `progress(fraction, message)` is called between steps.

    `time_signature` (the session's, e.g. "3/4") fixes the meter instead of detecting it; bars,
    chords per bar and the rhythm pattern follow it.
    """
    samples, sr = audio.samples, audio.sample_rate
    _notify(progress, 0.0, "loudness")
    # 1. loudness and peaks, original rate
    energy = loudness.KWeightedEnergy(samples, sr)
    lufs = energy.integrated_lufs()
    lra = energy.loudness_range_lu()
    peak = loudness.sample_peak_dbfs(samples)
    true_peak = loudness.true_peak_dbtp(samples, sr)
    channel_energy = _channel_energy(samples)
    rms = _db(float(channel_energy.sum()) / samples.size) if samples.size else float("-inf")
    crest = peak - rms if math.isfinite(peak) and math.isfinite(rms) else 0.0
    correlation, width = stereo_image(samples, channel_energy)

    # 2. one STFT of the mono downmix
    _notify(progress, 0.25, "spectrum")
    mono = audio.mono()
    spec = spectrum.stft_power(mono, sr)
    frame_energy = spec.power.sum(axis=1)
    active = frame_energy > max(float(frame_energy.max()) * 1e-6, 1e-10)
    spectral = spectrum.spectral_features(spec, active)

    # 3. one onset envelope
    _notify(progress, 0.45, "tempo")
    env, low_env = rhythm.onset_envelopes(spec)
    density = rhythm.onset_density(env, spec.frame_rate)
    tempo = rhythm.estimate_tempo(env, spec.frame_rate, density)  # the density tells half time from slow music

    # 4. two chromas of one band (folded; from peaks) and the bass chroma of a long window at a low rate
    _notify(progress, 0.65, "key and chords")
    chroma, peaks = harmony.chromagrams(spec)
    bass = harmony.bass_chromagram(mono, sr, spec)
    beats = BeatChroma.read(chroma, bass, frame_energy * active, spec.frame_rate, tempo.beats)
    seg_chroma, seg_times = beats.chroma, beats.times
    labels = beats.labels(seg_chroma)
    key, seg_peaks, peak_labels = clip_key(chroma, peaks, bass, active, beats)
    segments = key_segments.key_segments(seg_chroma, beats.bass, seg_times, audio.duration_s, key, peak_labels,
                                         seg_peaks)

    # 5. meter: bars start where the harmony changes and the kick and bass land
    _notify(progress, 0.8, "meter and patterns")
    change = harmony.harmonic_change(seg_chroma)
    found = meter.estimate_meter(env, low_env, spec.frame_rate, tempo.beats, change, rhythm.ONSET_LAG_FRAMES,
                                 fixed=meter_class(time_signature), beat_bpm=tempo.bpm)
    has_beats = tempo.beats.size >= 2
    bpm = tempo.bpm * found.quarter_per_beat
    alternatives = [{"bpm": b, "confidence": c, "relation": _RELATIONS[f]}
                    for (b, c), f in zip(rhythm.tempo_alternatives(env, spec.frame_rate, bpm, tempo.bpm),
                                         rhythm.ALTERNATIVE_FACTORS)]
    steps = 6 if found.name == "6/8" else 4  # sixteenths: 6 per dotted quarter, 4 per quarter
    pattern = rhythm.rhythm_pattern(env, spec.frame_rate, tempo.beats, found.phase, found.beats_per_bar, steps)

    # 5. the vector
    _notify(progress, 0.92, "feature vector")
    vector = features.feature_vector(
        bands_db=spectral.bands_db, lufs=lufs, loudness_range_lu=lra, crest_factor_db=crest,
        centroid_hz=spectral.centroid_hz, rolloff_hz=spectral.rolloff_hz, flatness=spectral.flatness,
        tilt_db_per_oct=spectral.tilt_db_per_oct, correlation=correlation, width=width,
        tempo_bpm=bpm, tempo_confidence=tempo.confidence, onset_density=density,
        chroma_profile=key.profile, rhythm_pattern=pattern, key_confidence=key.confidence,
    )
    result = Analysis(
        path=str(audio.path) if audio.path is not None else None,
        duration_s=round(audio.duration_s, 6),
        sample_rate=sr,
        channels=audio.channels,
        lufs_integrated=lufs,
        loudness_range_lu=lra,
        true_peak_dbtp=true_peak,
        sample_peak_dbfs=peak,
        rms_dbfs=rms,
        crest_factor_db=crest,
        stereo_correlation=correlation,
        stereo_width=width,
        spectral_centroid_hz=spectral.centroid_hz,
        spectral_rolloff_hz=spectral.rolloff_hz,
        spectral_flatness=spectral.flatness,
        spectral_tilt_db_per_oct=spectral.tilt_db_per_oct,
        bands_db=spectral.bands_db,
        tempo_bpm=bpm,
        tempo_confidence=tempo.confidence,
        beats=[round(float(b), 4) for b in tempo.beats],
        onset_density=density,
        key=segments[0]["key"] if segments else key.name,  # the opening key (the clip's, in one key)
        key_confidence=segments[0]["confidence"] if segments else key.confidence,
        chords=_merge_chords(labels, seg_times),
        rhythm_pattern=pattern,
        harmonic_pattern=_bar_chords(labels, found.phase, tempo.beats.size, found.beats_per_bar),
        feature_vector=[float(v) for v in vector],
        meter=found.name if has_beats else None,
        beats_per_bar=found.beats_per_bar,
        downbeats=[round(float(b), 4) for b in tempo.beats[found.phase :: found.beats_per_bar]],
        tempo_alternatives=alternatives if has_beats else [],
        key_segments=segments,
    )
    _notify(progress, 1.0, "done")
    return result


def analyze_file(
    path: str | os.PathLike[str],
    config: "Config",
    *,
    embed: bool = False,
    progress: Progress | None = None,
    time_signature: str | None = None,
) -> Analysis:
    """Load `path` within `config.audio`'s limits and analyse it; `embed` adds a wav2vec2 embedding;
    `time_signature` (the session's) fixes the meter.

    The path is used as given: callers holding a client-supplied path check it
    with `PathPolicy.check` first.
    """
    audio = load_limited(Path(path), config.audio)
    scale = 0.8 if embed else 1.0

    def sub(fraction: float, message: str) -> None:
        _notify(progress, fraction * scale, message)

    result = analyze(audio, progress=sub, time_signature=time_signature)
    if embed:
        from grym_bridge.models.registry import process_budget
        from grym_bridge.models.wav2vec2 import embedder_from_config

        _notify(progress, 0.8, "embedding")
        # Under the process-wide budget, so wav2vec2 and the text-to-audio models unload each other (LRU).
        vector = embedder_from_config(config, process_budget(config)).embed(
            audio, progress=lambda f, m: _notify(progress, 0.8 + 0.2 * min(f, 0.999), m))
        result.embedding = [float(v) for v in vector]
        _notify(progress, 1.0, "done")
    return result
