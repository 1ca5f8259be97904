"""Plan cards, the Monthly/Yearly switch, seat and number steppers, and live line items.

`PlanSelection` is a state mixin: the public pricing calculator and the owner's upgrade flow each
get their own copy. Every amount comes from `billing.pricing` in integer cents and is formatted
only here, at the edge. Changing a choice is one websocket event; the line items come back in the
same reply.
"""

from __future__ import annotations

import re
from typing import TypedDict

import reflex as rx

from clerk_portal.billing import pricing
from clerk_portal.billing.catalog import get_catalog
from clerk_portal.ui.contact_sales import ContactSalesState
from clerk_portal.ui.guard import public_handler

MAX_SEATS = 999
MAX_NUMBERS = 999
INTERVAL_WORDS = {"month": "month", "year": "year"}
# A line item's "3 × $49.00" and its amount stay on one line each on a phone (the description
# wraps instead).
DETAIL_CELL = {"padding": "4px 12px", "color": "var(--gray-11)", "whiteSpace": "nowrap"}
AMOUNT_CELL = {"textAlign": "right", "whiteSpace": "nowrap"}


class LineRow(TypedDict):
    description: str
    detail: str
    amount: str


class PlanCard(TypedDict):
    id: str
    name: str
    description: str
    seat_price: str
    number_note: str
    subtotal: str
    contact_sales: bool
    available: bool
    reason: str


def _per(interval: str) -> str:
    return f"/ {INTERVAL_WORDS[interval]}"


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


_WHOLE = re.compile(r"-?[0-9]{1,7}")


def parse_count(value: object, *, one: str, many: str, low: int, high: int) -> int | str:
    """A typed count, or the inline message saying what is wrong with it (`one`/`many`: the
    word, e.g. "seat"/"seats"). Empty, fractions, words, below `low` or above `high`: refused."""
    text = "" if value is None else str(value).strip()
    if not text:
        return f"Enter the number of {many}."
    if not _WHOLE.fullmatch(text):
        too_long = re.fullmatch(r"[0-9]+", text) is not None
        return (
            f"At most {high} {many} here: for more, contact sales."
            if too_long
            else f"{many.capitalize()} must be a whole number, like 3."
        )
    count = int(text)
    if count < low:
        return (
            f"At least {low} {one if low == 1 else many}."
            if low
            else f"{many.capitalize()} cannot be negative."
        )
    if count > high:
        return f"At most {high} {many} here: for more, contact sales."
    return count


