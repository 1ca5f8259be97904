"""Trial → paid: preview, then the subscription and its first payment, the card confirmed once.

A paid start (the page's upgrade) follows Stripe's subscription integration
(https://docs.stripe.com/billing/subscriptions/build-subscriptions):
`open_upgrade_payment` takes the workspace's one upgrade claim and creates the subscription with
`payment_behavior=default_incomplete` and `payment_settings[save_default_payment_method]=
on_subscription`; the browser confirms the first invoice's PaymentIntent with the card element
(Stripe.js `confirmCardPayment`), so the bank is asked at most once (3-D Secure) and Stripe saves
the card as the subscription's default when it pays; `finish_upgrade_payment` re-reads the
subscription from Stripe and records it once it is paid. An unpaid attempt is reused by the same
tab's next click (same choice: the same subscription and PaymentIntent), canceled otherwise
(another choice, or the next attempt after the claim lapsed); Stripe would expire it after 23 h.

Keeping the trial (nothing to pay today) still sets the card up first:
1. `preview_upgrade` (no Stripe call): line items and the amount due today.
2. `start_upgrade`: makes sure the workspace has a Stripe customer and opens a SetupIntent; the
   browser confirms it with Stripe.js (the card number never reaches us; 3-D Secure happens there).
3. `complete_upgrade`: checks the SetupIntent belongs to this workspace's customer and succeeded,
   takes the workspace's one upgrade claim (`upgrade_claim`), makes its card the default and
   creates the subscription (a seat item and a number item) with
   `payment_behavior=error_if_incomplete`: a declined first payment leaves no subscription and no
   charge, so the workspace stays on its trial. The mirror is written from Stripe's response; a
   lost response is found out (the customer's subscriptions) before the owner is told anything.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from clerk_portal.billing import ledger, mirror, pricing
from clerk_portal.billing.catalog import Interval, get_catalog
from clerk_portal.billing.errors import (
    BillingError,
    CardDeclined,
    GatewayError,
    OutcomeUnknown,
    PaymentRequiresAction,
)
from clerk_portal.billing.gateway import (
    BillingGateway,
    CardSnapshot,
    SubscriptionSnapshot,
    gateway_or_default,
)
from clerk_portal.billing.services import discounts, upgrade_claim
from clerk_portal.billing.services.common import (
    CLASSIC_BILLING,
    AccountView,
    actor_name,
    load_account,
    write_subscription,
)
from clerk_portal.billing.services.customer import ensure_customer
from clerk_portal.core.db import in_db
from clerk_portal.core.errors import InvalidValue
from clerk_portal.core.settings import get_settings
from clerk_portal.models import BillingAccount, BillingActivity
from clerk_portal.models.status import ADOPTABLE, CHANGEABLE, SUBSCRIBED
from clerk_portal.workspace import repository

IN_PROGRESS = (
    "An upgrade is already in progress in another tab or window. Finish it there (this page "
    "then shows it), or, if you closed it, try again in a few minutes."
)
CLAIM_SECONDS = 300


@dataclass(frozen=True)
class UpgradePreview:
    quote: pricing.Quote
    amount_due_today_cents: int
    limit_problems: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return not self.limit_problems


@dataclass(frozen=True)
class UpgradeStart:
    setup_intent_id: str
    client_secret: str
    publishable_key: str
    preview: UpgradePreview


@dataclass(frozen=True)
class UpgradePayment:
    """A paid start's subscription, incomplete until the browser confirms its first payment."""

    subscription_id: str
    client_secret: str  # the first invoice's PaymentIntent's, for confirmCardPayment
    publishable_key: str
    amount_due_cents: int


@dataclass(frozen=True)
class UpgradeResult:
    plan: str
    interval: str
    status: str
    amount_charged_cents: int
    invoice_number: str | None
    message: str


def _check_choice(plan: str, interval: str) -> None:
    chosen = get_catalog().plan(plan)
    if not chosen.self_serve:
        raise BillingError(f"{chosen.name} is arranged with our sales team: use the contact form.")
    if interval not in ("month", "year"):
        raise InvalidValue("Choose monthly or yearly billing.")


