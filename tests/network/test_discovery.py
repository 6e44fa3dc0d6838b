"""Zeroconf on 127.0.0.1: a bridge appears with the right TXT records, its changes are seen,
and it disappears when it stops. (Across network namespaces: test_lan.py.)"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any, Callable

from click.testing import CliRunner
from zeroconf import IPVersion, Zeroconf

from grym_bridge import PROTOCOL_VERSION, __version__
from grym_bridge.cli import cli
from grym_bridge.config import Config
from grym_bridge.orchestrator.health import Readings
from grym_bridge.transports.discovery import (
    GRYM_TCP,
    OSC_JSON,
    OSC_UDP,
    Advertiser,
    BridgeBrowser,
    BridgeInfo,
    BridgeStatus,
    ranked,
)
from tests.osc_client import start_server


class Events:
    """What a browser heard, with a way to wait for a particular event."""

    def __init__(self) -> None:
        self.items: list[tuple[str, BridgeInfo]] = []
        self.cond = threading.Condition()

    def __call__(self, event: str, info: BridgeInfo) -> None:
        with self.cond:
            self.items.append((event, info))
            self.cond.notify_all()

    def wait_for(self, check: Callable[[str, BridgeInfo], bool], timeout: float = 10.0) -> BridgeInfo:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for event, info in self.items:
                    if check(event, info):
                        return info
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching zeroconf event; heard {[(e, i.name) for e, i in self.items]}")
                self.cond.wait(left)


def txt_of(service_type: str, name: str) -> tuple[int, dict[str, str]]:
    """Resolve one service with a fresh zeroconf on 127.0.0.1: its port and TXT record."""
    zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    try:
        info = zc.get_service_info(service_type, f"{name}.{service_type}", timeout=5000)
        assert info is not None, f"{name} not resolvable as {service_type}"
        return info.port, {k.decode(): (v or b"").decode() for k, v in info.properties.items()}
    finally:
        zc.close()


def test_advertised_records_updates_and_goodbye() -> None:
    name = f"grym test {uuid.uuid4().hex[:6]}"
    events = Events()
    browser = BridgeBrowser("127.0.0.1", on_change=events)
    browser.start()
    adv = Advertiser(name, ["127.0.0.1"], osc_port=19130, rpc_port=19131, oscquery_port=19132, token_required=True)
    try:
        adv.start(BridgeStatus(models_ready=("analysis", "composition")))
        seen = events.wait_for(lambda e, i: e == "added" and i.name == name)
        assert seen.addresses == ("127.0.0.1",) and (seen.osc_port, seen.rpc_port, seen.oscquery_port) == (19130, 19131, 19132)
        assert (seen.version, seen.protocol, seen.health, seen.queue_depth) == (__version__, PROTOCOL_VERSION, "healthy", 0)
        assert seen.models == ("analysis", "composition") and seen.token_required

        port, osc = txt_of(OSC_UDP, name)
        assert port == 19130
        assert {k: osc[k] for k in ("txtvers", "version", "framing")} == {"txtvers": "1", "version": "1.1", "framing": "slip"}
        assert set("ifsb") <= set(osc["types"]) and osc["rpc"] == "19131" and osc["oscjson"] == "19132"
        assert txt_of(OSC_JSON, name)[0] == 19132 and txt_of(GRYM_TCP, name)[0] == 19131

        assert adv.update(BridgeStatus("warning", 5, ("analysis",)))
        assert not adv.update(BridgeStatus("warning", 5, ("analysis",)))  # unchanged: nothing sent
        changed = events.wait_for(lambda e, i: e == "updated" and i.name == name and i.health == "warning")
        assert changed.queue_depth == 5 and changed.models == ("analysis",)
    finally:
        adv.close()
    events.wait_for(lambda e, i: e == "removed" and i.name == name)
    assert all(b.name != name for b in browser.bridges())
    browser.close()


def test_ranking_prefers_healthy_then_short_queues() -> None:
    def bridge(name: str, health: str, queue: int) -> BridgeInfo:
        return BridgeInfo(name, f"{name}.local.", ("10.0.0.1",), 9130, 9130, 9131, 9132, "0.1.0", 1, health, queue)

    bridges = [bridge("busy", "healthy", 9), bridge("hot", "critical", 0), bridge("idle", "healthy", 0),
               bridge("warm", "warning", 0)]
    assert [b.name for b in ranked(bridges)] == ["idle", "busy", "warm", "hot"]
    assert [b.name for b in ranked(bridges, "warm")] == ["warm"]
    assert [b.name for b in ranked(bridges, "10.0.0.1")][0] == "idle"
    assert ranked(bridges, "nobody") == []


def test_serve_advertises_its_health_and_withdraws_on_stop(config: Config) -> None:
    config.network.advertise = "on"  # on 127.0.0.1, as `grym serve --advertise`
    config.network.name = name = f"grym serve {uuid.uuid4().hex[:6]}"
    config.network.rpc_port = config.network.oscquery_port = 0
    # Only the injected reading below may make this bridge critical (a busy test machine must not).
    config.health.memory_critical = 100.0
    config.health.loop_lag_critical_s = 1000.0
    config.health.min_time_in_state_s = 3600.0
    events = Events()
    browser = BridgeBrowser("127.0.0.1", on_change=events)
    browser.start()
    server = start_server(config)
    try:
        seen = events.wait_for(lambda e, i: e == "added" and i.name == name)
        assert seen.rpc_port == server.services.endpoints["rpc"] and seen.osc_port == server.port
        assert seen.health != "critical" and not seen.token_required  # loopback: no token needed

        result = CliRunner().invoke(cli, ["discover", "--interface", "127.0.0.1", "--timeout", "1.5", "--json"])
        assert result.exit_code == 0, result.output
        listed: list[dict[str, Any]] = json.loads(result.output)
        assert any(b["name"] == name and b["rpc_port"] == seen.rpc_port for b in listed)

        health = server.services.orchestrator.health
        server.loop.call_soon_threadsafe(health.update, Readings(error_rate=0.9))
        hot = events.wait_for(lambda e, i: i.name == name and i.health == "critical")
        assert hot.rpc_port == seen.rpc_port
    finally:
        server.stop()
    events.wait_for(lambda e, i: e == "removed" and i.name == name)
    browser.close()
