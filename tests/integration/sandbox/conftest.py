"""Fixtures for the sandbox suite: one real sandbox process per session, reset for each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from tests.support.sandbox import SandboxProcess, start_sandbox

from .helpers import NOV_1_2026


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxProcess]:
    process = start_sandbox()
    yield process
    process.stop()


@pytest.fixture
def sb(sandbox: SandboxProcess) -> SandboxProcess:
    sandbox.reset()
    return sandbox


@pytest.fixture
def client(sb: SandboxProcess) -> stripe.StripeClient:
    return sb.client()


@pytest.fixture
def catalog(client: stripe.StripeClient) -> dict[str, Any]:
    """The demo catalog's Startup prices: seat $29/mo, $290/yr; number $10/mo, $100/yr."""
    seat = client.v1.products.create({"name": "Seat"})
    number = client.v1.products.create({"name": "Number"})

    def price(product: Any, amount: int, interval: str, key: str) -> Any:
        return client.v1.prices.create(
            {
                "product": product.id,
                "unit_amount": amount,
                "currency": "usd",
                "recurring": {"interval": interval},
                "lookup_key": key,
            }
        )

    return {
        "seat_month": price(seat, 2900, "month", "startup_seat_month"),
        "seat_year": price(seat, 29000, "year", "startup_seat_year"),
        "number_month": price(number, 1000, "month", "startup_number_month"),
        "number_year": price(number, 10000, "year", "startup_number_year"),
    }


@pytest.fixture
def clock(client: stripe.StripeClient) -> Any:
    return client.v1.test_helpers.test_clocks.create({"frozen_time": NOV_1_2026, "name": "test"})
