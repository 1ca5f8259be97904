"""The card on file: replace it through a SetupIntent; pay an open invoice after a failure.

`start_card_update` opens a SetupIntent for the browser's card form; `complete_card_update` makes
the confirmed card the default of the customer and of the subscription (the subscription's own
default wins at renewal), detaches the old card and mirrors brand, last 4 and expiry.
`pay_open_invoice` does the same, then pays the open invoice with the new card: the subscription
returns from `past_due` to `active`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session, col, select

from clerk_portal.billing import ledger, mirror
from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.gateway import (
    BillingGateway,
    CardSnapshot,
    InvoiceSnapshot,
    gateway_or_default,
)
from clerk_portal.billing.services.common import (
    actor_name,
    load_account,
    write_mirror,
)
from clerk_portal.billing.services.customer import ensure_customer
from clerk_portal.billing.services.upgrade import confirmed_card
from clerk_portal.core.db import in_db
from clerk_portal.core.settings import get_settings
from clerk_portal.models import BillingAccount, Invoice
from clerk_portal.models.status import ENDED


@dataclass(frozen=True)
class CardSetup:
    setup_intent_id: str
    client_secret: str
    publishable_key: str


@dataclass(frozen=True)
class PaymentResult:
    invoice_number: str | None
    amount_paid_cents: int
    status: str  # the subscription's status afterwards


def _card_label(card: CardSnapshot) -> str:
    return f"{(card.brand or 'card').title()} •••• {card.last4}"


async def start_card_update(
    *, workspace_id: int, gateway: BillingGateway | None = None
) -> CardSetup:
    gateway = gateway_or_default(gateway)
    view = await ensure_customer(await load_account(workspace_id), gateway)
    intent = await gateway.create_setup_intent(
        customer_id=view.customer_id or "",
        metadata={"workspace_id": str(workspace_id), "purpose": "card"},
        idempotency_key=f"{view.namespace}:setup_intent:card:{uuid.uuid4().hex}",
    )
    return CardSetup(intent.id, intent.client_secret or "", get_settings().stripe_publishable)


async def complete_card_update(
    *,
    workspace_id: int,
    actor_user_id: int | None,
    setup_intent_id: str,
    gateway: BillingGateway | None = None,
) -> CardSnapshot:
    gateway = gateway_or_default(gateway)
    view = await load_account(workspace_id)
    if view.customer_id is None:
        raise BillingError("Start again: the card form has expired.")
    card = await confirmed_card(gateway, setup_intent_id, view.customer_id)
    await gateway.set_default_payment_method(view.customer_id, card.id)
    if view.subscription_id and view.status not in ENDED:
        await gateway.update_subscription(
            view.subscription_id,
            {"default_payment_method": card.id},
            idempotency_key=f"{view.namespace}:sub_card:{view.subscription_id}:{card.id}",
        )
    old = view.payment_method_id
    if old and old != card.id:
        await gateway.detach_payment_method(old)

    def apply(session: Session, account: BillingAccount, new: CardSnapshot) -> CardSnapshot:
        mirror.apply_card(session, account, new)
        ledger.record_activity(
            session,
            workspace_id=workspace_id,
            actor_user_id=actor_user_id,
            kind="card_updated",
            summary=f"{actor_name(session, actor_user_id)} set {_card_label(new)} as the card",
        )
        return new

    return await write_mirror(
        workspace_id, seen_version=view.mirror_version, first=card, refetch=None, apply=apply
    )


async def pay_open_invoice(
    *,
    workspace_id: int,
    actor_user_id: int | None,
    setup_intent_id: str,
    invoice_id: str | None = None,
    gateway: BillingGateway | None = None,
) -> PaymentResult:
    """After a failed payment: a new card, then the open invoice paid with it (`invoice_id`, one
    of this workspace's open invoices, or the newest)."""
    gateway = gateway_or_default(gateway)
    if invoice_id is not None and not await in_db(
        lambda session: _open_invoice(session, workspace_id, invoice_id)
    ):
        raise BillingError("That invoice is not open any more: nothing was charged.")
    card = await complete_card_update(
        workspace_id=workspace_id,
        actor_user_id=actor_user_id,
        setup_intent_id=setup_intent_id,
        gateway=gateway,
    )
    to_pay = await in_db(lambda session: _open_invoice(session, workspace_id, invoice_id))
    if to_pay is None:
        raise BillingError("There is no open invoice to pay: your card is saved.")
    view = await load_account(workspace_id)
    paid = await gateway.pay_invoice(
        to_pay,
        payment_method_id=card.id,
        idempotency_key=f"{view.namespace}:pay:{to_pay}:{card.id}",
    )
    subscription = (
        await gateway.retrieve_subscription(view.subscription_id) if view.subscription_id else None
    )

    def apply(session: Session, account: BillingAccount, invoice: InvoiceSnapshot) -> str:
        mirror.apply_invoice(session, account, invoice)
        if subscription is not None:
            mirror.apply_subscription(session, account, subscription)
        ledger.record_activity(
            session,
            workspace_id=workspace_id,
            actor_user_id=actor_user_id,
            kind="invoice_paid_manually",
            summary=f"{actor_name(session, actor_user_id)} paid invoice "
            f"{invoice.number or invoice.id} with {_card_label(card)}",
            amount_cents=invoice.amount_paid,
        )
        return account.status

    status = await write_mirror(
        workspace_id,
        seen_version=view.mirror_version,
        first=paid,
        refetch=lambda: gateway.retrieve_invoice(to_pay),
        apply=apply,
    )
    return PaymentResult(paid.number, paid.amount_paid, status)


def _open_invoice(session: Session, workspace_id: int, invoice_id: str | None) -> str | None:
    query = select(Invoice.stripe_invoice_id).where(
        Invoice.workspace_id == workspace_id, Invoice.status == "open"
    )
    if invoice_id is not None:
        query = query.where(Invoice.stripe_invoice_id == invoice_id)
    return session.exec(query.order_by(col(Invoice.created).desc(), col(Invoice.id).desc())).first()
