"""The trial message (the help article's "bottom-left corner of the screen"): the last thing in the
sidebar on a laptop, a slim bar under the top bar on a phone. It is in the page's flow at both
sizes, so it never covers what the page shows."""

from __future__ import annotations

import reflex as rx

from clerk_portal.core import routes
from clerk_portal.ui.access import BillingAccessState
from clerk_portal.ui.state import SessionState


def _wide(narrow, wide) -> rx.Breakpoints:
    return rx.breakpoints(initial=narrow, md=wide)  # the sidebar's breakpoint (shell.py)


def _days_left() -> rx.Var:
    return rx.cond(
        SessionState.trial_days_left == 1,
        "1 day left",
        SessionState.trial_days_left.to_string() + " days left",
    )


def _who_can_upgrade() -> rx.Component:
    owners = BillingAccessState.owner_names
    return rx.text(
        rx.cond(
            owners.length() > 0,
            "Ask " + owners.join(", ") + " to upgrade.",
            "Ask a workspace owner to upgrade.",
        ),
        size="1",
        color_scheme="gray",
        id="trial-who-upgrades",
    )


def _upgrade_link() -> rx.Component:
    return rx.link(
        "Upgrade your account",
        href=routes.UPGRADE,
        id="trial-upgrade",
        size="2",
        weight="medium",
        underline="none",
        display="inline-flex",
        align_items="center",
        justify_content="center",
        padding=_wide("2px 0", "8px 12px"),
        border_radius="var(--radius-2)",
        color=_wide("var(--accent-11)", "var(--accent-contrast)"),
        background=_wide("transparent", "var(--accent-9)"),
        text_decoration=_wide("underline", "none"),
        _hover={"background": _wide("transparent", "var(--accent-10)")},
    )


def trial_banner() -> rx.Component:
    message = rx.cond(
        SessionState.trial_expired,
        rx.text("Your trial has ended · the workspace is read-only", weight="medium", size="2"),
        rx.flex(
            rx.text("Your trial account is active", weight="medium", size="2"),
            rx.text(_days_left(), size="2", id="trial-days-left", color_scheme="gray"),
            direction=_wide("row", "column"),
            wrap="wrap",
            column_gap="6px",
            row_gap="2px",
        ),
    )
    action = rx.cond(SessionState.is_owner, _upgrade_link(), _who_can_upgrade())
    return rx.cond(
        SessionState.signed_in & SessionState.on_trial,
        rx.box(
            rx.icon("sparkles", size=16, aria_hidden="true", color="var(--accent-11)"),
            message,
            action,
            id="trial-banner",
            role="status",
            display="flex",
            flex_direction=_wide("row", "column"),
            flex_wrap="wrap",
            align_items=_wide("center", "stretch"),
            column_gap="12px",
            row_gap=_wide("2px", "8px"),
            margin=_wide("0", "0 12px 12px"),
            padding=_wide("8px 16px", "14px"),
            border_radius=_wide("0", "var(--radius-3)"),
            border=_wide("none", "1px solid var(--accent-a6)"),
            border_top=_wide("1px solid var(--accent-a6)", "1px solid var(--accent-a6)"),
            background="var(--accent-a3)",
        ),
    )
