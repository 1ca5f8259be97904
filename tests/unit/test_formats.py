"""The one date and money format (issue 16): "Feb 1, 2027", "$2,530.00"."""

from __future__ import annotations

from datetime import UTC, datetime

from clerk_portal.billing import pricing
from clerk_portal.core import formats


def test_a_day_has_no_leading_zero_and_a_span_of_one_day_is_that_day():
    assert formats.day(datetime(2027, 2, 1, tzinfo=UTC)) == "Feb 1, 2027"
    assert formats.day(None) == "" and formats.day(None, "—") == "—"
    start, end = datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)
    assert formats.day_span(start, end) == "Feb 1, 2027 – Mar 1, 2027"
    assert formats.day_span(start, start) == "Feb 1, 2027"
    assert formats.day_span(None, end) == "—"


def test_a_month_names_its_year():
    assert formats.month(2027, 2) == "Feb 2027"


def test_a_moment_in_the_workspace_time_zone():
    moment = datetime(2027, 2, 1, 23, 4, tzinfo=UTC)
    assert formats.moment_in(moment, "America/Los_Angeles") == "Feb 1, 2027, 3:04 PM PST"
    assert formats.moment_in(moment.replace(tzinfo=None), None) == "Feb 1, 2027, 11:04 PM UTC"
    assert formats.moment_in(moment, "Not/AZone") == "Feb 1, 2027, 11:04 PM UTC"


def test_money_is_one_helper():
    assert pricing.format_cents is formats.money
    assert formats.money(253000) == "$2,530.00"
    assert formats.money(-4350) == "-$43.50"
    assert formats.money(100000, "eur") == "1,000.00 EUR"