class PlanSelection(rx.State, mixin=True):
    plan: str = "business"
    interval: str = "month"
    seats: int = 3
    numbers: int = 2
    # What is wrong with what was typed (the count keeps its last good value meanwhile).
    seats_error: str = ""
    numbers_error: str = ""
    current_plan: str = ""  # the subscription's, once subscribed
    current_interval: str = ""

    @rx.event
    @public_handler
    async def contact_sales(self):
        """The Enterprise card's Contact sales, with the seats and numbers chosen here (a lead
        that says what the team needs)."""
        form = await self.get_state(ContactSalesState)
        form._open_with(self.seats, self.numbers)

    @rx.var
    def change_title(self) -> str:
        """The page's title: what confirming would do to the subscription."""
        return change_title(self.current_plan, self.current_interval, self.plan, self.interval)

    # --- what the page shows (computed on the server from the catalog) --------------------------

    @rx.var
    def plan_cards(self) -> list[PlanCard]:
        cards = []
        for plan in get_catalog().plans.values():
            if plan.contact_sales:
                cards.append(
                    PlanCard(
                        id=plan.id,
                        name=plan.name,
                        description=plan.description,
                        seat_price="Custom",
                        number_note="Volume pricing for large teams",
                        subtotal="",
                        contact_sales=True,
                        available=True,
                        reason="",
                    )
                )
                continue
            problems = pricing.check_plan_limits(plan, self.seats, self.numbers)
            quote = pricing.quote(plan, self.interval, self.seats, self.numbers)
            cards.append(
                PlanCard(
                    id=plan.id,
                    name=plan.name,
                    description=plan.description,
                    seat_price=pricing.format_cents(plan.price_cents("seat", self.interval)),
                    number_note=(
                        f"{plan.included_numbers} number{'s' if plan.included_numbers > 1 else ''}"
                        f" included, then "
                        f"{pricing.format_cents(plan.price_cents('number', self.interval))} each"
                    ),
                    subtotal=f"{pricing.format_cents(quote.subtotal_cents)} {_per(self.interval)}",
                    contact_sales=False,
                    available=not problems,
                    reason=" ".join(problems),
                )
            )
        return cards

    @rx.var
    def line_items(self) -> list[LineRow]:
        if get_catalog().plan(self.plan).contact_sales:
            return []
        quote = pricing.quote(self.plan, self.interval, self.seats, self.numbers)
        return [
            LineRow(
                description=line.description,
                detail=f"{line.quantity} × {pricing.format_cents(line.unit_amount_cents)}",
                amount=pricing.format_cents(line.amount_cents),
            )
            for line in quote.lines
        ]

    @rx.var
    def subtotal_cents(self) -> int:
        if get_catalog().plan(self.plan).contact_sales:
            return 0
        return pricing.quote(self.plan, self.interval, self.seats, self.numbers).subtotal_cents

    @rx.var
    def subtotal_label(self) -> str:
        return f"{pricing.format_cents(self.subtotal_cents)} {_per(self.interval)}"

    @rx.var
    def amount_due_today_label(self) -> str:
        if get_catalog().plan(self.plan).contact_sales:
            return ""
        quote = pricing.quote(self.plan, self.interval, self.seats, self.numbers)
        return pricing.format_cents(pricing.amount_due_today(quote))

    @rx.var
    def yearly_saving_label(self) -> str:
        """From the catalog: the best saving of any self-serve plan for this team."""
        best = max(
            (
                pricing.yearly_savings(plan, self.seats, self.numbers).percent
                for plan in get_catalog().self_serve_plans
            ),
            default=0,
        )
        return f"Save {best}%" if best else ""

    @rx.var
    def selection_problems(self) -> str:
        return " ".join(pricing.check_plan_limits(self.plan, self.seats, self.numbers))

    @rx.var
    def plan_name(self) -> str:
        return get_catalog().plan(self.plan).name

    # --- choices (public: they only change what this tab shows; nothing is stored) -----------

    def _selection_changed(self) -> None:
        """After any choice: a state that reviewed the old one forgets that review."""

    def _after_change(self):
        """What the handler returns after a good choice (the pricing page: its URL follows)."""
        return None

    @rx.event
    @public_handler
    def select_plan(self, plan: str):
        if plan not in get_catalog().plans:
            return rx.toast.error("That plan does not exist.")
        self.plan = plan
        self._selection_changed()
        return self._after_change()

    @rx.event
    @public_handler
    def select_interval(self, interval: str | list[str]):
        if isinstance(interval, list):  # the segmented control may send a list
            interval = interval[0] if interval else ""
        if interval not in INTERVAL_WORDS:
            return rx.toast.error("Choose monthly or yearly billing.")
        self.interval = interval
        self._selection_changed()
        return self._after_change()

    @rx.event
    @public_handler
    def set_seats(self, value: str):
        seats = parse_count(value, one="seat", many="seats", low=1, high=MAX_SEATS)
        if isinstance(seats, str):  # said next to the field as the person types: no toast
            self.seats_error = seats
            return None
        self.seats, self.seats_error = seats, ""
        self._selection_changed()
        return self._after_change()

    @rx.event
    @public_handler
    def set_numbers(self, value: str):
        numbers = parse_count(
            value, one="phone number", many="phone numbers", low=0, high=MAX_NUMBERS
        )
        if isinstance(numbers, str):
            self.numbers_error = numbers
            return None
        self.numbers, self.numbers_error = numbers, ""
        self._selection_changed()
        return self._after_change()

    @rx.event
    @public_handler
    def step_seats(self, delta: int):
        self.seats = _clamp(self.seats + (1 if delta > 0 else -1), 1, MAX_SEATS)
        self.seats_error = ""
        self._selection_changed()
        return self._after_change()

    @rx.event
    @public_handler
    def step_numbers(self, delta: int):
        self.numbers = _clamp(self.numbers + (1 if delta > 0 else -1), 0, MAX_NUMBERS)
        self.numbers_error = ""
        self._selection_changed()
        return self._after_change()


