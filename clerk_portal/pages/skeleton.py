"""Placeholder pages of the shell; each later grows into its own module with its own state."""

from __future__ import annotations

import reflex as rx

from clerk_portal.components.shell import page_shell
from clerk_portal.pages.billing.access import owners_only


def team() -> rx.Component:
    return page_shell("Team", rx.text("Team members of this workspace."))


def numbers() -> rx.Component:
    return page_shell("Numbers", rx.text("Phone numbers of this workspace."))


def invoices() -> rx.Component:
    return page_shell(
        "Invoices", owners_only(rx.text("Invoices appear here once you upgrade.", id="invoices"))
    )
