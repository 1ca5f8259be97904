"""Webhook signatures: `Stripe-Signature` checked with stripe-python, plus a refusal of
timestamps from the future (stripe-python refuses old ones only)."""

from __future__ import annotations

import json
import time

import stripe

from clerk_portal.billing.gateway.snapshots import SignatureError, VerifiedEvent

__all__ = ["SIGNATURE_TOLERANCE", "verify_webhook"]

SIGNATURE_TOLERANCE = 300  # seconds, both ways: older or newer than this is refused


def verify_webhook(
    payload: bytes, header: str | None, secret: str, *, tolerance: int = SIGNATURE_TOLERANCE
) -> VerifiedEvent:
    """Check `Stripe-Signature` (HMAC, any `v1=`, age) and that `t=` is not in the future.

    stripe-python rejects old timestamps only; a timestamp more than `tolerance` seconds ahead of
    our clock is refused here as well (a replayable signature minted for later).
    """
    if not header:
        raise SignatureError("missing Stripe-Signature header")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, header, secret, tolerance)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
        raise SignatureError(str(error).split("\n")[0] or "bad signature") from None
    stamps = [part[2:] for part in header.split(",") if part.strip().startswith("t=")]
    try:
        timestamp = int(stamps[0].strip())
    except (IndexError, ValueError):
        raise SignatureError("no timestamp in the signature") from None
    if timestamp > time.time() + tolerance:
        raise SignatureError("timestamp is in the future")
    try:
        data = json.loads(text)
    except ValueError:
        raise SignatureError("payload is not JSON") from None
    if not isinstance(data, dict) or not data.get("id") or not data.get("type"):
        raise SignatureError("payload is not a Stripe event")
    created = data.get("created")  # its shape is the webhook's to judge (a 400, recorded)
    created = created if isinstance(created, int) and abs(created) < 2**62 else 0
    return VerifiedEvent(str(data["id"]), str(data["type"]), created, data)
