"""Sliding-window rate limits for what anonymous clients can make the server do.

One process counts in memory; with `REDIS_URL` set, every backend worker counts in Redis (one
atomic script per check), so a client cannot multiply its allowance by the number of workers. If
Redis does not answer, the worker falls back to its own count rather than letting everything in.

Counts are kept per database (the namespace is a digest of `DATABASE_URL`): the limits protect the
tables of one deployment, and two portals that share a Redis do not share allowances.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_MAX_KEYS = 50_000  # per process: past this, the oldest idle clients are forgotten first


@dataclass(frozen=True)
class Limit:
    """At most `count` hits per `seconds`, for each key (a client) or for one key ("all")."""

    name: str
    count: int
    seconds: int


Check = tuple[Limit, str]


class MemoryLimiter:
    """The count of one process: a deque of hit times per (limit, key)."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, checks: list[Check], now: float | None = None) -> Limit | None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for limit, key in checks:
                hits = self._hits.get((limit.name, key))
                if hits is None:
                    continue
                while hits and hits[0] <= now - limit.seconds:
                    hits.popleft()
                if len(hits) >= limit.count:
                    return limit
            for limit, key in checks:
                self._hits.setdefault((limit.name, key), deque()).append(now)
            if len(self._hits) > _MAX_KEYS:
                self._forget_idle()
        return None

    def _forget_idle(self) -> None:
        by_last_hit = sorted(self._hits, key=lambda k: self._hits[k][-1] if self._hits[k] else 0)
        for key in by_last_hit[: len(by_last_hit) // 2]:
            del self._hits[key]


# KEYS: one sorted set per check. ARGV: a unique member, then count and window (ms) per key.
# Checks every window first and records the hit in all of them only if each has room.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 * i]) then
    return i
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return 0
"""


class RedisLimiter:
    def __init__(self, url: str, namespace: str, fallback: MemoryLimiter) -> None:
        self._url = url
        self._namespace = namespace
        self._fallback = fallback

    def key(self, limit: Limit, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        return f"clerk_portal:rate:{self._namespace}:{limit.name}:{digest}"

    async def take(self, checks: list[Check]) -> Limit | None:
        keys = [self.key(limit, key) for limit, key in checks]
        args: list[str | int] = [uuid.uuid4().hex]
        for limit, _key in checks:
            args += [limit.count, limit.seconds * 1000]
        try:
            # A connection per check: these are rare events, and a client bound to one event loop
            # would break on another (tests, workers).
            async with aioredis.from_url(self._url, socket_timeout=2) as client:
                # redis-py types eval() as sync-or-async for both of its clients: this one awaits.
                full = int(await client.eval(_SCRIPT, len(keys), *keys, *args))  # type: ignore[misc]
        except (RedisError, OSError) as error:
            log.warning("rate limit: Redis did not answer (%s); counting in this process", error)
            return self._fallback.take(checks)
        return checks[full - 1][0] if full else None


_memory: dict[str, MemoryLimiter] = {}
_memory_lock = threading.Lock()


def namespace_for(database_url: str) -> str:
    return hashlib.sha256(database_url.encode()).hexdigest()[:12]


def memory_limiter(namespace: str) -> MemoryLimiter:
    with _memory_lock:
        return _memory.setdefault(namespace, MemoryLimiter())


async def take(checks: list[Check]) -> Limit | None:
    """Record one hit against every check, or none if one is full: returns the full Limit."""
    from clerk_portal.core.settings import get_settings

    settings = get_settings()
    namespace = namespace_for(settings.database_url)
    memory = memory_limiter(namespace)
    if settings.redis_url:
        return await RedisLimiter(settings.redis_url, namespace, memory).take(checks)
    return memory.take(checks)


def client_ip(peer: str | None, forwarded_for: str | None) -> str:
    """The client's address as Reflex resolves it for the websocket: the peer, or the address
    the configured number of trusted proxies (`trusted_proxy_hops`) put in X-Forwarded-For."""
    try:
        from reflex.config import get_config

        hops = int(get_config().trusted_proxy_hops or 0)
    except Exception:  # noqa: BLE001 - no Reflex config (a bare Starlette app): trust no proxy
        hops = 0
    if hops and forwarded_for:
        chain = [ip.strip() for ip in forwarded_for.split(",") if ip.strip()]
        if len(chain) >= hops:
            return chain[-hops]
    return peer or "unknown"
