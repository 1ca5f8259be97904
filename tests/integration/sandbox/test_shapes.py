"""Every object type the sandbox returns has the same top-level keys as Stripe's fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from tests.support.sandbox import SECRET_KEY, SandboxProcess

from .helpers import DAY, NOV_1_2026, item_for, make_customer, two_items

FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "stripe" / "fixtures3.json"


@pytest.fixture(scope="module")
def fixtures() -> dict[str, Any]:
    if not FIXTURES.exists():  # a shape contract that is not there must not pass as skipped
        pytest.fail(f"Stripe's fixtures3.json (the sandbox's shape contract) is not at {FIXTURES}")
    return json.loads(FIXTURES.read_text())["resources"]


def _raw(sb: SandboxProcess, path: str, **params: Any) -> dict[str, Any]:
    """The JSON exactly as the sandbox sent it (the SDK's objects would hide absent keys)."""
    response = httpx.get(f"{sb.url}{path}", params=params, auth=(SECRET_KEY, ""))
    response.raise_for_status()
    return response.json()


def test_key_sets_match_fixtures(
    sb: SandboxProcess,
    client: stripe.StripeClient,
    catalog: dict[str, Any],
    clock: Any,
    fixtures: dict[str, Any],
) -> None:
    customer = make_customer(client, clock)
    sub = client.v1.subscriptions.create({"customer": customer.id, "items": two_items(catalog)})
    seat = item_for(sub, catalog["seat_month"].id)
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": NOV_1_2026 + 15 * DAY})
    client.v1.subscriptions.update(sub.id, {"items": [{"id": seat.id, "quantity": 4}]})
    seti = client.v1.setup_intents.create({"customer": customer.id})
    invoice = _raw(sb, f"/v1/invoices/{sub.latest_invoice}")
    invoice_item = client.v1.invoice_items.list({"customer": customer.id}).data[0]
    intent = client.v1.payment_intents.list({"customer": customer.id}).data[0]
    objects = {
        "product": _raw(sb, f"/v1/products/{catalog['seat_month'].product}"),
        "price": _raw(sb, f"/v1/prices/{catalog['seat_month'].id}"),
        "customer": _raw(sb, f"/v1/customers/{customer.id}"),
        "payment_method": _raw(
            sb, f"/v1/payment_methods/{customer.invoice_settings.default_payment_method}"
        ),
        "setup_intent": _raw(sb, f"/v1/setup_intents/{seti.id}"),
        "subscription": _raw(sb, f"/v1/subscriptions/{sub.id}"),
        "subscription_item": _raw(sb, f"/v1/subscription_items/{seat.id}"),
        "invoice": invoice,
        "line_item": invoice["lines"]["data"][0],
        "invoiceitem": _raw(sb, f"/v1/invoiceitems/{invoice_item.id}"),
        "payment_intent": _raw(sb, f"/v1/payment_intents/{intent.id}"),
        "event": _raw(sb, "/v1/events")["data"][0],
        "test_helpers.test_clock": _raw(sb, f"/v1/test_helpers/test_clocks/{clock.id}"),
    }
    quote = client.v1.quotes.create({"customer": customer.id, "line_items": two_items(catalog)})
    objects["quote"] = _raw(sb, f"/v1/quotes/{quote.id}")
    objects["item"] = _raw(sb, f"/v1/quotes/{quote.id}/line_items")["data"][0]
    preview = client.v1.invoices.create_preview({"subscription": sub.id})
    mismatches = {}
    for name, obj in objects.items():
        expected = set(fixtures[name])
        if set(obj) != expected:
            mismatches[name] = {
                "missing": sorted(expected - set(obj)),
                "extra": sorted(set(obj) - expected),
            }
    assert set(preview.to_dict()) >= set(fixtures["invoice"]) - {
        "hosted_invoice_url",
        "invoice_pdf",
    }
    assert mismatches == {}
