"""Placeholder pages of the shell; each later grows into its own module with its own state."""

from __future__ import annotations

import reflex as rx

from clerk_portal.components.shell import page_shell


def billing() -> rx.Component:
    return page_shell("Billing", rx.text("Your plan, card and invoices will appear here."))


def team() -> rx.Component:
    return page_shell("Team", rx.text("Team members of this workspace."))


def numbers() -> rx.Component:
    return page_shell("Numbers", rx.text("Phone numbers of this workspace."))


def invoices() -> rx.Component:
    return page_shell("Invoices", rx.text("Invoices appear here once you upgrade."))
