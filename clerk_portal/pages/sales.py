"""The sales page (/sales): Clerk Chat staff only (sales reps, from the identity provider).

Compose a quote (plan, interval, seats, numbers, an optional discount, validity, the prospect),
checked as the rep types (the same rules as the server's, `services.quotes.read_request`); the
quotes with their status, prospect and total; the contact-sales leads beside them. Everyone else
is refused by the guard, whatever the browser sends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypedDict

import reflex as rx

from clerk_portal.billing import pricing
from clerk_portal.billing.catalog import get_catalog
from clerk_portal.billing.services import quotes, sales_leads
from clerk_portal.components.native_form import post_form
from clerk_portal.components.plan_picker import MAX_NUMBERS, MAX_SEATS, parse_count
from clerk_portal.components.sales_views import lead_list, quote_form, quote_list
from clerk_portal.core import formats, routes
from clerk_portal.core.errors import DomainError
from clerk_portal.core.settings import get_settings
from clerk_portal.ui import guard

FIELDS = (
    "plan",
    "interval",
    "seats",
    "numbers",
    "company",
    "email",
    "note",
    "discount",
    "discount_duration",
    "discount_months",
    "expires",
)


class QuoteRow(TypedDict):
    number: str
    status: str
    prospect: str
    total: str
    link: str
    token: str  # the rep's own list: withdraw by it


class LeadRow(TypedDict):
    when: str
    who: str
    company: str
    team: str
    message: str


def _default_form() -> dict[str, str]:
    expires = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    return {
        "plan": "business",
        "interval": "month",
        "seats": "5",
        "numbers": "3",
        "company": "",
        "email": "",
        "note": "",
        "discount": "",
        "discount_duration": "once",
        "discount_months": "3",
        "expires": expires,
    }


class SalesState(rx.State):
    allowed: bool = False
    rep_name: str = ""
    form: dict[str, str] = {}
    seats_error: str = ""
    numbers_error: str = ""
    problem: str = ""  # the first thing wrong with the form, as the server would say it
    preview: str = ""  # "$253.00 / month before the discount"
    working: bool = False
    created_link: str = ""
    error: str = ""
    quotes: list[QuoteRow] = []
    leads: list[LeadRow] = []

    @rx.event
    @guard.staff_page_loader
    async def load_sales(self):
        self.allowed, self.rep_name = True, guard.staff().user_name
        if not self.form:
            self.form = _default_form()
        self.created_link, self.error, self.working = "", "", False
        self._check()
        await self._refresh()

    async def _refresh(self) -> None:
        base = get_settings().portal_url
        self.quotes = [
            QuoteRow(
                number=view.number,
                status=view.status,
                prospect=f"{view.company} · {view.email}",
                total=pricing.format_cents(view.total_cents),
                link=base + routes.quote_path(view.token),
                token=view.token,
            )
            for view in await quotes.list_quotes()
        ]
        self.leads = [
            LeadRow(
                when=formats.day(lead.created_at),
                who=f"{lead.name} · {lead.email}",
                company=lead.company,
                team=f"{lead.seats or '?'} seats, {lead.phone_numbers or '?'} numbers",
                message=lead.message[:200],
            )
            for lead in await sales_leads.list_leads()
        ]

    @rx.event
    @guard.staff_only
    def set_field(self, name: str, value: str):
        """One field as typed; the form is checked again at once."""
        if name not in FIELDS:
            return
        self.form = {**self.form, name: str(value)[:5000]}
        self.created_link = ""
        self._check()

    def _check(self) -> None:
        form = self.form
        seats = parse_count(form.get("seats"), one="seat", many="seats", low=1, high=MAX_SEATS)
        numbers = parse_count(
            form.get("numbers"), one="phone number", many="phone numbers", low=0, high=MAX_NUMBERS
        )
        self.seats_error = seats if isinstance(seats, str) else ""
        self.numbers_error = numbers if isinstance(numbers, str) else ""
        try:
            quotes.read_request(dict(form))
        except DomainError as error:
            self.problem = error.message
        else:
            self.problem = ""
        plan = form.get("plan", "")
        if isinstance(seats, int) and isinstance(numbers, int) and plan in get_catalog().plans:
            interval = "year" if form.get("interval") == "year" else "month"
            if get_catalog().plan(plan).self_serve:
                total = pricing.quote(plan, interval, seats, numbers).subtotal_cents
                self.preview = f"{pricing.format_cents(total)} / {interval} before any discount"
                return
        self.preview = ""

    @rx.event(background=True)
    @guard.staff_only
    async def create_quote(self):
        rep = guard.staff()
        async with self:
            if self.working:
                return
            self.working, self.error, self.created_link = True, "", ""
            form = dict(self.form)
        try:
            view = await quotes.create_quote(quotes.read_request(form), actor_user_id=rep.user_id)
        except DomainError as error:
            async with self:
                self.working, self.error = False, error.message
            return
        except BaseException:
            async with self:
                self.working = False
            raise
        async with self:
            self.working = False
            self.created_link = get_settings().portal_url + routes.quote_path(view.token)
            await self._refresh()
        yield rx.toast.success(f"Quote {view.number} is ready to share.")

    @rx.event(background=True)
    @guard.staff_only
    async def withdraw_quote(self, token: str):
        """Withdraw an open quote (Stripe cancels it): its link then says so."""
        rep = guard.staff()
        try:
            view = await quotes.cancel_quote(token, actor_user_id=rep.user_id)
        except DomainError as error:
            yield rx.toast.error(error.message)
            return
        async with self:
            await self._refresh()
        yield rx.toast.success(f"Quote {view.number} is withdrawn.")


def sales() -> rx.Component:
    staff_view = rx.vstack(
        rx.heading("Sales", size="7", as_="h1"),
        quote_form(SalesState),
        rx.grid(
            quote_list(SalesState),
            lead_list(SalesState),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="5",
            width="100%",
        ),
        spacing="5",
        width="100%",
    )
    refused = rx.callout(
        guard.STAFF_ONLY + " Sign in with your Clerk Chat account.", icon="lock", id="sales-refused"
    )
    return rx.box(
        rx.el.header(
            rx.hstack(
                rx.heading("Clerk Chat · Sales", size="4"),
                rx.hstack(
                    rx.text(SalesState.rep_name, size="2", id="rep-name"),
                    post_form(
                        routes.backend_url(routes.AUTH_LOGOUT),
                        rx.button(
                            "Sign out", type="submit", variant="ghost", size="2", id="sign-out"
                        ),
                    ),
                    align="center",
                ),
                justify="between",
                width="100%",
            ),
            padding="12px 20px",
            border_bottom="1px solid var(--gray-a5)",
        ),
        rx.el.main(
            rx.cond(SalesState.allowed, staff_view, refused),
            padding="24px 20px",
            max_width="1100px",
            margin="0 auto",
        ),
    )
