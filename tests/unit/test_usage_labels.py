"""The overview's usage lines (issue 16): on trial "3 seats · 2 numbers (3 included)", not "0
billed"."""

from __future__ import annotations

from types import SimpleNamespace

from clerk_portal.pages.billing.state import usage_labels


def _overview(**values):
    base = dict(
        seats_in_use=3, seats_billed=0, numbers_in_use=2, numbers_included=3, extra_numbers_billed=0
    )
    return SimpleNamespace(**{**base, **values})


def test_on_trial_one_line_of_what_is_in_use():
    assert usage_labels(_overview(), subscribed=False) == ("3 seats · 2 numbers (3 included)", "")
    one = _overview(seats_in_use=1, numbers_in_use=1)
    assert usage_labels(one, subscribed=False)[0] == "1 seat · 1 number (3 included)"


def test_subscribed_seats_and_numbers_as_billed():
    seats, numbers = usage_labels(
        _overview(seats_billed=3, numbers_in_use=5, extra_numbers_billed=2), True
    )
    assert seats == "3 in use · 3 billed"
    assert numbers == "5 in use · 3 included · 2 extra billed"
