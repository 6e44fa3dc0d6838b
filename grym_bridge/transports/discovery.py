"""Zeroconf (DNS-SD over mDNS): the bridge appears on the studio network by itself.

A serving bridge registers three services under one instance name:

- `_osc._udp`: any OSC tool finds the port. TXT follows OSC 1.1 (`txtvers`,
  `version`, `framing`, `types`) plus grym's keys (below);
- `_oscjson._tcp`: the OSCQuery HTTP endpoint describing the address space;
- `_grym._tcp`: the msgpack RPC port that `grym relay` and other machines use.

grym's TXT keys: `grym` (protocol version), `grym_version`, `osc` (UDP port),
`tcp` (OSC over TCP port), `rpc`, `oscjson`, `health`, `queue` (jobs waiting), `models`
(capabilities ready, comma-separated), `token` (1 when clients must present
the studio token). `health`, `queue` and `models` are updated while serving.

Multicast only leaves through the interfaces of the addresses served on
(`Zeroconf(interfaces=[...])`); tests use 127.0.0.1 or their own network
namespaces. Every call here blocks (zeroconf runs its own thread): call them
off the event loop.
"""

from __future__ import annotations

import asyncio
import atexit
import ipaddress
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import ifaddr
from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

from grym_bridge import PROTOCOL_VERSION, __version__

log = logging.getLogger(__name__)

