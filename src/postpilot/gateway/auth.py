"""Who is calling, and what they may do: API keys checked on every request.

**Deny by default.** Every route of the app declares its access with
:func:`requires` (a scope) or :func:`public`; the app runs :func:`enforce`
before every route, and a route that declares nothing is refused to everyone.
A test enumerates the app's routes to check each one.

A key arrives as ``Authorization: Bearer pp_...`` (or ``X-API-Key: pp_...``).
Its shape and checksum are checked first, so garbage never reaches the store;
then the key is looked up by its id and the SHA-256 of the whole key compared
in constant time. Lookups are cached for :data:`CACHE_SECONDS` (2 s), so a
revoked key is refused by every worker within that time (the issue asks for 5).

Missing or unknown keys answer 401 with ``WWW-Authenticate: Bearer``; a valid
key without the scope, or without the product, answers 403.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from postpilot.errors import StoreError
from postpilot.gateway.problems import ProblemException
from postpilot.registry.apikeys import ParsedKey, parse_key, verify
from postpilot.store.models import ApiKeyRow, ConsumerRow

__all__ = [
    "CACHE_SECONDS",
    "Access",
    "KeyCache",
    "Principal",
    "access_of",
    "enforce",
    "public",
    "requires",
]

log = logging.getLogger("postpilot.gateway")

CACHE_SECONDS: Final = 2.0
STALE_SECONDS: Final = 15 * 60.0
"""How long a key looked up before a store outage keeps working during it. Revoking a
key needs the store, so nothing is lost by trusting what the store said last."""
_CACHE_SIZE: Final = 10_000
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Access:
    """What a route needs: nothing (``public``) or a key with ``scope``."""

    scope: str | None
    public: bool = False


def requires(scope: str) -> Callable[[F], F]:
    """Declare that a route needs a key with ``scope`` (checked per product by the route)."""

    def mark(endpoint: F) -> F:
        endpoint.__postpilot_access__ = Access(scope=scope)  # type: ignore[attr-defined]
        return endpoint

    return mark


def public(endpoint: F) -> F:
    """Declare that a route needs no key (health checks and the OpenAPI document)."""
    endpoint.__postpilot_access__ = Access(scope=None, public=True)  # type: ignore[attr-defined]
    return endpoint


def access_of(endpoint: Any) -> Access | None:
    access = getattr(endpoint, "__postpilot_access__", None)
    return access if isinstance(access, Access) else None


@dataclass(frozen=True)
class Principal:
    """The caller: a consumer's key, with its products and scopes."""

    key_id: str
    consumer: str
    products: frozenset[str]
    scopes: frozenset[str]
    rate: float | None
    burst: int | None

    def may(self, scope: str, product: str | None = None) -> bool:
        if scope not in self.scopes:
            return False
        return product is None or "*" in self.products or product in self.products

    def require(self, scope: str, product: str | None = None) -> None:
        """ProblemException 403 unless the key has ``scope`` for ``product``."""
        if scope not in self.scopes:
            raise ProblemException(
                403,
                "forbidden",
                "The key lacks the scope",
                f"key {self.key_id} has scopes {', '.join(sorted(self.scopes))}; "
                f"this needs {scope!r}",
            )
        if product is not None and not self.may(scope, product):
            raise ProblemException(
                403,
                "forbidden",
                "The key may not use this product",
                f"key {self.key_id} may use {', '.join(sorted(self.products))}, not {product!r}",
            )


@dataclass(frozen=True)
class _Entry:
    hash: str
    principal: Principal
    expires_at: datetime | None
    revoked: bool
    loaded: float


