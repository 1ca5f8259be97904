"""Products, prices (lookup keys) and customers."""

from __future__ import annotations

import pytest
import stripe


def test_products_and_prices(client: stripe.StripeClient) -> None:
    product = client.v1.products.create({"name": "Seat", "metadata": {"plan": "startup"}})
    assert product.active and product.metadata["plan"] == "startup"
    monthly = client.v1.prices.create(
        {
            "product": product.id,
            "unit_amount": 2900,
            "currency": "usd",
            "recurring": {"interval": "month"},
            "lookup_key": "startup_seat_month",
        }
    )
    assert monthly.recurring.interval == "month" and monthly.type == "recurring"
    assert client.v1.prices.retrieve(monthly.id).unit_amount == 2900
    updated = client.v1.products.update(product.id, {"name": "Team seat"})
    assert updated.name == "Team seat"
    assert [p.id for p in client.v1.products.list().data] == [product.id]


def test_lookup_keys_transfer_and_filters(client: stripe.StripeClient) -> None:
    product = client.v1.products.create({"name": "Seat"})
    base = {"product": product.id, "currency": "usd", "recurring": {"interval": "month"}}
    old = client.v1.prices.create({**base, "unit_amount": 2500, "lookup_key": "seat"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.prices.create({**base, "unit_amount": 2900, "lookup_key": "seat"})
    new = client.v1.prices.create(
        {**base, "unit_amount": 2900, "lookup_key": "seat", "transfer_lookup_key": True}
    )
    assert client.v1.prices.retrieve(old.id).lookup_key is None
    found = client.v1.prices.list({"lookup_keys": ["seat"]}).data
    assert [p.id for p in found] == [new.id]
    client.v1.prices.update(old.id, {"active": False})
    assert [p.id for p in client.v1.prices.list({"active": True}).data] == [new.id]
    assert [p.id for p in client.v1.prices.list({"active": False}).data] == [old.id]
    yearly = client.v1.prices.create(
        {**base, "unit_amount": 29000, "recurring": {"interval": "year"}}
    )
    assert [p.id for p in client.v1.prices.list({"recurring": {"interval": "year"}}).data] == [
        yearly.id
    ]


def test_customer_lifecycle(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(
        {
            "email": "owner@example.com",
            "name": "Acme",
            "address": {"line1": "1 Main St", "city": "Springfield", "country": "US"},
            "metadata": {"workspace_id": "42"},
        }
    )
    assert customer.id.startswith("cus_") and customer.address.city == "Springfield"
    updated = client.v1.customers.update(
        customer.id, {"name": "Acme Inc", "metadata": {"workspace_id": "", "tier": "gold"}}
    )
    assert updated.name == "Acme Inc" and updated.metadata.to_dict() == {"tier": "gold"}
    assert client.v1.customers.list({"email": "owner@example.com"}).data[0].id == customer.id
    events = client.v1.events.list({"type": "customer.updated"}).data
    assert events[0].data.previous_attributes["name"] == "Acme"
    deleted = client.v1.customers.delete(customer.id)
    assert deleted.deleted
    assert client.v1.customers.list().data == []


def test_customer_default_payment_method_must_be_attached(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "x"})
    loose = client.v1.payment_methods.create(
        {"type": "card", "card": {"number": "4242424242424242"}}
    )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.update(
            customer.id, {"invoice_settings": {"default_payment_method": loose.id}}
        )


def test_customer_on_test_clock(
    client: stripe.StripeClient, clock: stripe.test_helpers.TestClock
) -> None:
    customer = client.v1.customers.create({"name": "x", "test_clock": clock.id})
    assert customer.test_clock == clock.id and customer.created == clock.frozen_time
