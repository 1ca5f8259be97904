"""Invoiced (enterprise) customers: Stripe's `send_invoice` collection method.

Stripe never charges an invoiced customer's card: each invoice is finalized, sent with payment
instructions and is due `days_until_due` days later; the customer pays it by bank transfer (or
on its hosted page). Unpaid past its due date, Stripe emits `invoice.overdue` and the
subscription goes `past_due` until it is paid
(https://docs.stripe.com/billing/collection-method,
https://docs.stripe.com/invoicing/automatic-collection#send-invoice).

`start_invoiced_billing` subscribes a workspace on its trial this way (no card), or switches its
running subscription to it. It is idempotent: asked again for the same terms it changes nothing,
and a retry after a lost answer reuses the first request's idempotency key. Stripe's answer is
written to the mirror (the webhooks bring the same).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from clerk_portal.billing import ledger, mirror
from clerk_portal.billing.catalog import Interval, get_catalog
from clerk_portal.billing.errors import BillingError, OutcomeUnknown
from clerk_portal.billing.gateway import BillingGateway, SubscriptionSnapshot, gateway_or_default
from clerk_portal.billing.services import upgrade, upgrade_claim
from clerk_portal.billing.services.common import (
    CLASSIC_BILLING,
    AccountView,
    actor_name,
    load_account,
    write_subscription,
)
from clerk_portal.billing.services.customer import ensure_customer
from clerk_portal.core import formats
from clerk_portal.core.db import in_db
from clerk_portal.core.errors import DomainError, InvalidValue
from clerk_portal.models import BillingAccount
from clerk_portal.models.status import ADOPTABLE, SUBSCRIBED
from clerk_portal.workspace import repository

SEND_INVOICE = "send_invoice"
DEFAULT_DAYS_UNTIL_DUE = 30
MAX_DAYS_UNTIL_DUE = 365  # a payment term beyond a year is a typo, not a contract


@dataclass(frozen=True)
class InvoicedResult:
    status: str
    days_until_due: int
    invoice_number: str | None  # the first invoice (a new subscription), if Stripe made one
    due_date: datetime | None
    message: str


def check_days_until_due(days: object) -> int:
    """Whole days between 1 and a year (Stripe requires `days_until_due` with send_invoice)."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise InvalidValue("Give the payment term as a whole number of days.")
    if not 1 <= days <= MAX_DAYS_UNTIL_DUE:
        raise InvalidValue(f"The payment term must be 1 to {MAX_DAYS_UNTIL_DUE} days.")
    return days


async def start_invoiced_billing(
    *,
    workspace_id: int,
    actor_user_id: int | None,
    plan: str,
    interval: Interval,
    days_until_due: int = DEFAULT_DAYS_UNTIL_DUE,
    gateway: BillingGateway | None = None,
) -> InvoicedResult:
    """Bill the workspace by invoice, due `days_until_due` days after each one is sent.

    On its trial: a new subscription for the current team and numbers (`plan`, `interval`);
    already subscribed: the running subscription switches (its plan stays; `plan` and
    `interval` are not changed here: that is a plan change)."""
    gateway = gateway_or_default(gateway)
    days = check_days_until_due(days_until_due)
    view = await load_account(workspace_id)
    if view.subscription_id and view.status in SUBSCRIBED:
        return await _switch(view, gateway, actor_user_id, days)
    preview = await upgrade.preview_upgrade(workspace_id=workspace_id, plan=plan, interval=interval)
    if not preview.allowed:
        raise BillingError(" ".join(preview.limit_problems))
    view = await ensure_customer(view, gateway)
    seats, numbers = preview.quote.seats, preview.quote.numbers
    params: dict[str, Any] = {
        "customer": view.customer_id,
        "items": await upgrade.subscription_items(gateway, plan, interval, seats, numbers),
        "collection_method": SEND_INVOICE,
        "days_until_due": days,
        "billing_mode": CLASSIC_BILLING,
        "metadata": {"workspace_id": str(view.workspace_id)},
    }
    # The terms and what the workspace had before (no subscription, or an ended one) make the
    # key: a retry replays, a later new start after a cancellation is a new request.
    key = (
        f"{view.namespace}:invoiced:{view.customer_id}:{view.subscription_id or 'new'}:"
        f"{plan}:{interval}:{days}"
    )
    # The workspace's one upgrade claim, as a card upgrade takes it: a card upgrade in another
    # tab and this start exclude each other (one subscription). The key is the token, so the
    # same start asked again (after a lost answer) goes on with its own claim.
    claim = await in_db(
        lambda session: upgrade_claim.take(
            session, workspace_id, key, seconds=upgrade.CLAIM_SECONDS
        )
    )
    if claim is None:
        raise BillingError(upgrade.IN_PROGRESS)
    try:
        if claim.new:
            await _refuse_live(view, gateway)
        snapshot = await gateway.create_subscription(params, idempotency_key=key)
    except OutcomeUnknown:
        raise  # the claim stays: Stripe may have subscribed; only this same start goes on
    except DomainError:
        await in_db(lambda session: upgrade_claim.release(session, workspace_id, key))
        raise
    name = get_catalog().plan(plan).name
    yearly = "yearly" if interval == "year" else "monthly"
    summary = f"started invoiced billing on {name} ({yearly}), invoices due in {days} days"
    return await write_subscription(
        view, gateway, snapshot, apply=_recorder(actor_user_id, days, summary, claim=key)
    )


