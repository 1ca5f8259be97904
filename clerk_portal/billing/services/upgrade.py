"""Trial → paid: preview, card confirmation through a SetupIntent, then the subscription.

1. `preview_upgrade` (no Stripe call): line items and the amount due today.
2. `start_upgrade`: makes sure the workspace has a Stripe customer and opens a SetupIntent; the
   browser confirms it with Stripe.js (the card number never reaches us; 3-D Secure happens there).
3. `complete_upgrade`: checks the SetupIntent belongs to this workspace's customer and succeeded,
   makes its card the default and creates the subscription (a seat item and a number item) with
   `payment_behavior=error_if_incomplete`: a declined first payment leaves no subscription and no
   charge, so the workspace stays on its trial. The mirror is written from Stripe's response.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from clerk_portal.billing import mirror, pricing, repository
from clerk_portal.billing.catalog import get_catalog
from clerk_portal.billing.errors import BillingError, CardDeclined, PaymentRequiresAction
from clerk_portal.billing.gateway import StripeGateway, SubscriptionSnapshot
from clerk_portal.billing.services.common import (
    actor_name,
    gateway_or_default,
    in_db,
    load_account,
    write_subscription,
)
from clerk_portal.billing.services.customer import ensure_customer
from clerk_portal.domain_errors import InvalidValue
from clerk_portal.models import BillingAccount
from clerk_portal.settings import get_settings

SUBSCRIBED = ("active", "past_due", "unpaid", "incomplete")


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


async def preview_upgrade(*, workspace_id: int, plan: str, interval: str) -> UpgradePreview:
    """Line items for the current team and numbers; makes no Stripe call."""
    _check_choice(plan, interval)
    seats, numbers = await in_db(lambda session: _counts(session, workspace_id))
    quote = pricing.quote(plan, interval, seats, numbers)  # type: ignore[arg-type]
    problems = tuple(pricing.check_plan_limits(plan, seats, numbers))
    return UpgradePreview(quote, pricing.amount_due_today(quote), problems)


async def start_upgrade(
    *, workspace_id: int, plan: str, interval: str, gateway: StripeGateway | None = None
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
    interval: str,
    keep_trial: bool = False,
    gateway: StripeGateway | None = None,
) -> UpgradeResult:
    """Subscribe with the confirmed card. `keep_trial=True` bills at the trial's end instead."""
    gateway = gateway_or_default(gateway)
    _check_choice(plan, interval)
    view = await load_account(workspace_id)
    if view.customer_id is None:
        raise BillingError("Start the upgrade again: the card form has expired.")
    if view.subscription_id and view.status in SUBSCRIBED:
        raise BillingError("This workspace already has a subscription: change the plan instead.")
    seats, numbers = await in_db(lambda session: _counts(session, workspace_id))
    problems = pricing.check_plan_limits(plan, seats, numbers)
    if problems:
        raise BillingError(" ".join(problems))

    card = await confirmed_card(gateway, setup_intent_id, view.customer_id)
    await gateway.set_default_payment_method(view.customer_id, card.id)
    chosen = get_catalog().plan(plan)
    seat_price = await gateway.price_for(chosen.lookup_key("seat", interval))  # type: ignore[arg-type]
    number_price = await gateway.price_for(chosen.lookup_key("number", interval))  # type: ignore[arg-type]
    params: dict = {
        "customer": view.customer_id,
        "items": [
            {"price": seat_price.id, "quantity": seats},
            {"price": number_price.id, "quantity": pricing.number_quantity(plan, numbers)},
        ],
        "default_payment_method": card.id,
        "payment_behavior": "error_if_incomplete",
        "off_session": True,
        "metadata": {"workspace_id": str(workspace_id)},
    }
    trial_end = await _trial_end(workspace_id) if keep_trial else None
    if trial_end:
        params["trial_end"] = trial_end
    key = f"{view.namespace}:subscribe:{plan}:{interval}:{setup_intent_id}"
    try:
        snapshot = await gateway.create_subscription(params, idempotency_key=key)
    except PaymentRequiresAction:
        # The bank wants 3-D Secure for this payment as well: open the subscription incomplete,
        # so that the browser can confirm the first invoice's payment. Nothing is charged unless
        # it does; `finish_authenticated_upgrade` then records it, or cancels it.
        incomplete = {**params, "payment_behavior": "default_incomplete"}
        incomplete.pop("off_session", None)
        pending = await gateway.create_subscription(
            incomplete, idempotency_key=f"{key}:authenticate"
        )
        secret = (
            pending.latest_invoice.confirmation_client_secret if pending.latest_invoice else None
        )
        if not secret:
            await _abandon(gateway, view.namespace, pending.id)
            raise
        raise PaymentRequiresAction(
            AUTHENTICATE, client_secret=secret, subscription_id=pending.id
        ) from None
    except CardDeclined as error:
        await _record_failure(workspace_id, actor_user_id, chosen.name, error.message)
        raise
    return await write_subscription(
        view,
        gateway,
        snapshot,
        apply=_recorder(actor_user_id, chosen.name, plan, interval, card, seats, numbers),
    )


