"""Quotes through the SDK over HTTP: create (draft), finalize (open, numbered), accept (a
subscription at the quoted prices), cancel, expiry, line items and the PDF (the SDK's "files"
base address, as Stripe serves it from files.stripe.com)."""

from __future__ import annotations

import zlib
from typing import Any

import pytest
import stripe

from tests.support.sandbox import SECRET_KEY, SandboxProcess

from .helpers import DAY, NOV_1_2026, make_customer, two_items


def _quote(client: stripe.StripeClient, customer: Any, catalog: dict[str, Any], **extra: Any):
    return client.v1.quotes.create(
        {"customer": customer.id, "line_items": two_items(catalog, seats=5, numbers=4), **extra}
    )


def _pdf_text(raw: bytes) -> bytes:
    text = b""
    for chunk in raw.split(b"stream")[1:]:
        body = chunk.split(b"endstream")[0].strip(b"\r\n")
        try:
            text += zlib.decompress(body)
        except zlib.error:
            text += body
    return text


def test_a_draft_quote_has_stripes_shape_and_totals(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    quote = _quote(client, customer, catalog, description="Acme Dental, 5 seats")
    assert quote.id.startswith("qt_") and quote.object == "quote"
    assert (quote.status, quote.number, quote.customer) == ("draft", None, customer.id)
    # 5 seats at $29 + 4 numbers at $10, a month
    assert quote.amount_total == quote.amount_subtotal == 5 * 2900 + 4 * 1000
    assert quote.computed.recurring.interval == "month"
    assert quote.computed.recurring.amount_total == 18500
    assert quote.computed.upfront.amount_total == 18500
    assert quote.expires_at == NOV_1_2026 + 30 * DAY  # the test clock's now + 30 days
    assert quote.test_clock == clock.id
    lines = client.v1.quotes.line_items.list(quote.id)
    assert [(li.price.id, li.quantity, li.amount_total) for li in lines.data] == [
        (catalog["seat_month"].id, 5, 14500),
        (catalog["number_month"].id, 4, 4000),
    ]
    assert client.v1.quotes.retrieve(quote.id).status == "draft"


def test_finalize_accept_makes_the_subscription_at_the_quoted_prices(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    quote = _quote(client, customer, catalog)
    with pytest.raises(stripe.InvalidRequestError, match="status of draft"):
        client.v1.quotes.accept(quote.id)

    opened = client.v1.quotes.finalize_quote(quote.id)
    assert opened.status == "open" and opened.number.startswith("QT-")
    assert opened.status_transitions.finalized_at == NOV_1_2026

    accepted = client.v1.quotes.accept(quote.id)
    assert accepted.status == "accepted" and accepted.status_transitions.accepted_at
    sub = client.v1.subscriptions.retrieve(accepted.subscription)
    assert sub.status == "active" and sub.customer == customer.id
    assert sorted((i.price.id, i.quantity) for i in sub["items"].data) == sorted(
        [(catalog["seat_month"].id, 5), (catalog["number_month"].id, 4)]
    )
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", 18500)
    with pytest.raises(stripe.InvalidRequestError, match="status of accepted"):
        client.v1.quotes.accept(quote.id)
    with pytest.raises(stripe.InvalidRequestError, match="status of accepted"):
        client.v1.quotes.cancel(quote.id)
    types = [e.type for e in client.v1.events.list({"limit": 100}).data]
    assert {"quote.created", "quote.finalized", "quote.accepted"} <= set(types)


def test_a_canceled_quote_cannot_be_accepted(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    quote = _quote(client, customer, catalog)
    client.v1.quotes.finalize_quote(quote.id)
    canceled = client.v1.quotes.cancel(quote.id)
    assert canceled.status == "canceled" and canceled.status_transitions.canceled_at
    with pytest.raises(stripe.InvalidRequestError, match="status of canceled"):
        client.v1.quotes.accept(quote.id)
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []


def test_an_open_quote_past_its_expiry_is_canceled(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    quote = _quote(client, customer, catalog, expires_at=NOV_1_2026 + 2 * DAY)
    client.v1.quotes.finalize_quote(quote.id)
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": NOV_1_2026 + 3 * DAY})
    expired = client.v1.quotes.retrieve(quote.id)
    assert expired.status == "canceled"
    assert expired.status_transitions.canceled_at == NOV_1_2026 + 2 * DAY
    with pytest.raises(stripe.InvalidRequestError, match="status of canceled"):
        client.v1.quotes.accept(quote.id)


def test_bad_quotes_are_refused_as_stripe_refuses_them(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    with pytest.raises(stripe.InvalidRequestError) as no_lines:
        client.v1.quotes.create({"customer": customer.id})
    assert no_lines.value.param == "line_items"
    with pytest.raises(stripe.InvalidRequestError) as mixed:
        client.v1.quotes.create(
            {
                "customer": customer.id,
                "line_items": [
                    {"price": catalog["seat_month"].id, "quantity": 1},
                    {"price": catalog["number_year"].id, "quantity": 1},
                ],
            }
        )
    assert "interval" in str(mixed.value)
    with pytest.raises(stripe.InvalidRequestError, match="expires_at"):
        _quote(client, customer, catalog, expires_at=NOV_1_2026 - DAY)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.quotes.retrieve("qt_missing")
    assert missing.value.code == "resource_missing"


def test_the_pdf_of_a_finalized_quote(
    sb: SandboxProcess, client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    quote = _quote(client, customer, catalog, footer="Prices in USD, excluding tax.")
    files = stripe.StripeClient(  # quote PDFs come from Stripe's "files" address
        SECRET_KEY, base_addresses={"api": sb.url, "files": sb.url}, max_network_retries=0
    )
    with pytest.raises(stripe.InvalidRequestError, match="finalized"):
        files.v1.quotes.pdf(quote.id)
    opened = client.v1.quotes.finalize_quote(quote.id)

    streamed = files.v1.quotes.pdf(quote.id)
    raw = streamed.io.read()
    assert streamed.headers["content-type"] == "application/pdf"
    assert raw.startswith(b"%PDF")
    text = _pdf_text(raw)
    for expected in (opened.number, "Acme", "Valid until", "$185.00", "$145.00", "USD"):
        assert expected.encode() in text, expected
