"""Renewals as Stripe runs them: a draft invoice for about an hour, then finalization and payment;
`invoice.upcoming` some days before (a sandbox setting, Stripe's "Upcoming renewal events")."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from tests.support.sandbox import SandboxProcess

from .helpers import DAY, NOV_1_2026, make_customer, two_items

RENEWAL = NOV_1_2026 + 30 * DAY  # the first renewal of a monthly subscription started Nov 1
HOUR = 3600


def _advance(client: stripe.StripeClient, clock: Any, to: int) -> None:
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": to})


def _events(client: stripe.StripeClient, *types: str) -> list[Any]:
    """Events of these types, oldest first."""
    found = client.v1.events.list({"limit": 100, "types": list(types)}).data
    return list(reversed(found))


def _subscribe(client: stripe.StripeClient, clock: Any, catalog: dict[str, Any]) -> Any:
    customer = make_customer(client, clock)
    return client.v1.subscriptions.create({"customer": customer.id, "items": two_items(catalog)})


def _renewal(client: stripe.StripeClient, sub: Any) -> Any:
    latest = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    return latest.latest_invoice


# https://docs.stripe.com/billing/subscriptions/overview#invoice-lifecycle : a renewal creates a
# draft invoice that Stripe finalizes about an hour later and then charges;
# https://docs.stripe.com/billing/subscriptions/webhooks : Stripe waits about an hour after the
# invoice.created event before finalizing and attempting payment.
def test_a_renewal_stays_a_draft_for_an_hour_then_is_finalized_and_paid(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _subscribe(client, clock, catalog)
    _advance(client, clock, RENEWAL + 60)
    draft = _renewal(client, sub)
    assert draft.billing_reason == "subscription_cycle" and draft.status == "draft"
    assert draft.number is None and draft.amount_paid == 0 and draft.amount_due == 10700
    # https://docs.stripe.com/api/invoices/object#invoice_object-automatically_finalizes_at
    assert draft.automatically_finalizes_at == RENEWAL + HOUR
    renewed = client.v1.subscriptions.retrieve(sub.id)
    assert renewed.status == "active"
    assert renewed["items"].data[0].current_period_start == RENEWAL  # the new period started
    created = _events(client, "invoice.created")[-1]
    assert created.data.object.id == draft.id and created.created == RENEWAL
    assert [e.data.object.id for e in _events(client, "invoice.finalized")] != [draft.id]

    _advance(client, clock, RENEWAL + HOUR - 1)
    assert client.v1.invoices.retrieve(draft.id).status == "draft"

    _advance(client, clock, RENEWAL + HOUR + 60)
    paid = client.v1.invoices.retrieve(draft.id)
    assert paid.status == "paid" and paid.amount_paid == 10700 and paid.number
    assert paid.automatically_finalizes_at is None
    assert paid.status_transitions.finalized_at == RENEWAL + HOUR
    assert paid.status_transitions.paid_at == RENEWAL + HOUR
    mine = [
        e.type
        for e in _events(client, "invoice.created", "invoice.finalized", "invoice.paid")
        if e.data.object.id == draft.id
    ]
    assert mine == ["invoice.created", "invoice.finalized", "invoice.paid"]


# https://docs.stripe.com/api/invoices/update#update_invoice-auto_advance : with auto_advance false
# the invoice's state does not advance without an explicit action.
def test_a_renewal_draft_without_auto_advance_waits_for_an_explicit_finalize(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _subscribe(client, clock, catalog)
    _advance(client, clock, RENEWAL + 60)
    draft = _renewal(client, sub)
    held = client.v1.invoices.update(draft.id, {"auto_advance": False})
    assert held.automatically_finalizes_at is None
    _advance(client, clock, RENEWAL + 2 * HOUR)
    assert client.v1.invoices.retrieve(draft.id).status == "draft"
    finalized = client.v1.invoices.finalize_invoice(draft.id)
    assert finalized.status == "open" and finalized.amount_paid == 0  # not charged on its own
    assert client.v1.invoices.pay(draft.id).status == "paid"


# https://docs.stripe.com/api/invoices/finalize : a draft can be finalized before its time.
def test_a_renewal_draft_finalized_early_is_charged_then(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _subscribe(client, clock, catalog)
    _advance(client, clock, RENEWAL + 60)
    draft = _renewal(client, sub)
    assert client.v1.invoices.finalize_invoice(draft.id).status == "paid"
    _advance(client, clock, RENEWAL + 2 * HOUR)  # nothing left to do at the hour
    assert client.v1.invoices.retrieve(draft.id).attempt_count == 1


# https://docs.stripe.com/billing/subscriptions/overview#invoice-lifecycle : a failed payment
# leaves the invoice open and the subscription past_due; the retries count from that attempt.
def test_a_renewal_whose_card_fails_goes_past_due_after_the_draft_hour(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _subscribe(client, clock, catalog)
    bad = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": sub.customer})
    client.v1.subscriptions.update(sub.id, {"default_payment_method": bad.id})
    _advance(client, clock, RENEWAL + 60)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"  # not charged yet
    _advance(client, clock, RENEWAL + HOUR + 60)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    failed = _renewal(client, sub)
    assert failed.status == "open" and failed.next_payment_attempt == RENEWAL + HOUR + 3 * DAY


# https://docs.stripe.com/api/events/types#event_types-invoice.upcoming : X days before a
# subscription creates an invoice that is charged automatically, X from the subscription
# settings; the invoice in it has no id.
def test_invoice_upcoming_is_sent_days_before_the_renewal_with_what_it_will_charge(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any, sb: SandboxProcess
) -> None:
    assert sb.control("GET", "settings")["upcoming_renewal_days"] == 3
    sub = _subscribe(client, clock, catalog)
    _advance(client, clock, RENEWAL - 3 * DAY - 60)
    assert _events(client, "invoice.upcoming") == []
    _advance(client, clock, RENEWAL - 3 * DAY + 60)
    (upcoming,) = _events(client, "invoice.upcoming")
    assert upcoming.created == RENEWAL - 3 * DAY
    preview = upcoming.data.object
    assert preview.id is None and preview.customer == sub.customer
    assert preview.parent.subscription_details.subscription == sub.id
    assert preview.amount_due == 10700 and preview.period_end == RENEWAL
    assert preview.billing_reason == "subscription_cycle"
    assert {line.period.start for line in preview.lines.data} == {RENEWAL}
    same = client.v1.invoices.create_preview({"subscription": sub.id})
    assert preview.amount_due == same.amount_due
    _advance(client, clock, RENEWAL - DAY)
    assert len(_events(client, "invoice.upcoming")) == 1  # once per renewal
    _advance(client, clock, RENEWAL + 31 * DAY - 3 * DAY + 60)  # the next one's (Jan 1)
    assert [e.data.object.period_end for e in _events(client, "invoice.upcoming")] == [
        RENEWAL,
        RENEWAL + 31 * DAY,
    ]


def test_invoice_upcoming_follows_the_setting(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any, sb: SandboxProcess
) -> None:
    sb.control("POST", "settings", upcoming_renewal_days="7")
    _subscribe(client, clock, catalog)
    _advance(client, clock, RENEWAL - 7 * DAY + 60)
    (upcoming,) = _events(client, "invoice.upcoming")
    assert upcoming.created == RENEWAL - 7 * DAY


def test_no_invoice_upcoming_when_switched_off_or_when_nothing_renews(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any, sb: SandboxProcess
) -> None:
    canceling = _subscribe(client, clock, catalog)
    client.v1.subscriptions.update(canceling.id, {"cancel_at_period_end": True})
    _advance(client, clock, RENEWAL - DAY)
    assert _events(client, "invoice.upcoming") == []  # it ends instead of renewing
    sb.control("POST", "settings", upcoming_renewal_days="0")
    client.v1.subscriptions.update(canceling.id, {"cancel_at_period_end": False})
    _advance(client, clock, RENEWAL - 60)
    assert _events(client, "invoice.upcoming") == []


@pytest.mark.parametrize("days", ["-1", "three", "1.5"])
def test_a_bad_upcoming_setting_is_refused_and_changes_nothing(
    sb: SandboxProcess, days: str
) -> None:
    with pytest.raises(httpx.HTTPStatusError) as refused:
        sb.control("POST", "settings", upcoming_renewal_days=days)
    assert refused.value.response.status_code == 400
    assert "upcoming_renewal_days" in refused.value.response.json()["error"]["message"]
    assert sb.control("GET", "settings")["upcoming_renewal_days"] == 3
