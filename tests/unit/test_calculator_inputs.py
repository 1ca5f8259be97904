"""The pricing calculator's typed counts and its per-month / per-year totals (issue 15)."""

from __future__ import annotations

import pytest

from clerk_portal.billing import pricing
from clerk_portal.components.plan_picker import MAX_SEATS, parse_count


def _seats(value: object) -> int | str:
    return parse_count(value, one="seat", many="seats", low=1, high=MAX_SEATS)


def _numbers(value: object) -> int | str:
    return parse_count(value, one="phone number", many="phone numbers", low=0, high=999)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter the number of seats."),
        ("   ", "Enter the number of seats."),
        (None, "Enter the number of seats."),
        ("2.5", "Seats must be a whole number, like 3."),
        ("abc", "Seats must be a whole number, like 3."),
        ("1e3", "Seats must be a whole number, like 3."),
        ("0", "At least 1 seat."),
        ("-4", "At least 1 seat."),
        ("100000", "At most 999 seats here: for more, contact sales."),
        ("9" * 400, "At most 999 seats here: for more, contact sales."),
    ],
)
def test_bad_seat_counts_say_what_is_wrong(typed, message):
    assert _seats(typed) == message


def test_good_counts_are_numbers():
    assert [_seats(v) for v in ("1", " 12 ", "999")] == [1, 12, 999]
    assert [_numbers(v) for v in ("0", "4")] == [0, 4]
    assert _numbers("-1") == "Phone numbers cannot be negative."
    assert _numbers("1000") == "At most 999 phone numbers here: for more, contact sales."


def test_yearly_shows_the_monthly_equivalent_and_the_saving_in_cents():
    # Business, 5 seats, 4 numbers: $2,530.00 a year; monthly $253.00 (5 × 49 + 1 × 8).
    yearly = pricing.period_totals("business", "year", 5, 4)
    assert yearly.per_year_cents == 253_000
    assert yearly.per_month_cents == 21_083  # $2,530.00 / 12, half-up to the cent
    assert yearly.yearly_saving_cents == 12 * 25_300 - 253_000

    monthly = pricing.period_totals("business", "month", 5, 4)
    assert (monthly.per_month_cents, monthly.per_year_cents) == (25_300, 303_600)
    assert monthly.yearly_saving_cents == yearly.yearly_saving_cents
