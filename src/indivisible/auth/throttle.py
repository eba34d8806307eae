"""Rate limits per token and per address, and login throttling.

The state lives in the serving process: a node run with several uvicorn workers lets each
worker count on its own, so the limits a client meets are up to the workers' number times
the settings (docs/operator.md, "Rate limits and login throttling"). Counting in the
database would make every request a write, which is the very load these limits guard
against.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from indivisible.auth.secrets import digest
from indivisible.config import Settings

Clock = Callable[[], float]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]


class Buckets:
    """Token buckets, one per key: ``rate`` requests a second on average, ``burst`` at once.

    A key whose bucket has filled up again is forgotten when room is needed, so the map stays
    bounded by the keys active in the last ``burst / rate`` seconds (and by ``max_keys``)."""

    def __init__(
        self, rate: float, burst: int, clock: Clock = time.monotonic, max_keys: int = 65_536
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0.0 if a request under ``key`` may go now (and counts it), else the seconds until
        one may."""
        with self._lock:
            now = self.clock()
            tokens, then = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            # The epsilon absorbs float rounding: a client that waited exactly as told is let in.
            if tokens >= 1.0 - 1e-9:
                if key not in self._buckets and len(self._buckets) >= self.max_keys:
                    self._forget_full(now)
                self._buckets[key] = (max(0.0, tokens - 1.0), now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return max(1e-9, (1.0 - tokens) / self.rate)

    def _forget_full(self, now: float) -> None:
        full = [
            key
            for key, (tokens, then) in self._buckets.items()
            if tokens + (now - then) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:
            # Every bucket is in use: a flood of distinct keys. Starting afresh lets those keys
            # through once more, which the per-address limit, keyed by what a client cannot
            # choose, still bounds.
            self._buckets.clear()


class LoginThrottle:
    """Failed logins counted per key in a sliding window; a key with ``limit`` failures in the
    window waits until the oldest leaves it. While a key waits, even the right password is
    refused, or guessing would go on at the rate the check answers."""

    def __init__(self, window_seconds: float, clock: Clock = time.monotonic) -> None:
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, limits: Iterable[tuple[str, int]]) -> float:
        """Seconds until every (key, limit) may try again; 0.0 if they all may now."""
        with self._lock:
            now = self.clock()
            longest = 0.0
            for key, limit in limits:
                recent = self._recent(key, now)
                if limit > 0 and len(recent) >= limit:
                    longest = max(longest, recent[len(recent) - limit] + self.window - now)
            return longest

    def failed(self, keys: Iterable[str]) -> None:
        with self._lock:
            now = self.clock()
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._failures.setdefault(key, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if not recent and len(self._failures) > 65_536:
            # Forget keys with nothing left in the window, so the map stays bounded.
            for stale in [k for k, v in self._failures.items() if not v and k != key]:
                del self._failures[stale]
        return recent


@dataclass(frozen=True)
class LoginLimits:
    """Failures allowed in the window: for one account from one address, from one address
    over all accounts, and for one account over all addresses (a slower brake on guessing
    spread over many addresses, high enough that a stranger cannot lock an owner out from a
    single address)."""

    per_account_and_address: int
    per_address: int
    per_account: int

    def keys(self, username: str, address: str) -> list[tuple[str, int]]:
        account = digest(username.strip().lower())
        return [
            (f"pair:{account}:{address}", self.per_account_and_address),
            (f"address:{address}", self.per_address),
            (f"account:{account}", self.per_account),
        ]


class Throttle:
    """What a node keeps between requests to slow a client down: request buckets per token
    and per address, and failed logins."""

    def __init__(
        self,
        per_token: tuple[float, int] | None,
        per_address: tuple[float, int] | None,
        login: LoginLimits,
        login_window_seconds: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self.tokens = Buckets(*per_token, clock=clock) if per_token else None
        self.addresses = Buckets(*per_address, clock=clock) if per_address else None
        self.login = login
        self.logins = LoginThrottle(login_window_seconds, clock=clock)

    def request_wait(self, address: str, credential: str | None) -> float:
        """Seconds the client must wait before this request may go; 0.0 lets it through.
        The credential (a bearer token or a session cookie) is kept only as a digest. A request
        refused under its token still counts against its address, so a client hammering while
        refused stays refused."""
        waits = [0.0]
        if self.addresses is not None:
            waits.append(self.addresses.take(address))
        if self.tokens is not None and credential:
            waits.append(self.tokens.take(digest(credential)))
        return max(waits)

    def login_wait(self, username: str, address: str) -> float:
        return self.logins.wait(self.login.keys(username, address))

    def login_failed(self, username: str, address: str) -> None:
        self.logins.failed(key for key, _limit in self.login.keys(username, address))

    def login_succeeded(self, username: str, address: str) -> None:
        # Only the pair forgets: one success must not wipe what an address or a spread of
        # addresses tried against other accounts.
        self.logins.succeeded(self.login.keys(username, address)[0][0])


def throttle_for(settings: Settings) -> Throttle:
    return Throttle(
        per_token=(settings.rate_limit_per_token, settings.rate_limit_per_token_burst)
        if settings.rate_limit_per_token > 0
        else None,
        per_address=(settings.rate_limit_per_address, settings.rate_limit_per_address_burst)
        if settings.rate_limit_per_address > 0
        else None,
        login=LoginLimits(
            per_account_and_address=settings.login_failures_per_account_and_address,
            per_address=settings.login_failures_per_address,
            per_account=settings.login_failures_per_account,
        ),
        login_window_seconds=settings.login_window_minutes * 60,
    )


def retry_after(seconds: float) -> str:
    """The Retry-After value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))


# Not counted: the health check (monitors poll it) and static files (a page pulls several).
UNLIMITED_PREFIXES = ("/api/v1/health", "/static/")


def client_address(scope: Mapping[str, Any]) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def credential_of(scope: Mapping[str, Any], session_cookie: str) -> str | None:
    """The request's credential as sent, whichever way: the Authorization header (a bearer
    token, or Basic for TAXII) or the web session's cookie."""
    headers: dict[bytes, bytes] = dict(scope.get("headers") or [])
    authorization = headers.get(b"authorization", b"").strip()
    if authorization:
        return authorization.decode("latin-1")
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        name, _sep, value = part.strip().partition("=")
        if name == session_cookie and value:
            return str(value)
    return None


class RateLimit:
    """Pure ASGI guard: a request over its token's or its address's limit is answered by
    ``refuse`` (a 429 with Retry-After) before the app reads it or opens a transaction."""

    def __init__(
        self,
        app: ASGI,
        throttle: Callable[[], Throttle],
        refuse: Callable[[Scope, Send, float], Awaitable[None]],
        session_cookie: str,
    ) -> None:
        self.app = app
        self.throttle = throttle
        self.refuse = refuse
        self.session_cookie = session_cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith(UNLIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        wait = self.throttle().request_wait(
            client_address(scope), credential_of(scope, self.session_cookie)
        )
        if wait > 0:
            await self.refuse(scope, send, wait)
            return
        await self.app(scope, receive, send)
