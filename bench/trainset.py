"""A training set for the key decision, sharing nothing with bench/evalset.py's clips.

    .venv/bin/python bench/trainset.py            # build (or reuse) bench/out/trainset/, print a summary

The defaults give the 679 clips harmony.KEY_WEIGHTS were fitted on; `--songs 150 --composed 96 --corpus
150` gives the 392 that the weights before session 7 came from.

It reuses the evaluation set's renderers (fluidsynth, the same soundfont, 30 s clips) with other
recipes: generated songs with other seeds, keys, tempi and bands; grym's compositions with other
seeds and keys; music21 corpus pieces (Bach chorales, Ryan's Mammoth fiddle tunes) that are NOT in
the evaluation set's corpus list (`bench/out/evalset/corpus_specs_v1.json`, checked by source).
Clips are cached under `bench/out/trainset/` (git-ignored) by a hash of their recipe.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import evalset  # noqa: E402
from evalset import BANDS, COMPOSE_STYLES, METERS, OUT, PITCH_CLASSES, SECONDS, SOUNDFONT, SR  # noqa: E402
from evalset_corpus import _corpus_truth, corpus_midi  # noqa: E402

from grym_bridge.analysis.harmony import parse_key  # noqa: E402
from grym_bridge.audio_io import Audio, load_audio, write_audio  # noqa: E402

TRAIN = OUT.parent / "trainset"


def _render(mid: Path, wav: Path) -> Audio:
    """evalset's fluidsynth rendering, with a time limit."""
    try:
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-F", str(wav), "-r", str(SR), str(SOUNDFONT),
                        str(mid)], check=True, capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        wav.unlink(missing_ok=True)
        raise
    rendered = load_audio(wav)
    wav.unlink()
    return Audio(rendered.samples[:, : int(SECONDS * SR)], SR)


