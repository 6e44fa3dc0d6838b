"""`/grym/compose/*` over real UDP: jobs whose result is the file and the notes; session defaults; errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mido

from grym_bridge.compose.theory import parse_key
from tests.osc_client import osc_server  # noqa: F401


def test_chords_job_returns_file_and_notes(tmp_path: Path, osc_server: Any) -> None:  # noqa: F811
    with osc_server.client() as client:
        job = client.start_job("/grym/compose/chords", json.dumps({"key": "A minor", "style": "lofi", "bars": 8,
                                                                   "tempo": 90, "seed": 4}))
        result = client.wait_job(job)
    path = Path(result["path"])
    assert path.is_file() and path.is_relative_to(tmp_path / "data" / "renders" / "midi")
    assert result["key"] == "A minor" and result["tempo"] == 90.0 and len(result["chords"]) == 8
    file_notes = [m.note for m in mido.MidiFile(path) if m.type == "note_on" and m.velocity]
    assert sorted(file_notes) == sorted(n[0] for n in result["notes"])
    assert {p % 12 for p in file_notes} <= parse_key("A minor").pitch_classes


def test_the_session_fills_key_tempo_and_meter(tmp_path: Path, osc_server: Any) -> None:  # noqa: F811
    with osc_server.client() as client:
        for key, value in (("tempo", 97), ("key", "E minor"), ("time_signature", "3/4")):
            assert client.request("/grym/session/set", key, value)[0] == "/grym/session/set"
        job = client.start_job("/grym/compose/melody", "bars", 4, "seed", 2, "out", str(tmp_path / "m.mid"))
        result = client.wait_job(job)
        assert (result["key"], result["tempo"], result["time_signature"]) == ("E minor", 97.0, "3/4")
        # Given values win over the session's.
        job = client.start_job("/grym/compose/bass", "key", "G major", "tempo", 120.0, "seed", 2)
        result = client.wait_job(job)
        assert (result["key"], result["tempo"]) == ("G major", 120.0)
        # A continuation keeps its source's key and meter.
        job = client.start_job("/grym/compose/continue", str(tmp_path / "m.mid"), "bars", 2, "seed", 1)
        result = client.wait_job(job)
        assert result["key"] == "E minor" and result["time_signature"] == "3/4" and result["bars"] == 2


def test_continue_learns_from_a_folder_of_clips(tmp_path: Path, osc_server: Any) -> None:  # noqa: F811
    clips = tmp_path / "clips"
    clips.mkdir()  # the server writes into existing folders only
    with osc_server.client() as client:
        for seed in (1, 2):
            client.wait_job(client.start_job("/grym/compose/melody", "key", "D dorian", "bars", 2, "seed", seed,
                                             "out", str(clips / f"m{seed}.mid")))
        job = client.start_job("/grym/compose/continue", str(clips / "m1.mid"), "bars", 4, "seed", 3,
                               "learn_from", str(clips))
        result = client.wait_job(job)
    assert {n[0] % 12 for n in result["notes"]} <= parse_key("D dorian").pitch_classes
    assert result["bars"] == 4 and result["note_count"] > 0


def test_bad_requests_fail_at_once_with_the_reason(tmp_path: Path, osc_server: Any) -> None:  # noqa: F811
    with osc_server.client() as client:
        addr, args = client.request("/grym/compose/drums", "style", "polka")
        assert addr == "/grym/error" and args[2] == "bad_args" and "use one of pop" in args[3]
        addr, args = client.request("/grym/compose/chords", "key", "H minor")
        assert addr == "/grym/error" and "unknown key" in args[3]
        addr, args = client.request("/grym/compose/chords", "out", "/etc/chords.mid")
        assert addr == "/grym/error" and args[2] == "path_not_allowed"
        addr, args = client.request("/grym/compose/chords", "out", str(tmp_path / "chords.wav"))
        assert addr == "/grym/error" and ".mid" in args[3]
        addr, args = client.request("/grym/compose/chords", "play", 1)
        assert addr == "/grym/error" and "enabled = true" in args[3]
        addr, args = client.request("/grym/compose/continue", str(tmp_path / "nothing.mid"))
        assert addr == "/grym/job/queued"
        failed = client.expect(lambda a, x: a == "/grym/job/error" and x[0] == args[0])
        assert failed[1][1] == "bad_midi" and "does not exist" in failed[1][2]
    assert not list(tmp_path.glob("*.mid"))