OSC_UDP = "_osc._udp.local."
OSC_JSON = "_oscjson._tcp.local."
GRYM_TCP = "_grym._tcp.local."
#: OSC type tags the server parses (python-osc).
OSC_TYPES = "ifsbhdtTFNIcrm"
_HEALTH_RANK = {"healthy": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class BridgeStatus:
    """The advertised state that changes while serving."""

    health: str = "healthy"
    queue_depth: int = 0
    models_ready: tuple[str, ...] = ()


@dataclass(frozen=True)
class BridgeInfo:
    """One bridge found on the network."""

    name: str
    host: str
    addresses: tuple[str, ...]
    osc_port: int
    tcp_port: int | None
    rpc_port: int
    oscquery_port: int | None
    version: str
    protocol: int | None
    health: str
    queue_depth: int
    models: tuple[str, ...] = field(default=())
    token_required: bool = False

    @property
    def address(self) -> str:
        """The address to connect to (the first advertised one)."""
        return self.addresses[0] if self.addresses else self.host.rstrip(".")

    def rank(self) -> tuple[int, int, str]:
        """Sort key: healthiest first, then the shortest queue, then by name (stable choice)."""
        return (_HEALTH_RANK.get(self.health, 3), self.queue_depth, self.name)


def served_addresses(host: str) -> list[str]:
    """The IPv4 addresses a server bound to `host` is reachable at (every interface's for 0.0.0.0)."""
    if host in ("0.0.0.0", "", "::"):
        found = [str(ip.ip) for adapter in ifaddr.get_adapters() for ip in adapter.ips if ip.is_IPv4]
        return [a for a in dict.fromkeys(found) if not ipaddress.ip_address(a).is_loopback]
    if host == "localhost":
        return ["127.0.0.1"]
    return [socket.gethostbyname(host)]


def default_name() -> str:
    return f"grym-bridge on {socket.gethostname()}"[:63]


def _label(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-")[:50] or "grym"


def _txt_value(items: tuple[str, ...]) -> str:
    """Comma-separated, cut to fit one TXT string (255 bytes with its key)."""
    text = ",".join(items)
    return text if len(text) <= 240 else text[:236].rsplit(",", 1)[0] + ",..."


class Advertiser:
    """Registers the bridge's three services and keeps their TXT records current."""

    def __init__(self, name: str, addresses: list[str], *, osc_port: int, rpc_port: int,
                 oscquery_port: int | None, token_required: bool) -> None:
        if not addresses:
            raise ValueError("nothing to advertise: the server has no IPv4 address besides loopback")
        self.name = name[:63]
        self.addresses = addresses
        self.osc_port = osc_port
        self.rpc_port = rpc_port
        self.oscquery_port = oscquery_port
        self.token_required = token_required
        # One host name per bridge (not the machine's): bridges in several network
        # namespaces of one machine would otherwise merge their addresses.
        self.server = f"grym-{_label(socket.gethostname())}-{_label(addresses[0])}-{osc_port}.local."
        self._zc: Zeroconf | None = None
        self._infos: list[ServiceInfo] = []
        self._status: BridgeStatus | None = None
        self._lock = threading.Lock()

    def _grym_txt(self, status: BridgeStatus) -> dict[str, str]:
        txt = {
            "txtvers": "1", "grym": str(PROTOCOL_VERSION), "grym_version": __version__,
            "osc": str(self.osc_port), "tcp": str(self.osc_port), "rpc": str(self.rpc_port),
            "health": status.health, "queue": str(status.queue_depth), "models": _txt_value(status.models_ready),
            "token": "1" if self.token_required else "0",
        }
        if self.oscquery_port:
            txt["oscjson"] = str(self.oscquery_port)
        return txt

    def _build(self, status: BridgeStatus) -> list[ServiceInfo]:
        grym = self._grym_txt(status)
        packed = [socket.inet_aton(a) for a in self.addresses]
        services = [
            (OSC_UDP, self.osc_port, {"txtvers": "1", "version": "1.1", "framing": "slip", "types": OSC_TYPES, **grym}),
            (GRYM_TCP, self.rpc_port, grym),
        ]
        if self.oscquery_port:
            services.append((OSC_JSON, self.oscquery_port, {"txtvers": "1", "grym": str(PROTOCOL_VERSION)}))
        names = {info.type: info.name for info in self._infos}
        return [ServiceInfo(kind, names.get(kind, f"{self.name}.{kind}"), addresses=packed, port=port,
                            properties=props, server=self.server) for kind, port, props in services]

    def start(self, status: BridgeStatus) -> None:
        """Register all services (a name taken by another bridge gets a suffix)."""
        with self._lock:
            self._zc = Zeroconf(interfaces=self.addresses, ip_version=IPVersion.V4Only)
            self._status = status
            infos = self._build(status)
            self._run(*(self._zc.async_register_service(info, allow_name_change=True) for info in infos))
            self._infos = infos
        atexit.register(self.close)

    def _run(self, *coros: Awaitable[Any]) -> None:
        """Run zeroconf coroutines together on its loop: three services probe at once (1 s, not 5)."""
        assert self._zc is not None and self._zc.loop is not None

        async def together() -> None:
            await asyncio.gather(*coros)  # the announcements they start carry on in the background

        asyncio.run_coroutine_threadsafe(together(), self._zc.loop).result(timeout=30)

    def update(self, status: BridgeStatus) -> bool:
        """Re-announce the TXT records if `status` changed; True when it did."""
        with self._lock:
            if self._zc is None or status == self._status:
                return False
            self._status = status
            infos = self._build(status)
            self._run(*(self._zc.async_update_service(info) for info in infos))
            self._infos = infos
            return True

    @property
    def instance_names(self) -> list[str]:
        return [info.name for info in self._infos]

    def close(self) -> None:
        """Unregister every service (goodbye packets) and stop zeroconf; safe to call twice."""
        with self._lock:
            zc, self._zc = self._zc, None
            if zc is None:
                return
            try:
                zc.unregister_all_services()
            finally:
                zc.close()
        atexit.unregister(self.close)


def parse_info(info: ServiceInfo) -> BridgeInfo | None:
    """A BridgeInfo from a resolved `_grym._tcp` service, or None if its TXT is not grym's."""
    props = {k.decode("utf-8", "replace"): (v or b"").decode("utf-8", "replace")
             for k, v in (info.properties or {}).items()}
    if "grym" not in props or info.port is None:
        return None

    def number(key: str) -> int | None:
        try:
            return int(props[key])
        except (KeyError, ValueError):
            return None

    instance = info.name[: -len(info.type) - 1] if info.name.endswith("." + info.type) else info.name
    return BridgeInfo(
        name=instance, host=info.server or "", addresses=tuple(info.parsed_addresses(IPVersion.V4Only)),
        osc_port=number("osc") or 0, tcp_port=number("tcp"), rpc_port=info.port, oscquery_port=number("oscjson"),
        version=props.get("grym_version", ""), protocol=number("grym"), health=props.get("health", "unknown"),
        queue_depth=number("queue") or 0, models=tuple(m for m in props.get("models", "").split(",") if m),
        token_required=props.get("token") == "1",
    )


class BridgeBrowser:
    """Watches the network for bridges; `on_change(event, info)` hears added, updated and removed."""

    def __init__(self, interface: str | None = None,
                 on_change: Callable[[str, BridgeInfo], None] | None = None) -> None:
        self.interface = interface
        self.on_change = on_change
        self._bridges: dict[str, BridgeInfo] = {}
        self._lock = threading.Lock()
        self._zc: Zeroconf | None = None
        self._browser: ServiceBrowser | None = None
        self.changed = threading.Event()

    def start(self) -> None:
        interfaces = [self.interface] if self.interface else None
        # No interface given: every interface, as a user's `grym discover` wants (tests always give one).
        self._zc = Zeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only) if interfaces else \
            Zeroconf(ip_version=IPVersion.V4Only)
        self._browser = ServiceBrowser(self._zc, GRYM_TCP, handlers=[self._on_state])

    def _on_state(self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Removed:
            with self._lock:
                gone = self._bridges.pop(name, None)
            if gone is not None:
                self._notify("removed", gone)
            return
        info = zeroconf.get_service_info(service_type, name, timeout=3000)
        bridge = parse_info(info) if info is not None else None
        if bridge is None:
            return
        with self._lock:
            known = self._bridges.get(name)
            self._bridges[name] = bridge
        if known != bridge:
            self._notify("added" if known is None else "updated", bridge)

    def _notify(self, event: str, bridge: BridgeInfo) -> None:
        self.changed.set()
        if self.on_change is not None:
            try:
                self.on_change(event, bridge)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the browser thread
                log.exception("discovery listener failed on %s %s", event, bridge.name)

    def bridges(self) -> list[BridgeInfo]:
        """The bridges seen now, best first (healthy, short queue)."""
        with self._lock:
            return sorted(self._bridges.values(), key=BridgeInfo.rank)

    def close(self) -> None:
        if self._browser is not None:
            self._browser.cancel()
        if self._zc is not None:
            self._zc.close()
        self._browser = self._zc = None


def discover(timeout: float = 3.0, interface: str | None = None) -> list[BridgeInfo]:
    """Browse for `timeout` seconds and return the bridges found, best first."""
    browser = BridgeBrowser(interface)
    browser.start()
    try:
        time.sleep(timeout)
        return browser.bridges()
    finally:
        browser.close()


def matches(bridge: BridgeInfo, wanted: str) -> bool:
    """Whether `wanted` is the bridge's name, host name or one of its addresses."""
    return wanted in (bridge.name, bridge.host.rstrip("."), bridge.host.removesuffix(".local."), *bridge.addresses)


def ranked(bridges: list[BridgeInfo], wanted: str | None = None) -> list[BridgeInfo]:
    """The bridges to use, best first (healthiest, then shortest queue); only those matching `wanted` if given."""
    return sorted((b for b in bridges if wanted is None or matches(b, wanted)), key=BridgeInfo.rank)
