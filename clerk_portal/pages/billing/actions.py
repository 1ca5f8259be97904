"""Owner actions on the overview: cancel and resume, undo a pending change, replace the card,
pay an open invoice with another card, void one of a canceled subscription, and (demo only)
move the sandbox's clock forward."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
from clerk_portal.ui.off_lock import OffLock

CARD_ELEMENT = "card-element-billing"
CARD_PURPOSES = {"replace": "Replace your card", "pay": "Pay the open invoice with another card"}


class BillingActions(OffLock, rx.State):
    cancel_open: bool = False
    cancel_reason: str = ""
    retention_offer: str = ""  # "25% off for 3 months" when this workspace may take it
    working: bool = False
    card_open: bool = False
    card_purpose: str = "replace"
    card_error: str = ""
    _setup_intent_id: str = ""
    _pay_invoice_id: str = ""  # "Pay now" on one invoice; "" pays the newest open one

    # --- cancel and resume ------------------------------------------------------------------

    @rx.event
    @guard.owner_only
    async def open_cancel_dialog(self):
        self.cancel_open, self.cancel_reason = True, ""
        self.retention_offer = await services.retention_offer(guard.principal().workspace_id) or ""

    @rx.event(background=True)
    @guard.owner_only
    async def accept_retention(self):
        """Stay with the offer's discount instead of canceling."""
        who = guard.principal()
        async with self:
            if not self.cancel_open or self.working:  # a double click
                return
            self.working = True
        try:
            message = await services.accept_retention_offer(
                workspace_id=who.workspace_id, actor_user_id=who.user_id
            )
        except DomainError as error:
            if await self._settle(who, working=False, retention_offer=""):
                yield rx.toast.error(error.message)
            return
        except BaseException:
            await self._settle(who, working=False)
            raise
        if await self._settle(who, working=False, cancel_open=False, retention_offer=""):
            yield rx.toast.success(message)

    @rx.event
    @guard.owner_only
    def close_cancel_dialog(self):
        self.cancel_open = False

    @rx.event(background=True)
    @guard.owner_only
    async def confirm_cancel(self, form: dict[str, Any]):
        who = guard.principal()
        async with self:
            if not self.cancel_open or self.working:  # a double submit
                return
            self.working = True
        try:
            canceled = await services.cancel_at_period_end(
                workspace_id=who.workspace_id,
                actor_user_id=who.user_id,
                reason=str(form.get("reason") or ""),
                comment=str(form.get("comment") or "") or None,
            )
        except DomainError as error:
            if await self._settle(who, working=False):
                yield rx.toast.error(error.message)
            return
        except BaseException:
            await self._settle(who, working=False)
            raise
        if await self._settle(who, working=False, cancel_open=False):
            yield rx.toast.success(canceled.message)

    async def _one_action(
        self,
        who: guard.Principal,
        action: Callable[[], Awaitable[Any]],
        success: Callable[[Any], str],
    ):
        """A Stripe action without a dialog, one at a time per tab: its toast, if still shown."""
        if not await self._claim("working"):
            return None  # a second click while the first is with Stripe
        try:
            done = await action()
        except DomainError as error:
            return rx.toast.error(error.message) if await self._settle(who, working=False) else None
        except BaseException:
            await self._settle(who, working=False)
            raise
        shown = await self._settle(who, working=False)
        return rx.toast.success(success(done)) if shown else None

    @rx.event(background=True)
    @guard.owner_only
    async def resume_subscription(self):
        who = guard.principal()
        return await self._one_action(
            who,
            lambda: services.resume(workspace_id=who.workspace_id, actor_user_id=who.user_id),
            lambda _: "Welcome back: your subscription continues.",
        )

    @rx.event(background=True)
    @guard.owner_only
    async def undo_pending(self):
        who = guard.principal()
        return await self._one_action(
            who,
            lambda: services.undo_pending_change(
                workspace_id=who.workspace_id, actor_user_id=who.user_id
            ),
            lambda _: "The scheduled plan change is undone.",
        )

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

    @rx.event(background=True)
    @guard.owner_only
    async def void_invoice(self, invoice_id: str):
        who = guard.principal()
        return await self._one_action(
            who,
            lambda: services.void_open_invoice(
                workspace_id=who.workspace_id,
                actor_user_id=who.user_id,
                stripe_invoice_id=str(invoice_id)[:255],
            ),
            lambda voided: f"Invoice {voided.number or ''} is void: nothing more is owed.",
        )

    @rx.event
    @guard.owner_only
    def close_card_dialog(self):
        self.card_open = False

    @rx.event(background=True)
    @guard.owner_only
    async def submit_card(self):
        who = guard.principal()
        if not await self._claim("working", card_error=""):
            return  # a second click while the first is with Stripe
        try:
            setup = await services.start_card_update(workspace_id=who.workspace_id)
        except DomainError as error:
            await self._settle(who, working=False, card_error=error.message)
            return
        except BaseException:
            await self._settle(who, working=False)
            raise
        if await self._settle(who, _setup_intent_id=setup.setup_intent_id):
            yield rx.call_script(
                confirm_script(setup.client_secret, who.user_name),
                callback=BillingActions.card_confirmed,
            )

    @rx.event(background=True)
    @guard.owner_only
    async def card_confirmed(self, result: dict[str, Any]):
        """Stripe.js's answer; the SetupIntent id is ours (kept server-side), not the page's."""
        who = guard.principal()
        refusal = card_form_refusal(result)
        async with self:  # the SetupIntent is taken: its repeat finds none
            setup_intent_id, self._setup_intent_id = self._setup_intent_id, ""
            purpose, invoice_id = self.card_purpose, self._pay_invoice_id
            if refusal or not setup_intent_id:
                if refusal or not self.working:  # else the repeat of one with Stripe now
                    self.working = False
                    self.card_error = refusal or "Start again: the form expired."
                return
        try:
            if purpose == "pay":
                paid = await services.pay_open_invoice(
                    workspace_id=who.workspace_id,
                    actor_user_id=who.user_id,
                    setup_intent_id=setup_intent_id,
                    invoice_id=invoice_id or None,
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
            await self._settle(who, working=False, card_error=error.message)
            return
        except BaseException:
            await self._settle(who, working=False)
            raise
        if await self._settle(who, working=False, card_open=False):
            yield rx.toast.success(message)

    # --- demo: move time -------------------------------------------------------------------

    @rx.event(background=True)
    @guard.owner_only
    async def advance_a_month(self):
        who = guard.principal()
        return await self._one_action(
            who,
            lambda: clock.advance_demo_clock(workspace_id=who.workspace_id, days=clock.A_MONTH),
            lambda _: "A month has passed in the demo: renewal invoices follow.",
        )


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
            rx.cond(
                BillingActions.retention_offer != "",
                rx.callout(
                    rx.vstack(
                        rx.text(
                            "Before you go: stay with ",
                            rx.text.strong(BillingActions.retention_offer),
                            ".",
                        ),
                        rx.button(
                            "Accept the offer",
                            on_click=BillingActions.accept_retention,
                            loading=BillingActions.working,
                            disabled=BillingActions.working,
                            type="button",
                            id="accept-retention",
                        ),
                        spacing="2",
                    ),
                    icon="gift",
                    color_scheme="green",
                    id="retention-offer",
                    margin_bottom="12px",
                ),
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
