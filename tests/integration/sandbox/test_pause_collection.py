"""`pause_collection` on subscriptions: the subscription stays active, its invoices are still
made but not collected (kept as drafts, marked uncollectible or voided) until `resumes_at` or
until it is cleared with `""`."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from .helpers import DAY, NOV_1_2026, make_customer, two_items

RENEWAL = NOV_1_2026 + 30 * DAY
HOUR = 3600


def _advance(client: stripe.StripeClient, clock: Any, to: int) -> None:
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": to})


def _subscribe(client: stripe.StripeClient, clock: Any, catalog: dict[str, Any]) -> Any:
    customer = make_customer(client, clock)
    return client.v1.subscriptions.create({"customer": customer.id, "items": two_items(catalog)})


def _renewal(client: stripe.StripeClient, sub: Any) -> Any:
    return client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]}).latest_invoice


def _event_types(client: stripe.StripeClient) -> list[str]:
    return [e.type for e in client.v1.events.list({"limit": 100}).data]


# https://docs.stripe.com/billing/subscriptions/pause-payment : keep_as_draft — invoices created
# while paused stay `draft` with auto_advance false, to be finalized and collected later; the
# subscription's status is unchanged.
def test_keep_as_draft_leaves_the_renewal_a_draft_that_never_advances(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _subscribe(client, clock, catalog)
    paused = client.v1.subscriptions.update(
        sub.id, {"pause_collection": {"behavior": "keep_as_draft"}}
    )
    assert paused.status == "active"
    assert paused.pause_collection.behavior == "keep_as_draft"
    assert paused.pause_collection.resumes_at is None
    updated = client.v1.events.list({"type": "customer.subscription.updated"}).data[0]
    assert updated.data.previous_attributes["pause_collection"] is None

    _advance(client, clock, RENEWAL + 2 * HOUR)
    draft = _renewal(client, sub)
    assert draft.billing_reason == "subscription_cycle" and draft.status == "draft"
    assert draft.auto_advance is False and draft.automatically_finalizes_at is None
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    # collected later, by hand
    assert client.v1.invoices.pay(draft.id).status == "paid"


# https://docs.stripe.com/billing/subscriptions/pause-payment : mark_uncollectible — invoices are
# finalized and marked uncollectible; nothing is charged.
def test_mark_uncollectible_finalizes_the_renewal_and_charges_nothing(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _subscribe(client, clock, catalog)
    client.v1.subscriptions.update(sub.id, {"pause_collection": {"behavior": "mark_uncollectible"}})
    _advance(client, clock, RENEWAL + 2 * HOUR)
    renewal = _renewal(client, sub)
    assert renewal.status == "uncollectible" and renewal.number
    assert renewal.amount_paid == 0 and renewal.attempt_count == 0
    assert renewal.status_transitions.marked_uncollectible_at == RENEWAL
    assert "invoice.marked_uncollectible" in _event_types(client)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


# https://docs.stripe.com/billing/subscriptions/pause-payment : void — invoices generated before
# resumes_at are immediately voided and do not use the customer's credit balance.
def test_void_voids_the_renewal_and_leaves_the_credit_balance_alone(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _subscribe(client, clock, catalog)
    # a credit of $5.00: an invoice of -$5.00 finalized (https://docs.stripe.com/invoicing/customer/balance)
    client.v1.invoice_items.create({"customer": sub.customer, "amount": -500, "currency": "usd"})
    credit = client.v1.invoices.create(
        {"customer": sub.customer, "pending_invoice_items_behavior": "include"}
    )
    client.v1.invoices.finalize_invoice(credit.id)
    assert client.v1.customers.retrieve(sub.customer).balance == -500
    client.v1.subscriptions.update(sub.id, {"pause_collection": {"behavior": "void"}})
    _advance(client, clock, RENEWAL + 2 * HOUR)
    renewal = _renewal(client, sub)
    assert renewal.status == "void" and renewal.amount_paid == 0
    assert client.v1.customers.retrieve(sub.customer).balance == -500
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


# https://docs.stripe.com/api/subscriptions/object#subscription_object-pause_collection-resumes_at
# : after resumes_at the subscription collects again; invoices made before it keep their state.
def test_collection_resumes_at_resumes_at(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _subscribe(client, clock, catalog)
    resumes_at = RENEWAL + 5 * DAY
    client.v1.subscriptions.update(
        sub.id, {"pause_collection": {"behavior": "void", "resumes_at": resumes_at}}
    )
    _advance(client, clock, RENEWAL + 2 * HOUR)
    assert _renewal(client, sub).status == "void"
    _advance(client, clock, resumes_at + 60)
    resumed = client.v1.subscriptions.retrieve(sub.id)
    assert resumed.pause_collection is None
    updated = client.v1.events.list({"type": "customer.subscription.updated"}).data[0]
    assert updated.created == resumes_at
    assert updated.data.previous_attributes["pause_collection"]["behavior"] == "void"
    next_renewal = RENEWAL + 31 * DAY  # Jan 1
    _advance(client, clock, next_renewal + 2 * HOUR)
    assert _renewal(client, sub).status == "paid"


# https://docs.stripe.com/billing/subscriptions/pause-payment : unset pause_collection (`""`) to
# resume collecting at once.
def test_an_empty_pause_collection_resumes_collection(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _subscribe(client, clock, catalog)
    client.v1.subscriptions.update(sub.id, {"pause_collection": {"behavior": "keep_as_draft"}})
    resumed = client.v1.subscriptions.update(sub.id, {"pause_collection": ""})
    assert resumed.pause_collection is None
    _advance(client, clock, RENEWAL + 2 * HOUR)
    assert _renewal(client, sub).status == "paid"


# https://docs.stripe.com/billing/subscriptions/pause-payment : while paused Stripe sends no
# upcoming invoice webhooks for those invoices.
def test_no_invoice_upcoming_while_collection_is_paused(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _subscribe(client, clock, catalog)
    client.v1.subscriptions.update(sub.id, {"pause_collection": {"behavior": "void"}})
    _advance(client, clock, RENEWAL - DAY)
    assert "invoice.upcoming" not in _event_types(client)


# https://docs.stripe.com/api/subscriptions/update#update_subscription-pause_collection-behavior
@pytest.mark.parametrize(
    ("pause", "param"),
    [
        ({"behavior": "skip"}, "pause_collection[behavior]"),
        ({"resumes_at": NOV_1_2026 + DAY}, "pause_collection[behavior]"),
        ({"behavior": "void", "resumes_at": NOV_1_2026 - DAY}, "pause_collection[resumes_at]"),
        ({"behavior": "void", "resumes_at": "soon"}, "resumes_at"),
        ({"behavior": "void", "colour": "red"}, "pause_collection[colour]"),
    ],
)
def test_a_bad_pause_collection_is_refused_and_changes_nothing(
    client: stripe.StripeClient,
    catalog: dict[str, Any],
    clock: Any,
    pause: dict[str, Any],
    param: str,
) -> None:
    sub = _subscribe(client, clock, catalog)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.update(sub.id, {"pause_collection": pause})  # type: ignore[typeddict-item]
    assert refused.value.param == param
    assert client.v1.subscriptions.retrieve(sub.id).pause_collection is None


# https://docs.stripe.com/billing/subscriptions/pause-payment : while collection is paused the
# subscription still makes invoices (an interval change bills at once) but none is collected.
def test_an_invoice_an_update_makes_while_paused_is_not_collected(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _subscribe(client, clock, catalog)
    client.v1.subscriptions.update(sub.id, {"pause_collection": {"behavior": "void"}})
    seat = next(i for i in sub["items"].data if i.price.id == catalog["seat_month"].id)
    number = next(i for i in sub["items"].data if i.price.id == catalog["number_month"].id)
    yearly = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [
                {"id": seat.id, "price": catalog["seat_year"].id},
                {"id": number.id, "price": catalog["number_year"].id},
            ],
            "expand": ["latest_invoice"],
        },
    )
    assert yearly.status == "active"
    assert yearly.latest_invoice.billing_reason == "subscription_update"
    assert yearly.latest_invoice.status == "void" and yearly.latest_invoice.amount_paid == 0
