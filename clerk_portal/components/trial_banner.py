"""The trial message in the bottom-left corner of every signed-in page (the help article's)."""

from __future__ import annotations

import reflex as rx

from clerk_portal.core import routes
from clerk_portal.ui.state import SessionState


def _days_left() -> rx.Var:
    return rx.cond(
        SessionState.trial_days_left == 1,
        "1 day left",
        SessionState.trial_days_left.to_string() + " days left",
    )


def trial_banner() -> rx.Component:
    message = rx.cond(
        SessionState.trial_expired,
        rx.text("Your trial has ended · the workspace is read-only", weight="medium", size="2"),
        rx.hstack(
            rx.text("Your trial account is active", weight="medium", size="2"),
            rx.text("·", color_scheme="gray"),
            rx.text(_days_left(), size="2", id="trial-days-left"),
            spacing="2",
            wrap="wrap",
        ),
    )
    action = rx.cond(
        SessionState.is_owner,
        rx.button(
            rx.link("Upgrade your account", href=routes.UPGRADE, color="inherit"),
            as_child=True,
            size="2",
            id="trial-upgrade",
        ),
        rx.text("Ask a workspace owner to upgrade.", size="1", color_scheme="gray"),
    )
    return rx.cond(
        SessionState.signed_in & SessionState.on_trial,
        rx.card(
            rx.vstack(message, action, spacing="2"),
            id="trial-banner",
            role="status",
            position="fixed",
            bottom="16px",
            left="16px",
            max_width="min(360px, calc(100vw - 32px))",
            z_index="10",
            box_shadow="var(--shadow-4)",
        ),
    )
