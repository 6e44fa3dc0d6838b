"""`analyze`: every feature of a clip from shared intermediates, as one JSON-able `Analysis`.

The order of work, and what each step shares:
1. loudness and peaks on the original samples and rate (one K-weighted power signal);
2. the mono downmix and its one STFT (`spectrum.stft_power`);
3. one onset envelope -> tempo, beats, onset density (and, with 4, the rhythm pattern);
4. one chromagram -> key, chords per beat, the downbeat (harmonic change), the chord of every bar;
5. the feature vector.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from grym_bridge.analysis import features, harmony, loudness, rhythm, spectrum
from grym_bridge.audio_io import Audio, load_limited

if TYPE_CHECKING:
    from grym_bridge.config import Config

Progress = Callable[[float, str], None]

#: Bump when a feature's definition, scaling or the vector layout changes.
ANALYZER_VERSION = "2"  # 2: level-weighted chroma, Albrecht-Shanahan keys, power-density tilt


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
    tempo_bpm: float
    tempo_confidence: float
    beats: list[float]
    onset_density: float
    key: str
    key_confidence: float
    chords: list[dict[str, Any]]
    rhythm_pattern: list[list[float]]
    harmonic_pattern: list[str]
    feature_vector: list[float]
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


def _bar_chords(labels: list[str], phase: int, n_beats: int) -> list[str]:
    """The most frequent chord of each 4/4 bar (beat-segment labels include the lead-in before beat 1)."""
    per_beat = labels[1 : n_beats + 1]  # segment 0 is the time before the first beat
    bars = []
    for start in range(phase, len(per_beat) - 3, 4):
        bar = [c for c in per_beat[start : start + 4] if c != harmony.NO_CHORD]
        bars.append(max(set(bar), key=bar.count) if bar else harmony.NO_CHORD)
    return bars


def analyze(audio: Audio, *, progress: Progress | None = None) -> Analysis:
    """Analyse `audio` (any rate, 1 to 8 channels); `progress(fraction, message)` is called between steps."""
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
    spec = spectrum.stft_power(audio.mono(), sr)
    frame_energy = spec.power.sum(axis=1)
    active = frame_energy > max(float(frame_energy.max()) * 1e-6, 1e-10)
    spectral = spectrum.spectral_features(spec, active)

    # 3. one onset envelope
    _notify(progress, 0.45, "tempo")
    env = rhythm.onset_envelope(spec)
    tempo = rhythm.estimate_tempo(env, spec.frame_rate)
    density = rhythm.onset_density(env, spec.frame_rate)

    # 4. one chromagram
    _notify(progress, 0.7, "key, chords and patterns")
    chroma = harmony.chromagram(spec)
    key = harmony.estimate_key(chroma, active)
    seg_chroma, seg_times = harmony.beat_chroma(chroma, spec.frame_rate, tempo.beats, chroma.shape[0])
    seg_energy, _ = harmony.beat_chroma((frame_energy * active)[:, None], spec.frame_rate, tempo.beats,
                                        chroma.shape[0])
    labels = harmony.label_chords(seg_chroma, seg_energy[:, 0])
    # bars start where the harmony changes (and the kick lands)
    change = harmony.harmonic_change(seg_chroma)
    strength = rhythm.beat_strength(env, spec.frame_rate, tempo.beats)
    phase = rhythm.downbeat_phase(strength, change)
    pattern = rhythm.rhythm_pattern(env, spec.frame_rate, tempo.beats, phase)

    # 5. the vector
    _notify(progress, 0.9, "feature vector")
    vector = features.feature_vector(
        bands_db=spectral.bands_db, lufs=lufs, loudness_range_lu=lra, crest_factor_db=crest,
        centroid_hz=spectral.centroid_hz, rolloff_hz=spectral.rolloff_hz, flatness=spectral.flatness,
        tilt_db_per_oct=spectral.tilt_db_per_oct, correlation=correlation, width=width,
        tempo_bpm=tempo.bpm, tempo_confidence=tempo.confidence, onset_density=density,
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
        tempo_bpm=tempo.bpm,
        tempo_confidence=tempo.confidence,
        beats=[round(float(b), 4) for b in tempo.beats],
        onset_density=density,
        key=key.name,
        key_confidence=key.confidence,
        chords=_merge_chords(labels, seg_times),
        rhythm_pattern=pattern,
        harmonic_pattern=_bar_chords(labels, phase, tempo.beats.size),
        feature_vector=[float(v) for v in vector],
    )
    _notify(progress, 1.0, "done")
    return result


def analyze_file(
    path: str | os.PathLike[str],
    config: "Config",
    *,
    embed: bool = False,
    progress: Progress | None = None,
) -> Analysis:
    """Load `path` within `config.audio`'s limits and analyse it; `embed` adds a wav2vec2 embedding.

    The path is used as given: callers holding a client-supplied path check it
    with `PathPolicy.check` first.
    """
    audio = load_limited(Path(path), config.audio)
    scale = 0.8 if embed else 1.0

    def sub(fraction: float, message: str) -> None:
        _notify(progress, fraction * scale, message)

    result = analyze(audio, progress=sub)
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
