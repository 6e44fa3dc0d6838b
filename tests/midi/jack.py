"""Starting and stopping a private JACK server (dummy driver, no realtime), for the tests and bench/midi_latency.py."""

from __future__ import annotations

import ctypes
import os
import signal
import shutil
import subprocess
import tempfile
import time


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, so a killed run leaves no jackd behind (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class _EarlyExit(RuntimeError):
    """jackd exited while starting (its name is taken, or the registry is full)."""


class JackServer:
    """`jackd --no-realtime --name <unique> -d dummy`; clients find it through JACK_DEFAULT_SERVER."""

    #: JACK keeps at most 8 servers in its registry, and frees the entry of a killed server only when a
    #: server of the same name starts: so names come from a small pool, tried in turn.
    NAME_POOL = tuple(f"grym-test-{i}" for i in range(6))

    def __init__(self, period: int = 256, rate: int = 48000) -> None:
        self.name = ""
        self.period, self.rate = period, rate
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()  # never a pipe: an unread pipe fills up and stalls jackd
        self._previous: str | None = None

    def start(self, timeout: float = 15.0) -> "JackServer":
        """Start on the first free name of the pool (a name in use by a live server makes jackd exit at once)."""
        if shutil.which("jackd") is None:
            raise RuntimeError("jackd is not installed (Debian: jackd2)")
        self._previous = os.environ.get("JACK_DEFAULT_SERVER")
        errors = []
        for name in self.NAME_POOL:
            try:
                return self._start(name, timeout)
            except _EarlyExit as exc:
                errors.append(f"{name}: {str(exc)[-200:]}")
        self._restore_env()
        raise RuntimeError("jackd could not start under any name: " + " | ".join(errors))

    def _start(self, name: str, timeout: float) -> "JackServer":
        self.name = name
        os.environ["JACK_DEFAULT_SERVER"] = name  # python-rtmidi's JACK clients read it
        env = {**os.environ, "JACK_NO_AUDIO_RESERVATION": "1"}
        self.log.seek(0)
        self.log.truncate()
        self.proc = subprocess.Popen([shutil.which("jackd") or "jackd", "--no-realtime", "--name", name, "-d", "dummy",
                                      "-r", str(self.rate), "-p", str(self.period)],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        lsp = shutil.which("jack_lsp")
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.proc = None
                raise _EarlyExit(self.output())
            if lsp and subprocess.run([lsp], env=env, capture_output=True, timeout=5).returncode == 0:
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"jackd did not come up within {timeout:g} s")
            time.sleep(0.1)

    def output(self) -> str:
        """What jackd printed so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        self._restore_env()

    def _restore_env(self) -> None:
        if self._previous is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = self._previous
