"""Invoices (/invoices, owners only): the mirror's invoices, newest first, with their PDFs."""

from __future__ import annotations

from typing import TypedDict

import reflex as rx

from clerk_portal.billing.pricing import format_cents
from clerk_portal.billing.read_models.invoices import (
    BANK_TRANSFER,
    ListedInvoice,
    due_note,
    load_invoice_page,
    shown_status,
)
from clerk_portal.components.invoice_table import invoice_table
from clerk_portal.components.shell import page_shell
from clerk_portal.components.skeleton import loading, table_skeleton
from clerk_portal.core import formats, routes
from clerk_portal.ui import guard
from clerk_portal.ui.access import owners_only
from clerk_portal.ui.live import LiveWatch

PAGE_SIZE = 10
STATUS_COLORS = {"paid": "green", "open": "amber", "draft": "gray", "void": "gray"}


class InvoiceRow(TypedDict):
    key: str
    date: str
    number: str
    period: str
    amount: str
    status: str
    status_color: str
    pdf_url: str
    payable: bool
    due: str  # "Due Feb 1, 2027": an invoiced customer's open invoice
    bank_transfer: str  # how an invoiced customer pays it; "" for a card-paid one
    hosted_url: str


def _row(invoice: ListedInvoice) -> InvoiceRow:
    status = shown_status(invoice.status, invoice.overdue)
    return InvoiceRow(
        key=str(invoice.id),
        date=formats.day(invoice.created, "—"),
        number=invoice.number or "Draft",
        period=formats.day_span(invoice.period_start, invoice.period_end),
        amount=format_cents(invoice.total_cents, invoice.currency),
        status=status,
        status_color=STATUS_COLORS.get(status, "red"),
        pdf_url=routes.invoice_pdf(invoice.stripe_invoice_id) if invoice.pdf_url else "",
        payable=invoice.status == "open" and not invoice.invoiced,
        due=due_note(invoice.status, invoice.collection_method, invoice.due_date),
        bank_transfer=BANK_TRANSFER if invoice.status == "open" and invoice.invoiced else "",
        hosted_url=invoice.hosted_url or "",
    )


async def _page(workspace_id: int, cursor: str | None) -> tuple[list[InvoiceRow], str | None]:
    page = await load_invoice_page(workspace_id, limit=PAGE_SIZE, cursor=cursor)
    return [_row(invoice) for invoice in page.items], page.next_cursor


class InvoicesState(LiveWatch, rx.State):
    invoices: list[InvoiceRow] = []
    loaded: bool = False
    loading_more: bool = False
    has_more: bool = False
    _cursor: str | None = None

    @rx.event
    @guard.owner_page_loader  # non-owners read who the owners are on the page, no toast
    async def load_invoices(self):
        rows, self._cursor = await _page(guard.principal().workspace_id, None)
        self.invoices, self.has_more, self.loaded = rows, self._cursor is not None, True
        return InvoicesState.watch_live

    async def _live_reload(self, who: guard.Principal) -> None:
        if who.role != "owner":
            return
        rows, cursor = await _page(who.workspace_id, None)
        async with self:  # back to the newest page: a new invoice goes on top
            if await self._still_shown_to(who):
                self.invoices, self._cursor, self.has_more = rows, cursor, cursor is not None

    @rx.event
    @guard.owner_only
    async def load_older_invoices(self):
        if self._cursor is None:
            return
        self.loading_more = True
        yield
        rows, self._cursor = await _page(guard.principal().workspace_id, self._cursor)
        self.invoices = [*self.invoices, *rows]
        self.has_more, self.loading_more = self._cursor is not None, False


def invoices() -> rx.Component:
    return page_shell(
        "Invoices",
        owners_only(
            rx.vstack(
                rx.cond(
                    InvoicesState.loaded,
                    invoice_table(InvoicesState),
                    loading(table_skeleton(4), element_id="invoices-loading"),
                ),
                rx.link("See the billing history", href=routes.HISTORY, id="to-history"),
                spacing="4",
                width="100%",
                on_unmount=InvoicesState.stop_live,
            )
        ),
    )
