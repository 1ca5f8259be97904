"""What the demo panel shows: who the personas are, where Acme Dental is, and the demo's time.

The account comes from the mirror. The demo's "today" is the test clock's time, which only
Stripe knows (one read of the clock), and so is the open invoice's next retry; Stripe's retry
schedule (days after the failed renewal) is the sandbox's setting (`/_sandbox/settings`), as
Stripe's is the account's Dashboard setting. None of this exists outside the demo.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlmodel import Session, col, select

from clerk_portal.billing.errors import GatewayError
from clerk_portal.billing.gateway import BillingGateway, gateway_or_default
from clerk_portal.core.db import in_db
from clerk_portal.core.settings import get_settings
from clerk_portal.demo.clock import DAY
from clerk_portal.models import BillingAccount, Invoice
from clerk_portal.workspace.trial import trial_state

# (role, name, what they may do): the same people as the seed's DEMO_PEOPLE.
PERSONAS = (
    ("owner", "Olivia Park", "Sees and changes billing: plan, card, invoices, cancel; the team."),
    ("admin", "Adam Reyes", "Manages the team and the numbers; no billing."),
    ("member", "Mia Chen", "Uses the workspace; sees who the owners are, nothing of billing."),
    ("sales", "Sam Rivera", "Clerk Chat sales (staff, no workspace): builds and shares quotes."),
)


@dataclass(frozen=True)
class RetryStep:
    label: str
    when: str
    state: str  # "done", "next", "later"


@dataclass(frozen=True)
class DemoStatus:
    status: str  # the account in a line
    today: str  # the demo's date (the test clock), or the real date before there is one
    renews: str  # the next renewal date, "" without a subscription
    retries: tuple[RetryStep, ...]  # Stripe's retries of the failed renewal (none without)
    next_retry: str  # Stripe's next_payment_attempt of the open invoice, "" without one


def _date(seconds: int | float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%b %d, %Y")


def _status_line(account: BillingAccount) -> str:
    trial = trial_state(account)
    if account.stripe_subscription_id is None:
        if trial.expired:
            return "Trial ended: read-only until the owner upgrades"
        return f"On its trial: {trial.days_left} days left"
    plan = (account.plan or "").title()
    interval = "monthly" if account.interval == "month" else "yearly"
    if account.collection_method == "send_invoice" and account.status in ("active", "past_due"):
        if account.status == "past_due":
            return f"Past due: {plan}, {interval}; an invoice is overdue (bank transfer)"
        return f"Invoiced customer: {plan}, {interval}; pays by bank transfer"
    words = {
        "active": f"Subscribed: {plan}, {interval}",
        "past_due": f"Past due: {plan}, {interval}; Stripe is retrying the payment",
        "canceled": "Canceled: read-only",
        "unpaid": "Unpaid: read-only",
        "incomplete": "Waiting for the first payment",
        "trialing": f"Subscribed on a trial: {plan}, {interval}",
    }
    return words.get(account.status, account.status)


def _read(session: Session, workspace_id: int) -> tuple[BillingAccount, Invoice | None]:
    account = session.exec(
        select(BillingAccount).where(BillingAccount.workspace_id == workspace_id)
    ).one()
    invoice = session.exec(
        select(Invoice)
        .where(Invoice.workspace_id == workspace_id, Invoice.status == "open")
        .order_by(col(Invoice.created).desc())
    ).first()
    session.expunge_all()
    return account, invoice


def _utc(moment: datetime) -> int:
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


async def _retry_days() -> list[int]:
    base = get_settings().stripe_api_base_url
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            found = (await client.get(f"{base}/_sandbox/settings")).json()["retry_days"]
        return [int(day) for day in found]
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        return []


async def _retries(invoice: Invoice, today: int, ended: bool) -> tuple[RetryStep, ...]:
    """The failed renewal, each retry after it (done, next, later) and the cancellation."""
    failed_at = _utc(invoice.created)
    days = await _retry_days()
    steps = [RetryStep("The renewal payment failed", _date(failed_at), "done")]
    upcoming = True
    for number, day in enumerate(days, start=1):
        when = failed_at + day * DAY
        state = "done" if when <= today or ended else ("next" if upcoming else "later")
        upcoming = upcoming and state == "done"
        last = " (the last)" if number == len(days) else ""
        steps.append(RetryStep(f"Retry {number}{last}", _date(when), state))
    if days:
        when = failed_at + days[-1] * DAY
        steps.append(
            RetryStep(
                "Then Stripe cancels the subscription", _date(when), "done" if ended else "later"
            )
        )
    return tuple(steps)


async def demo_status(workspace_id: int, *, gateway: BillingGateway | None = None) -> DemoStatus:
    account, invoice = await in_db(lambda session: _read(session, workspace_id))
    gateway = gateway_or_default(gateway)
    today = datetime.now(UTC).timestamp()
    if account.stripe_test_clock_id:
        with contextlib.suppress(GatewayError):  # a clock just deleted by a reset: real time
            today = (await gateway.retrieve_test_clock(account.stripe_test_clock_id)).frozen_time
    renews = ""
    if account.current_period_end and account.status in ("active", "past_due"):
        renews = _date(_utc(account.current_period_end))
    retries: tuple[RetryStep, ...] = ()
    next_retry = ""
    # Stripe retries card payments only: an invoiced customer's invoice waits for the transfer.
    charged = invoice is not None and invoice.collection_method != "send_invoice"
    if invoice is not None and charged and invoice.billing_reason == "subscription_cycle":
        retries = await _retries(invoice, int(today), account.status == "canceled")
        try:
            attempt = (
                await gateway.retrieve_invoice(invoice.stripe_invoice_id)
            ).next_payment_attempt
        except GatewayError:
            attempt = None
        next_retry = _date(attempt) if attempt else ""
    return DemoStatus(_status_line(account), _date(today), renews, retries, next_retry)
