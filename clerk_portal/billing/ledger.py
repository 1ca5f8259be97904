"""Plain functions over a session: the billing history (activity lines, mirrored invoices) and
the sales leads, with keyset pages for the lists the history and invoices pages show.

Like `workspace.repository`: the session first, keyword-only arguments, flush but never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from clerk_portal.core.errors import InvalidValue
from clerk_portal.core.keyset import Page as Page
from clerk_portal.core.keyset import decode_cursor, encode_cursor, keyset_page
from clerk_portal.models import (
    INVOICED_STATUSES,
    BillingActivity,
    EnterpriseInquiry,
    Invoice,
    InvoiceMonth,
    utcnow,
)
from clerk_portal.workspace.repository import normalize_email

# --- billing history: activity and invoices -----------------------------------------------------


def record_activity(
    session: Session,
    *,
    workspace_id: int,
    kind: str,
    summary: str,
    actor_user_id: int | None = None,
    amount_cents: int | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
    action_key: str | None = None,
) -> BillingActivity:
    """One line of the billing history; `actor_user_id=None` means Stripe or the system.

    With `action_key`, the action is recorded once: a second call with the same key returns the
    first row (the unique column refuses a twin from a concurrent transaction).
    """
    recorded = activity_for_action(session, action_key) if action_key else None
    if recorded is not None:
        return recorded
    activity = BillingActivity(
        workspace_id=workspace_id,
        actor_user_id=actor_user_id,
        kind=kind,
        summary=summary,
        amount_cents=amount_cents,
        details=details,
        action_key=action_key,
        created_at=now or utcnow(),
    )
    session.add(activity)
    session.flush()
    return activity


def activity_for_action(session: Session, action_key: str) -> BillingActivity | None:
    return session.exec(
        select(BillingActivity).where(BillingActivity.action_key == action_key)
    ).first()


def latest_activity_id(session: Session, *, workspace_id: int, kinds: tuple[str, ...]) -> int:
    """The id of the workspace's newest activity of one of `kinds` (0 if none): a marker that
    moves once per recorded action, for keys that must differ from one cycle to the next."""
    newest = session.exec(
        select(sa.func.max(BillingActivity.id)).where(
            BillingActivity.workspace_id == workspace_id, col(BillingActivity.kind).in_(kinds)
        )
    ).one()
    return int(newest or 0)


def activity_page(
    session: Session, *, workspace_id: int, limit: int = 20, cursor: str | None = None
) -> Page[BillingActivity]:
    """Newest first, `limit` at a time, by keyset (created_at, id)."""
    query = select(BillingActivity).where(BillingActivity.workspace_id == workspace_id)
    return keyset_page(
        session, query, BillingActivity.created_at, BillingActivity.id, limit, cursor
    )


def upsert_invoice(
    session: Session,
    *,
    workspace_id: int,
    stripe_invoice_id: str,
    created: datetime,
    **fields: Any,
) -> Invoice:
    """Mirror one Stripe invoice (by its id); `fields` are Invoice columns.

    Keeps the monthly totals (`InvoiceMonth`) in the same transaction: the invoice's old
    contribution is taken out of its month and the new one put in (the row is read FOR UPDATE,
    so two transactions writing one invoice apply their changes one after the other).
    """
    unknown = set(fields) - set(Invoice.model_fields)
    if unknown:
        raise TypeError(f"not Invoice columns: {', '.join(sorted(unknown))}")
    invoice = session.exec(
        select(Invoice)
        .where(Invoice.stripe_invoice_id == stripe_invoice_id)
        .with_for_update()
        # The locked row's values, also over an object this session loaded before the lock.
        .execution_options(populate_existing=True)
    ).first()
    before = None
    if invoice is None:
        invoice = Invoice(
            workspace_id=workspace_id, stripe_invoice_id=stripe_invoice_id, created=created
        )
    else:
        before = _month_share(invoice)
    for name, value in {"created": created, **fields, "updated_at": utcnow()}.items():
        setattr(invoice, name, value)
    session.add(invoice)
    session.flush()
    after = _month_share(invoice)
    if before != after:
        for share, sign in ((before, -1), (after, 1)):
            if share is not None and share[2]:
                _add_to_month(session, share[0], share[1], sign * share[2])
    return invoice


def month_index(moment: datetime) -> int:
    """The calendar month (UTC) of an aware datetime as one integer: `year * 12 + month - 1`."""
    utc = moment.astimezone(UTC)
    return utc.year * 12 + utc.month - 1


def _month_share(invoice: Invoice) -> tuple[int, int, int] | None:
    """(workspace, month, cents) the invoice adds to the monthly totals, if anything."""
    if invoice.status not in INVOICED_STATUSES:
        return None
    return invoice.workspace_id, month_index(invoice.created), invoice.total_cents


def _add_to_month(session: Session, workspace_id: int, month: int, cents: int) -> None:
    """`invoiced_cents += cents` in one atomic statement (the row is created on first use)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = InvoiceMonth.__table__  # type: ignore[attr-defined]
    statement = insert(table).values(workspace_id=workspace_id, month=month, invoiced_cents=cents)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.workspace_id, table.c.month],
            set_={"invoiced_cents": table.c.invoiced_cents + statement.excluded.invoiced_cents},
        )
    )


