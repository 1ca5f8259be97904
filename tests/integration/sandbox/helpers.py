"""Helpers for the sandbox tests."""

from __future__ import annotations

from typing import Any

import stripe

# 2026-11-01T00:00:00Z: the month that follows has 30 days
NOV_1_2026 = 1793491200
DAY = 86400


def make_customer(
    client: stripe.StripeClient, clock: Any, card: str | None = "pm_card_visa"
) -> Any:
    customer = client.v1.customers.create(
        {"email": "owner@example.com", "name": "Acme", "test_clock": clock.id}
    )
    if card:
        pm = client.v1.payment_methods.attach(card, {"customer": customer.id})
        customer = client.v1.customers.update(
            customer.id, {"invoice_settings": {"default_payment_method": pm.id}}
        )
    return customer


def two_items(catalog: dict[str, Any], seats: int = 3, numbers: int = 2) -> list[dict[str, Any]]:
    return [
        {"price": catalog["seat_month"].id, "quantity": seats},
        {"price": catalog["number_month"].id, "quantity": numbers},
    ]


def item_for(sub: Any, price_id: str) -> Any:
    return next(i for i in sub["items"].data if i.price.id == price_id)


def event_types(client: stripe.StripeClient, limit: int = 100) -> list[str]:
    """Event types, oldest first."""
    return [e.type for e in reversed(client.v1.events.list({"limit": limit}).data)]
