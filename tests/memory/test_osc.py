"""/grym/memory/* over real UDP on loopback, against a real server and its real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.osc_client import JobFailed, RunningServer, osc_server  # noqa: F401


def test_add_search_tag_rate_get_forget(osc_server: RunningServer, wav, tmp_path: Path) -> None:  # noqa: F811
    for i, freq in enumerate((220, 230, 900)):
        wav(f"lib/{i}.wav", freq, seconds=1.0)
    with osc_server.client() as c:
        job = c.start_job("/grym/memory/add", str(tmp_path / "lib"), "tags", "loop,Test", "source", "rendered",
                          "provenance", json.dumps({"chain": "reverb"}))
        report = c.wait_job(job)
        assert len(report["added"]) == 3 and report["failed"] == []
        ids = sorted(report["added"])
        # Max sends floats for ints: 3.0 must work as 3.
        matches = c.wait_job(c.start_job("/grym/memory/similar", str(ids[0]), "k", 2.0))
        assert [set(m) for m in matches] == [{"id", "path", "score", "locations"}] * 2
        assert matches[0]["id"] == ids[1] and matches[0]["score"] >= matches[1]["score"]
        # Similar to a file path (known content: compared as its clip, never matching itself).
        by_path = c.wait_job(c.start_job("/grym/memory/similar", str(tmp_path / "lib" / "2.wav"), "k", 5,
                                         "threshold", 0.99999))
        assert all(m["id"] != ids[2] and m["score"] >= 0.99999 for m in by_path)

        assert c.request("/grym/memory/tag", ids[2], "bright, Lead") == ("/grym/memory/tag", [ids[2], '["bright","lead","loop","test"]'])
        assert c.request("/grym/memory/tag", ids[2], "loop", "remove", 1)[1][1] == '["bright","lead","test"]'
        _, (cid, feedback) = c.request("/grym/memory/rate", ids[2], "kept")
        assert cid == ids[2] and json.loads(feedback) == {"rating": None, "kept": True, "rejected": False}
        _, (_, feedback) = c.request("/grym/memory/rate", ids[2], 4)  # a number from Max
        assert json.loads(feedback)["rating"] == 4.0
        taste = c.wait_job(c.start_job("/grym/memory/similar", "kept", "k", 1))
        assert taste[0]["id"] != ids[2]

        _, (clip,) = c.request("/grym/memory/get", ids[2])
        clip = json.loads(clip)
        assert clip["source"] == "rendered" and clip["provenance"] == {"chain": "reverb"} and "features" not in clip
        _, (full,) = c.request("/grym/memory/get", ids[2], "features", 1)
        full = json.loads(full)
        if "result_file" in full:  # the whole analysis is larger than a datagram: it comes as a file
            full = json.loads(Path(full["result_file"]).read_text())
        assert full["features"]["analyzer_version"]
        assert c.request("/grym/memory/forget", ids[2]) == ("/grym/memory/forget", [ids[2], "forgotten"])
        addr, args = c.request("/grym/memory/get", ids[2])
        assert addr == "/grym/error" and args[0] == "/grym/memory/get" and args[2] == "not_found"


@pytest.mark.parametrize("address, args, code, words", [
    ("/grym/memory/get", [12345], "not_found", "no clip with id 12345"),
    ("/grym/memory/rate", [1, "adore"], "bad_args", "kept, rejected or clear"),
    ("/grym/memory/tag", [7, "x"], "not_found", "no clip with id 7"),
    ("/grym/memory/forget", ["one"], "bad_args", "integer"),
    ("/grym/memory/add", ["/etc/passwd"], "path_not_allowed", "outside the allowed folders"),
    ("/grym/memory/similar", ["/etc"], "path_not_allowed", "outside the allowed folders"),
    ("/grym/memory/similar", ["1", "k", 0], "bad_args", "at least 1"),
    ("/grym/memory/add", ["x", "source", "stolen"], "bad_args", "must be one of"),
])
def test_bad_requests_get_clear_errors(osc_server: RunningServer, address, args, code, words) -> None:  # noqa: F811
    with osc_server.client() as c:
        addr, reply = c.request(address, *args)
        assert addr == "/grym/error" and reply[0] == address and reply[2] == code and words in reply[3]
        assert c.request("/grym/system/ping")[0] == "/grym/system/ping"  # the server carries on


def test_a_failing_add_is_a_job_error(osc_server: RunningServer, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "empty").mkdir()
    with osc_server.client() as c:
        with pytest.raises(JobFailed) as info:
            c.wait_job(c.start_job("/grym/memory/add", str(tmp_path / "empty")))
        assert info.value.code == "bad_args" and "no audio files" in info.value.message
