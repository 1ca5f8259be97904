"""The dialog that confirms a team or numbers change: owners see its billing effect first, admins
just confirm. Its state is the page's `ui.change_dialog.PendingChange`."""

from __future__ import annotations

import reflex as rx

from clerk_portal.ui.change_dialog import PendingChange
from clerk_portal.ui.state import SessionState


def confirm_dialog(state: type[PendingChange]) -> rx.Component:
    effect = rx.cond(
        SessionState.is_owner,
        rx.cond(
            state.effect_loading,
            rx.hstack(
                rx.spinner(size="2"),
                rx.text("Working out the billing effect…", size="2"),
                align="center",
                id="billing-effect-loading",
            ),
            rx.cond(
                state.billing_effect != "",
                rx.callout(
                    state.billing_effect, icon="receipt", color_scheme="blue", id="billing-effect"
                ),
            ),
        ),
    )
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(state.confirm_title),
            rx.alert_dialog.description(state.confirm_text, margin_bottom="12px"),
            effect,
            rx.hstack(
                # No on_click of its own: Reflex would wrap the button in a Flex, Radix's
                # cancel ref would land on that div and the opening dialog would focus nothing
                # (the focus stayed on the page behind it). Closing calls cancel_change below.
                rx.alert_dialog.cancel(
                    rx.button("Cancel", variant="soft", color_scheme="gray", id="cancel-change")
                ),
                rx.button(
                    state.confirm_label,
                    on_click=state.confirm_change(state.confirm_token),
                    loading=state.saving,
                    disabled=state.effect_loading | state.saving,
                    id="confirm-change",
                ),
                justify="end",
                spacing="3",
                margin_top="16px",
            ),
            max_width="460px",
        ),
        open=state.confirm_open,
        on_open_change=lambda is_open: rx.cond(is_open, rx.noop(), state.cancel_change),
    )
