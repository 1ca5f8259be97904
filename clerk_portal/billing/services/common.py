"""What every billing service shares: the gateway per event loop, database work off the loop,
idempotency-key namespaces and the compare-and-swap write of Stripe state into the mirror."""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlmodel import Session, select

from clerk_portal.billing import mirror, pricing
from clerk_portal.billing.catalog import Interval, get_catalog, is_interval
from clerk_portal.billing.errors import GatewayError, StripeUnavailable
from clerk_portal.billing.gateway import BillingGateway
from clerk_portal.core.db import in_db
from clerk_portal.core.errors import NotFound
from clerk_portal.models import BillingAccount, User, Workspace
from clerk_portal.models.status import BILLED
from clerk_portal.workspace import repository

log = logging.getLogger("clerk_portal.billing")
T = TypeVar("T")
# Every subscription the portal starts (and every preview of one) asks for Stripe's classic
# billing mode: the pinned API version's default is flexible
# (https://docs.stripe.com/changelog/clover/2025-09-30/billing-mode-default-flexible), which
# prorates differently (https://docs.stripe.com/billing/subscriptions/billing-mode/compare),
# while the portal's own arithmetic (pricing.py) and the sandbox bill in classic mode.
CLASSIC_BILLING: dict[str, str] = {"type": "classic"}
_CAS_ATTEMPTS = 4


@dataclass(frozen=True)
class AccountView:
    """What a service needs to know about a workspace before calling Stripe."""

    workspace_id: int
    workspace_name: str
    namespace: str  # idempotency-key prefix, unique per workspace lifetime
    customer_id: str | None
    subscription_id: str | None
    test_clock_id: str | None
    status: str
    plan: str | None
    interval: Interval | None
    mirror_version: int
    payment_method_id: str | None
    billing_email: str | None


def account_view(session: Session, workspace_id: int) -> AccountView:
    workspace = session.get(Workspace, workspace_id)
    account = session.exec(
        select(BillingAccount).where(BillingAccount.workspace_id == workspace_id)
    ).first()
    if workspace is None or account is None:
        raise NotFound("That workspace does not exist.")
    return AccountView(
        workspace_id=workspace_id,
        workspace_name=workspace.name,
        namespace=f"ws:{workspace_id}.{int(workspace.created_at.timestamp() * 1000)}",
        customer_id=account.stripe_customer_id,
        subscription_id=account.stripe_subscription_id,
        test_clock_id=account.stripe_test_clock_id,
        status=account.status,
        plan=account.plan,
        interval=account.interval if is_interval(account.interval) else None,
        mirror_version=account.mirror_version,
        payment_method_id=account.stripe_payment_method_id,
        billing_email=account.billing_email,
    )


async def load_account(workspace_id: int) -> AccountView:
    return await in_db(lambda session: account_view(session, workspace_id))


def actor_name(session: Session, actor_user_id: int | None) -> str:
    if actor_user_id is None:
        return "Clerk Chat"
    user = session.get(User, actor_user_id)
    return (user.name or user.email) if user else "Someone"


async def write_mirror(
    workspace_id: int,
    *,
    seen_version: int,
    first: Any,
    refetch: Callable[[], Awaitable[Any]] | None,
    apply: Callable[[Session, BillingAccount, Any], T],
) -> T:
    """Apply `first` (a Stripe response) unless the mirror moved since `seen_version`.

    When another writer (a webhook, another worker) changed the mirror after we read it, our
    response may be older than what it wrote: read the object from Stripe again and retry, so the
    mirror never moves backwards. After a few rounds the freshest read is applied anyway.
    """
    snapshot, expected = first, seen_version
    for attempt in range(_CAS_ATTEMPTS):
        final = refetch is None or attempt == _CAS_ATTEMPTS - 1
        outcome = await in_db(
            functools.partial(
                _cas,
                workspace_id=workspace_id,
                snapshot=snapshot,
                expected=expected,
                final=final,
                apply=apply,
            )
        )
        if outcome[0]:
            return outcome[1]
        expected = outcome[1]
        assert refetch is not None
        snapshot = await refetch()
    raise AssertionError("unreachable")


async def write_subscription(
    view: AccountView,
    gateway: BillingGateway,
    snapshot: Any,
    *,
    apply: Callable[[Session, BillingAccount, Any], T],
) -> T:
    """`write_mirror` for a subscription that Stripe just returned: on a lost race, the
    subscription is read from Stripe again."""
    result = await write_mirror(
        view.workspace_id,
        seen_version=view.mirror_version,
        first=snapshot,
        refetch=lambda: gateway.retrieve_subscription(snapshot.id),
        apply=apply,
    )
    await refresh_upcoming_invoice(view.workspace_id, gateway)
    return result


