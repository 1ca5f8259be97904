"""The Enterprise "Contact sales" form: validated, stored, acknowledged."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import reflex as rx
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from clerk_portal.billing import ledger
from clerk_portal.core import rate_limit, text_input
from clerk_portal.core.db import session_scope
from clerk_portal.core.errors import DomainError, InvalidValue
from clerk_portal.models import EnterpriseInquiry, utcnow
from clerk_portal.ui.guard import public_handler

# One client (an IP address) sends a few requests; everyone together at most TOTAL_PER_HOUR, so
# the table grows by a bounded number of rows of bounded size (about 6 KB) whatever comes in.
PER_CLIENT = rate_limit.Limit("contact_sales", count=5, seconds=600)
TOTAL_PER_HOUR = 100
TOO_MANY_FROM_YOU = (
    "You have sent us several requests in the last few minutes: we have them all. Please wait "
    "10 minutes before sending another."
)
TOO_MANY_IN_TOTAL = (
    "Our sales team has received many requests in the last hour: please try again later."
)


@dataclass(frozen=True)
class Inquiry:
    name: str
    email: str
    company: str
    seats: int | None
    phone_numbers: int | None
    message: str


def read_form(form: object) -> Inquiry:
    """The form as the server accepts it: every field capped, no control characters."""
    if not isinstance(form, dict):
        raise InvalidValue("Please fill in the form.")
    return Inquiry(
        name=text_input.clean(
            form.get("name"), label="name", max_length=text_input.NAME, required=True
        ),
        email=text_input.email(form.get("email"), label="work email"),
        company=text_input.clean(
            form.get("company"), label="company", max_length=text_input.COMPANY
        ),
        seats=text_input.count(form.get("seats"), label="seats"),
        phone_numbers=text_input.count(form.get("numbers"), label="phone numbers"),
        message=text_input.clean(
            form.get("message"), label="message", max_length=text_input.MESSAGE, multiline=True
        ),
    )


def _recent_inquiries(session: Session) -> int:
    since = utcnow() - timedelta(hours=1)
    query = select(func.count()).where(col(EnterpriseInquiry.created_at) >= since)
    return session.exec(query).one()


def _store(inquiry: Inquiry) -> None:
    with session_scope() as session:
        if session.get_bind().dialect.name == "postgresql":  # concurrent senders count in turn
            session.execute(sa.text("LOCK TABLE enterprise_inquiry IN SHARE ROW EXCLUSIVE MODE"))
        if _recent_inquiries(session) >= TOTAL_PER_HOUR:
            raise DomainError(TOO_MANY_IN_TOTAL)
        ledger.add_enterprise_inquiry(
            session,
            name=inquiry.name,
            email=inquiry.email,
            company=inquiry.company,
            seats=inquiry.seats,
            phone_numbers=inquiry.phone_numbers,
            message=inquiry.message,
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
            inquiry = read_form(form)
            # The address the websocket came from: the client token is the sender's own choice.
            if await rate_limit.take([(PER_CLIENT, self.router.session.client_ip)]):
                raise DomainError(TOO_MANY_FROM_YOU)
            await asyncio.to_thread(_store, inquiry)
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
                _field("Seats", "seats", type="number", min=1, max=10**text_input.COUNT_DIGITS - 1),
                _field(
                    "Phone numbers",
                    "numbers",
                    type="number",
                    min=0,
                    max=10**text_input.COUNT_DIGITS - 1,
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
