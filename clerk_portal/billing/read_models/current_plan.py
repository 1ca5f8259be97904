"""What the upgrade page starts from: the seats and numbers the plan covers, and the running
subscription's plan and interval, if any."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from clerk_portal.core.db import in_db
from clerk_portal.models.status import ENDED
from clerk_portal.workspace import repository


@dataclass(frozen=True)
class CurrentPlan:
    seats: int  # active and invited members
    numbers: int  # active numbers
    plan: str | None
    interval: str | None
    subscribed: bool  # a subscription that has not ended


def current_plan(session: Session, *, workspace_id: int) -> CurrentPlan:
    account = repository.get_billing_account(session, workspace_id=workspace_id)
    return CurrentPlan(
        seats=repository.active_seat_count(session, workspace_id=workspace_id),
        numbers=repository.active_number_count(session, workspace_id=workspace_id),
        plan=account.plan,
        interval=account.interval,
        subscribed=bool(account.stripe_subscription_id) and account.status not in ENDED,
    )


async def load_current_plan(workspace_id: int) -> CurrentPlan:
    return await in_db(lambda session: current_plan(session, workspace_id=workspace_id))
