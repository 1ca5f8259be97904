"""billing/pricing.py: worked examples from DESIGN.md and properties that hold for every input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clerk_portal.billing import pricing
from clerk_portal.billing.catalog import get_catalog

PLANS = [plan.id for plan in get_catalog().self_serve_plans]
DAY = 86_400

plans = st.sampled_from(PLANS)
intervals = st.sampled_from(["month", "year"])
counts = st.integers(min_value=0, max_value=10_000)
amounts = st.integers(min_value=0, max_value=10_000_000)


@st.composite
def periods(draw):
    start = draw(st.integers(min_value=0, max_value=2_000_000_000))
    length = draw(st.integers(min_value=1, max_value=400 * DAY))
    return start, start + length


# --- worked examples ----------------------------------------------------------------------------


def test_business_yearly_five_seats_four_numbers():
    quote = pricing.quote("business", "year", seats=5, numbers=4)

    seats, numbers = quote.lines
    assert (seats.kind, seats.quantity, seats.unit_amount_cents, seats.amount_cents) == (
        "seat",
        5,
        49_000,
        245_000,
    )
    assert (numbers.kind, numbers.quantity, numbers.unit_amount_cents) == ("number", 1, 8_000)
    assert quote.subtotal_cents == quote.total_cents == 253_000
    assert pricing.format_cents(quote.total_cents) == "$2,530.00"


def test_startup_monthly_included_number_is_free():
    quote = pricing.quote("startup", "month", seats=3, numbers=1)
    assert quote.line("number").quantity == 0
    assert quote.total_cents == 3 * 2_900


def test_number_quantity_counts_only_numbers_beyond_the_included_ones():
    assert pricing.number_quantity("business", 0) == 0
    assert pricing.number_quantity("business", 3) == 0
    assert pricing.number_quantity("business", 7) == 4
    assert pricing.number_quantity(get_catalog().plan("startup"), 2) == 1


def test_amount_due_today_for_an_upgrade_from_trial():
    upgrade = pricing.quote("startup", "month", seats=2, numbers=2)
    assert pricing.amount_due_today(upgrade) == 2 * 2_900 + 1_000
    assert pricing.amount_due_today(upgrade, end_trial_now=False) == 0


def test_yearly_savings_come_from_the_catalog():
    # Yearly = 10 × monthly in the demo catalog: two months free, "Save 17%".
    assert pricing.yearly_savings("startup", 1, 0) == pricing.Savings(2 * 2_900, 17)
    assert pricing.yearly_savings("business", 5, 4) == pricing.Savings(
        12 * (5 * 4_900 + 800) - 253_000, 17
    )
    assert pricing.yearly_savings("business", 0, 0) == pricing.Savings(0, 0)


def test_proration_three_to_four_seats_halfway_through_a_thirty_day_month():
    start = 1_767_225_600
    end = start + 30 * DAY
    proration = pricing.prorate(3 * 2_900, 4 * 2_900, start, end, start + 15 * DAY)
    assert proration == pricing.Proration(credit_cents=-4_350, debit_cents=5_800, net_cents=1_450)


def test_proration_ten_to_twenty_dollars_halfway_adds_five():
    assert pricing.prorate(1_000, 2_000, 0, 100, 50).net_cents == 500


def test_proration_rounds_each_line_separately():
    # 1/3 of the period left: 1000/3 = 333.33 → 333; 2000/3 = 666.67 → 667.
    assert pricing.prorate(1_000, 2_000, 0, 3, 2) == pricing.Proration(-333, 667, 334)


def test_proration_clamps_instants_outside_the_period():
    assert pricing.prorate(100, 200, 10, 20, 0) == pricing.prorate(100, 200, 10, 20, 10)
    assert pricing.prorate(100, 200, 10, 20, 99).net_cents == 0


def test_proration_refuses_an_empty_period_and_negative_amounts():
    with pytest.raises(ValueError, match="period_end"):
        pricing.prorate(100, 200, 10, 10, 10)
    with pytest.raises(ValueError, match="old_amount_cents"):
        pricing.prorate(-1, 200, 0, 10, 5)


def test_unix_seconds_requires_an_aware_datetime():
    assert pricing.unix_seconds(datetime(1970, 1, 2, tzinfo=UTC)) == DAY
    with pytest.raises(ValueError, match="aware"):
        pricing.unix_seconds(datetime(1970, 1, 2))


def test_preview_change_prorates_only_the_items_that_change():
    current = pricing.quote("startup", "month", seats=3, numbers=1)
    target = pricing.quote("startup", "month", seats=4, numbers=1)
    preview = pricing.preview_change(
        current, target, period_start=0, period_end=30 * DAY, at=15 * DAY
    )
    assert [line.kind for line in preview.lines] == ["seat"]
    assert preview.net_cents == 1_450


def test_preview_change_of_plan_prorates_both_items():
    current = pricing.quote("startup", "month", seats=2, numbers=3)
    target = pricing.quote("business", "month", seats=2, numbers=3)
    preview = pricing.preview_change(current, target, period_start=0, period_end=10, at=0)
    assert preview.net_cents == target.total_cents - current.total_cents
    assert {line.kind for line in preview.lines} == {"seat", "number"}


def test_preview_change_refuses_an_interval_change():
    with pytest.raises(ValueError, match="interval"):
        pricing.preview_change(
            pricing.quote("startup", "month", 1, 1),
            pricing.quote("startup", "year", 1, 1),
            period_start=0,
            period_end=10,
            at=5,
        )


def test_quote_refuses_negative_or_non_integer_counts():
    with pytest.raises(ValueError, match="seats"):
        pricing.quote("startup", "month", -1, 0)
    with pytest.raises(ValueError, match="numbers"):
        pricing.quote("startup", "month", 1, 2.5)  # type: ignore[arg-type]


def test_enterprise_has_no_quote():
    with pytest.raises(Exception, match="contact sales"):
        pricing.quote("enterprise", "month", 1, 1)


# --- limits -------------------------------------------------------------------------------------


def test_plan_limits_allow_a_team_within_the_plan():
    assert pricing.check_plan_limits("startup", 10, 50) == []
    assert pricing.check_plan_limits("business", 500, 500) == []


def test_plan_limits_name_the_excess_seats():
    [reason] = pricing.check_plan_limits("startup", 12, 1)
    assert reason == (
        "Startup allows up to 10 seats; this would make 12. "
        "Remove 2 members or choose a larger plan."
    )


def test_plan_limits_refuse_zero_seats_and_contact_sales_plans():
    assert pricing.check_plan_limits("startup", 0, 0) == ["Startup needs at least 1 seat."]
    assert "sales" in pricing.check_plan_limits("enterprise", 5, 5)[0]


def test_downgrade_refused_while_the_team_is_too_large():
    assert pricing.check_downgrade("startup", 11, 9) == [
        "Your team has 11 members; Startup allows up to 10. Remove 1 member before switching."
    ]
    assert pricing.check_downgrade("startup", 10, 9) == []


def test_change_direction():
    assert pricing.change_direction("startup", "month", "business", "month") == "upgrade"
    assert pricing.change_direction("business", "year", "startup", "year") == "downgrade"
    assert pricing.change_direction("startup", "month", "startup", "year") == "upgrade"
    assert pricing.change_direction("startup", "year", "startup", "month") == "downgrade"
    assert pricing.change_direction("startup", "year", "startup", "year") == "none"


def test_format_cents():
    assert pricing.format_cents(0) == "$0.00"
    assert pricing.format_cents(-4_350) == "-$43.50"
    assert pricing.format_cents(123_456_789) == "$1,234,567.89"


# --- properties ---------------------------------------------------------------------------------


@given(plans, intervals, counts, counts)
def test_totals_are_never_negative_and_lines_sum_to_the_subtotal(plan, interval, seats, numbers):
    quote = pricing.quote(plan, interval, seats, numbers)
    assert quote.subtotal_cents >= 0
    assert all(line.amount_cents >= 0 for line in quote.lines)
    assert sum(line.amount_cents for line in quote.lines) == quote.subtotal_cents
    for line in quote.lines:
        assert line.amount_cents == line.quantity * line.unit_amount_cents


@given(plans, intervals, counts, counts, st.integers(min_value=0, max_value=100))
def test_totals_are_monotonic_in_seats_and_numbers(plan, interval, seats, numbers, more):
    base = pricing.quote(plan, interval, seats, numbers).total_cents
    assert pricing.quote(plan, interval, seats + more, numbers).total_cents >= base
    assert pricing.quote(plan, interval, seats, numbers + more).total_cents >= base


@given(plans, counts, counts)
def test_yearly_never_costs_more_than_twelve_months(plan, seats, numbers):
    yearly = pricing.quote(plan, "year", seats, numbers).total_cents
    monthly = pricing.quote(plan, "month", seats, numbers).total_cents
    assert yearly <= 12 * monthly
    savings = pricing.yearly_savings(plan, seats, numbers)
    assert savings.cents == 12 * monthly - yearly
    assert 0 <= savings.percent <= 100


@given(amounts, amounts, periods())
def test_proration_at_the_period_start_is_the_full_difference(old, new, period):
    start, end = period
    proration = pricing.prorate(old, new, start, end, start)
    assert proration == pricing.Proration(-old, new, new - old)


@given(amounts, amounts, periods())
def test_proration_at_the_period_end_is_zero(old, new, period):
    start, end = period
    assert pricing.prorate(old, new, start, end, end) == pricing.Proration(0, 0, 0)


@given(amounts, amounts, periods(), st.floats(min_value=0, max_value=1))
def test_proration_lines_stay_within_the_amounts(old, new, period, fraction):
    start, end = period
    at = start + int((end - start) * fraction)
    proration = pricing.prorate(old, new, start, end, at)
    assert -old <= proration.credit_cents <= 0 <= proration.debit_cents <= new
    assert proration.net_cents == proration.credit_cents + proration.debit_cents
    if new >= old:
        assert proration.net_cents >= 0
