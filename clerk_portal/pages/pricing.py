"""Public pricing (/pricing, no sign-in): a calculator a sales rep can use on a call.

The URL carries the calculator (`?plan=business&interval=year&seats=5&numbers=4`): every good
choice replaces the address (no new history entry, no reload), and opening such a link shows
the same numbers. A link with a bad value opens with the defaults for it and says why, next to
the field, as typing a bad value does. Yearly billing shows its monthly equivalent and the saving
in dollars; both totals, per month and per year, are always shown.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import reflex as rx

from clerk_portal.billing import pricing as money
from clerk_portal.billing.catalog import get_catalog
from clerk_portal.components.contact_sales import contact_sales_dialog
from clerk_portal.components.link_button import link_button
from clerk_portal.components.plan_picker import (
    INTERVAL_WORDS,
    MAX_NUMBERS,
    MAX_SEATS,
    PlanSelection,
    interval_switch,
    line_items,
    parse_count,
    plan_cards,
    team_steppers,
)
from clerk_portal.core import routes
from clerk_portal.core.settings import get_settings
from clerk_portal.ui.guard import public_handler
from clerk_portal.workspace.trial import TRIAL_DAYS

CALCULATOR_KEYS = ("plan", "interval", "seats", "numbers")


class PricingState(PlanSelection, rx.State):
    link_problem: str = ""  # a shared link's plan or interval that does not exist

    @rx.var
    def share_path(self) -> str:
        query = {"plan": self.plan, "interval": self.interval}
        query |= {"seats": str(self.seats), "numbers": str(self.numbers)}
        return f"{routes.PRICING}?{urlencode(query)}"

    @rx.var
    def share_url(self) -> str:
        return get_settings().portal_url + self.share_path

    def _totals(self) -> money.PeriodTotals | None:
        if get_catalog().plan(self.plan).contact_sales:
            return None
        interval = "year" if self.interval == "year" else "month"
        return money.period_totals(self.plan, interval, self.seats, self.numbers)

    @rx.var
    def per_month_label(self) -> str:
        totals = self._totals()
        if totals is None:
            return ""
        billed = " (billed yearly)" if totals.interval == "year" else ""
        return f"{money.format_cents(totals.per_month_cents)} / month{billed}"

    @rx.var
    def per_year_label(self) -> str:
        totals = self._totals()
        return f"{money.format_cents(totals.per_year_cents)} / year" if totals else ""

    @rx.var
    def saving_label(self) -> str:
        totals = self._totals()
        if totals is None or totals.yearly_saving_cents <= 0:
            return ""
        saving = money.format_cents(totals.yearly_saving_cents)
        if totals.interval == "year":
            return f"Yearly billing saves you {saving} a year over monthly."
        return f"Pay yearly and save {saving} a year."

    def _after_change(self):
        # Replace the address in place: a pasted link opens these numbers; Back is not flooded.
        return rx.call_script(
            f"window.history.replaceState(null, '', {json.dumps(self.share_path)})"
        )

    @rx.event
    @public_handler
    def read_calculator_link(self):
        """Open the numbers a shared link carries; a bad value keeps its default and says so."""
        query = self.router.url.query_parameters
        if any(key in query for key in CALCULATOR_KEYS):
            # The link decides: what it leaves out or gets wrong is the default, not whatever
            # this tab showed before (a tab keeps its state across links and reloads).
            fields = type(self).get_fields()
            for key in CALCULATOR_KEYS:
                setattr(self, key, fields[key].default)
        problems = []
        plan = query.get("plan")
        if plan is not None:
            if plan in get_catalog().plans:
                self.plan = plan
            else:
                problems.append("The link's plan does not exist: showing Business.")
        interval = query.get("interval")
        if interval is not None:
            if interval in INTERVAL_WORDS:
                self.interval = interval
            else:
                problems.append("The link's billing period must be month or year.")
        self.seats_error = self.numbers_error = ""
        if "seats" in query:
            seats = parse_count(query["seats"], one="seat", many="seats", low=1, high=MAX_SEATS)
            if isinstance(seats, str):
                self.seats_error = seats
            else:
                self.seats = seats
        if "numbers" in query:
            numbers = parse_count(
                query["numbers"], one="phone number", many="phone numbers", low=0, high=MAX_NUMBERS
            )
            if isinstance(numbers, str):
                self.numbers_error = numbers
            else:
                self.numbers = numbers
        self.link_problem = " ".join(problems)

    @rx.event
    @public_handler
    def copy_calculator_link(self):
        return [
            rx.set_clipboard(self.share_url),
            rx.toast.success("Link copied: it opens these numbers."),
        ]


def period_totals() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text("Per month", size="2", color_scheme="gray"),
                rx.text(PricingState.per_month_label, weight="bold", id="total-per-month"),
                justify="between",
                width="100%",
            ),
            rx.hstack(
                rx.text("Per year", size="2", color_scheme="gray"),
                rx.text(PricingState.per_year_label, weight="bold", id="total-per-year"),
                justify="between",
                width="100%",
            ),
            rx.cond(
                PricingState.saving_label != "",
                rx.text(
                    PricingState.saving_label, color_scheme="green", id="yearly-saving-dollars"
                ),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        id="period-totals",
    )


def pricing() -> rx.Component:
    return rx.box(
        rx.el.header(
            rx.hstack(
                rx.heading("Clerk Chat", size="4"),
                rx.link("Sign in", href=routes.LOGIN, id="pricing-sign-in"),
                justify="between",
                align="center",
                width="100%",
            ),
            padding="12px 20px",
            border_bottom="1px solid var(--gray-a5)",
        ),
        rx.el.main(
            rx.vstack(
                rx.heading("Pricing", size="8", as_="h1"),
                rx.text(
                    f"Every plan starts with a {TRIAL_DAYS}-day free trial. Pay per seat; phone "
                    "numbers beyond those included are billed per number.",
                    color_scheme="gray",
                ),
                rx.hstack(
                    interval_switch(PricingState),
                    team_steppers(PricingState),
                    justify="between",
                    align="end",
                    wrap="wrap",
                    spacing="4",
                    width="100%",
                ),
                plan_cards(PricingState, on_contact_sales=PricingState.contact_sales),
                rx.cond(
                    PricingState.link_problem != "",
                    rx.callout(PricingState.link_problem, icon="info", id="link-problem"),
                ),
                line_items(PricingState, show_due_today=False),
                rx.cond(PricingState.per_year_label != "", period_totals()),
                rx.hstack(
                    link_button("Start free trial", routes.LOGIN, size="3", id="start-trial"),
                    rx.button(
                        "Contact sales",
                        on_click=PricingState.contact_sales,
                        size="3",
                        variant="outline",
                        id="contact-sales",
                    ),
                    rx.button(
                        rx.icon("link", size=16),
                        "Copy link to these prices",
                        on_click=PricingState.copy_calculator_link,
                        size="3",
                        variant="soft",
                        id="copy-calculator-link",
                    ),
                    spacing="3",
                    wrap="wrap",
                ),
                spacing="5",
                width="100%",
            ),
            padding="24px 20px",
            max_width="1100px",
            margin="0 auto",
        ),
        contact_sales_dialog(),
    )