def invoiced_by_month(
    session: Session, *, workspace_id: int, first_month: int, last_month: int
) -> dict[int, int]:
    """The kept totals of months `first_month`..`last_month` (see `month_index`) that have one."""
    rows = session.exec(
        select(InvoiceMonth.month, InvoiceMonth.invoiced_cents).where(
            InvoiceMonth.workspace_id == workspace_id,
            col(InvoiceMonth.month) >= first_month,
            col(InvoiceMonth.month) <= last_month,
        )
    ).all()
    return {month: cents for month, cents in rows}


def invoiced_by_month_from_invoices(
    session: Session, *, workspace_id: int, first_month: int, last_month: int
) -> dict[int, int]:
    """The same totals summed from the invoices themselves (in SQL, one GROUP BY): what the kept
    totals must equal; for checks and repairs, not for pages (it reads every invoice of the
    months)."""
    start = _month_start(first_month)
    end = _month_start(last_month + 1)
    created = col(Invoice.created)
    month = sa.case(
        *((created < _month_start(index + 1), index) for index in range(first_month, last_month)),
        else_=last_month,
    ).label("month")
    window = (
        select(month, Invoice.total_cents)
        .where(
            Invoice.workspace_id == workspace_id,
            col(Invoice.status).in_(INVOICED_STATUSES),
            created >= start,
            created < end,
        )
        .subquery()
    )
    # Grouped on the subquery's column: PostgreSQL refuses a GROUP BY of an expression whose
    # bound parameters differ from the select list's.
    rows = session.exec(
        select(window.c.month, sa.func.sum(window.c.total_cents)).group_by(window.c.month)
    ).all()
    return {int(month): int(cents) for month, cents in rows}


def _month_start(index: int) -> datetime:
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def invoice_page(
    session: Session, *, workspace_id: int, limit: int = 20, cursor: str | None = None
) -> Page[Invoice]:
    """Newest first, `limit` at a time, by keyset (created, id)."""
    query = select(Invoice).where(Invoice.workspace_id == workspace_id)
    return keyset_page(session, query, Invoice.created, Invoice.id, limit, cursor)


def invoice_states(
    session: Session, *, workspace_id: int, stripe_invoice_ids: Sequence[str]
) -> dict[str, tuple[str, int, int]]:
    """(status, total, amount paid) of the mirrored invoices among `stripe_invoice_ids` (those
    Stripe listed: at most 100 a customer), by Stripe id. Reconcile compares these, so its read
    is bounded by what Stripe returned, not by the invoices the workspace ever had."""
    if not stripe_invoice_ids:
        return {}
    rows = session.execute(  # five columns: SQLModel's select() types at most four
        sa.select(
            col(Invoice.stripe_invoice_id),
            col(Invoice.status),
            col(Invoice.total_cents),
            col(Invoice.amount_paid_cents),
            col(Invoice.workspace_id),
        ).where(col(Invoice.stripe_invoice_id).in_(list(stripe_invoice_ids)))
    ).all()
    # By the unique Stripe id alone (a filter on the workspace lets SQLite pick the workspace's
    # index and walk every invoice of it); another workspace's invoice is left out here.
    return {
        stripe_id: (status, total, paid)
        for stripe_id, status, total, paid, owner in rows
        if owner == workspace_id
    }


# --- enterprise ---------------------------------------------------------------------------------


def add_enterprise_inquiry(
    session: Session,
    *,
    name: str,
    email: str,
    company: str = "",
    seats: int | None = None,
    phone_numbers: int | None = None,
    message: str = "",
    workspace_id: int | None = None,
    user_id: int | None = None,
) -> EnterpriseInquiry:
    if not name.strip():
        raise InvalidValue("Please tell us your name.")
    for label, value in (("seats", seats), ("phone numbers", phone_numbers)):
        if value is not None and value < 0:
            raise InvalidValue(f"The number of {label} cannot be negative.")
    inquiry = EnterpriseInquiry(
        name=name.strip(),
        email=normalize_email(email),
        company=company.strip(),
        seats=seats,
        phone_numbers=phone_numbers,
        message=message.strip(),
        workspace_id=workspace_id,
        user_id=user_id,
    )
    session.add(inquiry)
    session.flush()
    return inquiry


# The keyset machinery lives in `core.keyset` (the workspace pages page by it too).
_keyset_page = keyset_page
_encode_cursor = encode_cursor
_decode_cursor = decode_cursor
