"""Invoiced customers (`collection_method=send_invoice`), through the SDK over HTTP.

Stripe's contract:
- https://docs.stripe.com/api/subscriptions/create#create_subscription-collection_method: "When
  sending an invoice, Stripe will email your customer an invoice with payment instructions and
  mark the subscription as active"; `days_until_due` is required with `send_invoice`.
- https://docs.stripe.com/api/invoices/object#invoice_object-due_date: the date the payment is
  due (finalization + `days_until_due`).
- https://docs.stripe.com/api/invoices/send and .../pay (`paid_out_of_band`: paid outside Stripe,
  a bank transfer); https://docs.stripe.com/api/events/types#event_types-invoice.overdue.
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from .helpers import DAY, event_types, make_customer, two_items


def _invoiced(client: stripe.StripeClient, catalog: dict[str, Any], clock: Any) -> Any:
    customer = make_customer(client, clock, card=None)
    return client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": two_items(catalog),
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )


def test_an_invoiced_subscription_is_active_with_an_open_invoice_due_in_30_days(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _invoiced(client, catalog, clock)
    assert sub.status == "active" and sub.collection_method == "send_invoice"
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.status == "open" and invoice.collection_method == "send_invoice"
    assert invoice.due_date == invoice.status_transitions.finalized_at + 30 * DAY
    assert invoice.attempt_count == 0  # nothing was charged
    assert "invoice.sent" in event_types(client)
    sent = client.v1.invoices.send_invoice(invoice.id)
    assert sent.status == "open"
    paid = client.v1.invoices.pay(invoice.id, {"paid_out_of_band": True})
    assert paid.status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_days_until_due_is_required(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock, card=None)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.create(
            {
                "customer": customer.id,
                "items": two_items(catalog),
                "collection_method": "send_invoice",
            }
        )
    assert refused.value.param == "days_until_due"
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []


def test_unpaid_past_the_due_date_is_overdue_and_past_due_until_paid(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _invoiced(client, catalog, clock)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": invoice.due_date + DAY})
    assert "invoice.overdue" in event_types(client)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    assert client.v1.invoices.retrieve(invoice.id).status == "open"  # never charged
    client.v1.invoices.pay(invoice.id, {"paid_out_of_band": True})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_a_renewal_of_an_invoiced_subscription_is_sent_not_charged(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _invoiced(client, catalog, clock)
    client.v1.invoices.pay(sub.latest_invoice, {"paid_out_of_band": True})
    end = client.v1.subscriptions.retrieve(sub.id).items.data[0].current_period_end
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": end + DAY})
    renewal = client.v1.invoices.list({"subscription": sub.id}).data[0]
    assert renewal.billing_reason == "subscription_cycle" and renewal.status == "open"
    assert renewal.due_date == renewal.status_transitions.finalized_at + 30 * DAY
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_only_an_invoiced_invoice_can_be_sent(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = client.v1.subscriptions.create({"customer": customer.id, "items": two_items(catalog)})
    with pytest.raises(stripe.InvalidRequestError, match="send_invoice"):
        client.v1.invoices.send_invoice(sub.latest_invoice)
