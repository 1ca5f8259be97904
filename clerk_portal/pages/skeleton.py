"""Placeholder pages of the shell; each later grows into its own module with its own state."""

from __future__ import annotations

import reflex as rx

from clerk_portal.components.shell import page_shell
from clerk_portal.pages.billing.access import owners_only


def billing() -> rx.Component:
    return page_shell(
        "Billing",
        owners_only(rx.text("Your plan, card and invoices.", id="billing-overview")),
    )
