"""What each Stripe event type does to the mirror: a registry keyed by event type.

`@handles(type, …, fetch=…)` registers a function `(session, account, snapshot) -> None` for those
types: the worker reads the object again from Stripe with `fetch` (an old event arriving late
cannot move the mirror backwards) and calls the function inside the mirror's write, in the
transaction that marks the event processed. A type registered twice is refused at import. A type
with no handler, or an event for no workspace of ours, is stored and marked processed with no
effect (ignored).

Only the customer decides which workspace an event is for (`find_workspace`): metadata is
anyone's to write.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlmodel import Session, col, select

from clerk_portal.billing import ledger, mirror
from clerk_portal.billing.errors import GatewayError, StripeUnavailable
from clerk_portal.billing.gateway import (
    BillingGateway,
    CardSnapshot,
    CustomerSnapshot,
    InvoicePreview,
    InvoiceSnapshot,
    SubscriptionSnapshot,
)
from clerk_portal.billing.webhooks.checks import OBJECT_ID
from clerk_portal.core import formats
from clerk_portal.models import BillingAccount, Invoice

S = TypeVar("S")
# Reads the event's object (`data.object`) again from Stripe.
Fetch = Callable[[dict[str, Any], BillingGateway], Awaitable[S]]
# What `Fetch` reads by (the object's id, or its customer's): events with the same key are
# applied from one read.
Key = Callable[[dict[str, Any]], str]
# Applies what `Fetch` read to the workspace's mirror.
Apply = Callable[[Session, BillingAccount, S], None]


@dataclass(frozen=True)
class Handler(Generic[S]):
    """What the worker does with one event type. `fetch` and `apply` None: nothing is read or
    written, the event only changes the next invoice (`changes_next_invoice`)."""

    name: str
    fetch: Fetch[S] | None
    apply: Apply[S] | None
    # The prefix the object's id has when `fetch` reads it by that id (checked before storing).
    refetched_id_prefix: str | None
    # Stripe's preview of the next invoice is mirrored again after the event (once per burst).
    changes_next_invoice: bool
    # What `fetch` reads by: the events of a burst with the same (fetch, key) share one read.
    key: Key | None = None

    def read_key(self, event: Mapping[str, Any]) -> tuple[str, str] | None:
        """(what is read, by which id) for this event, or None when nothing is read."""
        if self.fetch is None:
            return None
        obj = (event.get("data") or {}).get("object") or {}
        fetcher = getattr(self.fetch, "__qualname__", repr(self.fetch))
        return fetcher, (self.key or _object_id)(obj)


class DuplicateHandler(ValueError):
    """An event type registered twice: which one would run would depend on import order."""


HANDLERS: dict[str, Handler[Any]] = {}


def _register(event_types: tuple[str, ...], handler: Handler[Any]) -> None:
    taken = [event_type for event_type in event_types if event_type in HANDLERS]
    if taken or len(set(event_types)) != len(event_types):
        raise DuplicateHandler(f"{handler.name}: already handled: {taken or list(event_types)}")
    for event_type in event_types:
        HANDLERS[event_type] = handler


def _object_id(obj: dict[str, Any]) -> str:
    return str(obj.get("id"))


def handles(
    *event_types: str,
    fetch: Fetch[S],
    refetched_id_prefix: str | None = None,
    changes_next_invoice: bool = False,
    key: Key = _object_id,
) -> Callable[[Apply[S]], Apply[S]]:
    """Register the decorated function for `event_types`, fed with what `fetch` reads; `key`:
    what the read is by (events of one burst with the same `fetch` and key share one read)."""

    def register(apply: Apply[S]) -> Apply[S]:
        name = getattr(apply, "__name__", repr(apply))
        handler = Handler(name, fetch, apply, refetched_id_prefix, changes_next_invoice, key)
        _register(event_types, handler)
        return apply

    return register


def only_the_next_invoice(*event_types: str) -> None:
    """Register `event_types` as changing nothing but the preview of the next invoice."""
    _register(event_types, Handler("only_the_next_invoice", None, None, None, True))


def handler_for(event_type: str) -> Handler[Any] | None:
    return HANDLERS.get(event_type)


def refetched_id_prefixes() -> dict[str, str]:
    """For each event type whose object is read again from Stripe by its id, that id's prefix."""
    return {
        event_type: handler.refetched_id_prefix
        for event_type, handler in HANDLERS.items()
        if handler.refetched_id_prefix
    }


# --- whose event it is ------------------------------------------------------------------------


def customer_of(event: Mapping[str, Any]) -> str | None:
    data = event.get("data") or {}
    obj = data.get("object") or {}
    if obj.get("object") == "customer":
        found: str | None = obj.get("id")
        return found
    customer = obj.get("customer") or (data.get("previous_attributes") or {}).get("customer")
    if isinstance(customer, str):
        return customer
    expanded: str | None = (customer or {}).get("id")
    return expanded


def customer_key(obj: dict[str, Any]) -> str:
    """The customer an object is, or belongs to (what `customer_and_card` reads by)."""
    return customer_of({"data": {"object": obj}}) or ""


