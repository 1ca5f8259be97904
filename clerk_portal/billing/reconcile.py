"""Reconciliation: the team, Stripe and the mirror agree, or the drift is reported (and fixed).

For every workspace with a Stripe customer:
- mirror vs Stripe: subscription status, plan, interval, period end, cancel flag, item quantities,
  and every invoice Stripe lists (status and amounts; the mirror's rows of just those, through
  `ledger.invoice_states`, so a check costs the same at 10 invoices and at 10,000). Fixed by
  applying Stripe's state to the mirror.
- one live subscription per customer: any other live one (a double upgrade) is reported with
  what it charged; fixing cancels it, and the refund is left to a person (the report says so).
- team vs Stripe: seats and extra numbers billed against the members and numbers in use. Fixed by
  one quantity update (the normal sync, so its idempotency key, proration and hourly budget apply).
Fixing is idempotent: a second run finds nothing. `python -m clerk_portal reconcile [--fix]`
checks every workspace and prints one line per drift.

The periodic job (`reconcile_job`, run by `clerk_portal.ops.jobs`) is incremental: each run takes
one page (`PAGE_SIZE`) of the accounts due, those whose mirror changed since their last check
(`mirror_version != reconciled_version`) or unseen for `RECHECK_AFTER`, oldest check first. Its
Stripe calls are paced (`billing.pacing`) to 80 % of Stripe's rate limit for the key's mode.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, or_, select

from clerk_portal.billing import ledger, mirror, pricing
from clerk_portal.billing.errors import GatewayError
from clerk_portal.billing.gateway import (
    BillingGateway,
    InvoiceSnapshot,
    StripeGateway,
    SubscriptionSnapshot,
    gateway_or_default,
)
from clerk_portal.billing.pacing import paced, stripe_rate
from clerk_portal.billing.services.common import write_mirror
from clerk_portal.billing.services.quantities import sync_quantities
from clerk_portal.core.db import in_db
from clerk_portal.core.settings import get_settings
from clerk_portal.models import BillingAccount, Workspace, utcnow
from clerk_portal.models.status import ADOPTABLE, BILLED, FROM_STRIPE
from clerk_portal.workspace import repository

log = logging.getLogger("clerk_portal.billing.reconcile")
PAGE_SIZE = 100  # accounts per run of the job (at ~3 Stripe reads each, ~15 s at 20 req/s)
RECHECK_AFTER = timedelta(hours=6)  # an account nothing changed is checked again after this
CONCURRENCY = 4  # workspaces checked at once


@dataclass(frozen=True)
class Drift:
    workspace_id: int
    workspace_name: str
    kind: str  # subscription | extra subscription | quantities | invoice
    detail: str
    fixed: bool = False

    def describe(self) -> str:
        state = " [fixed]" if self.fixed else ""
        where = f"workspace {self.workspace_id} ({self.workspace_name})"
        return f"{where}: {self.kind}: {self.detail}{state}"


@dataclass(frozen=True)
class _Local:
    workspace_id: int
    name: str
    customer_id: str
    subscription_id: str | None
    version: int
    fields: dict[str, Any]
    quantities: dict[str, int]
    seats: int
    numbers: int


def _locals(session: Session, workspace_ids: list[int] | None = None) -> list[_Local]:
    """The accounts with a Stripe customer (those of `workspace_ids` only, when given)."""
    query = select(BillingAccount).where(col(BillingAccount.stripe_customer_id).is_not(None))
    if workspace_ids is not None:
        query = query.where(col(BillingAccount.workspace_id).in_(workspace_ids))
    accounts = session.exec(query.order_by(col(BillingAccount.workspace_id))).all()
    found = []
    for account in accounts:
        workspace = session.get(Workspace, account.workspace_id)
        items = mirror.items_by_kind(session, account.workspace_id)
        found.append(
            _Local(
                workspace_id=account.workspace_id,
                name=workspace.name if workspace else "?",
                customer_id=account.stripe_customer_id or "",
                subscription_id=account.stripe_subscription_id,
                version=account.mirror_version,
                fields=_account_fields(account),
                quantities={kind: item.quantity for kind, item in items.items()},
                seats=repository.active_seat_count(session, workspace_id=account.workspace_id),
                numbers=repository.active_number_count(session, workspace_id=account.workspace_id),
            )
        )
    return found


def _account_fields(account: BillingAccount) -> dict[str, Any]:
    return {
        "status": account.status,
        "plan": account.plan,
        "interval": account.interval,
        "period end": account.current_period_end,
        "cancel at period end": account.cancel_at_period_end,
    }


def _expected_fields(snapshot: SubscriptionSnapshot) -> dict[str, Any]:
    plan, interval = mirror.plan_of(snapshot)
    status = FROM_STRIPE.get(snapshot.status, snapshot.status)
    return {
        "status": status,
        "plan": plan,
        "interval": interval,
        "period end": mirror.from_unix(snapshot.current_period_end),
        "cancel at period end": snapshot.cancel_at_period_end and status != "canceled",
    }


def _stripe_quantities(snapshot: SubscriptionSnapshot) -> dict[str, int]:
    from clerk_portal.billing.mirror import _kind_of

    return {
        kind: item.quantity
        for item in snapshot.items
        if (kind := _kind_of(item.lookup_key)) is not None
    }


async def _check(local: _Local, gateway: BillingGateway, fix: bool) -> list[Drift]:
    drifts: list[tuple[str, str]] = []
    subscription: SubscriptionSnapshot | None = None
    live = [s for s in await gateway.list_subscriptions(local.customer_id) if s.status in ADOPTABLE]
    if local.subscription_id:
        subscription = await gateway.retrieve_subscription(local.subscription_id)
    elif live:
        subscription = live[-1]  # the oldest (Stripe lists newest first); the others are extra
        drifts.append(("subscription", f"Stripe has {subscription.id}, the mirror has none"))
    invoices = await gateway.list_invoices(local.customer_id)
    # The mirror's rows of just the invoices Stripe listed (at most 100), not all the
    # workspace ever had: the check costs the same at 10 invoices and at 10,000.
    mirrored = await in_db(
        partial(
            ledger.invoice_states,
            workspace_id=local.workspace_id,
            stripe_invoice_ids=[invoice.id for invoice in invoices],
        )
    )
    extras = [s for s in live if subscription is None or s.id != subscription.id]
    for extra in extras:
        drifts.append(("extra subscription", _extra_detail(extra, invoices, fix)))
    if subscription is not None and local.subscription_id:
        expected = _expected_fields(subscription)
        for name, value in expected.items():
            if local.fields[name] != value:
                drifts.append(
                    ("subscription", f"{name} is {local.fields[name]!r}, Stripe says {value!r}")
                )
        stripe_quantities = _stripe_quantities(subscription)
        for kind, quantity in stripe_quantities.items():
            if local.quantities.get(kind) != quantity:
                drifts.append(
                    (
                        "subscription",
                        f"{kind} quantity is {local.quantities.get(kind)} in the mirror, "
                        f"{quantity} at Stripe",
                    )
                )
    stale: list[InvoiceSnapshot] = []
    for invoice in invoices:
        mine = mirrored.get(invoice.id)
        wanted = (invoice.status, invoice.total, invoice.amount_paid)
        if mine != wanted:
            stale.append(invoice)
            what = (
                "missing"
                if mine is None
                else f"{mine[0]} in the mirror, {invoice.status} at Stripe"
            )
            drifts.append(("invoice", f"{invoice.number or invoice.id} {what}"))
    team_drift = None
    if subscription is not None and subscription.status in BILLED:
        plan, _ = mirror.plan_of(subscription)
        billed = _stripe_quantities(subscription)
        wanted_numbers = pricing.number_quantity(plan, local.numbers) if plan else 0
        if (billed.get("seat"), billed.get("number", 0)) != (local.seats, wanted_numbers):
            team_drift = (
                f"team has {local.seats} seats and {wanted_numbers} extra numbers, Stripe bills "
                f"{billed.get('seat')} and {billed.get('number', 0)}"
            )
            drifts.append(("quantities", team_drift))
    if fix and drifts:
        await _fix(local, gateway, subscription, stale, team_drift is not None)
        for extra in extras:
            await _cancel_extra(gateway, extra)
    return [Drift(local.workspace_id, local.name, kind, detail, fix) for kind, detail in drifts]


def _extra_detail(extra: SubscriptionSnapshot, invoices: list[InvoiceSnapshot], fix: bool) -> str:
    """A second live subscription bills the workspace twice: say what it charged, so that a
    person refunds it (a refund is a decision about money, not a mirror repair)."""
    paid = [i for i in invoices if i.subscription_id == extra.id and i.amount_paid]
    charged = ", ".join(
        f"{pricing.format_cents(i.amount_paid, i.currency)} paid on {i.number or i.id}"
        for i in paid
    )
    what = f"{extra.id} ({extra.status}) is a second live subscription of the customer"
    money = f"; {charged}: refund it in Stripe" if paid else "; nothing was paid on it"
    action = "canceled now" if fix else "cancel it with --fix"
    return f"{what}, not the one the mirror follows: {action}{money}"


async def _cancel_extra(gateway: BillingGateway, extra: SubscriptionSnapshot) -> None:
    """Cancel at once, without proration credit: the refund of what it charged is a person's."""
    await gateway.cancel_subscription(
        extra.id,
        {"cancellation_details": {"comment": "duplicate subscription (reconcile)"}},
        idempotency_key=f"reconcile:cancel_extra:{extra.id}",
    )


