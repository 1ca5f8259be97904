"""Staying under Stripe's rate limits: an async pacer and a gateway whose calls wait on it.

Stripe allows 25 requests a second in test mode and 100 in live mode (per account; some
endpoints have lower limits of their own). Bulk work (reconcile) keeps to `SHARE` (80 %) of that,
so the interactive flows sharing the account keep their headroom: one call every 1/rate seconds,
scheduled in order of arrival, so that no one-second window holds more than rate + 1 of them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from clerk_portal.billing.gateway import BillingGateway

STRIPE_REQUESTS_PER_SECOND = {"test": 25, "live": 100}
SHARE = 0.8


def stripe_rate(secret_key: str) -> float:
    """The paced rate (requests/s) for the mode of this secret key: 20 in test, 80 live."""
    live = secret_key.startswith(("sk_live_", "rk_live_"))
    return SHARE * STRIPE_REQUESTS_PER_SECOND["live" if live else "test"]


class Pacer:
    """Evenly spaced slots, `1 / rate` seconds apart, taken in order (one event loop)."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._spacing = 1.0 / rate
        self._next = 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Return at this caller's slot (at once when the pacer has been idle). The next slot
        counts from when this caller actually woke: a late wake-up (a busy loop) cannot let
        several callers through at once."""
        async with self._lock:
            now = self._clock()
            if now < self._next:
                await self._sleep(self._next - now)
            self._next = self._clock() + self._spacing


class _PacedGateway:
    """Every coroutine method of the wrapped gateway waits for its slot first."""

    def __init__(self, gateway: BillingGateway, pacer: Pacer) -> None:
        self._gateway = gateway
        self._pacer = pacer

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._gateway, name)
        if not asyncio.iscoroutinefunction(attribute):
            return attribute

        async def paced(*args: Any, **kwargs: Any) -> Any:
            await self._pacer.wait()
            return await attribute(*args, **kwargs)

        return paced


def paced(gateway: BillingGateway, rate: float) -> BillingGateway:
    """`gateway`, its calls spaced to at most `rate` a second."""
    return cast(BillingGateway, _PacedGateway(gateway, Pacer(rate)))
