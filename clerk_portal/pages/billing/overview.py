"""The billing overview (/billing): plan, status, next invoice, usage, card, invoices, actions."""

from __future__ import annotations

import reflex as rx

from clerk_portal.components.card_form import card_script_tag
from clerk_portal.components.invoice_table import bank_transfer
from clerk_portal.components.link_button import link_button
from clerk_portal.components.plan_picker import AMOUNT_CELL, DETAIL_CELL
from clerk_portal.components.shell import page_shell
from clerk_portal.components.skeleton import card_skeleton, loading
from clerk_portal.core import routes
from clerk_portal.pages.billing.actions import (
    BillingActions,
    cancel_dialog,
    card_dialog,
    demo_tools,
)
from clerk_portal.pages.billing.details import billing_details_card
from clerk_portal.pages.billing.state import BillingState
from clerk_portal.ui.access import owners_only


def _row(label: str, value, value_id: str) -> rx.Component:
    return rx.hstack(
        rx.text(label, color_scheme="gray", size="2", min_width="140px"),
        rx.text(value, id=value_id, size="2", weight="medium"),
        spacing="3",
        wrap="wrap",
    )


def _banners() -> rx.Component:
    return rx.vstack(
        rx.cond(
            BillingState.past_due,
            rx.callout(
                rx.hstack(
                    rx.text(BillingState.banner, " ", BillingState.open_invoice_label),
                    rx.cond(
                        BillingState.invoiced,
                        rx.fragment(),  # paid by bank transfer: there is no card to retry
                        rx.button(
                            "Pay now with another card",
                            on_click=BillingActions.open_card_dialog("pay"),
                            color_scheme="red",
                            size="2",
                            id="pay-now",
                        ),
                    ),
                    align="center",
                    justify="between",
                    wrap="wrap",
                    width="100%",
                ),
                icon="triangle_alert",
                color_scheme="red",
                id="past-due-banner",
                width="100%",
            ),
        ),
        rx.cond(
            BillingState.pending_label != "",
            rx.callout(
                rx.hstack(
                    rx.text(BillingState.pending_label, id="pending-change"),
                    rx.button(
                        "Undo",
                        on_click=BillingActions.undo_pending,
                        size="1",
                        variant="soft",
                        id="undo-pending",
                    ),
                    align="center",
                    spacing="3",
                ),
                icon="calendar_clock",
                width="100%",
            ),
        ),
        rx.cond(
            BillingState.renewal_notice != "",
            rx.callout(
                rx.text(BillingState.renewal_notice, id="renewal-notice"),
                icon="calendar_clock",
                width="100%",
            ),
        ),
        rx.cond(
            BillingState.cancel_at_period_end,
            rx.callout(
                rx.hstack(
                    rx.text(BillingState.cancel_label, id="cancel-notice"),
                    rx.button(
                        "Resume subscription",
                        on_click=BillingActions.resume_subscription,
                        size="2",
                        id="resume",
                    ),
                    align="center",
                    justify="between",
                    wrap="wrap",
                    width="100%",
                ),
                icon="info",
                color_scheme="amber",
                width="100%",
            ),
        ),
        width="100%",
        spacing="3",
    )


def _plan_card() -> rx.Component:
    trial = rx.vstack(
        rx.text(BillingState.plan_status, id="trial-status"),
        link_button(BillingState.upgrade_label, routes.UPGRADE, size="3", id="upgrade-button"),
        spacing="3",
    )
    subscribed = rx.vstack(
        _row("Next invoice", BillingState.next_invoice_label, "next-invoice"),
        _row("Recurring", BillingState.recurring_label, "recurring"),
        rx.el.table(
            rx.el.tbody(
                rx.foreach(
                    BillingState.items,
                    lambda item: rx.el.tr(
                        rx.el.td(item["description"], style={"padding": "2px 0"}),
                        rx.el.td(item["detail"], style={**DETAIL_CELL, "padding": "2px 12px"}),
                        rx.el.td(item["amount"], style=AMOUNT_CELL),
                    ),
                )
            ),
            id="subscription-items",
            style={"width": "100%", "fontSize": "14px"},
        ),
        rx.hstack(
            link_button("Change plan", routes.UPGRADE, variant="soft", id="change-plan"),
            rx.cond(
                BillingState.cancel_at_period_end,
                rx.fragment(),
                rx.button(
                    "Cancel subscription",
                    on_click=BillingActions.open_cancel_dialog,
                    variant="soft",
                    color_scheme="red",
                    id="cancel-subscription",
                ),
            ),
            spacing="3",
            wrap="wrap",
        ),
        spacing="3",
        width="100%",
    )
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(BillingState.plan_label, size="5", as_="h2", id="plan-label"),
                rx.badge(
                    BillingState.status_label,
                    color_scheme=BillingState.status_color,
                    variant="soft",
                    id="billing-status",
                    size="2",
                ),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
            rx.cond(BillingState.has_subscription, subscribed, trial),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _usage_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Usage", size="4", as_="h2"),
            rx.cond(
                BillingState.numbers_label == "",
                _row("In use", BillingState.seats_label, "seats-usage"),  # on trial
                rx.fragment(
                    _row("Seats", BillingState.seats_label, "seats-usage"),
                    _row("Phone numbers", BillingState.numbers_label, "numbers-usage"),
                ),
            ),
            rx.cond(
                BillingState.syncing,
                rx.text("Updating your subscription…", size="1", color_scheme="gray", id="syncing"),
            ),
            spacing="2",
        ),
        width="100%",
    )


def _card_on_file() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Payment method", size="4", as_="h2"),
            rx.text(BillingState.card_label, id="card-on-file", size="2"),
            rx.cond(
                BillingState.has_subscription & ~BillingState.invoiced,
                rx.button(
                    "Replace card",
                    on_click=BillingActions.open_card_dialog("replace"),
                    variant="soft",
                    size="2",
                    id="replace-card",
                ),
            ),
            spacing="2",
        ),
        width="100%",
    )


def _invoices() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Latest invoices", size="4", as_="h2"),
                rx.link("All invoices", href=routes.INVOICES, size="2"),
                justify="between",
                width="100%",
            ),
            rx.cond(
                BillingState.invoices.length() > 0,
                rx.vstack(
                    rx.foreach(
                        BillingState.invoices,
                        lambda invoice: rx.hstack(
                            rx.text(invoice["date"], size="2", min_width="96px"),
                            rx.text(invoice["number"], size="2", min_width="96px"),
                            rx.text(invoice["amount"], size="2", weight="medium"),
                            rx.badge(invoice["status"]),
                            bank_transfer(invoice),
                            rx.cond(
                                invoice["payable"],
                                rx.button(
                                    "Pay now",
                                    on_click=BillingActions.open_pay_dialog(invoice["id"]),
                                    size="1",
                                    aria_label="Pay now: invoice " + invoice["number"],
                                ),
                            ),
                            rx.cond(
                                invoice["voidable"],
                                rx.button(
                                    "Void",
                                    on_click=BillingActions.void_invoice(invoice["id"]),
                                    size="1",
                                    variant="soft",
                                    color_scheme="gray",
                                    aria_label="Void invoice " + invoice["number"],
                                ),
                            ),
                            rx.cond(
                                invoice["pdf_url"] != "",
                                rx.link(
                                    "PDF",
                                    href=invoice["pdf_url"],
                                    is_external=True,
                                    download=True,
                                    size="2",
                                    aria_label="PDF of invoice " + invoice["number"],
                                ),
                            ),
                            spacing="3",
                            align="center",
                            wrap="wrap",
                        ),
                    ),
                    id="latest-invoices",
                    spacing="2",
                ),
                rx.text(
                    "No invoices yet: your first invoice appears when you upgrade.",
                    size="2",
                    color_scheme="gray",
                    id="no-invoices",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def billing_overview() -> rx.Component:
    owner_view = rx.cond(
        BillingState.loaded,
        rx.vstack(
            _banners(),
            _plan_card(),
            rx.grid(
                _usage_card(),
                _card_on_file(),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            _invoices(),
            billing_details_card(),
            demo_tools(),
            cancel_dialog(),
            card_dialog(),
            spacing="4",
            width="100%",
        ),
        loading(
            card_skeleton(4, min_height="200px"),
            rx.grid(
                card_skeleton(2, min_height="120px"),
                card_skeleton(2, min_height="120px"),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            card_skeleton(2, min_height="120px"),
            element_id="billing-loading",
        ),
    )
    return page_shell("Billing", owners_only(owner_view), card_script_tag())
