"""Labels of the billing pages (issue 16): usage on trial "3 seats · 2 numbers (3 included)", not "0
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


def test_activity_times_are_in_the_workspaces_time_zone():
    """Issue 16: they were "Feb 1, 2027 23:04 UTC" whatever the workspace's zone."""
    from datetime import UTC, datetime

    from clerk_portal.billing.read_models.history import ActivityEntry
    from clerk_portal.pages.billing.history import _activity_row

    entry = ActivityEntry(
        id=1,
        actor_name="Olivia Park",
        kind="note",
        summary="Something",
        amount_cents=None,
        currency="usd",
        created_at=datetime(2027, 2, 1, 23, 4, tzinfo=UTC),
    )
    assert _activity_row(entry, "America/Los_Angeles")["when"] == "Feb 1, 2027, 3:04 PM PST"
    assert _activity_row(entry, "UTC")["when"] == "Feb 1, 2027, 11:04 PM UTC"
