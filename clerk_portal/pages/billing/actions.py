"""Owner actions on the overview: cancel and resume, undo a pending change, replace the card,
pay an open invoice with another card, void one of a canceled subscription, and (demo only)
move the sandbox's clock forward."""

from __future__ import annotations

from typing import Any

import reflex as rx

from clerk_portal.billing import services
from clerk_portal.components.card_form import (
    card_element,
    card_form_refusal,
    confirm_script,
    mount_script,
)
from clerk_portal.core.errors import DomainError
from clerk_portal.core.settings import get_settings
from clerk_portal.demo import clock
from clerk_portal.ui import guard

CARD_ELEMENT = "card-element-billing"
CARD_PURPOSES = {"replace": "Replace your card", "pay": "Pay the open invoice with another card"}


class BillingActions(rx.State):
    cancel_open: bool = False
    cancel_reason: str = ""
    working: bool = False
    card_open: bool = False
    card_purpose: str = "replace"
    card_error: str = ""
    _setup_intent_id: str = ""
    _pay_invoice_id: str = ""  # "Pay now" on one invoice; "" pays the newest open one

    # --- cancel and resume ------------------------------------------------------------------

    @rx.event
    @guard.owner_only
    def open_cancel_dialog(self):
        self.cancel_open, self.cancel_reason = True, ""

    @rx.event
    @guard.owner_only
    def close_cancel_dialog(self):
        self.cancel_open = False

    @rx.event
    @guard.owner_only
    async def confirm_cancel(self, form: dict[str, Any]):
        if not self.cancel_open:  # a double submit: the first one closed the dialog
            return
        who = guard.principal()
        self.working = True
        yield
        try:
            canceled = await services.cancel_at_period_end(
                workspace_id=who.workspace_id,
                actor_user_id=who.user_id,
                reason=str(form.get("reason") or ""),
                comment=str(form.get("comment") or "") or None,
            )
        except DomainError as error:
            yield rx.toast.error(error.message)
        else:
            self.cancel_open = False
            yield rx.toast.success(canceled.message)
        finally:
            self.working = False

    @rx.event
    @guard.owner_only
    async def resume_subscription(self):
        who = guard.principal()
        try:
            await services.resume(workspace_id=who.workspace_id, actor_user_id=who.user_id)
        except DomainError as error:
            return rx.toast.error(error.message)
        return rx.toast.success("Welcome back: your subscription continues.")

    @rx.event
    @guard.owner_only
    async def undo_pending(self):
        who = guard.principal()
        try:
            await services.undo_pending_change(
                workspace_id=who.workspace_id, actor_user_id=who.user_id
            )
        except DomainError as error:
            return rx.toast.error(error.message)
        return rx.toast.success("The scheduled plan change is undone.")

    # --- a new card: replace the default, or pay the open invoice -----------------------------

    @rx.event
    @guard.owner_only
    def open_card_dialog(self, purpose: str):
        if purpose not in CARD_PURPOSES:
            return rx.toast.error("Unknown card action.")
        self.card_open, self.card_purpose, self.card_error = True, purpose, ""
        self._pay_invoice_id = ""
        return rx.call_script(mount_script(CARD_ELEMENT))

    @rx.event
    @guard.owner_only
    def open_pay_dialog(self, invoice_id: str):
        """ "Pay now" on one open invoice: the service checks that it is this workspace's."""
        self.card_open, self.card_purpose, self.card_error = True, "pay", ""
        self._pay_invoice_id = str(invoice_id)[:255]
        return rx.call_script(mount_script(CARD_ELEMENT))

    @rx.event
    @guard.owner_only
    async def void_invoice(self, invoice_id: str):
        who = guard.principal()
        try:
            voided = await services.void_open_invoice(
                workspace_id=who.workspace_id,
                actor_user_id=who.user_id,
                stripe_invoice_id=str(invoice_id)[:255],
            )
        except DomainError as error:
            return rx.toast.error(error.message)
        return rx.toast.success(f"Invoice {voided.number or ''} is void: nothing more is owed.")

    @rx.event
    @guard.owner_only
    def close_card_dialog(self):
        self.card_open = False

    @rx.event
    @guard.owner_only
    async def submit_card(self):
        who = guard.principal()
        self.working, self.card_error = True, ""
        yield
        try:
            setup = await services.start_card_update(workspace_id=who.workspace_id)
        except DomainError as error:
            self.working, self.card_error = False, error.message
            return
        self._setup_intent_id = setup.setup_intent_id
        yield rx.call_script(
            confirm_script(setup.client_secret, who.user_name),
            callback=BillingActions.card_confirmed,
        )

    @rx.event
    @guard.owner_only
    async def card_confirmed(self, result: dict[str, Any]):
        """Stripe.js's answer; the SetupIntent id is ours (kept server-side), not the page's."""
        who = guard.principal()
        refusal = card_form_refusal(result)
        if refusal or not self._setup_intent_id:
            self.working, self.card_error = False, refusal or "Start again: the form expired."
            return None
        setup_intent_id, self._setup_intent_id = self._setup_intent_id, ""
        try:
            if self.card_purpose == "pay":
                paid = await services.pay_open_invoice(
                    workspace_id=who.workspace_id,
                    actor_user_id=who.user_id,
                    setup_intent_id=setup_intent_id,
                    invoice_id=self._pay_invoice_id or None,
                )
                message = f"Paid: invoice {paid.invoice_number or ''} is settled."
            else:
                card = await services.complete_card_update(
                    workspace_id=who.workspace_id,
                    actor_user_id=who.user_id,
                    setup_intent_id=setup_intent_id,
                )
                message = f"{(card.brand or 'Card').title()} •••• {card.last4} is now your card."
        except DomainError as error:
            self.card_error = error.message
            return None
        finally:
            self.working = False
        self.card_open = False
        return rx.toast.success(message)

    # --- demo: move time -------------------------------------------------------------------

    @rx.event
    @guard.owner_only
    async def advance_a_month(self):
        who = guard.principal()
        self.working = True
        yield
        try:
            await clock.advance_demo_clock(workspace_id=who.workspace_id, days=31)
        except DomainError as error:
            yield rx.toast.error(error.message)
        else:
            yield rx.toast.success("A month has passed in the demo: renewal invoices follow.")
        finally:
            self.working = False


