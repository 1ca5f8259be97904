"""Reset the demo: Acme Dental back to its seeded trial, in place, without a restart.

At Stripe (the sandbox) the workspace's test clock is deleted, which deletes its customer and
subscriptions as Stripe does; events of that customer still on their way find no workspace and
change nothing. In the portal, one transaction puts back the seeded team, numbers and a fresh
billing account (a new trial) and clears the mirror, the invoices and the history. The workspace
row and its id stay, so the personas' sessions stay signed in; its `created_at` moves to the new
trial's start, which gives the workspace a new idempotency namespace (the next upgrade is a new
Stripe customer, not a replay of the deleted one). The mirror version goes up, never back, and
its commit publishes it: every open tab of the workspace re-reads and shows the seeded trial.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.gateway import BillingGateway, gateway_or_default
from clerk_portal.core.db import in_db
from clerk_portal.core.settings import get_settings
from clerk_portal.demo.seed import (
    DEMO_PEOPLE,
    DEMO_WORKSPACE,
    add_team_and_numbers,
    demo_people,
    find_demo_workspace,
    seed_demo,
    trial_started,
)
from clerk_portal.models import (
    BillingAccount,
    BillingActivity,
    Invoice,
    InvoiceMonth,
    Membership,
    PhoneNumber,
    SubscriptionItem,
    Workspace,
    utcnow,
)
from clerk_portal.workspace import live
from clerk_portal.workspace.trial import TRIAL_DAYS

NOT_IN_PRODUCTION = "The demo controls exist only in the demo (PORTAL_MODE=demo)."


@dataclass(frozen=True)
class ResetResult:
    workspace_id: int
    seconds: float  # how long the reset took, Stripe and database together
    mirror_version: int


def require_demo() -> None:
    if not get_settings().is_demo:
        raise BillingError(NOT_IN_PRODUCTION)


async def demo_workspace_id() -> int:
    """Acme Dental's id (seeded first if it is missing)."""

    def find(session: Session) -> int:
        workspace = find_demo_workspace(session) or seed_demo(session)
        assert workspace.id is not None
        return workspace.id

    return await in_db(find)


async def reset_demo(
    *, gateway: BillingGateway | None = None, now: datetime | None = None
) -> ResetResult:
    """Put Acme Dental back to its seeded trial (Stripe first, then the portal)."""
    require_demo()
    started = time.perf_counter()
    gateway = gateway_or_default(gateway)
    workspace_id = await demo_workspace_id()
    clock_id = await in_db(lambda session: _clock_of(session, workspace_id))
    if clock_id:
        await gateway.delete_test_clock(clock_id)
    version = await in_db(lambda session: _reset_portal(session, workspace_id, now or utcnow()))
    return ResetResult(workspace_id, time.perf_counter() - started, version)


def _clock_of(session: Session, workspace_id: int) -> str | None:
    return session.exec(
        select(BillingAccount.stripe_test_clock_id).where(
            BillingAccount.workspace_id == workspace_id
        )
    ).first()


def _reset_portal(session: Session, workspace_id: int, now: datetime) -> int:
    # Lock in the order every mirror writer does: the billing account, then (no key update, so
    # their foreign-key checks' KEY SHARE is not blocked) the workspace. Seen as a PostgreSQL
    # deadlock with a webhook's upcoming-invoice refresh when the workspace came first.
    before = session.exec(
        select(BillingAccount.mirror_version)
        .where(BillingAccount.workspace_id == workspace_id)
        .with_for_update()
    ).first()
    workspace = session.exec(
        select(Workspace)
        .where(Workspace.id == workspace_id)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE
    ).one()
    for table in (
        SubscriptionItem,
        Invoice,
        InvoiceMonth,
        BillingActivity,
        PhoneNumber,
        Membership,
        BillingAccount,
    ):
        session.execute(sa.delete(table).where(col(table.workspace_id) == workspace_id))
    begun = trial_started(now)
    workspace.name, workspace.created_at = DEMO_WORKSPACE, begun
    session.add(workspace)
    version = (before or 0) + 1
    session.add(
        BillingAccount(
            workspace_id=workspace_id,
            status="trialing",
            trial_ends_at=begun + timedelta(days=TRIAL_DAYS),
            mirror_version=version,
            created_at=begun,
            updated_at=now,
        )
    )
    session.flush()
    users = demo_people(session)
    owner_subject, _name, owner_email = DEMO_PEOPLE[0]
    session.add(
        Membership(
            workspace_id=workspace_id,
            email=owner_email,
            role="owner",
            status="active",
            user_id=users[owner_subject].id,
            invited_at=begun,
            joined_at=begun,
            updated_at=begun,
        )
    )
    session.flush()
    add_team_and_numbers(session, workspace_id=workspace_id, users=users, started=begun)
    live.changed(session, workspace_id=workspace_id, version=version)
    return version
