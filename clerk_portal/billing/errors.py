"""Billing errors an owner can act on; the gateway turns Stripe's exceptions into these.

Every class is a `DomainError`: pages show `.message` in a toast. `GatewayError` is the base of
everything that came back from (or failed to reach) Stripe, so `except GatewayError` catches all.
"""

from __future__ import annotations

from clerk_portal.core.errors import DomainError


class BillingError(DomainError):
    """A billing action refused by the portal's own rules (limits, state, bad input)."""


class GatewayError(DomainError):
    """Stripe refused or could not be reached; `message` says which call and why."""


class CardDeclined(GatewayError):
    """The card was declined ("Your card was declined: insufficient funds")."""

    def __init__(self, message: str, *, decline_code: str | None = None) -> None:
        super().__init__(message)
        self.decline_code = decline_code


class PaymentRequiresAction(GatewayError):
    """The bank wants 3-D Secure; the browser must authenticate (or use another card)."""

    def __init__(
        self,
        message: str,
        *,
        client_secret: str | None = None,
        subscription_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.client_secret = client_secret
        self.subscription_id = subscription_id


class NotFoundAtStripe(GatewayError):
    """Stripe has no such object (deleted, or from another account)."""


class StripeUnavailable(GatewayError):
    """Stripe answered 429 after the retries, or could not be reached for a read."""


class OutcomeUnknown(StripeUnavailable):
    """A write timed out, lost its connection or got a 5xx after the retries: Stripe may have
    applied it. Find out (the same request with the same idempotency key, or a read) before
    telling anyone what happened."""


DECLINE_REASONS = {
    "insufficient_funds": "insufficient funds",
    "expired_card": "the card has expired",
    "incorrect_cvc": "the security code is incorrect",
    "incorrect_number": "the card number is incorrect",
    "lost_card": "the card was reported lost",
    "stolen_card": "the card was reported stolen",
    "do_not_honor": "your bank refused the payment",
    "generic_decline": "your bank refused the payment",
    "card_declined": "your bank refused the payment",
    "processing_error": "a processing error; please try again",
}


def decline_message(code: str | None, decline_code: str | None) -> str:
    """`insufficient_funds` → "Your card was declined: insufficient funds. Try another card."."""
    reason = DECLINE_REASONS.get(decline_code or "") or DECLINE_REASONS.get(code or "")
    reason = reason or "your bank refused the payment"
    return f"Your card was declined: {reason}. Please use another card."
