"""grym's analysis against a librosa pipeline computing the same things, on one core, in one run.

Run:  .venv/bin/python bench/analysis.py [--repeats 3] [--keep DIR] [--quick]
      .venv/bin/python bench/analysis.py --clips DIR    (measure a set a --keep run wrote)
      add --embed to time wav2vec2-base embeddings too (random weights, the real architecture's compute)

The clip set (written to a temporary folder, or DIR):
- synthetic clips from tests/synth.py: click tracks and chord progressions over drums;
- music rendered with fluidsynth and the Debian FluidR3 General MIDI soundfont from MIDI files
  this script writes with mido: drums, bass, piano, strings and a melody, in a known key and tempo.

The peer (what a user would otherwise write): mono downmix, librosa.resample to 22.05 kHz, one
STFT shared by chroma_stft, spectral centroid, rolloff and flatness; onset_strength ->
beat_track (tempo and beats) and onset_detect; key from the mean chroma with the same
Albrecht-Shanahan profiles grym uses. grym computes more (loudness, true peak, stereo, bands,
chords, patterns, the vector), so the speed ratio is conservative.

Both run on the same decoded samples; each clip is timed `--repeats` times alternating, the
median is reported. Tempo counts as right within 4% of the truth; key only when exact.
Goals (issue 3): >= 3x faster, accuracy at least librosa's, a 30 s stereo 44.1 kHz clip in < 150 ms.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, set before numpy loads

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import mido  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grym_bridge.analysis import analyze, harmony, parse_key, rhythm, spectrum  # noqa: E402
from grym_bridge.analysis.harmony import KEY_PROFILES, PITCH_CLASSES, key_name  # noqa: E402
from grym_bridge.audio_io import Audio, load_audio, write_audio  # noqa: E402
from tests.synth import chord_progression, click_track, drum_loop, mix  # noqa: E402

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SR = 44100


@dataclass
class Clip:
    name: str
    path: Path
    bpm: float
    key: str | None  # None: no key (click tracks)


# -- the clip set ---------------------------------------------------------------------

# degrees (semitones above the tonic, chord quality) per bar
PROGRESSIONS = {
    "major": [[(0, ""), (7, ""), (9, "m"), (5, "")], [(0, ""), (5, ""), (7, ""), (0, "")],
              [(0, ""), (9, "m"), (5, ""), (7, "")]],
    "minor": [[(0, "m"), (5, "m"), (7, ""), (0, "m")], [(0, "m"), (8, ""), (10, ""), (0, "m")],
              [(0, "m"), (10, ""), (8, ""), (7, "")]],
}
SCALES = {"major": [0, 2, 4, 5, 7, 9, 11], "minor": [0, 2, 3, 5, 7, 8, 11]}
# All 24 keys (each tonic once major, once minor, around the circle of fifths) at tempi from 72 to 174.
# Seeds from 1000: the chroma settings were tuned on other songs (seeds 0-13 and 100-123); the key
# profiles (Albrecht-Shanahan over Krumhansl-Kessler) were chosen on those and these together.
_TEMPI = [72, 84, 90, 96, 100, 108, 115, 120, 126, 132, 140, 150, 160, 174, 78, 88, 94, 104, 112, 118, 124, 136,
          145, 168]
SONGS = [(_TEMPI[i], f"{PITCH_CLASSES[7 * i % 12]} {'major' if (i + i // 12) % 2 == 0 else 'minor'}", 1000 + i)
         for i in range(24)]


def _song_midi(bpm: float, key: str, seed: int, path: Path, bars: int) -> None:
    """Drums, bass, piano, strings and a melody in `key` at `bpm`, written as a type-1 MIDI file."""
    rng = np.random.default_rng(seed)
    tonic, mode = parse_key(key)
    tpb = 480
    song = mido.MidiFile(type=1, ticks_per_beat=tpb)
    events: dict[int, list[tuple[int, mido.Message]]] = {ch: [] for ch in (0, 1, 2, 3, 9)}

    def note(ch: int, pitch: int, start: float, length: float, vel: int) -> None:
        on, off = int(start * tpb), int((start + length) * tpb) - 1
        events[ch].append((on, mido.Message("note_on", channel=ch, note=pitch, velocity=vel)))
        events[ch].append((off, mido.Message("note_off", channel=ch, note=pitch, velocity=0)))

    prog = PROGRESSIONS[mode][seed % 3]
    scale = [(tonic + s) % 12 for s in SCALES[mode]]
    for bar in range(bars):
        beat0 = bar * 4
        degree, quality = prog[bar % 4]
        root = (tonic + degree) % 12
        third = 3 if quality == "m" else 4
        chord = [48 + root, 48 + (root + third) % 12 + (12 if (root + third) % 12 < root else 0),
                 48 + (root + 7) % 12 + (12 if (root + 7) % 12 < root else 0)]
        for b in range(4):  # drums: kick 1 and 3, snare 2 and 4, hats on eighths
            note(9, 36 if b % 2 == 0 else 38, beat0 + b, 0.25, 110 if b % 2 == 0 else 100)
            for h in (0.0, 0.5):
                note(9, 42, beat0 + b + h, 0.25, 70 + int(rng.integers(0, 20)))
        note(9, 36, beat0 + 2.5, 0.25, 90)
        for b in range(0, 4):  # bass: root on every beat, a fifth on beat 3
            note(1, 36 + root + (7 if b == 2 else 0), beat0 + b, 0.9, 95)
        for p in chord:  # piano: two strikes a bar
            note(0, p + 12, beat0, 1.9, 80)
            note(0, p + 12, beat0 + 2, 1.9, 70)
        for p in chord:  # strings: sustained
            note(2, p, beat0, 4.0, 55)
        t = 0.0
        while t < 4.0:  # melody: eighths and quarters on scale tones, chord tones on the beat
            length = 0.5 if rng.random() < 0.6 else 1.0
            pool = [c % 12 for c in chord] if t == int(t) else scale
            pitch = 72 + int(rng.choice(pool))
            note(3, pitch, beat0 + t, length * 0.9, 85)
            t += length
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))
    meta.append(mido.MetaMessage("time_signature", numerator=4, denominator=4))
    song.tracks.append(meta)
    programs = {0: 0, 1: 33, 2: 48, 3: 73, 9: 0}
    for ch, evs in events.items():
        track = mido.MidiTrack()
        if ch != 9:
            track.append(mido.Message("program_change", channel=ch, program=programs[ch], time=0))
        now = 0
        for tick, msg in sorted(evs, key=lambda e: (e[0], e[1].type == "note_on")):
            track.append(msg.copy(time=tick - now))
            now = tick
        song.tracks.append(track)
    song.save(path)


FORMAT = {"flac": "PCM_16", "ogg": "VORBIS"}


def _keep(folder: Path, name: str, audio: Audio, fmt: str) -> Path:
    """Clips are stored as 16-bit FLAC (or Ogg Vorbis, 6x smaller, to carry a set to another machine).

    Both pipelines always analyse the same decoded samples.
    """
    return write_audio(folder / f"{name}.{fmt}", audio, subtype=FORMAT[fmt])


def build_clips(folder: Path, quick: bool, fmt: str = "flac") -> list[Clip]:
    """Write every clip of the set into `folder` (fluidsynth renders only when it is installed)."""
    clips: list[Clip] = []
    seconds = 30.0
    for bpm in ((95, 174) if quick else (70, 95, 128, 174)):
        clips.append(Clip(f"click {bpm}", _keep(folder, f"click_{bpm}", click_track(bpm, seconds), fmt), bpm, None))
    for bpm, key in (((110, "E minor"),) if quick else ((110, "E minor"), (90, "Bb major"), (132, "F minor"))):
        bars = int(seconds * bpm / 240)
        music = mix(chord_progression(key, bpm=bpm, bars=bars), drum_loop(bpm, bars))
        stereo = Audio(np.vstack([music.samples, 0.9 * music.samples]), SR)
        path = _keep(folder, f"synth_{key.replace(' ', '_')}_{bpm}", stereo, fmt)
        clips.append(Clip(f"synth {key} {bpm}", path, bpm, key))
    if shutil.which("fluidsynth") is None or not SOUNDFONT.exists():
        print("fluidsynth or the FluidR3 soundfont is missing (apt-get install fluidsynth fluid-soundfont-gm):"
              " rendered music left out", file=sys.stderr)
        return clips
    for i, (bpm, key, seed) in enumerate(SONGS[::6] if quick else SONGS):
        mid = folder / f"song_{i}.mid"
        wav = folder / f"song_{i}.wav"
        _song_midi(bpm, key, seed, mid, bars=int(seconds * bpm / 240) + 1)
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-F", str(wav), "-r", str(SR), str(SOUNDFONT),
                        str(mid)], check=True, capture_output=True)
        rendered = load_audio(wav)
        cut = Audio(rendered.samples[:, : int(seconds * SR)], SR)  # the 30 s stereo clips of the speed goal
        clips.append(Clip(f"GM {key} {bpm}", _keep(folder, f"song_{i}", cut, fmt), bpm, key))
        wav.unlink()
    return clips


def save_manifest(folder: Path, clips: list[Clip]) -> None:
    rows = [{"name": c.name, "file": c.path.name, "bpm": c.bpm, "key": c.key} for c in clips]
    (folder / "manifest.json").write_text(json.dumps(rows, indent=1))


def load_manifest(folder: Path) -> list[Clip]:
    """The clips a `--keep` run wrote (for machines without fluidsynth: render here, measure there)."""
    rows = json.loads((folder / "manifest.json").read_text())
    return [Clip(r["name"], folder / r["file"], r["bpm"], r["key"]) for r in rows]


# -- the peer -------------------------------------------------------------------------

def _key_from_chroma(chroma_mean: np.ndarray) -> str:
    best, name = -2.0, ""
    z = (chroma_mean - chroma_mean.mean()) / (chroma_mean.std() or 1.0)
    for mode, profile in KEY_PROFILES.items():
        for tonic in range(12):
            p = np.roll(profile, tonic)
            r = float(z @ ((p - p.mean()) / p.std())) / 12
            if r > best:
                best, name = r, key_name(tonic, mode)
    return name


def librosa_pipeline(audio: Audio) -> tuple[float, str]:
    """What a user would write with librosa for tempo, beats, onsets, chroma/key and spectral features."""
    import librosa

    sr = 22050
    y = librosa.resample(audio.mono(), orig_sr=audio.sample_rate, target_sr=sr)
    spec = np.abs(librosa.stft(y))
    onset_env = librosa.onset.onset_strength(y=y, sr=sr)
    tempo, _beats = librosa.beat.beat_track(onset_envelope=onset_env, sr=sr)
    librosa.onset.onset_detect(onset_envelope=onset_env, sr=sr)
    chroma = librosa.feature.chroma_stft(S=spec**2, sr=sr)
    librosa.feature.spectral_centroid(S=spec, sr=sr)
    librosa.feature.spectral_rolloff(S=spec, sr=sr)
    librosa.feature.spectral_flatness(S=spec)
    return float(np.atleast_1d(tempo)[0]), _key_from_chroma(chroma.mean(axis=1))


def grym_same_things(audio: Audio) -> tuple[float, str]:
    """grym computing what the librosa pipeline computes (and nothing more), from the same modules analyze uses."""
    spec = spectrum.stft_power(audio.mono(), audio.sample_rate)
    energy = spec.power.sum(axis=1)
    active = energy > max(float(energy.max()) * 1e-6, 1e-10)
    spectrum.spectral_features(spec, active)
    env = rhythm.onset_envelope(spec)
    tempo = rhythm.estimate_tempo(env, spec.frame_rate)
    rhythm.onset_density(env, spec.frame_rate)
    key = harmony.estimate_key(harmony.chromagram(spec), active)
    return tempo.bpm, key.name


def grym_full(audio: Audio) -> tuple[float, str]:
    """Everything `analyze` gives: also loudness, true peak, stereo, bands, chords, patterns, the vector."""
    result = analyze(audio)
    return result.tempo_bpm, result.key


PIPELINES = (("same", grym_same_things), ("full", grym_full), ("librosa", librosa_pipeline))


# -- measuring ------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the clips here and keep them")
    parser.add_argument("--quick", action="store_true", help="a few clips only (a smoke run)")
    parser.add_argument("--clips", type=Path, help="measure the clips a --keep run wrote instead of making new ones")
    parser.add_argument("--format", choices=sorted(FORMAT), default="flac", help="how new clips are stored")
    parser.add_argument("--embed", action="store_true",
                        help="also time wav2vec2-base embeddings (random weights, real architecture)")
    args = parser.parse_args()
    folder = args.clips or args.keep or Path(tempfile.mkdtemp(prefix="grym-bench-analysis-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if args.clips:
            clips = load_manifest(args.clips)
        else:
            clips = build_clips(folder, args.quick, args.format)
            save_manifest(folder, clips)
        audios = [load_audio(c.path) for c in clips]
        for _name, fn in PIPELINES:
            fn(audios[0])  # warm-up: caches, numba compilation

        rows = []
        for clip, audio in zip(clips, audios):
            times: dict[str, list[float]] = {name: [] for name, _ in PIPELINES}
            answers = {}
            for _ in range(args.repeats):
                for name, fn in PIPELINES:  # alternating, so load on the machine hits all alike
                    t0 = time.perf_counter()
                    answers[name] = fn(audio)
                    times[name].append(time.perf_counter() - t0)
            rows.append((clip, audio, {k: statistics.median(v) for k, v in times.items()}, answers))
        report(rows)
        if args.embed:
            bench_embedding(audios, args.repeats)
    finally:
        if args.keep is None and args.clips is None:
            shutil.rmtree(folder, ignore_errors=True)


def bench_embedding(audios: list[Audio], repeats: int) -> None:
    """wav2vec2-base's architecture with seeded random weights (the compute of the real model), saved as
    safetensors and loaded through grym's loader: time to embed each clip, on the best device."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    from grym_bridge.models.wav2vec2 import load_wav2vec2

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        Wav2Vec2Model(Wav2Vec2Config()).save_pretrained(tmp, safe_serialization=True)
        embedder = load_wav2vec2(Path(tmp))
    embedder.embed(audios[0])  # warm-up: kernels, allocator
    times = []
    for audio in audios:
        for _ in range(repeats):
            t0 = time.perf_counter()
            embedder.embed(audio)
            if embedder.device == "cuda":
                torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) / audio.duration_s)
    print(f"wav2vec2-base embedding on {embedder.device} ({str(embedder.dtype).replace('torch.', '')}, "
          f"{embedder.chunk_s:g} s chunks, batch {embedder.batch_size}): median "
          f"{statistics.median(times) * 30e3:.1f} ms per 30 s of audio")


