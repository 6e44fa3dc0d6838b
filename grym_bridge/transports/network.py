"""The studio network for one `grym serve`: RPC, OSCQuery, zeroconf and the OSC token gate.

The composition root builds a `StudioNetwork` after the OSC server is up (handing it the
router, the upload store and callables for the advertised status), starts it, and
closes it before the OSC server on the way out (advertisements are always
withdrawn, uploads in flight deleted).

Advertising follows `network.advertise`: `auto` advertises when serving
beyond loopback, `on` (`grym serve --advertise`) on any address including
127.0.0.1, `off` never. The studio token is loaded (or created) whenever the
network starts, so a client that presents one is always checked against it.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, TypeVar

from grym_bridge.config import Config

from grym_bridge.transports.auth import OscClientGate, is_loopback, load_token, token_path
from grym_bridge.transports.discovery import Advertiser, BridgeStatus, default_name, served_addresses
from grym_bridge.transports.oscquery import OscQueryServer
from grym_bridge.transports.rpc.server import ModelFiles, RpcLimits, RpcServer
from grym_bridge.transports.rpc.uploads import UploadStore

if TYPE_CHECKING:
    from grym_bridge.api.routes import Router

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How often the advertised health and queue depth are compared with the live ones.
STATUS_INTERVAL_S = 1.0
#: How often capability readiness ("models ready") is looked at again.
MODELS_INTERVAL_S = 60.0


def should_advertise(mode: str, host: str) -> bool:
    return mode == "on" or (mode == "auto" and not is_loopback(host))


def bridge_status(status: tuple[str, int], models: tuple[str, ...]) -> BridgeStatus:
    """What the TXT records say now: health state, jobs waiting, capabilities ready."""
    health, depth = status
    return BridgeStatus(health=health, queue_depth=depth, models_ready=models)


async def _on_port_or_any(bind: Callable[[int], Awaitable[T]], port: int, key: str) -> T:
    """Bind `port`; if it is taken, bind any free port instead and say so.

    Other machines find the actual ports through zeroconf and /grym/system/info,
    so a second bridge on one machine (or a test server) still starts.
    """
    try:
        return await bind(port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or port == 0:
            raise
        log.warning("port %d (%s) is taken; using a free port instead", port, key)
        return await bind(0)


class StudioNetwork:
    """Starts and stops everything other machines use to find and reach this bridge."""

    def __init__(self, config: Config, router: "Router", *, osc_port: int, endpoints: dict[str, Any],
                 uploads: UploadStore, status: Callable[[], tuple[str, int]],
                 models_ready: Callable[[], tuple[str, ...]], models: ModelFiles | None = None) -> None:
        """`status()` gives (health state, jobs waiting); `models_ready()` the ready capabilities (slow: a thread)."""
        self.config = config
        self.router = router
        self.osc_port = osc_port
        self.endpoints = endpoints
        self.uploads = uploads
        self.status = status
        self.models_ready = models_ready
        self.models = models
        self.host = config.server.host
        self.name = config.network.name or default_name()
        self.token = load_token(config, create=True)
        self.gate = OscClientGate(self.token)
        self.rpc: RpcServer | None = None
        self.oscquery: OscQueryServer | None = None
        self.advertiser: Advertiser | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._models: tuple[str, ...] = ()

    async def start(self) -> None:
        config = self.config
        net = config.network
        uploads = self.uploads
        addresses = served_addresses(self.host)
        osc_ip = addresses[0] if addresses else self.host

        # Only what requests make is downloadable: renders, large results, uploads (not the store or the token).
        downloadable = [config.renders_dir(), self.router.results_dir or config.data_dir / "results", uploads.root]

        async def rpc_on(port: int) -> RpcServer:
            server = RpcServer(self.router, self.host, port, token=self.token, uploads=uploads,
                               download_roots=downloadable, limits=RpcLimits.from_config(net), name=self.name,
                               models=self.models)
            await server.start()
            return server

        async def oscquery_on(port: int) -> OscQueryServer:
            return OscQueryServer(self.router.routes.values(), self.host, port, name=self.name,
                                  osc_ip=osc_ip, osc_port=self.osc_port,
                                  max_connections=net.oscquery_max_connections, timeout_s=net.oscquery_timeout_s)

        self.rpc = await _on_port_or_any(rpc_on, net.rpc_port, "network.rpc_port")
        self.oscquery = await _on_port_or_any(oscquery_on, net.oscquery_port, "network.oscquery_port")
        self.oscquery.start()
        self.endpoints.update({"rpc": self.rpc.port, "oscquery": self.oscquery.port})
        self._tasks.append(asyncio.create_task(self._sweep_uploads(uploads)))
        if should_advertise(net.advertise, self.host):
            if addresses:
                self.advertiser = Advertiser(self.name, addresses, osc_port=self.osc_port, rpc_port=self.rpc.port,
                                             oscquery_port=self.oscquery.port,
                                             token_required=not is_loopback(self.host))
                # Probing the names takes about a second: the server answers requests meanwhile.
                self._tasks.append(asyncio.create_task(self._advertise()))
            else:
                log.warning("zeroconf advertising is off: %s has no IPv4 address besides loopback", self.host)

    async def _advertise(self) -> None:
        assert self.advertiser is not None
        try:
            await asyncio.to_thread(self.advertiser.start, bridge_status(self.status(), self._models))
        except OSError as exc:
            log.warning("zeroconf advertising failed: %s", exc)
            return
        self.endpoints["advertised_as"] = self.advertiser.instance_names[0].split("._")[0]
        # Capability readiness imports the capabilities (seconds): the records get it by the next update.
        self._tasks.append(asyncio.create_task(self._refresh_models()))
        await self._keep_status_current()

    async def _keep_status_current(self) -> None:
        while True:
            await asyncio.sleep(STATUS_INTERVAL_S)
            assert self.advertiser is not None
            try:
                await asyncio.to_thread(self.advertiser.update, bridge_status(self.status(), self._models))
            except Exception:  # noqa: BLE001 - a failed announcement must not end the updates
                log.exception("could not update the zeroconf records")

    async def _sweep_uploads(self, uploads: UploadStore) -> None:
        """Delete uploaded copies older than network.upload_ttl_s, now and then while serving."""
        while True:
            await asyncio.sleep(max(60.0, min(3600.0, uploads.ttl_s / 4)))
            removed = await asyncio.to_thread(uploads.sweep)
            if removed:
                log.info("deleted %d uploaded file(s) older than %g s", removed, uploads.ttl_s)

    async def _refresh_models(self) -> None:
        while True:
            self._models = await asyncio.to_thread(self.models_ready)
            await asyncio.sleep(MODELS_INTERVAL_S)

    async def close(self) -> None:
        """Withdraw the advertisements, stop OSCQuery, close RPC connections (uploads in flight are deleted)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.advertiser is not None:
            # Waits for a registration still probing, then unregisters: never leaves a stale record.
            await asyncio.to_thread(self.advertiser.close)
        if self.oscquery is not None:
            await asyncio.to_thread(self.oscquery.close)
        if self.rpc is not None:
            await self.rpc.close()

    def banner_lines(self) -> list[str]:
        """What `grym serve` prints about the network, the token included when it is needed."""
        lines: list[str] = []
        if self.rpc is not None and self.oscquery is not None:
            lines.append(f"  RPC   tcp://{self.host}:{self.rpc.port} (msgpack)   OSCQuery http://{self.host}:{self.oscquery.port}/")
        if self.advertiser is not None:
            lines.append(f"  zeroconf: advertising '{self.name}' (_osc._udp, _oscjson._tcp, _grym._tcp)")
        if not is_loopback(self.host):
            lines.append(f"  token {self.token}  (clients on other machines present it; kept in "
                         f"{token_path(self.config) if not self.config.network.token else 'network.token'})")
        return lines
