"""Fixtures for the studio network tests: a real server with small RPC limits, raw RPC sockets, test hosts."""

from __future__ import annotations

import socket
import struct
from typing import Any, Iterator

import msgpack
import numpy as np
import pytest
import soundfile as sf

from grym_bridge.compose import ComposeRequest, compose
from grym_bridge.config import Config
from grym_bridge.transports.rpc.framing import pack_frame
from tests.conftest import require, require_tool
from tests.network.netns import NetnsHost, netns_available, studio_lan
from tests.osc_client import RunningServer, osc_server  # noqa: F401 - the fixture
from tests.synth import chord_progression


@pytest.fixture
def small_limits(config: Config) -> Config:
    """The test config with RPC limits small enough to hit: 256 KiB frames, 1 MiB uploads, 1 s stalls."""
    net = config.network
    net.rpc_port = net.oscquery_port = 0
    net.max_frame_bytes = 256 * 1024
    net.max_upload_bytes = 1024 * 1024
    net.frame_timeout_s = 1.0
    net.max_connections = 6
    return config


@pytest.fixture
def bridge(small_limits: Config, osc_server: RunningServer) -> RunningServer:
    """A real `serve` on loopback (OSC, RPC, OSCQuery) with the small limits (set before it starts)."""
    return osc_server


def rpc_port(server: RunningServer) -> int:
    return int(server.services.endpoints["rpc"])


class RawRpc:
    """A bare TCP socket speaking the RPC framing by hand, to send what a good client never would."""

    def __init__(self, port: int, *, hello: bool = True, token: str | None = None, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.unpacker = msgpack.Unpacker(raw=False)
        self.buffer = b""
        if hello:
            self.send({"t": "hello", "v": 1, "token": token})
            self.welcome = self.recv()

    def send(self, frame: dict[str, Any]) -> None:
        self.sock.sendall(pack_frame(frame))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self) -> dict[str, Any]:
        """The next frame, or raises ConnectionError when the server closed the connection."""
        while True:
            if len(self.buffer) >= 4:
                (size,) = struct.unpack(">I", self.buffer[:4])
                if len(self.buffer) >= 4 + size:
                    body, self.buffer = self.buffer[4:4 + size], self.buffer[4 + size:]
                    return msgpack.unpackb(body, raw=False)
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("closed by the server")
            self.buffer += data

    def closed_by_server(self) -> bool:
        """True once the server has closed its side (after any frames still in flight)."""
        try:
            while True:
                self.recv()
        except ConnectionError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def midi_clip(tmp_path: Any) -> Any:
    """A short composed melody, to upload and continue."""
    path = tmp_path / "clip" / "melody.mid"
    path.parent.mkdir()
    compose(ComposeRequest("melody", key="A minor", bars=4, seed=3), path)
    return path


@pytest.fixture
def wav_clip(midi_clip: Any) -> Any:
    """Two bars of chords as a stereo WAV, next to the MIDI clip."""
    audio = chord_progression("A minor", bpm=120, bars=2)
    path = midi_clip.parent / "loop.wav"
    sf.write(path, np.repeat(audio.samples, 2, axis=0).T, audio.sample_rate, subtype="PCM_24")
    return path


@pytest.fixture
def lan() -> Iterator[list[NetnsHost]]:
    """Three test hosts on a private switch (network namespaces); fails under CI=true when unavailable."""
    require_tool("ip")
    require(netns_available(), "network namespaces (root and iproute2)")
    with studio_lan(3) as hosts:
        yield hosts
