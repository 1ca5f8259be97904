"""Reads for the invoices and billing-history pages, from the mirror only (no Stripe call).

Pages get cents and datetimes and format them at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, func, select

from clerk_portal.billing import ledger
from clerk_portal.models import InvoiceMonth, User


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
        if row.id is not None  # rows read from the database all have one
    ]
    return ledger.Page(entries, page.next_cursor)


def monthly_invoiced(
    session: Session, *, workspace_id: int, now: datetime, months: int = 12
) -> list[MonthTotal]:
    """Amounts invoiced per calendar month (UTC), oldest first, the current month last: the
    totals `ledger.upsert_invoice` keeps, at most `months` rows whatever the invoice count."""
    slots = _last_months(now.astimezone(UTC), months)
    first, last = (year * 12 + month - 1 for year, month in (slots[0], slots[-1]))
    kept = ledger.invoiced_by_month(
        session, workspace_id=workspace_id, first_month=first, last_month=last
    )
    return [MonthTotal(year, month, kept.get(year * 12 + month - 1, 0)) for year, month in slots]


def chart_end(session: Session, *, workspace_id: int, now: datetime) -> datetime:
    """Where the chart's twelve months end: now, or the month of the newest invoice when that is
    later (a demo test clock moved ahead: its invoices carry the clock's dates and count)."""
    newest = session.exec(
        select(func.max(InvoiceMonth.month)).where(
            InvoiceMonth.workspace_id == workspace_id, InvoiceMonth.invoiced_cents != 0
        )
    ).first()
    now = now.astimezone(UTC)
    if newest is None or newest <= now.year * 12 + now.month - 1:
        return now
    return datetime(newest // 12, newest % 12 + 1, 1, tzinfo=UTC)


def _last_months(now: datetime, months: int) -> list[tuple[int, int]]:
    index = now.year * 12 + now.month - 1
    return [((index - back) // 12, (index - back) % 12 + 1) for back in range(months - 1, -1, -1)]
