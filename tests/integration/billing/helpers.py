"""Shared steps for the billing tests."""

from __future__ import annotations

from typing import Any

from clerk_portal.billing import ledger
from clerk_portal.billing.services.upgrade import complete_upgrade, start_upgrade
from clerk_portal.core.db import in_db, session_scope
from clerk_portal.demo.clock import A_MONTH
from clerk_portal.models import BillingAccount
from clerk_portal.workspace import repository

from .conftest import Env, make_workspace

# Days to advance a demo clock by to be past a monthly renewal and its invoice's draft hour
# (Stripe finalizes and charges a renewal about an hour after creating it).
PAST_THE_RENEWAL = A_MONTH


async def subscribe(
    env: Env,
    *,
    plan: str = "business",
    interval: str = "month",
    card: str = "4242424242424242",
    keep_trial: bool = False,
    **workspace: Any,
) -> tuple[int, int, str]:
    """A workspace upgraded with `card`; returns (workspace id, owner id, subscription id)."""
    workspace_id, owner_id = make_workspace(**workspace)
    start = await start_upgrade(workspace_id=workspace_id, plan=plan, interval=interval)
    env.confirm_card(start, card)
    await complete_upgrade(
        workspace_id=workspace_id,
        actor_user_id=owner_id,
        setup_intent_id=start.setup_intent_id,
        plan=plan,
        interval=interval,
        keep_trial=keep_trial,
    )
    account = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    return workspace_id, owner_id, account.stripe_subscription_id or ""


async def activity_kinds(workspace_id: int) -> list[str]:
    page = await in_db(lambda s: ledger.activity_page(s, workspace_id=workspace_id, limit=100))
    return [a.kind for a in page.items]


def seeded_demo() -> int:
    """Acme Dental seeded (the demo's workspace); its id."""
    from clerk_portal.demo.seed import seed_demo

    with session_scope() as session:
        workspace = seed_demo(session)
        assert workspace.id is not None
        return workspace.id


def billing_account(workspace_id: int) -> BillingAccount:
    """The workspace's mirror row, detached from its session."""
    with session_scope() as session:
        account = repository.get_billing_account(session, workspace_id=workspace_id)
        session.expunge(account)
        return account
