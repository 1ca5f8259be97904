"""Seats and numbers follow the team: Stripe quantities change by themselves, coalesced.

Adding or removing a member or a number calls `request_quantity_sync(workspace_id)`: it marks the
account dirty (`quantities_dirty_since`) and schedules one sync after a short debounce per
workspace in this process, so changes that arrive together become a single subscription update
(Stripe allows 200 quantity updates an hour per subscription). The sync locks the billing account,
counts, and sends one update only when the counts differ from the mirror, with prorations on the
next invoice (`proration_behavior=create_prorations`). The idempotency key is made of the target
quantities and the count of updates applied so far (not the mirror version, which webhooks move
meanwhile), so several workers (or a retry after a crash) send it once and record it once.
A dirty account whose task was lost (a restart) is picked up by `sync_dirty_accounts()`.
An update over the hourly budget (`UPDATES_PER_HOUR`, counted from the history's quantity rows of
the last hour) is not sent: the account stays dirty and the periodic job sends it once the hour
has room, with the counts of that moment (deferred and coalesced, never dropped).
The sync's history row carries what Stripe prorated for that update (the proration invoice items
it created). A preview is the difference the change alone makes: Stripe's preview with it minus
the preview without it, prorated as of the same second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from clerk_portal.billing import ledger, mirror, pricing
from clerk_portal.billing.catalog import Interval, get_catalog, is_interval
from clerk_portal.billing.errors import BillingError, GatewayError
from clerk_portal.billing.gateway import (
    BillingGateway,
    SubscriptionSnapshot,
    detach_from_person,
    gateway_or_default,
)
from clerk_portal.billing.services import schedule as schedules
from clerk_portal.billing.services.common import (
    AccountView,
    account_view,
    load_account,
    refresh_upcoming_invoice,
    write_mirror,
)
from clerk_portal.core.db import in_db
from clerk_portal.models import BillingAccount, BillingActivity, utcnow
from clerk_portal.models.status import BILLED
from clerk_portal.workspace import live, repository

log = logging.getLogger("clerk_portal.billing.quantities")
DEBOUNCE_SECONDS = 1.5
# Stripe allows 200 quantity updates an hour per subscription; the margin is for the updates two
# workers may send at the same moment and for the other writes that change quantities.
UPDATES_PER_HOUR = 180
_scheduled: dict[int, asyncio.Task[None]] = {}
_tasks: set[asyncio.Task[None]] = set()  # scheduled and running: what a flush waits for
_locks: dict[int, asyncio.Lock] = {}


@dataclass(frozen=True)
class SyncOutcome:
    changed: bool
    seats: int
    numbers_billed: int
    reason: str = ""


@dataclass(frozen=True)
class QuantityPreview:
    seats: int
    numbers: int
    prorated_cents: int  # on the next invoice (negative: a credit)
    recurring_cents: int  # the new total per interval
    interval: str

    included: bool = False  # Stripe's quantities stay as they are (an included number)

    @property
    def message(self) -> str:
        every = "month" if self.interval == "month" else "year"
        then = f"{pricing.format_cents(self.recurring_cents)}/{every}"
        if self.included:
            return f"No charge: included in your plan, still {then}"
        if self.prorated_cents == 0:
            return f"No change today, then {then}"
        sign = "+" if self.prorated_cents > 0 else "-"
        amount = pricing.format_cents(abs(self.prorated_cents))
        kind = "prorated on your next invoice" if self.prorated_cents > 0 else "credited"
        return f"{sign}{amount} {kind}, then {then}"


# --- requests and scheduling ------------------------------------------------------------------


async def request_quantity_sync(
    workspace_id: int,
    *,
    delay: float = DEBOUNCE_SECONDS,
    gateway: BillingGateway | None = None,
) -> None:
    """Call after a member or number change is committed: the sync follows after `delay`."""
    await in_db(lambda session: _mark_dirty(session, workspace_id))
    task = _scheduled.get(workspace_id)
    if task is not None and not task.done():
        return  # the scheduled sync will read the newest counts
    task = asyncio.get_running_loop().create_task(_sync_later(workspace_id, delay, gateway))
    _scheduled[workspace_id] = task
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def flush_quantity_syncs() -> None:
    """Wait for every scheduled or running sync of this process (tests, shutdown)."""
    while pending := [task for task in _tasks if not task.done()]:
        await asyncio.gather(*pending, return_exceptions=True)


def _mark_dirty(session: Session, workspace_id: int) -> None:
    version = session.execute(
        sa.update(BillingAccount)
        .where(col(BillingAccount.workspace_id) == workspace_id)
        .values(
            quantities_dirty_since=sa.func.coalesce(
                BillingAccount.quantities_dirty_since, utcnow()
            ),
            mirror_version=BillingAccount.mirror_version + 1,  # "in use" changed on the page
        )
        .returning(col(BillingAccount.mirror_version))
    ).scalar()
    if version is not None:
        live.changed(session, workspace_id=workspace_id, version=version)  # open tabs follow


async def _sync_later(workspace_id: int, delay: float, gateway: BillingGateway | None) -> None:
    detach_from_person()  # nobody waits on a deferred sync: jobs' patience
    await asyncio.sleep(delay)
    _scheduled.pop(workspace_id, None)
    try:
        await sync_quantities(workspace_id=workspace_id, gateway=gateway)
    except GatewayError as error:  # left dirty: the periodic job retries it
        log.warning("quantity sync of workspace %s failed: %s", workspace_id, error.message)
    except Exception:
        log.exception("quantity sync of workspace %s failed", workspace_id)


# --- the sync -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    subscription_id: str | None
    status: str
    plan: str | None
    seats: int
    numbers: int
    seat_item: tuple[str, int] | None
    number_item: tuple[str, int] | None
    version: int
    syncs: int
    namespace: str
    customer_id: str | None
    schedule_id: str | None = None
    pending: tuple[str, Interval] | None = None
    canceling: bool = False  # set to cancel at the period end


def _read_target(session: Session, workspace_id: int, *, lock: bool = True) -> _Plan:
    if lock:
        account = mirror.lock_account(session, workspace_id)
    else:
        account = repository.get_billing_account(session, workspace_id=workspace_id)
    items = mirror.items_by_kind(session, workspace_id)
    seats = repository.active_seat_count(session, workspace_id=workspace_id)
    numbers = repository.active_number_count(session, workspace_id=workspace_id)
    view = account_view(session, workspace_id)
    seat, number = items.get("seat"), items.get("number")
    return _Plan(
        account.stripe_subscription_id,
        account.status,
        account.plan,
        seats,
        numbers,
        (seat.stripe_subscription_item_id, seat.quantity) if seat else None,
        (number.stripe_subscription_item_id, number.quantity) if number else None,
        account.mirror_version,
        account.quantity_syncs,
        view.namespace,
        account.stripe_customer_id,
        account.stripe_schedule_id,
        (account.pending_plan, account.pending_interval)
        if account.pending_plan and is_interval(account.pending_interval)
        else None,
        account.cancel_at_period_end,
    )


async def sync_quantities(
    *, workspace_id: int, gateway: BillingGateway | None = None
) -> SyncOutcome:
    """Make Stripe's seat and number quantities match the team (one update at most)."""
    lock = _locks.setdefault(workspace_id, asyncio.Lock())
    async with lock:
        return await _sync(workspace_id, gateway_or_default(gateway))


