"""Invoices: numbering, hosted page, PDF, lines, pay, void, invoice items."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from .helpers import make_customer, two_items


def test_hosted_page_and_pdf(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = client.v1.subscriptions.create({"customer": customer.id, "items": two_items(catalog)})
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.hosted_invoice_url.endswith(f"/invoices/{invoice.id}")
    page = httpx.get(invoice.hosted_invoice_url)
    assert page.status_code == 200 and invoice.number in page.text
    pdf = httpx.get(invoice.invoice_pdf)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 1000
    lines = client.v1.invoices.line_items.list(invoice.id, {"limit": 1})
    assert len(lines.data) == 1 and lines.has_more


def test_pdf_lists_lines_and_totals(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    import zlib

    customer = make_customer(client, clock)
    sub = client.v1.subscriptions.create({"customer": customer.id, "items": two_items(catalog)})
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    raw = httpx.get(invoice.invoice_pdf).content
    text = b""
    for chunk in raw.split(b"stream")[1:]:
        body = chunk.split(b"endstream")[0].strip(b"\r\n")
        try:
            text += zlib.decompress(body)
        except zlib.error:
            text += body
    for needle in (b"Clerk Chat", invoice.number.encode(), b"$107.00", b"Seat"):
        assert needle in text


def test_manual_invoice_pay_and_void(client: stripe.StripeClient, clock: Any) -> None:
    customer = make_customer(client, clock)
    item = client.v1.invoice_items.create(
        {"customer": customer.id, "amount": 5000, "currency": "usd", "description": "Setup fee"}
    )
    assert item.invoice is None
    invoice = client.v1.invoices.create(
        {
            "customer": customer.id,
            "pending_invoice_items_behavior": "include",
            "auto_advance": False,
        }
    )
    assert (
        invoice.status == "draft"
        and invoice.amount_due == 5000
        and invoice.hosted_invoice_url is None
    )
    finalized = client.v1.invoices.finalize_invoice(invoice.id)
    assert finalized.status == "open" and finalized.number
    paid = client.v1.invoices.pay(invoice.id)
    assert paid.status == "paid" and paid.amount_paid == 5000 and paid.amount_remaining == 0
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.void_invoice(invoice.id)
    client.v1.invoice_items.create({"customer": customer.id, "amount": 700, "currency": "usd"})
    second = client.v1.invoices.create(
        {
            "customer": customer.id,
            "pending_invoice_items_behavior": "include",
            "auto_advance": False,
        }
    )
    client.v1.invoices.finalize_invoice(second.id)
    voided = client.v1.invoices.void_invoice(second.id)
    assert voided.status == "void"
    types = [e.type for e in client.v1.events.list({"limit": 100}).data]
    assert "invoice.voided" in types and "invoice.finalized" in types


def test_pay_failure_is_a_card_error(client: stripe.StripeClient, clock: Any) -> None:
    customer = make_customer(client, clock, card="pm_card_chargeCustomerFail")
    client.v1.invoice_items.create({"customer": customer.id, "amount": 900, "currency": "usd"})
    invoice = client.v1.invoices.create(
        {
            "customer": customer.id,
            "pending_invoice_items_behavior": "include",
            "auto_advance": False,
        }
    )
    client.v1.invoices.finalize_invoice(invoice.id)
    with pytest.raises(stripe.CardError):
        client.v1.invoices.pay(invoice.id)
    assert client.v1.invoices.retrieve(invoice.id).attempt_count == 1
    good = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    paid = client.v1.invoices.pay(invoice.id, {"payment_method": good.id})
    assert paid.status == "paid"


def test_three_d_secure_card_off_session(client: stripe.StripeClient, clock: Any) -> None:
    customer = make_customer(client, clock, card="pm_card_authenticationRequired")
    client.v1.invoice_items.create({"customer": customer.id, "amount": 900, "currency": "usd"})
    invoice = client.v1.invoices.create(
        {
            "customer": customer.id,
            "pending_invoice_items_behavior": "include",
            "auto_advance": False,
        }
    )
    client.v1.invoices.finalize_invoice(invoice.id)
    with pytest.raises(stripe.CardError) as caught:
        client.v1.invoices.pay(invoice.id)
    assert caught.value.code == "authentication_required"
