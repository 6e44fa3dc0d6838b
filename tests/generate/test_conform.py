"""Conforming audio to the session: exact bar lengths, loop point, fades, loudness, rate and channels."""

from __future__ import annotations

import numpy as np
import pytest

from grym_bridge.analysis.loudness import integrated_lufs, true_peak_dbtp
from grym_bridge.errors import BadRequest
from grym_bridge.generate.conform import ConformSpec, bars_to_frames, conform, make_loop

SR_IN = 16000


def _tone(seconds: float, freq: float = 217.0, sr: int = SR_IN, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("bars,bpm,beats,sr", [(1, 120, 4, 48000), (2, 93, 4, 44100), (3, 140, 7, 48000),
                                               (4, 87.5, 3, 22050)])
def test_conformed_loop_is_exactly_whole_bars(bars: int, bpm: float, beats: int, sr: int) -> None:
    frames = bars_to_frames(bars, bpm, beats, sr)
    assert frames == round(bars * beats * 60 / bpm * sr)
    spec = ConformSpec(frames=frames, sample_rate=sr, channels=2, loop=True, target_lufs=-14)
    out = conform(_tone(spec.source_seconds()), SR_IN, spec)
    assert out.samples.shape == (2, frames) and out.samples.dtype == np.float32
    assert out.lufs == pytest.approx(-14, abs=0.3) == integrated_lufs(out.samples, sr)


def test_loop_point_is_seamless_where_a_plain_cut_clicks() -> None:
    frames = 16000
    x = _tone(1.2, freq=217.4)  # 217.4 cycles in one second: a plain cut lands mid-cycle
    hard_cut = x[:frames]
    loop = make_loop(x[np.newaxis, :], frames, crossfade=800)[0]
    typical_step = np.abs(np.diff(hard_cut)).max()
    assert abs(hard_cut[0] - hard_cut[-1]) > 2 * typical_step  # the click a plain cut leaves
    assert abs(loop[0] - loop[-1]) <= 1.05 * typical_step  # the loop's wrap-around is a normal step


def test_one_shot_fades_in_and_out() -> None:
    spec = ConformSpec(frames=24000, sample_rate=48000, channels=1, loop=False, target_lufs=None)
    out = conform(_tone(1.0, amp=0.5), SR_IN, spec)
    assert out.samples.shape == (1, 24000) and out.gain_db == 0.0
    assert abs(out.samples[0, 0]) < 1e-3 and abs(out.samples[0, -1]) < 1e-3
    assert np.abs(out.samples[0, 8000:16000]).max() == pytest.approx(0.5, abs=0.02)


def test_loudness_never_pushes_peaks_over_the_ceiling() -> None:
    clicks = np.zeros(SR_IN * 2, dtype=np.float32)
    clicks[:: SR_IN // 4] = 0.5  # four sparse clicks a second: very loud peaks for their loudness
    spec = ConformSpec(frames=48000 * 2, sample_rate=48000, channels=2, loop=False, target_lufs=-6)
    out = conform(clicks, SR_IN, spec)
    assert true_peak_dbtp(out.samples, 48000) <= -1.0 + 0.1
    assert out.lufs < -6


def test_silence_stays_silent_and_bad_audio_is_refused() -> None:
    spec = ConformSpec(frames=16000, sample_rate=16000, channels=2, loop=True)
    out = conform(np.zeros(20000, dtype=np.float32), SR_IN, spec)
    assert out.gain_db == 0.0 and not out.samples.any()
    with pytest.raises(BadRequest, match="non-finite"):
        conform(np.full(20000, np.nan, dtype=np.float32), SR_IN, spec)
    with pytest.raises(BadRequest, match="^bars:"):
        bars_to_frames(0, 120, 4, 48000)


def test_short_model_output_is_repeated_to_the_full_length() -> None:
    spec = ConformSpec(frames=32000, sample_rate=16000, channels=1, loop=True, target_lufs=None)
    out = conform(_tone(0.75), SR_IN, spec)
    assert out.samples.shape == (1, 32000) and np.abs(out.samples[0, -4000:]).max() > 0.2


def test_mono_measured_once_reads_as_the_written_stereo_file() -> None:
    """Loudness and true peak are measured on the mono signal before the copy to stereo: exactly the file's."""
    rng = np.random.default_rng(5)
    noisy = (_tone(2.2) + 0.05 * rng.standard_normal(int(2.2 * SR_IN))).astype(np.float32)
    spec = ConformSpec(frames=96000, sample_rate=48000, channels=2, target_lufs=-16)
    out = conform(noisy, SR_IN, spec)
    assert out.samples.shape == (2, 96000) and np.array_equal(out.samples[0], out.samples[1])
    assert out.lufs == pytest.approx(integrated_lufs(out.samples, 48000), abs=1e-3)
    assert out.lufs == pytest.approx(-16, abs=0.01)
    assert out.true_peak_dbtp == pytest.approx(true_peak_dbtp(out.samples, 48000), abs=1e-3)


@pytest.mark.parametrize("sr", [48000, 96000])
def test_true_peak_in_torch_matches_the_analysis(sr: int) -> None:
    """The torch true peak (run on a GPU by conform) agrees with analysis.loudness; checked here on the CPU."""
    from grym_bridge.generate.conform import true_peak_dbtp_torch

    t = np.arange(sr // 2) / sr
    # a sine at fs/4 sampled off its crest: the samples miss the peak that the interpolation finds
    x = (0.5 * np.sin(2 * np.pi * (sr / 4) * t + np.pi / 4)).astype(np.float32)[np.newaxis, :]
    expected = true_peak_dbtp(x, sr)
    assert expected > 20 * np.log10(np.abs(x).max()) + 1.0
    assert true_peak_dbtp_torch(x, sr, "cpu") == pytest.approx(expected, abs=1e-3)
    assert true_peak_dbtp_torch(np.zeros((1, 100), np.float32), sr, "cpu") == float("-inf")


@pytest.mark.parametrize("sr,loop", [(48000, False), (48000, True), (96000, True), (44100, False)])
def test_gpu_conform_agrees_with_the_host_conform(sr: int, loop: bool) -> None:
    """conform_gpu (run by generate on a GPU; here through torch on the CPU) gives the host path's clip."""
    import torch

    from grym_bridge.generate.conform_gpu import conform_batch

    rng = np.random.default_rng(7)
    clip = (_tone(2.3) + _tone(2.3, 3000.0, amp=0.1) + 0.002 * rng.standard_normal(int(2.3 * SR_IN))).astype(np.float32)
    spec = ConformSpec(frames=2 * sr, sample_rate=sr, channels=2, loop=loop, target_lufs=-16)
    host = conform(clip, SR_IN, spec)
    quiet, loud = conform_batch(torch.from_numpy(np.stack([0.1 * clip, clip])), SR_IN, spec)
    for out in (quiet, loud):  # each row gets its own gain: both end at the target
        assert out.samples.shape == (2, 2 * sr) and out.lufs == pytest.approx(host.lufs, abs=0.01)
        assert out.true_peak_dbtp == pytest.approx(host.true_peak_dbtp, abs=0.05)
        err = np.sqrt(np.mean((out.samples[0] - host.samples[0]) ** 2) / np.mean(host.samples[0] ** 2))
        assert err < 1e-3  # soxr and the windowed sinc agree inside the band (they part near Nyquist)
    assert quiet.gain_db == pytest.approx(loud.gain_db + 20.0, abs=1e-3)
    # The PCM bytes are the samples, interleaved, to 24 bits; the file they make reads at the reported loudness.
    raw = np.frombuffer(loud.pcm24, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
    pcm = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
    pcm = np.where(pcm >= 1 << 23, pcm - (1 << 24), pcm).reshape(-1, 2).T / float(1 << 23)
    assert np.abs(pcm - loud.samples).max() <= 1.0 / (1 << 23)
    assert integrated_lufs(pcm, sr) == pytest.approx(loud.lufs, abs=1e-3)


def test_gpu_conform_refuses_bad_audio_and_writes_a_readable_wav(tmp_path) -> None:
    import soundfile as sf
    import torch

    from grym_bridge.audio_io import write_wav_pcm24
    from grym_bridge.generate.conform_gpu import conform_batch

    spec = ConformSpec(frames=48000, sample_rate=48000, channels=2)
    bad = torch.from_numpy(np.stack([_tone(1.2), _tone(1.2)]))
    bad[1, 100] = float("nan")
    with pytest.raises(BadRequest, match="non-finite"):
        conform_batch(bad, SR_IN, spec)
    with pytest.raises(BadRequest, match="non-finite"):
        conform_batch(torch.zeros(1, 0), SR_IN, spec)
    out = conform_batch(torch.from_numpy(_tone(1.2)), SR_IN, spec)[0]
    path = write_wav_pcm24(tmp_path / "a.wav", out.pcm24, 2, 48000)
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    info = sf.info(path)
    assert rate == 48000 and info.subtype == "PCM_24" and data.shape == (48000, 2)
    assert np.abs(data.T - out.samples).max() <= 1.0 / (1 << 23)
    with pytest.raises(BadRequest, match="whole number"):
        write_wav_pcm24(tmp_path / "b.wav", out.pcm24[:-1], 2, 48000)
    with pytest.raises(BadRequest, match=".wav"):
        write_wav_pcm24(tmp_path / "b.flac", out.pcm24, 2, 48000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]  # nothing half-written is left behind
