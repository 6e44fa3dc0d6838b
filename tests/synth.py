"""Synthetic test audio with known answers: tempo, key, loudness, peaks, stereo correlation.

Every generator is deterministic (seeded) and returns a `grym_bridge.audio_io.Audio`
(float32, `(channels, samples)`). Other test areas import these too, e.g.::

    from tests.synth import click_track, chord_progression, pink_noise
    audio = chord_progression("A minor", bpm=100, bars=4)

Known answers:
- `sine`: peak = `amplitude`; a 997 Hz sine at -23 dBFS on two channels is -23 LUFS (EBU Tech 3341).
- `click_track`: clicks exactly on the beats of `bpm` (the downbeat louder).
- `chord_progression`: I-IV-V-I (major) or i-iv-V-i (minor, harmonic-minor V), one chord per bar, struck on
  every beat;
  `progression_chords(key)` names them.
- `pink_noise`: 1/f noise scaled with pyloudnorm (the reference meter) to `lufs`.
- `correlated_noise`: two channels whose Pearson correlation is `correlation`.
- `drum_loop`: kick, snare and hats on a 16th grid at `bpm`; `DRUM_PATTERNS` holds the grids.
"""

from __future__ import annotations

import numpy as np

from grym_bridge.analysis.harmony import PITCH_CLASSES, parse_key
from grym_bridge.audio_io import Audio

SR = 44100


def _audio(x: np.ndarray, sr: int) -> Audio:
    return Audio(np.atleast_2d(np.asarray(x, dtype=np.float32)), sr)


def sine(freq: float = 1000.0, duration_s: float = 2.0, *, sr: int = SR, amplitude: float = 0.5,
         channels: int = 1, phase: float = 0.0) -> Audio:
    """A sine of peak `amplitude` on every channel."""
    t = np.arange(int(round(duration_s * sr))) / sr
    x = amplitude * np.sin(2 * np.pi * freq * t + phase)
    return _audio(np.repeat(x[None, :], channels, axis=0), sr)


def _click(sr: int, amplitude: float) -> np.ndarray:
    n = int(0.02 * sr)
    t = np.arange(n) / sr
    return amplitude * np.sin(2 * np.pi * 1500.0 * t) * np.exp(-t / 0.004)


def click_track(bpm: float, duration_s: float = 20.0, *, sr: int = SR, offset_s: float = 0.25,
                accent_every: int = 4) -> Audio:
    """Clicks on every beat of `bpm` starting at `offset_s`; every `accent_every`-th one louder."""
    n = int(round(duration_s * sr))
    x = np.zeros(n)
    period = 60.0 / bpm
    k = 0
    while True:
        start = int(round((offset_s + k * period) * sr))
        if start >= n:
            break
        click = _click(sr, 0.9 if accent_every and k % accent_every == 0 else 0.5)
        end = min(n, start + click.size)
        x[start:end] += click[: end - start]
        k += 1
    return _audio(x, sr)


def progression_chords(key: str) -> list[str]:
    """The four chords `chord_progression` plays in `key` (`"A minor"` -> Am, Dm, E, Am)."""
    tonic, mode = parse_key(key)
    if mode == "major":
        roots, quals = [0, 5, 7, 0], ["", "", "", ""]
    else:
        roots, quals = [0, 5, 7, 0], ["m", "m", "", "m"]
    return [PITCH_CLASSES[(tonic + r) % 12] + q for r, q in zip(roots, quals)]


def _tone(freq: float, n: int, sr: int, amp: float) -> np.ndarray:
    t = np.arange(n) / sr
    env = np.minimum(1.0, t / 0.005) * np.exp(-t / 0.4)
    partials = sum((0.6 ** h) * np.sin(2 * np.pi * freq * (h + 1) * t) for h in range(5))
    return amp * env * partials