def _counts(session: Session, workspace_id: int) -> tuple[int, int]:
    return (
        repository.active_seat_count(session, workspace_id=workspace_id),
        repository.active_number_count(session, workspace_id=workspace_id),
    )


async def preview_upgrade(*, workspace_id: int, plan: str, interval: Interval) -> UpgradePreview:
    """Line items for the current team and numbers; makes no Stripe call."""
    _check_choice(plan, interval)
    seats, numbers = await in_db(lambda session: _counts(session, workspace_id))
    quote = pricing.quote(plan, interval, seats, numbers)
    problems = tuple(pricing.check_plan_limits(plan, seats, numbers))
    return UpgradePreview(quote, pricing.amount_due_today(quote), problems)


async def apply_promotion_code(
    *,
    workspace_id: int,
    plan: str,
    interval: Interval,
    code: object,
    gateway: BillingGateway | None = None,
) -> discounts.AppliedCode:
    """What a promotion code takes off this upgrade's first invoice, by Stripe's preview."""
    gateway = gateway_or_default(gateway)
    _check_choice(plan, interval)
    seats, numbers = await in_db(lambda session: _counts(session, workspace_id))
    problems = pricing.check_plan_limits(plan, seats, numbers)
    if problems:
        raise BillingError(" ".join(problems))
    return await discounts.check_promotion_code(
        workspace_id=workspace_id,
        plan=plan,
        interval=interval,
        code=code,
        items=await subscription_items(gateway, plan, interval, seats, numbers),
        gateway=gateway,
    )


async def start_upgrade(
    *, workspace_id: int, plan: str, interval: Interval, gateway: BillingGateway | None = None
) -> UpgradeStart:
    """A SetupIntent for the card form, plus the preview to show next to it."""
    gateway = gateway_or_default(gateway)
    preview = await preview_upgrade(workspace_id=workspace_id, plan=plan, interval=interval)
    if not preview.allowed:
        raise BillingError(" ".join(preview.limit_problems))
    view = await ensure_customer(await load_account(workspace_id), gateway)
    if view.subscription_id and view.status in SUBSCRIBED:
        raise BillingError("This workspace already has a subscription: change the plan instead.")
    # One key per click: the SDK's retries of this request reuse it; a new click opens a new form.
    intent = await gateway.create_setup_intent(
        customer_id=view.customer_id or "",
        metadata={"workspace_id": str(workspace_id), "purpose": "upgrade"},
        idempotency_key=f"{view.namespace}:setup_intent:upgrade:{uuid.uuid4().hex}",
    )
    return UpgradeStart(
        intent.id, intent.client_secret or "", get_settings().stripe_publishable, preview
    )


