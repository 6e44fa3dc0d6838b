"""`grym call`: one request to a running bridge, its replies as JSON lines.

A small OSC-over-TCP client (SLIP framing, OSC 1.1) that imports only the
standard library, so it starts in a few tens of milliseconds: REAPER's Lua has
no sockets, so the ReaScripts start `grym call ... --out FILE.jsonl` in the
background and poll the file; shell scripts use it the same way. It sends the
request with a request id, then writes one JSON object per line for every
event that concerns it:

    {"event": "sent", "address": ..., "req_id": ...}          connected, request sent
    {"event": "reply", "address": ..., "args": [...], "result": ...}   a direct reply
    {"event": "queued", "req_id": ..., "job_id": ...}          the request became a job
    {"event": "progress", "job_id": ..., "fraction": ..., "message": ...}
    {"event": "done", "job_id": ..., "result": ...}            the job's result (parsed JSON)
    {"event": "error", "code": ..., "message": ...}            /grym/error, a job error, or no server

It exits 0 after a reply or a finished job, 1 after an error, 3 when no server
answers, 2 for a usage error. Nothing here imports click or the server, on
purpose: keep it that way (bench/call.py measures the start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import sys
import time
from typing import IO, Any, Iterator, Sequence

DEFAULT_PORT = 9130
SLIP_END, SLIP_ESC, SLIP_ESC_END, SLIP_ESC_ESC = b"\xc0", b"\xdb", b"\xdc", b"\xdd"
JOB_EVENTS = ("/grym/job/progress", "/grym/job/done", "/grym/job/error")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NO_SERVER = 0, 1, 2, 3


# -- OSC 1.0 encoding (the subset a client sends) and decoding (everything the server sends) --------------


def _pad(data: bytes) -> bytes:
    return data + b"\x00" * (4 - len(data) % 4)


def _osc_string(text: str) -> bytes:
    return _pad(text.encode("utf-8"))


def encode_message(address: str, args: Sequence[Any]) -> bytes:
    """One OSC message: ints as i (h beyond 32 bits), floats as f, bool as T/F, None as N, the rest as s."""
    tags, payload = ",", b""
    for arg in args:
        if arg is True or arg is False:
            tags += "T" if arg else "F"
        elif arg is None:
            tags += "N"
        elif isinstance(arg, int):
            if -(2 ** 31) <= arg < 2 ** 31:
                tags, payload = tags + "i", payload + struct.pack(">i", arg)
            else:
                tags, payload = tags + "h", payload + struct.pack(">q", arg)
        elif isinstance(arg, float):
            tags, payload = tags + "f", payload + struct.pack(">f", arg)
        else:
            tags, payload = tags + "s", payload + _osc_string(str(arg))
    return _osc_string(address) + _osc_string(tags) + payload


def _read_string(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\x00", pos)
    return data[pos:end].decode("utf-8", "replace"), (end // 4 + 1) * 4


def decode_packet(data: bytes) -> Iterator[tuple[str, list[Any]]]:
    """(address, args) for the message, or each message of a bundle."""
    if data.startswith(b"#bundle\x00"):
        pos = 16
        while pos + 4 <= len(data):
            (size,) = struct.unpack(">i", data[pos:pos + 4])
            yield from decode_packet(data[pos + 4:pos + 4 + size])
            pos += 4 + size
        return
    address, pos = _read_string(data, 0)
    if pos >= len(data) or data[pos:pos + 1] != b",":
        yield address, []
        return
    tags, pos = _read_string(data, pos)
    args: list[Any] = []
    for tag in tags[1:]:
        if tag == "i":
            args.append(struct.unpack(">i", data[pos:pos + 4])[0])
            pos += 4
        elif tag == "h":
            args.append(struct.unpack(">q", data[pos:pos + 8])[0])
            pos += 8
        elif tag == "t":
            args.append(struct.unpack(">Q", data[pos:pos + 8])[0])
            pos += 8
        elif tag == "f":
            args.append(struct.unpack(">f", data[pos:pos + 4])[0])
            pos += 4
        elif tag == "d":
            args.append(struct.unpack(">d", data[pos:pos + 8])[0])
            pos += 8
        elif tag in "sS":
            text, pos = _read_string(data, pos)
            args.append(text)
        elif tag == "b":
            (size,) = struct.unpack(">i", data[pos:pos + 4])
            args.append(data[pos + 4:pos + 4 + size].hex())
            pos += 4 + (size + 3) // 4 * 4
        elif tag in "cmr":
            args.append(struct.unpack(">I", data[pos:pos + 4])[0])
            pos += 4
        elif tag in "TF":
            args.append(tag == "T")
        elif tag in "NI":
            args.append(None)
        # '[' and ']' (arrays) carry no data of their own: their items follow as plain arguments
    yield address, args


def slip_frame(packet: bytes) -> bytes:
    """One packet as a SLIP frame (OSC 1.1 over TCP)."""
    escaped = packet.replace(SLIP_ESC, SLIP_ESC + SLIP_ESC_ESC).replace(SLIP_END, SLIP_ESC + SLIP_ESC_END)
    return SLIP_END + escaped + SLIP_END


def slip_unframe(frame: bytes) -> bytes:
    return frame.replace(SLIP_ESC + SLIP_ESC_END, SLIP_END).replace(SLIP_ESC + SLIP_ESC_ESC, SLIP_ESC)


# -- arguments ----------------------------------------------------------------------------------------------


def typed_arg(text: str) -> Any:
    """A command-line word as an OSC argument: integers and decimals become numbers, the rest stays text."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if value == value and value not in (float("inf"), float("-inf")) else text


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# -- the exchange -------------------------------------------------------------------------------------------


