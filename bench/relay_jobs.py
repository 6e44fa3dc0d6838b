"""Jobs spread over a studio's bridges by the relay: one producer against two, in the same run.

Run:  .venv/bin/python bench/relay_jobs.py [--hold 1.0] [--jobs 2]

Two real bridges (in this process, one CPU worker each) run `/grym/test/hold`, a stand-in
for a long generation that holds its worker for --hold seconds. Measured:
1. one relay sending --jobs jobs at once: the relay routes each job to the bridge with the fewest
   of its jobs, so the makespan is about jobs/2 x hold;
2. two relays (two producers' laptops) each sending --jobs/2 jobs at once: each relay counts only
   its own jobs, so both start on the same bridge; the makespan against case 1 is what a durable
   queue shared in PostgreSQL (bridges taking work from one queue) would win back.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grym_bridge.paths import PathPolicy  # noqa: E402
from grym_bridge.transports.relay import Relay  # noqa: E402
from tests.network.conftest import rpc_port  # noqa: E402
from tests.network.test_relay import RunningRelay  # noqa: E402
from tests.network.test_relay_jobs import HOLD, _bridge  # noqa: E402


def makespan(relays: list[RunningRelay], per_relay: int, hold: float) -> float:
    """Seconds from sending every job (all relays at once) until the last is done."""
    done = threading.Barrier(len(relays) + 1)
    start = threading.Barrier(len(relays) + 1)

    def produce(relay: RunningRelay) -> None:
        with relay.client() as c:
            start.wait()
            ids = [c.start_job(HOLD, hold) for _ in range(per_relay)]
            for job_id in ids:
                c.wait_job(job_id, timeout=120)
        done.wait()

    threads = [threading.Thread(target=produce, args=(r,)) for r in relays]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    done.wait()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hold", type=float, default=1.0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="grym-bench-relay-"))
    bridges = [_bridge(tmp, "a"), _bridge(tmp, "b")]
    to = ",".join(f"127.0.0.1:{rpc_port(b)}" for b in bridges)

    def relay(name: str) -> RunningRelay:
        return RunningRelay(Relay(host="127.0.0.1", port=0, paths=PathPolicy((tmp.resolve(),)),
                                  download_dir=tmp / name, token=None, to=to, jobs={HOLD}))

    try:
        one = [relay("one")]
        single = makespan(one, args.jobs, args.hold)
        for r in one:
            r.stop()
        two = [relay("two-a"), relay("two-b")]
        double = makespan(two, args.jobs // 2, args.hold)
        for r in two:
            r.stop()
    finally:
        for b in bridges:
            b.stop()
    ideal = args.jobs / 2 * args.hold
    print(f"{args.jobs} jobs of {args.hold:.1f} s on 2 bridges (ideal makespan {ideal:.1f} s)")
    print(f"  one relay routes every job:       {single:6.2f} s  ({single / ideal:.2f} x ideal)")
    print(f"  two relays, {args.jobs // 2} jobs each:         {double:6.2f} s  ({double / ideal:.2f} x ideal, "
          f"{double / single:.2f} x one relay)")


if __name__ == "__main__":
    main()
