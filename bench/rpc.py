"""RPC upload and round trip of a 30 s stereo 48 kHz WAV against a plain TCP socket copy.

Run:  .venv/bin/python bench/rpc.py [--repeats 5] [--seconds 30]

A child process serves both peers on loopback: the bridge's RPC server (a real
Router and upload store) and a plain TCP server that writes what it receives
to a file and sends the file back. The parent times, in the same run and
alternating:

- upload: RPC `upload` (chunked frames, size and BLAKE3 checked, moved into
  place) vs the same bytes sent over a plain socket into a file on the other side;
- round trip: the upload and then the file coming back (RPC `download`, checked
  by hash, vs the plain server sending the file back).

The plain peer runs twice: with `sendfile` (zero-copy, what `cp`-like tools
do; the strict reading of the goal) and with read + `sendall` (a plain copy
through user space, as the RPC must do to hash and frame).

Goal (issue 9): RPC at most 1.5x the plain copy. Prints the medians and ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grym_bridge.api.routes import Router  # noqa: E402
from grym_bridge.transports.rpc.client import RpcClient  # noqa: E402
from grym_bridge.transports.rpc.server import RpcServer  # noqa: E402
from grym_bridge.transports.rpc.uploads import UploadStore  # noqa: E402

LENGTH = struct.Struct(">Q")


# -- the child: both servers ------------------------------------------------------------

def _recv_exact(conn: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = conn.recv_into(view[got:], n - got)
        if not k:
            raise ConnectionError("peer closed")
        got += k
    return bytes(buf)


def _recv_to_file(conn: socket.socket, path: Path, size: int) -> None:
    with path.open("wb") as fh:
        left = size
        while left:
            data = conn.recv(min(left, 1 << 20))
            if not data:
                raise ConnectionError("peer closed")
            fh.write(data)
            left -= len(data)


def _send_file(conn: socket.socket, path: Path, zero_copy: bool) -> None:
    """The plain ways to send a file: `sendfile` (the kernel copies) or read + `sendall`."""
    with path.open("rb") as fh:
        if zero_copy:
            conn.sendfile(fh)
            return
        while data := fh.read(1 << 20):
            conn.sendall(data)


def _plain_server(sock: socket.socket, folder: Path) -> None:
    """Receive length + bytes into a file; if asked (flag bit 1), send the file back (bit 2: with sendall)."""
    count = 0
    while True:
        conn, _ = sock.accept()
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            (flag,) = _recv_exact(conn, 1)
            (size,) = LENGTH.unpack(_recv_exact(conn, LENGTH.size))
            count += 1
            path = folder / f"plain-{count}.wav"
            _recv_to_file(conn, path, size)
            if flag & 1:
                _send_file(conn, path, zero_copy=not flag & 2)
            else:
                conn.sendall(b"k")


def serve_child(folder: Path) -> None:
    plain = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=_plain_server, args=(plain, folder), daemon=True).start()

    async def run() -> None:
        router = Router(services=None)  # no routes needed: the bench moves files
        store = UploadStore(folder / "uploads", max_upload_bytes=1 << 31, ttl_s=3600)
        server = RpcServer(router, "127.0.0.1", 0, token=None, uploads=store, download_roots=[folder])
        await server.start()
        print(f"{server.port} {plain.getsockname()[1]}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
        await server.close()

    asyncio.run(run())


# -- the parent: the timings ----------------------------------------------------------------

def plain_copy(port: int, path: Path, back_to: Path | None, zero_copy: bool = True) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        size = path.stat().st_size
        flag = (1 if back_to else 0) | (0 if zero_copy else 2)
        sock.sendall(bytes([flag]) + LENGTH.pack(size))
        _send_file(sock, path, zero_copy)
        if back_to is None:
            _recv_exact(sock, 1)
            return
        _recv_to_file(sock, back_to, size)


async def rpc_copy(port: int, path: Path, back_to: Path | None) -> None:
    client = await RpcClient.connect("127.0.0.1", port)
    try:
        stored = await client.upload(path)
        if back_to is not None:
            await client.download(stored.path, back_to)
    finally:
        await client.close()


def _clear(folder: Path) -> None:
    """Delete every copy a run made, on both sides, so each run writes new files into recycled pages.

    On this VM, writing into never-used memory costs several times more than
    into freed page cache; clearing after each run keeps that equal for both peers.
    """
    for path in [folder / "back.wav", *(folder / "server").glob("plain-*"), *(folder / "server" / "uploads").glob("*/*")]:
        if path.parent.name != ".partial":
            path.unlink(missing_ok=True)


def make_wav(path: Path, seconds: float, rate: int = 48000) -> None:
    rng = np.random.default_rng(9)
    t = np.arange(int(seconds * rate)) / rate
    left = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    right = 0.3 * np.sin(2 * np.pi * 330 * t) + 0.05 * rng.standard_normal(t.size)
    sf.write(path, np.stack([left, right], axis=1).astype(np.float32), rate, subtype="FLOAT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_child(Path(args.serve))
        return

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "server").mkdir()
        wav = folder / "clip.wav"
        make_wav(wav, args.seconds)
        size = wav.stat().st_size
        child = subprocess.Popen([sys.executable, __file__, "--serve", str(folder / "server")],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            rpc_port, plain_port = map(int, child.stdout.readline().split())
            times: dict[str, list[float]] = {}
            loop = asyncio.new_event_loop()
            back = folder / "back.wav"
            for i in range(args.repeats + 1):  # the first pass warms both paths and is not counted
                for name, run in (
                    ("sendfile upload", lambda: plain_copy(plain_port, wav, None)),
                    ("sendall upload", lambda: plain_copy(plain_port, wav, None, zero_copy=False)),
                    ("rpc upload", lambda: loop.run_until_complete(rpc_copy(rpc_port, wav, None))),
                    ("sendfile round trip", lambda: plain_copy(plain_port, wav, back)),
                    ("sendall round trip", lambda: plain_copy(plain_port, wav, back, zero_copy=False)),
                    ("rpc round trip", lambda: loop.run_until_complete(rpc_copy(rpc_port, wav, back))),
                ):
                    start = time.perf_counter()
                    run()
                    if i:
                        times.setdefault(name, []).append(time.perf_counter() - start)
                    if back.exists():
                        assert back.read_bytes() == wav.read_bytes(), f"{name}: the copy differs from the source"
                    _clear(folder)
            loop.close()
        finally:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(timeout=10)

    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"file: {args.seconds:g} s stereo 48 kHz float WAV, {size / 1e6:.1f} MB; median of {args.repeats} runs, loopback")
    for kind in ("upload", "round trip"):
        rpc = med[f"rpc {kind}"]
        print(f"{kind:>10}: RPC {rpc * 1e3:6.1f} ms ({size / rpc / 1e6:5.0f} MB/s)", end="")
        for peer in ("sendfile", "sendall"):
            plain = med[f"{peer} {kind}"]
            print(f" | plain TCP {peer} {plain * 1e3:6.1f} ms, RPC {rpc / plain:.2f}x", end="")
        print("  (goal <= 1.5x)")


if __name__ == "__main__":
    main()
