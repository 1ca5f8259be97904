"""The invoice table: date, number, period, amount, status (open: "Pay now") and the PDF; an empty
state on trial."""

from __future__ import annotations

import reflex as rx

from clerk_portal.components.table import cell, empty_state, scroll_table
from clerk_portal.core import routes

# The period is the first column to go on a narrow table; as a card on a phone it is shown again.
WIDE_ONLY = rx.breakpoints(initial="none", sm="table-cell")
EMPTY = "No invoices yet: your first invoice appears when you upgrade."


def _pdf(row) -> rx.Component:
    return rx.cond(
        row["pdf_url"] != "",
        rx.link(
            rx.hstack(rx.icon("download", size=14), rx.text("PDF"), align="center", spacing="1"),
            href=row["pdf_url"],
            # a plain link (not the router's): the browser downloads it from this origin
            is_external=True,
            download=True,
            aria_label="PDF of invoice "
            + row["number"],  # starts with the visible text (WCAG 2.5.3)
        ),
        rx.text("—", color_scheme="gray"),
    )


def bank_transfer(row) -> rx.Component:
    """An invoiced customer's open invoice: its due date, and how to pay (the hosted invoice
    page gives the bank details)."""
    return rx.fragment(
        rx.cond(row["due"] != "", rx.text(row["due"], size="2", white_space="nowrap")),
        rx.cond(
            row["bank_transfer"] != "",
            rx.cond(
                row["hosted_url"] != "",
                rx.link(
                    row["bank_transfer"],
                    href=row["hosted_url"],
                    is_external=True,
                    size="2",
                    aria_label=row["bank_transfer"] + ": invoice " + row["number"],
                ),
                rx.text(row["bank_transfer"], size="2"),
            ),
        ),
    )


def _status(row) -> rx.Component:
    """The status, and for an open invoice the way to pay it (the card form is on Billing; an
    invoiced customer pays by bank transfer by the due date)."""
    return rx.hstack(
        rx.badge(
            row["status"], color_scheme=row["status_color"], variant="soft", high_contrast=True
        ),
        bank_transfer(row),
        rx.cond(
            row["payable"],
            rx.link(
                "Pay now",
                href=routes.BILLING,
                size="2",
                aria_label="Pay now: invoice " + row["number"],
            ),
        ),
        align="center",
        spacing="2",
        wrap="wrap",
    )


def _row(row) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(row["date"], white_space="nowrap"),
        cell(row["number"], "Number", white_space="nowrap"),
        cell(row["period"], "Period", white_space="nowrap", display=WIDE_ONLY),
        cell(row["amount"], "Amount", white_space="nowrap", text_align="right"),
        cell(_status(row), "Status"),
        cell(_pdf(row), "PDF"),
        align="center",
    )


def invoice_table(state) -> rx.Component:
    return rx.cond(
        state.invoices.length() > 0,
        rx.vstack(
            scroll_table(
                ["Date", "Number", ("Period", WIDE_ONLY), "Amount", "Status", "PDF"],
                rx.foreach(state.invoices, _row),
                table_id="invoice-table",
                label="Invoices",
            ),
            rx.cond(
                state.has_more,
                rx.button(
                    "Older invoices",
                    on_click=state.load_older_invoices,
                    loading=state.loading_more,
                    variant="soft",
                    id="invoices-older",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        empty_state(EMPTY, icon="receipt", element_id="invoices-empty"),
    )
