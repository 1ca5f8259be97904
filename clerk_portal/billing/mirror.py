"""Writing Stripe's state into the local mirror (plain functions over a session).

Services write from each Stripe response; the webhook engine writes from a fresh read of the object.
Every change goes through `bump()`, which raises `BillingAccount.mirror_version` in the same
transaction; `workspace.live`'s session hooks publish it when that transaction commits, so open
billing tabs refresh. `lock_account()` serialises writers of one workspace
(a row lock on PostgreSQL, the write lock on SQLite).

Stripe statuses outside our CHECK constraint are mapped: `incomplete_expired` → `canceled` (the
first payment never happened), `paused` → `unpaid` (no payment is being collected: read-only until
the owner pays). We never create subscriptions that can pause.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from clerk_portal.billing import ledger
from clerk_portal.billing.catalog import get_catalog
from clerk_portal.billing.gateway import (
    CardSnapshot,
    CustomerSnapshot,
    InvoiceSnapshot,
    SubscriptionSnapshot,
)
from clerk_portal.core.errors import NotFound
from clerk_portal.models import BillingAccount, Invoice, SubscriptionItem, utcnow
from clerk_portal.models.status import ADOPTABLE, ENDED, FROM_STRIPE
from clerk_portal.workspace import live  # noqa: F401 - its hooks publish bump()

PO_FIELD = "PO number"


def from_unix(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


def lock_account(session: Session, workspace_id: int) -> BillingAccount:
    """The billing account, locked for this transaction (fresh from the database)."""
    result = session.execute(
        sa.update(BillingAccount)
        .where(col(BillingAccount.workspace_id) == workspace_id)
        .values(mirror_version=BillingAccount.mirror_version)
    )
    # sqlmodel's Session.execute() returns Result in its types; an UPDATE's is a CursorResult.
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("That workspace has no billing account.")
    return session.exec(
        select(BillingAccount)
        .where(BillingAccount.workspace_id == workspace_id)
        .execution_options(populate_existing=True)
    ).one()


def bump(account: BillingAccount) -> None:
    """Raise the version: published by `live`'s hooks when the transaction commits."""
    account.mirror_version = (account.mirror_version or 0) + 1
    account.updated_at = utcnow()


def items_by_kind(session: Session, workspace_id: int) -> dict[str, SubscriptionItem]:
    rows = session.exec(
        select(SubscriptionItem).where(SubscriptionItem.workspace_id == workspace_id)
    ).all()
    return {row.kind: row for row in rows}


def plan_of(snapshot: SubscriptionSnapshot) -> tuple[str | None, str | None]:
    for item in snapshot.items:
        if item.lookup_key:
            try:
                plan, _kind, interval = get_catalog().find_lookup_key(item.lookup_key)
            except NotFound:
                continue
            return plan.id, interval
    return None, None


def applies_to(account: BillingAccount, snapshot: SubscriptionSnapshot) -> bool:
    """Whether this subscription is the account's (a late event of an old one is ignored).

    Only a subscription of the account's own Stripe customer, whatever its metadata says.
    A workspace without a live subscription adopts only one that is live: an incomplete one
    (a 3-D Secure payment not yet confirmed) or one abandoned before it was paid never turns a
    trial into "canceled". A new subscription replaces one that has ended (resubscribing).
    """
    if account.stripe_customer_id is None or snapshot.customer != account.stripe_customer_id:
        return False
    if account.stripe_subscription_id == snapshot.id:
        return True
    if account.stripe_subscription_id is None or account.status in ENDED:
        return snapshot.status in ADOPTABLE
    return False


