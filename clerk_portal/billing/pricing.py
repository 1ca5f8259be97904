"""The money on every screen: pure functions over the catalog, in integer cents.

Nothing here reads the clock, the database or Stripe. Timestamps are integer Unix seconds, as Stripe
sends them (`unix_seconds(dt)` converts an aware datetime). Rounding is half-up to the cent, which
is what Stripe does for non-negative amounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from clerk_portal.billing.catalog import KINDS, Interval, Kind, Plan, get_catalog
from clerk_portal.core import formats

Direction = Literal["upgrade", "downgrade", "none"]


@dataclass(frozen=True)
class LineItem:
    kind: Kind
    description: str
    quantity: int
    unit_amount_cents: int
    amount_cents: int


@dataclass(frozen=True)
class Quote:
    """What a plan costs per interval for a team of `seats` with `numbers` phone numbers."""

    plan: str
    interval: Interval
    seats: int
    numbers: int
    lines: tuple[LineItem, ...]
    subtotal_cents: int
    currency: str = "usd"

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents  # no tax is modelled

    def line(self, kind: Kind) -> LineItem:
        return next(line for line in self.lines if line.kind == kind)


@dataclass(frozen=True)
class Savings:
    cents: int
    percent: int


@dataclass(frozen=True)
class Proration:
    """Stripe's two proration lines for one item: credit of the old (≤ 0), debit of the new."""

    credit_cents: int
    debit_cents: int
    net_cents: int


@dataclass(frozen=True)
class ProrationLine:
    kind: Kind
    description: str
    proration: Proration


@dataclass(frozen=True)
class ChangePreview:
    """A quantity or price change inside the current period: one proration per changed item."""

    lines: tuple[ProrationLine, ...]
    net_cents: int


# --- quotes -------------------------------------------------------------------------------------


def number_quantity(plan: Plan | str, numbers: int) -> int:
    """The number item's quantity: numbers beyond those the plan includes."""
    return max(0, _count(numbers, "numbers") - _plan(plan).included_numbers)


def quote(plan: Plan | str, interval: Interval, seats: int, numbers: int) -> Quote:
    """Line items and subtotal; limits are checked separately (`check_plan_limits`)."""
    plan = _plan(plan)
    seats = _count(seats, "seats")
    extra = number_quantity(plan, numbers)
    seat_price = plan.price_cents("seat", interval)
    number_price = plan.price_cents("number", interval)
    lines = (
        LineItem("seat", f"{plan.name} seats", seats, seat_price, seats * seat_price),
        LineItem(
            "number",
            f"Extra phone numbers ({plan.included_numbers} included)",
            extra,
            number_price,
            extra * number_price,
        ),
    )
    subtotal = sum(line.amount_cents for line in lines)
    return Quote(plan.id, interval, seats, numbers, lines, subtotal, get_catalog().currency)


def amount_due_today(upgrade: Quote, *, end_trial_now: bool = True) -> int:
    """Due today when a trial workspace subscribes.

    Ending the trial now starts a fresh billing period, which Stripe invoices in full at once (no
    proration: nothing was billed before). Keeping the trial to its end bills nothing today.
    """
    return upgrade.total_cents if end_trial_now else 0


def yearly_savings(plan: Plan | str, seats: int, numbers: int) -> Savings:
    """Twelve monthly bills minus one yearly bill, in cents and whole percent (half-up)."""
    twelve_months = 12 * quote(plan, "month", seats, numbers).total_cents
    saved = twelve_months - quote(plan, "year", seats, numbers).total_cents
    return Savings(saved, _round_div(100 * saved, twelve_months) if twelve_months else 0)


@dataclass(frozen=True)
class PeriodTotals:
    """One team's bill on one plan, both ways: what the pricing page compares.

    `per_month_cents` is the monthly price, or with yearly billing the year's price over twelve
    (half-up to the cent); `per_year_cents` is twelve monthly bills or the yearly price.
    `yearly_saving_cents`: twelve monthly bills minus the yearly price.
    """

    interval: Interval
    per_month_cents: int
    per_year_cents: int
    yearly_saving_cents: int


def period_totals(plan: Plan | str, interval: Interval, seats: int, numbers: int) -> PeriodTotals:
    monthly = quote(plan, "month", seats, numbers).total_cents
    yearly = quote(plan, "year", seats, numbers).total_cents
    saving = 12 * monthly - yearly
    if interval == "year":
        return PeriodTotals(interval, _round_div(yearly, 12), yearly, saving)
    return PeriodTotals(interval, monthly, 12 * monthly, saving)


# --- proration ----------------------------------------------------------------------------------


def unix_seconds(moment: datetime) -> int:
    if moment.utcoffset() is None:
        raise ValueError("use an aware datetime (UTC), not a naive one")
    return int(moment.timestamp())