async def complete_upgrade(
    *,
    workspace_id: int,
    actor_user_id: int | None,
    setup_intent_id: str,
    plan: str,
    interval: Interval,
    keep_trial: bool = False,
    promotion_code_id: str | None = None,
    counts: tuple[int, int] | None = None,
    coupon_id: str | None = None,
    gateway: BillingGateway | None = None,
) -> UpgradeResult:
    """Subscribe with the confirmed card. `keep_trial=True` bills at the trial's end instead;
    `promotion_code_id` (from `apply_promotion_code`, pinned with the card form) is Stripe's
    discount on the subscription. A sales quote's terms (`services.quotes.accept_quote`): its
    `counts` (seats, numbers) instead of the workspace's, and its `coupon_id`.

    One attempt at a time per workspace (`upgrade_claim`); the same tab asking again (after a
    timeout, say) repeats its attempt with the same idempotency key. An attempt that finds a
    live subscription at Stripe (another tab's, or one a crashed process created) adopts it.
    """
    gateway = gateway_or_default(gateway)
    _check_choice(plan, interval)
    view = await load_account(workspace_id)
    if view.customer_id is None:
        raise BillingError("Start the upgrade again: the card form has expired.")
    if counts is None:
        counts = await in_db(lambda session: _counts(session, workspace_id))
    seats, numbers = counts
    chosen = get_catalog().plan(plan)
    record = _recorder(actor_user_id, chosen.name, plan, interval, seats, numbers)
    if view.subscription_id and view.status in SUBSCRIBED:
        # This tab's own attempt, whose lost answer a webhook brought meanwhile, is its success.
        if await in_db(lambda s: upgrade_claim.held_by(s, workspace_id, setup_intent_id)) and (
            adopted := await _adopt_live(view, gateway, record)
        ):
            return adopted
        raise BillingError("This workspace already has a subscription: change the plan instead.")
    problems = pricing.check_plan_limits(plan, seats, numbers)
    if problems:
        raise BillingError(" ".join(problems))

    card = await confirmed_card(gateway, setup_intent_id, view.customer_id)
    claim = await in_db(
        lambda session: upgrade_claim.take(
            session, workspace_id, setup_intent_id, seconds=CLAIM_SECONDS
        )
    )
    if claim is None:  # another tab is upgrading: its subscription may be at Stripe already
        if adopted := await _adopt_live(view, gateway, record):
            return adopted
        raise BillingError(IN_PROGRESS)
    try:
        # A new attempt looks first: an earlier one may have ended without a word (a crash,
        # a closed tab) after Stripe acted.
        if claim.new and (
            adopted := await _adopt_live(view, gateway, record, abandon_incomplete=True)
        ):
            return adopted
        return await _subscribe(
            view,
            gateway,
            claim.attempt,
            card,
            record,
            items=await subscription_items(gateway, plan, interval, seats, numbers),
            trial_end=await _trial_end(workspace_id) if keep_trial else None,
            promotion_code_id=promotion_code_id,
            coupon_id=coupon_id,
        )
    except OutcomeUnknown:
        raise  # the claim stays: only this tab's same attempt may go on
    except PaymentRequiresAction as needed:
        if not needed.subscription_id:
            await _release(workspace_id, setup_intent_id)
        raise
    except GatewayError as error:
        await _release(workspace_id, setup_intent_id)
        if isinstance(error, CardDeclined):
            await _record_failure(workspace_id, actor_user_id, chosen.name, error.message)
        raise


ALREADY = "This workspace already has a subscription: change the plan instead."
NOT_PAID = "The payment did not go through, so nothing was charged. Check the card and try again."