# --- components -------------------------------------------------------------------------------


def interval_switch(state: type[PlanSelection]) -> rx.Component:
    return rx.hstack(
        rx.segmented_control.root(
            rx.segmented_control.item("Monthly", value="month", id="interval-month"),
            rx.segmented_control.item("Yearly", value="year", id="interval-year"),
            value=state.interval,
            on_change=state.select_interval,
            aria_label="Billing interval",
            size="2",
        ),
        rx.cond(
            state.yearly_saving_label != "",
            rx.badge(
                state.yearly_saving_label,
                color_scheme="green",
                high_contrast=True,
                id="yearly-saving",
            ),
        ),
        align="center",
        spacing="3",
    )


def _stepper(label: str, field_id: str, value, on_step, on_set, error) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=field_id, style={"fontSize": "14px", "fontWeight": 500}),
        rx.hstack(
            rx.icon_button(
                rx.icon("minus", size=14),
                on_click=on_step(-1),
                variant="soft",
                aria_label=f"Fewer {label.lower()}",
                type="button",
            ),
            rx.input(
                id=field_id,
                value=value.to_string(),
                on_change=on_set.debounce(300),
                type="number",
                min=0,
                max=999,
                width="80px",
                input_mode="numeric",
                aria_invalid=rx.cond(error != "", "true", "false"),
                aria_describedby=f"{field_id}-error",
            ),
            rx.icon_button(
                rx.icon("plus", size=14),
                on_click=on_step(1),
                variant="soft",
                aria_label=f"More {label.lower()}",
                type="button",
            ),
            align="center",
            spacing="2",
        ),
        rx.text(
            error,
            id=f"{field_id}-error",
            aria_live="polite",
            size="1",
            color_scheme="red",
            max_width="240px",
            min_height="1em",
        ),
        spacing="1",
    )


def team_steppers(state: type[PlanSelection]) -> rx.Component:
    return rx.hstack(
        _stepper(
            "Seats",
            "seats-input",
            state.seats,
            state.step_seats,
            state.set_seats,
            state.seats_error,
        ),
        _stepper(
            "Phone numbers",
            "numbers-input",
            state.numbers,
            state.step_numbers,
            state.set_numbers,
            state.numbers_error,
        ),
        spacing="5",
        wrap="wrap",
    )


def change_title(current_plan: str, current_interval: str, plan: str, interval: str) -> str:
    """ "Upgrade your account" on trial; else upgrade, downgrade or switch the interval."""
    if not current_plan:
        return "Upgrade your account"
    catalog = get_catalog().plans
    if plan != current_plan and plan in catalog and current_plan in catalog:
        rank = list(catalog)
        name = catalog[plan].name
        if rank.index(plan) > rank.index(current_plan):
            return f"Upgrade to {name}"
        return f"Downgrade to {name}"
    if interval != current_interval:
        return f"Switch to {'yearly' if interval == 'year' else 'monthly'} billing"
    return "Change your plan"