async def _refuse_live(view: AccountView, gateway: BillingGateway) -> None:
    """A card upgrade that ended without a word (a closed tab, a crash) may have left a
    subscription at Stripe: a live one is refused (the mirror catches up from its webhook), an
    unpaid incomplete one is canceled, as the card upgrade's next attempt does."""
    listed = await gateway.list_subscriptions(view.customer_id or "")
    for stale in (s for s in listed if s.status == "incomplete"):
        await upgrade.abandon(gateway, view.namespace, stale.id)
    if any(s.status in ADOPTABLE for s in listed):
        raise BillingError("This workspace already has a subscription: change the plan instead.")


async def _switch(
    view: AccountView, gateway: BillingGateway, actor_user_id: int | None, days: int
) -> InvoicedResult:
    current = await in_db(lambda session: _terms(session, view.workspace_id))
    if current == (SEND_INVOICE, days):
        return InvoicedResult(
            view.status, days, None, None, f"Already billed by invoice, due in {days} days."
        )
    snapshot = await gateway.update_subscription(
        view.subscription_id or "",
        {"collection_method": SEND_INVOICE, "days_until_due": days},
        # the mirror's version: a retry from the same state replays, a later switch is new
        idempotency_key=f"{view.namespace}:invoiced:{view.subscription_id}:"
        f"{view.mirror_version}:{days}",
    )
    summary = f"switched billing to invoices due in {days} days"
    return await write_subscription(
        view, gateway, snapshot, apply=_recorder(actor_user_id, days, summary)
    )


def _terms(session: Session, workspace_id: int) -> tuple[str, int | None]:
    account = repository.get_billing_account(session, workspace_id=workspace_id)
    return account.collection_method, account.days_until_due


def _recorder(
    actor_user_id: int | None, days: int, summary: str, *, claim: str | None = None
) -> Callable[[Session, BillingAccount, SubscriptionSnapshot], InvoicedResult]:
    def apply(
        session: Session, account: BillingAccount, snap: SubscriptionSnapshot
    ) -> InvoicedResult:
        mirror.apply_subscription(session, account, snap)
        if claim and account.upgrade_claim == claim:  # a start's claim ends with its write
            upgrade_claim.clear(account)
        session.add(account)
        who = actor_name(session, actor_user_id)
        ledger.record_activity(
            session,
            workspace_id=account.workspace_id,
            actor_user_id=actor_user_id,
            kind="invoiced_billing",
            summary=f"{who} {summary}",
            details={"subscription": snap.id, "days_until_due": days},
            action_key=f"invoiced_billing:{snap.id}:{days}",
        )
        invoice = snap.latest_invoice
        due = mirror.from_unix(invoice.due_date) if invoice else None
        number = invoice.number if invoice else None
        message = f"Billed by invoice: each one is due in {days} days, paid by bank transfer."
        if number and due:
            message = f"Invoice {number} is due {formats.day(due)}: pay by bank transfer."
        return InvoicedResult(account.status, days, number, due, message)

    return apply
