"""The whole analysis: its JSON contract, spectral and stereo features with known answers, the vector."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grym_bridge.analysis import ANALYZER_VERSION, BANDS, FEATURE_DIM, analyze, analyze_file
from grym_bridge.audio_io import Audio, write_audio
from grym_bridge.errors import AudioFileError
from grym_bridge.results import dumps
from tests.synth import chord_progression, correlated_noise, drum_loop, mix, pink_noise, sine

REQUIRED_KEYS = {
    "path", "duration_s", "sample_rate", "channels", "lufs_integrated", "loudness_range_lu", "true_peak_dbtp",
    "sample_peak_dbfs", "rms_dbfs", "crest_factor_db", "stereo_correlation", "stereo_width",
    "spectral_centroid_hz", "spectral_rolloff_hz", "spectral_flatness", "spectral_tilt_db_per_oct", "bands_db",
    "tempo_bpm", "tempo_confidence", "beats", "onset_density", "key", "key_confidence", "chords",
    "rhythm_pattern", "harmonic_pattern", "feature_vector", "analyzer_version", "embedding",
    "meter", "beats_per_bar", "downbeats", "tempo_alternatives", "key_segments",
}


def test_analyze_file_json_has_the_contract_keys_and_reports_progress(config, tmp_path: Path) -> None:
    clip = mix(chord_progression("D minor", bpm=96, bars=4), drum_loop(96, 4))
    path = write_audio(tmp_path / "loop.flac", Audio(np.vstack([clip.samples, clip.samples * 0.5]), 44100))
    seen: list[tuple[float, str]] = []
    result = analyze_file(path, config, progress=lambda f, m: seen.append((f, m)))
    data = json.loads(dumps(result))
    assert REQUIRED_KEYS <= set(data)
    assert data["path"] == str(path) and data["channels"] == 2 and data["sample_rate"] == 44100
    assert data["analyzer_version"] == ANALYZER_VERSION and data["embedding"] is None
    assert set(data["bands_db"]) == set(BANDS)
    assert all(set(c) == {"time_s", "chord"} for c in data["chords"])
    assert [s["key"] for s in data["key_segments"]] == [data["key"]]  # one key, one segment, as JSON
    assert set(data["key_segments"][0]) == {"start", "end", "key", "confidence"}
    assert len(data["feature_vector"]) == FEATURE_DIM
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    # a stereo copy at half level: fully correlated, narrow
    assert data["stereo_correlation"] == pytest.approx(1.0, abs=1e-4)


def test_analyze_file_applies_the_configured_limits(config, tmp_path: Path) -> None:
    path = write_audio(tmp_path / "long.wav", sine(duration_s=3.0))
    config.audio.max_duration_s = 2.0
    with pytest.raises(AudioFileError, match="audio.max_duration_s"):
        analyze_file(path, config)


@pytest.mark.parametrize("rho", [-0.8, 0.0, 0.3, 0.9])
def test_stereo_correlation_and_width_of_correlated_noise(rho: float) -> None:
    result = analyze(correlated_noise(rho, 2.0))
    assert result.stereo_correlation == pytest.approx(rho, abs=0.01)
    # width = side / (mid + side) = (1 - r) / 2 for equal-level channels
    assert result.stereo_width == pytest.approx((1 - rho) / 2, abs=0.01)


def test_mono_reads_as_correlation_one_width_zero() -> None:
    result = analyze(sine(440.0, 1.0))
    assert (result.stereo_correlation, result.stereo_width) == (1.0, 0.0)


@pytest.mark.parametrize("freq,band", [(40.0, "sub"), (120.0, "low"), (1000.0, "mid"), (5000.0, "presence"),
                                       (12000.0, "air")])
def test_a_sine_lands_in_its_band_at_its_level(freq: float, band: str) -> None:
    result = analyze(sine(freq, 2.0, amplitude=0.5))
    assert result.spectral_centroid_hz == pytest.approx(freq, rel=0.03)
    assert result.bands_db[band] == pytest.approx(-6.02, abs=0.5)
    others = [v for name, v in result.bands_db.items() if name != band]
    assert max(others) < -30.0  # the window leaks a 40 Hz sine a little into "low"
    assert result.sample_peak_dbfs == pytest.approx(-6.02, abs=0.01)
    assert result.rms_dbfs == pytest.approx(-9.03, abs=0.05)
    assert result.crest_factor_db == pytest.approx(3.01, abs=0.05)


def test_spectral_tilt_flatness_and_rolloff_of_noises() -> None:
    pink = analyze(pink_noise(4.0, lufs=-20.0))
    rng = np.random.default_rng(3)
    white = analyze(Audio((rng.standard_normal((1, 44100 * 4)) * 0.1).astype(np.float32), 44100))
    tone = analyze(sine(1000.0, 2.0))
    assert pink.spectral_tilt_db_per_oct == pytest.approx(-3.0, abs=0.5)
    assert white.spectral_tilt_db_per_oct == pytest.approx(0.0, abs=0.5)
    assert white.spectral_flatness > 0.5 > 0.01 > tone.spectral_flatness
    assert white.spectral_rolloff_hz > pink.spectral_rolloff_hz
    assert pink.lufs_integrated == pytest.approx(-20.0, abs=0.1)


def test_any_sample_rate_and_up_to_eight_channels() -> None:
    for sr in (8000, 22050, 96000):
        result = analyze(sine(440.0, 2.0, sr=sr, amplitude=0.5, channels=2))
        assert result.sample_rate == sr and result.spectral_centroid_hz == pytest.approx(440.0, rel=0.03)
    eight = analyze(Audio(np.tile(sine(440.0, 1.0).samples, (8, 1)), 44100))
    assert eight.channels == 8 and np.isfinite(eight.lufs_integrated)


def test_feature_vector_is_unit_length_and_puts_alike_clips_together() -> None:
    a = analyze(mix(drum_loop(120, 4), chord_progression("A minor", bpm=120, bars=4)))
    b = analyze(mix(drum_loop(122, 4, seed=5), chord_progression("A minor", bpm=122, bars=4)))
    c = analyze(pink_noise(4.0, lufs=-30.0))
    for r in (a, b, c):
        assert np.linalg.norm(r.feature_vector) == pytest.approx(1.0, abs=1e-5)
    va, vb, vc = (np.array(r.feature_vector) for r in (a, b, c))
    assert va @ vb > va @ vc + 0.2


def test_silence_serialises_without_nan() -> None:
    result = analyze(Audio(np.zeros((2, 44100), dtype=np.float32), 44100))
    text = dumps(result)
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert data["lufs_integrated"] is None and data["key"] is None and data["chords"] == [{"time_s": 0.0, "chord": "N"}]


def test_concurrent_analyses_match_sequential_ones() -> None:
    """The job queue runs analyses in worker threads at once: no shared state may leak between them."""
    from concurrent.futures import ThreadPoolExecutor

    clips = [chord_progression("F major", bpm=105, bars=2), drum_loop(131, 2), sine(330.0, 2.0, sr=48000)]
    alone = [dumps(analyze(c)) for c in clips]
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(lambda c: dumps(analyze(c)), clips * 2))
    assert together == alone * 2