class KeyCache:
    """Keys looked up by id in the store, remembered for ``ttl`` seconds."""

    def __init__(
        self,
        session_factory: Callable[[], AbstractContextManager[Session]],
        *,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = session_factory
        self._ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[str, _Entry | float] = OrderedDict()
        self._lock = threading.Lock()

    def _load(self, key_id: str) -> _Entry | None:
        with self._sessions() as session:
            found = session.execute(
                select(ApiKeyRow, ConsumerRow.name)
                .join(ConsumerRow, ConsumerRow.id == ApiKeyRow.consumer_id)
                .where(ApiKeyRow.key_id == key_id)
            ).first()
        if found is None:
            return None
        row, consumer = found
        principal = Principal(
            key_id=row.key_id,
            consumer=consumer,
            products=frozenset(row.products),
            scopes=frozenset(row.scopes),
            rate=row.rate,
            burst=row.burst,
        )
        return _Entry(
            hash=row.secret_hash,
            principal=principal,
            expires_at=row.expires_at,
            revoked=row.revoked_at is not None,
            loaded=self._clock(),
        )

    def lookup(self, presented: ParsedKey) -> Principal | None:
        """The key's principal when it is valid now; None otherwise. Blocking (a store read)."""
        now = self._clock()
        with self._lock:
            cached = self._entries.get(presented.key_id)
        if cached is None or now - (cached if isinstance(cached, float) else cached.loaded) > (
            self._ttl
        ):
            fresh = True
            try:
                entry = self._load(presented.key_id)
            except StoreError:
                # the store is down: a key it vouched for recently still works (the
                # prediction log spools meanwhile); an unknown one cannot be checked
                if isinstance(cached, _Entry) and now - cached.loaded <= STALE_SECONDS:
                    log.warning(
                        "the store is unreachable; key %s checked from the cache", presented.key_id
                    )
                    entry, fresh = cached, False
                else:
                    raise
            with self._lock:
                if fresh:
                    self._entries[presented.key_id] = entry if entry is not None else now
                    self._entries.move_to_end(presented.key_id)
                while len(self._entries) > _CACHE_SIZE:
                    self._entries.popitem(last=False)
            cached = entry if entry is not None else now
        return _judge(presented, cached)

    def peek(self, presented: ParsedKey) -> tuple[bool, Principal | None]:
        """``(True, principal or None)`` when the cache answers without the store (a
        lookup within the last ``ttl`` seconds); ``(False, None)`` when it cannot. Never
        blocks, so the event loop checks a hot key without a thread hop."""
        with self._lock:
            cached = self._entries.get(presented.key_id)
        if cached is None:
            return False, None
        loaded = cached if isinstance(cached, float) else cached.loaded
        if self._clock() - loaded > self._ttl:
            return False, None
        return True, _judge(presented, cached)


def _judge(presented: ParsedKey, cached: _Entry | float) -> Principal | None:
    """The principal of a cached key when the presented key is it and it works now."""
    if isinstance(cached, float) or not verify(presented, cached.hash):
        return None
    if cached.revoked:
        return None
    if cached.expires_at is not None and cached.expires_at <= datetime.now(UTC):
        return None
    return cached.principal


def presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return ""
    return request.headers.get("x-api-key")


def _unauthorized(detail: str) -> ProblemException:
    return ProblemException(
        401,
        "unauthorized",
        "A valid API key is required",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="postpilot"'},
    )


async def enforce(request: Request) -> Principal | None:
    """Run before every route: the caller's principal, or a 401/403 problem.

    Public routes get None. A route without a declaration is refused.
    """
    from anyio import to_thread

    route = request.scope.get("route")
    access = access_of(getattr(route, "endpoint", None))
    if access is not None and access.public:
        return None
    text = presented_key(request)
    if text is None:
        raise _unauthorized("no API key: send 'Authorization: Bearer pp_...'")
    parsed = parse_key(text)
    if parsed is None:
        raise _unauthorized("the API key is not a postpilot key (wrong shape or checksum)")
    keys: KeyCache = request.app.state.gateway.keys
    known, principal = keys.peek(parsed)
    if not known:
        principal = await to_thread.run_sync(keys.lookup, parsed)
    if principal is None:
        raise _unauthorized(f"API key {parsed.key_id} is unknown, revoked or expired")
    if access is None or access.scope is None:
        raise ProblemException(
            403, "forbidden", "No access rule", "this route declares no access rule; denied"
        )
    if access.scope not in principal.scopes:
        principal.require(access.scope)
    request.state.principal = principal
    return principal