async def open_upgrade_payment(
    *,
    workspace_id: int,
    actor_user_id: int | None,
    token: str,
    plan: str,
    interval: Interval,
    promotion_code_id: str | None = None,
    gateway: BillingGateway | None = None,
) -> UpgradePayment | UpgradeResult:
    """The subscription of a paid start, `default_incomplete`: what the browser confirms.

    `token` is the tab's (its claim): the same tab asking again for the same choice gets the
    same subscription and PaymentIntent back (its idempotency key replays), so a declined card
    is retried on the same payment; another choice cancels the unpaid one first. Another tab is
    refused while the claim is fresh. An UpgradeResult: Stripe has the workspace subscribed
    already (another tab's paid attempt, adopted), or nothing was due."""
    gateway = gateway_or_default(gateway)
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        raise InvalidValue("Start the upgrade again: the page has expired.")
    preview = await preview_upgrade(workspace_id=workspace_id, plan=plan, interval=interval)
    if not preview.allowed:
        raise BillingError(" ".join(preview.limit_problems))
    view = await ensure_customer(await load_account(workspace_id), gateway)
    if view.subscription_id and view.status in SUBSCRIBED:
        raise BillingError(ALREADY)
    seats, numbers = preview.quote.seats, preview.quote.numbers
    record = _recorder(actor_user_id, get_catalog().plan(plan).name, plan, interval, seats, numbers)
    claim = await in_db(
        lambda session: upgrade_claim.take(session, workspace_id, token, seconds=CLAIM_SECONDS)
    )
    if claim is None:  # another tab is upgrading: it may have paid already
        if adopted := await _adopt_live(view, gateway, record):
            return adopted
        raise BillingError(IN_PROGRESS)
    params: dict[str, Any] = {
        "customer": view.customer_id,
        "items": await subscription_items(gateway, plan, interval, seats, numbers),
        "payment_behavior": "default_incomplete",
        "payment_settings": {"save_default_payment_method": "on_subscription"},
        "billing_mode": CLASSIC_BILLING,
        "metadata": {"workspace_id": str(workspace_id)},
    }
    if promotion_code_id:
        params["discounts"] = [{"promotion_code": promotion_code_id}]
    choice = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    mark = f"{claim.attempt}:{choice}"  # this attempt's subscription for this choice
    params["metadata"]["upgrade"] = mark
    try:
        listed = await gateway.list_subscriptions(view.customer_id or "")
        if adopted := await _adopt_listed(view, gateway, record, listed):
            return adopted
        for stale in listed:
            if stale.status == "incomplete" and stale.metadata.get("upgrade") != mark:
                await abandon(gateway, view.namespace, stale.id)
        # This choice's subscription canceled earlier (another choice came between): anew.
        again = sum(
            1 for s in listed if s.metadata.get("upgrade") == mark and s.status != "incomplete"
        )
        key = f"{view.namespace}:subscribe:{mark}:{again}"
        pending = await gateway.create_subscription(params, idempotency_key=key)
    except OutcomeUnknown:
        # The claim stays: this tab's same request replays, nobody else subscribes.
        raise OutcomeUnknown(CHECKING) from None
    except GatewayError:
        await _release(workspace_id, token)
        raise
    if pending.status in ADOPTABLE:  # nothing was due today (a 100 % code, say)
        return await write_subscription(view, gateway, pending, apply=record(None))
    invoice = pending.latest_invoice
    if invoice is None or not invoice.confirmation_client_secret:
        await abandon(gateway, view.namespace, pending.id)
        await _release(workspace_id, token)
        raise BillingError("Stripe did not open the payment. Please try again.")
    return UpgradePayment(
        pending.id,
        invoice.confirmation_client_secret,
        get_settings().stripe_publishable,
        invoice.amount_due,
    )


async def release_upgrade_payment(
    *,
    workspace_id: int,
    token: str,
    subscription_id: str,
    gateway: BillingGateway | None = None,
) -> None:
    """The browser's confirmation failed (declined, the bank refused, a typo in the card):
    nothing was charged. The unpaid subscription is canceled and its invoice voided at once
    (it can never be paid, and no open invoice is left), then the tab's claim goes, so that any
    tab may try again at once with a new one. One that Stripe has paid after all stays."""
    gateway = gateway_or_default(gateway)
    view = await load_account(workspace_id)
    if isinstance(subscription_id, str) and subscription_id.startswith("sub_"):
        snapshot = await gateway.retrieve_subscription(subscription_id)
        if snapshot.customer == view.customer_id and snapshot.status == "incomplete":
            await abandon(gateway, view.namespace, snapshot.id)
    await _release(workspace_id, token)


async def finish_upgrade_payment(
    *,
    workspace_id: int,
    actor_user_id: int | None,
    subscription_id: str,
    plan: str,
    interval: Interval,
    gateway: BillingGateway | None = None,
) -> UpgradeResult:
    """After the browser confirmed the first payment: what Stripe says, read anew (never what
    the page says). Paid: the card Stripe saved on the subscription becomes the customer's
    default too, and the upgrade is recorded. Not paid: `CardDeclined`; the subscription stays
    for the same tab's retry (or the next attempt cancels it)."""
    gateway = gateway_or_default(gateway)
    _check_choice(plan, interval)
    if not isinstance(subscription_id, str) or not subscription_id.startswith("sub_"):
        raise InvalidValue("That payment is not valid.")
    view, snapshot = await _own_subscription(workspace_id, subscription_id, gateway)
    if snapshot.status not in ADOPTABLE:
        raise CardDeclined(NOT_PAID)
    card = None
    if snapshot.default_payment_method:
        await gateway.set_default_payment_method(snapshot.customer, snapshot.default_payment_method)
        card = await gateway.retrieve_payment_method(snapshot.default_payment_method)
    seats, numbers = await in_db(lambda session: _counts(session, workspace_id))
    chosen = get_catalog().plan(plan)
    record = _recorder(actor_user_id, chosen.name, plan, interval, seats, numbers)
    return await write_subscription(view, gateway, snapshot, apply=record(card))


