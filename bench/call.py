"""`grym call` start-to-ping time, against `grym --version` measured in the same run.

REAPER's actions start a `grym call` process for every request, so its start-up is what a user
waits for. Each run below is a fresh process, timed from spawn to exit, interleaved so machine load
affects all alike:

- `grym call /grym/system/ping`: the console script's fast path (no click, no CLI tree),
  connects over OSC-over-TCP and waits for the reply;
- `grym --version`: the click CLI's start-up alone (its whole command tree imported, no network);
- `grym --data-dir D call /grym/system/ping`: the same request through the click command, which is
  what `grym call` would cost without the fast path;
- `python -c pass`: the interpreter's own floor.

    python bench/call.py [--runs 30]

Goal (issue 16): `grym call` starts and answers a ping in under 150 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.osc_client import free_port  # noqa: E402  (the suite's helper: a port free for UDP and TCP)

GRYM = str(Path(sys.executable).parent / "grym")


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode()[-400:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    opts = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen([GRYM, "--data-dir", data, "serve", "--osc-port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env=os.environ | {"GRYM_NETWORK_ADVERTISE": "off"})
        try:
            deadline = time.monotonic() + 30
            while subprocess.run([GRYM, "call", "/grym/system/ping", "--port", str(port), "--timeout", "1"],
                                 capture_output=True).returncode != 0:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            cases = {
                "grym call /grym/system/ping": [GRYM, "call", "/grym/system/ping", "--port", str(port)],
                "grym --version": [GRYM, "--version"],
                "grym --data-dir D call ... (click path)": [GRYM, "--data-dir", data, "call", "/grym/system/ping",
                                                            "--port", str(port)],
                "python -c pass": [sys.executable, "-c", "pass"],
            }
            times: dict[str, list[float]] = {name: [] for name in cases}
            for name, cmd in cases.items():  # warm the page cache once
                timed(cmd)
            for _ in range(opts.runs):
                for name, cmd in cases.items():
                    times[name].append(timed(cmd))
        finally:
            server.terminate()
            server.wait(10)
    call_p50 = statistics.median(times["grym call /grym/system/ping"])
    version_p50 = statistics.median(times["grym --version"])
    print(f"{opts.runs} runs each, spawn to exit (ms)")
    print(f"{'case':44} {'p50':>7} {'p90':>7} {'vs --version':>13}")
    for name, values in times.items():
        values.sort()
        p50, p90 = statistics.median(values), values[int(0.9 * (len(values) - 1))]
        print(f"{name:44} {1000 * p50:7.1f} {1000 * p90:7.1f} {p50 / version_p50:12.2f}x")
    verdict = "meets" if call_p50 < 0.150 else "misses"
    print(f"grym call answers a ping in {1000 * call_p50:.0f} ms at p50: {verdict} the 150 ms goal "
          f"({call_p50 / version_p50:.2f}x the time of `grym --version`, which does no network at all)")


if __name__ == "__main__":
    main()
