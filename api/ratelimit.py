"""Per-client rate limits on the public endpoints (the ``limits`` library), checked before a body is read.

- ``POST /v1/verify`` and ``POST /v1/c2pa/matches/byContent`` (uploads to decode) count against ``rate_limit_verify_uploads`` and the general rate;
  every other request counts against ``rate_limit_public``, except publishers' routes (``/v1/media...``, which
  need a key and are not anonymous) and ``/healthz`` (load balancers poll it).
- The client is the TCP peer's address. ``X-Forwarded-For`` is believed only when the peer is one of
  ``trusted_proxies``; then the client is the right-most address in it that is not itself a trusted proxy (the
  left-most entries are whatever the client chose to send).
- Storage: ``rate_limit_storage`` (``memory://`` by default). Memory counts in each process, so with several API
  processes each enforces ``rate / rate_limit_processes``: a client's requests are spread over the processes by the
  kernel's accept queue, so together they allow about the configured rate without a shared server. A shared backend
  (``redis://``) counts once for all processes; then leave ``rate_limit_processes`` at 1.
- Strategy: the sliding-window counter (two counters per client and rate, no per-request log), smooth at the
  window edges without a moving window's memory per request.
"""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from api.errors import send_error
from ledger.config import Settings
from ledger.errors import ConfigError, RateLimited

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
EXEMPT_PREFIXES = ("/v1/media", "/healthz")
# Anonymous uploads of an image to decode and match: the reader's verify and the C2PA soft-binding lookup by content.
IMAGE_QUERIES = ("/v1/verify", "/v1/c2pa/matches/byContent")


def per_process(rate: str, processes: int) -> RateLimitItem:
    try:
        item = parse(rate)
    except ValueError as exc:
        raise ConfigError(f"not a rate: {rate!r} (write e.g. '30/minute')") from exc
    return type(item)(max(1, item.amount // processes), item.multiples, item.namespace)


def parse_networks(values: list[str]) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())
    except ValueError as exc:
        raise ConfigError(f"trusted_proxies: {exc}") from exc


def client_address(scope: dict[str, Any], trusted: tuple[Network, ...]) -> str:
    peer = (scope.get("client") or ("unknown", 0))[0]
    if not trusted or not _is_in(peer, trusted):
        return str(peer)
    forwarded = b",".join(v for k, v in scope["headers"] if k == b"x-forwarded-for").decode("latin-1")
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return str(peer)  # a malformed chain: trust nothing in it
        if not _is_in(hop, trusted):
            return hop
    return str(peer)


def _is_in(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


@dataclass(frozen=True)
class Rates:
    """The settings, parsed when the app is built (a typo in a rate stops the start, not the first request)."""

    uploads: RateLimitItem
    public: RateLimitItem
    trusted: tuple[Network, ...]
    storage: str

    @classmethod
    def from_settings(cls, settings: Settings, local_processes: int = 1) -> Rates:
        # Memory counters are per process: this host's workers and the other hosts' processes share each rate.
        memory = settings.rate_limit_storage.startswith("memory")
        processes = settings.rate_limit_processes * (local_processes if memory else 1)
        return cls(per_process(settings.rate_limit_verify_uploads, processes),
                   per_process(settings.rate_limit_public, processes), parse_networks(settings.trusted_proxies),
                   settings.rate_limit_storage)  # fmt: skip


class ClientLimits:
    """The per-client counters, shared by the middleware and the hot verify by hash (``api.fast_hash``)."""

    def __init__(self, rates: Rates) -> None:
        try:
            storage = storage_from_string(f"async+{rates.storage}")
        except Exception as exc:  # limits raises ConfigurationError, or ImportError-like errors for a missing client
            raise ConfigError(f"rate_limit_storage {rates.storage!r}: {exc}") from exc
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.uploads, self.public, self.trusted = rates.uploads, rates.public, rates.trusted

    def items_for(self, method: str, path: str) -> list[tuple[str, RateLimitItem]]:
        if path.startswith(EXEMPT_PREFIXES):
            return []
        items = [("public", self.public)]
        if method == "POST" and path.rstrip("/") in IMAGE_QUERIES:
            items.append(("verify-upload", self.uploads))
        return items

    async def refusal(self, scope: dict[str, Any]) -> RateLimited | None:
        """Counts the request against its client's rates; the refusal to send when one is spent."""
        client = client_address(scope, self.trusted)
        for name, item in self.items_for(scope["method"], scope["path"]):
            if not await self.limiter.hit(item, name, client):
                stats = await self.limiter.get_window_stats(item, name, client)
                wait = max(1, math.ceil(stats.reset_time - time.time()))
                return RateLimited(f"too many requests from this address (limit {item}); try again in {wait} s", wait)
        return None


class RateLimits:
    def __init__(self, app: Any, limits: ClientLimits) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = await self.limits.refusal(scope)
        if refused is not None:
            await send_error(send, refused, close=True)
            return
        await self.app(scope, receive, send)