class Events:
    """Writes one JSON object per line, flushed at once so a poller sees whole lines only."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(self, event: str, **fields: Any) -> None:
        self.out.write(json.dumps({"event": event, **fields}, ensure_ascii=False) + "\n")
        self.out.flush()


def _result(text: Any) -> Any:
    """A job result: the JSON inline, or the file a large result was written to."""
    value = _maybe_json(text)
    if isinstance(value, dict) and set(value) == {"result_file"}:
        try:
            with open(value["result_file"], encoding="utf-8") as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return value
    return value


class Reader:
    """The messages arriving on one connection, in order; the deadline may change between reads."""

    def __init__(self, sock: socket.socket, deadline: float | None) -> None:
        self.sock, self.deadline = sock, deadline
        self.buffer = b""
        self.pending: list[tuple[str, list[Any]]] = []

    def __iter__(self) -> Iterator[tuple[str, list[Any]]]:
        while True:
            while self.pending:
                yield self.pending.pop(0)
            if self.deadline is not None:
                left = self.deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                self.sock.settimeout(left)
            else:
                self.sock.settimeout(None)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            *frames, self.buffer = (self.buffer + chunk).split(SLIP_END)
            for frame in frames:
                if frame:
                    self.pending.extend(decode_packet(slip_unframe(frame)))


def call(address: str, args: Sequence[Any], events: Events, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
         req_id: Any = None, timeout: float = 10.0, job_timeout: float = 0.0) -> int:
    """Send one request and report its reply or job as events; returns the exit code."""
    req_id = os.getpid() if req_id is None else req_id
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        events.write("error", code="not_running",
                     message=f"no grym server answers at {host}:{port} ({reason}): start it with `grym serve`, "
                             "or check the host and port")
        return EXIT_NO_SERVER
    job_id: Any = None
    reader = Reader(sock, time.monotonic() + timeout)
    with sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(slip_frame(encode_message(address, [req_id, *args])))
        events.write("sent", address=address, req_id=req_id)
        try:
            for addr, values in reader:
                if job_id is None:
                    if addr == "/grym/error" and len(values) > 3 and values[1] == req_id:
                        extra = {"retry_after_s": values[4]} if len(values) > 4 else {}
                        events.write("error", code=values[2], message=values[3], address=values[0], **extra)
                        return EXIT_ERROR
                    if addr == "/grym/job/queued" and values[:1] == [req_id]:
                        job_id = values[1]
                        events.write("queued", req_id=req_id, job_id=job_id)
                        reader.deadline = time.monotonic() + job_timeout if job_timeout > 0 else None
                        return _follow_job(reader, job_id, events)
                    if addr == address and values[:1] == [req_id]:
                        rest = values[1:]
                        fields: dict[str, Any] = {"address": addr, "args": rest}
                        if rest and isinstance(_maybe_json(rest[-1]), (dict, list)):
                            fields["result"] = _result(rest[-1])
                        events.write("reply", **fields)
                        return EXIT_OK
        except TimeoutError:
            events.write("error", code="timeout", message=f"no reply to {address} within {timeout:g} s")
            return EXIT_ERROR
        except OSError as exc:
            events.write("error", code="connection_lost", message=f"the connection to {host}:{port} broke: {exc}")
            return EXIT_ERROR
    return EXIT_ERROR


def _follow_job(reader: Reader, job_id: Any, events: Events) -> int:
    """Report the job's progress until it is done or fails (messages that came with `queued` included)."""
    try:
        for addr, values in reader:
            if addr not in JOB_EVENTS or values[:1] != [job_id]:
                continue
            if addr == "/grym/job/progress":
                events.write("progress", job_id=job_id, fraction=values[1], message=values[2] if len(values) > 2 else "")
            elif addr == "/grym/job/done":
                events.write("done", job_id=job_id, result=_result(values[1] if len(values) > 1 else None))
                return EXIT_OK
            else:
                events.write("error", job_id=job_id, code=values[1], message=values[2])
                return EXIT_ERROR
    except TimeoutError:
        events.write("error", job_id=job_id, code="timeout",
                     message=f"job {job_id} did not finish in time; it may still be running "
                             f"(`grym call /grym/job/cancel {job_id}` stops it)")
    except OSError as exc:
        events.write("error", job_id=job_id, code="connection_lost", message=f"the connection broke: {exc}")
    return EXIT_ERROR