def _hz(midi: int) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def chord_progression(key: str, *, bpm: float = 100.0, bars: int = 4, sr: int = SR) -> Audio:
    """Chords in `key` struck on every beat (a bass note on beats 1 and 3), one chord per 4/4 bar.

    Repeats the 4-chord cycle of `progression_chords(key)`; starts on a downbeat at time 0.
    """
    tonic, mode = parse_key(key)
    third = 4 if mode == "major" else 3
    cycle = [(0, third), (5, third), (7, 4), (0, third)]  # V is major in minor too (harmonic minor)
    beat = int(round(60.0 / bpm * sr))
    x = np.zeros(beat * (4 * bars + 2))
    for i in range(bars):
        root, th = cycle[i % 4]
        base = 60 + (tonic + root) % 12  # triad from middle C up
        for b in range(4):
            start = (i * 4 + b) * beat
            seg = sum(_tone(_hz(m), 2 * beat, sr, 0.18) for m in (base, base + th, base + 7))
            if b % 2 == 0:
                seg = seg + _tone(_hz(base - 24), 2 * beat, sr, 0.3)
            x[start : start + seg.size] += seg
    return _audio(x / max(1.0, np.max(np.abs(x)) / 0.9), sr)


def pink_noise(duration_s: float = 10.0, *, lufs: float = -23.0, sr: int = SR, channels: int = 2,
               seed: int = 0) -> Audio:
    """Independent pink (1/f) noise per channel, scaled with pyloudnorm to integrated loudness `lufs`."""
    import pyloudnorm

    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sr))
    spec = np.fft.rfft(rng.standard_normal((channels, n)), axis=1)
    f = np.fft.rfftfreq(n, 1.0 / sr)
    spec[:, 1:] /= np.sqrt(f[1:])
    spec[:, 0] = 0.0
    x = np.fft.irfft(spec, n, axis=1)
    x /= np.max(np.abs(x))
    measured = pyloudnorm.Meter(sr).integrated_loudness(x.T)
    x *= 10.0 ** ((lufs - measured) / 20.0)
    return _audio(x, sr)


def correlated_noise(correlation: float, duration_s: float = 5.0, *, sr: int = SR, seed: int = 0,
                     amplitude: float = 0.1) -> Audio:
    """Stereo white noise whose left/right Pearson correlation is `correlation` (-1..1)."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sr))
    a, b = rng.standard_normal((2, n))
    b -= a * (a @ b) / (a @ a)  # exactly orthogonal, so the correlation is exact
    b *= np.linalg.norm(a) / np.linalg.norm(b)
    right = correlation * a + np.sqrt(max(0.0, 1.0 - correlation**2)) * b
    return _audio(amplitude * np.stack([a, right]), sr)


#: 16-step grids (1 = hit) per instrument.
DRUM_PATTERNS: dict[str, dict[str, list[int]]] = {
    "rock": {
        "kick": [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0],
        "snare": [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
        "hat": [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0],
    },
    "four_on_floor": {
        "kick": [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0],
        "snare": [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
        "hat": [0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0],
    },
}


def _drum_sounds(sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    t = np.arange(int(0.3 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 * t + 60 * 0.03 * (1 - np.exp(-t / 0.03)))) * np.exp(-t / 0.12)
    snare = (0.6 * rng.standard_normal(t.size) + 0.4 * np.sin(2 * np.pi * 190 * t)) * np.exp(-t / 0.06)
    hat_noise = rng.standard_normal(t.size)
    hat = np.diff(hat_noise, prepend=0.0) * np.exp(-t / 0.015) * 0.5  # first difference: a crude high-pass
    return {"kick": 0.9 * kick, "snare": 0.6 * snare, "hat": 0.35 * hat}


def drum_loop(bpm: float = 120.0, bars: int = 4, *, pattern: str = "rock", sr: int = SR,
              seed: int = 0) -> Audio:
    """A drum loop on a 16th-note grid at `bpm`, starting on a downbeat at time 0."""
    rng = np.random.default_rng(seed)
    sounds = _drum_sounds(sr, rng)
    step = 60.0 / bpm / 4
    n = int(round(bars * 16 * step * sr)) + int(0.3 * sr)
    x = np.zeros(n)
    for b in range(bars):
        for i in range(16):
            for name, grid in DRUM_PATTERNS[pattern].items():
                if grid[i]:
                    s = int(round((b * 16 + i) * step * sr))
                    snd = sounds[name]
                    x[s : s + snd.size] += snd[: n - s]
    return _audio(x / max(1.0, np.max(np.abs(x)) / 0.9), sr)


def mix(*parts: Audio) -> Audio:
    """Sum clips of the same rate (shorter ones padded with silence); channel counts broadcast."""
    sr = parts[0].sample_rate
    n = max(p.frames for p in parts)
    ch = max(p.channels for p in parts)
    out = np.zeros((ch, n), dtype=np.float32)
    for p in parts:
        out[:, : p.frames] += p.samples
    return Audio(out, sr)
