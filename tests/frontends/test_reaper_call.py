"""`grym call`: the standard-library client the REAPER actions (and shell scripts) use, against a real server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from grym_bridge.call import decode_packet, encode_message, typed_arg
from grym_bridge.cli import cli
from tests.osc_client import RunningServer, free_port, osc_server  # noqa: F401

GRYM = str(Path(sys.executable).parent / "grym")


def grym_call(server: RunningServer | None, *args: str, port: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    proc = subprocess.run([GRYM, "call", *args, "--port", str(port or server.port)], capture_output=True, text=True,
                          timeout=60)
    assert proc.stderr == "", proc.stderr
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()]


def test_encoding_matches_python_osc() -> None:
    for args in ([7, "A minor", 120.5, -3], [True, False, None], [2 ** 40, ""], []):
        builder = OscMessageBuilder("/grym/test")
        for a in args:
            builder.add_arg(a)
        assert encode_message("/grym/test", args) == builder.build().dgram, args
    bundle = OscBundleBuilder(IMMEDIATELY)
    for i in range(3):
        msg = OscMessageBuilder(f"/grym/m{i}")
        msg.add_arg(i)
        msg.add_arg("x" * i)
        msg.add_arg(0.5, "d")
        bundle.add_content(msg.build())
    assert list(decode_packet(bundle.build().dgram)) == [(f"/grym/m{i}", [i, "x" * i, 0.5]) for i in range(3)]


def test_words_become_numbers_only_when_they_are_numbers() -> None:
    assert [typed_arg(w) for w in ["3", "-4", "2.5", "A minor", "nan", "1e3", "0x10"]] == \
        [3, -4, 2.5, "A minor", "nan", 1000.0, "0x10"]


def test_ping_reply(osc_server: RunningServer) -> None:  # noqa: F811
    code, events = grym_call(osc_server, "/grym/system/ping")
    assert code == 0
    assert [e["event"] for e in events] == ["sent", "reply"]
    assert events[1]["args"] == ["0.1.0"] and events[1]["address"] == "/grym/system/ping"


def test_a_job_reports_queued_progress_and_done_to_the_out_file(osc_server: RunningServer, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "run.jsonl"
    code, stdout = grym_call(osc_server, "/grym/compose/chords", "key", "A minor", "bars", "2", "tempo", "90",
                             "--out", str(out))
    assert code == 0 and stdout == []
    events = [json.loads(line) for line in out.read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["sent", "queued"] and kinds[-1] == "done" and "progress" in kinds
    job = events[1]["job_id"]
    assert all(e["job_id"] == job for e in events[1:])
    result = events[-1]["result"]
    assert result["key"] == "A minor" and result["bars"] == 2 and Path(result["path"]).is_file()


def test_a_job_that_fails_at_once_is_reported_every_time(osc_server: RunningServer) -> None:  # noqa: F811
    """The queued reply and the job's error can arrive in one read; neither may be lost (it once was)."""
    for _ in range(3):
        code, events = grym_call(osc_server, "/grym/generate/text", "warm pad", "bars", "2", "tempo", "90.0",
                                 "--job-timeout", "30")
        assert code == 1
        assert events[-1]["event"] == "error" and events[-1]["code"] == "model_unavailable", events
        assert "grym models pull" in events[-1]["message"]


def test_a_bad_request_gets_the_servers_error(osc_server: RunningServer) -> None:  # noqa: F811
    code, events = grym_call(osc_server, "/grym/compose/chords", "bars", "many")
    assert code == 1
    assert events[-1]["event"] == "error" and events[-1]["code"] == "bad_args" and "bars" in events[-1]["message"]
    code, events = grym_call(osc_server, "/grym/compose/chord")
    assert events[-1]["code"] == "unknown_address" and "/grym/compose/chords" in events[-1]["message"]


def test_no_server_says_how_to_start_one() -> None:
    code, events = grym_call(None, "/grym/system/ping", port=free_port())
    assert code == 3
    assert events == [{"event": "error", "code": "not_running", "message": events[0]["message"]}]
    assert "grym serve" in events[0]["message"]


def test_args_file_keeps_quotes_and_spaces(osc_server: RunningServer, tmp_path: Path) -> None:  # noqa: F811
    project = "Bob's \"best\" mix, take 2"
    args = tmp_path / "args.json"
    args.write_text(json.dumps(["project", project]))
    code, _ = grym_call(osc_server, "/grym/session/set", "--args-file", str(args))
    assert code == 0
    code, events = grym_call(osc_server, "/grym/session/get")
    assert events[-1]["result"]["project"] == project


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run([GRYM, "call", "grym/system/ping"], capture_output=True, text=True)
    assert proc.returncode == 2 and "must start with '/'" in proc.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{\"not\": \"a list\"}")
    proc = subprocess.run([GRYM, "call", "/grym/system/ping", "--args-file", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2 and "JSON list" in proc.stderr


def test_call_does_not_import_the_cli(osc_server: RunningServer) -> None:  # noqa: F811
    code = ("import sys\n"
            f"sys.argv = ['grym', 'call', '/grym/system/ping', '--port', '{osc_server.port}']\n"
            "from grym_bridge.__main__ import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    rc = e.code\n"
            "heavy = sorted(m for m in ('click', 'grym_bridge.cli', 'grym_bridge.config', 'pythonosc', 'numpy')"
            " if m in sys.modules)\n"
            "print('RESULT', rc, heavy)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.stdout.splitlines()[-1] == "RESULT 0 []", proc.stdout + proc.stderr


def test_the_click_command_reaches_the_same_client(osc_server: RunningServer) -> None:  # noqa: F811
    result = CliRunner().invoke(cli, ["call", "/grym/system/ping", "--port", str(osc_server.port)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[-1])["args"] == ["0.1.0"]


@pytest.mark.parametrize("argv", [["--help"], ["call", "--help"]])
def test_help_names_call(argv: list[str]) -> None:
    proc = subprocess.run([GRYM, *argv], capture_output=True, text=True)
    assert proc.returncode == 0 and "call" in proc.stdout
