"""The studio token: made once, kept private, compared in constant time; the rule for who needs it."""

from __future__ import annotations

import stat

import pytest

from grym_bridge.config import Config
from grym_bridge.errors import ConfigError
from grym_bridge.transports.auth import (
    OscClientGate,
    Unauthorized,
    check_client,
    is_loopback,
    load_token,
    token_matches,
    token_path,
)
from tests.osc_client import RunningServer


def test_token_is_generated_once_private_and_reused(config: Config) -> None:
    assert load_token(config, create=False) is None
    token = load_token(config)
    assert token is not None and len(token) >= 16
    assert stat.S_IMODE(token_path(config).stat().st_mode) == 0o600
    assert load_token(config) == token == load_token(config, create=False)


def test_configured_token_wins_and_must_be_long_enough(config: Config) -> None:
    config.network.token = "our-studio-token-2026"
    assert load_token(config) == "our-studio-token-2026" and not token_path(config).exists()
    config.network.token = "short"
    with pytest.raises(ConfigError, match="at least 16"):
        load_token(config)


def test_matching_and_the_loopback_rule() -> None:
    assert token_matches("x" * 20, "x" * 20)
    for wrong in ("y" * 20, "", None, 12345, "x" * 19):
        assert not token_matches(wrong, "x" * 20)
    assert not token_matches("x" * 20, None)
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.9.1", "::1", "localhost", "::ffff:127.0.0.1"))
    assert not any(is_loopback(h) for h in ("10.231.7.2", "0.0.0.0", "example.org", ""))
    check_client("127.0.0.1", None, "t" * 20)  # local: no token needed
    check_client("10.0.0.5", "t" * 20, "t" * 20)
    with pytest.raises(Unauthorized, match="must present"):
        check_client("10.0.0.5", None, "t" * 20)
    with pytest.raises(Unauthorized, match="wrong"):
        check_client("127.0.0.1", "u" * 20, "t" * 20)  # presented: it must be right, even locally


def test_osc_gate_admits_a_remote_ip_after_its_hello() -> None:
    gate = OscClientGate("t" * 20)
    gate.check("127.0.0.1", "/grym/system/ping", [1])
    with pytest.raises(Unauthorized, match="/grym/system/hello"):
        gate.check("10.0.0.5", "/grym/system/ping", [1])
    with pytest.raises(Unauthorized):
        gate.check("10.0.0.5", "/grym/system/hello", [1, 9000])  # a hello without the token
    with pytest.raises(Unauthorized):
        gate.check("10.0.0.5", "/grym/system/hello", [1, 9000, "u" * 20])
    gate.check("10.0.0.5", "/grym/system/hello", [1, 9000, "t" * 20])
    gate.check("10.0.0.5", "/grym/system/ping", [2])
    with pytest.raises(Unauthorized):
        gate.check("10.0.0.6", "/grym/system/ping", [1])  # admission is per IP


def test_the_running_osc_server_checks_a_presented_token(bridge: RunningServer) -> None:
    with bridge.client() as client:
        port = client.sock.getsockname()[1]
        address, args = client.request("/grym/system/hello", port, "w" * 24)
        assert address == "/grym/error" and args[2] == "unauthorized"
        address, args = client.request("/grym/system/hello", port, bridge.services.network.token)
        assert address == "/grym/system/hello" and args[0] == "ok"
