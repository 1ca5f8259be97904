"""The account states a sales rep shows, reached through the production services.

Each starting scenario resets Acme Dental first (`reset`), then goes where a real customer would
have gone: the upgrade service subscribes it, the card service changes its card, the sandbox's
test clock moves time so that Stripe renews, fails, retries and cancels, and the webhooks bring
each change into the mirror (the open tabs follow live). Cards are Stripe's test payment method
ids (`pm_card_visa`, `pm_card_chargeCustomerFail`: attaches, then every charge fails), never
numbers. Only the trial's end is the portal's own (the trial is the portal's, not Stripe's): it
is moved to now, and `trial_state` makes the workspace read-only as it would at day 14.

The clock steps (`advance_to_renewal`, `advance_a_day`, `advance_past_due_date`), `recover` and
`mark_paid` act on the current state. An invoiced (enterprise) customer is subscribed by the
invoicing service (`send_invoice`, due in 30 days); its invoice is paid by bank transfer, which
the demo stands in for by marking it paid out of band in the sandbox, as Stripe's Dashboard or
API does when the money arrived outside Stripe (https://docs.stripe.com/api/invoices/pay).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.gateway import BillingGateway, gateway_or_default
from clerk_portal.billing.services import card, invoiced, upgrade
from clerk_portal.billing.services.common import load_account
from clerk_portal.core import formats
from clerk_portal.core.db import in_db
from clerk_portal.demo.clock import DAY, advance_demo_clock
from clerk_portal.demo.reset import demo_workspace_id, require_demo, reset_demo
from clerk_portal.demo.seed import demo_user
from clerk_portal.models import BillingAccount, Invoice, utcnow
from clerk_portal.models.status import ENDED, SUBSCRIBED
from clerk_portal.workspace import live

GOOD_CARD = "pm_card_visa"
FAILING_CARD = "pm_card_chargeCustomerFail"  # attaches; every charge is declined
DEMO_PLAN, DEMO_INTERVAL = "business", "month"
RENEWAL_MARGIN_SECONDS = 3600  # past the period end: the renewal invoice is made and charged


@dataclass(frozen=True)
class Outcome:
    message: str
    seconds: float


@dataclass(frozen=True)
class Scenario:
    label: str
    what: str  # what the rep will see, one line
    run: Callable[[BillingGateway], Awaitable[str]]


async def _owner_id() -> int | None:
    def read(session: Session) -> int | None:
        owner = demo_user(session, "owner")
        return owner.id if owner else None

    return await in_db(read)


async def _reset(gateway: BillingGateway) -> str:
    await reset_demo(gateway=gateway)
    return "Acme Dental is back on its seeded trial (9 days left)."


async def _end_trial(gateway: BillingGateway) -> str:
    result = await reset_demo(gateway=gateway)
    await in_db(lambda session: _trial_ends_now(session, result.workspace_id, utcnow()))
    return "The trial has ended: the workspace is read-only until Olivia upgrades."


def _trial_ends_now(session: Session, workspace_id: int, now: datetime) -> None:
    session.execute(
        sa.update(BillingAccount)
        .where(col(BillingAccount.workspace_id) == workspace_id)
        .values(trial_ends_at=now, updated_at=now)
    )
    live.touch(session, workspace_id=workspace_id)


async def _confirmed(setup_intent_id: str, payment_method: str, gateway: BillingGateway) -> None:
    """What Stripe.js does when the rep enters a test card, with Stripe's test id instead."""
    await gateway.confirm_setup_intent_with(
        setup_intent_id,
        payment_method=payment_method,
        idempotency_key=f"demo:confirm:{setup_intent_id}:{payment_method}",
    )


async def _subscribe(gateway: BillingGateway) -> int:
    result = await reset_demo(gateway=gateway)
    workspace_id = result.workspace_id
    start = await upgrade.start_upgrade(
        workspace_id=workspace_id, plan=DEMO_PLAN, interval=DEMO_INTERVAL, gateway=gateway
    )
    await _confirmed(start.setup_intent_id, GOOD_CARD, gateway)
    await upgrade.complete_upgrade(
        workspace_id=workspace_id,
        actor_user_id=await _owner_id(),
        setup_intent_id=start.setup_intent_id,
        plan=DEMO_PLAN,
        interval=DEMO_INTERVAL,
        gateway=gateway,
    )
    return workspace_id


