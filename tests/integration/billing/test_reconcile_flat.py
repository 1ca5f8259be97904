"""Reconcile's check costs the same at 10 invoices and at 10,000 (issue 13, item 6): it reads the
mirror's rows of the invoices Stripe listed (`ledger.invoice_states`), not every invoice the
workspace ever had. Counted in SQL statements and rows returned, not in time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from clerk_portal.billing.reconcile import reconcile
from clerk_portal.core.db import session_scope
from clerk_portal.models import Invoice

from .conftest import Env
from .helpers import subscribe


@contextmanager
def sql_reads() -> Iterator[dict[str, int]]:
    """Statements sent through a session and the rows their results held, while inside."""
    counted = {"statements": 0, "rows": 0}

    def count(state: ORMExecuteState):  # a Result replaces the statement's, or None
        counted["statements"] += 1
        if not state.is_select:
            return None
        frozen = state.invoke_statement().freeze()
        counted["rows"] += len(frozen().all())
        return frozen()

    event.listen(Session, "do_orm_execute", count)
    try:
        yield counted
    finally:
        event.remove(Session, "do_orm_execute", count)


def add_old_invoices(workspace_id: int, count: int, start: int) -> None:
    """Invoices of the workspace's past: mirrored, and beyond the 100 newest Stripe lists."""
    old = datetime.now(UTC) - timedelta(days=3000)
    with session_scope() as session:
        session.execute(
            sa.insert(Invoice),
            [
                {
                    "workspace_id": workspace_id,
                    "stripe_invoice_id": f"in_old_{workspace_id}_{index}",
                    "status": "paid",
                    "total_cents": 4900,
                    "amount_paid_cents": 4900,
                    "created": old + timedelta(hours=index),
                    "updated_at": old,
                }
                for index in range(start, start + count)
            ],
        )


async def checked(env: Env) -> dict[str, int]:
    with sql_reads() as counted:
        assert await reconcile() == []
    return counted


async def test_a_check_reads_as_much_at_10000_invoices_as_at_10(env: Env):
    workspace_id, _, _ = await subscribe(env, plan="startup")
    env.settle()
    env.sandbox.configure_webhooks(url="")  # nothing else reads meanwhile
    add_old_invoices(workspace_id, 9, start=0)
    at_10 = await checked(env)

    add_old_invoices(workspace_id, 9990, start=9)
    at_10000 = await checked(env)

    assert at_10000 == at_10, (at_10, at_10000)
    assert at_10["rows"] < 20  # the account, its items, the counts, Stripe's one invoice
