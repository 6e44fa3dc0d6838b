"""Say hello to a running bridge and ping it: the smallest OSC client.

    python examples/ping.py [--host 127.0.0.1] [--port 9130]

It registers its own socket's port with /grym/system/hello (what a Max for Live device does with
udpreceive), then pings and prints the server's info.
"""

from __future__ import annotations

import argparse
import json
import socket

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder


def send(sock: socket.socket, server: tuple[str, int], address: str, *args: object) -> tuple[str, list]:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    sock.sendto(builder.build().dgram, server)
    reply = OscMessage(sock.recv(65536))
    return reply.address, list(reply.params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9130)
    args = parser.parse_args()
    server = (args.host, args.port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0" if args.host not in ("127.0.0.1", "localhost") else "127.0.0.1", 0))
        sock.settimeout(2.0)
        try:
            print(*send(sock, server, "/grym/system/hello", 1, sock.getsockname()[1]))
            print(*send(sock, server, "/grym/system/ping", 2))
            address, (req_id, info) = send(sock, server, "/grym/system/info", 3)
        except socket.timeout:
            raise SystemExit(f"no answer from {args.host}:{args.port}: is `grym serve` running?") from None
        print(json.dumps(json.loads(info), indent=2))


if __name__ == "__main__":
    main()
