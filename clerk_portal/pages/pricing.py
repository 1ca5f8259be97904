"""Public pricing (/pricing, no sign-in): a calculator a sales rep can use on a call."""

from __future__ import annotations

import reflex as rx

from clerk_portal.components.contact_sales import contact_sales_dialog
from clerk_portal.components.link_button import link_button
from clerk_portal.components.plan_picker import (
    PlanSelection,
    interval_switch,
    line_items,
    plan_cards,
    team_steppers,
)
from clerk_portal.core import routes
from clerk_portal.ui.contact_sales import ContactSalesState
from clerk_portal.workspace.trial import TRIAL_DAYS


class PricingState(PlanSelection, rx.State):
    pass


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
                plan_cards(PricingState, on_contact_sales=ContactSalesState.open_contact_sales),
                line_items(PricingState, show_due_today=False),
                rx.hstack(
                    link_button("Start free trial", routes.LOGIN, size="3", id="start-trial"),
                    rx.button(
                        "Contact sales",
                        on_click=ContactSalesState.open_contact_sales,
                        size="3",
                        variant="outline",
                        id="contact-sales",
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
