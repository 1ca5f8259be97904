"""Idempotency keys the gateway derives itself, and the request options that carry a key.

Most keys are the caller's: a service names the business action (`{namespace}:subscribe:{n}`,
say), so a retried click, a crashed worker or the SDK's own network retries repeat nothing. The
two below name actions that are idempotent by their arguments alone, so the gateway builds them.
Stripe keeps a key for 24 hours; a key replays the first answer, whatever the parameters.
"""

from __future__ import annotations

from typing import TypedDict

__all__ = ["RequestOptions", "default_payment_method_key", "detach_key", "options"]


class RequestOptions(TypedDict):
    """The per-request options of stripe-python's `*_async` calls that the gateway sets."""

    idempotency_key: str


def options(idempotency_key: str) -> RequestOptions:
    return {"idempotency_key": idempotency_key}


def default_payment_method_key(customer_id: str, payment_method_id: str) -> str:
    """Making a card the customer's default: the same card twice is the same action."""
    return f"{customer_id}:default_pm:{payment_method_id}"


def detach_key(payment_method_id: str) -> str:
    """Detaching a card: a card is detached once, ever."""
    return f"{payment_method_id}:detach"