def prorate(
    old_amount_cents: int, new_amount_cents: int, period_start: int, period_end: int, at: int
) -> Proration:
    """Stripe's proration of one item changed at `at` (Unix seconds), to the second.

    Each line is the per-period amount × remaining seconds / period seconds, rounded separately:
    the credit for the unused time on the old amount and the charge for it on the new amount.
    """
    for name, amount in (
        ("old_amount_cents", old_amount_cents),
        ("new_amount_cents", new_amount_cents),
    ):
        _count(amount, name)
    if period_end <= period_start:
        raise ValueError("period_end must be after period_start")
    remaining = period_end - min(max(at, period_start), period_end)
    length = period_end - period_start
    credit = -_round_div(old_amount_cents * remaining, length)
    debit = _round_div(new_amount_cents * remaining, length)
    return Proration(credit, debit, credit + debit)


def preview_change(
    current: Quote, target: Quote, *, period_start: int, period_end: int, at: int
) -> ChangePreview:
    """Proration of moving from `current` to `target` mid-period, item by item (same interval)."""
    if current.interval != target.interval:
        raise ValueError("an interval change starts a new period; it is not prorated")
    lines = []
    for kind in KINDS:
        old, new = current.line(kind), target.line(kind)
        if (old.quantity, old.unit_amount_cents) == (new.quantity, new.unit_amount_cents):
            continue
        proration = prorate(old.amount_cents, new.amount_cents, period_start, period_end, at)
        lines.append(ProrationLine(kind, new.description, proration))
    return ChangePreview(tuple(lines), sum(line.proration.net_cents for line in lines))


# --- limits -------------------------------------------------------------------------------------


def check_plan_limits(plan: Plan | str, seats: int, numbers: int) -> list[str]:
    """Why `plan` cannot have this many seats and numbers; empty when it can."""
    plan = _plan(plan)
    if plan.contact_sales:
        return [f"{plan.name} is arranged with our sales team: use the contact form."]
    reasons = []
    if seats < plan.min_seats:
        reasons.append(f"{plan.name} needs at least {_plural(plan.min_seats, 'seat')}.")
    if plan.max_seats is not None and seats > plan.max_seats:
        reasons.append(
            f"{plan.name} allows up to {_plural(plan.max_seats, 'seat')}; this would make "
            f"{seats}. Remove {_plural(seats - plan.max_seats, 'member')} or choose a larger plan."
        )
    if plan.max_numbers is not None and numbers > plan.max_numbers:
        reasons.append(
            f"{plan.name} allows up to {_plural(plan.max_numbers, 'phone number')}; this would "
            f"make {numbers}. Release {numbers - plan.max_numbers} or choose a larger plan."
        )
    return reasons


def check_downgrade(target: Plan | str, seats: int, numbers: int) -> list[str]:
    """Why the current team (`seats` members, `numbers` numbers) does not fit `target`."""
    target = _plan(target)
    if target.contact_sales:
        return check_plan_limits(target, seats, numbers)
    reasons = []
    if target.max_seats is not None and seats > target.max_seats:
        reasons.append(
            f"Your team has {_plural(seats, 'member')}; {target.name} allows up to "
            f"{target.max_seats}. Remove {_plural(seats - target.max_seats, 'member')} "
            "before switching."
        )
    if target.max_numbers is not None and numbers > target.max_numbers:
        reasons.append(
            f"Your workspace has {_plural(numbers, 'phone number')}; {target.name} allows up to "
            f"{target.max_numbers}. Release {numbers - target.max_numbers} before switching."
        )
    return reasons


def pending_limit_problem(
    pending: Plan | str, changes_at: datetime, seats: int, numbers: int
) -> str | None:
    """Why an addition breaks the scheduled downgrade to `pending`; None when it fits."""
    pending = _plan(pending)
    when = f"Your plan changes to {pending.name} on {formats.day(changes_at)}, which allows at most"
    if pending.max_seats is not None and seats > pending.max_seats:
        return (
            f"{when} {_plural(pending.max_seats, 'seat')}. Undo the downgrade to add more people."
        )
    if pending.max_numbers is not None and numbers > pending.max_numbers:
        return (
            f"{when} {_plural(pending.max_numbers, 'phone number')}. "
            "Undo the downgrade to add more numbers."
        )
    return None


def change_direction(
    current: Plan | str, current_interval: Interval, target: Plan | str, target_interval: Interval
) -> Direction:
    """Upgrades apply now with proration; downgrades wait for the period end.

    A plan later in the catalog is an upgrade; on the same plan, monthly → yearly is an upgrade
    and yearly → monthly a downgrade.
    """
    current, target = _plan(current), _plan(target)
    if target.rank != current.rank:
        return "upgrade" if target.rank > current.rank else "downgrade"
    if target_interval == current_interval:
        return "none"
    return "upgrade" if target_interval == "year" else "downgrade"


# --- formatting (for the edge: pages, emails, messages) -----------------------------------------


format_cents = formats.money  # the one money format (core/formats.py)


# --- helpers ------------------------------------------------------------------------------------


def _plan(plan: Plan | str) -> Plan:
    return plan if isinstance(plan, Plan) else get_catalog().plan(plan)


def _count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number of 0 or more, not {value!r}")
    return value


def _round_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, for numerator ≥ 0 and denominator > 0."""
    return (2 * numerator + denominator) // (2 * denominator)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
