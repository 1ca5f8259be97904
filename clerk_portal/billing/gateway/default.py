"""The default gateway: one `StripeGateway` per running event loop and kind of caller (its HTTP
pool belongs to that loop), rebuilt when the settings change (tests swap them).

Two kinds of caller, two patiences:

- **a person waiting on a click** (every guarded event handler runs inside `interactive_calls()`):
  a short timeout (`STRIPE_INTERACTIVE_TIMEOUT_SECONDS`, 8 s to connect and 8 s to read) and one
  retry, with the same idempotency key, so a hung request is answered or refused in about
  twice that, with a clear message;
- **jobs** (reconcile, webhooks, deferred quantity syncs, the CLI): Stripe's long timeout (30 s)
  and two retries. A task started by a click that outlives it calls `detach_from_person()` first.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import weakref
from collections.abc import Iterator

from clerk_portal.billing.gateway.protocol import BillingGateway
from clerk_portal.billing.gateway.stripe import StripeGateway
from clerk_portal.core.settings import Settings, get_settings

__all__ = [
    "INTERACTIVE_RETRIES",
    "JOB_RETRIES",
    "JOB_TIMEOUT_SECONDS",
    "current_gateway",
    "detach_from_person",
    "gateway_or_default",
    "interactive_calls",
]

JOB_TIMEOUT_SECONDS = 30.0
JOB_RETRIES = 2
INTERACTIVE_RETRIES = 1

_interactive: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "stripe_interactive", default=False
)
_gateways: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[bool, tuple[Settings, StripeGateway]]
] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def interactive_calls() -> Iterator[None]:
    """Stripe calls made inside are a person's: the short timeout and one retry."""
    token = _interactive.set(True)
    try:
        yield
    finally:
        _interactive.reset(token)


def detach_from_person() -> None:
    """At the start of a task that outlives the click that started it: jobs' patience."""
    _interactive.set(False)


def _build(settings: Settings, interactive: bool) -> StripeGateway:
    if interactive:
        return StripeGateway.from_settings(
            settings,
            timeout=settings.stripe_interactive_timeout_seconds,
            max_network_retries=INTERACTIVE_RETRIES,
        )
    return StripeGateway.from_settings(
        settings, timeout=JOB_TIMEOUT_SECONDS, max_network_retries=JOB_RETRIES
    )


def current_gateway() -> StripeGateway:
    """The gateway of the running event loop for this caller, built from the current settings."""
    loop = asyncio.get_running_loop()
    settings = get_settings()
    interactive = _interactive.get()
    entries = _gateways.setdefault(loop, {})
    entry = entries.get(interactive)
    if entry is None or entry[0] is not settings:
        entry = (settings, _build(settings, interactive))
        entries[interactive] = entry
    return entry[1]


def gateway_or_default(gateway: BillingGateway | None) -> BillingGateway:
    """The gateway a caller passed (a test's fake, say), else the loop's Stripe gateway."""
    return gateway or current_gateway()
