"""The invoices page's rows: the mirror's invoices of one workspace, newest first, a page at a
time (no Stripe call). Cents and datetimes: the page formats them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from clerk_portal.billing import ledger
from clerk_portal.core import formats
from clerk_portal.core.db import in_db

SEND_INVOICE = "send_invoice"
BANK_TRANSFER = "Pay by bank transfer"


def shown_status(status: str, overdue: bool) -> str:
    """The status a row shows: an open invoice Stripe said is overdue is "past due" (Stripe's
    own status stays open)."""
    return "past due" if status == "open" and overdue else status


def due_note(status: str, collection_method: str, due_date: datetime | None) -> str:
    """ "Due Feb 1, 2027" for an invoiced customer's open invoice, else ""."""
    if collection_method != SEND_INVOICE or status != "open" or due_date is None:
        return ""
    return f"Due {formats.day(due_date)}"


@dataclass(frozen=True)
class ListedInvoice:
    id: int
    stripe_invoice_id: str
    number: str | None  # None: a draft
    status: str
    total_cents: int
    currency: str
    created: datetime
    period_start: datetime | None
    period_end: datetime | None
    pdf_url: str | None
    collection_method: str = "charge_automatically"
    due_date: datetime | None = None
    overdue: bool = False
    hosted_url: str | None = None

    @property
    def invoiced(self) -> bool:
        """Paid by the customer (bank transfer), never charged to a card by Stripe."""
        return self.collection_method == SEND_INVOICE


def invoice_list_page(
    session: Session, *, workspace_id: int, limit: int, cursor: str | None = None
) -> ledger.Page[ListedInvoice]:
    page = ledger.invoice_page(session, workspace_id=workspace_id, limit=limit, cursor=cursor)
    rows = [
        ListedInvoice(
            id=invoice.id,
            stripe_invoice_id=invoice.stripe_invoice_id,
            number=invoice.number,
            status=invoice.status,
            total_cents=invoice.total_cents,
            currency=invoice.currency,
            created=invoice.created,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            pdf_url=invoice.invoice_pdf_url,
            collection_method=invoice.collection_method,
            due_date=invoice.due_date,
            overdue=invoice.overdue,
            hosted_url=invoice.hosted_invoice_url,
        )
        for invoice in page.items
        if invoice.id is not None
    ]
    return ledger.Page(rows, page.next_cursor)


async def load_invoice_page(
    workspace_id: int, *, limit: int, cursor: str | None = None
) -> ledger.Page[ListedInvoice]:
    return await in_db(
        lambda session: invoice_list_page(
            session, workspace_id=workspace_id, limit=limit, cursor=cursor
        )
    )