async def _sync(workspace_id: int, gateway: BillingGateway) -> SyncOutcome:
    target = await in_db(lambda session: _read_target(session, workspace_id))
    if (
        target.subscription_id is None
        or target.status not in BILLED
        or target.plan is None
        or target.seat_item is None
    ):
        await in_db(lambda session: _clear_dirty(session, workspace_id, None))
        return SyncOutcome(False, target.seats, 0, "no live subscription")
    billed_numbers = pricing.number_quantity(target.plan, target.numbers)
    wanted = (target.seats, billed_numbers)
    current = (target.seat_item[1], target.number_item[1] if target.number_item else 0)
    if wanted == current:
        await in_db(lambda session: _clear_dirty(session, workspace_id, wanted))
        await _sync_schedule(workspace_id, gateway, target)
        # Stripe bills the same, but a pending downgrade's invoice follows the team anyway.
        await refresh_upcoming_invoice(workspace_id, gateway)
        return SyncOutcome(False, target.seats, billed_numbers, "already in sync")
    if await in_db(lambda session: _updates_in_last_hour(session, workspace_id)) >= (
        UPDATES_PER_HOUR
    ):
        log.info("quantity sync of workspace %s deferred: hourly budget spent", workspace_id)
        await in_db(lambda session: _keep_dirty(session, workspace_id))  # the job sends it
        return SyncOutcome(False, target.seats, billed_numbers, "deferred: hourly budget spent")
    items = [{"id": target.seat_item[0], "quantity": target.seats}]
    if target.number_item:
        items.append({"id": target.number_item[0], "quantity": billed_numbers})
    key = (
        f"{target.namespace}:quantities:{target.subscription_id}:"
        f"{current[0]}-{current[1]}:{target.seats}-{billed_numbers}:s{target.syncs}"
    )
    pending_before = await _pending_ids(gateway, target.customer_id)
    snapshot = await gateway.update_subscription(
        target.subscription_id,
        {"items": items, "proration_behavior": "create_prorations"},
        idempotency_key=key,
    )
    prorated = await _prorated_since(gateway, target, pending_before)

    def apply(session: Session, account: BillingAccount, snap: SubscriptionSnapshot) -> None:
        mirror.apply_subscription(session, account, snap)
        account.quantity_syncs = max(account.quantity_syncs, target.syncs + 1)  # replays: once
        session.add(account)
        seats_before, numbers_before = current
        ledger.record_activity(
            session,
            workspace_id=workspace_id,
            kind="quantities",
            summary=_quantity_summary(seats_before, target.seats, numbers_before, billed_numbers),
            amount_cents=prorated,
            details={"seats": target.seats, "extra_numbers": billed_numbers},
            action_key=key,
        )
        _clear_dirty(session, workspace_id, wanted)

    await write_mirror(
        workspace_id,
        seen_version=target.version,
        first=snapshot,
        refetch=lambda: gateway.retrieve_subscription(snapshot.id),
        apply=apply,
    )
    await _sync_schedule(workspace_id, gateway, target)
    await refresh_upcoming_invoice(workspace_id, gateway)
    return SyncOutcome(True, target.seats, billed_numbers)