async def _fix(
    local: _Local,
    gateway: BillingGateway,
    subscription: SubscriptionSnapshot | None,
    invoices: list[InvoiceSnapshot],
    team: bool,
) -> None:
    def apply(session: Session, account: BillingAccount, snap: Any) -> None:
        if subscription is not None:
            mirror.apply_subscription(session, account, subscription)
        for invoice in invoices:
            mirror.apply_invoice(session, account, invoice)
        ledger.record_activity(
            session,
            workspace_id=local.workspace_id,
            kind="reconciled",
            summary="Billing records were corrected to match Stripe",
        )

    await write_mirror(
        local.workspace_id, seen_version=local.version, first=None, refetch=None, apply=apply
    )
    if team:
        await sync_quantities(workspace_id=local.workspace_id, gateway=gateway)


def _due(session: Session, limit: int, recheck_after: timedelta) -> list[int]:
    """The next page of accounts to check: changed since their last check, never checked, or
    checked before `recheck_after` ago; the longest unchecked first."""
    stale = utcnow() - recheck_after
    reconciled_at = col(BillingAccount.reconciled_at)
    version = col(BillingAccount.reconciled_version)
    return list(
        session.exec(
            select(BillingAccount.workspace_id)
            .where(
                col(BillingAccount.stripe_customer_id).is_not(None),
                or_(
                    reconciled_at.is_(None),
                    version.is_(None),
                    version != col(BillingAccount.mirror_version),
                    reconciled_at < stale,
                ),
            )
            .order_by(reconciled_at.asc().nulls_first(), col(BillingAccount.workspace_id))
            .limit(limit)
        )
    )


