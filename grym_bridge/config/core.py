"""Config sections of the process itself: the server's sockets, allowed paths, jobs, audio limits, the network."""

from __future__ import annotations

from dataclasses import dataclass

from grym_bridge.config.fields import setting


@dataclass
class ServerConfig:
    host: str = setting(
        "127.0.0.1",
        "Address to serve on. 127.0.0.1 keeps the bridge private to this machine; "
        "0.0.0.0 exposes it to every network the machine is on.",
    )
    osc_port: int = setting(9130, "OSC port, for UDP and for OSC over TCP (SLIP).", min=1, max=65535)
    max_message_bytes: int = setting(
        65507, "Largest OSC message accepted; larger ones get a too_large error.", min=64, max=16 * 1024 * 1024
    )
    max_bundle_depth: int = setting(8, "Deepest nesting of OSC bundles (and of arrays in a message); deeper is malformed.",
                                    min=1, max=64)
    max_scheduled: int = setting(1000, "OSC messages held for a future bundle time tag at once; more get a busy error.",
                                 min=0, max=1_000_000)
    max_schedule_ahead_s: float = setting(60.0, "Furthest ahead a bundle time tag may lie; later ones get bad_args.",
                                          min=0.0, max=86400.0)
    max_pattern_matches: int = setting(64, "Most addresses one OSC address pattern may run; more get bad_args.",
                                       min=1, max=100_000)
    max_udp_clients: int = setting(4096, "UDP reply ports remembered from hello; past it the least recently heard is forgotten.",
                                   min=16, max=1_000_000)
    subscription_lease_s: float = setting(300.0, "A UDP subscription lapses unless start_listen is sent again within this time.",
                                          min=1.0, max=30 * 86400.0)
    max_subscribers: int = setting(256, "Clients subscribed to one property at once; more get a busy error.",
                                   min=1, max=100_000)
    remote_udp: str = setting(
        "off", "OSC over UDP from other machines: off (refused; remote clients use OSC over TCP with the token) "
        "or ip (admitted by source IP after a hello with the token: forgeable on the LAN).", choices=["off", "ip"])
    tcp_max_connections: int = setting(64, "OSC-over-TCP connections served at once; more are closed with a busy error.",
                                       min=1, max=100_000)
    tcp_max_unauthenticated: int = setting(8, "OSC-over-TCP connections from other machines that have not yet said hello "
                                              "with the token, at once.", min=0, max=10_000)
    tcp_auth_timeout_s: float = setting(10.0, "A connection from another machine that has not said hello with the token "
                                              "this long after connecting is closed.", min=0.1)
    tcp_idle_timeout_s: float = setting(3600.0, "An OSC-over-TCP connection that sends nothing this long is closed.", min=0.1)
    tcp_frame_timeout_s: float = setting(10.0, "A started OSC-over-TCP frame that stalls this long closes the connection.",
                                         min=0.1)
    tcp_max_output_bytes: int = setting(4 * 1024 * 1024, "Replies waiting for a slow OSC-over-TCP reader; past it the "
                                                         "connection is closed.", min=64 * 1024, max=1024**3)
    log_interval_s: float = setting(60.0, "A repeated warning about client input is logged once per this interval, with a count.",
                                    min=0.0)


@dataclass
class PathsConfig:
    allowed_roots: list[str] = setting(
        ["~"],
        "Folders whose files clients may name in requests (the data directory is always allowed).",
    )
    max_read_bytes: int = setting(
        4 * 1024 * 1024, "Largest text file (a chain file, a JSON file) a request may name; read in a worker.",
        min=1024, max=1024**3,
    )


@dataclass
class JobsConfig:
    queue_size: int = setting(64, "Jobs waiting at most; more get a busy error.", min=1, max=100_000)
    cpu_workers: int = setting(2, "Jobs of the cpu class that run at once.", min=1, max=64)
    gpu_workers: int = setting(1, "Jobs of the gpu class that run at once.", min=1, max=16)
    timeout_s: float = setting(600.0, "A job running longer than this is cancelled.", min=0.1)
    result_ttl_s: float = setting(3600.0, "How long finished jobs stay queryable.", min=0.0)
    cancel_by: str = setting(
        "host", "Who may cancel a job: host (the clients of the host that started it: this machine's own "
        "processes, or a remote machine's token holder over any transport), owner (only the very connection or "
        "socket that started it) or anyone.", choices=["host", "owner", "anyone"],
    )
    retry_after_max_s: float = setting(300.0, "Longest retry_after a busy error suggests; the hint is estimated "
                                       "from the jobs ahead and how long such jobs took.", min=0.5)