async def subscription_items(
    gateway: BillingGateway, plan: str, interval: Interval, seats: int, numbers: int
) -> list[dict[str, Any]]:
    chosen = get_catalog().plan(plan)
    seat_price = await gateway.price_for(chosen.lookup_key("seat", interval))
    number_price = await gateway.price_for(chosen.lookup_key("number", interval))
    return [
        {"price": seat_price.id, "quantity": seats},
        {"price": number_price.id, "quantity": pricing.number_quantity(plan, numbers)},
    ]


async def _subscribe(
    view: AccountView,
    gateway: BillingGateway,
    attempt: int,
    card: CardSnapshot,
    record: Recorder,
    *,
    items: list[dict[str, Any]],
    trial_end: int | None,
    promotion_code_id: str | None = None,
    coupon_id: str | None = None,
) -> UpgradeResult:
    """Create the subscription of this attempt (its key is the attempt's, not the tab's).

    The card becomes the customer's default only once it paid: a declined one leaves nothing."""
    params: dict[str, Any] = {
        "customer": view.customer_id,
        "items": items,
        "default_payment_method": card.id,
        "payment_behavior": "error_if_incomplete",
        "off_session": True,
        "billing_mode": CLASSIC_BILLING,
        "metadata": {"workspace_id": str(view.workspace_id)},
    }
    if trial_end:
        params["trial_end"] = trial_end
    if promotion_code_id:
        params["discounts"] = [{"promotion_code": promotion_code_id}]
    elif coupon_id:
        params["discounts"] = [{"coupon": coupon_id}]
    key = f"{view.namespace}:subscribe:{attempt}"
    try:
        snapshot = await gateway.create_subscription(params, idempotency_key=key)
    except OutcomeUnknown:
        return await _found_out(view, gateway, record)
    except PaymentRequiresAction:
        # The bank wants 3-D Secure for this payment as well: open the subscription incomplete,
        # so that the browser can confirm the first invoice's payment. Nothing is charged unless
        # it does; `finish_authenticated_upgrade` then records it, or cancels it.
        incomplete = {**params, "payment_behavior": "default_incomplete"}
        incomplete.pop("off_session", None)
        try:
            pending = await gateway.create_subscription(
                incomplete, idempotency_key=f"{key}:authenticate"
            )
        except OutcomeUnknown:
            return await _found_out(view, gateway, record)
        secret = (
            pending.latest_invoice.confirmation_client_secret if pending.latest_invoice else None
        )
        if not secret:
            await abandon(gateway, view.namespace, pending.id)
            raise
        raise PaymentRequiresAction(
            AUTHENTICATE, client_secret=secret, subscription_id=pending.id
        ) from None
    await gateway.set_default_payment_method(view.customer_id or "", card.id)
    return await write_subscription(view, gateway, snapshot, apply=record(card))


async def _found_out(view: AccountView, gateway: BillingGateway, record: Recorder) -> UpgradeResult:
    """Stripe's answer was lost: a live subscription is the answer, else nobody knows yet."""
    try:
        adopted = await _adopt_live(view, gateway, record)
    except GatewayError:
        adopted = None
    if adopted is None:
        raise OutcomeUnknown(CHECKING)
    return adopted


async def _adopt_live(
    view: AccountView,
    gateway: BillingGateway,
    record: Recorder,
    *,
    abandon_incomplete: bool = False,
) -> UpgradeResult | None:
    """Mirror the customer's live subscription, if Stripe has one (the oldest, when several:
    reconcile reports the others). `abandon_incomplete`: earlier attempts' unpaid ones go."""
    listed = await gateway.list_subscriptions(view.customer_id or "")
    if abandon_incomplete:
        for stale in (s for s in listed if s.status == "incomplete"):
            await abandon(gateway, view.namespace, stale.id)
    return await _adopt_listed(view, gateway, record, listed)