@dataclass
class _Refreshes:
    """One workspace's refreshes in one event loop: requests are numbered; a refresh covers
    every request made before it started, so a burst of events costs two previews, not one each."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    requested: int = 0
    covered: int = 0


_refreshes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, _Refreshes]] = (
    weakref.WeakKeyDictionary()
)


async def refresh_upcoming_invoice(workspace_id: int, gateway: BillingGateway) -> None:
    """Mirror Stripe's preview of the next invoice, which the billing page shows as is.

    Called after every subscription write and on every invoice, invoice item and subscription
    webhook; returns once a preview taken after the call is mirrored. Stripe being down keeps
    the previous amount (the next event refreshes it); it never fails the write or the webhook
    that asked.
    """
    loop = asyncio.get_running_loop()
    state = _refreshes.setdefault(loop, {}).setdefault(workspace_id, _Refreshes())
    state.requested += 1
    ticket = state.requested
    async with state.lock:
        if state.covered >= ticket:
            return  # a refresh that started after this request already mirrored it
        started = state.requested
        await _refresh_upcoming(workspace_id, gateway)
        state.covered = started


async def _refresh_upcoming(workspace_id: int, gateway: BillingGateway) -> None:
    """A preview taken while the mirror moved may be older than the change that moved it, so
    it is taken again."""
    for _attempt in range(_CAS_ATTEMPTS):
        source = await in_db(lambda s: _upcoming_source(s, workspace_id))
        version = source.version
        cents: int | None = None
        at = None
        if source.subscription_id is not None:
            try:
                params = await _preview_params(gateway, workspace_id, source)
                preview = await gateway.preview_invoice(params)
            except StripeUnavailable as error:
                log.warning("upcoming invoice of workspace %s: %s", workspace_id, error.message)
                return
            except GatewayError:  # no upcoming invoice after all (ended meanwhile)
                preview = None
            if preview is not None:
                cents, at = preview.amount_due, mirror.from_unix(preview.period_end)
                at = source.pending_at or at  # an interval switch previews a period from now
        if await in_db(
            functools.partial(
                _write_upcoming, workspace_id=workspace_id, seen=version, cents=cents, at=at
            )
        ):
            return


@dataclass(frozen=True)
class _Upcoming:
    """What to preview: the subscription (None: no invoice is coming), and a pending downgrade
    with the counts it will bill."""

    version: int
    subscription_id: str | None
    pending: tuple[str, Interval] | None
    pending_at: datetime | None
    seats: int
    numbers: int
    scheduled: bool = False  # the pending change is a Stripe schedule: Stripe's preview has it


def _upcoming_source(session: Session, workspace_id: int) -> _Upcoming:
    account = repository.get_billing_account(session, workspace_id=workspace_id)
    live = account.status in BILLED and not account.cancel_at_period_end
    plan, interval = account.pending_plan, account.pending_interval or "month"
    return _Upcoming(
        account.mirror_version,
        account.stripe_subscription_id if live else None,
        (plan, interval) if plan and is_interval(interval) else None,
        account.pending_change_at,
        repository.active_seat_count(session, workspace_id=workspace_id),
        repository.active_number_count(session, workspace_id=workspace_id),
        account.stripe_schedule_id is not None,
    )


async def _preview_params(
    gateway: BillingGateway, workspace_id: int, source: _Upcoming
) -> dict[str, Any]:
    """A downgrade in a Stripe schedule is in Stripe's own preview of the renewal. One pending
    from before schedules is the portal's own: Stripe renews at the old prices unless asked
    for the invoice of the switch (the new plan's prices, no proration: `plan_change` swaps
    them so at the period end), which also bills the pending prorations and spends the credit."""
    params: dict[str, Any] = {"subscription": source.subscription_id}
    if source.pending and not source.scheduled:
        plan, interval = source.pending
        items = await swapped_items(
            gateway, workspace_id, plan, interval, source.seats, source.numbers
        )
        params["subscription_details"] = {"items": items, "proration_behavior": "none"}
    return params


async def swapped_items(
    gateway: BillingGateway,
    workspace_id: int,
    plan: str,
    interval: Interval,
    seats: int,
    numbers: int,
) -> list[dict[str, Any]]:
    """The subscription's items on `plan`/`interval`, quantities for the given counts."""
    chosen = get_catalog().plan(plan)
    items = await in_db(lambda session: mirror.items_by_kind(session, workspace_id))
    seat = await gateway.price_for(chosen.lookup_key("seat", interval))
    number = await gateway.price_for(chosen.lookup_key("number", interval))
    swapped = [
        {"id": items["seat"].stripe_subscription_item_id, "price": seat.id, "quantity": seats}
    ]
    extra = pricing.number_quantity(plan, numbers)
    if "number" in items:
        swapped.append(
            {
                "id": items["number"].stripe_subscription_item_id,
                "price": number.id,
                "quantity": extra,
            }
        )
    else:
        swapped.append({"price": number.id, "quantity": extra})
    return swapped


def _write_upcoming(
    session: Session, workspace_id: int, seen: int, cents: int | None, at: Any
) -> bool:
    account = mirror.lock_account(session, workspace_id)
    if account.mirror_version != seen:
        return False
    mirror.apply_upcoming(session, account, cents, at)
    return True


def _cas(
    session: Session,
    workspace_id: int,
    snapshot: Any,
    expected: int,
    final: bool,
    apply: Callable[[Session, BillingAccount, Any], T],
) -> tuple[Literal[True], T] | tuple[Literal[False], int]:
    account = mirror.lock_account(session, workspace_id)
    if account.mirror_version != expected and not final:
        return False, account.mirror_version
    return True, apply(session, account, snapshot)