def apply_subscription(
    session: Session, account: BillingAccount, snapshot: SubscriptionSnapshot
) -> bool:
    """Mirror the subscription; returns whether anything changed."""
    if not applies_to(account, snapshot):
        return False
    plan, interval = plan_of(snapshot)
    status = FROM_STRIPE.get(snapshot.status, snapshot.status)
    values: dict[str, Any] = {
        "stripe_subscription_id": snapshot.id,
        "status": status,
        "plan": plan or account.plan,
        "interval": interval or account.interval,
        "current_period_start": from_unix(snapshot.current_period_start),
        "current_period_end": from_unix(snapshot.current_period_end),
        "cancel_at_period_end": snapshot.cancel_at_period_end and status not in ENDED,
        "canceled_at": from_unix(snapshot.canceled_at),
        "collection_method": snapshot.collection_method,
        "days_until_due": snapshot.days_until_due,
    }
    if snapshot.status == "trialing" and snapshot.trial_end:
        values["trial_ends_at"] = from_unix(snapshot.trial_end)
    if snapshot.cancel_at_period_end or status in ENDED:
        if snapshot.cancellation_feedback:
            values["cancel_reason"] = snapshot.cancellation_feedback
        if snapshot.cancellation_comment:
            values["cancel_comment"] = snapshot.cancellation_comment
    elif account.cancel_at_period_end:  # resumed
        values["cancel_reason"] = values["cancel_comment"] = None
    scheduled = account.stripe_schedule_id
    values["stripe_schedule_id"] = snapshot.schedule_id
    switched = bool(account.pending_plan) and (plan, interval) == (
        account.pending_plan,
        account.pending_interval,
    )
    if switched:
        values.update(pending_plan=None, pending_interval=None, pending_change_at=None)
        if scheduled:  # Stripe's schedule made the change at the period end
            name = get_catalog().plan(plan or "").name
            ledger.record_activity(
                session,
                workspace_id=account.workspace_id,
                kind="plan_downgrade",
                summary=f"Switched to {name} ({'yearly' if interval == 'year' else 'monthly'}) "
                "at the end of the period",
                details={"plan": plan, "interval": interval, "schedule": scheduled},
                action_key=f"plan_downgrade:{scheduled}:{snapshot.current_period_start}",
            )
    elif scheduled and snapshot.schedule_id != scheduled:
        # the schedule was released or canceled (undo, cancel, the Dashboard): nothing is pending
        values.update(pending_plan=None, pending_interval=None, pending_change_at=None)
    if status in ENDED:
        values.update(pending_plan=None, pending_interval=None, pending_change_at=None)
    changed = _assign(account, values)
    changed |= _apply_items(session, account.workspace_id, snapshot)
    if snapshot.latest_invoice is not None:
        changed |= apply_invoice(session, account, snapshot.latest_invoice, bump_version=False)
    if changed:
        bump(account)
        session.add(account)
    return changed


def _apply_items(session: Session, workspace_id: int, snapshot: SubscriptionSnapshot) -> bool:
    existing = items_by_kind(session, workspace_id)
    changed = False
    seen: set[str] = set()
    for item in snapshot.items:
        kind = _kind_of(item.lookup_key)
        if kind is None or kind in seen:
            continue
        seen.add(kind)
        row = existing.get(kind)
        if row is None:
            row = SubscriptionItem(
                workspace_id=workspace_id,
                kind=kind,
                stripe_subscription_item_id=item.id,
                stripe_price_id=item.price_id,
            )
            changed = True
        values = {
            "stripe_subscription_item_id": item.id,
            "stripe_price_id": item.price_id,
            "lookup_key": item.lookup_key,
            "quantity": item.quantity,
            "unit_amount_cents": item.unit_amount,
        }
        if _assign(row, values) or changed:
            row.updated_at = utcnow()
            session.add(row)
            changed = True
    for kind, row in existing.items():
        if kind not in seen:
            session.delete(row)
            changed = True
    if changed:
        session.flush()
    return changed


def _kind_of(lookup_key: str | None) -> str | None:
    if not lookup_key:
        return None
    try:
        return get_catalog().find_lookup_key(lookup_key)[1]
    except NotFound:
        return None


