"""The Stripe gateway and the fake implement the same `BillingGateway`, method for method, so
that the services' unit tests on the fake test the calls production makes."""

from __future__ import annotations

import inspect

import pytest

from clerk_portal.billing.gateway import BillingGateway, StripeGateway
from clerk_portal.billing.gateway.fake import FakeGateway

PROTOCOL_METHODS = sorted(
    name
    for name, member in vars(BillingGateway).items()
    if inspect.iscoroutinefunction(member) and not name.startswith("_")
)


def test_the_protocol_names_every_call():
    assert len(PROTOCOL_METHODS) == 50
    assert {
        "create_subscription",
        "preview_invoice",
        "price_for",
        "aclose",
        # the demo controls (issue 15)
        "confirm_setup_intent_with",
        "delete_test_clock",
        # invoiced customers' bank transfers (issue 14)
        "pay_invoice_out_of_band",
        # quotes (issue 15)
        "create_quote",
        "quote_pdf",
    } <= set(PROTOCOL_METHODS)


@pytest.mark.parametrize("implementation", [StripeGateway, FakeGateway], ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", PROTOCOL_METHODS)
def test_each_implementation_has_the_protocols_signature(implementation: type, name: str):
    wanted = inspect.signature(getattr(BillingGateway, name), eval_str=True)
    method = getattr(implementation, name, None)
    assert method is not None, f"{implementation.__name__} lacks {name}"
    assert inspect.iscoroutinefunction(method), f"{implementation.__name__}.{name} is not async"
    assert inspect.signature(method, eval_str=True) == wanted


def test_a_setup_intent_read_with_its_card_expanded_carries_the_card():
    """The card confirmation is one Stripe read: the SetupIntent with its payment method."""
    from clerk_portal.billing.gateway.stripe import convert

    card = {
        "id": "pm_123456789",
        "customer": "cus_123456789",
        "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034},
    }
    expanded = convert.to_setup_intent(
        {"id": "seti_1", "status": "succeeded", "customer": "cus_123456789", "payment_method": card}
    )
    plain = convert.to_setup_intent(
        {"id": "seti_1", "status": "succeeded", "payment_method": "pm_123456789"}
    )

    assert expanded.payment_method == plain.payment_method == "pm_123456789"
    assert expanded.card is not None and (expanded.card.last4, expanded.card.brand) == (
        "4242",
        "visa",
    )
    assert plain.card is None