# -- command line -------------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grym call",
        description="Send one OSC request to a running bridge (OSC over TCP) and print its reply, or its job's "
                    "queued/progress/done/error events, as JSON lines. Numbers become OSC numbers, other words "
                    "strings; the request id is added first.",
        epilog="examples: grym call /grym/system/ping | grym call /grym/analyze/file loop.wav --out run.jsonl | "
               "grym call /grym/compose/chords key 'A minor' bars 8")
    p.add_argument("address", help="the OSC address, e.g. /grym/system/ping")
    p.add_argument("args", nargs="*", help="arguments after the request id")
    p.add_argument("--args-file", metavar="FILE",
                   help="a JSON list of further arguments (keeps quoting out of shells and ExecProcess)")
    p.add_argument("--out", metavar="FILE.jsonl", help="write the events to this file instead of stdout")
    p.add_argument("--host", default=os.environ.get("GRYM_SERVER_HOST", "127.0.0.1"),
                   help="the bridge's host (GRYM_SERVER_HOST; default 127.0.0.1)")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRYM_SERVER_OSC_PORT", DEFAULT_PORT)),
                   help=f"its OSC port (GRYM_SERVER_OSC_PORT; default {DEFAULT_PORT})")
    p.add_argument("--id", dest="req_id", help="the request id (default: this process's id)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the first reply (default 10)")
    p.add_argument("--job-timeout", type=float, default=0.0,
                   help="seconds to wait for a job to finish (default 0: until it ends)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `grym call` (also reached before click is imported: see grym_bridge/__main__.py)."""
    p = parser()
    opts = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    if not opts.address.startswith("/"):
        p.error(f"the address must start with '/', like /grym/system/ping; got {opts.address!r}")
    args = [typed_arg(a) for a in opts.args]
    if opts.args_file:
        try:
            with open(opts.args_file, encoding="utf-8") as fh:
                extra = json.load(fh)
        except (OSError, ValueError) as exc:
            p.error(f"--args-file {opts.args_file}: {exc}")
        if not isinstance(extra, list):
            p.error(f"--args-file {opts.args_file} must hold a JSON list of arguments")
        args += [json.dumps(a) if isinstance(a, (dict, list)) else a for a in extra]
    req_id = typed_arg(opts.req_id) if opts.req_id is not None else None
    out: IO[str] = open(opts.out, "w", encoding="utf-8") if opts.out else sys.stdout  # noqa: SIM115
    try:
        return call(opts.address, args, Events(out), host=opts.host, port=opts.port, req_id=req_id,
                    timeout=opts.timeout, job_timeout=opts.job_timeout)
    finally:
        if out is not sys.stdout:
            out.close()


if __name__ == "__main__":
    sys.exit(main())
