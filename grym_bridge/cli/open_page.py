"""`grym open`: open the running bridge's web page in the default browser."""

from __future__ import annotations

import webbrowser

import click

from grym_bridge.cli.common import pass_config
from grym_bridge.config import Config
from grym_bridge.errors import GrymError


def page_url(config: Config, port: int | None) -> str:
    """The page's address on this machine: loopback when the bridge serves on every interface."""
    host = config.server.host
    host = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{host}:{port or config.http.port}/"


@click.command("open")
@click.option("--port", type=int, default=None, help="The web page's port [default: http.port, 9133].")
@click.option("--print-url", is_flag=True, help="Print the address instead of opening a browser.")
@pass_config
def open_page(config: Config, port: int | None, print_url: bool) -> None:
    """Open the web page of the bridge `grym serve` runs: analyze, generate, effects A/B, compose, memory.

    Checks that the page answers first; `grym serve` prints the address too (Web ...).
    """
    import httpx

    url = page_url(config, port)
    try:
        httpx.get(url + "api/routes", timeout=3.0).raise_for_status()
    except httpx.HTTPError as exc:
        raise GrymError(f"no bridge page answers at {url} ({exc.__class__.__name__}); start it with `grym serve` "
                        "(and check http.enabled and http.port, or pass --port)", code="unreachable") from None
    if print_url or not webbrowser.open(url):
        click.echo(url)


commands = [open_page]
