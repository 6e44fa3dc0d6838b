"""grym's analysis against librosa and essentia on the evaluation set (bench/evalset.py), on one core.

Run:  .venv/bin/python bench/analysis.py                 # the measure-only part, the table of issue 19
      .venv/bin/python bench/analysis.py --split tune    # the part the settings were tuned on
      .venv/bin/python bench/analysis.py --split all --repeats 1 --list   # every clip, one line each
      .venv/bin/python bench/analysis.py --group heldout --grym-only --repeats 1   # the held-out group, grym alone
      .venv/bin/python bench/analysis.py --group heldout --grym-only --code ../wt-pre19   # another checkout's grym

`--code PATH` analyses with the grym_bridge of another checkout (say `git worktree add ../wt-pre19
2c39604^`, grym before issue 19) while this tree still builds and scores the clips; it prints the
grym_bridge it used. Older code lacks the "same things" pipeline's functions: use it with --grym-only.

The clips (about 180: rendered songs in all 24 keys and three meters, Bach chorales and fiddle tunes
from the music21 corpus, grym's compositions, modulating songs, drum loops, noise, a held-out group) are built by bench/evalset.py into bench/out/evalset/
with a cache; fluidsynth, fluid-soundfont-gm and (for the corpus) music21 are needed.

The peers: librosa (mono, resampled to 22.05 kHz, one STFT shared by chroma_stft and the spectral
features; onset_strength -> beat_track; the key from the mean chroma with Krumhansl-Kessler
profiles), and essentia (RhythmExtractor2013 multifeature for tempo, KeyExtractor with the profile
that does best on the tune part). Neither names a meter or declines to name a key: they count as
wrong on drums and noise. grym computes far more (loudness, true peak, stereo, bands, chords,
patterns, the vector); the "same" pipeline computes only what librosa does, for the speed ratio.

Scores: key exact (tonic and mode) over the clips with a key; relative and fifth confusions; no-key
right (drums and noise answered `None`); tempo within 4% of the truth (quarter notes per minute);
tempo with octave errors allowed (x 1/3, 1/2, 2, 3, as MIREX's "accuracy 2"); meter class right.
The songs that modulate (group "modulating") are left out of those rows and scored on their own: the
change found within 2 bars of the truth (exactly two segments), both segment keys right; and the
single-key clips that come out as one segment. The held-out group (added after all tuning and
fitting, measure-only) counts in the measure rows and has its key rows printed on their own as well.
Goals (issue 19): key >= 80% and ahead of both peers; tempo within 4% on >= 92%; >= 3x librosa's
speed like-for-like; a 30 s stereo 44.1 kHz clip in < 150 ms.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, set before numpy loads

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from evalset import OUT, EvalClip, build  # noqa: E402

from grym_bridge.analysis import analyze, analyzer, harmony, parse_key, rhythm, spectrum  # noqa: E402
from grym_bridge.analysis.harmony import key_name  # noqa: E402
from grym_bridge.audio_io import Audio, load_audio  # noqa: E402

#: Krumhansl & Kessler (1982) probe-tone profiles, tonic first: what "librosa + Krumhansl" means.
KK = {"major": np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
      "minor": np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])}
ESSENTIA_PROFILES = ("bgate", "edma", "edmm", "krumhansl", "temperley", "temperley2005", "shaath", "braw", "gomez",
                     "diatonic", "noland", "tonictriad")


@dataclass
class Answer:
    bpm: float
    key: str | None
    meter: str | None = None
    segments: list[dict] | None = None  # grym's key_segments (the peers name one key per clip)


# -- the peer -------------------------------------------------------------------------

def _key_from_chroma(chroma_mean: np.ndarray, profiles: dict[str, np.ndarray]) -> str:
    best, name = -2.0, ""
    z = (chroma_mean - chroma_mean.mean()) / (chroma_mean.std() or 1.0)
    for mode, profile in profiles.items():
        for tonic in range(12):
            p = np.roll(profile, tonic)
            r = float(z @ ((p - p.mean()) / p.std())) / 12
            if r > best:
                best, name = r, key_name(tonic, mode)
    return name


def librosa_pipeline(audio: Audio) -> Answer:
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
    return Answer(float(np.atleast_1d(tempo)[0]), _key_from_chroma(chroma.mean(axis=1), KK) or None)


def grym_same_things(audio: Audio) -> Answer:
    """grym computing what the librosa pipeline computes (and nothing more), from the same modules analyze uses:
    the key as analyze finds it (`analyzer.clip_key`: the peak chroma, the bass chroma, the opening cue and the
    beat chords it reads), no loudness, chord list, meter or vector."""
    mono = audio.mono()
    spec = spectrum.stft_power(mono, audio.sample_rate)
    energy = spec.power.sum(axis=1)
    active = energy > max(float(energy.max()) * 1e-6, 1e-10)
    spectrum.spectral_features(spec, active)
    env = rhythm.onset_envelope(spec)
    density = rhythm.onset_density(env, spec.frame_rate)
    tempo = rhythm.estimate_tempo(env, spec.frame_rate, density)
    chroma, peaks = harmony.chromagrams(spec)
    bass = harmony.bass_chromagram(mono, audio.sample_rate, spec)
    beats = analyzer.BeatChroma.read(chroma, bass, energy * active, spec.frame_rate, tempo.beats)
    key, _, _ = analyzer.clip_key(chroma, peaks, bass, active, beats)
    return Answer(tempo.bpm, key.name)


def grym_full(audio: Audio) -> Answer:
    """Everything `analyze` gives: also loudness, true peak, stereo, bands, chords, patterns, meter, the vector."""
    result = analyze(audio)
    # getattr: grym before issue 19 (bench/analysis.py --code) names neither a meter nor key segments
    return Answer(result.tempo_bpm, result.key, getattr(result, "meter", None), getattr(result, "key_segments", None))


def essentia_pipeline(profile: str) -> Callable[[Audio], Answer]:
    import essentia
    import essentia.standard as es

    essentia.log.infoActive = False
    rhythm_x = es.RhythmExtractor2013(method="multifeature")
    key_x = es.KeyExtractor(profileType=profile, sampleRate=44100)

    def run(audio: Audio) -> Answer:
        mono = np.ascontiguousarray(audio.mono(), dtype=np.float32)
        bpm = float(rhythm_x(mono)[0])
        tonic, scale, _strength = key_x(mono)
        return Answer(bpm, f"{harmony.PITCH_CLASSES[harmony.pitch_class(tonic)]} {scale}")

    return run


# -- measuring ------------------------------------------------------------------------

def _tempo_ok(found: float, truth: float | None, factors: tuple[float, ...] = (1.0,)) -> bool:
    return truth is not None and any(abs(found - f * truth) <= 0.04 * f * truth for f in factors)


OCTAVES = (1 / 3, 1 / 2, 1.0, 2.0, 3.0)


def key_error(found: str | None, truth: str | None) -> str:
    """exact, relative, fifth, parallel, other, none (no key named where there was one), or n/a (no truth)."""
    if truth is None:
        return "n/a"
    if not found:
        return "none"
    (ft, fm), (tt, tm) = parse_key(found), parse_key(truth)
    if (ft, fm) == (tt, tm):
        return "exact"
    if fm != tm and (ft - tt) % 12 == (3 if tm == "minor" else 9):
        return "relative"
    if fm == tm and (ft - tt) % 12 in (5, 7):
        return "fifth"
    if ft == tt:
        return "parallel"
    return "other"


def _choose_essentia_profile(clips: list[EvalClip], audios: list[Audio]) -> tuple[str, dict[str, int]]:
    """The KeyExtractor profile with the most exact keys on the tune part (ties: the first listed)."""
    import essentia.standard as es

    scores = {}
    for profile in ESSENTIA_PROFILES:
        x = es.KeyExtractor(profileType=profile, sampleRate=44100)
        hits = 0
        for clip, audio in zip(clips, audios):
            if clip.split == "tune" and clip.key and not clip.segments:  # modulating songs: scored apart
                tonic, scale, _ = x(np.ascontiguousarray(audio.mono(), dtype=np.float32))
                hits += key_error(f"{tonic} {scale}", clip.key) == "exact"
        scores[profile] = hits
    return max(scores, key=lambda p: scores[p]), scores


def use_code(root: Path) -> str:
    """Analyse with the grym_bridge under `root` from here on (the clips are already built and loaded by this
    tree's code; they are read with the other tree's load_audio); returns the grym_bridge it resolves to.
    Scoring (parse_key, key_name) stays this tree's."""
    global analyze, analyzer, harmony, rhythm, spectrum, load_audio
    for name in [m for m in sys.modules if m == "grym_bridge" or m.startswith("grym_bridge.")]:
        del sys.modules[name]  # the next import reads the other tree
    sys.path.insert(0, str(root.resolve()))
    import grym_bridge
    from grym_bridge.analysis import analyze, analyzer, harmony, rhythm, spectrum
    from grym_bridge.audio_io import load_audio

    return str(Path(grym_bridge.__file__).resolve().parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--split", choices=("measure", "tune", "all"), default="measure")
    parser.add_argument("--list", action="store_true", help="one line per clip")
    parser.add_argument("--no-essentia", action="store_true")
    parser.add_argument("--group", help="only this group's clips (of the split), e.g. heldout")
    parser.add_argument("--grym-only", action="store_true", help="grym's full analysis alone: no peers, no speed ratio")
    parser.add_argument("--code", type=Path, help="analyse with the grym_bridge of this checkout (see the docstring)")
    parser.add_argument("--embed", action="store_true",
                        help="also time wav2vec2-base embeddings (random weights, real architecture)")
    args = parser.parse_args()
    every = build(OUT, quiet=True)
    chosen = [c for c in every if (args.split == "all" or c.split == args.split)
              and (args.group is None or c.group == args.group)]
    if not chosen:
        raise SystemExit(f"no clips in split {args.split!r}, group {args.group!r}")
    need_tune = not (args.no_essentia or args.grym_only)  # essentia's profile is chosen on the tune part
    if args.code:
        print(f"grym_bridge from {use_code(args.code)}")
    audios_all = {c.file: load_audio(c.path()) for c in every if (need_tune and c.split == "tune") or c in chosen}
    pipelines: list[tuple[str, Callable[[Audio], Answer]]] = [("grym", grym_full)] if args.grym_only else [
        ("same", grym_same_things), ("grym", grym_full), ("librosa", librosa_pipeline)]
    if need_tune:
        try:
            tune = [c for c in every if c.split == "tune"]
            profile, scores = _choose_essentia_profile(tune, [audios_all[c.file] for c in tune])
            print(f"essentia KeyExtractor profiles, exact keys on the tune part: "
                  f"{', '.join(f'{p} {n}' for p, n in sorted(scores.items(), key=lambda kv: -kv[1]))}; using {profile}")
            pipelines.append(("essentia", essentia_pipeline(profile)))
        except ImportError:
            print("essentia is not installed (pip install essentia): left out", file=sys.stderr)
    audios = [audios_all[c.file] for c in chosen]
    for _name, fn in pipelines:
        fn(audios[0])  # warm-up: caches, numba compilation
    rows = []
    for clip, audio in zip(chosen, audios):
        times: dict[str, list[float]] = {name: [] for name, _ in pipelines}
        answers: dict[str, Answer] = {}
        for _ in range(args.repeats):
            for name, fn in pipelines:  # alternating, so load on the machine hits all alike
                t0 = time.perf_counter()
                answers[name] = fn(audio)
                times[name].append(time.perf_counter() - t0)
        rows.append((clip, audio, {k: statistics.median(v) for k, v in times.items()}, answers))
    report(rows, [name for name, _ in pipelines], args.split + (f", group {args.group}" if args.group else ""),
           args.list)
    if args.embed:
        bench_embedding(audios, args.repeats)


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


def _bar_s(clip: EvalClip) -> float:
    return 60.0 / (clip.bpm or 120.0) * {"3/4": 3.0, "6/8": 3.0}.get(clip.meter or "", 4.0)


def segment_rows(rows: list) -> None:
    """grym's key segments: modulations found and named on the modulating songs, no splits elsewhere."""
    moving = [r for r in rows if r[0].segments]
    still = [r for r in rows if r[0].key and not r[0].segments]

    def found(r: tuple) -> tuple[bool, bool]:
        clip, segs = r[0], r[3]["grym"].segments or []
        two = len(segs) == 2
        near = two and abs(segs[1]["start"] - clip.segments[1]["start"]) <= 2 * _bar_s(clip)
        return near, two and [s["key"] for s in segs] == [s["key"] for s in clip.segments]

    if all(r[3]["grym"].segments is None for r in rows):  # code from before key segments (--code)
        print("key segments (grym): not reported by this code")
        return
    hits = [found(r) for r in moving]
    print(f"key segments (grym): {len(moving)} modulating songs, {len(still)} single-key clips")
    if moving:
        print(f"{'  modulation within 2 bars':<28}{sum(h[0] for h in hits)}/{len(moving)}")
        print(f"{'  both segment keys right':<28}{sum(h[1] for h in hits)}/{len(moving)}")
    if still:
        print(f"{'  single key, one segment':<28}{sum(len(r[3]['grym'].segments or []) == 1 for r in still)}/"
              f"{len(still)}")


def report(rows: list, names: list[str], split: str, listing: bool) -> None:
    systems = [n for n in names if n != "same"]
    if listing:
        for clip, _audio, t, answers in rows:
            if clip.segments:
                segs = " ".join(f"{s['start']:.1f}:{s['key']}" for s in answers["grym"].segments or [])
                print(f"{clip.name:<40} | truth {clip.segments[1]['start']:5.1f}:{clip.segments[1]['key']:<9} | "
                      f"grym {segs}")
                continue
            truth = f"{clip.bpm or 0:5.0f} {clip.key or '-':>9} {clip.meter or '-':>4}"
            cells = []
            for name in systems:
                a = answers[name]
                err = key_error(a.key, clip.key)
                mark = "" if err in ("exact", "n/a") and (clip.key is not None or not a.key) else "!"
                cells.append(f"{a.bpm:6.1f}{' ' if _tempo_ok(a.bpm, clip.bpm) or clip.bpm is None else '!'}"
                             f"{a.key or '-':>9}{mark:1} {a.meter or '-':>4}")
            print(f"{clip.name:<40} | {truth} | " + " | ".join(cells) + f" | {t['grym'] * 1e3:6.1f} ms")
        print()
    segment_rows(rows)
    print()
    rows = [r for r in rows if not r[0].segments]  # the modulating songs have a key per segment: scored above
    keyed = [r for r in rows if r[0].key]
    keyless = [r for r in rows if not r[0].key]
    timed = [r for r in rows if r[0].bpm]
    metered = [r for r in rows if r[0].meter]
    n_groups = {g: sum(r[0].group == g for r in rows) for g in ("generated", "corpus", "composed", "drums", "noise",
                                                                "heldout")}
    print(f"split: {split}, {len(rows)} clips ({', '.join(f'{g} {n}' for g, n in n_groups.items())}); "
          f"{len(keyed)} with a key, {len(timed)} with a tempo, {len(metered)} with a meter")
    print(f"{'':<26}" + "".join(f"{s:>12}" for s in systems))

    def line(label: str, values: list[str]) -> None:
        print(f"{label:<26}" + "".join(f"{v:>12}" for v in values))

    def pct(hits: int, total: int) -> str:
        return f"{hits}/{total} {100 * hits / total:3.0f}%" if total else "-"

    def key_lines(part: list, label: str = "key exact") -> None:
        errs = {s: [key_error(r[3][s].key, r[0].key) for r in part] for s in systems}
        line(label, [pct(errs[s].count("exact"), len(part)) for s in systems])
        line("  relative errors", [str(errs[s].count("relative")) for s in systems])
        line("  fifth errors", [str(errs[s].count("fifth")) for s in systems])
        line("  parallel / other", [f"{errs[s].count('parallel')} / {errs[s].count('other')}" for s in systems])
        line("  no key named", [str(errs[s].count("none")) for s in systems])

    key_lines(keyed)
    heldout = [r for r in keyed if r[0].group == "heldout"]
    if heldout and len(heldout) < len(keyed):  # the confirmation group on its own, and the clips before it
        key_lines([r for r in keyed if r[0].group != "heldout"], "key exact, without heldout")
        key_lines(heldout, "key exact, heldout only")
    line("no key on drums/noise", [pct(sum(not r[3][s].key for r in keyless), len(keyless)) for s in systems])
    line("tempo within 4%", [pct(sum(_tempo_ok(r[3][s].bpm, r[0].bpm) for r in timed), len(timed)) for s in systems])
    line("tempo, octaves allowed", [pct(sum(_tempo_ok(r[3][s].bpm, r[0].bpm, OCTAVES) for r in timed), len(timed))
                                    for s in systems])
    line("meter", [pct(sum(r[3][s].meter == r[0].meter for r in metered), len(metered))
                   if s == "grym" and any(r[3][s].meter for r in rows) else "-" for s in systems])
    totals = {name: sum(r[2][name] for r in rows) for name in names}
    if not rows:  # --group modulating: only the segment rows above
        return
    line("time per clip, median ms", [f"{statistics.median(r[2][s] for r in rows) * 1e3:.1f}" for s in systems])
    print()
    if "librosa" not in totals:  # --grym-only: no speed ratio
        return
    print(f"speed, same things (STFT, spectral features, onsets, tempo and beats, chroma and key): librosa / grym = "
          f"{totals['librosa'] / totals['same']:.2f}x  (goal >= 3x)")
    print(f"speed, full analysis (also loudness, true peak, stereo, bands, chords, meter, patterns, vector): "
          f"librosa / grym = {totals['librosa'] / totals['grym']:.2f}x")
    stereo_30s = [r[2]["grym"] for r in rows if r[1].channels == 2 and abs(r[1].duration_s - 30.0) < 0.5]
    if stereo_30s:
        print(f"full analysis of the 30 s stereo 44.1 kHz clips: median {statistics.median(stereo_30s) * 1e3:.1f} ms, "
              f"worst {max(stereo_30s) * 1e3:.1f} ms on one core (goal < 150 ms)")


if __name__ == "__main__":
    main()
