"""The default gateway: one `StripeGateway` per running event loop (its HTTP pool belongs to
that loop), rebuilt when the settings change (tests swap them)."""

from __future__ import annotations

import asyncio
import weakref

from clerk_portal.billing.gateway.protocol import BillingGateway
from clerk_portal.billing.gateway.stripe import StripeGateway
from clerk_portal.core.settings import Settings, get_settings

__all__ = ["current_gateway", "gateway_or_default"]

_gateways: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Settings, StripeGateway]] = (
    weakref.WeakKeyDictionary()
)


def current_gateway() -> StripeGateway:
    """The gateway of the running event loop, built from the current settings."""
    loop = asyncio.get_running_loop()
    settings = get_settings()
    entry = _gateways.get(loop)
    if entry is None or entry[0] is not settings:
        entry = (settings, StripeGateway.from_settings(settings))
        _gateways[loop] = entry
    return entry[1]


def gateway_or_default(gateway: BillingGateway | None) -> BillingGateway:
    """The gateway a caller passed (a test's fake, say), else the loop's Stripe gateway."""
    return gateway or current_gateway()