async def _adopt_listed(
    view: AccountView,
    gateway: BillingGateway,
    record: Recorder,
    listed: list[SubscriptionSnapshot],
) -> UpgradeResult | None:
    live = [s for s in listed if s.status in ADOPTABLE]
    if not live:
        return None
    snapshot = await gateway.retrieve_subscription(live[-1].id)  # Stripe lists newest first
    card = None
    if snapshot.default_payment_method:
        card = await gateway.retrieve_payment_method(snapshot.default_payment_method)
    return await write_subscription(view, gateway, snapshot, apply=record(card))


async def _release(workspace_id: int, setup_intent_id: str) -> None:
    await in_db(lambda session: upgrade_claim.release(session, workspace_id, setup_intent_id))


AUTHENTICATE = "Your bank asks you to confirm this payment (3-D Secure)."
CHECKING = (
    "Checking with Stripe… Its answer did not arrive in time, so this page cannot tell yet "
    "whether you were charged. You will not be charged twice."
)


async def _own_subscription(
    workspace_id: int, subscription_id: str, gateway: BillingGateway
) -> tuple[AccountView, SubscriptionSnapshot]:
    """The workspace and the subscription read from Stripe, which must be its customer's."""
    view = await load_account(workspace_id)
    if view.customer_id is None:
        raise BillingError("Start the upgrade again: the card form has expired.")
    snapshot = await gateway.retrieve_subscription(subscription_id)
    if snapshot.customer != view.customer_id:
        raise BillingError("That payment belongs to another workspace.")
    return view, snapshot


async def finish_authenticated_upgrade(
    *,
    workspace_id: int,
    actor_user_id: int | None,
    setup_intent_id: str,
    subscription_id: str,
    plan: str,
    interval: str,
    gateway: BillingGateway | None = None,
) -> UpgradeResult:
    """After the browser's 3-D Secure confirmation: the subscription is paid (record it) or it
    is not (cancel it, so the workspace stays on its trial with nothing charged)."""
    gateway = gateway_or_default(gateway)
    _check_choice(plan, interval)
    view, snapshot = await _own_subscription(workspace_id, subscription_id, gateway)
    chosen = get_catalog().plan(plan)
    if snapshot.status not in CHANGEABLE:
        await abandon(gateway, view.namespace, subscription_id)
        await _release(workspace_id, setup_intent_id)
        message = "The payment was not confirmed, so nothing was charged. Please try again."
        await _record_failure(workspace_id, actor_user_id, chosen.name, message)
        raise CardDeclined(message)
    card = await confirmed_card(gateway, setup_intent_id, snapshot.customer)
    await gateway.set_default_payment_method(snapshot.customer, card.id)
    seats, numbers = await in_db(lambda session: _counts(session, workspace_id))
    record = _recorder(actor_user_id, chosen.name, plan, interval, seats, numbers)
    return await write_subscription(view, gateway, snapshot, apply=record(card))


async def abandon(gateway: BillingGateway, namespace: str, subscription_id: str) -> None:
    """Cancel an unpaid attempt and void its first invoice: Stripe leaves the invoice of a
    canceled subscription open (only its automatic collection stops)."""
    canceled = await gateway.cancel_subscription(
        subscription_id, {}, idempotency_key=f"{namespace}:abandon:{subscription_id}"
    )
    if canceled.latest_invoice_id:
        invoice = await gateway.retrieve_invoice(canceled.latest_invoice_id)
        if invoice.status == "open" and invoice.amount_paid == 0:
            await gateway.void_invoice(invoice.id, idempotency_key=f"{namespace}:void:{invoice.id}")


