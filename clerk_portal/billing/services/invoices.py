"""Invoices: the list comes from the mirror (paginated); the PDF is Stripe's `invoice_pdf`,
fetched for the owner and passed on from the portal's own origin (a link to Stripe's host cannot
be a same-origin `download`); an open invoice of an ended subscription can be voided (Stripe
voids only open invoices)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from sqlmodel import Session, select

from clerk_portal.billing import ledger, mirror
from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.gateway import BillingGateway, InvoiceSnapshot, gateway_or_default
from clerk_portal.billing.read_models.overview import InvoiceRow, _invoice_row
from clerk_portal.billing.services.common import (
    actor_name,
    load_account,
    write_mirror,
)
from clerk_portal.core.db import in_db
from clerk_portal.core.errors import NotFound
from clerk_portal.core.settings import get_settings
from clerk_portal.models import BillingAccount, Invoice
from clerk_portal.models.status import ENDED
from clerk_portal.workspace import repository


async def list_invoices(
    *, workspace_id: int, limit: int = 20, cursor: str | None = None
) -> ledger.Page[InvoiceRow]:
    """Newest first; pass `next_cursor` back for the next page. No Stripe call."""
    limit = max(1, min(limit, 100))

    def read(session: Session) -> ledger.Page[InvoiceRow]:
        page = ledger.invoice_page(session, workspace_id=workspace_id, limit=limit, cursor=cursor)
        status = repository.get_billing_account(session, workspace_id=workspace_id).status
        rows = [_invoice_row(row, status) for row in page.items]
        return ledger.Page(rows, page.next_cursor)

    return await in_db(read)


async def invoice_pdf_url(
    *, workspace_id: int, stripe_invoice_id: str, gateway: BillingGateway | None = None
) -> str:
    """The PDF link of one of this workspace's invoices (asks Stripe only if not mirrored yet)."""

    invoice = await in_db(lambda session: _invoice_of(session, workspace_id, stripe_invoice_id))
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


@dataclass(frozen=True)
class InvoicePdf:
    filename: str
    chunks: AsyncIterator[bytes]


PDF_HOSTS = ("stripe.com", ".stripe.com")  # pay.stripe.com, then files.stripe.com
PDF_TIMEOUT_SECONDS = 30


def _from_stripe(url: str) -> bool:
    """Only Stripe's hosts (or the configured API's, the demo sandbox) are fetched: the URL is
    from the mirror, but the server must not be made to fetch anything else."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and (host == PDF_HOSTS[0] or host.endswith(PDF_HOSTS[1])):
        return True
    api = get_settings().stripe_api_base_url
    return api is not None and (parts.scheme, parts.netloc) == urlsplit(api)[:2]


async def open_invoice_pdf(*, workspace_id: int, stripe_invoice_id: str) -> InvoicePdf:
    """The PDF of one of this workspace's invoices, streamed from Stripe; NotFound for another
    workspace's invoice (or none), a draft's, or a PDF Stripe does not give."""
    url = await invoice_pdf_url(workspace_id=workspace_id, stripe_invoice_id=stripe_invoice_id)
    if not _from_stripe(url):
        raise NotFound("This invoice's PDF is not available.")
    number = await in_db(
        lambda session: getattr(_invoice_of(session, workspace_id, stripe_invoice_id), "number", "")
    )
    client = httpx.AsyncClient(follow_redirects=True, timeout=PDF_TIMEOUT_SECONDS)
    try:
        response = await client.send(client.build_request("GET", url), stream=True)
    except httpx.HTTPError as error:
        await client.aclose()
        raise NotFound("Stripe did not give this invoice's PDF: please try again.") from error
    if response.status_code != 200:
        await response.aclose()
        await client.aclose()
        raise NotFound("Stripe did not give this invoice's PDF: please try again.")

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_bytes():
                yield chunk
        finally:
            await response.aclose()
            await client.aclose()

    safe = re.sub(r"[^A-Za-z0-9._-]", "-", number or stripe_invoice_id)[:80]
    return InvoicePdf(filename=f"Invoice-{safe}.pdf", chunks=chunks())


async def void_open_invoice(
    *,
    workspace_id: int,
    actor_user_id: int | None,
    stripe_invoice_id: str,
    gateway: BillingGateway | None = None,
) -> InvoiceSnapshot:
    """Void an open invoice of a canceled subscription: nothing more will be collected for it."""
    gateway = gateway_or_default(gateway)

    def check(session: Session) -> None:
        account = repository.get_billing_account(session, workspace_id=workspace_id)
        invoice = _invoice_of(session, workspace_id, stripe_invoice_id)
        if invoice is None:
            raise NotFound("That invoice is not in this workspace.")
        if invoice.status != "open" or account.status not in ENDED:
            raise BillingError(
                "Only an open invoice of a canceled subscription can be voided: pay it instead."
            )

    await in_db(check)
    view = await load_account(workspace_id)
    voided = await gateway.void_invoice(
        stripe_invoice_id, idempotency_key=f"{view.namespace}:void:{stripe_invoice_id}"
    )

    def apply(session: Session, account: BillingAccount, snap: InvoiceSnapshot) -> InvoiceSnapshot:
        mirror.apply_invoice(session, account, snap)
        ledger.record_activity(
            session,
            workspace_id=workspace_id,
            actor_user_id=actor_user_id,
            kind="invoice_voided",
            summary=f"{actor_name(session, actor_user_id)} voided invoice "
            f"{snap.number or snap.id} of the canceled subscription",
        )
        return snap

    return await write_mirror(
        workspace_id,
        seen_version=view.mirror_version,
        first=voided,
        refetch=lambda: gateway.retrieve_invoice(stripe_invoice_id),
        apply=apply,
    )


def _invoice_of(session: Session, workspace_id: int, stripe_invoice_id: str) -> Invoice | None:
    return session.exec(
        select(Invoice).where(
            Invoice.stripe_invoice_id == stripe_invoice_id,
            Invoice.workspace_id == workspace_id,
        )
    ).first()