AUTHENTICATE = "Your bank asks you to confirm this payment (3-D Secure)."


async def finish_authenticated_upgrade(
    *,
    workspace_id: int,
    actor_user_id: int | None,
    setup_intent_id: str,
    subscription_id: str,
    plan: str,
    interval: str,
    gateway: StripeGateway | None = None,
) -> UpgradeResult:
    """After the browser's 3-D Secure confirmation: the subscription is paid (record it) or it
    is not (cancel it, so the workspace stays on its trial with nothing charged)."""
    gateway = gateway_or_default(gateway)
    _check_choice(plan, interval)
    view = await load_account(workspace_id)
    if view.customer_id is None:
        raise BillingError("Start the upgrade again: the card form has expired.")
    snapshot = await gateway.retrieve_subscription(subscription_id)
    if snapshot.customer != view.customer_id:
        raise BillingError("That payment belongs to another workspace.")
    chosen = get_catalog().plan(plan)
    if snapshot.status not in ("active", "trialing"):
        await _abandon(gateway, view.namespace, subscription_id)
        message = "The payment was not confirmed, so nothing was charged. Please try again."
        await _record_failure(workspace_id, actor_user_id, chosen.name, message)
        raise CardDeclined(message)
    card = await confirmed_card(gateway, setup_intent_id, view.customer_id)
    seats, numbers = await in_db(lambda session: _counts(session, workspace_id))
    return await write_subscription(
        view,
        gateway,
        snapshot,
        apply=_recorder(actor_user_id, chosen.name, plan, interval, card, seats, numbers),
    )


async def _abandon(gateway: StripeGateway, namespace: str, subscription_id: str) -> None:
    await gateway.cancel_subscription(
        subscription_id, {}, idempotency_key=f"{namespace}:abandon:{subscription_id}"
    )


async def _record_failure(
    workspace_id: int, actor_user_id: int | None, plan_name: str, message: str
) -> None:
    await in_db(
        lambda session: repository.record_activity(
            session,
            workspace_id=workspace_id,
            actor_user_id=actor_user_id,
            kind="upgrade_failed",
            summary=f"Upgrade to {plan_name} failed: {message}",
        )
    )


def _recorder(actor_user_id, plan_name, plan, interval, card, seats, numbers):
    """The mirror write and activity entry of a successful upgrade."""

    def apply(
        session: Session, account: BillingAccount, snap: SubscriptionSnapshot
    ) -> UpgradeResult:
        mirror.apply_subscription(session, account, snap)
        mirror.apply_card(session, account, card)
        account.quantities_dirty_since = None
        paid = snap.latest_invoice.amount_paid if snap.latest_invoice else 0
        number = snap.latest_invoice.number if snap.latest_invoice else None
        yearly = "yearly" if interval == "year" else "monthly"
        who = actor_name(session, actor_user_id)
        summary = f"{who} upgraded to {plan_name} ({yearly})"
        summary += f": {pricing.format_cents(paid)} charged" if paid else ", billed at trial end"
        repository.record_activity(
            session,
            workspace_id=account.workspace_id,
            actor_user_id=actor_user_id,
            kind="upgrade",
            summary=summary,
            amount_cents=paid,
            details={"plan": plan, "interval": interval, "seats": seats, "numbers": numbers},
        )
        return UpgradeResult(plan, interval, account.status, paid, number, summary)

    return apply


async def confirmed_card(gateway: StripeGateway, setup_intent_id: str, customer_id: str):
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