async def _sync_schedule(workspace_id: int, gateway: BillingGateway, target: _Plan) -> None:
    """A downgrade waiting in a schedule bills the team as it is at the period end: its second
    phase follows the counts (the current phase is the subscription as just updated). A team
    grown past the smaller plan's limits drops it, with the reason in the history."""
    if not target.schedule_id or target.pending is None:
        return
    plan, interval = target.pending
    problems = pricing.check_downgrade(plan, target.seats, target.numbers)
    if problems:
        await schedules.release(gateway, target.schedule_id, namespace=target.namespace)
        await in_db(lambda s: _drop_scheduled(s, workspace_id, plan, interval, " ".join(problems)))
        return
    items = await schedules.next_phase_items(gateway, plan, interval, target.seats, target.numbers)
    scheduled = await gateway.retrieve_schedule(target.schedule_id)
    phase = scheduled.next_phase()
    if phase is not None and sorted((i.price_id, i.quantity) for i in phase.items) == sorted(
        (i["price"], i["quantity"]) for i in items
    ):
        return
    view = await load_account(workspace_id)
    key = (
        f"{target.namespace}:schedule_counts:{target.schedule_id}:{plan}:{interval}:"
        f"{target.seats}-{target.numbers}:v{view.mirror_version}"
    )
    updated = await schedules.schedule_change(gateway, view, target.schedule_id, items, key=key)

    def write(session: Session) -> None:
        account = mirror.lock_account(session, workspace_id)
        schedules.mirror_schedule(account, updated)
        mirror.bump(account)
        session.add(account)

    await in_db(write)


