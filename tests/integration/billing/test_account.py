"""Card replacement, billing details on the Stripe customer, the invoice list and PDF links."""

from __future__ import annotations

import httpx
import pytest

from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services import card, details, invoices
from clerk_portal.core.errors import InvalidValue, NotFound
from clerk_portal.demo.clock import advance_demo_clock

from .conftest import Env, make_workspace
from .helpers import PAST_THE_RENEWAL, subscribe


async def test_a_new_card_becomes_the_default_and_the_old_one_is_detached(env: Env):
    workspace_id, owner, sub_id = await subscribe(env, plan="startup")
    old = (await load_overview(workspace_id)).card_last4
    setup = await card.start_card_update(workspace_id=workspace_id)
    env.confirm_card(setup, "5555555555554444")
    new = await card.complete_card_update(
        workspace_id=workspace_id, actor_user_id=owner, setup_intent_id=setup.setup_intent_id
    )
    overview = await load_overview(workspace_id)
    assert (old, overview.card_brand, overview.card_last4) == ("4242", "mastercard", "4444")
    client = env.stripe()
    sub = client.v1.subscriptions.retrieve(sub_id)
    assert sub.default_payment_method == new.id
    customer = client.v1.customers.retrieve(sub.customer)
    assert customer.invoice_settings.default_payment_method == new.id
    assert [pm.id for pm in client.v1.payment_methods.list({"customer": sub.customer}).data] == [
        new.id
    ]
    with pytest.raises(BillingError, match="no open invoice"):
        setup = await card.start_card_update(workspace_id=workspace_id)
        env.confirm_card(setup)
        await card.pay_open_invoice(
            workspace_id=workspace_id, actor_user_id=owner, setup_intent_id=setup.setup_intent_id
        )


async def test_billing_details_are_validated_and_pushed_to_stripe(env: Env):
    workspace_id, owner = make_workspace()
    bad = [
        details.BillingDetails(email="not-an-email"),
        details.BillingDetails(email="ap@acme.example", country="USA"),
        details.BillingDetails(email="ap@acme.example", line1="1 Main St"),
        details.BillingDetails(email="ap@acme.example", po_number="x" * 65, country="US"),
        details.BillingDetails(email="ap@acme.example", country="QQ"),  # not an ISO code
        details.BillingDetails(email="ap@acme.example", tax_id="12-3456789"),  # no type
        details.BillingDetails(email="ap@acme.example", tax_id="123", tax_id_type="us_ein"),
        details.BillingDetails(email="ap@acme.example", tax_id="DE1", tax_id_type="xx_vat"),
    ]
    for value in bad:
        with pytest.raises(InvalidValue):
            await details.update_billing_details(
                workspace_id=workspace_id, actor_user_id=owner, details=value
            )
    good = details.BillingDetails(
        email=" AP@Acme.example ",
        name="Acme Dental LLC",
        line1="1 Main St",
        city="Springfield",
        state="IL",
        postal_code="62701",
        country="us",
        tax_id="12-3456789",
        tax_id_type="us_ein",
        po_number="PO-7731",
    )
    customer = await details.update_billing_details(
        workspace_id=workspace_id, actor_user_id=owner, details=good
    )
    stripe_customer = env.stripe().v1.customers.retrieve(customer.id)
    assert stripe_customer.email == "ap@acme.example"
    assert stripe_customer.address.country == "US"
    fields = {f.name: f.value for f in stripe_customer.invoice_settings.custom_fields}
    assert fields == {"PO number": "PO-7731"}
    tax = env.stripe().v1.customers.tax_ids.list(customer.id).data
    assert [(t.type, t.value) for t in tax] == [("us_ein", "12-3456789")]
    overview = await load_overview(workspace_id)
    assert overview.billing_email == "ap@acme.example"
    env.settle()  # customer.updated arrives and changes nothing
    assert (await load_overview(workspace_id)).billing_email == "ap@acme.example"


async def test_invoices_page_from_the_mirror_with_pdf_links(env: Env):
    workspace_id, _, _ = await subscribe(env, plan="startup")
    for _ in range(2):
        await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    first = await invoices.list_invoices(workspace_id=workspace_id, limit=2)
    assert len(first.items) == 2 and first.next_cursor
    rest = await invoices.list_invoices(
        workspace_id=workspace_id, limit=2, cursor=first.next_cursor
    )
    assert len(rest.items) == 1 and rest.next_cursor is None
    assert [i.status for i in first.items + rest.items] == ["paid"] * 3
    url = await invoices.invoice_pdf_url(
        workspace_id=workspace_id, stripe_invoice_id=rest.items[0].stripe_invoice_id
    )
    async with httpx.AsyncClient() as client:
        response = await client.get(url, timeout=10)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    other, _ = make_workspace(name="Other")
    with pytest.raises(NotFound):
        await invoices.invoice_pdf_url(
            workspace_id=other, stripe_invoice_id=rest.items[0].stripe_invoice_id
        )
