"""How the portal writes dates and money, everywhere: one helper each (issue 16).

Dates: "Feb 1, 2027"; a span "Feb 1, 2027 – Mar 1, 2027"; a month "Feb 2027"; a moment in a
time zone "Feb 1, 2027, 3:04 PM PST". Money (integer cents): "$2,530.00", "-$43.50", and for
another currency "1,000.00 EUR".
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day(moment: datetime | None, empty: str = "") -> str:
    """`Feb 1, 2027` (no leading zero, whatever the platform's strftime)."""
    if moment is None:
        return empty
    return f"{MONTHS[moment.month - 1]} {moment.day}, {moment.year}"


def day_span(start: datetime | None, end: datetime | None, empty: str = "—") -> str:
    """`Feb 1, 2027 – Mar 1, 2027`; one day when both fall on it; `empty` without a start."""
    if start is None:
        return empty
    first, last = day(start), day(end)
    return first if not last or first == last else f"{first} – {last}"


def month(year: int, month_number: int) -> str:
    """`Feb 2027`: never a bare month name that could be any year's."""
    return f"{MONTHS[month_number - 1]} {year}"


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def moment_in(moment: datetime, zone_name: str | None) -> str:
    """`Feb 1, 2027, 3:04 PM PST`: a moment (naive means UTC) in the workspace's time zone."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    local = aware.astimezone(zone(zone_name))
    hour = local.hour % 12 or 12
    meridiem = "AM" if local.hour < 12 else "PM"
    return f"{day(local)}, {hour}:{local.minute:02d} {meridiem} {local.tzname()}"


def money(cents: int, currency: str = "usd") -> str:
    """`253000` → `$2,530.00`; `-4350` → `-$43.50`."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    if currency.lower() == "usd":
        return f"{sign}${whole:,}.{fraction:02d}"
    return f"{sign}{whole:,}.{fraction:02d} {currency.upper()}"
