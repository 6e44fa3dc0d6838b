"""Local keys over time: where a piece modulates, as segments of one key each.

From the beat-synchronous chroma and bass chroma (`harmony.beat_chroma`): each beat's profile,
summed over a window of neighbouring beats, is scored against the 24 keys (profile correlation plus
the fit to each key's tonic triad); a Viterbi path over the 24 keys, paying a penalty for each
change of key, keeps passing and borrowed chords from making segments. A later segment is named by
the key its beats' path spent longest in; neighbours in the same key are merged.

The clip's overall `key` is the opening key, the first segment's (the clip-wide estimate, whose
opening cue and reading of the chords settle relative and fifth confusions, names it): a session
starts there, and a clip in one key keeps the key it had before segments existed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grym_bridge.analysis import harmony

# Chosen on the tune part of bench/evalset.py (8 modulating songs for boundaries and keys, 72
# single-key clips for not splitting; bench/analysis.py prints the rows) and on synthetic songs that
# move up a tone or a semitone: 7 of 8 boundaries within two bars, 6 of 8 pairs of keys right, 70 of
# 72 single-key clips one segment. A window of 6 beats did as well on the tune part (8, 7, 70) but
# followed the chords of songs with a chord per bar; 10 or 12 beats missed modulations.
#: Beats on each side summed into a beat's local profile: a 4-chord cycle of one chord per 4/4 bar.
HALF_WINDOW_BEATS = 8
#: What a change of key costs on the Viterbi path, in summed per-beat scores: a new key must fit
#: clearly better for several beats before the path moves there.
SWITCH_PENALTY = 6.0
#: Share of the bass in the local profile: half (the clip's key uses a quarter); the bass names the
#: local tonic, which tells a modulation to the relative key (the same seven notes) from none.
LOCAL_BASS_WEIGHT = 0.5
#: Weight of the local profile's fit to each key's tonic triad, added to its profile correlation.
TONIC_TRIAD_WEIGHT = 0.5
#: Segments shorter than this many beats are merged into a neighbour (a bar or two of borrowed chords).
MIN_SEGMENT_BEATS = 8


def local_profiles(seg_chroma: np.ndarray, seg_bass: np.ndarray, weights: np.ndarray,
                   half_window: int | None = None) -> np.ndarray:
    """Per beat segment, the duration-weighted treble and bass profile of the beats around it, (n, 12)
    (`half_window` beats either side, `HALF_WINDOW_BEATS` when None)."""
    half_window = HALF_WINDOW_BEATS if half_window is None else half_window
    def share(x: np.ndarray) -> np.ndarray:
        total = float(x.sum())
        return x / total if total > 0 else x

    mixed = (1 - LOCAL_BASS_WEIGHT) * share(seg_chroma * weights[:, None]) + \
        LOCAL_BASS_WEIGHT * share(seg_bass * weights[:, None])
    csum = np.concatenate((np.zeros((1, 12)), np.cumsum(mixed, axis=0)))
    idx = np.arange(mixed.shape[0])
    return csum[np.minimum(idx + half_window + 1, idx.size)] - csum[np.maximum(idx - half_window, 0)]


def local_key_scores(profiles: np.ndarray) -> np.ndarray:
    """(n, 24) per-beat scores of the keys (the order of `harmony.key_scores`): profile correlation
    plus the fit to each key's tonic triad; 0 for beats with nothing around them."""
    templates, _names = harmony._key_templates()
    norms = np.linalg.norm(profiles, axis=1, keepdims=True)
    unit = profiles / np.where(norms > 0, norms, 1.0)
    scores = harmony._zscore(profiles) @ templates.T / 12.0 + TONIC_TRIAD_WEIGHT * (unit @ harmony._tonic_triads().T)
    scores[norms[:, 0] <= 0] = 0.0
    return scores


def viterbi(scores: np.ndarray, penalty: float) -> np.ndarray:
    """The state path maximising the summed `scores` (n, states) less `penalty` per change of state."""
    n, states = scores.shape
    back = np.zeros((n, states), dtype=np.int64)
    total = scores[0].copy()
    for t in range(1, n):
        best = int(np.argmax(total))
        stay = total
        move = total[best] - penalty
        back[t] = np.where(stay >= move, np.arange(states), best)
        total = np.maximum(stay, move) + scores[t]
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(np.argmax(total))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def _runs(path: np.ndarray) -> list[tuple[int, int]]:
    cuts = np.flatnonzero(np.diff(path)) + 1
    bounds = np.concatenate(([0], cuts, [path.size]))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def _drop_short(runs: list[tuple[int, int]], min_beats: int) -> list[tuple[int, int]]:
    """Merge runs shorter than `min_beats` into the previous run (the first into the next)."""
    out: list[tuple[int, int]] = []
    for a, b in runs:
        if out and b - a < min_beats:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    if len(out) > 1 and out[0][1] - out[0][0] < min_beats:
        out[1] = (out[0][0], out[1][1])
        out.pop(0)
    return out