@dataclass
class AudioConfig:
    max_duration_s: float = setting(1200.0, "Longest audio file accepted, in seconds.", min=0.1)
    max_channels: int = setting(8, "Most channels accepted in an audio file.", min=1, max=64)
    max_decoded_bytes: int = setting(
        1024**3, "Most decoded audio one job may hold (frames x channels x 4 bytes); a file over it is refused "
        "before decoding.", min=1024, max=1024**4,
    )
    max_decoded_total_bytes: int = setting(
        2 * 1024**3, "Most decoded audio all running jobs may hold together; a job over it gets a busy error.",
        min=1024, max=1024**4,
    )


@dataclass
class HttpConfig:
    """The web page and its JSON API (grym_bridge.transports.http)."""

    enabled: bool = setting(True, "Serve the web page and the HTTP/websocket API.")
    port: int = setting(9133, "TCP port of the web page and API (0: any free port).", min=0, max=65535)
    max_upload_bytes: int = setting(512 * 1024**2, "Largest clip the page may upload.", min=1, max=1024**4)
    allowed_hosts: list[str] = setting(
        [], "Extra host names the page may be reached by (Host header), besides loopback and this machine's."
    )


@dataclass
class NetworkConfig:
    """The studio network: zeroconf advertising, OSCQuery, the msgpack RPC and the relay."""

    advertise: str = setting(
        "auto", "Zeroconf advertising: auto (on when serving beyond loopback), on, or off.",
        choices=["auto", "on", "off"],
    )
    name: str = setting("", "Name the bridge is advertised under (empty: grym-bridge on <hostname>).")
    rpc_port: int = setting(9131, "TCP port of the msgpack RPC (0: any free port).", min=0, max=65535)
    oscquery_port: int = setting(9132, "TCP port of the OSCQuery HTTP endpoint (0: any free port).", min=0, max=65535)
    token: str = setting(
        "", "Shared studio token (empty: generated on first use in the data directory). "
        "Clients beyond loopback must present it.",
    )
    max_frame_bytes: int = setting(4 * 1024 * 1024, "Largest RPC frame accepted.", min=1024, max=256 * 1024 * 1024)
    max_upload_bytes: int = setting(2 * 1024**3, "Largest file one RPC upload may carry.", min=1, max=1024**4)
    max_connections: int = setting(32, "RPC connections served at once; more are closed with a busy error.", min=1, max=10_000)
    max_preauth_connections: int = setting(
        16, "RPC connections that have not said hello yet, kept apart from max_connections; when full, the oldest "
        "silent one is closed for a newcomer.", min=1, max=10_000,
    )
    hello_timeout_s: float = setting(5.0, "An RPC connection that has not said hello (with the token) this long is closed.", min=0.1)
    idle_timeout_s: float = setting(600.0, "An RPC connection that sends nothing this long is closed.", min=0.1)
    frame_timeout_s: float = setting(30.0, "A started frame (or an open upload) that stalls this long closes the connection.", min=0.1)
    oscquery_max_connections: int = setting(32, "OSCQuery HTTP connections served at once; more are answered 503.",
                                            min=1, max=10_000)
    oscquery_timeout_s: float = setting(10.0, "An OSCQuery connection that sends nothing this long is closed.", min=0.1)
    upload_ttl_s: float = setting(86400.0, "Uploaded files older than this are deleted.", min=0.0)
    max_uploads_total_bytes: int = setting(
        8 * 1024**3, "Most bytes all stored uploads may take; the oldest are deleted to make room.", min=1, max=1024**5,
    )
    relay_dir: str = setting("", "Where `grym relay` keeps downloaded results (empty: <data dir>/relay).")
