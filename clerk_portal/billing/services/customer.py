"""The Stripe customer of a workspace: created once (idempotent), on a test clock in demo mode."""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlmodel import Session, col, select

from clerk_portal.billing.gateway import BillingGateway
from clerk_portal.billing.services.common import AccountView, account_view
from clerk_portal.core.db import in_db
from clerk_portal.core.settings import get_settings
from clerk_portal.models import BillingAccount, Membership


def _owner_email(session: Session, workspace_id: int) -> str | None:
    return session.exec(
        select(Membership.email)
        .where(
            Membership.workspace_id == workspace_id,
            Membership.role == "owner",
            col(Membership.status).in_(("active", "invited")),
        )
        .order_by(col(Membership.id))
    ).first()


async def ensure_customer(view: AccountView, gateway: BillingGateway) -> AccountView:
    """The view with a Stripe customer id, creating the customer (and demo clock) if needed.

    Idempotent under concurrency and crashes: the clock id is saved before the customer is
    created, and the customer's idempotency key depends only on the workspace.
    """
    if view.customer_id:
        return view
    workspace_id = view.workspace_id
    clock_id = view.test_clock_id
    if clock_id is None and get_settings().is_demo:
        clock = await gateway.create_test_clock(
            frozen_time=int(time.time()),
            name=f"Workspace {workspace_id}",
            idempotency_key=f"{view.namespace}:clock",
        )
        clock_id = await in_db(lambda session: _save_clock(session, workspace_id, clock.id))
    email = view.billing_email or await in_db(lambda s: _owner_email(s, workspace_id))
    customer = await gateway.create_customer(
        name=view.workspace_name,
        email=email,
        metadata={"workspace_id": str(workspace_id)},
        idempotency_key=f"{view.namespace}:customer",
        test_clock=clock_id,
    )
    return await in_db(lambda session: _save_customer(session, workspace_id, customer.id, email))


def _save_clock(session: Session, workspace_id: int, clock_id: str) -> str:
    session.execute(
        sa.update(BillingAccount)
        .where(
            col(BillingAccount.workspace_id) == workspace_id,
            col(BillingAccount.stripe_test_clock_id).is_(None),
        )
        .values(stripe_test_clock_id=clock_id)
    )
    account = session.exec(
        select(BillingAccount).where(BillingAccount.workspace_id == workspace_id)
    ).one()
    return account.stripe_test_clock_id or clock_id


def _save_customer(
    session: Session, workspace_id: int, customer_id: str, email: str | None
) -> AccountView:
    session.execute(
        sa.update(BillingAccount)
        .where(
            col(BillingAccount.workspace_id) == workspace_id,
            col(BillingAccount.stripe_customer_id).is_(None),
        )
        .values(stripe_customer_id=customer_id, billing_email=email)
    )
    return account_view(session, workspace_id)
