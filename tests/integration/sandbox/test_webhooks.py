"""Webhooks: signatures the SDK verifies, retries with backoff, /v1/events."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from tests.support.sandbox import SandboxProcess, free_port, start_sandbox
from tests.support.waiting import eventually

SECRET = "whsec_test_secret_123"


class Receiver:
    """A local HTTP endpoint that records deliveries and fails the first ``fail_first`` ones."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, str]] = []
        self._arrived = threading.Condition()
        self.fail_first = 0
        self.delay = 0.0  # seconds before each answer
        self.port = free_port()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._arrived:
                    receiver.received.append((body, self.headers.get("Stripe-Signature", "")))
                    receiver._arrived.notify_all()
                status = 500 if receiver.fail_first > 0 else 200
                time.sleep(receiver.delay)  # a slow receiver is what the test is about
                receiver.fail_first -= 1
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stripe/webhook"

    def wait_for(self, count: int, timeout: float = 10) -> None:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
        assert len(self.received) >= count, self.received


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()


@pytest.fixture
def hooked(sb: SandboxProcess, receiver: Receiver) -> Iterator[SandboxProcess]:
    sb.configure_webhooks(url=receiver.url, secret=SECRET, initial_backoff=0.05, max_attempts=4)
    yield sb
    sb.configure_webhooks(url="", secret="")


def test_events_are_signed_and_verified_by_the_sdk(
    hooked: SandboxProcess, receiver: Receiver
) -> None:
    client = hooked.client()
    customer = client.v1.customers.create({"email": "hook@example.com"})
    client.v1.customers.update(customer.id, {"name": "Hooked"})
    receiver.wait_for(2)
    events = [stripe.Webhook.construct_event(body, sig, SECRET) for body, sig in receiver.received]
    assert [e.type for e in events] == ["customer.created", "customer.updated"]
    assert events[0].data.object.id == customer.id
    assert events[0].api_version == "2026-10-28.endive"
    assert events[1].data.previous_attributes.to_dict() == {"name": None}
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            receiver.received[0][0], receiver.received[0][1], "whsec_other"
        )
    listed = client.v1.events.list({"type": "customer.created"})
    assert listed.data[0].id == events[0].id
    assert client.v1.events.retrieve(events[0].id).type == "customer.created"


def test_failed_deliveries_are_retried(hooked: SandboxProcess, receiver: Receiver) -> None:
    receiver.fail_first = 2
    hooked.client().v1.customers.create({"name": "Retry me"})
    receiver.wait_for(3)
    ids = {json.loads(body)["id"] for body, _ in receiver.received}
    assert len(ids) == 1
    attempts = hooked.control("GET", "webhooks")["deliveries"]
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, 500), (2, 500), (3, 200)]


def test_retries_are_bounded(hooked: SandboxProcess, receiver: Receiver) -> None:
    receiver.fail_first = 100
    client = hooked.client()
    client.v1.customers.create({"name": "Never"})
    receiver.wait_for(4)
    # The sandbox marks the event delivered (pending_webhooks 0) once it has given up on it.
    eventually(
        lambda: not client.v1.events.list({"type": "customer.created"}).data[0].pending_webhooks,
        what="the sandbox to give up on the event",
    )
    # No 5th attempt is an absence, which cannot be awaited: wait longer than the backoff a 5th
    # attempt would follow (initial_backoff 0.05 s doubled three times).
    time.sleep(0.05 * 2**3 * 1.5)
    assert len(receiver.received) == 4


def test_webhook_flags_on_the_command_line(receiver: Receiver) -> None:
    with start_sandbox(webhook_url=receiver.url, webhook_secret=SECRET) as sandbox:
        sandbox.client().v1.products.create({"name": "Seat"})
        receiver.wait_for(1)
    event = stripe.Webhook.construct_event(*receiver.received[0], SECRET)
    assert event.type == "product.created"


def test_a_rolled_back_request_keeps_the_delivery_state_of_earlier_events(
    hooked: SandboxProcess, receiver: Receiver
) -> None:
    """A payment that fails under error_if_incomplete rolls the store back; the events of the
    requests before it, still being delivered then, end up delivered (pending_webhooks 0)."""
    receiver.delay = 0.3
    client = hooked.client()
    product = client.v1.products.create({"name": "Seat"})
    price = client.v1.prices.create(
        {
            "product": product.id,
            "unit_amount": 2900,
            "currency": "usd",
            "recurring": {"interval": "month"},
        }
    )
    customer = client.v1.customers.create({"name": "Declined"})
    pm = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    with pytest.raises(stripe.CardError):
        client.v1.subscriptions.create(
            {
                "customer": customer.id,
                "items": [{"price": price.id}],
                "default_payment_method": pm.id,
                "payment_behavior": "error_if_incomplete",
            }
        )
    events = client.v1.events.list().data
    receiver.wait_for(len(events))
    eventually(
        lambda: not any(e.pending_webhooks for e in client.v1.events.list().data),
        within=5,
        what="every delivery answered",
    )
    assert [e.type for e in client.v1.events.list().data if e.pending_webhooks] == []
