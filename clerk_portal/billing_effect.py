"""What a team or numbers change does to the bill, and telling Stripe after it happened.

The pages call only these two functions, so they do not care whether the answer comes from the
billing services (Stripe's invoice preview) or, as here until they land, from a local estimate
over the mirror with `billing.pricing`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlmodel import select

from clerk_portal.billing import pricing, repository
from clerk_portal.db import session_scope
from clerk_portal.models import SubscriptionItem, utcnow

PAID_STATUSES = ("active", "past_due")


@dataclass(frozen=True)
class Effect:
    """`message` for the owner ("" when there is nothing to say about money)."""

    message: str
    prorated_cents: int | None = None


async def preview(workspace_id: int, *, seats_delta: int = 0, numbers_delta: int = 0) -> Effect:
    """The owner's view of a change before confirming it."""
    if seats_delta == 0 and numbers_delta == 0:
        return Effect("")
    return await asyncio.to_thread(_estimate, workspace_id, seats_delta, numbers_delta)


async def after_change(workspace_id: int) -> None:
    """Once a change is committed: Stripe's quantities follow (coalesced by the services)."""
    # STAND-IN until the billing engine lands: services.request_quantity_sync(workspace_id)


def _estimate(workspace_id: int, seats_delta: int, numbers_delta: int) -> Effect:
    with session_scope() as session:
        account = repository.get_billing_account(session, workspace_id=workspace_id)
        seats = repository.active_seat_count(session, workspace_id=workspace_id)
        numbers = repository.active_number_count(session, workspace_id=workspace_id)
        has_items = session.exec(
            select(SubscriptionItem).where(SubscriptionItem.workspace_id == workspace_id)
        ).first()
        paid = (
            account.stripe_subscription_id
            and account.status in PAID_STATUSES
            and account.plan
            and account.interval
            and account.current_period_start
            and account.current_period_end
            and has_items
        )
        if not paid:
            return Effect("No charge during your trial.")
        current = pricing.quote(account.plan, account.interval, seats, numbers)
        target = pricing.quote(
            account.plan,
            account.interval,
            max(0, seats + seats_delta),
            max(0, numbers + numbers_delta),
        )
        change = pricing.preview_change(
            current,
            target,
            period_start=pricing.unix_seconds(account.current_period_start),
            period_end=pricing.unix_seconds(account.current_period_end),
            at=pricing.unix_seconds(utcnow()),
        )
        return Effect(
            _message(change.net_cents, target.total_cents, account.interval), change.net_cents
        )


def _message(prorated_cents: int, recurring_cents: int, interval: str) -> str:
    then = f"{pricing.format_cents(recurring_cents)}/{interval}"
    if prorated_cents == 0:
        return f"No change today, then {then}"
    if prorated_cents > 0:
        return f"+{pricing.format_cents(prorated_cents)} prorated on your next invoice, then {then}"
    return f"-{pricing.format_cents(-prorated_cents)} credited, then {then}"