def _drop_scheduled(
    session: Session, workspace_id: int, plan: str, interval: str, why: str
) -> None:
    account = mirror.lock_account(session, workspace_id)
    account.pending_plan = account.pending_interval = account.pending_change_at = None
    account.stripe_schedule_id = None
    mirror.bump(account)
    session.add(account)
    name = get_catalog().plan(plan).name
    ledger.record_activity(
        session,
        workspace_id=workspace_id,
        kind="plan_change_dropped",
        summary=f"The change to {name} ({'yearly' if interval == 'year' else 'monthly'}) was "
        f"canceled: {why}",
        details={"plan": plan, "interval": interval},
    )


def _keep_dirty(session: Session, workspace_id: int) -> None:
    session.execute(
        sa.update(BillingAccount)
        .where(col(BillingAccount.workspace_id) == workspace_id)
        .values(
            quantities_dirty_since=sa.func.coalesce(BillingAccount.quantities_dirty_since, utcnow())
        )
    )


def _updates_in_last_hour(session: Session, workspace_id: int) -> int:
    """Quantity updates sent in the last hour: one history row each (indexed by workspace, time)."""
    since = utcnow() - timedelta(hours=1)
    return session.exec(
        select(sa.func.count())
        .select_from(BillingActivity)
        .where(
            col(BillingActivity.workspace_id) == workspace_id,
            col(BillingActivity.created_at) >= since,
            col(BillingActivity.kind) == "quantities",
        )
    ).one()


async def _pending_ids(gateway: BillingGateway, customer_id: str | None) -> set[str]:
    if customer_id is None:
        return set()
    return {item.id for item in await gateway.list_pending_invoice_items(customer_id)}


async def _prorated_since(gateway: BillingGateway, target: _Plan, before: set[str]) -> int:
    """What Stripe prorated for the update just sent: the proration items it created.

    The items are told apart by id, not by date: on a test clock (and within one second) every
    update's prorations share the same period start. The sync of one workspace runs under its
    lock, so nothing else of ours adds items to this subscription meanwhile.
    """
    if target.customer_id is None:
        return 0
    items = await gateway.list_pending_invoice_items(target.customer_id)
    return sum(
        item.amount
        for item in items
        if item.id not in before
        and item.proration
        and item.subscription_id == target.subscription_id
    )


def _clear_dirty(session: Session, workspace_id: int, synced: tuple[int, int] | None) -> None:
    """Clear the mark unless the team changed again since (then the next sync handles it)."""
    account = mirror.lock_account(session, workspace_id)
    if account.quantities_dirty_since is None:
        return
    if synced is not None and account.plan:
        seats = repository.active_seat_count(session, workspace_id=workspace_id)
        numbers = repository.active_number_count(session, workspace_id=workspace_id)
        if (seats, pricing.number_quantity(account.plan, numbers)) != synced:
            return
    account.quantities_dirty_since = None
    session.add(account)


def _quantity_summary(seats_from: int, seats_to: int, numbers_from: int, numbers_to: int) -> str:
    parts = []
    if seats_from != seats_to:
        parts.append(f"seats {seats_from} → {seats_to}")
    if numbers_from != numbers_to:
        parts.append(f"extra numbers {numbers_from} → {numbers_to}")
    return "Subscription updated: " + ", ".join(parts) + " (prorated on the next invoice)"