def _refine(runs: list[tuple[int, int]], keys: list[int], scores: np.ndarray) -> list[tuple[int, int]]:
    """Move each boundary, within the window around it, to where the two keys' per-beat scores cross.

    The smoothed scores that find a change blur where it is (a strong new key can pull it half a
    window early); the best split of the unsmoothed scores between the two keys puts it back.
    """
    out = list(runs)
    for i in range(1, len(out)):
        (a, b), (_, c) = out[i - 1], out[i]
        lo, hi = max(a + 1, b - HALF_WINDOW_BEATS), min(c - 1, b + HALF_WINDOW_BEATS)
        if hi <= lo:
            continue
        # splitting at p scores sum(prev key over lo..p) + sum(next key over p..hi)
        gain = np.concatenate(([0.0], np.cumsum(scores[lo:hi, keys[i - 1]] - scores[lo:hi, keys[i]])))
        p = lo + int(np.argmax(gain))
        out[i - 1], out[i] = (a, p), (p, c)
    return out


def key_segments(seg_chroma: np.ndarray, seg_bass: np.ndarray, seg_times: np.ndarray, duration: float,
                 key: harmony.Key, chords: list[str] | None = None,
                 key_chroma: np.ndarray | None = None) -> list[dict[str, Any]]:
    """`[{"start", "end", "key", "confidence"}]` in seconds, covering the clip; [] where `key` has no name.

    `seg_chroma`, `seg_bass` and `seg_times` come from `harmony.beat_chroma` (segment 0 is the
    lead-in before the first beat). A clip in one key gives one segment with `key`'s name and
    confidence (`key` is the clip-wide estimate); in a clip that modulates the first segment's key
    is estimated the same way on the opening segment alone (with `chords`, the label per beat
    segment, as the clip's key uses them), and is the clip's key. `key_chroma` is the beat chroma the
    keys are read from where that is not `seg_chroma` (the analyser's peak chroma); the boundaries and
    the no-key gate read `seg_chroma`.
    """
    if key.name is None:
        return []
    whole = [{"start": 0.0, "end": round(duration, 3), "key": key.name, "confidence": round(key.confidence, 3)}]
    ends = np.append(seg_times[1:], duration)
    weights = np.maximum(ends - seg_times, 0.0)
    if seg_chroma.shape[0] < 2 * MIN_SEGMENT_BEATS:
        return whole
    path = viterbi(local_key_scores(local_profiles(seg_chroma, seg_bass, weights)), SWITCH_PENALTY)
    runs = _drop_short(_runs(path), MIN_SEGMENT_BEATS)
    if len(runs) == 1:
        return whole
    states = [int(np.argmax(np.bincount(path[a:b], minlength=24))) for a, b in runs]
    runs = _refine(runs, states, local_key_scores(local_profiles(seg_chroma, seg_bass, weights, 1)))
    names = harmony._key_templates()[1]
    kc = seg_chroma if key_chroma is None else key_chroma
    segments: list[dict[str, Any]] = []
    for i, ((a, b), state) in enumerate(zip(runs, states)):
        if i == 0:
            # the opening key as the clip's key is found (profile and opening cue), on the opening segment
            found = harmony.estimate_key(kc[a:b], weights[a:b] > 0, seg_bass[a:b],
                                         harmony.edge_chroma(kc[a:b], seg_bass[a:b]), weights[a:b],
                                         chords[a:b] if chords else None,
                                         gate_chroma=seg_chroma[a:b])
            name, confidence = found.name or key.name, found.confidence
        else:  # a later segment: the key its beats' path spent longest in
            name = names[state]
            confidence = harmony.estimate_key(kc[a:b], weights[a:b] > 0, seg_bass[a:b],
                                              weights=weights[a:b]).confidence
        start = 0.0 if i == 0 else float(seg_times[a])
        end = duration if i == len(runs) - 1 else float(seg_times[b])
        if segments and segments[-1]["key"] == name:
            segments[-1]["end"] = round(end, 3)
            continue
        segments.append({"start": round(start, 3), "end": round(end, 3), "key": name,
                         "confidence": round(float(confidence), 3)})
    return segments
