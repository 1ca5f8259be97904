"""In-memory state (dicts of Stripe-shaped records), request context, events and persistence."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .util import clone, new_id

DEFAULT_API_VERSION = "2026-10-28.endive"

PREFIXES = {
    "sub_sched_": "subscription_schedules",  # before "sub_": the first matching prefix wins
    "prod_": "products",
    "price_": "prices",
    "cus_": "customers",
    "pm_": "payment_methods",
    "seti_": "setup_intents",
    "pi_": "payment_intents",
    "ch_": "charges",
    "sub_": "subscriptions",
    "si_": "subscription_items",
    "in_": "invoices",
    "ii_": "invoiceitems",
    "evt_": "events",
    "clock_": "test_clocks",
    "inpay_": "invoice_payments",
    "promo_": "promotion_codes",
    "di_": "discounts",
    "txi_": "tax_ids",
    "qt_": "quotes",
}
# coupons have ids of the caller's choosing (no prefix): reached through their own collection
COLLECTIONS = (*PREFIXES.values(), "coupons")


def default_settings() -> dict[str, Any]:
    return {
        # days after the first failed attempt at which Stripe-like retries happen
        "retry_days": [3, 5, 7],
        # what happens to the subscription when the last retry fails: "cancel" or "unpaid"
        "retries_exhausted": "cancel",
        # `invoice.upcoming` this many days before a renewal (Stripe's "Upcoming renewal
        # events" setting in the Dashboard); 0 sends none
        "upcoming_renewal_days": 3,
    }


def collection_of(obj_id: str) -> str | None:
    for prefix, name in PREFIXES.items():
        if obj_id.startswith(prefix):
            return name
    return None


class Store:
    """All sandbox state. Handlers run on the event loop one at a time, so no locking is needed."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.on_events: Callable[[list[dict[str, Any]]], None] | None = None
        self.reset()
        if path and path.exists():
            self.load()

    def reset(self, keep: tuple[str, ...] = ()) -> None:
        """Forget every object, except those of the collections named in `keep`."""
        kept = {name: self.data[name] for name in keep} if keep else {}
        self.data: dict[str, dict[str, dict[str, Any]]] = {
            name: kept.get(name, {}) for name in COLLECTIONS
        }
        self.settings = default_settings()
        self.dirty = True

    # -- records -------------------------------------------------------------------------------

    def get(self, obj_id: Any) -> dict[str, Any] | None:
        if not isinstance(obj_id, str):
            return None
        name = collection_of(obj_id)
        return self.data[name].get(obj_id) if name else self.data["coupons"].get(obj_id)

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        name = collection_of(obj["id"])
        assert name, obj["id"]
        self.data[name][obj["id"]] = obj
        return obj

    def delete(self, obj_id: str) -> None:
        name = collection_of(obj_id)
        if name:
            self.data[name].pop(obj_id, None)

    def all(self, name: str) -> list[dict[str, Any]]:
        return list(self.data[name].values())

    def fork(self, deep_ids: list[str]) -> Store:
        """A scratch copy for previews: collections are shallow copies, ``deep_ids`` deep ones."""
        other = Store.__new__(Store)
        other.path = None
        other.on_events = None
        other.settings = self.settings
        other.dirty = False
        other.data = {name: dict(records) for name, records in self.data.items()}
        for obj_id in deep_ids:
            obj = self.get(obj_id)
            if obj is not None:
                other.put(clone(obj))
        return other

    def commit_events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.data["events"][event["id"]] = event
        if events and self.on_events:
            self.on_events(events)

    # -- persistence ---------------------------------------------------------------------------

    def dump(self) -> str:
        return json.dumps({"format": 1, "settings": self.settings, "data": self.data})

    def save(self, text: str | None = None) -> None:
        if not self.path:
            return
        text = self.dump() if text is None else text
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".sandbox-", dir=directory)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    def load(self) -> None:
        assert self.path
        raw = json.loads(self.path.read_text() or "{}")
        for name in COLLECTIONS:
            self.data[name] = raw.get("data", {}).get(name, {})
        self.settings = {**default_settings(), **raw.get("settings", {})}
        self.dirty = False


@dataclass
class Ctx:
    """One API request (or clock advance): time, API version, buffered events."""

    store: Store
    base_url: str = "http://127.0.0.1:12111"
    api_version: str = DEFAULT_API_VERSION
    request_id: str | None = None
    idempotency_key: str | None = None
    publishable: bool = False
    preview: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)

    def now(self, clock_id: Any = None) -> int:
        if clock_id:
            clock = self.store.get(clock_id)
            if clock:
                return int(clock["frozen_time"])
        return int(time.time())

    def clock_for(self, obj: dict[str, Any] | None) -> str | None:
        if not obj:
            return None
        if obj.get("test_clock"):
            return obj["test_clock"]
        customer = obj.get("customer")
        if isinstance(customer, str):
            owner = self.store.get(customer)
            return owner.get("test_clock") if owner else None
        return None

    def time_for(self, obj: dict[str, Any] | None) -> int:
        return self.now(self.clock_for(obj))

    def emit(
        self,
        type_: str,
        rendered: dict[str, Any],
        previous: dict[str, Any] | None = None,
        created: int | None = None,
    ) -> None:
        if self.preview:
            return
        data: dict[str, Any] = {"object": rendered}
        if previous:
            data["previous_attributes"] = previous
        self.events.append(
            {
                "id": new_id("evt_"),
                "object": "event",
                "api_version": self.api_version,
                "created": created if created is not None else self.time_for(rendered),
                "data": data,
                "livemode": False,
                "pending_webhooks": 0,
                "request": {"id": self.request_id, "idempotency_key": self.idempotency_key},
                "type": type_,
            }
        )


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``previous_attributes``: the old values of top-level keys that changed."""
    return {k: v for k, v in before.items() if after.get(k) != v}
