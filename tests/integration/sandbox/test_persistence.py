"""``--data FILE`` keeps state across restarts."""

from __future__ import annotations

from pathlib import Path

from tests.support.sandbox import free_port, start_sandbox


def test_restart_keeps_customers_subscriptions_invoices(tmp_path: Path) -> None:
    data = tmp_path / "sandbox.json"
    port = free_port()
    with start_sandbox(port=port, data=data) as first:
        client = first.client()
        price = client.v1.prices.create(
            {
                "product_data": {"name": "Seat"},
                "unit_amount": 2900,
                "currency": "usd",
                "recurring": {"interval": "month"},
                "lookup_key": "startup_seat_month",
            }
        )
        clock = client.v1.test_helpers.test_clocks.create({"frozen_time": 1793491200})
        customer = client.v1.customers.create({"email": "keep@example.com", "test_clock": clock.id})
        pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
        sub = client.v1.subscriptions.create(
            {
                "customer": customer.id,
                "items": [{"price": price.id, "quantity": 3}],
                "default_payment_method": pm.id,
            }
        )
    assert data.exists()
    with start_sandbox(port=port, data=data) as second:
        client = second.client()
        assert client.v1.customers.retrieve(customer.id).email == "keep@example.com"
        kept = client.v1.subscriptions.retrieve(sub.id)
        assert kept.status == "active" and kept["items"].data[0].quantity == 3
        invoice = client.v1.invoices.retrieve(sub.latest_invoice)
        assert invoice.status == "paid" and invoice.number.endswith("-0001")
        assert client.v1.prices.list({"lookup_keys": ["startup_seat_month"]}).data[0].id == price.id
        assert client.v1.test_helpers.test_clocks.retrieve(clock.id).frozen_time == 1793491200
        # sequences continue: the next invoice of this customer gets number 0002
        client.v1.test_helpers.test_clocks.advance(
            clock.id, {"frozen_time": 1793491200 + 31 * 86400}
        )
        invoices = client.v1.invoices.list({"customer": customer.id}).data
        assert invoices[0].number.endswith("-0002")


def test_without_data_state_is_in_memory(tmp_path: Path) -> None:
    port = free_port()
    with start_sandbox(port=port) as first:
        customer = first.client().v1.customers.create({"name": "gone"})
    with start_sandbox(port=port) as second:
        assert second.client().v1.customers.list().data == []
    assert customer.id
