"""A clip's identity is its decoded audio (samples, rate, channels), not its file's bytes; a store
keyed by the older byte hashes is re-keyed without duplicates; a path is listed once.

Runs on every backend (`memory` is parametrized: SQLite, PostgreSQL, PgBouncer, pgvector).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from grym_bridge.memory.checks import content_hash_of, legacy_hash_of
from grym_bridge.memory.ingest import add_paths
from grym_bridge.memory.store import MemoryStore


def _pcm16(seed: int, frames: int = 6000, channels: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((frames, channels)) * 6000).clip(-32768, 32767).astype(np.int16)


def _write(path: Path, samples: np.ndarray, *, sr: int = 44100, title: str | None = None,
           fmt: str | None = None) -> Path:
    with sf.SoundFile(path, "w", sr, samples.shape[1], "PCM_16", format=fmt) as out:
        if title is not None:
            out.title = title  # a LIST/INFO chunk: the header differs, the samples do not
        out.write(samples)
    return path


def test_same_samples_under_different_headers_are_one_clip(memory: MemoryStore, tmp_path: Path) -> None:
    x = _pcm16(1)
    plain = _write(tmp_path / "plain.wav", x)
    titled = _write(tmp_path / "titled.wav", x, title="take 2, rendered again")
    flac = _write(tmp_path / "same.flac", x)
    assert len({p.read_bytes() for p in (plain, titled, flac)}) == 3  # three different files
    assert content_hash_of(plain) == content_hash_of(titled) == content_hash_of(flac)

    first = memory.add_clip(plain, tags=["a"])
    again = memory.add_clip(titled, tags=["b"])
    report = add_paths(memory, [flac], analyzer=None)
    assert again.id == first.id and report.known == [first.id] and not report.added
    assert memory.get(first.id).tags == ("a", "b")
    assert memory.get(first.id).path == str(flac)  # the latest path wins
    assert [c.id for c in memory.list_clips()] == [first.id]


def test_different_audio_is_two_clips(memory: MemoryStore, tmp_path: Path) -> None:
    x = _pcm16(2)
    y = x.copy()
    y[1000, 0] += 1  # one sample, one step of PCM16
    a = memory.add_clip(_write(tmp_path / "a.wav", x))
    b = memory.add_clip(_write(tmp_path / "b.wav", y))
    mono = memory.add_clip(_write(tmp_path / "mono.wav", x[:, :1]))
    rate = memory.add_clip(_write(tmp_path / "rate.wav", x, sr=48000))  # same numbers, another rate
    assert len({a.id, b.id, mono.id, rate.id}) == 4


def test_a_store_keyed_by_byte_hashes_is_rekeyed_not_duplicated(memory: MemoryStore, tmp_path: Path) -> None:
    x = _pcm16(3)
    old_file = _write(tmp_path / "old.wav", x)
    other = _write(tmp_path / "other.wav", _pcm16(4))
    # What an earlier grym-bridge stored: each clip keyed by the SHA-256 of its file's bytes.
    legacy = memory.add_clip(old_file, tags=["kept"], content_hash=legacy_hash_of(old_file))
    legacy_other = memory.add_clip(other, content_hash=legacy_hash_of(other))
    memory.rate(legacy.id, 5)
    assert legacy.content_hash != content_hash_of(old_file)

    report = add_paths(memory, [old_file], analyzer=None)  # `grym memory add` after the upgrade
    assert report.known == [legacy.id] and not report.added
    clip = memory.get(legacy.id)
    assert clip.content_hash == content_hash_of(old_file)  # re-keyed, tags and rating kept
    assert clip.tags == ("kept",) and clip.feedback.rating == 5

    # add_clip straight from a file (renders, generations) re-keys too
    assert memory.add_clip(other).id == legacy_other.id
    # and now a re-written copy of the same samples is the same clip
    assert memory.add_clip(_write(tmp_path / "copy.wav", x, title="copy")).id == legacy.id
    assert sorted(c.id for c in memory.list_clips()) == sorted([legacy.id, legacy_other.id])


def test_a_path_is_listed_once_after_its_file_is_overwritten(memory: MemoryStore, tmp_path: Path) -> None:
    path = tmp_path / "render.wav"
    first = memory.add_clip(_write(path, _pcm16(5)))
    second = memory.add_clip(_write(path, _pcm16(6)))  # the same name rendered again, other audio
    assert second.id != first.id
    listed = [c.path for c in memory.list_clips()]
    assert listed == [str(path)]
    assert [c.id for c in memory.list_clips()] == [second.id]
    assert memory.get(first.id).id == first.id  # the older clip is still there by id

    # the older audio written back at that path: it is the one listed again, still once
    back = memory.add_clip(_write(path, _pcm16(5)))
    assert back.id == first.id
    assert [c.id for c in memory.list_clips()] == [first.id]