def apply_invoice(
    session: Session,
    account: BillingAccount,
    invoice: InvoiceSnapshot,
    *,
    bump_version: bool = True,
) -> bool:
    """Mirror one invoice (drafts included); returns whether anything changed."""
    created = from_unix(invoice.created) or utcnow()
    fields = {
        "number": invoice.number,
        "status": invoice.status if invoice.status != "deleted" else "void",
        "currency": invoice.currency,
        "subtotal_cents": invoice.subtotal,
        "total_cents": invoice.total,
        "amount_due_cents": invoice.amount_due,
        "amount_paid_cents": invoice.amount_paid,
        "amount_remaining_cents": invoice.amount_remaining,
        # The period billed (the subscription lines'), else Stripe's invoice period.
        "period_start": from_unix(invoice.billed_period_start or invoice.period_start),
        "period_end": from_unix(invoice.billed_period_end or invoice.period_end),
        "billing_reason": invoice.billing_reason,
        "collection_method": invoice.collection_method,
        "due_date": from_unix(invoice.due_date),
        "hosted_invoice_url": invoice.hosted_invoice_url,
        "invoice_pdf_url": invoice.invoice_pdf,
    }
    row = session.exec(select(Invoice).where(Invoice.stripe_invoice_id == invoice.id)).first()
    if row is not None and all(getattr(row, k) == v for k, v in fields.items()):
        return False
    ledger.upsert_invoice(
        session,
        workspace_id=account.workspace_id,
        stripe_invoice_id=invoice.id,
        created=created,
        **fields,
    )
    if bump_version:
        bump(account)
        session.add(account)
    return True


def apply_upcoming(
    session: Session, account: BillingAccount, cents: int | None, at: datetime | None
) -> bool:
    """Stripe's preview of the next invoice (None: no invoice is coming)."""
    values = {"upcoming_invoice_cents": cents, "upcoming_invoice_at": at}
    return _assign_account(session, account, values)


def apply_renewal_notice(
    session: Session, account: BillingAccount, *, at: datetime | None, cents: int | None
) -> bool:
    """The renewal Stripe announced (`invoice.upcoming`) and what it will charge."""
    values = {"renewal_notice_at": at, "renewal_notice_cents": cents}
    return _assign_account(session, account, values)


def clear_renewal_notice(
    session: Session, account: BillingAccount, *, paid_through: int | None
) -> bool:
    """A paid invoice whose period reaches the announced renewal: the notice has served."""
    at, paid = account.renewal_notice_at, from_unix(paid_through)
    if at is None or paid is None or paid < at:
        return False
    return apply_renewal_notice(session, account, at=None, cents=None)


def apply_card(session: Session, account: BillingAccount, card: CardSnapshot | None) -> bool:
    values = {
        "stripe_payment_method_id": card.id if card else None,
        "card_brand": card.brand if card else None,
        "card_last4": card.last4 if card else None,
        "card_exp_month": card.exp_month if card else None,
        "card_exp_year": card.exp_year if card else None,
    }
    changed = _assign(account, values)
    if changed:
        bump(account)
        session.add(account)
    return changed


def apply_customer(session: Session, account: BillingAccount, customer: CustomerSnapshot) -> bool:
    """Billing details as Stripe holds them (the card is mirrored separately)."""
    if customer.deleted:
        return False
    address = customer.address or {}
    fields = dict(customer.custom_fields)
    values = {
        "billing_email": customer.email,
        "billing_name": customer.name,
        "address_line1": address.get("line1"),
        "address_line2": address.get("line2"),
        "address_city": address.get("city"),
        "address_state": address.get("state"),
        "address_postal_code": address.get("postal_code"),
        "address_country": address.get("country"),
        "po_number": fields.get(PO_FIELD),
    }
    if customer.tax_ids is not None:  # read along; a webhook's customer leaves them as they are
        first = customer.tax_ids[0] if customer.tax_ids else None
        values["tax_id"] = first.value if first else None
        values["tax_id_type"] = first.type if first else None
    changed = _assign(account, values)
    if changed:
        bump(account)
        session.add(account)
    return changed


def _assign_account(session: Session, account: BillingAccount, values: dict[str, Any]) -> bool:
    """Set these columns; a change is a new mirror version."""
    changed = _assign(account, values)
    if changed:
        bump(account)
        session.add(account)
    return changed


def _assign(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed
