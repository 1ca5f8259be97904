"""The sales page's pieces (pages/sales.py): the quote compose form, the quote list and the
contact-sales leads. Pure UI over the page's state, passed in (`SalesState`)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from clerk_portal.billing.catalog import get_catalog


def _field(
    state: Any, label: str, name: str, *, kind: str = "text", error: rx.Var | str = "", **props
) -> rx.Component:
    field_id = f"quote-{name.replace('_', '-')}"
    return rx.vstack(
        rx.el.label(label, html_for=field_id, style={"fontSize": "14px"}),
        rx.input(
            id=field_id,
            type=kind,
            value=state.form[name],
            on_change=lambda value: state.set_field(name, value),
            aria_invalid=rx.cond(error != "", "true", "false"),
            width="100%",
            **props,
        ),
        rx.cond(error != "", rx.text(error, size="1", color_scheme="red", id=f"{field_id}-error")),
        spacing="1",
        width="100%",
    )


def _choice(state: Any, label: str, name: str, options: list[tuple[str, str]]) -> rx.Component:
    field_id = f"quote-{name.replace('_', '-')}"
    return rx.vstack(
        rx.el.label(label, html_for=field_id, style={"fontSize": "14px"}),
        rx.el.select(
            *[rx.el.option(text, value=value) for value, text in options],
            id=field_id,
            value=state.form[name],
            on_change=lambda value: state.set_field(name, value),
        ),
        spacing="1",
    )


def quote_form(state: Any) -> rx.Component:
    """The compose form: fields checked as typed (the state's `set_field`), Create quote."""
    plans = [(p.id, p.name) for p in get_catalog().self_serve_plans]
    return rx.card(
        rx.vstack(
            rx.heading("New quote", size="4", as_="h2"),
            rx.hstack(
                _choice(state, "Plan", "plan", plans),
                _choice(state, "Billing", "interval", [("month", "Monthly"), ("year", "Yearly")]),
                _field(state, "Seats", "seats", error=state.seats_error, input_mode="numeric"),
                _field(
                    state,
                    "Phone numbers",
                    "numbers",
                    error=state.numbers_error,
                    input_mode="numeric",
                ),
                spacing="3",
                wrap="wrap",
                width="100%",
            ),
            rx.hstack(
                _field(state, "Prospect's company", "company", max_length=120),
                _field(state, "Prospect's email", "email", kind="email", max_length=254),
                spacing="3",
                width="100%",
            ),
            rx.hstack(
                _field(state, "Discount (20% or $50, optional)", "discount", max_length=20),
                _choice(
                    state,
                    "Lasts",
                    "discount_duration",
                    [
                        ("once", "First invoice"),
                        ("repeating", "Some months"),
                        ("forever", "Forever"),
                    ],
                ),
                _field(state, "Months", "discount_months", input_mode="numeric", max_length=2),
                _field(state, "Valid until", "expires", kind="date"),
                spacing="3",
                wrap="wrap",
                width="100%",
            ),
            _field(state, "Note on the quote (optional)", "note", max_length=2000),
            rx.text(state.preview, size="2", id="quote-preview"),
            rx.cond(
                state.problem != "",
                rx.text(
                    state.problem,
                    size="2",
                    color_scheme="red",
                    id="quote-problem",
                    role="status",
                ),
            ),
            rx.button(
                "Create quote",
                on_click=state.create_quote,
                loading=state.working,
                disabled=state.problem != "",
                id="create-quote",
            ),
            rx.cond(
                state.created_link != "",
                rx.hstack(
                    rx.text("Share link: ", size="2"),
                    rx.link(state.created_link, href=state.created_link, id="quote-link"),
                    rx.button(
                        "Copy",
                        on_click=rx.set_clipboard(state.created_link),
                        size="1",
                        variant="soft",
                    ),
                    wrap="wrap",
                ),
            ),
            rx.cond(
                state.error != "",
                rx.callout(
                    state.error, icon="triangle_alert", color_scheme="red", id="sales-error"
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def quote_list(state: Any) -> rx.Component:
    """Every quote: number (its link), status, prospect, total."""
    return rx.vstack(
        rx.heading("Quotes", size="4", as_="h2"),
        rx.el.table(
            rx.el.thead(
                rx.el.tr(
                    *[
                        rx.el.th(h, scope="col", style={"textAlign": "left"})
                        for h in ("Quote", "Status", "Prospect", "Total", "")
                    ]
                )
            ),
            rx.el.tbody(
                rx.foreach(
                    state.quotes,
                    lambda q: rx.el.tr(
                        rx.el.td(rx.link(q["number"], href=q["link"])),
                        rx.el.td(rx.badge(q["status"])),
                        rx.el.td(q["prospect"]),
                        rx.el.td(q["total"]),
                        rx.el.td(
                            rx.cond(
                                q["status"] == "open",
                                rx.button(
                                    "Withdraw",
                                    on_click=state.withdraw_quote(q["token"]),
                                    size="1",
                                    variant="soft",
                                    color_scheme="red",
                                    aria_label="Withdraw quote " + q["number"],
                                ),
                            )
                        ),
                    ),
                )
            ),
            id="quote-list",
            width="100%",
        ),
        width="100%",
    )


def lead_list(state: Any) -> rx.Component:
    """The contact-sales leads, newest first."""
    return rx.vstack(
        rx.heading("Contact-sales leads", size="4", as_="h2"),
        rx.foreach(
            state.leads,
            lambda lead: rx.card(
                rx.text(lead["who"], weight="bold", size="2"),
                rx.text(lead["company"], " · ", lead["team"], " · ", lead["when"], size="1"),
                rx.text(lead["message"], size="1", color_scheme="gray"),
                width="100%",
            ),
        ),
        id="sales-leads",
        width="100%",
    )
