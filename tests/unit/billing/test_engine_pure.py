"""Pure pieces of the billing engine: webhook signatures, messages, trial state, status mapping."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from clerk_portal.billing.errors import decline_message
from clerk_portal.billing.gateway.stripe_gateway import SignatureError, verify_webhook
from clerk_portal.billing.services.quantities import QuantityPreview
from clerk_portal.models import BILLING_STATUSES, BillingAccount
from clerk_portal.models.status import FROM_STRIPE as STATUS_MAP
from clerk_portal.workspace.trial import trial_state

SECRET = "whsec_unit"
BODY = json.dumps({"id": "evt_1", "type": "invoice.paid", "created": 1, "data": {}}).encode()


def header(at: int, secret: str = SECRET, body: bytes = BODY) -> str:
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def test_a_fresh_signature_is_accepted_even_among_rotated_ones():
    now = int(time.time())
    rotated = header(now, "whsec_old").split(",")[1]
    event = verify_webhook(BODY, f"{header(now)},{rotated}", SECRET)
    assert (event.id, event.type) == ("evt_1", "invoice.paid")


@pytest.mark.parametrize(
    "make",
    [
        lambda now: None,
        lambda now: "",
        lambda now: header(now, "whsec_other"),
        lambda now: header(now - 301),
        lambda now: header(now + 301),
        lambda now: "v1=abc",
    ],
    ids=["missing", "empty", "wrong secret", "stale", "future", "no timestamp"],
)
def test_bad_signatures_are_refused(make):
    with pytest.raises(SignatureError):
        verify_webhook(BODY, make(int(time.time())), SECRET)


def test_a_signed_body_that_is_not_an_event_is_refused():
    body = b'{"hello": "world"}'
    with pytest.raises(SignatureError, match="not a Stripe event"):
        verify_webhook(body, header(int(time.time()), body=body), SECRET)


def test_decline_messages_say_what_to_do():
    assert decline_message("card_declined", "insufficient_funds") == (
        "Your card was declined: insufficient funds. Please use another card."
    )
    assert "expired" in decline_message("expired_card", None)
    assert "bank refused" in decline_message(None, "something_new")


def test_every_stripe_status_maps_into_the_mirror():
    stripe_statuses = [
        "trialing",
        "active",
        "past_due",
        "canceled",
        "unpaid",
        "incomplete",
        "incomplete_expired",
        "paused",
    ]
    assert {STATUS_MAP.get(s, s) for s in stripe_statuses} <= set(BILLING_STATUSES)


def test_quantity_preview_messages():
    assert QuantityPreview(5, 3, 1450, 14500, "month").message == (
        "+$14.50 prorated on your next invoice, then $145.00/month"
    )
    assert QuantityPreview(4, 3, -1450, 11600, "year").message == (
        "-$14.50 credited, then $116.00/year"
    )
    assert QuantityPreview(4, 3, 0, 11600, "month").message == "No change today, then $116.00/month"
    assert QuantityPreview(4, 3, 0, 11600, "month", included=True).message == (
        "No charge: included in your plan, still $116.00/month"
    )


def test_trial_state_through_the_trial_and_after():
    now = datetime(2026, 11, 1, tzinfo=UTC)
    account = BillingAccount(
        workspace_id=1, status="trialing", trial_ends_at=now + timedelta(days=14)
    )
    assert trial_state(account, now).days_left == 14
    assert trial_state(account, now + timedelta(days=11, hours=1)).remind
    ended = trial_state(account, now + timedelta(days=14))
    assert ended.expired and ended.read_only and ended.banner.startswith("Your trial has ended")
    account.stripe_subscription_id = "sub_1"  # a Stripe trial continues until Stripe ends it
    assert not trial_state(account, now + timedelta(days=14)).read_only
    paid = BillingAccount(workspace_id=1, status="active", stripe_subscription_id="sub_1")
    assert not trial_state(paid, now).on_trial and trial_state(paid, now).banner is None
    for status in ("canceled", "unpaid"):
        assert trial_state(BillingAccount(workspace_id=1, status=status), now).read_only