async def _subscribed(gateway: BillingGateway) -> str:
    await _subscribe(gateway)
    return "Acme Dental is a subscribed customer: Business, monthly, Visa •••• 4242."


async def _change_card(workspace_id: int, payment_method: str, gateway: BillingGateway) -> str:
    setup = await card.start_card_update(workspace_id=workspace_id, gateway=gateway)
    await _confirmed(setup.setup_intent_id, payment_method, gateway)
    return setup.setup_intent_id


async def _renewal_fails(gateway: BillingGateway) -> str:
    workspace_id = await _subscribe(gateway)
    setup_intent_id = await _change_card(workspace_id, FAILING_CARD, gateway)
    await card.complete_card_update(
        workspace_id=workspace_id,
        actor_user_id=await _owner_id(),
        setup_intent_id=setup_intent_id,
        gateway=gateway,
    )
    await _advance_to_renewal(gateway)
    return (
        "The renewal failed: Acme Dental is past due. Advance a day at a time to watch "
        "Stripe's retries, or recover with a new card."
    )


async def _advance_to_renewal(gateway: BillingGateway) -> str:
    workspace_id = await demo_workspace_id()
    view = await load_account(workspace_id)
    if not view.test_clock_id or view.status not in SUBSCRIBED:
        raise BillingError("Acme Dental has no subscription to renew: start as a subscriber.")
    period_end = await in_db(lambda session: _period_end(session, workspace_id))
    clock = await gateway.retrieve_test_clock(view.test_clock_id)
    if period_end is None or period_end <= clock.frozen_time:
        raise BillingError("The renewal date has passed already: advance a day instead.")
    days = (period_end + RENEWAL_MARGIN_SECONDS - clock.frozen_time) / DAY
    await advance_demo_clock(workspace_id=workspace_id, days=days, gateway=gateway)
    return "The clock is at the renewal date: Stripe has billed the next period."


def _period_end(session: Session, workspace_id: int) -> int | None:
    ends = session.exec(
        select(BillingAccount.current_period_end).where(BillingAccount.workspace_id == workspace_id)
    ).first()
    return int(ends.timestamp()) if ends else None


async def _advance_a_day(gateway: BillingGateway) -> str:
    workspace_id = await demo_workspace_id()
    await advance_demo_clock(workspace_id=workspace_id, days=1, gateway=gateway)
    return "A day has passed in the demo."


async def _recover(gateway: BillingGateway) -> str:
    workspace_id = await demo_workspace_id()
    setup_intent_id = await _change_card(workspace_id, GOOD_CARD, gateway)
    paid = await card.pay_open_invoice(
        workspace_id=workspace_id,
        actor_user_id=await _owner_id(),
        setup_intent_id=setup_intent_id,
        gateway=gateway,
    )
    settled = f"Paid with Visa •••• 4242: invoice {paid.invoice_number or ''} is settled"
    if (await load_account(workspace_id)).status in ENDED:
        # Paying the debt does not bring back what Stripe canceled after the last retry.
        return f"{settled}, but the subscription stays canceled (Stripe ended it)."
    return f"{settled}."


async def _invoiced(gateway: BillingGateway) -> str:
    result = await reset_demo(gateway=gateway)
    started = await invoiced.start_invoiced_billing(
        workspace_id=result.workspace_id,
        actor_user_id=await _owner_id(),
        plan=DEMO_PLAN,
        interval=DEMO_INTERVAL,
        days_until_due=invoiced.DEFAULT_DAYS_UNTIL_DUE,
        gateway=gateway,
    )
    due = f", due {formats.day(started.due_date)}" if started.due_date else ""
    return (
        f"Acme Dental is an invoiced customer: Business, monthly; invoice "
        f"{started.invoice_number or ''} is open{due}, to be paid by bank transfer."
    )


