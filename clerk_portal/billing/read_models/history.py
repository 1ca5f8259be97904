"""Reads for the invoices and billing-history pages, from the mirror only (no Stripe call).

Pages get cents and datetimes and format them at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from clerk_portal.billing import ledger
from clerk_portal.models import Invoice, User

# Finalized invoices: a draft may still change and a void one was never owed.
INVOICED_STATUSES = ("open", "paid", "uncollectible")


@dataclass(frozen=True)
class ActivityEntry:
    id: int
    actor_name: str
    kind: str
    summary: str
    amount_cents: int | None
    currency: str
    created_at: datetime


@dataclass(frozen=True)
class MonthTotal:
    year: int
    month: int
    invoiced_cents: int


def activity_entries(
    session: Session, *, workspace_id: int, limit: int = 20, cursor: str | None = None
) -> ledger.Page[ActivityEntry]:
    """Newest first, with the name of who did it ("Clerk Chat" for Stripe and the system)."""
    page = ledger.activity_page(session, workspace_id=workspace_id, limit=limit, cursor=cursor)
    actor_ids = {row.actor_user_id for row in page.items if row.actor_user_id is not None}
    names = {
        user.id: user.name or user.email
        for user in session.exec(select(User).where(col(User.id).in_(actor_ids)))
    }
    entries = [
        ActivityEntry(
            id=row.id,
            actor_name=(
                names.get(row.actor_user_id, "A former member")
                if row.actor_user_id is not None
                else "Clerk Chat"
            ),
            kind=row.kind,
            summary=row.summary,
            amount_cents=row.amount_cents,
            currency=row.currency,
            created_at=row.created_at,
        )
        for row in page.items
    ]
    return ledger.Page(entries, page.next_cursor)


def monthly_invoiced(
    session: Session, *, workspace_id: int, now: datetime, months: int = 12
) -> list[MonthTotal]:
    """Amounts invoiced per calendar month (UTC), oldest first, the current month last.

    Summed in SQL, one statement on both databases: the months' UTC boundaries are bound
    parameters (so SQLite's text and PostgreSQL's timestamptz compare alike), each invoice of the
    window falls in the first month whose end is after it, and the database groups by that month
    over the index (workspace_id, created, status, total_cents) without reading the rows.
    """
    slots = _last_months(now.astimezone(UTC), months)
    bounds = [datetime(year, month, 1, tzinfo=UTC) for year, month in slots]
    after = slots[-1][0] * 12 + slots[-1][1]  # the month after the current one
    bounds.append(datetime(after // 12, after % 12 + 1, 1, tzinfo=UTC))
    created = col(Invoice.created)
    month = sa.case(
        *((created < bounds[index + 1], index) for index in range(months)), else_=months
    ).label("month")
    window = (
        select(month, Invoice.total_cents)
        .where(
            Invoice.workspace_id == workspace_id,
            col(Invoice.status).in_(INVOICED_STATUSES),
            created >= bounds[0],
            created < bounds[-1],
        )
        .subquery()
    )
    # Grouped on the subquery's column: PostgreSQL refuses a GROUP BY of an expression whose
    # bound parameters differ from the select list's.
    sums = dict(
        session.exec(
            select(window.c.month, sa.func.sum(window.c.total_cents)).group_by(window.c.month)
        ).all()
    )
    return [
        MonthTotal(year, month_number, int(sums.get(index) or 0))
        for index, (year, month_number) in enumerate(slots)
    ]


def _last_months(now: datetime, months: int) -> list[tuple[int, int]]:
    index = now.year * 12 + now.month - 1
    return [((index - back) // 12, (index - back) % 12 + 1) for back in range(months - 1, -1, -1)]
