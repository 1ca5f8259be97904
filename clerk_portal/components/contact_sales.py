"""The Enterprise "Contact sales" dialog: the form, its refusal and the thanks (the state is
`ui.contact_sales.ContactSalesState`)."""

from __future__ import annotations

import reflex as rx

from clerk_portal.core import text_input
from clerk_portal.ui.contact_sales import ContactSalesState


def _field(label: str, name: str, **props) -> rx.Component:
    field_id = f"contact-{name}"
    return rx.vstack(
        rx.el.label(label, html_for=field_id, style={"fontSize": "14px", "fontWeight": 500}),
        rx.input(name=name, id=field_id, width="100%", **props),
        spacing="1",
        width="100%",
    )


def contact_sales_dialog() -> rx.Component:
    form = rx.form(
        rx.vstack(
            _field(
                "Your name", "name", required=True, auto_complete="name", max_length=text_input.NAME
            ),
            _field(
                "Work email",
                "email",
                type="email",
                required=True,
                auto_complete="email",
                max_length=text_input.EMAIL,
            ),
            _field(
                "Company", "company", auto_complete="organization", max_length=text_input.COMPANY
            ),
            rx.hstack(
                _field(
                    "Seats",
                    "seats",
                    type="number",
                    min=1,
                    max=10**text_input.COUNT_DIGITS - 1,
                    default_value=ContactSalesState.seats,
                ),
                _field(
                    "Phone numbers",
                    "numbers",
                    type="number",
                    min=0,
                    max=10**text_input.COUNT_DIGITS - 1,
                    default_value=ContactSalesState.numbers,
                ),
                spacing="3",
                width="100%",
            ),
            rx.vstack(
                rx.el.label("Message", html_for="contact-message", style={"fontSize": "14px"}),
                rx.text_area(
                    name="message",
                    id="contact-message",
                    width="100%",
                    rows="3",
                    max_length=text_input.MESSAGE,
                ),
                spacing="1",
                width="100%",
            ),
            rx.cond(
                ContactSalesState.error != "",
                rx.callout(
                    ContactSalesState.error,
                    icon="triangle_alert",
                    color_scheme="red",
                    id="contact-error",
                ),
            ),
            rx.hstack(
                rx.dialog.close(rx.button("Cancel", variant="soft", type="button")),
                rx.button(
                    "Send", type="submit", loading=ContactSalesState.sending, id="contact-send"
                ),
                justify="end",
                width="100%",
            ),
            spacing="3",
        ),
        on_submit=ContactSalesState.submit_inquiry,
    )
    thanks = rx.vstack(
        rx.callout(
            "Thank you: our sales team will be in touch within a day.",
            icon="check",
            color_scheme="green",
            id="contact-thanks",
        ),
        rx.dialog.close(rx.button("Close", variant="soft")),
        spacing="3",
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Talk to sales about Enterprise"),
            rx.dialog.description(
                "Tell us about your team and we will put together a plan.", margin_bottom="12px"
            ),
            rx.cond(ContactSalesState.sent, thanks, form),
            max_width="480px",
        ),
        open=ContactSalesState.open,
        on_open_change=lambda is_open: rx.cond(
            is_open, ContactSalesState.open_contact_sales, ContactSalesState.close_contact_sales
        ),
    )
