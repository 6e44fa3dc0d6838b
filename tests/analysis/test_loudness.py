"""Loudness against the standards' own test signals and against pyloudnorm; peaks against known sines."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from grym_bridge.analysis import loudness
from grym_bridge.results import to_jsonable
from tests.synth import drum_loop, pink_noise, sine


@pytest.mark.parametrize("sr", [44100, 48000])
def test_ebu_tech_3341_case_1_stereo_sine_at_minus_23_dbfs_is_minus_23_lufs(sr: int) -> None:
    audio = sine(1000.0, 20.0, sr=sr, amplitude=10 ** (-23 / 20), channels=2)
    assert loudness.integrated_lufs(audio.samples, sr) == pytest.approx(-23.0, abs=0.1)


def test_bs1770_full_scale_997_hz_in_one_channel_is_minus_3_01_lufs() -> None:
    audio = sine(997.0, 5.0, sr=48000, amplitude=1.0)
    assert loudness.integrated_lufs(audio.samples, 48000) == pytest.approx(-3.01, abs=0.05)


@pytest.mark.parametrize("target,sr,channels", [(-14.0, 44100, 2), (-23.0, 48000, 2), (-31.0, 96000, 1)])
def test_pink_noise_matches_pyloudnorm_and_its_target(target: float, sr: int, channels: int) -> None:
    audio = pink_noise(6.0, lufs=target, sr=sr, channels=channels, seed=int(-target))
    ours = loudness.integrated_lufs(audio.samples, sr)
    reference = pyloudnorm.Meter(sr).integrated_loudness(audio.samples.T.astype(np.float64))
    assert ours == pytest.approx(reference, abs=0.05)
    assert ours == pytest.approx(target, abs=0.1)


def test_gating_ignores_silence_and_matches_pyloudnorm_on_drums() -> None:
    drums = drum_loop(100.0, 4)
    padded = np.concatenate([drums.samples, np.zeros_like(drums.samples)], axis=1)
    sr = drums.sample_rate
    alone = loudness.integrated_lufs(drums.samples, sr)
    # silence is gated out, so half a clip of silence changes almost nothing
    assert loudness.integrated_lufs(padded, sr) == pytest.approx(alone, abs=0.5)
    reference = pyloudnorm.Meter(sr).integrated_loudness(padded.T.astype(np.float64))
    assert loudness.integrated_lufs(padded, sr) == pytest.approx(reference, abs=0.1)


def test_silence_is_minus_infinity_and_serialises_as_null() -> None:
    quiet = np.zeros((2, 48000), dtype=np.float32)
    value = loudness.integrated_lufs(quiet, 48000)
    assert value == float("-inf")
    assert to_jsonable({"lufs": value}) == {"lufs": None}
    assert loudness.sample_peak_dbfs(quiet) == float("-inf")
    assert loudness.true_peak_dbtp(quiet, 48000) == float("-inf")


def test_ebu_tech_3342_loudness_range_of_a_10_db_step_is_10_lu() -> None:
    sr = 16000
    loud = sine(1000.0, 20.0, sr=sr, amplitude=10 ** (-20 / 20), channels=2).samples
    soft = sine(1000.0, 20.0, sr=sr, amplitude=10 ** (-30 / 20), channels=2).samples
    lra = loudness.loudness_range_lu(np.concatenate([loud, soft], axis=1), sr)
    assert lra == pytest.approx(10.0, abs=1.0)
    assert loudness.loudness_range_lu(loud, sr) == pytest.approx(0.0, abs=0.1)


def test_sample_peak_of_a_half_scale_sine_is_minus_6_dbfs() -> None:
    assert loudness.sample_peak_dbfs(sine(100.0, 1.0, amplitude=0.5).samples) == pytest.approx(-6.02, abs=0.01)


def _faded_quarter_rate_sine(sr: int) -> np.ndarray:
    """fs/4 at 45 degrees: every sample sits at 0.707 of the crest, the crests fall between samples."""
    n = np.arange(sr)
    x = np.sin(np.pi / 2 * n + np.pi / 4) * np.minimum(1.0, np.minimum(n, n[::-1]) / 4000.0)
    return x.astype(np.float32)[None, :]


def test_true_peak_finds_the_crest_between_samples() -> None:
    x = _faded_quarter_rate_sine(48000)
    assert loudness.sample_peak_dbfs(x) == pytest.approx(-3.01, abs=0.01)
    assert loudness.true_peak_dbtp(x, 48000) == pytest.approx(0.0, abs=0.3)


def test_true_peak_of_a_low_sine_equals_its_sample_peak() -> None:
    x = sine(100.0, 1.0, amplitude=0.5).samples
    assert loudness.true_peak_dbtp(x, 44100) == pytest.approx(-6.02, abs=0.02)


def _full_oversampling_peak(x: np.ndarray) -> float:
    """The same interpolator applied at every position, with no skipping."""
    w = loudness._interpolator(4)
    best = float(np.max(np.abs(x)))
    for ch in x.astype(np.float64):
        padded = np.pad(ch, (5, 6))
        frames = np.lib.stride_tricks.sliding_window_view(padded, 12)
        best = max(best, float(np.max(np.abs(frames @ w))))
    return 20 * np.log10(best)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_skipping_quiet_chunks_never_changes_the_true_peak(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((2, 140000)) * 0.05).astype(np.float32)
    # a few hot spots in otherwise quiet material, one straddling a block boundary (65536),
    # plus a hard-clipped burst
    x[0, 10000:10020] *= 15
    x[0, 65530 + seed : 65545 + seed] *= 16
    x[1, 41000:43000] = np.clip(x[1, 41000:43000] * 40, -0.9, 0.9)
    ours = loudness.true_peak_dbtp(x, 44100)
    assert ours == pytest.approx(_full_oversampling_peak(x), abs=1e-3)
    assert ours >= loudness.sample_peak_dbfs(x)


def test_k_weighting_at_48k_matches_the_coefficients_in_bs1770() -> None:
    sos = loudness.k_weighting_sos(48000)
    np.testing.assert_allclose(sos[0, :3], [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-8)
    np.testing.assert_allclose(sos[0, 4:], [-1.69065929318241, 0.73248077421585], atol=1e-8)
    np.testing.assert_allclose(sos[1, 4:], [-1.99004745483398, 0.99007225036621], atol=1e-8)
