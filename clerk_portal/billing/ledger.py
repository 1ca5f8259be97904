"""Plain functions over a session: the billing history (activity lines, mirrored invoices) and
the sales leads, with keyset pages for the lists the history and invoices pages show.

Like `workspace.repository`: the session first, keyword-only arguments, flush but never commit.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from clerk_portal.core.errors import InvalidValue
from clerk_portal.models import BillingActivity, EnterpriseInquiry, Invoice, utcnow
from clerk_portal.workspace.repository import normalize_email

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a newest-first list; pass `next_cursor` back for the next (None: the end)."""

    items: list[T]
    next_cursor: str | None


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
    return _keyset_page(
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
    return _keyset_page(session, query, Invoice.created, Invoice.id, limit, cursor)


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


def _keyset_page(
    session: Session, query: Any, created: Any, row_id: Any, limit: int, cursor: str | None
) -> Page[Any]:
    if not 1 <= limit <= 100:
        raise InvalidValue("A page holds between 1 and 100 rows.")
    if cursor:
        after_created, after_id = _decode_cursor(cursor)
        query = query.where(
            sa.or_(created < after_created, sa.and_(created == after_created, row_id < after_id))
        )
    rows: Sequence[Any] = session.exec(
        query.order_by(col(created).desc(), col(row_id).desc()).limit(limit + 1)
    ).all()
    items = list(rows[:limit])
    more = len(rows) > limit
    last = items[-1] if items else None
    next_cursor = (
        _encode_cursor(getattr(last, created.key), getattr(last, row_id.key))
        if more and last
        else None
    )
    return Page(items, next_cursor)


def _encode_cursor(created: datetime, row_id: int) -> str:
    raw = f"{created.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, row_id = raw.split("|")
        moment = datetime.fromisoformat(created)
        if moment.utcoffset() is None:
            raise ValueError("naive")
        return moment, int(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidValue(
            "That page link is not valid any more: start from the first page."
        ) from None