def workspaces_of(session: Session, customer_ids: set[str]) -> dict[str, tuple[int, int]]:
    """(workspace id, mirror version) of each of these customers that is one of ours."""
    if not customer_ids:
        return {}
    rows = session.exec(
        select(
            BillingAccount.stripe_customer_id,
            BillingAccount.workspace_id,
            BillingAccount.mirror_version,
        ).where(col(BillingAccount.stripe_customer_id).in_(customer_ids))
    ).all()
    return {customer: (workspace, version) for customer, workspace, version in rows if customer}


def find_workspace(session: Session, event: Mapping[str, Any]) -> tuple[int | None, int]:
    """(workspace id, mirror version) for the event's customer.

    Only the customer decides: metadata is anyone's to write (a subscription of another
    customer saying `workspace_id=7` must never reach workspace 7).
    """
    customer_id = customer_of(event)
    account = None
    if customer_id:
        account = session.exec(
            select(BillingAccount).where(BillingAccount.stripe_customer_id == customer_id)
        ).first()
    if account is None:
        return None, 0
    return account.workspace_id, account.mirror_version


# --- subscriptions --------------------------------------------------------------------------


async def subscription_by_id(obj: dict[str, Any], gateway: BillingGateway) -> SubscriptionSnapshot:
    return await gateway.retrieve_subscription(obj["id"])


@handles(
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    fetch=subscription_by_id,
    refetched_id_prefix="sub_",
    changes_next_invoice=True,
)
def subscription_changed(
    session: Session, account: BillingAccount, snap: SubscriptionSnapshot
) -> None:
    mirror.apply_subscription(session, account, snap)


@handles(
    "customer.subscription.trial_will_end",
    fetch=subscription_by_id,
    refetched_id_prefix="sub_",
    changes_next_invoice=True,
)
def trial_will_end(session: Session, account: BillingAccount, snap: SubscriptionSnapshot) -> None:
    mirror.apply_subscription(session, account, snap)
    if snap.trial_end and not _paid_before(session, account.workspace_id, snap.trial_end):
        ends = mirror.from_unix(snap.trial_end)
        _activity(
            session, account.workspace_id, "trial_will_end", f"Trial ends on {formats.day(ends)}"
        )


@handles(
    "customer.subscription.deleted",
    fetch=subscription_by_id,
    refetched_id_prefix="sub_",
    changes_next_invoice=True,
)
def subscription_deleted(
    session: Session, account: BillingAccount, snap: SubscriptionSnapshot
) -> None:
    # Only the workspace's own subscription makes history (an abandoned attempt does not).
    mine = mirror.applies_to(account, snap)
    mirror.apply_subscription(session, account, snap)
    if mine:
        _activity(session, account.workspace_id, "canceled", "Subscription canceled")


def _paid_before(session: Session, workspace_id: int, trial_end: int) -> bool:
    """A Stripe trial that follows a paid invoice only moves the billing cycle (a plan change
    waiting for the period end, see plan_change._switch): it is no trial to announce."""
    paid = select(Invoice.id).where(
        col(Invoice.workspace_id) == workspace_id,
        col(Invoice.amount_paid_cents) > 0,
        col(Invoice.created) < mirror.from_unix(trial_end),
    )
    return session.exec(paid.limit(1)).first() is not None


# --- invoices -------------------------------------------------------------------------------


async def invoice_by_id(obj: dict[str, Any], gateway: BillingGateway) -> InvoiceSnapshot:
    return await gateway.retrieve_invoice(obj["id"])


def _mirror_invoice(session: Session, account: BillingAccount, snap: InvoiceSnapshot) -> bool:
    """Mirror the invoice if it is the workspace customer's; returns whether it was."""
    if snap.customer and snap.customer != account.stripe_customer_id:
        return False
    mirror.apply_invoice(session, account, snap)
    return True


@handles(
    "invoice.created",
    "invoice.finalized",
    "invoice.payment_succeeded",
    "invoice.payment_action_required",
    "invoice.voided",
    "invoice.updated",
    "invoice.marked_uncollectible",
    fetch=invoice_by_id,
    refetched_id_prefix="in_",
    changes_next_invoice=True,
)
def invoice_changed(session: Session, account: BillingAccount, snap: InvoiceSnapshot) -> None:
    _mirror_invoice(session, account, snap)


@handles("invoice.paid", fetch=invoice_by_id, refetched_id_prefix="in_", changes_next_invoice=True)
def invoice_paid(session: Session, account: BillingAccount, snap: InvoiceSnapshot) -> None:
    if _mirror_invoice(session, account, snap):
        mirror.clear_renewal_notice(session, account, paid_through=snap.period_end)
        summary = f"Invoice {snap.number or snap.id} paid"  # the amount is the entry's own
        _activity(session, account.workspace_id, "invoice_paid", summary, snap)


