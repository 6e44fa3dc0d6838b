"""Across test hosts (network namespaces on a private switch): discovery, the token gate, and the
relay end to end. Nothing here touches the machine's own interfaces."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest
import soundfile as sf

from tests.network.netns import NetnsHost

OSC_PORT = 9130
RELAY_PORT = 19130


class Output:
    """A process's stdout lines (JSON parsed when they are JSON), read in the background."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[Any] = queue.Queue()
        self.seen: list[Any] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.lines.put(json.loads(line))
            except json.JSONDecodeError:
                self.lines.put(line.rstrip("\n"))

    def expect(self, check: Callable[[Any], bool], timeout: float = 30.0) -> Any:
        for item in self.seen:
            if check(item):
                return item
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                item = self.lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                err = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr else ""
                raise AssertionError(f"expected output did not come; got {self.seen}; stderr: {err[-2000:]}") from None
            self.seen.append(item)
            if check(item):
                return item

    def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()


def serve_on(host: NetnsHost, root: Path, name: str, token: str | None = None) -> Output:
    """`grym serve` on the host's LAN address (so: advertised, token required); returns once ready.

    The bridge may open only its own data folder, so a request naming the other host's file
    works only through the relay's upload. Without `token` it generates its own.
    """
    data = root / host.ns
    env = {"GRYM_PATHS_ALLOWED_ROOTS": str(data), "GRYM_NETWORK_NAME": name}
    if token:
        env["GRYM_NETWORK_TOKEN"] = token
    out = Output(host.python("-m", "grym_bridge", "--data-dir", str(data), "serve", "--host", host.address,
                             "--osc-port", str(OSC_PORT), "--log-level", "warning", env=env))
    out.expect(lambda line: line == "Ready. Press Ctrl-C to stop.", timeout=60)
    return out


def token_of(root: Path, host: NetnsHost) -> str:
    return (root / host.ns / "network_token").read_text().strip()


def test_bridges_appear_change_and_disappear_across_hosts(lan: list[NetnsHost], tmp_path: Path) -> None:
    a, b, c = lan
    watch = Output(a.python("-m", "tests.network.agent", "browse", "--interface", a.address, "--seconds", "120"))
    watch.expect(lambda e: isinstance(e, dict) and e.get("event") == "browsing")

    serve_b = serve_on(b, tmp_path, "bridge b")
    assert len(token_of(tmp_path, b)) >= 16  # generated on first use, beyond loopback
    seen = watch.expect(lambda e: isinstance(e, dict) and e.get("name") == "bridge b" and e["event"] == "added")
    assert seen["addresses"] == [b.address] and seen["osc"] == OSC_PORT and seen["rpc"] == 9131 and seen["token"]

    fake_c = Output(c.python("-m", "tests.network.agent", "advertise", "--address", c.address, "--name", "bridge c"))
    fake_c.expect(lambda e: isinstance(e, dict) and e.get("event") == "advertised")
    seen = watch.expect(lambda e: isinstance(e, dict) and e.get("name") == "bridge c" and e["event"] == "added")
    assert seen["addresses"] == [c.address] and seen["health"] == "healthy"

    listing = a.python("-m", "grym_bridge", "discover", "--interface", a.address, "--timeout", "2", "--json")
    stdout, stderr = listing.communicate(timeout=60)
    assert listing.returncode == 0, stderr
    found = {bridge["name"]: bridge for bridge in json.loads(stdout)}
    assert found["bridge b"]["addresses"] == [b.address] and found["bridge c"]["addresses"] == [c.address]

    fake_c.say("health warning")
    watch.expect(lambda e: isinstance(e, dict) and e.get("name") == "bridge c" and e["event"] == "updated"
                 and e["health"] == "warning")
    fake_c.say("quit")
    watch.expect(lambda e: isinstance(e, dict) and e.get("name") == "bridge c" and e["event"] == "removed")

    serve_b.proc.send_signal(signal.SIGINT)
    serve_b.expect(lambda line: isinstance(line, str) and line.startswith("Stopped"), timeout=30)
    watch.expect(lambda e: isinstance(e, dict) and e.get("name") == "bridge b" and e["event"] == "removed")