async def _advance_past_due_date(gateway: BillingGateway) -> str:
    workspace_id = await demo_workspace_id()
    owed = await in_db(lambda session: _oldest_open_invoice(session, workspace_id))
    view = await load_account(workspace_id)
    if owed is None or owed.due_date is None or not view.test_clock_id:
        raise BillingError("Acme Dental has no invoice waiting for a bank transfer.")
    clock = await gateway.retrieve_test_clock(view.test_clock_id)
    due = int(owed.due_date.timestamp())
    if due < clock.frozen_time:
        raise BillingError("The invoice is overdue already: mark it paid, or advance a day.")
    days = (due + RENEWAL_MARGIN_SECONDS - clock.frozen_time) / DAY
    await advance_demo_clock(workspace_id=workspace_id, days=days, gateway=gateway)
    return (
        f"The due date ({formats.day(owed.due_date)}) has passed unpaid: Acme Dental is past due."
    )


async def _mark_paid(gateway: BillingGateway) -> str:
    """The customer's bank transfer arrived: the open invoice is paid out of band."""
    workspace_id = await demo_workspace_id()
    owed = await in_db(lambda session: _oldest_open_invoice(session, workspace_id))
    if owed is None:
        raise BillingError("Acme Dental has no invoice waiting for a bank transfer.")
    paid = await gateway.pay_invoice_out_of_band(
        owed.stripe_invoice_id, idempotency_key=f"demo:paid_out_of_band:{owed.stripe_invoice_id}"
    )
    return f"Invoice {paid.number or ''} is paid by bank transfer."


def _oldest_open_invoice(session: Session, workspace_id: int) -> Invoice | None:
    """The invoiced customer's open invoice due first (the one a bank transfer pays)."""
    invoice = session.exec(
        select(Invoice)
        .where(
            Invoice.workspace_id == workspace_id,
            Invoice.status == "open",
            Invoice.collection_method == invoiced.SEND_INVOICE,
        )
        .order_by(col(Invoice.due_date), col(Invoice.id))
    ).first()
    if invoice is not None:
        session.expunge(invoice)
    return invoice


SCENARIOS: dict[str, Scenario] = {
    "reset": Scenario(
        "Reset demo", "Acme Dental's seeded trial: 9 days left, 3 people, 2 numbers.", _reset
    ),
    "trial_ended": Scenario(
        "End the trial now",
        "The trial is over: billing stays open, the rest is read-only.",
        _end_trial,
    ),
    "subscribed": Scenario(
        "Start as a subscribed customer",
        "Business, monthly, paid with Visa •••• 4242.",
        _subscribed,
    ),
    "renewal_fails": Scenario(
        "Fail the next renewal",
        "Subscribed with a card that is declined at renewal: past due, then Stripe retries.",
        _renewal_fails,
    ),
    "invoiced": Scenario(
        "Invoiced (enterprise) customer",
        "Business, monthly, billed by invoice due in 30 days: pays by bank transfer.",
        _invoiced,
    ),
    "advance_to_renewal": Scenario(
        "Advance to the renewal date",
        "Stripe bills the next period (by webhook).",
        _advance_to_renewal,
    ),
    "advance_a_day": Scenario(
        "Advance a day", "One day later: a retry may run, or the last one cancel.", _advance_a_day
    ),
    "recover": Scenario(
        "Recover with a new card", "Pay the open invoice with Visa •••• 4242.", _recover
    ),
    "advance_past_due_date": Scenario(
        "Advance past the due date",
        "The invoiced customer's invoice is overdue: past due until it is paid.",
        _advance_past_due_date,
    ),
    "mark_paid": Scenario(
        "Mark paid (bank transfer)",
        "The bank transfer arrived: the open invoice is paid (by webhook).",
        _mark_paid,
    ),
}
# `python -m clerk_portal demo NAME` (dashes for the underscores).
CLI_SCENARIOS = tuple(name.replace("_", "-") for name in SCENARIOS)


async def run_scenario(name: str, *, gateway: BillingGateway | None = None) -> Outcome:
    """Run one scenario by name (demo mode only); says what happened and how long it took."""
    require_demo()
    scenario = SCENARIOS.get(str(name).replace("-", "_"))
    if scenario is None:
        raise BillingError("There is no such demo scenario.")
    started = time.perf_counter()
    message = await scenario.run(gateway_or_default(gateway))
    return Outcome(message, time.perf_counter() - started)
