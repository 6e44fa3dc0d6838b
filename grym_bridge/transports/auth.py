"""The shared studio token: who may talk to a bridge that listens beyond this machine.

One rule for every transport: a client on a loopback address needs no token;
a client on any other address must present the token (OSC clients with
`/grym/system/hello <req_id> <reply_port> <token>`, RPC clients and the relay
in their first frame). A token that is presented must be right, whoever
presents it.

The token comes from `network.token` in the config, else from the file
`network_token` in the data directory, created with a random value (mode 0600)
the first time a bridge serves beyond loopback. `grym serve` prints it; the
laptop puts it in its own config (or `GRYM_NETWORK_TOKEN`) for `grym relay`.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import threading
from pathlib import Path
from typing import Any, Sequence

from grym_bridge.config import Config
from grym_bridge.errors import ConfigError, GrymError

TOKEN_FILE = "network_token"
#: Shorter tokens are refused: they could be guessed over a LAN.
MIN_TOKEN_CHARS = 16
HELLO_ADDRESS = "/grym/system/hello"


class Unauthorized(GrymError):
    """The client did not present the studio token, or presented a wrong one."""

    code = "unauthorized"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1, IPv4-mapped loopback and `localhost`."""
    if host == "localhost":
        return True
    try:
        addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return bool((mapped or addr).is_loopback)


def token_path(config: Config) -> Path:
    return config.data_dir / TOKEN_FILE


def load_token(config: Config, *, create: bool = True) -> str | None:
    """The studio token: `network.token`, else the data directory's token file (created if asked).

    Returns None when there is none and `create` is false.
    """
    configured = config.network.token.strip()
    if configured:
        _check_strength(configured, "config key 'network.token'")
        return configured
    path = token_path(config)
    if path.is_file():
        return _read_token_file(path)
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    try:
        # O_EXCL: two processes starting at once agree on one token.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_token_file(path)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(token + "\n")
    return token


def _read_token_file(path: Path) -> str:
    try:
        token = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"token file {path} cannot be read ({exc}); delete it to make a new token") from None
    _check_strength(token, f"token file {path}")
    return token


def _check_strength(token: str, where: str) -> None:
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"{where}: the token must have at least {MIN_TOKEN_CHARS} characters; "
            "leave network.token empty to use a generated one"
        )


def token_matches(given: Any, expected: str | None) -> bool:
    """Constant-time comparison; anything that is not a non-empty string never matches."""
    if expected is None or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def check_client(host: str, presented: Any, expected: str | None) -> None:
    """Admit a client at `host` presenting `presented` (None: nothing presented), or raise Unauthorized."""
    if presented is None or presented == "":
        if is_loopback(host):
            return
        raise Unauthorized(
            f"clients from {host} must present the studio token; it is printed by `grym serve` "
            "(set network.token or GRYM_NETWORK_TOKEN on the client)"
        )
    if not token_matches(presented, expected):
        raise Unauthorized("wrong studio token; copy the one `grym serve` prints into network.token on the client")


class OscClientGate:
    """Which non-loopback OSC clients have registered the token with `/grym/system/hello`.

    UDP clients (only when `server.remote_udp = "ip"`) are remembered by IP
    address, not port: Max's `udpsend` and many controllers send from a new
    source port after a reconnect. A source IP can be forged on a LAN, which is
    why remote UDP is off by default; OSC-over-TCP connections are admitted one
    by one (`check_connection`).
    """

    def __init__(self, token: str | None) -> None:
        self._token = token
        self._admitted: set[str] = set()
        self._lock = threading.Lock()

    def admitted(self, host: str) -> bool:
        with self._lock:
            return host in self._admitted

    def check(self, host: str, address: str, args: Sequence[Any]) -> None:
        """Raise Unauthorized unless this OSC message from `host` may be dispatched.

        A hello carrying the right token admits its host; from loopback no
        token is needed. Any other message from an unadmitted remote host is refused.
        """
        if address == HELLO_ADDRESS and len(args) >= 3:
            check_client(host, args[2], self._token)
            if not is_loopback(host):
                with self._lock:
                    self._admitted.add(host)
            return
        if is_loopback(host) or self.admitted(host):
            return
        raise Unauthorized(
            f"OSC from {host} is refused until it registers: send {HELLO_ADDRESS} <req_id> <reply_port> <token> "
            "with the token `grym serve` printed"
        )

    def check_connection(self, host: str, authenticated: bool, address: str, args: Sequence[Any]) -> bool:
        """For one connection (OSC over TCP): whether it is authenticated after this message, or Unauthorized.

        A connection is admitted by its own hello with the token, never by its IP:
        other connections (and UDP datagrams) from that IP gain nothing from it.
        """
        if address == HELLO_ADDRESS and len(args) >= 3:
            check_client(host, args[2], self._token)
            return True
        if authenticated or is_loopback(host):
            return authenticated
        raise Unauthorized(
            f"OSC from {host} is refused until this connection registers: send {HELLO_ADDRESS} <req_id> 0 <token> "
            "with the token `grym serve` printed"
        )

    def forget(self, host: str) -> None:
        with self._lock:
            self._admitted.discard(host)
