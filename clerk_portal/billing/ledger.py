"""Plain functions over a session: the billing history (activity lines, mirrored invoices) and
the sales leads, with keyset pages for the lists the history and invoices pages show.

Like `workspace.repository`: the session first, keyword-only arguments, flush but never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from clerk_portal.core.errors import InvalidValue
from clerk_portal.core.keyset import Page, decode_cursor, encode_cursor, keyset_page
from clerk_portal.models import BillingActivity, EnterpriseInquiry, Invoice, utcnow
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
    """Mirror one Stripe invoice (by its id); `fields` are Invoice columns."""
    unknown = set(fields) - set(Invoice.model_fields)
    if unknown:
        raise TypeError(f"not Invoice columns: {', '.join(sorted(unknown))}")
    invoice = session.exec(
        select(Invoice).where(Invoice.stripe_invoice_id == stripe_invoice_id)
    ).first()
    if invoice is None:
        invoice = Invoice(
            workspace_id=workspace_id, stripe_invoice_id=stripe_invoice_id, created=created
        )
    for name, value in {"created": created, **fields, "updated_at": utcnow()}.items():
        setattr(invoice, name, value)
    session.add(invoice)
    session.flush()
    return invoice


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
    rows = session.exec(
        select(
            Invoice.stripe_invoice_id,
            Invoice.status,
            Invoice.total_cents,
            Invoice.amount_paid_cents,
        ).where(
            Invoice.workspace_id == workspace_id,
            col(Invoice.stripe_invoice_id).in_(list(stripe_invoice_ids)),
        )
    ).all()
    return {stripe_id: (status, total, paid) for stripe_id, status, total, paid in rows}


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
__all__ = ["Page"]
