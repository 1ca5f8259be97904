"""Plan and interval changes: upgrades now (charged at once, prorated), downgrades at period end.

An upgrade (a later plan in the catalog, or monthly → yearly) swaps both items' prices with
`proration_behavior=always_invoice`: the prorated difference is charged immediately and, with
`error_if_incomplete`, a declined card changes nothing; a schedule waiting to downgrade is then
released. A downgrade (or yearly → monthly) is a Stripe subscription schedule (`schedule.py`):
its second phase holds the new prices from the period end; the mirror shows it as pending
(`pending_plan`, `pending_interval`, `pending_change_at`, `stripe_schedule_id`); undo releases it.
It is refused while the team or numbers exceed the smaller plan's limits.

Changes made before schedules (pending columns without `stripe_schedule_id`) still apply the old
way, as a migration path: `apply_due_change` swaps the prices shortly before the period ends so
that the renewal bills the new plan (`_switch` says how, also when the job ran late), from the
periodic job (`apply_due_changes`) and from `advance_demo_clock`. A legacy downgrade the team has
outgrown by then is dropped, with the reason in the history; an ending subscription is not switched.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from clerk_portal.billing import ledger, mirror, pricing
from clerk_portal.billing.catalog import Interval, get_catalog, is_interval
from clerk_portal.billing.errors import BillingError, GatewayError
from clerk_portal.billing.gateway import (
    BillingGateway,
    ClockSnapshot,
    PreviewLine,
    PromotionCodeInfo,
    SubscriptionSnapshot,
    gateway_or_default,
)
from clerk_portal.billing.services import discounts
from clerk_portal.billing.services import schedule as schedules
from clerk_portal.billing.services.common import (
    AccountView,
    actor_name,
    load_account,
    log,
    refresh_upcoming_invoice,
    swapped_items,
    write_subscription,
)
from clerk_portal.core import formats
from clerk_portal.core.db import in_db
from clerk_portal.models import BillingAccount, utcnow
from clerk_portal.models.status import CHANGEABLE
from clerk_portal.workspace import repository

LEAD_SECONDS = 15 * 60
STALE_REVIEW = (
    "The plan or its price changed since you reviewed it: review the change again. "
    "Nothing was changed or charged."
)


@dataclass(frozen=True)
class PlanChangeReview:
    """What the owner was shown, kept on the server until they confirm it (never by the tab).

    `token` digests the selection, the counts, the current subscription and the amounts shown;
    confirming recomputes it from a fresh Stripe preview at the same `proration_date`, so any
    difference refuses the change instead of charging what nobody reviewed.
    """

    plan: str
    interval: str
    proration_date: int | None  # upgrades: Stripe prorates to this second, as previewed
    token: str
    promotion_code_id: str | None = None  # the promotion code previewed with it, if any

    def as_args(self) -> dict[str, str]:
        return {
            "plan": self.plan,
            "interval": self.interval,
            "proration_date": str(self.proration_date or ""),
            "token": self.token,
            "promotion_code_id": self.promotion_code_id or "",
        }

    @classmethod
    def from_args(cls, args: dict[str, str]) -> PlanChangeReview:
        return cls(
            plan=args["plan"],
            interval=args["interval"],
            proration_date=int(args["proration_date"]) if args["proration_date"] else None,
            token=args["token"],
            promotion_code_id=args.get("promotion_code_id") or None,
        )


@dataclass(frozen=True)
class PlanChangePreview:
    direction: str  # upgrade | downgrade | none
    plan: str
    interval: str
    amount_due_now_cents: int
    new_recurring_cents: int
    effective_at: datetime | None  # None: now
    lines: tuple[PreviewLine, ...]
    problems: tuple[str, ...]
    review: PlanChangeReview | None = None  # None when there is nothing to confirm
    # A promotion code on the change: what Stripe's preview takes off today's invoice.
    discount_cents: int = 0
    promotion: discounts.AppliedCode | None = None  # the code as the owner typed and Stripe took

    def applied_code(self) -> discounts.AppliedCode:
        """The code on this review, as the upgrade's `apply_promotion_code` gives it; refused
        (the preview's message) when the change cannot be confirmed."""
        if self.review is None or self.promotion is None:
            raise BillingError(self.message)
        return self.promotion

    @property
    def message(self) -> str:
        every = "month" if self.interval == "month" else "year"
        total = f"{pricing.format_cents(self.new_recurring_cents)}/{every}"
        if self.problems:
            return " ".join(self.problems)
        if self.direction == "upgrade":
            due = f"{pricing.format_cents(self.amount_due_now_cents)} due today"
            if self.promotion:
                off = pricing.format_cents(self.discount_cents)
                due += f" ({self.promotion.code} takes {off} off)"
            return f"{due}, then {total}"
        if self.direction == "downgrade" and self.effective_at:
            return f"From {formats.day(self.effective_at)}: {total}. Nothing changes until then."
        return "This is your current plan."


@dataclass(frozen=True)
class PlanChangeResult:
    direction: str
    plan: str
    interval: str
    amount_charged_cents: int
    effective_at: datetime | None
    message: str


def _label(plan: str, interval: str) -> str:
    return f"{get_catalog().plan(plan).name} ({'yearly' if interval == 'year' else 'monthly'})"


async def _context(workspace_id: int, plan: str, interval: str) -> tuple[AccountView, int, int]:
    chosen = get_catalog().plan(plan)
    if chosen.contact_sales:
        raise BillingError(f"{chosen.name} is arranged with our sales team: use the contact form.")
    if interval not in ("month", "year"):
        raise BillingError("Choose monthly or yearly billing.")
    view = await load_account(workspace_id)
    if not view.subscription_id or view.plan is None or view.interval is None:
        raise BillingError("Upgrade from the trial first: there is no subscription to change.")
    if view.status == "past_due":
        raise BillingError("Pay the open invoice first, then change the plan.")
    if view.status not in CHANGEABLE:
        raise BillingError("This subscription has ended: subscribe again to choose a plan.")

    def counts(session: Session) -> tuple[int, int]:
        return (
            repository.active_seat_count(session, workspace_id=workspace_id),
            repository.active_number_count(session, workspace_id=workspace_id),
        )

    seats, numbers = await in_db(counts)
    return view, seats, numbers


async def preview_plan_change(
    *,
    workspace_id: int,
    plan: str,
    interval: Interval,
    promotion_code: object = None,
    gateway: BillingGateway | None = None,
) -> PlanChangePreview:
    """What switching costs: Stripe's `create_preview` for upgrades, the catalog for downgrades.
    Its `review` is what `change_plan` needs to charge exactly this. `promotion_code` (typed by
    the owner, checked as at upgrade: `discounts.find_promotion`) is previewed with the change
    (`discounts=[{promotion_code}]`) and the review carries it to the subscription update."""
    gateway = gateway_or_default(gateway)
    view, seats, numbers = await _context(workspace_id, plan, interval)
    promo = None
    if promotion_code is not None:
        promo = await discounts.find_promotion(promotion_code, gateway)
    return await _preview(
        gateway, view, seats, numbers, plan, interval, proration_date=None, promotion=promo
    )


async def _preview(
    gateway: BillingGateway,
    view: AccountView,
    seats: int,
    numbers: int,
    plan: str,
    interval: Interval,
    *,
    proration_date: int | None,
    promotion: PromotionCodeInfo | str | None = None,
) -> PlanChangePreview:
    """`promotion`: the code (as looked up) or, re-checking a review, its id."""
    workspace_id = view.workspace_id
    assert view.plan is not None and view.interval is not None  # _context refused it otherwise
    direction = pricing.change_direction(view.plan, view.interval, plan, interval)
    recurring = pricing.quote(plan, interval, seats, numbers).total_cents
    problems = tuple(
        pricing.check_downgrade(plan, seats, numbers)
        if direction == "downgrade"
        else pricing.check_plan_limits(plan, seats, numbers)
    )
    if promotion is not None and direction == "downgrade":
        raise BillingError(
            "A promotion code applies to a change billed today (an upgrade): a downgrade is "
            "billed from the period end."
        )
    if direction != "upgrade" or problems:
        effective = await _period_end(workspace_id) if direction == "downgrade" else None
        shown = PlanChangePreview(direction, plan, interval, 0, recurring, effective, (), problems)
        if problems or direction == "none":
            return shown
        return await _reviewed(shown, view, None, seats, numbers)
    if proration_date is None:
        proration_date = await _stripe_now(gateway, view)
    items = await swapped_items(gateway, workspace_id, plan, interval, seats, numbers)
    params: dict[str, Any] = {
        "subscription": view.subscription_id,
        "subscription_details": {
            "items": items,
            "proration_behavior": "always_invoice",
            "proration_date": proration_date,
        },
    }
    promotion_id = promotion if isinstance(promotion, str) else promotion.id if promotion else None
    if promotion_id:
        params["discounts"] = [{"promotion_code": promotion_id}]
    preview = await gateway.preview_invoice(params)
    discount, applied = 0, None
    if isinstance(promotion, PromotionCodeInfo):
        applied = discounts.applied_code(promotion, preview, plan, interval, "this change today")
        discount = applied.discount_cents
    elif promotion_id:  # a review re-checked: what Stripe takes off now is what it showed
        discount = preview.subtotal - preview.total
    shown = PlanChangePreview(
        direction,
        plan,
        interval,
        preview.amount_due,
        recurring,
        None,
        preview.lines,
        (),
        discount_cents=discount,
        promotion=applied,
    )
    return await _reviewed(shown, view, proration_date, seats, numbers, promotion_id)


async def _stripe_now(gateway: BillingGateway, view: AccountView) -> int:
    """Now, as Stripe sees this customer (a demo customer lives on a test clock)."""
    if view.test_clock_id:
        return (await gateway.retrieve_test_clock(view.test_clock_id)).frozen_time
    return int(datetime.now(UTC).timestamp())


async def _reviewed(
    shown: PlanChangePreview,
    view: AccountView,
    proration_date: int | None,
    seats: int,
    numbers: int,
    promotion_code_id: str | None = None,
) -> PlanChangePreview:
    account = await in_db(
        lambda s: repository.get_billing_account(s, workspace_id=view.workspace_id)
    )
    material = [
        view.namespace,
        view.subscription_id,
        view.status,
        view.plan,
        view.interval,
        account.pending_plan,
        account.pending_interval,
        shown.direction,
        shown.plan,
        shown.interval,
        seats,
        numbers,
        shown.amount_due_now_cents,
        shown.new_recurring_cents,
        shown.effective_at.isoformat() if shown.effective_at else None,
        proration_date,
        promotion_code_id,
        shown.discount_cents,
    ]
    token = hashlib.sha256(json.dumps(material).encode()).hexdigest()[:32]
    review = PlanChangeReview(shown.plan, shown.interval, proration_date, token, promotion_code_id)
    return replace(shown, review=review)


async def _period_end(workspace_id: int) -> datetime | None:
    def read(session: Session) -> datetime | None:
        return repository.get_billing_account(session, workspace_id=workspace_id).current_period_end

    return await in_db(read)


async def change_plan(
    *,
    workspace_id: int,
    actor_user_id: int | None,
    plan: str,
    interval: Interval,
    review: PlanChangeReview | None = None,
    gateway: BillingGateway | None = None,
) -> PlanChangeResult:
    """Switch to `plan`/`interval`. With the owner's `review` (the page always passes it), only
    exactly what it showed happens: another selection, or a price that moved since, is refused
    with nothing changed; the same review confirmed twice (two tabs) is charged and recorded once.
    """
    gateway = gateway_or_default(gateway)
    view, seats, numbers = await _context(workspace_id, plan, interval)
    assert view.plan is not None and view.interval is not None  # _context refused it otherwise
    direction = pricing.change_direction(view.plan, view.interval, plan, interval)
    label = _label(plan, interval)
    if direction == "none":
        if review is not None and (review.plan, review.interval) == (plan, interval):
            message = f"You are already on {label}: nothing more was charged."
            return PlanChangeResult("none", plan, interval, 0, None, message)
        raise BillingError(f"You are already on {label}.")
    if review is not None:
        try:
            await _check_review(review, gateway, view, seats, numbers, plan, interval)
        except BillingError:
            if direction == "downgrade":
                # Another tab confirmed this very downgrade a moment ago: it is scheduled already
                # (the review no longer matches because of it), so there is nothing to do.
                scheduled = await _scheduled_already(workspace_id, plan, interval, label)
                if scheduled is None:
                    raise
                return scheduled
            # Another tab confirmed this very change a moment ago (Stripe is there, the mirror
            # may not be yet): go on, so Stripe replays or ignores it and it is recorded once.
            if not await _on_stripe_already(gateway, view, plan, interval):
                raise
    if direction == "downgrade":
        problems = pricing.check_downgrade(plan, seats, numbers)
        if problems:
            raise BillingError(" ".join(problems))
        # Two tabs confirming one review at one mirror version record it once; scheduled
        # again after an undo, it is a new action.
        once = (
            f"{view.namespace}:downgrade:{review.token}:v{view.mirror_version}" if review else None
        )
        return await _schedule_downgrade(
            gateway, view, actor_user_id, plan, interval, label, (seats, numbers), once
        )
    problems = pricing.check_plan_limits(plan, seats, numbers)
    if problems:
        raise BillingError(" ".join(problems))
    items = await swapped_items(gateway, workspace_id, plan, interval, seats, numbers)
    key = f"{view.namespace}:plan:{view.subscription_id}:{plan}:{interval}:v{view.mirror_version}"
    params: dict[str, Any] = {
        "items": items,
        "proration_behavior": "always_invoice",
        "payment_behavior": "error_if_incomplete",
        "off_session": True,
    }
    if review is not None:  # the reviewed proration, and one Stripe write per review
        params["proration_date"] = review.proration_date
        key = f"{view.namespace}:plan:{review.token}"
        if review.promotion_code_id:  # the code previewed with it (the token covers it)
            params["discounts"] = [{"promotion_code": review.promotion_code_id}]
    snapshot = await gateway.update_subscription(
        view.subscription_id or "", params, idempotency_key=key
    )
    invoice = snapshot.latest_invoice
    charged = (
        invoice.amount_paid if invoice and invoice.billing_reason == "subscription_update" else 0
    )
    # An upgrade always invoices. Two tabs' reviews may differ by a second, so Stripe can see
    # two writes: the second changes nothing and returns the first's invoice, which names the
    # action once.
    action_key = f"{view.namespace}:plan_upgrade:{invoice.id}" if charged and invoice else key

    def apply(session: Session, account: BillingAccount, snap: SubscriptionSnapshot) -> str:
        account.pending_plan = account.pending_interval = account.pending_change_at = None
        mirror.bump(account)
        mirror.apply_subscription(session, account, snap)
        summary = f"{actor_name(session, actor_user_id)} upgraded to {label}"
        summary += f": {pricing.format_cents(charged)} charged" if charged else ""
        ledger.record_activity(
            session,
            workspace_id=workspace_id,
            actor_user_id=actor_user_id,
            kind="plan_upgrade",
            summary=summary,
            amount_cents=charged,
            details={"plan": plan, "interval": interval},
            action_key=action_key,
        )
        return summary

    summary = await write_subscription(view, gateway, snapshot, apply=apply)
    if snapshot.schedule_id:  # a downgrade was waiting: the upgrade replaces it
        try:
            await schedules.release(gateway, snapshot.schedule_id, namespace=view.namespace)
        except GatewayError as error:
            log.warning("schedule of workspace %s not released: %s", workspace_id, error.message)
    return PlanChangeResult("upgrade", plan, interval, charged, None, _to_you(summary))


async def _on_stripe_already(
    gateway: BillingGateway, view: AccountView, plan: str, interval: str
) -> bool:
    subscription = await gateway.retrieve_subscription(view.subscription_id or "")
    return mirror.plan_of(subscription) == (plan, interval)


def _to_you(summary: str) -> str:
    """The activity log's line ("Olivia Park scheduled …"), addressed to the person who did it
    ("You scheduled …"): the toast's."""
    for verb in (" upgraded ", " scheduled "):
        _, found, rest = summary.partition(verb)
        if found:
            return f"You{verb}{rest}."
    return f"{summary}."


async def _scheduled_already(
    workspace_id: int, plan: str, interval: str, label: str
) -> PlanChangeResult | None:
    account = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    if (account.pending_plan, account.pending_interval) != (plan, interval):
        return None
    when = account.pending_change_at
    summary = f"The change to {label} is scheduled already: nothing more was changed."
    return PlanChangeResult("downgrade", plan, interval, 0, when, summary)


async def _check_review(
    review: PlanChangeReview,
    gateway: BillingGateway,
    view: AccountView,
    seats: int,
    numbers: int,
    plan: str,
    interval: Interval,
) -> None:
    if (review.plan, review.interval) != (plan, interval):
        raise BillingError(STALE_REVIEW)
    fresh = await _preview(
        gateway,
        view,
        seats,
        numbers,
        plan,
        interval,
        proration_date=review.proration_date,
        promotion=review.promotion_code_id,
    )
    if fresh.review is None or not hmac.compare_digest(fresh.review.token, review.token):
        raise BillingError(STALE_REVIEW)


async def _schedule_downgrade(
    gateway: BillingGateway,
    view: AccountView,
    actor_user_id: int | None,
    plan: str,
    interval: Interval,
    label: str,
    counts: tuple[int, int],
    action_key: str | None = None,
) -> PlanChangeResult:
    workspace_id = view.workspace_id
    account = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    if account.cancel_at_period_end:
        raise BillingError("The subscription ends at the period end: resume it first.")
    seats, numbers = counts
    items = await schedules.next_phase_items(gateway, plan, interval, seats, numbers)
    key = action_key or f"{view.namespace}:downgrade:{plan}:{interval}:{seats}:{numbers}"
    key += f":v{view.mirror_version}" if action_key is None else ""
    scheduled = await schedules.schedule_change(
        gateway, view, account.stripe_schedule_id, items, key=key
    )

    def write(session: Session) -> PlanChangeResult:
        account = mirror.lock_account(session, workspace_id)
        schedules.mirror_schedule(account, scheduled)
        mirror.bump(account)
        session.add(account)
        when = account.pending_change_at
        summary = f"{actor_name(session, actor_user_id)} scheduled a change to {label}"
        summary += f" on {formats.day(when)}" if when else ""
        ledger.record_activity(
            session,
            workspace_id=workspace_id,
            actor_user_id=actor_user_id,
            kind="plan_downgrade_scheduled",
            summary=summary,
            details={"plan": plan, "interval": interval, "schedule": scheduled.id},
            action_key=action_key,
        )
        return PlanChangeResult("downgrade", plan, interval, 0, when, _to_you(summary))

    result = await in_db(write)
    await refresh_upcoming_invoice(workspace_id, gateway)  # Stripe's renewal on the new plan
    return result


async def undo_pending_change(
    *, workspace_id: int, actor_user_id: int | None, gateway: BillingGateway | None = None
) -> None:
    """Keep the current plan: release the schedule (or forget a change from before schedules)."""
    gateway = gateway_or_default(gateway)
    view = await load_account(workspace_id)
    account = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    if account.pending_plan is None:
        raise BillingError("There is no scheduled plan change to undo.")
    if account.stripe_schedule_id:
        await schedules.release(gateway, account.stripe_schedule_id, namespace=view.namespace)

    label = _label(account.pending_plan, account.pending_interval or "month")

    def write(session: Session) -> None:
        # the release's webhook may have cleared the pending change already: recorded all the same
        account = mirror.lock_account(session, workspace_id)
        account.pending_plan = account.pending_interval = account.pending_change_at = None
        account.stripe_schedule_id = None
        mirror.bump(account)
        session.add(account)
        ledger.record_activity(
            session,
            workspace_id=workspace_id,
            actor_user_id=actor_user_id,
            kind="plan_change_undone",
            summary=f"{actor_name(session, actor_user_id)} kept the current plan "
            f"(the change to {label} is canceled)",
        )

    await in_db(write)
    await refresh_upcoming_invoice(workspace_id, gateway)


async def apply_due_change(
    *,
    workspace_id: int,
    gateway: BillingGateway | None = None,
    clock: ClockSnapshot | None = None,
    until: int | None = None,
) -> ClockSnapshot | None:
    """Apply the pending downgrade if it is due by `until` (default: now + LEAD_SECONDS).

    With a demo `clock`, the clock is first moved to a minute before the change (returns it).
    """
    gateway = gateway_or_default(gateway)
    view = await load_account(workspace_id)
    pending = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    if not pending.pending_plan or not pending.pending_change_at or not view.subscription_id:
        return clock
    if pending.stripe_schedule_id:
        return clock  # Stripe's schedule makes the change itself
    if pending.cancel_at_period_end:
        return clock  # the subscription ends instead; a resume keeps the change for later
    due = int(pending.pending_change_at.timestamp())
    now = clock.frozen_time if clock else int(datetime.now(UTC).timestamp())
    if due > (until if until is not None else now + LEAD_SECONDS):
        return clock
    if clock and clock.frozen_time < due - 60:
        clock = await gateway.advance_test_clock(
            clock.id,
            frozen_time=due - 60,
            idempotency_key=f"{view.namespace}:clock:{clock.id}:{due - 60}",
        )
        now = clock.frozen_time
    plan, interval = pending.pending_plan, pending.pending_interval or "month"
    assert is_interval(interval)  # the column's CHECK allows month and year only

    def counts(session: Session) -> tuple[int, int]:
        return (
            repository.active_seat_count(session, workspace_id=workspace_id),
            repository.active_number_count(session, workspace_id=workspace_id),
        )

    seats, numbers = await in_db(counts)
    problems = pricing.check_downgrade(plan, seats, numbers)
    if problems:
        await in_db(lambda s: _drop_pending(s, workspace_id, plan, interval, " ".join(problems)))
        return clock
    items = await swapped_items(gateway, workspace_id, plan, interval, seats, numbers)
    try:
        mode, params = await _switch(gateway, view, items, pending, interval, due, now)
        snapshot = await gateway.update_subscription(
            view.subscription_id,
            params,
            idempotency_key=f"{view.namespace}:apply_pending:{plan}:{interval}:{due}:{mode}",
        )
    except GatewayError as error:
        reason = error.message
        log.warning("pending change of workspace %s failed: %s", workspace_id, reason)
        await in_db(
            lambda s: ledger.record_activity(
                s,
                workspace_id=workspace_id,
                kind="plan_change_failed",
                summary=f"The change to {_label(plan, interval)} failed: {reason}",
            )
        )
        return clock

    def apply(session: Session, account: BillingAccount, snap: SubscriptionSnapshot) -> None:
        mirror.apply_subscription(session, account, snap)
        ledger.record_activity(
            session,
            workspace_id=workspace_id,
            kind="plan_downgrade",
            summary=f"Switched to {_label(plan, interval)} at the end of the period",
            details={"plan": plan, "interval": interval},
        )

    await write_subscription(view, gateway, snapshot, apply=apply)
    return clock


async def _switch(
    gateway: BillingGateway,
    view: AccountView,
    items: list[dict[str, Any]],
    account: BillingAccount,
    interval: str,
    due: int,
    now: int,
) -> tuple[str, dict[str, Any]]:
    """How to swap the prices so that nothing is charged for the swap itself.

    Before the period end, the renewal must bill the new plan: on the same interval a swap
    without proration does it; a new interval would start a period (and charge it) at once, so a
    trial until the period end moves the cycle there instead (Stripe's documented way to move a
    billing cycle). After the period end (the job ran late) the old price was already invoiced:
    unpaid, that invoice is voided and the new plan's period starts now; paid, its unused part is
    credited by the prorations. A failing card never undoes the switch (`allow_incomplete`).
    """
    if now < due:
        if interval == account.interval:
            return "swap", {"items": items, "proration_behavior": "none"}
        return "trial", {"items": items, "proration_behavior": "none", "trial_end": due}
    late = {"items": items, "payment_behavior": "allow_incomplete", "off_session": True}
    renewal = (await gateway.retrieve_subscription(view.subscription_id or "")).latest_invoice
    if renewal and renewal.billing_reason == "subscription_cycle" and renewal.status == "open":
        key = f"{view.namespace}:void:{renewal.id}"
        await gateway.void_invoice(renewal.id, idempotency_key=key)
        return "late_void", {
            **late,
            "proration_behavior": "none",
            "billing_cycle_anchor": {"type": "now"},
        }
    return "late", {**late, "proration_behavior": "create_prorations"}


def _drop_pending(session: Session, workspace_id: int, plan: str, interval: str, why: str) -> None:
    """The team outgrew the scheduled plan: keep the current one and say why in the history."""
    account = mirror.lock_account(session, workspace_id)
    account.pending_plan = account.pending_interval = account.pending_change_at = None
    mirror.bump(account)
    session.add(account)
    current = _label(account.plan or plan, account.interval or interval)
    ledger.record_activity(
        session,
        workspace_id=workspace_id,
        kind="plan_change_dropped",
        summary=f"The change to {_label(plan, interval)} was not made: {why} "
        f"The workspace stays on {current}.",
        details={"plan": plan, "interval": interval},
    )


async def apply_due_changes(*, gateway: BillingGateway | None = None) -> int:
    """The periodic job: apply pending downgrades from before schedules that are due soon
    (accounts on real time only); a schedule's change is Stripe's to make."""
    cutoff = utcnow().timestamp() + LEAD_SECONDS

    def due(session: Session) -> list[int]:
        rows = session.exec(
            select(BillingAccount).where(
                col(BillingAccount.pending_plan).is_not(None),
                col(BillingAccount.stripe_schedule_id).is_(None),  # changes from before schedules
                col(BillingAccount.stripe_test_clock_id).is_(None),
            )
        ).all()
        return [
            row.workspace_id
            for row in rows
            if row.pending_change_at and row.pending_change_at.timestamp() <= cutoff
        ]

    ids = await in_db(due)
    for workspace_id in ids:
        await apply_due_change(workspace_id=workspace_id, gateway=gateway)
    return len(ids)