async def _record_failure(
    workspace_id: int, actor_user_id: int | None, plan_name: str, message: str
) -> None:
    await in_db(
        lambda session: ledger.record_activity(
            session,
            workspace_id=workspace_id,
            actor_user_id=actor_user_id,
            kind="upgrade_failed",
            summary=f"Upgrade to {plan_name} failed: {message}",
        )
    )


Recorder = Callable[
    [CardSnapshot | None], Callable[[Session, BillingAccount, SubscriptionSnapshot], UpgradeResult]
]


def _recorder(
    actor_user_id: int | None, plan_name: str, plan: str, interval: str, seats: int, numbers: int
) -> Recorder:
    """The mirror write and activity entry of a successful upgrade (`record(card)`)."""

    def with_card(
        card: CardSnapshot | None,
    ) -> Callable[[Session, BillingAccount, SubscriptionSnapshot], UpgradeResult]:
        def apply(
            session: Session, account: BillingAccount, snap: SubscriptionSnapshot
        ) -> UpgradeResult:
            mirror.apply_subscription(session, account, snap)
            mirror.apply_card(session, account, card)
            account.quantities_dirty_since = None
            upgrade_claim.clear(account)
            session.add(account)
            paid = snap.latest_invoice.amount_paid if snap.latest_invoice else 0
            number = snap.latest_invoice.number if snap.latest_invoice else None
            yearly = "yearly" if interval == "year" else "monthly"
            who = actor_name(session, actor_user_id)
            summary = f"{who} upgraded to {plan_name} ({yearly})"
            summary += (
                f": {pricing.format_cents(paid)} charged" if paid else ", billed at trial end"
            )
            # Several tabs may learn of the same subscription: it is recorded once.
            if not _recorded(session, account.workspace_id, snap.id):
                ledger.record_activity(
                    session,
                    workspace_id=account.workspace_id,
                    actor_user_id=actor_user_id,
                    kind="upgrade",
                    summary=summary,
                    amount_cents=paid,
                    details={
                        "plan": plan,
                        "interval": interval,
                        "seats": seats,
                        "numbers": numbers,
                        "subscription": snap.id,
                    },
                )
            you = f"You upgraded to {plan_name} ({yearly})" + summary.split(f"({yearly})", 1)[1]
            return UpgradeResult(plan, interval, account.status, paid, number, f"{you}.")

        return apply

    return with_card


def _recorded(session: Session, workspace_id: int, subscription_id: str) -> bool:
    upgrades = session.exec(
        select(BillingActivity).where(
            BillingActivity.workspace_id == workspace_id, BillingActivity.kind == "upgrade"
        )
    ).all()
    return any((row.details or {}).get("subscription") == subscription_id for row in upgrades)


async def confirmed_card(
    gateway: BillingGateway, setup_intent_id: str, customer_id: str
) -> CardSnapshot:
    """The card of a succeeded SetupIntent of this customer (refuses anyone else's)."""
    if not isinstance(setup_intent_id, str) or not setup_intent_id.startswith("seti_"):
        raise InvalidValue("That card confirmation is not valid.")
    intent = await gateway.retrieve_setup_intent(setup_intent_id)
    if intent.customer != customer_id:
        raise BillingError("That card confirmation belongs to another workspace.")
    if intent.status == "requires_action":
        raise PaymentRequiresAction(
            "Your bank asks you to confirm the card (3-D Secure). Please finish that step.",
            client_secret=intent.client_secret,
        )
    if intent.status != "succeeded" or not intent.payment_method:
        raise BillingError("The card was not confirmed. Please enter it again.")
    if intent.card is not None and intent.card.id == intent.payment_method:
        return intent.card  # read with the SetupIntent
    return await gateway.retrieve_payment_method(intent.payment_method)


async def _trial_end(workspace_id: int) -> int | None:
    def read(session: Session) -> int | None:
        account = repository.get_billing_account(session, workspace_id=workspace_id)
        ends = account.trial_ends_at
        if ends is None:
            return None
        now = datetime.now(UTC)
        return int(ends.timestamp()) if ends > now else None

    return await in_db(read)
