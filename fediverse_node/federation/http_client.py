"""The outgoing HTTP client: one pooled aiohttp session per process, safe against SSRF.

The guard sits on the address actually dialed: `GuardedConnector._resolve_host` checks every address
a host name resolves to (and every IP-literal host) against `address_policy` before aiohttp connects,
so DNS rebinding (a name that resolves to a public address for a check and a private one for the
connection) gains nothing: there is only one resolution, and it is the one that is checked. Legacy
numeric IPv4 spellings (`127.1`, `2130706433`) are read the way the C library would read them and
judged by the address they mean. Only http and https are spoken.

A refused destination raises `RefusedDestination` (a `Rejected`), never an aiohttp error, so callers
that map network errors to `Retryable` do not retry it.
"""

from __future__ import annotations

import socket
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from fediverse_node import SOFTWARE_NAME, __version__
from fediverse_node.config import Settings
from fediverse_node.crypto.http_dates import InvalidHttpDate, parse_http_date
from fediverse_node.domain.errors import Rejected
from fediverse_node.federation.address_policy import is_forbidden_address, parse_address

if TYPE_CHECKING:
    from aiohttp.abc import ResolveResult
    from aiohttp.client_reqrep import ClientRequest
    from aiohttp.connector import Connection
    from aiohttp.tracing import Trace

ALLOWED_SCHEMES = frozenset({"http", "https"})
MAX_RETRY_AFTER_SECONDS = 86_400.0


class RefusedDestination(Rejected):
    """The node will not send a request there (a private address or an unsupported scheme)."""


class ForbiddenAddress(RefusedDestination):
    def __init__(self, host: str, address: str) -> None:
        shown = host if host == address else f"{host} ({address})"
        super().__init__(f"refusing to connect to {shown}: not a public address", status=400)
        self.host = host
        self.address = address


class ForbiddenScheme(RefusedDestination):
    def __init__(self, url: str) -> None:
        super().__init__(f"refusing to fetch {url[:200]}: only http and https URLs are allowed", status=400)


def user_agent(settings: Settings) -> str:
    return f"{SOFTWARE_NAME}/{__version__} (+{settings.base_url}/)"


def require_http_url(url: str | URL) -> URL:
    """The URL parsed, or ForbiddenScheme when it is not an absolute http(s) URL."""
    try:
        parsed = url if isinstance(url, URL) else URL(url)
    except (ValueError, TypeError):
        raise ForbiddenScheme(str(url)) from None
    if parsed.scheme not in ALLOWED_SCHEMES or not parsed.host:
        raise ForbiddenScheme(str(url))
    return parsed


def _legacy_ipv4(host: str) -> str | None:
    """`127.1`, `0177.0.0.1` or `2130706433` as the dotted quad the C library would dial; else None."""
    if ":" in host or not host.replace(".", "").isdigit():
        return None
    try:
        canonical = socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None
    return None if canonical == host else canonical


class GuardedConnector(aiohttp.TCPConnector):
    """A TCPConnector that refuses non-public addresses (unless allowed) and non-http(s) schemes."""

    def __init__(self, *, allow_private_addresses: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.allow_private_addresses = allow_private_addresses

    async def connect(self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout) -> Connection:
        if req.url.scheme not in ALLOWED_SCHEMES:
            raise ForbiddenScheme(str(req.url))
        return await super().connect(req, traces, timeout)

    async def _resolve_host(self, host: str, port: int, traces: Any = None) -> list[ResolveResult]:
        legacy = _legacy_ipv4(host)
        if legacy is not None:
            resolved: list[ResolveResult] = [{"hostname": host, "host": legacy, "port": port,
                                              "family": socket.AF_INET, "proto": 0, "flags": 0}]
        else:
            resolved = await super()._resolve_host(host, port, traces=traces)
        if not self.allow_private_addresses:
            for entry in resolved:
                address = entry["host"]
                try:
                    forbidden = is_forbidden_address(parse_address(address))
                except ValueError:
                    forbidden = True
                if forbidden:
                    raise ForbiddenAddress(host, address)
        return resolved


def create_http_session(settings: Settings, *, limit: int | None = None,
                        limit_per_host: int = 8) -> aiohttp.ClientSession:
    """The shared client session; call from inside the running event loop and close it on shutdown.

    `limit` (total open connections) defaults to twice the delivery concurrency, at least 100.
    """
    federation = settings.federation
    connector = GuardedConnector(
        allow_private_addresses=federation.allow_private_addresses,
        limit=limit if limit is not None else max(100, 2 * federation.delivery_concurrency),
        limit_per_host=limit_per_host, ttl_dns_cache=300, keepalive_timeout=30)
    return aiohttp.ClientSession(
        connector=connector, headers={"User-Agent": user_agent(settings)}, trust_env=False,
        timeout=aiohttp.ClientTimeout(total=federation.fetch_timeout), raise_for_status=False)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header (delay in seconds or an HTTP date) as seconds from now, capped at a day."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_SECONDS)
    try:
        moment = parse_http_date(text)
    except InvalidHttpDate:
        return None
    seconds = (moment - (now or datetime.now(timezone.utc))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)
