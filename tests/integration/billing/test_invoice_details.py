"""What an owner saves as billing details is on the next invoice, its hosted page and its PDF.

Stripe: the tax id through the Tax IDs API prints in the invoice header
(https://docs.stripe.com/tax/invoicing/tax-ids); custom fields (the PO number) and the
customer's name and address are copied onto the invoice
(https://docs.stripe.com/invoicing/customize#custom-fields,
https://docs.stripe.com/api/invoices/object#invoice_object-customer_address).
"""

from __future__ import annotations

import asyncio
import io

import httpx
import pytest
from pypdf import PdfReader

from clerk_portal.billing.errors import GatewayError
from clerk_portal.billing.read_models.details import load_saved_details
from clerk_portal.billing.services import details, invoices
from clerk_portal.core.db import in_db
from clerk_portal.demo.clock import advance_demo_clock
from clerk_portal.workspace import repository

from .conftest import Env
from .helpers import PAST_THE_RENEWAL, subscribe

ACME = details.BillingDetails(
    email="ap@acme.example",
    name="Acme Dental GmbH",
    line1="Hauptstrasse 5",
    city="Berlin",
    postal_code="10115",
    country="DE",
    tax_id="de 123 456 789",
    tax_id_type="eu_vat",
    po_number="PO-2027-0042",
)


def _pdf_text(url: str) -> str:
    reader = PdfReader(io.BytesIO(httpx.get(url, timeout=10).content))
    return "\n".join(page.extract_text() for page in reader.pages)


async def _newest_invoice_pdf(workspace_id: int) -> str:
    page = await invoices.list_invoices(workspace_id=workspace_id, limit=1)
    return await invoices.invoice_pdf_url(
        workspace_id=workspace_id, stripe_invoice_id=page.items[0].stripe_invoice_id
    )


async def test_tax_id_po_and_address_are_on_the_next_invoice_pdf(env: Env):
    workspace_id, owner, _ = await subscribe(env, plan="startup")
    await details.update_billing_details(
        workspace_id=workspace_id, actor_user_id=owner, details=ACME
    )
    saved = await load_saved_details(workspace_id)
    assert (saved.tax_id_type, saved.tax_id) == ("eu_vat", "DE123456789")
    await advance_demo_clock(
        workspace_id=workspace_id, days=PAST_THE_RENEWAL
    )  # the renewal invoice
    env.settle()
    text = _pdf_text(await _newest_invoice_pdf(workspace_id))
    for needle in (
        "Acme Dental GmbH",
        "Hauptstrasse 5",
        "Berlin 10115",
        "EU VAT DE123456789",
        "PO number",
        "PO-2027-0042",
    ):
        assert needle in text, needle
    env.settle()  # customer.updated and customer.tax_id.created webhooks change nothing
    assert (await load_saved_details(workspace_id)).tax_id == "DE123456789"


async def test_a_new_tax_id_replaces_the_old_one_and_saving_twice_changes_nothing(env: Env):
    workspace_id, owner, _ = await subscribe(env, plan="startup")
    await details.update_billing_details(
        workspace_id=workspace_id, actor_user_id=owner, details=ACME
    )
    account = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    customer_id = account.stripe_customer_id or ""
    changed = details.BillingDetails(
        **{**vars(ACME), "tax_id": "GB123456789", "tax_id_type": "gb_vat", "country": "GB"}
    )
    # two tabs saving the same change at once, then again: one tax id at Stripe
    await asyncio.gather(
        *(
            details.update_billing_details(
                workspace_id=workspace_id, actor_user_id=owner, details=changed
            )
            for _ in range(2)
        ),
        return_exceptions=True,
    )
    await details.update_billing_details(
        workspace_id=workspace_id, actor_user_id=owner, details=changed
    )
    listed = env.stripe().v1.customers.tax_ids.list(customer_id).data
    assert [(t.type, t.value) for t in listed] == [("gb_vat", "GB123456789")]
    cleared = details.BillingDetails(**{**vars(changed), "tax_id": "", "tax_id_type": ""})
    await details.update_billing_details(
        workspace_id=workspace_id, actor_user_id=owner, details=cleared
    )
    assert env.stripe().v1.customers.tax_ids.list(customer_id).data == []
    assert (await load_saved_details(workspace_id)).tax_id == ""


async def test_a_tax_id_stripe_refuses_changes_nothing(env: Env, monkeypatch):
    """The portal's format check passes but Stripe refuses (its rules are the contract): the
    address and PO number stay as they were."""
    workspace_id, owner, _ = await subscribe(env, plan="startup")
    await details.update_billing_details(
        workspace_id=workspace_id, actor_user_id=owner, details=ACME
    )
    monkeypatch.setattr("clerk_portal.billing.tax_ids.problem", lambda kind, value: None)
    refused = details.BillingDetails(
        **{**vars(ACME), "tax_id": "XX1", "tax_id_type": "eu_vat", "city": "Munich"}
    )
    with pytest.raises(GatewayError, match="Invalid value for eu_vat"):
        await details.update_billing_details(
            workspace_id=workspace_id, actor_user_id=owner, details=refused
        )
    saved = await load_saved_details(workspace_id)
    assert (saved.address_city, saved.tax_id) == ("Berlin", "DE123456789")
    account = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    assert env.stripe().v1.customers.retrieve(account.stripe_customer_id or "").address.city == (
        "Berlin"
    )