@handles(
    "invoice.payment_failed",
    fetch=invoice_by_id,
    refetched_id_prefix="in_",
    changes_next_invoice=True,
)
def invoice_payment_failed(
    session: Session, account: BillingAccount, snap: InvoiceSnapshot
) -> None:
    if _mirror_invoice(session, account, snap):
        summary = f"Payment of invoice {snap.number or snap.id} failed"
        _activity(session, account.workspace_id, "payment_failed", summary, snap)


@handles(
    "invoice.overdue", fetch=invoice_by_id, refetched_id_prefix="in_", changes_next_invoice=True
)
def invoice_overdue(session: Session, account: BillingAccount, snap: InvoiceSnapshot) -> None:
    """An invoiced customer's invoice is past its due date unpaid (Stripe's invoice stays
    `open`; https://docs.stripe.com/api/events/types#event_types-invoice.overdue)."""
    if not _mirror_invoice(session, account, snap) or snap.status != "open":
        return
    row = session.exec(select(Invoice).where(Invoice.stripe_invoice_id == snap.id)).one()
    if not row.overdue:
        row.overdue = True
        session.add(row)
        mirror.bump(account)
        session.add(account)
        due = formats.day(mirror.from_unix(snap.due_date))
        summary = f"Invoice {snap.number or snap.id} is overdue (was due {due})"
        _activity(session, account.workspace_id, "invoice_overdue", summary, snap)


@dataclass(frozen=True)
class RenewalNotice:
    """`invoice.upcoming`: the renewal it announced, and Stripe's preview of it read now."""

    subscription_id: str
    renews_at: int | None  # the announced invoice's `period_end`: when the renewal happens
    preview: InvoicePreview | None  # None: no invoice is coming any more


def subscription_of_invoice(obj: dict[str, Any]) -> str:
    """The subscription an invoice (or an `invoice.upcoming` preview, which has no id) is of."""
    parent = (obj.get("parent") or {}).get("subscription_details") or {}
    found = parent.get("subscription") or obj.get("subscription")
    ok = isinstance(found, str) and found.startswith("sub_") and OBJECT_ID.fullmatch(found)
    return found if ok and isinstance(found, str) else ""


async def upcoming_renewal(obj: dict[str, Any], gateway: BillingGateway) -> RenewalNotice:
    """The event's invoice has no id to read again: Stripe's preview of its subscription's next
    invoice is read instead (what the renewal charges now, not what the event said then)."""
    subscription_id = subscription_of_invoice(obj)
    period_end = obj.get("period_end")
    renews_at = period_end if isinstance(period_end, int) else None
    preview = None
    if subscription_id:
        try:
            preview = await gateway.preview_invoice({"subscription": subscription_id})
        except StripeUnavailable:
            raise  # retried later
        except GatewayError:  # nothing renews any more (ended, canceling)
            preview = None
    return RenewalNotice(subscription_id, renews_at, preview)


@handles("invoice.upcoming", fetch=upcoming_renewal, key=subscription_of_invoice)
def renewal_upcoming(session: Session, account: BillingAccount, notice: RenewalNotice) -> None:
    if not notice.subscription_id or notice.subscription_id != account.stripe_subscription_id:
        return  # an old subscription's, or none of ours
    preview = notice.preview
    if preview is None or preview.period_end != notice.renews_at:
        return  # that renewal has happened (or will not): the event arrived late
    mirror.apply_renewal_notice(
        session, account, at=mirror.from_unix(notice.renews_at), cents=preview.amount_due
    )


# Prorations pending for the next invoice: only its preview changes.
only_the_next_invoice("invoiceitem.created", "invoiceitem.updated", "invoiceitem.deleted")


# --- customers and cards --------------------------------------------------------------------


async def customer_and_card(
    obj: dict[str, Any], gateway: BillingGateway
) -> tuple[CustomerSnapshot, CardSnapshot | None]:
    """The customer and its default card (None when it has none)."""
    customer = await gateway.retrieve_customer(customer_key(obj))
    card = None
    if customer.default_payment_method:
        card = await gateway.retrieve_payment_method(customer.default_payment_method)
    return customer, card


@handles(
    "customer.created",
    "customer.updated",
    "payment_method.attached",
    "payment_method.detached",
    "payment_method.updated",
    "setup_intent.succeeded",
    fetch=customer_and_card,
    key=customer_key,
)
def customer_changed(
    session: Session,
    account: BillingAccount,
    snap: tuple[CustomerSnapshot, CardSnapshot | None],
) -> None:
    customer, card = snap
    mirror.apply_customer(session, account, customer)
    if card is not None or customer.default_payment_method is None:
        mirror.apply_card(session, account, card)


def _activity(
    session: Session,
    workspace_id: int,
    kind: str,
    summary: str,
    invoice: InvoiceSnapshot | None = None,
) -> None:
    ledger.record_activity(
        session,
        workspace_id=workspace_id,
        kind=kind,
        summary=summary,
        amount_cents=invoice.amount_paid or invoice.amount_due if invoice else None,
        details={"invoice": invoice.id} if invoice else None,
    )
