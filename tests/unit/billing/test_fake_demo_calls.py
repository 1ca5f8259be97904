"""The fake's demo calls behave as the sandbox and Stripe do (issues 14 and 15)."""

from __future__ import annotations

from typing import Any

import pytest

from clerk_portal.billing.errors import GatewayError, NotFoundAtStripe
from clerk_portal.billing.gateway.fake import FakeGateway


async def _customer_on_a_clock(gateway: FakeGateway) -> tuple[str, str]:
    clock = await gateway.create_test_clock(frozen_time=1_000, name="w", idempotency_key="c")
    customer = await gateway.create_customer(
        name="Acme", email=None, metadata={}, idempotency_key="k", test_clock=clock.id
    )
    return clock.id, customer.id


async def _visa_confirmed(gateway: FakeGateway, customer_id: str) -> tuple[Any, Any]:
    """A SetupIntent of the customer and its confirmation with Stripe's `pm_card_visa`."""
    intent = await gateway.create_setup_intent(
        customer_id=customer_id, metadata={}, idempotency_key="s"
    )
    confirmed = await gateway.confirm_setup_intent_with(
        intent.id, payment_method="pm_card_visa", idempotency_key="confirm"
    )
    return intent, confirmed


async def test_deleting_a_clock_deletes_its_customer_and_twice_is_fine():
    gateway = FakeGateway()
    clock_id, customer_id = await _customer_on_a_clock(gateway)

    await gateway.delete_test_clock(clock_id)
    await gateway.delete_test_clock(clock_id)

    with pytest.raises(NotFoundAtStripe):
        await gateway.retrieve_test_clock(clock_id)
    with pytest.raises(NotFoundAtStripe):
        await gateway.retrieve_customer(customer_id)


async def test_confirming_with_a_test_payment_method_succeeds_the_intent():
    gateway = FakeGateway()
    _clock, customer_id = await _customer_on_a_clock(gateway)

    intent, confirmed = await _visa_confirmed(gateway, customer_id)

    assert confirmed.status == "succeeded" and confirmed.payment_method
    card = await gateway.retrieve_payment_method(confirmed.payment_method)
    assert card.last4 == "4242"
    with pytest.raises(NotImplementedError):
        await gateway.confirm_setup_intent_with(
            intent.id, payment_method="pm_card_unknown", idempotency_key="other"
        )


async def test_an_open_invoice_paid_out_of_band_is_paid_once_and_activates_its_subscription():
    """https://docs.stripe.com/api/invoices/pay: `paid_out_of_band` marks it paid; an invoice
    that is not open cannot be paid."""
    gateway = FakeGateway()
    _clock, customer_id = await _customer_on_a_clock(gateway)
    _intent, confirmed = await _visa_confirmed(gateway, customer_id)
    price = await gateway.create_price(
        product_id=(
            await gateway.create_product(
                product_id="prod_x", name="Seats", metadata={}, idempotency_key="p"
            )
        ).id,
        unit_amount=4900,
        currency="usd",
        interval="month",
        lookup_key="x_seat_month",
        idempotency_key="price",
    )
    sub = await gateway.create_subscription(
        {
            "customer": customer_id,
            "items": [{"price": price.id, "quantity": 1}],
            "default_payment_method": confirmed.payment_method,
            "payment_behavior": "default_incomplete",
        },
        idempotency_key="sub",
    )
    assert sub.status == "incomplete" and sub.latest_invoice_id

    paid = await gateway.pay_invoice_out_of_band(sub.latest_invoice_id, idempotency_key="oob")
    again = await gateway.pay_invoice_out_of_band(sub.latest_invoice_id, idempotency_key="oob")

    assert (paid.status, paid.amount_paid, paid.amount_remaining) == ("paid", 4900, 0)
    assert again == paid  # the same key replays
    assert (await gateway.retrieve_subscription(sub.id)).status == "active"
    with pytest.raises(GatewayError, match="Invoice is paid"):
        await gateway.pay_invoice_out_of_band(sub.latest_invoice_id, idempotency_key="other")