def _plan_card(state: type[PlanSelection], card, on_contact_sales) -> rx.Component:
    selected = state.plan == card["id"]
    current = state.current_plan == card["id"]
    choice = rx.cond(
        current & (state.interval == state.current_interval),
        "Current plan",
        rx.cond(selected, "Selected", f"Choose {card['name']}"),
    )
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(card["name"], size="5", as_="h2"),
                rx.cond(
                    current,
                    rx.badge("Current plan", variant="soft", color_scheme="green"),
                    rx.cond(selected, rx.badge("Selected", variant="solid")),
                ),
                justify="between",
                width="100%",
            ),
            rx.text(card["description"], size="2", color_scheme="gray"),
            rx.hstack(
                rx.text(card["seat_price"], size="6", weight="bold"),
                rx.cond(
                    card["contact_sales"],
                    rx.fragment(),
                    rx.text(f"per seat {_per_var(state)}", size="2", color_scheme="gray"),
                ),
                align="baseline",
                spacing="1",
            ),
            rx.text(card["number_note"], size="2"),
            rx.cond(
                card["contact_sales"],
                rx.button(
                    "Contact sales",
                    on_click=on_contact_sales,
                    variant="outline",
                    width="100%",
                    id=f"plan-{card['id']}-contact",
                ),
                rx.vstack(
                    rx.text(
                        card["subtotal"], size="3", weight="medium", id=f"plan-{card['id']}-total"
                    ),
                    rx.cond(
                        card["available"],
                        rx.button(
                            choice,
                            on_click=state.select_plan(card["id"]),
                            variant=rx.cond(selected, "solid", "soft"),
                            width="100%",
                            aria_pressed=selected,
                            id=f"plan-{card['id']}",
                        ),
                        rx.text(card["reason"], size="1", color_scheme="red"),
                    ),
                    width="100%",
                    spacing="2",
                ),
            ),
            spacing="3",
            height="100%",
        ),
        border=rx.cond(selected, "2px solid var(--accent-9)", "2px solid transparent"),
        width="100%",
    )


def _per_var(state: type[PlanSelection]):
    return rx.cond(state.interval == "year", "/ year", "/ month")


def plan_cards(state: type[PlanSelection], on_contact_sales) -> rx.Component:
    return rx.grid(
        rx.foreach(state.plan_cards, lambda card: _plan_card(state, card, on_contact_sales)),
        columns=rx.breakpoints(initial="1", md="3"),
        spacing="4",
        width="100%",
    )


def line_items(
    state: type[PlanSelection],
    *,
    show_due_today: bool = True,
    discount: tuple[rx.Var, rx.Var] | None = None,
    due_today: rx.Var | None = None,
) -> rx.Component:
    """The plan's lines, subtotal and (from a trial) what is due today. `discount`: (what, −amount)
    of an applied promotion code, a row under the subtotal ("" amount: no row); `due_today`:
    the amount due with it, from Stripe's preview."""
    discount_row = (
        rx.cond(
            discount[1] != "",
            rx.el.tr(
                rx.el.th("Discount", scope="row", style={"textAlign": "left"}),
                rx.el.td(discount[0], style={"padding": "4px 12px", "color": "var(--gray-11)"}),
                rx.el.td(discount[1], style=AMOUNT_CELL, id="line-discount"),
            ),
        )
        if discount is not None
        else rx.fragment()
    )
    return rx.card(
        rx.vstack(
            rx.heading(f"{state.plan_name} plan", size="4", as_="h2"),
            rx.el.table(
                rx.el.tbody(
                    rx.foreach(
                        state.line_items,
                        lambda line: rx.el.tr(
                            rx.el.td(line["description"], style={"padding": "4px 0"}),
                            rx.el.td(line["detail"], style=DETAIL_CELL),
                            rx.el.td(line["amount"], style=AMOUNT_CELL),
                        ),
                    ),
                    rx.el.tr(
                        rx.el.th("Subtotal", scope="row", style={"textAlign": "left"}),
                        rx.el.td(""),
                        rx.el.td(
                            state.subtotal_label,
                            style={**AMOUNT_CELL, "fontWeight": 600},
                            id="subtotal",
                        ),
                        style={"borderTop": "1px solid var(--gray-a6)"},
                    ),
                    discount_row,
                    rx.cond(
                        show_due_today,
                        rx.el.tr(
                            rx.el.th("Due today", scope="row", style={"textAlign": "left"}),
                            rx.el.td(""),
                            rx.el.td(
                                state.amount_due_today_label if due_today is None else due_today,
                                style={**AMOUNT_CELL, "fontWeight": 600},
                                id="due-today",
                            ),
                        ),
                    ),
                ),
                id="line-items",
                style={"width": "100%", "borderCollapse": "collapse", "fontSize": "14px"},
            ),
            rx.cond(
                state.selection_problems != "",
                rx.callout(state.selection_problems, icon="triangle_alert", color_scheme="red"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )
