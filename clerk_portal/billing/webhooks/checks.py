"""What a signed Stripe event must look like before it is stored and applied, and what is kept.

`unusable(event)` names the first reason an event can never be applied (a missing field, a wrong
type, an object id of an unknown shape): such an event is stored dead and answered 400, never
retried. `storable(event)` is the payload as it is kept: client secrets redacted, numbers JSON
cannot hold (NaN, Infinity) turned into text. Plain functions over JSON-like data, no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"
MAX_EVENT_ID = 255
MAX_TYPE = 100
MAX_UNIX_TIME = 2**62
# Stripe's object ids: a lowercase prefix, an underscore, letters and digits (the sandbox too).
OBJECT_ID = re.compile(r"[a-z]+_[A-Za-z0-9_]{1,200}")
EVENT_TYPE = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")
# `seti_…_secret_…`, `pi_…_secret_…` and kin: what Stripe.js needs to confirm an intent.
CLIENT_SECRET = re.compile(r"\b[a-z]+_[A-Za-z0-9]+_secret_[A-Za-z0-9_\-]+")
SECRET_KEYS = {"client_secret"}


def storable(value: Any) -> Any:
    """A copy of `value` safe to store: client secrets redacted wherever they are (any key named
    `client_secret`, any string that holds one), non-finite numbers written as text."""
    if isinstance(value, dict):
        return {
            key: REDACTED if key in SECRET_KEYS and value[key] else storable(value[key])
            for key in value
        }
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, str):
        return CLIENT_SECRET.sub(REDACTED, value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def stored_type(event: dict[str, Any]) -> str:
    """The event type as the inbox keeps it (text a column can hold: no NUL, no lone surrogate)."""
    event_type = event.get("type")
    if isinstance(event_type, str) and len(event_type) <= MAX_TYPE and _is_type(event_type):
        return event_type
    return "(not an event type)"


def _is_type(text: str) -> bool:
    return EVENT_TYPE.fullmatch(text) is not None


def has_event_id(event: dict[str, Any]) -> bool:
    event_id = event.get("id")
    return isinstance(event_id, str) and bool(OBJECT_ID.fullmatch(event_id))


def unix_time(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_UNIX_TIME:
        return value
    return None


def unusable(event: dict[str, Any], id_prefixes: Mapping[str, str]) -> str | None:
    """Why this event can never be applied, or None when it can.

    `id_prefixes`: for each event type whose object is read again from Stripe by its id, the
    prefix that id has (`sub_`, `in_`).
    """
    if not has_event_id(event):
        return "id is not a Stripe event id"
    event_type = event.get("type")
    if not isinstance(event_type, str) or len(event_type) > MAX_TYPE:
        return "type is not a string of at most 100 characters"
    if not _is_type(event_type):
        return "type is not an event type"
    if unix_time(event.get("created")) is None:
        return "created is not a Unix time"
    if _non_finite(event):
        return "a number is NaN or infinite"
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        return "data.object is not an object"
    obj = data["object"]
    previous = data.get("previous_attributes")
    if previous is not None and not isinstance(previous, dict):
        return "data.previous_attributes is not an object"
    for where, holder in (("data.object", obj), ("data.previous_attributes", previous or {})):
        if not _customer_ok(holder.get("customer")):
            return f"{where}.customer is not a customer id"
    prefix = id_prefixes.get(event_type)
    if prefix and not _id_ok(obj.get("id"), prefix):
        return f"data.object.id is not a {prefix}… id"
    if obj.get("object") == "customer" and not _id_ok(obj.get("id"), "cus_"):
        return "data.object.id is not a cus_… id"
    return None


def _id_ok(value: Any, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(prefix) and bool(OBJECT_ID.fullmatch(value))


def _customer_ok(customer: Any) -> bool:
    if customer is None:
        return True
    if isinstance(customer, dict):
        customer = customer.get("id")
    return _id_ok(customer, "cus_")


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite(item) for item in value.values())
    if isinstance(value, list):
        return any(_non_finite(item) for item in value)
    return False
