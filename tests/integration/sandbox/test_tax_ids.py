"""Customer tax ids and the customer's details on invoices, through the SDK over HTTP.

Stripe's contract:
- https://docs.stripe.com/api/tax_ids/customer_create: `POST /v1/customers/{id}/tax_ids` with
  `type` and `value`; an invalid value is refused (`tax_id_invalid`); list, retrieve, delete
  (https://docs.stripe.com/api/tax_ids/customer_list, .../customer_delete); `tax_id_data` on
  customer create (https://docs.stripe.com/api/customers/create#create_customer-tax_id_data).
- https://docs.stripe.com/api/invoices/object#invoice_object-customer_tax_ids (and
  `customer_address`, `customer_name`, `customer_email`): "Until the invoice is finalized, this
  field will equal customer...; once the invoice is finalized, this field will no longer be
  updated."
- https://docs.stripe.com/invoicing/customize#custom-fields: a customer's
  `invoice_settings.custom_fields` and `footer` appear on its invoices (the hosted page and PDF);
  https://docs.stripe.com/tax/invoicing/tax-ids: customer tax ids print in the PDF's header.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe
from pypdf import PdfReader

from .helpers import make_customer, two_items


def pdf_text(url: str) -> str:
    import io

    reader = PdfReader(io.BytesIO(httpx.get(url).content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_a_tax_id_is_created_listed_and_deleted(client: stripe.StripeClient, clock: Any) -> None:
    customer = make_customer(client, clock)
    vat = client.v1.customers.tax_ids.create(
        customer.id, {"type": "eu_vat", "value": "de 123456789"}
    )
    assert (vat.object, vat.type, vat.value, vat.country) == (
        "tax_id",
        "eu_vat",
        "DE123456789",
        "DE",
    )
    assert vat.id.startswith("txi_") and vat.customer == customer.id
    assert vat.verification.status == "pending"
    ein = client.v1.customers.tax_ids.create(customer.id, {"type": "us_ein", "value": "12-3456789"})
    assert ein.country == "US" and ein.verification.status == "unavailable"
    listed = client.v1.customers.tax_ids.list(customer.id)
    assert [t.id for t in listed.data] == [ein.id, vat.id]  # newest first
    assert client.v1.customers.tax_ids.retrieve(customer.id, vat.id).value == "DE123456789"
    deleted = client.v1.customers.tax_ids.delete(customer.id, vat.id)
    assert deleted.deleted is True
    assert [t.id for t in client.v1.customers.tax_ids.list(customer.id).data] == [ein.id]
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.customers.tax_ids.retrieve(customer.id, vat.id)
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"


@pytest.mark.parametrize(
    ("kind", "value", "param"),
    [
        ("eu_vat", "US123456789", "value"),  # not an EU country prefix
        ("us_ein", "123456789", "value"),  # no dash
        ("au_abn", "1234567891", "value"),  # 10 digits
        ("gb_vat", "GB12345", "value"),
        ("xx_vat", "123", "type"),
    ],
)
def test_a_malformed_tax_id_is_refused_and_nothing_is_stored(
    client: stripe.StripeClient, clock: Any, kind: str, value: str, param: str
) -> None:
    customer = make_customer(client, clock)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.customers.tax_ids.create(customer.id, {"type": kind, "value": value})
    assert refused.value.http_status == 400 and refused.value.param == param
    if param == "value":
        assert refused.value.code == "tax_id_invalid"
    assert client.v1.customers.tax_ids.list(customer.id).data == []


def test_tax_id_data_at_customer_create_and_a_bad_one_creates_nothing(
    client: stripe.StripeClient, clock: Any
) -> None:
    customer = client.v1.customers.create(
        {"name": "Acme", "tax_id_data": [{"type": "gb_vat", "value": "GB123456789"}]}
    )
    assert [t.value for t in client.v1.customers.tax_ids.list(customer.id).data] == ["GB123456789"]
    before = len(client.v1.customers.list({"limit": 100}).data)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.customers.create(
            {"name": "Bad", "tax_id_data": [{"type": "us_ein", "value": "nope"}]}
        )
    assert refused.value.param == "tax_id_data[0][value]"
    assert len(client.v1.customers.list({"limit": 100}).data) == before
    with pytest.raises(stripe.InvalidRequestError) as unknown:  # create only, as on Stripe
        client.v1.customers.update(customer.id, {"tax_id_data": [{"type": "us_ein"}]})
    assert unknown.value.param == "tax_id_data"


def test_the_invoice_prints_the_customers_details_frozen_at_finalization(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    client.v1.customers.update(
        customer.id,
        {
            "name": "Acme Dental LLC",
            "email": "billing@acme.example",
            "address": {
                "line1": "1 Main St",
                "city": "Springfield",
                "postal_code": "12345",
                "state": "IL",
                "country": "US",
            },
            "invoice_settings": {
                "custom_fields": [{"name": "PO number", "value": "PO-4711"}],
                "footer": "Thank you for your business.",
            },
        },
    )
    client.v1.customers.tax_ids.create(customer.id, {"type": "us_ein", "value": "12-3456789"})
    description = "Clerk Chat Business seat, billed monthly, " + "with a long description " * 4
    sub = client.v1.subscriptions.create(
        {"customer": customer.id, "items": two_items(catalog), "description": description}
    )
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.customer_name == "Acme Dental LLC"
    assert invoice.customer_address.city == "Springfield"
    assert [(t.type, t.value) for t in invoice.customer_tax_ids] == [("us_ein", "12-3456789")]
    assert [(f.name, f.value) for f in invoice.custom_fields] == [("PO number", "PO-4711")]
    assert invoice.footer == "Thank you for your business."

    text = pdf_text(invoice.invoice_pdf)
    for needle in (
        "Acme Dental LLC",
        "1 Main St",
        "Springfield IL 12345",
        "billing@acme.example",
        "US EIN 12-3456789",
        "PO number",
        "PO-4711",
        "Thank you for your business.",
        "Clerk Chat, Inc.",
        "Paid with Visa ending in 4242",
    ):
        assert needle in text, needle
    page = httpx.get(invoice.hosted_invoice_url).text
    assert "US EIN 12-3456789" in page and "PO-4711" in page and "Acme Dental LLC" in page

    # finalized: a later change of the customer does not rewrite this invoice
    client.v1.customers.update(customer.id, {"name": "Renamed Inc."})
    assert client.v1.invoices.retrieve(invoice.id).customer_name == "Acme Dental LLC"


def test_a_draft_follows_the_customer_until_it_is_finalized(
    client: stripe.StripeClient, clock: Any
) -> None:
    customer = make_customer(client, clock)
    client.v1.invoice_items.create({"customer": customer.id, "amount": 1500, "currency": "usd"})
    draft = client.v1.invoices.create(
        {"customer": customer.id, "pending_invoice_items_behavior": "include"}
    )
    client.v1.customers.update(customer.id, {"name": "Later Name"})
    client.v1.customers.tax_ids.create(customer.id, {"type": "ca_bn", "value": "123456789"})
    draft = client.v1.invoices.retrieve(draft.id)
    assert draft.customer_name == "Later Name"
    assert [t.value for t in draft.customer_tax_ids] == ["123456789"]
    final = client.v1.invoices.finalize_invoice(draft.id)
    client.v1.customers.update(customer.id, {"name": "Too Late"})
    assert client.v1.invoices.retrieve(final.id).customer_name == "Later Name"


def test_a_customer_read_with_its_tax_ids_expanded(client: stripe.StripeClient, clock: Any) -> None:
    """https://docs.stripe.com/api/customers/object#customer_object-tax_ids (includable)."""
    customer = make_customer(client, clock)
    assert "tax_ids" not in client.v1.customers.retrieve(customer.id)
    client.v1.customers.tax_ids.create(customer.id, {"type": "au_abn", "value": "12345678912"})
    read = client.v1.customers.retrieve(customer.id, {"expand": ["tax_ids"]})
    assert [(t.type, t.value) for t in read.tax_ids.data] == [("au_abn", "12345678912")]
    updated = client.v1.customers.update(customer.id, {"name": "X", "expand": ["tax_ids"]})
    assert len(updated.tax_ids.data) == 1
