"""Small helpers shared by the resource modules: ids, copies, parameter coercion, dates."""

from __future__ import annotations

import calendar
import secrets
import string
from datetime import UTC, datetime
from typing import Any

from .errors import invalid

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def clone(value: Any) -> Any:
    """A fast deep copy of JSON-like data."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """A deep copy without the sandbox's private ``_keys``."""
    return {k: clone(v) for k, v in obj.items() if not k.startswith("_")}


def as_int(params: dict[str, Any], name: str, default: Any = None) -> Any:
    if name not in params:
        return default
    value = params[name]
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", name) from None


def as_bool(params: dict[str, Any], name: str, default: bool | None = None) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if value in ("true", "True", "1"):
        return True
    if value in ("false", "False", "0"):
        return False
    raise invalid(f"Invalid boolean: {value}", name)


def as_dict(params: dict[str, Any], name: str) -> dict[str, Any]:
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid(f"Invalid object: {name}", name)
    return value


def as_list(params: dict[str, Any], name: str) -> list[Any]:
    value = params.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, dict):  # e.g. sparse indexes
        return list(value.values())
    if not isinstance(value, list):
        return [value]
    return value


def merge_metadata(current: dict[str, str], update: Any) -> dict[str, str]:
    """Stripe's metadata rule: keys merge, an empty value deletes a key, "" clears all."""
    if update == "":
        return {}
    if not isinstance(update, dict):
        raise invalid("Invalid metadata", "metadata")
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    return merged


def add_months(anchor: int, months: int) -> int:
    """Stripe's anchor rule: same day-of-month and time, clamped to the month's last day."""
    start = datetime.fromtimestamp(anchor, tz=UTC)
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def add_interval(anchor: int, interval: str, count: int, cycles: int) -> int:
    n = count * cycles
    if interval == "month":
        return add_months(anchor, n)
    if interval == "year":
        return add_months(anchor, 12 * n)
    if interval == "week":
        return anchor + n * 7 * 86400
    return anchor + n * 86400


def fmt_date(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%-d %b %Y")


def fmt_money(cents: int, currency: str = "usd") -> str:
    sign = "-" if cents < 0 else ""
    symbol = "$" if currency == "usd" else currency.upper() + " "
    return f"{sign}{symbol}{abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator/denominator rounded half away from zero, in exact integer arithmetic."""
    sign = -1 if (numerator < 0) != (denominator < 0) else 1
    n, d = abs(numerator), abs(denominator)
    return sign * ((2 * n + d) // (2 * d))
