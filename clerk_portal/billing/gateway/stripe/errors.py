"""Stripe's exceptions as `billing.errors`, with a message fit for a toast, and the one place a
request is sent: `call()` retries a 429 (the SDK retries only 5xx, 409 and connection errors)
and maps every other Stripe error."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import stripe

from clerk_portal.billing.errors import (
    CardDeclined,
    GatewayError,
    NotFoundAtStripe,
    OutcomeUnknown,
    PaymentRequiresAction,
    StripeUnavailable,
    decline_message,
)

__all__ = ["OUTCOME_UNKNOWN", "UNAVAILABLE", "call", "gateway_error"]

_RATE_LIMIT_RETRIES = 3
UNAVAILABLE = (
    "Stripe is not answering right now, so nothing was changed or charged. "
    "Please try again in a minute."
)
# A write whose answer never came may have been applied: never claim it was not.
OUTCOME_UNKNOWN = (
    "Stripe did not answer in time, so it is not known yet whether this went through. Nothing "
    "is charged twice: the billing page shows the result as soon as Stripe confirms it."
)


async def call(action: str, request: Callable[[], Awaitable[Any]], *, write: bool = False) -> Any:
    """Run `request()` (a coroutine factory); retry 429s, map every Stripe error.

    `write`: a timeout, a lost connection or a 5xx leaves the outcome unknown (Stripe may
    have applied it), so the error says so rather than "nothing was changed".
    """
    for attempt in range(_RATE_LIMIT_RETRIES + 1):
        try:
            return await request()
        except stripe.RateLimitError as error:
            if attempt == _RATE_LIMIT_RETRIES:
                raise StripeUnavailable(UNAVAILABLE) from error
            await asyncio.sleep(0.5 * 2**attempt)
        except stripe.StripeError as error:
            mapped = gateway_error(action, error)
            if write and type(mapped) is StripeUnavailable:
                mapped = OutcomeUnknown(OUTCOME_UNKNOWN)
            raise mapped from error
    raise AssertionError("unreachable")


def gateway_error(action: str, error: stripe.StripeError) -> GatewayError:
    if isinstance(error, stripe.CardError):
        code = getattr(error, "code", None)
        body: Any = error.json_body or {}
        decline = body.get("error", {}).get("decline_code")
        if code == "authentication_required" or decline == "authentication_required":
            return PaymentRequiresAction(
                "Your bank asks you to confirm this payment (3-D Secure). Please confirm it or "
                "use another card."
            )
        return CardDeclined(decline_message(code, decline), decline_code=decline or code)
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError):
        return StripeUnavailable(UNAVAILABLE)
    if error.http_status and error.http_status >= 500:
        return StripeUnavailable(UNAVAILABLE)
    reason = error.user_message or str(error) or type(error).__name__
    if error.http_status == 404:
        return NotFoundAtStripe(f"Stripe could not {action}: {reason}")
    return GatewayError(f"Stripe could not {action}: {reason}")