def _mark_checked(session: Session, local: _Local, *, checked: bool) -> None:
    """Record the check: the version seen (a change since makes it due again). A check that
    failed keeps the old version: the account stays due, behind the others (its time moved)."""
    values: dict[str, Any] = {"reconciled_at": utcnow()}
    if checked:
        values["reconciled_version"] = local.version
    session.execute(
        sa.update(BillingAccount)
        .where(col(BillingAccount.workspace_id) == local.workspace_id)
        .values(**values)
    )


def _paced(gateway: BillingGateway | None, rate: float | None) -> BillingGateway:
    return paced(gateway_or_default(gateway), rate or stripe_rate(get_settings().stripe_secret))


async def _check_all(locals_: list[_Local], gateway: BillingGateway, fix: bool) -> list[Drift]:
    """`CONCURRENCY` workspaces at a time (Stripe's latency, not its limit, would set the pace
    otherwise; the paced gateway keeps the sum under the limit); drifts in workspace order."""
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(local: _Local) -> list[Drift]:
        async with slots:
            try:
                found = await _check(local, gateway, fix)
            except GatewayError as error:
                await in_db(partial(_mark_checked, local=local, checked=False))
                return [Drift(local.workspace_id, local.name, "error", error.message)]
            await in_db(partial(_mark_checked, local=local, checked=True))
            return found

    return [drift for found in await asyncio.gather(*map(one, locals_)) for drift in found]


async def reconcile(
    *, fix: bool = False, gateway: BillingGateway | None = None, rate: float | None = None
) -> list[Drift]:
    """Every drift found (and fixed, with `fix=True`), workspace by workspace, every workspace.
    Stripe calls are paced to `rate` a second (default: 80 % of the key's mode's limit)."""
    return await _check_all(await in_db(_locals), _paced(gateway, rate), fix)


@dataclass(frozen=True)
class Round:
    """One run of the incremental job: the workspaces it checked and what it found."""

    checked: list[int]
    drifts: list[Drift]


async def reconcile_page(
    *,
    fix: bool = True,
    page_size: int = PAGE_SIZE,
    recheck_after: timedelta = RECHECK_AFTER,
    gateway: BillingGateway | None = None,
    rate: float | None = None,
) -> Round:
    """Check (and fix) the next page of accounts due; the others wait for the next run."""

    def due_locals(session: Session) -> list[_Local]:
        return _locals(session, _due(session, page_size, recheck_after))

    locals_ = await in_db(due_locals)
    drifts = await _check_all(locals_, _paced(gateway, rate), fix)
    return Round([local.workspace_id for local in locals_], drifts)


async def reconcile_job() -> None:
    """The periodic job (`clerk_portal.ops.jobs`): one page, fixed, drift logged."""
    found = await reconcile_page()
    for drift in found.drifts:
        log.warning("reconcile: %s", drift.describe())
    if found.checked:
        log.info("reconcile: %d workspace(s) checked", len(found.checked))


def run(fix: bool) -> int:
    """The CLI command: exit 0 without drift (or all fixed), 1 with drift left, 2 on errors."""
    for noisy in ("stripe", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    async def main() -> list[Drift]:
        async with StripeGateway.from_settings() as gateway:
            return await reconcile(fix=fix, gateway=gateway)

    drifts = asyncio.run(main())
    for drift in drifts:
        print(drift.describe())
    errors = [d for d in drifts if d.kind == "error"]
    if errors:
        print(f"reconcile: {len(errors)} workspace(s) could not be checked", file=sys.stderr)
        return 2
    if not drifts:
        print("reconcile: no drift")
        return 0
    print(f"reconcile: {len(drifts)} drift(s) {'fixed' if fix else 'found (run with --fix)'}")
    return 0 if fix else 1
