"""The Enterprise "Contact sales" form: validated, stored, acknowledged."""

from __future__ import annotations

import asyncio

import reflex as rx

from clerk_portal.auth.guard import public_handler
from clerk_portal.billing import repository
from clerk_portal.db import session_scope
from clerk_portal.domain_errors import DomainError

MAX_MESSAGE = 4000


def _optional_count(raw: object, label: str) -> int | None:
    text = str(raw or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise DomainError(f"The number of {label} must be a whole number.")
    return int(text)


def _store(form: dict) -> None:
    message = str(form.get("message") or "")
    if len(message) > MAX_MESSAGE:
        raise DomainError(f"Please keep the message under {MAX_MESSAGE} characters.")
    with session_scope() as session:
        repository.add_enterprise_inquiry(
            session,
            name=str(form.get("name") or ""),
            email=str(form.get("email") or ""),
            company=str(form.get("company") or "")[:200],
            seats=_optional_count(form.get("seats"), "seats"),
            phone_numbers=_optional_count(form.get("numbers"), "phone numbers"),
            message=message,
        )


class ContactSalesState(rx.State):
    open: bool = False
    sending: bool = False
    error: str = ""
    sent: bool = False

    @rx.event
    @public_handler
    def open_contact_sales(self):
        self.open, self.error, self.sent = True, "", False

    @rx.event
    @public_handler
    def close_contact_sales(self):
        self.open = False

    @rx.event
    @public_handler
    async def submit_inquiry(self, form: dict):
        self.sending, self.error = True, ""
        yield
        try:
            await asyncio.to_thread(_store, form)
        except DomainError as refused:
            self.error = refused.message
        else:
            self.sent = True
            yield rx.toast.success("Thank you: our sales team will be in touch within a day.")
        finally:
            self.sending = False


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
            _field("Your name", "name", required=True, auto_complete="name"),
            _field("Work email", "email", type="email", required=True, auto_complete="email"),
            _field("Company", "company", auto_complete="organization"),
            rx.hstack(
                _field("Seats", "seats", type="number", min=1),
                _field("Phone numbers", "numbers", type="number", min=0),
                spacing="3",
                width="100%",
            ),
            rx.vstack(
                rx.el.label("Message", html_for="contact-message", style={"fontSize": "14px"}),
                rx.text_area(name="message", id="contact-message", width="100%", rows="3"),
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