async def sync_dirty_accounts(
    *, older_than: float = 30.0, gateway: BillingGateway | None = None
) -> int:
    """Sync accounts left dirty for `older_than` seconds (a lost task); returns how many."""
    cutoff = utcnow() - timedelta(seconds=older_than)
    ids = await in_db(
        lambda session: list(
            session.exec(
                select(BillingAccount.workspace_id).where(
                    col(BillingAccount.quantities_dirty_since).is_not(None),
                    col(BillingAccount.quantities_dirty_since) <= cutoff,
                )
            )
        )
    )
    for workspace_id in ids:
        try:
            await sync_quantities(workspace_id=workspace_id, gateway=gateway)
        except GatewayError as error:
            log.warning("quantity sync of workspace %s failed: %s", workspace_id, error.message)
    return len(ids)


# --- preview ------------------------------------------------------------------------------------


async def preview_quantity_change(
    *,
    workspace_id: int,
    seats_delta: int = 0,
    numbers_delta: int = 0,
    gateway: BillingGateway | None = None,
) -> QuantityPreview:
    """What adding or removing members or numbers will cost, from Stripe's `create_preview`.

    Without a subscription (trial) nothing is prorated: the preview is the plan's price.
    """
    gateway = gateway_or_default(gateway)
    view = await load_account(workspace_id)
    target = await in_db(lambda session: _read_target(session, workspace_id, lock=False))
    seats = max(0, target.seats + seats_delta)
    numbers = max(0, target.numbers + numbers_delta)
    plan = view.plan or "startup"
    interval = view.interval or "month"
    if seats_delta > 0:
        problems = pricing.check_plan_limits(plan, seats, numbers)
        if problems and view.subscription_id:
            raise BillingError(" ".join(problems))
    billed_numbers = pricing.number_quantity(plan, numbers)
    if not view.subscription_id or target.seat_item is None or view.status not in BILLED:
        quote = pricing.quote(plan, interval, seats, numbers)
        return QuantityPreview(seats, numbers, 0, quote.total_cents, interval)
    catalog_plan = get_catalog().plan(plan)
    recurring = seats * catalog_plan.price_cents("seat", interval)
    recurring += billed_numbers * catalog_plan.price_cents("number", interval)
    now_billed = (target.seats, pricing.number_quantity(plan, target.numbers))
    if (seats, billed_numbers) == now_billed:  # Stripe's quantities stay: nothing to prorate
        return QuantityPreview(seats, numbers, 0, recurring, interval, included=True)
    # This change alone: Stripe's preview with it minus the preview without it, both prorated
    # as of the same second, so prorations pending (or not yet synced) cancel out.
    at = await _stripe_now(view, gateway)
    with_change, without = await asyncio.gather(
        gateway.preview_invoice(
            _preview_params(view.subscription_id, target, seats, billed_numbers, at)
        ),
        gateway.preview_invoice(_preview_params(view.subscription_id, target, *now_billed, at)),
    )
    prorated = with_change.proration_cents - without.proration_cents
    return QuantityPreview(seats, numbers, prorated, recurring, interval)


def _preview_params(
    subscription_id: str, target: _Plan, seats: int, billed_numbers: int, at: int
) -> dict[str, Any]:
    assert target.seat_item is not None
    items = [{"id": target.seat_item[0], "quantity": seats}]
    if target.number_item:
        items.append({"id": target.number_item[0], "quantity": billed_numbers})
    details: dict[str, Any] = {
        "items": items,
        "proration_behavior": "create_prorations",
        "proration_date": at,
    }
    if target.canceling:
        # A subscription ending at the period end has no upcoming invoice to preview, yet a
        # change until then is prorated: both previews renew, so their difference is the same.
        # Sent only then: Stripe refuses any cancellation field on a subscription a schedule
        # manages (a pending downgrade), even one that changes nothing.
        details["cancel_at_period_end"] = False
    return {"subscription": subscription_id, "subscription_details": details}


async def _stripe_now(view: AccountView, gateway: BillingGateway) -> int:
    """Stripe's "now" for this customer: its test clock's time in demo mode."""
    if view.test_clock_id:
        return (await gateway.retrieve_test_clock(view.test_clock_id)).frozen_time
    return int(time.time())
