"""The evaluation set's corpus pieces: Bach chorales and fiddle tunes from music21, with their truth.

Used by bench/evalset.py (see there for the whole set). A piece's key is its key signature's major
or relative minor, whichever the final bass note names; pieces that end elsewhere, change meter or
are in a meter other than 4/4, 2/2, 2/4, 3/4, 6/8 or 12/8 are left out. Each is transposed so the
tonics spread over the circle of fifths and given a tempo; fiddle tunes get a second player an
octave and a half below.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import mido

from grym_bridge.analysis.harmony import PITCH_CLASSES, parse_key


def _meter_class(ratio: str) -> str | None:
    return {"4/4": "4/4", "2/2": "4/4", "2/4": "4/4", "3/4": "3/4", "6/8": "6/8", "12/8": "6/8"}.get(ratio)


def _corpus_truth(score: Any) -> tuple[str, str] | None:
    """(key, meter class) of a music21 score, or None when either is unclear."""
    ks = list(score.recurse().getElementsByClass("KeySignature"))
    ts = list(score.recurse().getElementsByClass("TimeSignature"))
    if not ks or not ts or _meter_class(ts[0].ratioString) is None:
        return None
    if len({t.ratioString for t in ts}) > 1:
        return None
    notes = [n for n in score.flatten().notes]
    if not notes:
        return None
    end = max(n.offset for n in notes)
    last = [p for n in notes if n.offset == end for p in n.pitches]
    bass = min(last, key=lambda p: p.ps).pitchClass
    sig = ks[0]
    mode = getattr(sig, "mode", None)
    major, minor = sig.asKey("major").tonic.pitchClass, sig.asKey("minor").tonic.pitchClass
    if mode == "minor" and bass == minor or (mode in (None, "major") and bass == major):
        found = "minor" if mode == "minor" else "major"
    elif mode is None and bass == minor:
        found = "minor"
    else:
        return None
    tonic = minor if found == "minor" else major
    return f"{PITCH_CLASSES[tonic]} {found}", _meter_class(ts[0].ratioString)


def pick_pieces(pool: list[Path], chorales: list[Path], wanted: dict[str, int],
                used: set[str] | frozenset[str] = frozenset()) -> list[tuple[Path, str, str, str]]:
    """(path, bucket, key, meter) of pieces from `pool`, in order, until each bucket has its `wanted` count.

    Buckets: chorale44 and chorale34 (Bach chorales in 4/4 and 3/4), jig (6/8 tunes named Jig), reel
    (4/4 Reels and Hornpipes). Pieces without a clear key and meter, and sources in `used`, are skipped.
    """
    from music21 import corpus

    counts = dict.fromkeys(wanted, 0)
    picks: list[tuple[Path, str, str, str]] = []
    for path in pool:
        if f"{path.parent.name}/{path.name}" in used:
            continue
        kind = "chorale" if path in chorales else ("jig" if "Jig" in path.stem else "reel" if (
            "Reel" in path.stem or "Hornpipe" in path.stem) else None)
        if kind is None:
            continue
        truth = _corpus_truth(corpus.parse(path))
        if truth is None:
            continue
        key, meter = truth
        bucket = {"chorale": "chorale44" if meter == "4/4" else "chorale34" if meter == "3/4" else None,
                  "jig": "jig" if meter == "6/8" else None, "reel": "reel" if meter == "4/4" else None}[kind]
        if bucket is None or counts[bucket] >= wanted[bucket]:
            continue
        counts[bucket] += 1
        picks.append((path, bucket, key, meter))
        if counts == wanted:
            break
    return picks


def corpus_specs() -> list[dict[str, Any]]:
    try:
        from music21 import corpus
    except ImportError:
        print("music21 is not installed (pip install music21): corpus pieces left out", file=sys.stderr)
        return []
    specs: list[dict[str, Any]] = []
    chorales = sorted(p for p in corpus.getComposer("bach") if p.suffix == ".mxl")
    tunes = sorted(corpus.getComposer("ryansMammoth"))
    wanted = {"chorale44": 14, "chorale34": 6, "jig": 10, "reel": 6}
    picks = pick_pieces(chorales[::3] + tunes[::5], chorales, wanted)
    for i, (path, bucket, key, meter) in enumerate(picks):
        tonic, mode = parse_key(key)
        target = 7 * i % 12
        shift = (target - tonic + 6) % 12 - 6  # the smallest move to the target tonic
        felt = {"chorale44": 66 + 4 * (i % 7), "chorale34": 84 + 6 * (i % 5), "jig": 96 + 4 * (i % 5),
                "reel": 96 + 6 * (i % 5)}[bucket]
        bpm = felt * (1.5 if meter == "6/8" else 1.0)
        specs.append({"kind": "corpus", "source": f"{path.parent.name}/{path.name}", "bucket": bucket,
                      "key": f"{PITCH_CLASSES[(tonic + shift) % 12]} {mode}", "meter": meter, "bpm": float(bpm),
                      "shift": shift, "program": [0, 19, 48, 6, 21, 73][i % 6]})
    return specs


def corpus_midi(spec: dict[str, Any], path: Path) -> None:
    from music21 import corpus

    score = corpus.parse(spec["source"].split("/", 1)[0] + "/" + spec["source"].split("/", 1)[1].rsplit(".", 1)[0])
    score.write("midi", fp=str(path))
    mid = mido.MidiFile(str(path))
    for track in mid.tracks:
        for i, msg in enumerate(track):
            if msg.type == "set_tempo":
                track[i] = msg.copy(tempo=mido.bpm2tempo(spec["bpm"]))
            elif msg.type in ("note_on", "note_off") and msg.channel != 9:
                track[i] = msg.copy(note=min(127, max(0, msg.note + spec["shift"])))
            elif msg.type == "program_change" and msg.channel != 9:
                track[i] = msg.copy(program=spec["program"])
    if not any(m.type == "set_tempo" for tr in mid.tracks for m in tr):
        mid.tracks[0].insert(0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(spec["bpm"])))
    for ch in range(16):  # parts without an instrument get the chosen one
        if ch != 9:
            mid.tracks[0].insert(0, mido.Message("program_change", channel=ch, program=spec["program"], time=0))
    # a fiddle tune is one line: a bass an octave and a half below doubles it (a second player)
    if spec["bucket"] in ("jig", "reel"):
        extra = mido.MidiTrack()
        extra.append(mido.Message("program_change", channel=5, program=32, time=0))
        for track in mid.tracks:
            for msg in track:
                if msg.type in ("note_on", "note_off") and msg.channel != 9:
                    extra.append(msg.copy(channel=5, note=max(0, msg.note - 24),
                                          velocity=min(msg.velocity, 70) if msg.type == "note_on" else 0))
                elif msg.time:
                    extra.append(mido.MetaMessage("marker", text="", time=msg.time))
        mid.tracks.append(extra)
    mid.save(str(path))