def _songs(n: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(71)
    specs = []
    for i in range(n):
        meter = ["4/4", "3/4", "6/8", "4/4"][i % 4]
        felt = int(rng.integers(64, 160))
        bpm = felt * METERS[meter][1]
        if meter == "6/8" and bpm > 180:
            bpm /= 2
        mode = "major" if i % 2 == 0 else "minor"
        specs.append({"kind": "song", "key": f"{PITCH_CLASSES[int(rng.integers(12))]} {mode}", "meter": meter,
                      "bpm": float(bpm), "drums": bool(rng.random() < 0.7), "seed": 7000 + i,
                      "band": int(rng.integers(len(BANDS))), "house": mode == "minor" and meter == "4/4"
                      and rng.random() < 0.3})
    return specs


def _rotated(n: int) -> list[dict[str, Any]]:
    """Songs whose four-chord cycle starts on its second, third or fourth chord: loops that open away
    from the tonic (every other song here, and in the evaluation set, opens on it)."""
    rng = np.random.default_rng(74)
    specs = []
    for spec in _songs(n):
        spec = dict(spec, seed=spec["seed"] + 50000, key=f"{PITCH_CLASSES[int(rng.integers(12))]} "
                    f"{spec['key'].split()[1]}", start=int(rng.integers(1, 4)))
        specs.append(spec)
    return specs


def _composed(n: int) -> list[dict[str, Any]]:
    from grym_bridge.compose.styles import STYLES

    rng = np.random.default_rng(72)
    specs = []
    for i in range(n):
        style = COMPOSE_STYLES[i % len(COMPOSE_STYLES)]
        mode = "minor" if (i // len(COMPOSE_STYLES)) % 2 == 0 else "major"
        specs.append({"kind": "composed", "style": style, "key": f"{PITCH_CLASSES[int(rng.integers(12))]} {mode}",
                      "meter": "4/4", "bpm": float(STYLES[style].tempo), "seed": 9000 + i})
    return specs


def _corpus(n: int) -> list[dict[str, Any]]:
    from music21 import corpus

    used = {s["source"] for s in json.loads((OUT / f"corpus_specs_v{evalset.VERSION}.json").read_text())}
    chorales = sorted(p for p in corpus.getComposer("bach") if p.suffix == ".mxl")
    tunes = sorted(corpus.getComposer("ryansMammoth"))
    rng = np.random.default_rng(73)
    specs: list[dict[str, Any]] = []
    pool = [p for pair in zip(chorales[1::3], tunes[2::5]) for p in pair]
    for path in pool:
        if len(specs) >= n:
            break
        if f"{path.parent.name}/{path.name}" in used:
            continue
        tune = path in tunes
        if tune and not any(w in path.stem for w in ("Jig", "Reel", "Hornpipe")):
            continue
        truth = _corpus_truth(corpus.parse(path))
        if truth is None or truth[1] not in ("4/4", "3/4", "6/8"):
            continue
        key, meter = truth
        tonic, mode = parse_key(key)
        shift = int(rng.integers(-6, 6))
        felt = int(rng.integers(66, 110)) if not tune else int(rng.integers(92, 116))
        specs.append({"kind": "corpus", "source": f"{path.parent.name}/{path.name}",
                      "bucket": ("jig" if meter == "6/8" else "reel") if tune else "chorale",
                      "key": f"{PITCH_CLASSES[(tonic + shift) % 12]} {mode}", "meter": meter,
                      "bpm": float(felt * (1.5 if meter == "6/8" else 1.0)), "shift": shift,
                      "program": [0, 19, 48, 6, 21, 73][len(specs) % 6]})
    return specs


def build(n_songs: int = 300, n_composed: int = 192, n_corpus: int = 300,
          n_rotated: int = 0) -> list[dict[str, Any]]:
    """Render what is missing under bench/out/trainset/; return [{"file", "key", "group"}]."""
    TRAIN.mkdir(parents=True, exist_ok=True)
    picked = TRAIN / "corpus_specs.json"
    corpus = json.loads(picked.read_text()) if picked.exists() else []
    if len(corpus) < n_corpus:  # the picks are drawn in order, so a longer list starts with the shorter one
        corpus = _corpus(n_corpus)
    corpus = corpus[:n_corpus]
    picked.write_text(json.dumps(corpus))
    skip_file = TRAIN / "left_out.json"  # pieces that failed once are not tried again
    skip = set(json.loads(skip_file.read_text())) if skip_file.exists() else set()
    out = []
    groups = (("song", _songs(n_songs)), ("composed", _composed(n_composed)), ("corpus", corpus),
              ("rotated", _rotated(n_rotated)))
    for group, specs in groups:
        for i, spec in enumerate(specs):
            name = "train_" + evalset._name(spec)
            target = TRAIN / f"{name}.flac"
            if name in skip:
                continue
            if not target.exists():
                print(f"rendering {group} {i + 1}/{len(specs)}", file=sys.stderr, flush=True)
                mid = TRAIN / f"{name}.mid"
                try:
                    {"song": evalset._song, "corpus": corpus_midi, "composed": evalset._composed_midi}[spec["kind"]](
                        spec, mid)
                except Exception as exc:  # noqa: BLE001  a score music21 cannot expand: left out
                    print(f"  left out ({type(exc).__name__}): {spec.get('source', name)}", file=sys.stderr)
                    skip.add(name)
                    skip_file.write_text(json.dumps(sorted(skip)))
                    continue
                try:
                    write_audio(target, _render(mid, TRAIN / f"{name}.wav"), subtype="PCM_16")
                except subprocess.TimeoutExpired:  # a few pieces keep fluidsynth busy for minutes: left out
                    print(f"  left out (fluidsynth timed out): {spec.get('source', name)}", file=sys.stderr)
                    skip.add(name)
                    skip_file.write_text(json.dumps(sorted(skip)))
                    continue
                finally:
                    mid.unlink()
            out.append({"file": target.name, "key": spec["key"], "group": group})
    (TRAIN / "manifest.json").write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--songs", type=int, default=300, help="generated songs (default 300)")
    ap.add_argument("--composed", type=int, default=192, help="grym compositions (default 192)")
    ap.add_argument("--corpus", type=int, default=300, help="music21 corpus pieces tried (default 300; "
                    "187 render, where the pool outside the evaluation set ends)")
    ap.add_argument("--rotated", type=int, default=0, help="songs whose chord cycle opens off the tonic (default 0)")
    a = ap.parse_args()
    clips = build(a.songs, a.composed, a.corpus, a.rotated)
    print(f"trainset: {len(clips)} clips", {g: sum(c['group'] == g for c in clips) for g in ("song", "composed",
                                                                                            "corpus", "rotated")})
