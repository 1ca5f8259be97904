"""The fake's two demo calls behave as the sandbox and Stripe do (issue 15)."""

from __future__ import annotations

import pytest

from clerk_portal.billing.errors import NotFoundAtStripe
from clerk_portal.billing.gateway.fake import FakeGateway


async def _customer_on_a_clock(gateway: FakeGateway) -> tuple[str, str]:
    clock = await gateway.create_test_clock(frozen_time=1_000, name="w", idempotency_key="c")
    customer = await gateway.create_customer(
        name="Acme", email=None, metadata={}, idempotency_key="k", test_clock=clock.id
    )
    return clock.id, customer.id


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
    intent = await gateway.create_setup_intent(
        customer_id=customer_id, metadata={}, idempotency_key="s"
    )

    confirmed = await gateway.confirm_setup_intent_with(
        intent.id, payment_method="pm_card_visa", idempotency_key="confirm"
    )

    assert confirmed.status == "succeeded" and confirmed.payment_method
    card = await gateway.retrieve_payment_method(confirmed.payment_method)
    assert card.last4 == "4242"
    with pytest.raises(NotImplementedError):
        await gateway.confirm_setup_intent_with(
            intent.id, payment_method="pm_card_unknown", idempotency_key="other"
        )
