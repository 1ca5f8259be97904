"""Invoices: the list comes from the mirror (paginated); the PDF link is Stripe's `invoice_pdf`."""

from __future__ import annotations

from sqlmodel import Session, select

from clerk_portal.billing import mirror, repository
from clerk_portal.billing.gateway import InvoiceSnapshot, StripeGateway
from clerk_portal.billing.overview import InvoiceRow, _invoice_row
from clerk_portal.billing.services.common import (
    gateway_or_default,
    in_db,
    load_account,
    write_mirror,
)
from clerk_portal.domain_errors import NotFound
from clerk_portal.models import BillingAccount, Invoice


async def list_invoices(
    *, workspace_id: int, limit: int = 20, cursor: str | None = None
) -> repository.Page[InvoiceRow]:
    """Newest first; pass `next_cursor` back for the next page. No Stripe call."""
    limit = max(1, min(limit, 100))

    def read(session: Session) -> repository.Page[InvoiceRow]:
        page = repository.invoice_page(
            session, workspace_id=workspace_id, limit=limit, cursor=cursor
        )
        return repository.Page([_invoice_row(row) for row in page.items], page.next_cursor)

    return await in_db(read)


async def invoice_pdf_url(
    *, workspace_id: int, stripe_invoice_id: str, gateway: StripeGateway | None = None
) -> str:
    """The PDF link of one of this workspace's invoices (asks Stripe only if not mirrored yet)."""

    def read(session: Session) -> Invoice | None:
        return session.exec(
            select(Invoice).where(
                Invoice.stripe_invoice_id == stripe_invoice_id,
                Invoice.workspace_id == workspace_id,
            )
        ).first()

    invoice = await in_db(read)
    if invoice is None:
        raise NotFound("That invoice is not in this workspace.")
    if invoice.invoice_pdf_url:
        return invoice.invoice_pdf_url
    gateway = gateway_or_default(gateway)
    view = await load_account(workspace_id)
    fresh = await gateway.retrieve_invoice(stripe_invoice_id)

    def apply(session: Session, account: BillingAccount, snap: InvoiceSnapshot) -> None:
        mirror.apply_invoice(session, account, snap)

    await write_mirror(
        workspace_id,
        seen_version=view.mirror_version,
        first=fresh,
        refetch=lambda: gateway.retrieve_invoice(stripe_invoice_id),
        apply=apply,
    )
    if not fresh.invoice_pdf:
        raise NotFound("This invoice has no PDF yet (it is still a draft).")
    return fresh.invoice_pdf
