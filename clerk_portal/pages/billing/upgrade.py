"""Upgrade from the trial, or change plan (/billing/upgrade), owners only.

Seats and numbers are the workspace's own (the team and numbers pages change them); the owner
picks the plan and Monthly/Yearly, sees the line items and what is due today, and confirms.
From a trial the subscription is opened at Stripe unpaid and the card, entered in Stripe's card
element, pays its first invoice in the browser (confirmCardPayment: 3-D Secure at most once).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import reflex as rx

from clerk_portal.billing import pricing, services
from clerk_portal.billing.errors import CardDeclined, OutcomeUnknown, StripeUnavailable
from clerk_portal.billing.read_models.current_plan import load_current_plan
from clerk_portal.billing.services.plan_change import PlanChangePreview
from clerk_portal.billing.services.upgrade import UpgradePayment, UpgradeResult
from clerk_portal.components.card_form import (
    card_element,
    card_form_refusal,
    card_script_tag,
    confirm_payment_script,
    mount_script,
)
from clerk_portal.components.contact_sales import contact_sales_dialog
from clerk_portal.components.plan_picker import (
    PlanSelection,
    interval_switch,
    line_items,
    plan_cards,
)
from clerk_portal.components.shell import page_shell
from clerk_portal.core import routes
from clerk_portal.core.errors import DomainError
from clerk_portal.ui import guard
from clerk_portal.ui.access import owners_only
from clerk_portal.ui.change_dialog import ConfirmedChange
from clerk_portal.ui.off_lock import OffLock

CARD_ELEMENT = "card-element-upgrade"
PLAN_CHANGE = "plan_change"
STALE_REVIEW = "That review is no longer current: review the change again."
RECHECK_DELAYS = (0, 1, 2, 4, 8)  # seconds before each try of one confirmation
STILL_CHECKING = (
    "Stripe has not confirmed the upgrade yet. Reload this page in a minute to see whether it "
    "went through: you will not be charged twice."
)


class UpgradeState(OffLock, ConfirmedChange, PlanSelection, rx.State):
    subscribed: bool = False
    current_label: str = ""
    working: bool = False
    error: str = ""
    notice: str = ""  # "Checking with Stripe…" while an answer is unknown
    change_summary: str = ""
    _upgrade_token: str = ""  # this tab's upgrade claim: its retries reuse its unpaid payment
    _pending_subscription_id: str = ""
    # What the card form was opened for: the upgrade confirmed is this, whatever is clicked since.
    _checkout_plan: str = ""
    _checkout_interval: str = ""
    _confirming: bool = False  # a card confirmation is with Stripe (its repeat does nothing)
    # A promotion code checked with Stripe for one plan and interval (a new choice drops it).
    promo_code: str = ""  # what is typed
    promo_applied: str = ""  # "LAUNCH20: 20% off the first invoice"
    promo_discount_label: str = ""  # "−$31.40"
    promo_due_label: str = ""  # the amount due today with it, by Stripe's preview
    promo_error: str = ""
    promo_checking: bool = False
    _promo_id: str = ""

    @rx.var
    def pay_label(self) -> str:
        return self.promo_due_label or self.amount_due_today_label

    @rx.event
    @guard.owner_only
    def set_promo_code(self, value: str):
        self.promo_code = value[:80]
        self.promo_error = ""

    @rx.event(background=True)
    @guard.owner_only
    async def apply_promo_code(self, form: dict[str, Any] | None = None):
        """Check the typed code with Stripe for the plan shown: the line items then show what
        Stripe takes off, and the upgrade (subscribed: the plan change, reviewed with the code
        and held for Confirm) passes it on."""
        who = guard.principal()
        if not await self._claim("promo_checking", promo_error=""):
            return
        async with self:
            plan, interval = self.plan, self.interval
            typed = str((form or {}).get("promo_code", self.promo_code))
            subscribed = self.subscribed
        preview = None
        try:
            if subscribed:
                preview = await services.preview_plan_change(
                    workspace_id=who.workspace_id,
                    plan=plan,
                    interval=interval,
                    promotion_code=typed,
                )
                applied = preview.applied_code()
            else:
                applied = await services.apply_promotion_code(
                    workspace_id=who.workspace_id, plan=plan, interval=interval, code=typed
                )
        except DomainError as error:
            await self._settle(who, promo_checking=False, promo_error=error.message)
            return
        except BaseException:
            await self._settle(who, promo_checking=False)
            raise
        async with self:
            if not await self._tab_still_for(who):
                return
            self.promo_checking = False
            if (self.plan, self.interval) != (plan, interval):
                self.promo_error = "Your choice changed: apply the code again."
                return
            if preview is not None:
                self._show_review(preview)
            self._promo_id, self.promo_code = applied.promotion_code_id, applied.code
            self.promo_applied = f"{applied.code}: {applied.description}"
            self.promo_discount_label = "−" + pricing.format_cents(applied.discount_cents)
            self.promo_due_label = pricing.format_cents(applied.amount_due_cents)

    def _show_review(self, preview: PlanChangePreview) -> None:
        if preview.review is None:
            self.error = preview.message
        else:
            self._hold_change(PLAN_CHANGE, preview.review.as_args())
            self.change_summary = preview.message

    @rx.event
    @guard.owner_only
    def remove_promo_code(self):
        self._drop_promo()
        self.promo_code = ""
        if self.subscribed:  # the review held was made with the code: review again without it
            self._take_change()
            self.change_summary = ""

    def _drop_promo(self) -> None:
        self._promo_id = ""
        self.promo_applied = self.promo_discount_label = self.promo_due_label = ""
        self.promo_error = ""

    @rx.event
    @guard.owner_page_loader
    async def load_upgrade(self):
        who = guard.principal()
        current = await load_current_plan(who.workspace_id)
        self.seats, self.numbers = max(current.seats, 1), current.numbers
        self.subscribed = current.subscribed
        self.error, self.notice, self.working = "", "", False
        self._confirming = False
        self._selection_changed()
        plan, interval = current.plan, current.interval
        if current.subscribed and plan and interval:
            self.plan, self.interval = plan, interval
            self.current_plan, self.current_interval = plan, interval
            self.current_label = f"{plan.title()} · {interval}ly"
            return None
        self.current_label, self.current_plan, self.current_interval = "", "", ""
        return rx.call_script(mount_script(CARD_ELEMENT))

    @rx.event(background=True)
    @guard.owner_only
    async def checkout(self):
        """From a trial: the subscription is opened at Stripe (unpaid), then Stripe.js confirms
        its first payment with the card typed here: the bank is asked at most once."""
        who = guard.principal()
        if not await self._claim("working", error="", notice=""):
            return  # a second click while the first is with Stripe
        async with self:
            if not self._upgrade_token:
                self._upgrade_token = uuid.uuid4().hex
            token = self._upgrade_token
            plan, interval = self.plan, self.interval  # what is paid for, whatever comes later
            promo_id = self._promo_id  # checked for this plan and interval (a change drops it)
        # Stripe's answer may be lost: the same request is asked again (its key replays, so
        # one subscription at most) and the page says "Checking with Stripe…" until it knows.
        opened: UpgradePayment | UpgradeResult | None = None
        for delay in RECHECK_DELAYS:
            await asyncio.sleep(delay)
            try:
                opened = await services.open_upgrade_payment(
                    workspace_id=who.workspace_id,
                    actor_user_id=who.user_id,
                    token=token,
                    plan=plan,
                    interval=interval,
                    promotion_code_id=promo_id or None,
                )
                break
            except OutcomeUnknown as unknown:
                await self._settle(who, notice=unknown.message)
            except DomainError as error:
                await self._settle(who, working=False, error=error.message, notice="")
                return
            except BaseException:
                await self._settle(who, working=False, notice="")
                raise
        if opened is None:
            await self._settle(who, working=False, notice=STILL_CHECKING)
            return
        if isinstance(opened, UpgradeResult):  # subscribed already (another tab)
            if await self._settle(who, working=False, notice=""):
                yield [rx.toast.success(opened.message), rx.redirect(routes.BILLING)]
            return
        pinned = await self._settle(
            who,
            notice="",
            _pending_subscription_id=opened.subscription_id,
            _checkout_plan=plan,
            _checkout_interval=interval,
        )
        if pinned:
            yield rx.call_script(
                confirm_payment_script(opened.client_secret, who.user_name),
                callback=UpgradeState.payment_confirmed,
            )

    @rx.event(background=True)
    @guard.owner_only
    async def payment_confirmed(self, result: dict[str, Any]):
        """Stripe.js is done with the first payment: Stripe says whether it was paid."""
        who = guard.principal()
        refusal = card_form_refusal(result)
        async with self:
            if self._confirming:
                return  # the same confirmation is with Stripe already
            subscription_id = self._pending_subscription_id
            plan, interval = self._checkout_plan, self._checkout_interval
            token = self._upgrade_token
            if refusal or not subscription_id or not plan or not interval:
                # Declined, or the bank's page refused: nothing was charged; the next click
                # (of any tab) cancels the unpaid subscription and opens a new one.
                self.working, self.error = False, refusal or "Start again: the card form expired."
                self._pending_subscription_id = ""
                failed = True
            else:
                failed, self._confirming = False, True
        if failed:
            if token and subscription_id:
                await self._release(who, token, subscription_id)
            return
        try:
            async for update in self._finish_payment(who, token, subscription_id, plan, interval):
                yield update
        finally:
            async with self:
                self._confirming = False

    async def _release(self, who: guard.Principal, token: str, subscription_id: str) -> None:
        """The unpaid attempt goes (canceled at Stripe) and with it this tab's claim; if Stripe
        cannot be asked now, the claim lapses and the next attempt cancels it."""
        with contextlib.suppress(DomainError):
            await services.release_upgrade_payment(
                workspace_id=who.workspace_id, token=token, subscription_id=subscription_id
            )

    async def _finish_payment(
        self, who: guard.Principal, token: str, subscription_id: str, plan: str, interval: str
    ):
        # A lost answer of the read is asked again; the page says "Checking with Stripe…".
        for delay in RECHECK_DELAYS:
            await asyncio.sleep(delay)
            try:
                upgraded = await services.finish_upgrade_payment(
                    workspace_id=who.workspace_id,
                    actor_user_id=who.user_id,
                    subscription_id=subscription_id,
                    plan=plan,
                    interval=interval,
                )
            except StripeUnavailable as unknown:
                await self._settle(who, notice=unknown.message or STILL_CHECKING)
                continue
            except CardDeclined as declined:  # Stripe has it unpaid, whatever the page said
                await self._release(who, token, subscription_id)
                await self._settle(who, working=False, error=declined.message, notice="")
                return
            except DomainError as error:
                await self._settle(who, working=False, error=error.message, notice="")
                return
            except BaseException:
                await self._settle(who, working=False, notice="")
                raise
            if await self._settle(who, working=False, _pending_subscription_id="", notice=""):
                yield [rx.toast.success(upgraded.message), rx.redirect(routes.BILLING)]
            return
        await self._settle(who, working=False, notice=STILL_CHECKING)

    def _selection_changed(self) -> None:
        """A review belongs to the selection it was made for: a new choice needs a new one."""
        self._take_change()
        self.change_summary = ""
        if self._promo_id:  # the code was checked for the old choice
            self._drop_promo()
            self.promo_error = "Your choice changed: apply the code again."

    @rx.event(background=True)
    @guard.owner_only
    async def review_change(self):
        """Subscribed: what switching costs (Stripe's preview for upgrades), held for Confirm."""
        who = guard.principal()
        async with self:
            if self.working:
                return  # a review or a confirmation is with Stripe
            self.working, self.error = True, ""
            self._take_change()  # a new review replaces the one held
            self.change_summary = ""
            plan, interval = self.plan, self.interval
            # an applied code is for this choice (a new choice drops it): reviewed with it
            code = self.promo_code if self._promo_id else None
        try:
            preview = await services.preview_plan_change(
                workspace_id=who.workspace_id, plan=plan, interval=interval, promotion_code=code
            )
        except DomainError as error:
            await self._settle(who, working=False, error=error.message)
            return
        except BaseException:
            await self._settle(who, working=False)
            raise
        async with self:
            if not await self._tab_still_for(who):
                return
            self.working = False
            if (self.plan, self.interval) != (plan, interval):
                return  # another choice was clicked meanwhile: this review is not for it
            self._show_review(preview)

    @rx.event(background=True)
    @guard.owner_only
    async def confirm_change(self, token: str = ""):
        """Carries out the review `token` names, for its selection, or nothing at all."""
        who = guard.principal()
        async with self:
            if self.working:
                return  # the confirmation (or a review) is with Stripe: a double click
            action, args, _cents = self._take_change(token)
            self.change_summary = ""
            stale = action != PLAN_CHANGE and not self._repeated(token)
            if action == PLAN_CHANGE:
                self.working, self.error = True, ""
        if action != PLAN_CHANGE:
            if stale:
                yield rx.toast.error(STALE_REVIEW)
            return
        review = services.PlanChangeReview.from_args(args)
        try:
            changed = await services.change_plan(
                workspace_id=who.workspace_id,
                actor_user_id=who.user_id,
                plan=review.plan,
                interval=review.interval,
                review=review,
            )
        except DomainError as error:
            await self._settle(who, working=False, error=error.message)
            return
        except BaseException:
            await self._settle(who, working=False)
            raise
        if await self._settle(who, working=False):
            yield [rx.toast.success(changed.message), rx.redirect(routes.BILLING)]


def _trial_checkout() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Payment", size="4", as_="h2"),
            card_element(CARD_ELEMENT),
            rx.text(
                "Your card goes straight to Stripe; Clerk Chat never sees the number. You are "
                "charged the amount due today, then every period until you cancel.",
                size="1",
                color_scheme="gray",
            ),
            _promo_code(),
            rx.button(
                "Upgrade and pay " + UpgradeState.pay_label,
                on_click=UpgradeState.checkout,
                loading=UpgradeState.working,
                disabled=UpgradeState.selection_problems != "",
                size="3",
                width="100%",
                id="confirm-upgrade",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _promo_code() -> rx.Component:
    applied = rx.hstack(
        rx.badge("Code applied", color_scheme="green", variant="surface", high_contrast=True),
        rx.text(UpgradeState.promo_applied, size="2", id="promo-applied"),
        rx.text(UpgradeState.promo_discount_label, size="2", weight="bold", id="promo-discount"),
        rx.button(
            "Remove",
            on_click=UpgradeState.remove_promo_code,
            variant="ghost",
            size="1",
            type="button",
            aria_label="Remove the promotion code",
        ),
        align="center",
        spacing="2",
        wrap="wrap",
    )
    entry = rx.form(
        rx.vstack(
            rx.el.label(
                "Promotion code (optional)", html_for="promo-code", style={"fontSize": "14px"}
            ),
            rx.hstack(
                rx.input(
                    id="promo-code",
                    name="promo_code",
                    value=UpgradeState.promo_code,
                    on_change=UpgradeState.set_promo_code,
                    max_length=64,
                    autocomplete="off",
                    placeholder="e.g. LAUNCH20",
                    aria_invalid=rx.cond(UpgradeState.promo_error != "", "true", "false"),
                    aria_describedby="promo-error",
                    flex="1",
                ),
                rx.button(
                    "Apply",
                    type="submit",
                    variant="soft",
                    loading=UpgradeState.promo_checking,
                    disabled=UpgradeState.promo_code == "",
                    id="apply-promo",
                ),
                width="100%",
            ),
            rx.cond(
                UpgradeState.promo_error != "",
                rx.text(
                    UpgradeState.promo_error,
                    color_scheme="red",
                    size="2",
                    id="promo-error",
                    role="alert",
                ),
            ),
            spacing="1",
            width="100%",
        ),
        on_submit=UpgradeState.apply_promo_code,
        reset_on_submit=False,
        width="100%",
    )
    return rx.cond(UpgradeState.promo_applied != "", applied, entry)


def _plan_change() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text("Current plan: ", rx.text.strong(UpgradeState.current_label), size="2"),
            rx.cond(
                UpgradeState.change_summary != "",
                rx.callout(UpgradeState.change_summary, icon="info", id="change-summary"),
            ),
            _promo_code(),
            rx.hstack(
                rx.button(
                    "Review change",
                    on_click=UpgradeState.review_change,
                    variant="soft",
                    loading=UpgradeState.working,
                    id="review-change",
                ),
                rx.button(
                    "Confirm change",
                    on_click=UpgradeState.confirm_change(UpgradeState.confirm_token),
                    disabled=(UpgradeState.confirm_token == "") | UpgradeState.working,
                    loading=UpgradeState.working,
                    id="confirm-change",
                ),
                spacing="3",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def upgrade() -> rx.Component:
    owner_view = rx.vstack(
        rx.text(
            "Your plan covers ",
            rx.text.strong(UpgradeState.seats.to_string()),
            " seats and ",
            rx.text.strong(UpgradeState.numbers.to_string()),
            " phone numbers: the team and numbers you have now.",
            size="2",
        ),
        interval_switch(UpgradeState),
        plan_cards(UpgradeState, on_contact_sales=UpgradeState.contact_sales),
        rx.grid(
            line_items(
                UpgradeState,
                show_due_today=~UpgradeState.subscribed,
                discount=(UpgradeState.promo_applied, UpgradeState.promo_discount_label),
                due_today=UpgradeState.pay_label,
            ),
            rx.cond(UpgradeState.subscribed, _plan_change(), _trial_checkout()),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
        rx.cond(
            UpgradeState.notice != "",
            rx.callout(UpgradeState.notice, icon="info", id="upgrade-notice", role="status"),
        ),
        rx.cond(
            UpgradeState.error != "",
            rx.callout(
                UpgradeState.error,
                icon="triangle_alert",
                color_scheme="red",
                id="upgrade-error",
                role="alert",
            ),
        ),
        contact_sales_dialog(),
        spacing="4",
        width="100%",
    )
    return page_shell(UpgradeState.change_title, owners_only(owner_view), card_script_tag())