def cancel_dialog() -> rx.Component:
    reasons = services.CANCEL_REASONS
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Cancel your subscription"),
            rx.dialog.description(
                "Your subscription stays active until the end of the current period; you can "
                "resume it until then.",
                margin_bottom="12px",
            ),
            rx.form(
                rx.vstack(
                    rx.el.label(
                        "Why are you canceling?",
                        html_for="cancel-reason",
                        style={"fontWeight": 500, "fontSize": "14px"},
                    ),
                    rx.radio_group.root(
                        rx.vstack(
                            *[
                                rx.el.label(
                                    rx.hstack(
                                        rx.radio_group.item(value=value),
                                        rx.text(label),
                                        align="center",
                                        spacing="2",
                                    ),
                                )
                                for value, label in reasons.items()
                            ],
                            spacing="2",
                        ),
                        name="reason",
                        id="cancel-reason",
                        required=True,
                    ),
                    rx.el.label(
                        "Anything else? (optional)",
                        html_for="cancel-comment",
                        style={"fontSize": "14px"},
                    ),
                    rx.text_area(name="comment", id="cancel-comment", max_length=500, width="100%"),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Keep my subscription", variant="soft", type="button")
                        ),
                        rx.button(
                            "Cancel at period end",
                            type="submit",
                            color_scheme="red",
                            loading=BillingActions.working,
                            disabled=BillingActions.working,
                            id="confirm-cancel",
                        ),
                        justify="end",
                        wrap="wrap",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=BillingActions.confirm_cancel,
            ),
            max_width="480px",
        ),
        open=BillingActions.cancel_open,
        on_open_change=lambda is_open: rx.cond(
            is_open, BillingActions.open_cancel_dialog, BillingActions.close_cancel_dialog
        ),
    )


def card_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(
                rx.cond(
                    BillingActions.card_purpose == "pay",
                    CARD_PURPOSES["pay"],
                    CARD_PURPOSES["replace"],
                )
            ),
            rx.dialog.description(
                "Your card details go straight to Stripe; Clerk Chat never sees the number.",
                margin_bottom="12px",
            ),
            rx.vstack(
                card_element(CARD_ELEMENT),
                rx.cond(
                    BillingActions.card_error != "",
                    rx.callout(
                        BillingActions.card_error,
                        icon="triangle_alert",
                        color_scheme="red",
                        id="card-error",
                    ),
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("Close", variant="soft", type="button")),
                    rx.button(
                        "Save card",
                        on_click=BillingActions.submit_card,
                        loading=BillingActions.working,
                        id="submit-card",
                    ),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
            ),
            max_width="480px",
        ),
        open=BillingActions.card_open,
        on_open_change=lambda is_open: rx.cond(
            is_open, rx.noop(), BillingActions.close_card_dialog
        ),
    )


def demo_tools() -> rx.Component:
    if not get_settings().is_demo:
        return rx.fragment()
    return rx.card(
        rx.hstack(
            rx.text("Demo: let time pass to see renewal invoices.", size="2", color_scheme="gray"),
            rx.button(
                "Advance a month",
                on_click=BillingActions.advance_a_month,
                variant="soft",
                size="2",
                loading=BillingActions.working,
                id="advance-month",
            ),
            justify="between",
            align="center",
            wrap="wrap",
            width="100%",
        ),
        width="100%",
    )
