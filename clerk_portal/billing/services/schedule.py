"""A change at the period end as a Stripe subscription schedule.

Stripe's documented way to downgrade at the period end
(https://docs.stripe.com/billing/subscriptions/subscription-schedules/use-cases): a schedule made
`from_subscription` (one phase: the current period and items), then updated with that phase and
a second one holding the new prices; at the boundary Stripe swaps the items and the renewal bills
the new prices (a new interval starts a new cycle). `end_behavior=release` lets the subscription
go on alone after the second phase. Undo releases the schedule. While a schedule manages the
subscription, Stripe refuses cancellation fields on the subscription: a cancel releases it first.

The mirror keeps `stripe_schedule_id` and the pending change (`pending_plan`, `pending_interval`,
`pending_change_at` = the second phase's start) as the schedule says; the subscription's own
`schedule` field (webhooks) clears them when the schedule goes away.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from clerk_portal.billing import mirror, pricing
from clerk_portal.billing.catalog import Interval, get_catalog
from clerk_portal.billing.gateway import BillingGateway, ScheduleSnapshot, SubscriptionSnapshot
from clerk_portal.billing.services.common import AccountView
from clerk_portal.core.db import in_db
from clerk_portal.workspace import repository


async def next_phase_items(
    gateway: BillingGateway, plan: str, interval: Interval, seats: int, numbers: int
) -> list[dict[str, Any]]:
    """The second phase's items: the new plan's prices, quantities for today's counts."""
    chosen = get_catalog().plan(plan)
    seat = await gateway.price_for(chosen.lookup_key("seat", interval))
    number = await gateway.price_for(chosen.lookup_key("number", interval))
    return [
        {"price": seat.id, "quantity": seats},
        {"price": number.id, "quantity": pricing.number_quantity(plan, numbers)},
    ]


def _current_items(subscription: SubscriptionSnapshot) -> list[dict[str, Any]]:
    return [{"price": i.price_id, "quantity": i.quantity} for i in subscription.items]


async def schedule_change(
    gateway: BillingGateway,
    view: AccountView,
    schedule_id: str | None,
    next_items: list[dict[str, Any]],
    *,
    key: str,
) -> ScheduleSnapshot:
    """Make (or reuse) the subscription's schedule and set its phases: now, then `next_items`.

    The current phase is the subscription as Stripe has it (read fresh, so a quantity change the
    mirror has not seen yet is not undone), with no proration: nothing changes before the end.
    """
    subscription = await gateway.retrieve_subscription(view.subscription_id or "")
    schedule = None
    if schedule_id and subscription.schedule_id == schedule_id:
        schedule = await gateway.retrieve_schedule(schedule_id)
    elif subscription.schedule_id:  # made elsewhere (a Dashboard): the subscription's own
        schedule = await gateway.retrieve_schedule(subscription.schedule_id)
    if schedule is None or schedule.status != "active":
        schedule = await gateway.create_schedule_from_subscription(
            subscription.id, idempotency_key=f"{key}:create"
        )
    start, end = schedule.current_phase_start, schedule.current_phase_end
    params = {
        "end_behavior": "release",
        "proration_behavior": "none",
        "phases": [
            {"items": _current_items(subscription), "start_date": start, "end_date": end},
            {"items": next_items},
        ],
    }
    return await gateway.update_schedule(schedule.id, params, idempotency_key=f"{key}:phases")


async def release(gateway: BillingGateway, schedule_id: str, *, namespace: str) -> None:
    """End the schedule: the subscription keeps its current items (a release is once)."""
    schedule = await gateway.retrieve_schedule(schedule_id)
    if schedule.status in ("active", "not_started"):
        await gateway.release_schedule(
            schedule_id, idempotency_key=f"{namespace}:release:{schedule_id}"
        )


def mirror_schedule(account: Any, schedule: ScheduleSnapshot) -> None:
    """The pending change as the schedule says: its next phase's plan, interval and start."""
    account.stripe_schedule_id = schedule.id
    phase = schedule.next_phase()
    plan = interval = None
    for item in phase.items if phase else ():
        if item.lookup_key:
            found, _kind, found_interval = get_catalog().find_lookup_key(item.lookup_key)
            plan, interval = found.id, found_interval
            break
    account.pending_plan, account.pending_interval = plan, interval
    account.pending_change_at = mirror.from_unix(phase.start_date) if phase and plan else None


async def counts(workspace_id: int) -> tuple[int, int]:
    def read(session: Session) -> tuple[int, int]:
        return (
            repository.active_seat_count(session, workspace_id=workspace_id),
            repository.active_number_count(session, workspace_id=workspace_id),
        )

    return await in_db(read)
