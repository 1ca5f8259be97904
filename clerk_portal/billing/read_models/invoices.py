"""The invoices page's rows: the mirror's invoices of one workspace, newest first, a page at a
time (no Stripe call). Cents and datetimes: the page formats them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from clerk_portal.billing import ledger
from clerk_portal.core.db import in_db


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
