"""Loading, validating, writing and resampling audio files: good files round-trip, bad ones say why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from grym_bridge.audio_io import Audio, load_audio, resample, write_audio
from grym_bridge.errors import AudioFileError, BadRequest, PathNotAllowed
from grym_bridge.paths import PathPolicy
from tests.synth import sine

FORMATS = [("wav", "PCM_16"), ("flac", "PCM_24"), ("aiff", "PCM_16"), ("ogg", "VORBIS"), ("mp3", "MPEG_LAYER_III")]


@pytest.mark.parametrize("ext,subtype", FORMATS)
def test_every_libsndfile_format_loads_as_float32_channels_first(tmp_path: Path, ext: str, subtype: str) -> None:
    src = sine(440.0, 1.0, sr=48000, amplitude=0.5, channels=2)
    path = tmp_path / f"tone.{ext}"
    sf.write(path, src.samples.T, 48000, subtype=subtype)
    audio = load_audio(path)
    assert audio.samples.dtype == np.float32
    assert audio.channels == 2 and audio.sample_rate == 48000
    assert audio.path == path
    # lossy codecs pad or trim a little; the level survives every codec
    assert abs(audio.duration_s - 1.0) < 0.06
    assert 0.4 < float(np.max(np.abs(audio.samples))) < 0.6


def test_write_then_load_round_trips_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    src = sine(1000.0, 0.5, sr=44100, amplitude=0.25, channels=2)
    out = write_audio(tmp_path / "sub" / "out.wav", src, subtype="FLOAT")
    back = load_audio(out)
    np.testing.assert_array_equal(back.samples, src.samples)
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.wav"]


def test_a_failed_write_leaves_neither_a_partial_nor_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "out.wav"
    target.write_bytes(b"previous take")
    # Vorbis cannot go in a WAV container: libsndfile fails after the temporary file exists
    with pytest.raises(Exception):
        write_audio(target, sine(), subtype="VORBIS")
    assert target.read_bytes() == b"previous take"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


def test_writing_nan_is_refused_before_touching_the_disk(tmp_path: Path) -> None:
    bad = Audio(np.array([[0.0, np.nan]], dtype=np.float32), 44100)
    with pytest.raises(BadRequest, match="NaN"):
        write_audio(tmp_path / "x.wav", bad)
    assert list(tmp_path.iterdir()) == []


def _expect(path: Path, *words: str, **limits: float) -> None:
    with pytest.raises(AudioFileError) as info:
        load_audio(path, **limits)  # type: ignore[arg-type]
    message = info.value.message
    assert str(path) in message
    for word in words:
        assert word in message
    assert info.value.code == "bad_audio"


def test_missing_file(tmp_path: Path) -> None:
    _expect(tmp_path / "nope.wav", "no such file")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    _expect(tmp_path, "folder")


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    _expect(p, "empty")


def test_zero_length_audio(tmp_path: Path) -> None:
    p = tmp_path / "zero.wav"
    sf.write(p, np.zeros((0, 2), dtype=np.float32), 44100)
    _expect(p, "zero length")


def test_not_audio(tmp_path: Path) -> None:
    p = tmp_path / "notes.wav"
    p.write_text("these are my lyrics, not a wave file\n" * 20)
    _expect(p, "cannot be decoded")


@pytest.mark.parametrize("ext", ["wav", "aiff", "flac", "ogg", "mp3"])
def test_truncated_file(tmp_path: Path, ext: str) -> None:
    full = tmp_path / f"full.{ext}"
    sf.write(full, sine(440.0, 2.0, channels=2).samples.T, 44100)
    cut = tmp_path / f"cut.{ext}"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioFileError) as info:
        load_audio(cut)
    assert str(cut) in info.value.message
    assert "truncated" in info.value.message or "cannot be decoded" in info.value.message


def test_nan_and_inf_samples(tmp_path: Path) -> None:
    x = sine(440.0, 0.5).samples.T.copy()
    x[100] = np.nan
    x[200] = np.inf
    p = tmp_path / "nan.wav"
    sf.write(p, x, 44100, subtype="FLOAT")
    _expect(p, "2 NaN or infinite")


def test_too_long_is_refused_from_the_header(tmp_path: Path) -> None:
    p = tmp_path / "long.wav"
    sf.write(p, np.zeros((8000 * 5, 1), dtype=np.float32), 8000)
    _expect(p, "5.0 s long", "audio.max_duration_s", max_duration_s=4.0)
    assert load_audio(p, max_duration_s=6.0).duration_s == pytest.approx(5.0)


def test_too_many_channels(tmp_path: Path) -> None:
    p = tmp_path / "many.wav"
    sf.write(p, np.zeros((100, 10), dtype=np.float32), 8000)
    _expect(p, "10 channels", "audio.max_channels")
    assert load_audio(p, max_channels=10).channels == 10


def test_paths_outside_the_allowed_roots_are_refused_before_opening(config, tmp_path: Path) -> None:
    policy = PathPolicy.from_config(config)
    inside = tmp_path / "ok.wav"
    write_audio(inside, sine(duration_s=0.1))
    assert policy.check(str(inside)) == inside.resolve()
    with pytest.raises(PathNotAllowed, match="allowed_roots"):
        policy.check("/etc/passwd")
    with pytest.raises(PathNotAllowed):
        policy.check(str(tmp_path / ".." / "escaped.wav"))


def test_resample_keeps_frequency_and_layout() -> None:
    src = sine(1000.0, 1.0, sr=48000, amplitude=0.5, channels=2)
    out = resample(src.samples, 48000, 22050)
    assert out.shape == (2, 22050) and out.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(out[0] * np.hanning(out.shape[1])))
    assert np.fft.rfftfreq(out.shape[1], 1 / 22050)[int(np.argmax(spectrum))] == pytest.approx(1000.0, abs=2.0)
    mono = resample(src.samples[0], 48000, 44100)
    assert mono.ndim == 1 and mono.size == 44100


def test_audio_mono_and_shape_checks() -> None:
    stereo = Audio(np.array([[1.0, 0.0], [0.0, 1.0]]), 10)
    np.testing.assert_allclose(stereo.mono(), [0.5, 0.5])
    assert stereo.duration_s == pytest.approx(0.2)
    with pytest.raises(BadRequest):
        Audio(np.zeros((1, 2, 3)), 44100)
    with pytest.raises(BadRequest):
        Audio(np.zeros(4), 0)
