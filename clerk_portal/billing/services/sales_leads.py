"""Enterprise sales leads from the "Contact sales" form: the form as the server accepts it, and
its storage within a total bound.

Everyone together stores at most TOTAL_PER_HOUR requests an hour, so the table grows by a bounded
number of rows of bounded size (about 6 KB each) whatever comes in. The per-sender allowance is
the caller's (it knows the sender's address).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from clerk_portal.billing import ledger
from clerk_portal.core import text_input
from clerk_portal.core.db import session_scope
from clerk_portal.core.errors import DomainError, InvalidValue
from clerk_portal.models import EnterpriseInquiry, utcnow

TOTAL_PER_HOUR = 100
TOO_MANY_IN_TOTAL = (
    "Our sales team has received many requests in the last hour: please try again later."
)


@dataclass(frozen=True)
class Inquiry:
    name: str
    email: str
    company: str
    seats: int | None
    phone_numbers: int | None
    message: str


def read_form(form: object) -> Inquiry:
    """The form as the server accepts it: every field capped, no control characters."""
    if not isinstance(form, dict):
        raise InvalidValue("Please fill in the form.")
    return Inquiry(
        name=text_input.clean(
            form.get("name"), label="name", max_length=text_input.NAME, required=True
        ),
        email=text_input.email(form.get("email"), label="work email"),
        company=text_input.clean(
            form.get("company"), label="company", max_length=text_input.COMPANY
        ),
        seats=text_input.count(form.get("seats"), label="seats"),
        phone_numbers=text_input.count(form.get("numbers"), label="phone numbers"),
        message=text_input.clean(
            form.get("message"), label="message", max_length=text_input.MESSAGE, multiline=True
        ),
    )


def _recent_inquiries(session: Session) -> int:
    since = utcnow() - timedelta(hours=1)
    query = select(func.count()).where(col(EnterpriseInquiry.created_at) >= since)
    return session.exec(query).one()


def _store(inquiry: Inquiry) -> None:
    with session_scope() as session:
        if session.get_bind().dialect.name == "postgresql":  # concurrent senders count in turn
            session.execute(sa.text("LOCK TABLE enterprise_inquiry IN SHARE ROW EXCLUSIVE MODE"))
        if _recent_inquiries(session) >= TOTAL_PER_HOUR:
            raise DomainError(TOO_MANY_IN_TOTAL)
        ledger.add_enterprise_inquiry(
            session,
            name=inquiry.name,
            email=inquiry.email,
            company=inquiry.company,
            seats=inquiry.seats,
            phone_numbers=inquiry.phone_numbers,
            message=inquiry.message,
        )


async def record_inquiry(inquiry: Inquiry) -> None:
    """Store the lead (off the event loop), or refuse with TOO_MANY_IN_TOTAL."""
    await asyncio.to_thread(_store, inquiry)


@dataclass(frozen=True)
class Lead:
    name: str
    email: str
    company: str
    seats: int | None
    phone_numbers: int | None
    message: str
    status: str
    created_at: datetime


def _leads(limit: int) -> list[Lead]:
    with session_scope() as session:
        rows = session.exec(
            select(EnterpriseInquiry)
            .order_by(col(EnterpriseInquiry.created_at).desc(), col(EnterpriseInquiry.id).desc())
            .limit(limit)
        ).all()
        return [
            Lead(
                r.name,
                r.email,
                r.company,
                r.seats,
                r.phone_numbers,
                r.message,
                r.status,
                r.created_at,
            )
            for r in rows
        ]


async def list_leads(*, limit: int = 50) -> list[Lead]:
    """The newest contact-sales leads first (the rep's sales page)."""
    return await asyncio.to_thread(_leads, limit)