def _tempo_ok(found: float, truth: float) -> bool:
    return abs(found - truth) <= 0.04 * truth


def _key_ok(found: str, truth: str | None) -> bool:
    return truth is not None and found != "" and parse_key(found) == parse_key(truth)


def report(rows: list) -> None:
    print(f"{'clip':<20} {'len':>4} {'ch':>2} | {'truth':>15} | {'grym':>17} | {'librosa':>17} |"
          f" {'same ms':>7} {'full ms':>7} {'lib ms':>7} | {'lib/same':>8} {'lib/full':>8}")
    totals = {name: 0.0 for name, _ in PIPELINES}
    tempo_hits = {"full": 0, "librosa": 0}
    key_hits = {"full": 0, "librosa": 0}
    keyed = 0
    stereo_30s: list[float] = []
    for clip, audio, t, answers in rows:
        cells = []
        for name in ("full", "librosa"):
            bpm, key = answers[name]
            tok, kok = _tempo_ok(bpm, clip.bpm), _key_ok(key, clip.key)
            tempo_hits[name] += tok
            key_hits[name] += kok
            cells.append(f"{bpm:6.1f}{' ' if tok else '!'}{key or '-':>9}{'' if kok or clip.key is None else '!'}")
        for name in totals:
            totals[name] += t[name]
        keyed += clip.key is not None
        if audio.channels == 2 and audio.sample_rate == 44100 and abs(audio.duration_s - 30.0) < 1.5:
            stereo_30s.append(t["full"])
        truth = f"{clip.bpm:5.0f} {clip.key or '-':>9}"
        print(f"{clip.name:<20} {audio.duration_s:4.0f} {audio.channels:>2} | {truth:>15} | {cells[0]:>17} |"
              f" {cells[1]:>17} | {t['same'] * 1e3:7.1f} {t['full'] * 1e3:7.1f} {t['librosa'] * 1e3:7.1f} |"
              f" {t['librosa'] / t['same']:8.2f} {t['librosa'] / t['full']:8.2f}")
    n = len(rows)
    print()
    print(f"speed, same things (STFT, spectral features, onsets, tempo and beats, chroma and key): librosa / grym = "
          f"{totals['librosa'] / totals['same']:.2f}x  (goal >= 3x)")
    print(f"speed, full analysis (also loudness, LRA, true peak, stereo, bands, chords, patterns, vector): "
          f"librosa / grym = {totals['librosa'] / totals['full']:.2f}x")
    print(f"tempo within 4%: grym {tempo_hits['full']}/{n}, librosa {tempo_hits['librosa']}/{n}")
    print(f"key exact:       grym {key_hits['full']}/{keyed}, librosa {key_hits['librosa']}/{keyed}")
    if stereo_30s:
        print(f"full analysis of the 30 s stereo 44.1 kHz clips: median {statistics.median(stereo_30s) * 1e3:.1f} ms, "
              f"worst {max(stereo_30s) * 1e3:.1f} ms on one core (goal < 150 ms)")


if __name__ == "__main__":
    main()
