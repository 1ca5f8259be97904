"""Test clocks: trial end, renewal, failed payment retries, recovery, cancellation."""

from __future__ import annotations

from typing import Any

import stripe

from tests.support.sandbox import SandboxProcess

from .helpers import DAY, NOV_1_2026, make_customer, two_items

TRIAL_END = NOV_1_2026 + 14 * DAY


def _advance(client: stripe.StripeClient, clock: Any, to: int) -> Any:
    advanced = client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": to})
    assert advanced.status == "ready" and advanced.frozen_time == to
    return advanced


def _types_since(client: stripe.StripeClient, since: int) -> list[str]:
    events = client.v1.events.list({"limit": 100, "created": {"gte": since}}).data
    return [e.type for e in reversed(events)]


def test_trial_to_renewal_to_failed_payment_to_recovery(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock, card="pm_card_visa")
    sub = client.v1.subscriptions.create(
        {"customer": customer.id, "items": two_items(catalog), "trial_period_days": 14}
    )
    assert sub.status == "trialing"

    _advance(client, clock, TRIAL_END - 3 * DAY + 60)
    assert "customer.subscription.trial_will_end" in _types_since(client, NOV_1_2026)

    _advance(client, clock, TRIAL_END + 3600)  # the trial ends and the first period is invoiced
    sub = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert sub.status == "active"
    first = sub.latest_invoice
    assert first.billing_reason == "subscription_cycle" and first.status == "paid"
    assert first.amount_paid == 3 * 2900 + 2 * 1000
    assert sub["items"].data[0].current_period_start == TRIAL_END

    # the card starts failing before the renewal
    bad = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    client.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": bad.id}}
    )
    renewal_at = sub["items"].data[0].current_period_end
    _advance(client, clock, renewal_at + 3600)
    sub = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert sub.status == "past_due"
    renewal = sub.latest_invoice
    assert renewal.status == "open" and renewal.attempt_count == 1
    # the first attempt is an hour after the renewal (the draft hour); retries count from it
    first_attempt = renewal_at + 3600
    assert renewal.next_payment_attempt == first_attempt + 3 * DAY
    types = _types_since(client, renewal_at)
    assert "invoice.payment_failed" in types and "customer.subscription.updated" in types

    _advance(client, clock, first_attempt + 3 * DAY + 60)  # first retry fails too
    renewal = client.v1.invoices.retrieve(renewal.id)
    assert renewal.attempt_count == 2 and renewal.next_payment_attempt == first_attempt + 5 * DAY

    # the owner fixes the card and pays
    good = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    client.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": good.id}}
    )
    paid = client.v1.invoices.pay(renewal.id)
    assert paid.status == "paid" and paid.next_payment_attempt is None
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    recent = client.v1.events.list({"limit": 10}).data
    assert "invoice.paid" in [e.type for e in recent]
    update = next(e for e in recent if e.type == "customer.subscription.updated")
    assert update.data.previous_attributes["status"] == "past_due"
    assert update.data.object.status == "active"


def test_retry_succeeds_after_card_update(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = client.v1.subscriptions.create({"customer": customer.id, "items": two_items(catalog)})
    bad = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    client.v1.subscriptions.update(sub.id, {"default_payment_method": bad.id})
    renewal_at = NOV_1_2026 + 30 * DAY
    _advance(client, clock, renewal_at + 3600 + 60)  # past the draft hour: charged, declined
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    good = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    client.v1.subscriptions.update(sub.id, {"default_payment_method": good.id})
    _advance(client, clock, renewal_at + 3600 + 3 * DAY + 60)
    sub = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert sub.status == "active" and sub.latest_invoice.status == "paid"
    assert sub.latest_invoice.attempt_count == 2


def test_exhausted_retries_cancel_the_subscription(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = client.v1.subscriptions.create({"customer": customer.id, "items": two_items(catalog)})
    fail = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    client.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": fail.id}}
    )
    renewal_at = NOV_1_2026 + 30 * DAY
    _advance(client, clock, renewal_at + 8 * DAY)
    sub = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert sub.status == "canceled"
    assert sub.cancellation_details.reason == "payment_failed"
    assert sub.latest_invoice.attempt_count == 4 and sub.latest_invoice.next_payment_attempt is None
    types = _types_since(client, renewal_at)
    assert types.count("invoice.payment_failed") == 4
    assert types[-2:] == ["customer.subscription.deleted", "test_helpers.test_clock.ready"]


def test_unpaid_setting(
    sb: SandboxProcess, client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sb.control("POST", "settings", retries_exhausted="unpaid", retry_days="1,2")
    customer = make_customer(client, clock)
    sub = client.v1.subscriptions.create({"customer": customer.id, "items": two_items(catalog)})
    fail = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    client.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": fail.id}}
    )
    _advance(client, clock, NOV_1_2026 + 33 * DAY)
    assert client.v1.subscriptions.retrieve(sub.id).status == "unpaid"


def test_renewals_over_a_year(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = client.v1.subscriptions.create({"customer": customer.id, "items": two_items(catalog)})
    _advance(client, clock, NOV_1_2026 + 366 * DAY)
    invoices = client.v1.invoices.list({"subscription": sub.id, "limit": 100}).data
    assert len(invoices) == 13 and all(i.status == "paid" for i in invoices)
    numbers = sorted(i.number for i in invoices)
    assert numbers[0].endswith("-0001") and numbers[-1].endswith("-0013")
    item = client.v1.subscriptions.retrieve(sub.id)["items"].data[0]
    assert item.current_period_start == 1825027200  # 2027-11-01
