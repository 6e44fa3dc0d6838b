"""`grym ask` and `grym health` from the command line."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from click.testing import CliRunner

from grym_bridge.audio_io import write_audio
from grym_bridge.cli import cli
from tests.osc_client import RunningServer, osc_server  # noqa: F401
from tests.synth import chord_progression


def grym(tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), *args], env=env)


def test_ask_json_has_plan_result_and_explanation(tmp_path: Path) -> None:
    res = grym(tmp_path, "ask", "write a chord progression in A minor at 90 bpm, 4 bars", "--json")
    assert res.exit_code == 0, res.output
    answer = json.loads(res.stdout)
    assert set(answer) == {"plan", "result", "explanation"}
    assert answer["plan"]["steps"][0]["args"] == {"part": "chords", "tempo": 90.0, "key": "A minor", "bars": 4}
    made = Path(answer["result"]["results"]["compose"]["path"])
    assert made.is_file() and made.is_relative_to(tmp_path / "data" / "renders")
    assert answer["explanation"].startswith("Compose chords in A minor at 90 BPM 4 bars long.")


def test_ask_with_a_file_prints_what_it_wrote(tmp_path: Path) -> None:
    loop = write_audio(tmp_path / "loop.wav", chord_progression("E minor", bpm=100, bars=2))
    res = grym(tmp_path, "ask", "give me a melody over this", "--file", str(loop))
    assert res.exit_code == 0, res.output
    assert "Compose melody in the clip's key" in res.stdout and "wrote " in res.stdout


def test_ask_errors_are_one_line(tmp_path: Path) -> None:
    res = grym(tmp_path, "ask", "make it brighter")
    assert res.exit_code == 1 and res.output.startswith("error: 'make it brighter' works on a clip")
    res = grym(tmp_path, "ask", "make it brighter", "--file", str(tmp_path / "missing.wav"))
    assert res.exit_code == 1 and "no such file" in res.output
    assert "Traceback" not in res.output


def test_ask_plan_only_runs_nothing(tmp_path: Path) -> None:
    res = grym(tmp_path, "ask", "program some drums at 128 bpm", "--plan-only", "--json")
    # arguments left unset (no key for drums) are left out of the checked plan
    assert json.loads(res.stdout)["steps"] == [{"step": "compose", "args": {"part": "drums", "tempo": 128.0}}]
    assert not (tmp_path / "data" / "renders" / "midi").exists()


def test_health_local(tmp_path: Path) -> None:
    res = grym(tmp_path, "health", "--local", "--json")
    status = json.loads(res.stdout)
    assert status["source"] == "this machine"
    assert res.exit_code == {"healthy": 0, "warning": 1, "critical": 2}[status["state"]]
    assert 0 < status["readings"]["memory_percent"] < 100 and status["readings"]["queue_depth"] is None


def test_health_asks_the_running_server(osc_server: RunningServer, tmp_path: Path) -> None:  # noqa: F811
    port = str(osc_server.port)
    while osc_server.services.orchestrator.health.status.readings.memory_percent is None:
        time.sleep(0.02)  # the server's first health sample
    res = grym(tmp_path, "health", "--json", env={"GRYM_SERVER_OSC_PORT": port})
    status = json.loads(res.stdout)
    assert status["source"] == f"server 127.0.0.1:{port}"
    assert status["readings"]["queue_depth"] == 0.0  # only the server knows its queue
    nobody = grym(tmp_path, "health", "--json", "--timeout", "0.2", env={"GRYM_SERVER_OSC_PORT": "9"})
    assert json.loads(nobody.stdout)["source"] == "this machine (no server answered)"


def test_health_answers_while_a_daw_on_this_machine_has_said_hello(osc_server: RunningServer,  # noqa: F811
                                                                    tmp_path: Path) -> None:
    """A Max device's hello sets the reply port for its IP (for oscsend-style clients); `grym health` must not
    lose the server's answer to that port."""
    port = str(osc_server.port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as max_udpreceive, osc_server.client() as max_udpsend:
        max_udpreceive.bind(("127.0.0.1", 0))
        max_udpreceive.settimeout(5)
        max_udpsend.send("/grym/system/hello", 1, max_udpreceive.getsockname()[1])
        assert b"/grym/system/hello" in max_udpreceive.recv(65536)  # the hello's answer came to the reply port
        res = grym(tmp_path, "health", "--json", env={"GRYM_SERVER_OSC_PORT": port})
    assert json.loads(res.stdout)["source"] == f"server 127.0.0.1:{port}", res.output


def test_parts_of_one_request_share_a_seed_so_they_fit(tmp_path: Path) -> None:
    res = grym(tmp_path, "ask", "write chords and a bassline in G minor", "--json")
    steps = json.loads(res.stdout)["result"]["steps"]
    chords, bass = (s["result"] for s in steps)
    assert chords["seed"] == bass["seed"] and chords["chords"] == bass["chords"]


def test_ask_answers_a_question_in_words(tmp_path: Path) -> None:
    loop = write_audio(tmp_path / "amin.wav", chord_progression("A minor", bpm=100, bars=4))
    res = grym(tmp_path, "ask", "what key is this", "--file", str(loop))
    assert res.exit_code == 0, res.output
    assert "The key is A minor." in res.stdout.splitlines()
    res = grym(tmp_path, "ask", "how loud is it?", "--file", str(loop))
    assert res.exit_code == 0 and " LUFS integrated, true peak " in res.stdout
