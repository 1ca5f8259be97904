"""The webhook handler registry: every event type the endpoint is subscribed to has exactly one
handler; a second registration for a type is refused (at import: no type is handled twice)."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from clerk_portal.billing.webhooks import handlers
from clerk_portal.billing.webhooks.route import ENABLED_EVENTS


def test_every_enabled_event_type_has_a_handler_and_every_handler_is_enabled():
    assert [t for t, n in Counter(ENABLED_EVENTS).items() if n > 1] == []
    missing = sorted(set(ENABLED_EVENTS) - set(handlers.HANDLERS))
    assert missing == [], f"subscribed at Stripe, no handler: {missing}"
    unsubscribed = sorted(set(handlers.HANDLERS) - set(ENABLED_EVENTS))
    assert unsubscribed == [], f"handled, never sent by Stripe: {unsubscribed}"


def test_a_second_handler_for_an_event_type_is_refused(monkeypatch: pytest.MonkeyPatch):
    before = dict(handlers.HANDLERS)
    monkeypatch.setattr(handlers, "HANDLERS", dict(before))  # whatever happens, restored after

    def twin(*_args: object) -> None:
        raise AssertionError("never registered, never called")

    with pytest.raises(handlers.DuplicateHandler, match=re.escape("invoice.paid")):
        handlers.handles("radar.x.created", "invoice.paid", fetch=handlers.invoice_by_id)(twin)
    with pytest.raises(handlers.DuplicateHandler, match=re.escape("radar.x.created")):
        handlers.handles("radar.x.created", "radar.x.created", fetch=handlers.invoice_by_id)(twin)
    with pytest.raises(handlers.DuplicateHandler, match=re.escape("invoiceitem.created")):
        handlers.only_the_next_invoice("invoiceitem.created")
    assert before == handlers.HANDLERS


def test_objects_read_again_by_id_have_their_prefix_checked():
    prefixes = handlers.refetched_id_prefixes()
    assert {t for t, p in prefixes.items() if p == "sub_"} == {
        t for t in ENABLED_EVENTS if t.startswith("customer.subscription.")
    }
    # invoice.upcoming's invoice has no id: its subscription's preview is read instead
    assert {t for t, p in prefixes.items() if p == "in_"} == {
        t for t in ENABLED_EVENTS if t.startswith("invoice.") and t != "invoice.upcoming"
    }
    assert set(prefixes.values()) == {"sub_", "in_"}


@pytest.mark.parametrize(
    "obj",
    [
        {"parent": {"subscription_details": {"subscription": "sub_A1b2"}}},
        {"subscription": "sub_A1b2"},
    ],
)
def test_an_upcoming_invoice_names_its_subscription(obj: dict[str, object]):
    assert handlers.subscription_of_invoice(obj) == "sub_A1b2"


@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"parent": None},
        {"subscription": "in_A1b2"},
        {"subscription": "sub_../../v1/customers"},
        {"subscription": 7},
    ],
)
def test_an_upcoming_invoice_without_a_subscription_id_names_none(obj: dict[str, object]):
    assert handlers.subscription_of_invoice(obj) == ""