def test_token_gate_and_relay_end_to_end_with_failover(lan: list[NetnsHost], tmp_path: Path, midi_clip: Path,
                                                       wav_clip: Path) -> None:
    a, b, c = lan
    token = "studio-token-" + "7" * 20  # one studio, one token: set in each bridge's config
    serve_b = serve_on(b, tmp_path, "bridge b", token)
    serve_c = serve_on(c, tmp_path, "bridge c", token)

    gate = Output(a.python("-m", "tests.network.agent", "osc", "--host", b.address, "--port", str(OSC_PORT),
                           "--token", token))
    steps = {s["step"]: s["reply"] for s in (gate.expect(lambda e, k=k: isinstance(e, dict) and e["step"] == k)
                                              for k in ("ping without hello", "hello with a wrong token",
                                                        "hello with the token", "ping after hello"))}
    for refused in ("ping without hello", "hello with a wrong token"):
        address, args = steps[refused]
        assert address == "/grym/error" and args[2] == "unauthorized", steps
    assert steps["hello with the token"][1][0] == "ok" and steps["ping after hello"][0] == "/grym/system/ping"
    for step in ("udp ping", "udp hello with the token", "udp set after hello"):  # issue 14.9: no reflection
        udp = gate.expect(lambda e, k=step: isinstance(e, dict) and e.get("step") == k)
        assert udp["answered"] <= udp["sent"], udp
    session = gate.expect(lambda e: isinstance(e, dict) and e.get("step") == "session after udp")["reply"]
    assert session[0] == "/grym/session/get" and "F minor" not in session[1][0]  # the UDP set never ran

    relay_dir = tmp_path / "relay-downloads"
    relay = Output(a.python("-m", "grym_bridge", "--data-dir", str(tmp_path / a.ns), "relay", "--port", str(RELAY_PORT),
                            "--interface", a.address, "--token", token, "--dir", str(relay_dir),
                            env={"GRYM_PATHS_ALLOWED_ROOTS": str(midi_clip.parent)}))
    relay.expect(lambda line: line == "Ready. Press Ctrl-C to stop.", timeout=60)

    chain = json.dumps([{"plugin": "Gain", "params": {"gain_db": -6.0}}])
    jobs = [["/grym/analyze/file", [str(wav_clip)]], ["/grym/fx/render", [str(wav_clip), chain]],
            ["/grym/compose/continue", [str(midi_clip), "bars", 4, "seed", 9]]]
    job = Output(a.python("-m", "tests.network.agent", "relay-jobs", "--port", str(RELAY_PORT), "--pause-before", "2",
                          "--jobs", json.dumps(jobs), "--timeout", "90"))

    def outcome(run: int) -> dict[str, Any]:
        done = job.expect(lambda e: isinstance(e, dict) and e.get("run") == run and e["step"] != "status", timeout=120)
        assert done["step"] == "result", done
        return done["result"]

    analysis = outcome(0)  # the bridge analysed its uploaded copy; the reply names the laptop's file
    assert analysis["path"] == str(wav_clip) and analysis["duration_s"] == pytest.approx(sf.info(wav_clip).duration)
    status = job.expect(lambda e: isinstance(e, dict) and e.get("step") == "status" and e["run"] == 0)["status"]
    used = status["bridge"]["name"]
    assert used in ("bridge b", "bridge c") and status["connected"]
    used_host, other_host, used_serve = (b, c, serve_b) if used == "bridge b" else (c, b, serve_c)
    copies = list((tmp_path / used_host.ns / "uploads").glob("*/loop.wav"))
    assert [p.read_bytes() for p in copies] == [wav_clip.read_bytes()]

    render = Path(outcome(1)["path"])  # the rendered file came back as a local file
    assert render.is_relative_to(relay_dir) and render.suffix in (".wav", ".flac")
    made = list((tmp_path / used_host.ns / "renders").rglob(render.name))
    assert len(made) == 1 and made[0].read_bytes() == render.read_bytes()
    assert len(list((tmp_path / used_host.ns / "uploads").glob("*/loop.wav"))) == 1  # uploaded once

    used_serve.proc.send_signal(signal.SIGINT)  # the bridge in use goes away: the relay moves on
    used_serve.expect(lambda line: isinstance(line, str) and line.startswith("Stopped"), timeout=30)
    job.say("again")
    continued = Path(outcome(2)["path"])
    status = job.expect(lambda e: isinstance(e, dict) and e.get("step") == "status" and e["run"] == 2)["status"]
    assert status["bridge"]["name"] != used and continued.is_file() and continued.is_relative_to(relay_dir)
    assert list((tmp_path / other_host.ns / "uploads").glob("*/melody.mid"))
