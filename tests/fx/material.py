"""Test material with planted mix problems, for checking that suggestions fix what they name.

The clean base is stereo noise whose long-term third-octave spectrum follows
the shape of finished mixes (-3 dB per octave, rolling off below 40 Hz), with
partly independent channels (a normal stereo width) at -18 LUFS. Each
`plant_*` adds one problem to it. Shaping happens in the frequency domain,
written here on purpose: the tests must not measure with the code they test.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import mido
import numpy as np
import pyloudnorm
import soundfile as sf

from grym_bridge.audio_io import Audio
from tests.conftest import require

SR = 44100


def _shape(white: np.ndarray, gain_db_at: callable) -> np.ndarray:
    spec = np.fft.rfft(white, axis=-1)
    f = np.fft.rfftfreq(white.shape[-1], 1.0 / SR)
    f[0] = f[1]
    return np.fft.irfft(spec * 10 ** (gain_db_at(f) / 20), n=white.shape[-1], axis=-1)


def curve_db(f: np.ndarray) -> np.ndarray:
    """-3 dB per octave in third-octave bands = -6 dB per octave in power density (x 1/f), -12 below 40 Hz."""
    db = -3.0 * np.log2(f / 1000.0) - 10 * np.log10(f / 1000.0)
    return db - np.where(f < 40, 12.0 * np.log2(40.0 / np.minimum(f, 40.0)), 0.0)


def normalize(x: np.ndarray, lufs: float) -> np.ndarray:
    now = pyloudnorm.Meter(SR).integrated_loudness(x.T.astype(np.float64))
    return (x * 10 ** ((lufs - now) / 20)).astype(np.float32)


@functools.lru_cache(maxsize=8)
def base(seconds: float = 12.0, seed: int = 0, lufs: float = -18.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    common, left, right = rng.standard_normal((3, n))
    x = np.stack([common + 0.8 * left, common + 0.8 * right])
    out = normalize(_shape(x, curve_db), lufs)
    out.flags.writeable = False  # cached: shared between tests
    return out


def band_boost(x: np.ndarray, lo: float, hi: float, db: float) -> np.ndarray:
    """+db between lo and hi with half-octave cosine slopes outside."""
    def gain(f: np.ndarray) -> np.ndarray:
        octs = np.maximum(np.log2(lo / f), np.log2(f / hi))
        ramp = np.clip(octs / 0.5, 0.0, 1.0)
        return db * np.where(octs <= 0, 1.0, 0.5 * (1 + np.cos(np.pi * ramp)))
    return _shape(x, gain).astype(np.float32)


@functools.lru_cache(maxsize=16)
def plant(problem: str, seconds: float = 12.0) -> Audio:
    """The clean base with one problem planted (too_dynamic needs 16 s: four 4 s sections)."""
    return plant_on(base(max(seconds, 16.0) if problem == "too_dynamic" else seconds), problem)


#: Problems a request may name, planted as a band boost or cut: (low Hz, high Hz, dB).
BANDS = {"mud": (180.0, 320.0, 8.0), "harsh": (2500.0, 5000.0, 8.0), "boom": (60.0, 140.0, 8.0),
         "sibilant": (6000.0, 10000.0, 9.0), "thin": (45.0, 200.0, -10.0), "dull": (5000.0, 16000.0, -10.0)}


def plant_on(x: np.ndarray, problem: str) -> Audio:
    """`x` with one problem planted, at -18 LUFS (except too_quiet and too_narrow)."""
    if problem == "rumble":
        t = np.arange(x.shape[1]) / SR
        rumble = 0.25 * np.sin(2 * np.pi * 27 * t) * (1 + 0.3 * np.sin(2 * np.pi * 0.5 * t))
        x = normalize(x + rumble[None, :].astype(np.float32), -18.0)
    elif problem in BANDS:
        x = normalize(band_boost(x, *BANDS[problem]), -18.0)
    elif problem == "too_quiet":
        x = normalize(x, -32.0)
    elif problem == "too_dynamic":
        env = np.where((np.arange(x.shape[1]) // (4 * SR)) % 2 == 0, 1.0, 10 ** (-20 / 20))
        x = normalize(x * env[None, :].astype(np.float32), -18.0)
    elif problem == "too_narrow":
        mid = x.mean(axis=0)
        side = (x[0] - x[1]) * 0.5
        x = np.stack([mid + 0.3 * side, mid - 0.3 * side]).astype(np.float32)
    elif problem != "clean":
        raise ValueError(problem)
    return Audio(x.astype(np.float32), SR)


def stems(seconds: float = 6.0) -> dict[str, Audio]:
    """Kick, bass, lead vocal and keys that mask each other the way real ones do (kick/bass, vocal/keys)."""
    rng = np.random.default_rng(7)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    beat = (t % 0.5) / 0.5 * 0.5  # seconds since the last beat at 120 BPM
    kick = np.sin(2 * np.pi * (55 * beat + 40 * (1 - np.exp(-beat / 0.03)) * 0.03)) * np.exp(-beat / 0.18)
    bass_f = np.where((t // 2) % 2 == 0, 55.0, 73.4)
    phase = 2 * np.pi * np.cumsum(bass_f) / SR
    bass = sum(np.sin(k * phase) / k for k in range(1, 5))
    bass_l = bass + 0.15 * rng.standard_normal(n) * 0.0
    bass_stereo = np.stack([bass_l, np.roll(bass, 40)])  # a stereo-chorused bass: low end not mono
    vib = 220 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
    vphase = 2 * np.pi * np.cumsum(vib) / SR
    vocal = sum(np.sin(k * vphase) * (1.0 if 2 <= k <= 8 else 0.3) / k ** 0.5 for k in range(1, 14))
    keys = np.zeros(n)
    for f in (261.6, 329.6, 392.0, 523.3):
        kphase = 2 * np.pi * f * t
        keys += sum(np.sin(k * kphase) / k for k in range(1, 7))
    out = {
        "kick": np.stack([kick, kick]),
        "bass": bass_stereo,
        "lead_vocal": np.stack([vocal, vocal]),
        "keys": np.stack([keys, keys * 0.98 + 0.02 * np.roll(keys, 7)]),
    }
    return {name: Audio(normalize(x.astype(np.float32), lufs), SR)
            for (name, x), lufs in zip(out.items(), (-14.0, -15.0, -14.0, -16.0))}


SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


def _gm_midi(path: Path, bpm: float, bars: int) -> None:
    """Drums, a picked bass and piano chords (Am F C G), one type-0 track, for fluidsynth to play."""
    tpb, events = 480, []

    def note(ch: int, pitch: int, beat: float, length: float, vel: int) -> None:
        events.append((int(beat * tpb), 1, mido.Message("note_on", channel=ch, note=pitch, velocity=vel)))
        events.append((int((beat + length) * tpb) - 1, 0, mido.Message("note_off", channel=ch, note=pitch)))

    for bar in range(bars):
        root = (57, 53, 48, 55)[bar % 4]
        third = 3 if bar % 4 == 0 else 4
        for b in range(4):
            note(9, 36 if b % 2 == 0 else 38, bar * 4 + b, 0.25, 112 if b % 2 == 0 else 100)
            for h in (0.0, 0.5):
                note(9, 42, bar * 4 + b + h, 0.2, 76)
            note(1, root - 24 + (7 if b == 2 else 0), bar * 4 + b, 0.9, 96)
        for p in (root, root + third, root + 7):
            note(0, p + 12, bar * 4, 1.9, 78)
            note(0, p + 12, bar * 4 + 2, 1.9, 70)
    song = mido.MidiFile(type=0, ticks_per_beat=tpb)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)),
                            mido.Message("program_change", channel=1, program=33)])
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    song.tracks.append(track)
    song.save(str(path))


@functools.lru_cache(maxsize=2)
def gm_song(seconds: float = 6.0, bpm: float = 100.0) -> np.ndarray:
    """A band (drums, bass, piano in A minor) rendered by fluidsynth with the FluidR3 GM soundfont, -18 LUFS."""
    require(shutil.which("fluidsynth") is not None and SOUNDFONT.exists(),
            "fluidsynth with the FluidR3 GM soundfont (Debian: fluidsynth fluid-soundfont-gm)")
    with tempfile.TemporaryDirectory() as folder:
        mid, wav = Path(folder) / "song.mid", Path(folder) / "song.wav"
        _gm_midi(mid, bpm, int(seconds * bpm / 240) + 1)
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", str(SR), "-F", str(wav), str(SOUNDFONT),
                        str(mid)], check=True, timeout=120, capture_output=True)
        x, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    assert sr == SR
    out = normalize(x.T[:, : int(seconds * SR)].copy(), -18.0)
    out.flags.writeable = False
    return out
