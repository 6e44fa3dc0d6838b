"""Chunked offline rendering: equal to one whole-array call, tails kept, A/B matched, nothing partial."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pedalboard
import pyloudnorm
import pytest
import soundfile as sf

from plugin_host import AudioError, ChainError, RenderOptions, StreamingLoudness, render_file
from tests.plugin_host.helpers import SR, noise, read, write

CHAIN = [
    {"plugin": "HighpassFilter", "params": {"cutoff_frequency_hz": 40.0}},
    {"plugin": "PeakFilter", "params": {"cutoff_frequency_hz": 300.0, "gain_db": -3.0, "q": 1.0}},
    {"plugin": "Compressor", "params": {"threshold_db": -24.0, "ratio": 3.0, "attack_ms": 5.0}},
    {"plugin": "BrickwallLimiter", "params": {"ceiling_db": -3.0}},
]


def test_render_in_small_blocks_equals_one_pedalboard_call(tmp_path: Path) -> None:
    x = noise(3.0, level=0.2)
    src = write(tmp_path / "in.wav", x)
    result = render_file(src, CHAIN, tmp_path / "out.wav", options=RenderOptions(block_size=3000, keep_tail=False))
    y = read(Path(result.path))
    board = pedalboard.Pedalboard([pedalboard.HighpassFilter(40.0), pedalboard.PeakFilter(300.0, -3.0, 1.0),
                                   pedalboard.Compressor(-24.0, 3.0, 5.0), pedalboard.BrickwallLimiter(-3.0)])
    whole = board(x, SR)
    assert y.shape == x.shape  # the limiter's lookahead latency is compensated
    assert np.max(np.abs(y - whole)) < 1e-5


def test_dry_wet_stays_aligned_around_a_plugin_with_latency(tmp_path: Path) -> None:
    # A limiter that never engages is a pure delay line inside pedalboard: at 50 % dry/wet a
    # misaligned dry path would comb-filter; aligned, the output equals the input.
    x = noise(1.0, level=0.01)
    src = write(tmp_path / "in.wav", x)
    chain = [{"plugin": "BrickwallLimiter", "params": {"ceiling_db": -1.0, "lookahead_ms": 10.0}, "mix": 0.5}]
    y = read(Path(render_file(src, chain, tmp_path / "o.wav", options=RenderOptions(block_size=1000)).path))
    assert np.max(np.abs(y[:, : x.shape[1]] - x)) < 1e-4


def test_reverb_and_echo_tails_are_kept_past_the_end(tmp_path: Path) -> None:
    x = np.zeros((2, SR), np.float32)
    x[:, 100] = 0.8  # one click, then a second of silence
    src = write(tmp_path / "click.wav", x)
    # echoes every 0.7 s: silent stretches inside the tail must not end it
    chain = [{"plugin": "Delay", "params": {"delay_seconds": 0.7, "feedback": 0.5, "mix": 0.5}}]
    result = render_file(src, chain, tmp_path / "echo.wav", options=RenderOptions(block_size=4096))
    y = read(Path(result.path))
    assert result.output_frames == y.shape[1] > x.shape[1]
    # echoes at 0.7 s steps; those after the source's end are in the file
    for k in (2, 3, 4):
        at = 100 + int(round(0.7 * k * SR))
        assert np.max(np.abs(y[:, at - 10: at + 10])) > 0.8 * 0.5 * 0.5 ** k
    assert np.max(np.abs(y[:, -SR // 10:])) < 10 ** (-80 / 20)  # it ends once decayed

    reverb = [{"plugin": "Reverb", "params": {"room_size": 0.8, "wet_level": 0.5}}]
    tail = render_file(src, reverb, tmp_path / "verb.wav")
    assert tail.tail_s > 0.5
    capped = render_file(src, reverb, tmp_path / "capped.wav", options=RenderOptions(max_tail_s=0.25))
    assert capped.tail_s == pytest.approx(0.25, abs=0.01)
    no_tail = render_file(src, reverb, tmp_path / "cut.wav", options=RenderOptions(keep_tail=False))
    assert no_tail.output_frames == x.shape[1]


def test_ab_pair_matches_the_render_to_the_originals_loudness(tmp_path: Path) -> None:
    x = noise(6.0, level=0.05)
    src = write(tmp_path / "in.wav", x)
    chain = [{"plugin": "Gain", "params": {"gain_db": 9.0}},
             {"plugin": "HighShelfFilter", "params": {"cutoff_frequency_hz": 3000, "gain_db": 4}}]
    result = render_file(src, chain, tmp_path / "out.wav", options=RenderOptions(ab=True))
    meter = pyloudnorm.Meter(SR)
    original = meter.integrated_loudness(x.T.astype(np.float64))
    rendered = meter.integrated_loudness(read(Path(result.path)).T.astype(np.float64))
    matched = meter.integrated_loudness(read(Path(result.ab.b_path)).T.astype(np.float64))
    assert abs(rendered - original) > 3.0
    assert matched == pytest.approx(original, abs=0.1)
    assert result.ab.a_path == str(src)
    assert result.input_lufs == pytest.approx(original, abs=0.1)


def test_provenance_sidecar_describes_the_render(tmp_path: Path) -> None:
    src = write(tmp_path / "in.wav", noise(1.0))
    result = render_file(src, CHAIN, tmp_path / "renders" / "out.wav", provenance={"requested_by": "test"})
    doc = json.loads(Path(result.sidecar).read_text())
    assert doc["kind"] == "render" and doc["requested_by"] == "test"
    assert doc["source"]["path"] == str(src)
    assert [p["plugin"] for p in doc["chain"]["chain"]] == [p["plugin"] for p in CHAIN]
    assert doc["versions"]["pedalboard"] == pedalboard.__version__
    assert doc["result"]["output_frames"] == result.output_frames


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_bad_audio_fails_clearly_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    nan = noise(2.0)
    nan[1, SR + 5] = np.nan
    bad_files = {
        "nan.wav": (lambda p: write(p, nan), "NaN or infinite samples at 1.000 s"),
        "garbage.wav": (lambda p: p.write_bytes(b"RIFF....WAVEfmt garbage" * 10), "cannot read"),
        "empty.wav": (lambda p: sf.write(str(p), np.zeros((0, 2), np.float32), SR), "no audio"),
        "truncated.wav": (lambda p: p.write_bytes(write(tmp_path / "whole.wav", noise(2.0)).read_bytes()[:50000]),
                          "truncated"),
    }
    for name, (make, message) in bad_files.items():
        make(tmp_path / name)
        with pytest.raises(AudioError, match=message):
            render_file(tmp_path / name, CHAIN, out / f"{name}.out.wav", options=RenderOptions(ab=True))
    assert _leftovers(out) == []


def test_failing_chain_or_cancelled_render_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    src = write(tmp_path / "in.wav", noise(3.0))
    with pytest.raises(ChainError):
        render_file(src, [{"plugin": "Reverb", "params": {"room_size": 3}}], out / "a.wav")

    class Stop(Exception):
        pass

    def progress(fraction: float, message: str) -> None:
        if fraction > 0.3:
            raise Stop()

    with pytest.raises(Stop):
        render_file(src, CHAIN, out / "b.wav", options=RenderOptions(block_size=8192, ab=True), progress=progress)
    assert _leftovers(out) == []
    with pytest.raises(AudioError, match="overwrite its source"):
        render_file(src, CHAIN, src)


def test_mono_and_flac_outputs(tmp_path: Path) -> None:
    x = noise(1.0, channels=1)
    src = write(tmp_path / "mono.wav", x, subtype="PCM_24")
    result = render_file(src, CHAIN, tmp_path / "mono_out.flac")
    info = sf.info(result.path)
    assert (info.channels, info.format, info.subtype) == (1, "FLAC", "PCM_24")


@pytest.mark.parametrize("sr", [44100, 48000])
def test_streaming_meter_agrees_with_pyloudnorm(sr: int) -> None:
    rng = np.random.default_rng(3)
    t = np.arange(sr * 8) / sr
    x = (rng.standard_normal((2, t.size)) * 0.05 + 0.3 * np.sin(2 * np.pi * 45 * t)).astype(np.float32)
    x[:, sr * 2: sr * 4] *= 0.05  # a quiet stretch the relative gate drops
    meter = StreamingLoudness(sr, 2)
    for start in range(0, x.shape[1], 7777):  # odd block size: state and 100 ms steps carry over
        meter.add(x[:, start:start + 7777])
    reference = pyloudnorm.Meter(sr).integrated_loudness(x.T.astype(np.float64))
    assert meter.integrated_lufs() == pytest.approx(reference, abs=0.1)


def test_a_chain_that_blows_up_fails_in_the_writer_and_leaves_nothing(tmp_path: Path) -> None:
    src = write(tmp_path / "in.wav", noise(2.0))
    out = tmp_path / "out"
    exploding = [{"plugin": "Gain", "params": {"gain_db": 48.0}}] * 8  # 384 dB: float32 overflows to inf
    with pytest.raises(AudioError, match="the chain's output (has NaN or infinite samples|exceeds \\+120 dBFS)"):
        render_file(src, exploding, out / "x.wav", options=RenderOptions(block_size=4096, ab=True))
    assert _leftovers(out) == []


@pytest.mark.parametrize(("given", "asked", "written"), [("PCM_16", None, "PCM_16"), ("PCM_24", None, "PCM_24"),
                                                         ("FLOAT", None, "FLOAT"), ("PCM_16", "FLOAT", "FLOAT")])
def test_the_output_format_follows_the_input_unless_asked(tmp_path: Path, given: str, asked: str | None,
                                                          written: str) -> None:
    src = write(tmp_path / "in.wav", noise(1.0, level=0.05), subtype=given)
    result = render_file(src, [{"plugin": "Gain", "params": {"gain_db": -3.0}}], tmp_path / "out.wav",
                         options=RenderOptions(subtype=asked))
    assert sf.info(result.path).subtype == written == result.subtype
    assert result.clipped_samples == 0


def test_pcm16_renders_are_tpdf_dithered(tmp_path: Path) -> None:
    """A sine two LSBs tall through a 0 dB gain: the error against the exact samples is TPDF dither plus
    rounding (RMS 0.5 LSB), not bare rounding (0.29 LSB, correlated with the signal)."""
    lsb = 2.0**-15
    t = np.arange(SR * 2) / SR
    x = np.tile(2 * lsb * np.sin(2 * np.pi * 441 * t), (2, 1)).astype(np.float32)
    src = write(tmp_path / "in.wav", x, subtype="PCM_16")
    exact = read(src)
    result = render_file(src, [{"plugin": "Gain", "params": {"gain_db": 0.0}}], tmp_path / "out.wav")
    error = read(Path(result.path)).astype(np.float64) - exact
    assert np.sqrt(np.mean(error**2)) / lsb == pytest.approx(0.5, abs=0.08)


def test_reported_loudness_is_the_written_files_and_the_ab_copy_never_clips(tmp_path: Path) -> None:
    x = noise(4.0, level=0.25)  # peaks near full scale
    src = write(tmp_path / "in.wav", x, subtype="PCM_16")
    chain = [{"plugin": "Gain", "params": {"gain_db": -15.0}},
             {"plugin": "PeakFilter", "params": {"cutoff_frequency_hz": 3000, "gain_db": 9.0, "q": 4.0}}]
    result = render_file(src, chain, tmp_path / "out.flac", options=RenderOptions(ab=True))
    meter = pyloudnorm.Meter(SR)
    for path, reported in ((result.path, result.output_lufs), (result.ab.b_path, result.ab.b_lufs)):
        y = read(Path(path)).astype(np.float64)
        assert meter.integrated_loudness(y.T) == pytest.approx(reported, abs=0.05)
    b = read(Path(result.ab.b_path))
    assert np.abs(b).max() < 1.0 and np.count_nonzero(np.abs(b) >= 32767 / 32768) == 0
    assert "short of the original's loudness" in result.ab.note
    assert result.ab.b_lufs < result.ab.a_lufs - 0.5  # it says so, and it is so
