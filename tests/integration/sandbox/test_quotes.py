"""Quotes through the SDK over HTTP: create (draft), finalize (open, numbered), accept (a
subscription at the quoted prices), cancel, expiry, line items and the PDF (the SDK's "files"
base address, as Stripe serves it from files.stripe.com)."""

from __future__ import annotations

import io
import zlib
from typing import Any

import pypdf
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


# https://docs.stripe.com/api/quotes/create (`discounts[][coupon]`) and
# https://docs.stripe.com/api/quotes/object: amount_total is "Total after discounts", the line
# items carry amount_discount, computed.upfront is the first invoice and computed.recurring
# "takes into account ... discounts with duration=forever coupons only".
def test_a_quote_with_a_coupon_shows_the_discount(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    client.v1.coupons.create(
        {"id": "Q20", "percent_off": 20, "duration": "repeating", "duration_in_months": 3}
    )
    quote = _quote(client, customer, catalog, discounts=[{"coupon": "Q20"}])
    assert len(quote.discounts) == 1 and quote.discounts[0].startswith("di_")
    # $185.00 a month, 20% off: $145.00 -> $116.00 and $40.00 -> $32.00
    assert (quote.amount_subtotal, quote.amount_total) == (18500, 14800)
    assert quote.total_details.amount_discount == 3700
    assert quote.computed.upfront.amount_total == 14800
    # a repeating coupon is not in the recurring totals (forever coupons only)
    assert quote.computed.recurring.amount_total == 18500
    lines = client.v1.quotes.line_items.list(quote.id).data
    assert [(li.amount_subtotal, li.amount_discount, li.amount_total) for li in lines] == [
        (14500, 2900, 11600),
        (4000, 800, 3200),
    ]
    # a line's `discounts` is "not included by default": expand it
    expanded = client.v1.quotes.line_items.list(quote.id, {"expand": ["data.discounts"]})
    assert expanded.data[0].discounts[0].to_dict() == {
        "amount": 2900,
        "discount": quote.discounts[0],
    }
    assert "discounts" not in lines[0]

    forever = client.v1.coupons.create(
        {"amount_off": 1000, "currency": "usd", "duration": "forever", "name": "Partner"}
    )
    other = _quote(client, customer, catalog, discounts=[{"coupon": forever.id}])
    assert (other.amount_total, other.computed.recurring.amount_total) == (17500, 17500)
    assert other.computed.recurring.total_details.amount_discount == 1000


# https://docs.stripe.com/quotes/overview: accepting a quote creates the subscription with the
# quote's line items and discounts (the coupon is redeemed then, by the subscription).
def test_accepting_a_discounted_quote_starts_a_discounted_subscription(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    coupon = client.v1.coupons.create({"percent_off": 50, "duration": "once"})
    quote = _quote(client, customer, catalog, discounts=[{"coupon": coupon.id}])
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 0
    client.v1.quotes.finalize_quote(quote.id)
    accepted = client.v1.quotes.accept(quote.id)
    sub = client.v1.subscriptions.retrieve(accepted.subscription)
    assert sub.status == "active"
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (invoice.subtotal, invoice.amount_paid) == (18500, 9250)
    assert len(invoice.discounts) == 1
    assert sub.discounts == []  # "once": it ended with the first invoice it took money off
    assert invoice.amount_paid == accepted.computed.upfront.amount_total
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 1


# https://docs.stripe.com/api/quotes/create: a coupon that does not exist, an expired one or an
# amount coupon in another currency is refused, naming the parameter; nothing is created.
def test_bad_quote_discounts_are_refused_naming_the_parameter(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    eur = client.v1.coupons.create({"amount_off": 500, "currency": "eur", "duration": "once"})
    for discounts, param in (
        ([{"coupon": "nope"}], "discounts[0][coupon]"),
        ([{"coupon": eur.id}], "discounts[0][coupon]"),
        ([{"discount": "di_x"}], "discounts[0][discount]"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            _quote(client, customer, catalog, discounts=discounts)
        assert caught.value.param == param, discounts
    with pytest.raises(stripe.InvalidRequestError) as item_level:
        client.v1.quotes.create(
            {
                "customer": customer.id,
                "line_items": [
                    {
                        "price": catalog["seat_month"].id,
                        "quantity": 1,
                        "discounts": [{"coupon": eur.id}],
                    }
                ],
            }
        )
    assert item_level.value.param == "line_items[0][discounts]"
    assert client.v1.quotes.list().data == []


# https://docs.stripe.com/api/quotes/pdf: the PDF of a discounted quote prints the discount.
def test_the_pdf_of_a_discounted_quote_prints_the_discount(
    sb: SandboxProcess, client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    client.v1.coupons.create(
        {"id": "WELCOME", "name": "Welcome", "percent_off": 20, "duration": "forever"}
    )
    quote = _quote(client, customer, catalog, discounts=[{"coupon": "WELCOME"}])
    client.v1.quotes.finalize_quote(quote.id)
    files = stripe.StripeClient(
        SECRET_KEY, base_addresses={"api": sb.url, "files": sb.url}, max_network_retries=0
    )
    raw = files.v1.quotes.pdf(quote.id).io.read()
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(raw)).pages)
    for expected in ("Welcome (20% off), every invoice", "-$37.00", "$148.00", "$185.00"):
        assert expected in text, expected
