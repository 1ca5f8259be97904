"""The money machine: random sequences of an owner's actions, checked against Stripe at each step.

A hypothesis `RuleBasedStateMachine` drives the billing services the pages call (the team and
numbers changes of `workspace_changes` with their preview and quantity sync, the upgrade, plan
changes, cancel and resume, the card, the demo clock) against the sandbox over HTTP, with the real
webhook receiver applying Stripe's events to the mirror. Beside it runs a small model of what
the owner was told: the team, the plan, the card, the prorations confirmed and not yet invoiced
(`pool`), the customer's credit balance and the total the owner agreed to pay (`paid`).

After every step (flushed quantity syncs, every webhook delivered and applied) it checks:
each preview equals what Stripe billed for that step; the mirror equals Stripe; Stripe's
quantities equal the team; the overview's next invoice equals Stripe's upcoming invoice; every
cent paid was named by a confirmed preview or is a renewal at the catalog price; the history has
one row per action (and per Stripe event) with the amount Stripe billed; at most one live
subscription. A refusal is a legitimate outcome when it has a message and changed nothing.

Examples: MONEY_EXAMPLES (default 30; `make test-deep` runs 500), a third of them on PostgreSQL
(the services are the same; the database's part is its locking and transactions, which a few
examples exercise, and `make test` stays short); steps: MONEY_STEPS (9).
Each example starts from a reset sandbox (with the catalog synced again) and emptied tables.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlmodel import SQLModel, select

from clerk_portal.billing import mirror
from clerk_portal.billing.catalog import get_catalog
from clerk_portal.billing.catalog_sync import sync_catalog
from clerk_portal.billing.gateway import current_gateway
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services import cancel, card, plan_change, quantities, upgrade
from clerk_portal.billing.services import change_effect as billing_effect
from clerk_portal.core.db import engine_for, in_db
from clerk_portal.core.errors import DomainError
from clerk_portal.core.settings import get_settings
from clerk_portal.demo import clock as demo_clock
from clerk_portal.models import BillingAccount, BillingActivity, Invoice
from clerk_portal.workspace import changes as workspace_changes
from clerk_portal.workspace import repository
from clerk_portal.workspace.changes import Actor
from tests.support.sandbox import PUBLISHABLE_KEY, SECRET_KEY, SandboxProcess
from tests.support.waiting import eventually

from .conftest import WEBHOOK_SECRET, WebhookServer, make_workspace

EXAMPLES = int(os.environ.get("MONEY_EXAMPLES", "30"))
STEPS = int(os.environ.get("MONEY_STEPS", "9"))
CARDS = {"good": "4242424242424242", "failing": "4000000000000341"}
LIVE = ("active", "past_due", "trialing", "unpaid", "incomplete")
RETRIES = 3  # the sandbox's retry_days: 3, 5, 7 days after the first failure
HOUR = 3600
# Rows that record a refused attempt (the attempt happened, nothing else did).
FAILURE_KINDS = ("upgrade_failed", "plan_change_failed")


# --- Stripe, read straight from the sandbox (the oracle) ------------------------------------------


class Oracle:
    """Plain JSON reads of the sandbox's /v1 API: what Stripe says, without our gateway."""

    def __init__(self, base_url: str) -> None:
        # Idle connections dropped after 2 s, before the sandbox's (uvicorn's 5 s) closes them:
        # reusing one as the server closes it fails with "Server disconnected" on a loaded machine.
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
            timeout=30,
            limits=httpx.Limits(keepalive_expiry=2),
        )

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        query: dict[str, Any] = {"limit": 100, **params}
        while True:
            page = self.get(path, **query)
            found += page["data"]
            if not page["has_more"] or not page["data"]:
                return found
            query["starting_after"] = page["data"][-1]["id"]

    def upcoming(self, subscription_id: str) -> dict[str, Any] | None:
        """Stripe's `create_preview` of the subscription's next invoice (None: there is none)."""
        response = self.http.post(
            "/v1/invoices/create_preview", data={"subscription": subscription_id}
        )
        if response.status_code == 400:
            return None
        response.raise_for_status()
        return response.json()


@dataclass
class World:
    """What every example shares: the event loop of the services, the sandbox, the receiver."""

    runner: asyncio.Runner
    sandbox: SandboxProcess
    hooks: WebhookServer
    database_url: str
    oracle: Oracle

    def run(self, coro: Awaitable[Any]) -> Any:
        return self.runner.run(coro)  # type: ignore[arg-type]

    def settle(self, timeout: float = 20) -> None:
        """Quantity syncs done, every event delivered, every delivery applied."""
        self.run(_quiet())
        eventually(
            lambda: (
                not any(
                    e["pending_webhooks"] for e in self.oracle.get("/v1/events", limit=100)["data"]
                )
            ),
            within=timeout,
            what="the sandbox to deliver every event",
        )
        self.hooks.drain()

    def reset(self) -> None:
        """A cheap fresh start: the sandbox forgets all but the catalog (synced once per test,
        so price ids and the gateway's price cache stay valid), every table is emptied."""
        self.run(_quiet())
        self.sandbox.reset(keep_catalog=True)  # also drops webhook deliveries still queued
        self.hooks.drain()
        with engine_for(self.database_url).begin() as connection:
            for table in reversed(SQLModel.metadata.sorted_tables):
                connection.execute(table.delete())

    def confirm_card(self, setup_intent_id: str, client_secret: str, number: str) -> None:
        """What Stripe.js does in the owner's browser."""
        self.sandbox.client(PUBLISHABLE_KEY).v1.setup_intents.confirm(
            setup_intent_id,
            {
                "client_secret": client_secret,
                "payment_method_data": {
                    "type": "card",
                    "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
                },
            },
        )


async def _quiet() -> None:
    """Every quantity sync finished, the ones already running included."""
    await quantities.flush_quantity_syncs()


def catalog_total(plan: str, interval: str, seats: int, numbers: int) -> int:
    """The catalog price of one period: seats and the numbers beyond the included ones."""
    chosen = get_catalog().plan(plan)
    extra = max(0, numbers - chosen.included_numbers)
    return seats * chosen.price_cents("seat", interval) + extra * chosen.price_cents(  # type: ignore[arg-type]
        "number",
        interval,  # type: ignore[arg-type]
    )


def with_balance(total: int, balance: int) -> tuple[int, int]:
    """(amount due, new balance): Stripe spends the credit balance first; a negative total
    becomes credit."""
    if total < 0:
        return 0, balance + total
    applied = min(total, -balance) if balance < 0 else 0
    return total - applied, balance + applied


RANK = {"startup": 0, "business": 1}
SELECTIONS = [(plan, interval) for plan in RANK for interval in ("month", "year")]


class InvariantBroken(AssertionError):
    """A money invariant that does not hold."""


_BROKEN: dict[str, type[InvariantBroken]] = {}


def broken(invariant_name: str) -> type[InvariantBroken]:
    """One exception class per invariant: hypothesis shrinks and reports each broken invariant
    as a failure of its own, so one run lists every one with its minimal sequence."""
    if invariant_name not in _BROKEN:
        _BROKEN[invariant_name] = type(
            f"Broken_{len(_BROKEN)}", (InvariantBroken,), {"__doc__": invariant_name}
        )
    return _BROKEN[invariant_name]


def direction(plan: str, interval: str, target: str, target_interval: str) -> str:
    if RANK[target] != RANK[plan]:
        return "upgrade" if RANK[target] > RANK[plan] else "downgrade"
    if target_interval == interval:
        return "none"
    return "upgrade" if target_interval == "year" else "downgrade"


def limits_ok(plan: str, seats: int) -> bool:
    maximum = get_catalog().plan(plan).max_seats
    return maximum is None or seats <= maximum


# --- the machine ------------------------------------------------------------------------------


class MoneyMachine(RuleBasedStateMachine):
    world: World  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.world.reset()
        self.oracle = self.world.oracle
        self.step = "start"
        self.serial = 0
        # the model: what the owner did and was told
        self.members: list[int] = []  # removable memberships (not the owner)
        self.numbers: list[int] = []
        self.seats = 1
        self.phase = "trial"  # trial | live | ended
        self.status = "trialing"
        self.plan: str | None = None
        self.interval: str | None = None
        self.pending: tuple[str, str] | None = None
        self.canceling = False
        self.card = "none"
        self.pool = 0  # confirmed prorations not yet invoiced
        self.balance = 0  # the customer's credit (negative), as Stripe applies it
        self.paid = 0  # every cent the owner agreed to pay, as invoiced
        self.open_amount = 0  # a failed renewal still owed
        self.old_owed = 0  # left open on a subscription that ended unpaid
        self.retries_left = 0
        self.last_activity = 0
        self.paid_invoices: set[str] = set()

    # --- helpers ------------------------------------------------------------------------------

    def fail(self, invariant_name: str, expected: Any, actual: Any, unit: str = "") -> None:
        raise broken(invariant_name)(
            f"[after {self.step}] {invariant_name}: expected {expected}{unit}, got {actual}{unit}"
        )

    def equal(self, invariant_name: str, expected: Any, actual: Any, unit: str = "") -> None:
        if expected != actual:
            self.fail(invariant_name, expected, actual, unit)

    def begin(self, name: str) -> None:
        self.step = name

    def actor(self) -> Actor:
        return Actor(user_id=self.owner_id, workspace_id=self.ws, role="owner")

    def account(self) -> BillingAccount:
        return self.world.run(
            in_db(lambda s: repository.get_billing_account(s, workspace_id=self.ws))
        )

    def subscriptions(self) -> list[dict[str, Any]]:
        customer = self.account().stripe_customer_id
        if not customer:
            return []
        return self.oracle.all("/v1/subscriptions", customer=customer, status="all")

    def invoices(self) -> list[dict[str, Any]]:
        customer = self.account().stripe_customer_id
        return self.oracle.all("/v1/invoices", customer=customer) if customer else []

    def invoice_items(self) -> dict[str, int]:
        customer = self.account().stripe_customer_id
        if not customer:
            return {}
        return {
            ii["id"]: ii["amount"] for ii in self.oracle.all("/v1/invoiceitems", customer=customer)
        }

    def live_subscription(self) -> dict[str, Any] | None:
        live = [s for s in self.subscriptions() if s["status"] in LIVE]
        return live[0] if live else None

    def stripe_quantities(self) -> tuple[int, int] | None:
        sub = self.live_subscription()
        if sub is None:
            return None
        by_kind = {
            i["price"]["lookup_key"].split("_")[1]: i["quantity"] for i in sub["items"]["data"]
        }
        return by_kind.get("seat", 0), by_kind.get("number", 0)

    def fingerprint(self) -> dict[str, Any]:
        """Everything a refused action must leave as it was (Stripe's money and the mirror)."""
        account = self.account()

        def db(session: Any) -> dict[str, Any]:
            items = mirror.items_by_kind(session, self.ws)
            rows = session.exec(
                select(BillingActivity.kind).where(BillingActivity.workspace_id == self.ws)
            ).all()
            return {
                "items": sorted((k, i.stripe_price_id, i.quantity) for k, i in items.items()),
                "seats": repository.active_seat_count(session, workspace_id=self.ws),
                "numbers": repository.active_number_count(session, workspace_id=self.ws),
                "activity": Counter(k for k in rows if k not in FAILURE_KINDS),
                "invoices": sorted(
                    (i.stripe_invoice_id, i.status, i.amount_paid_cents)
                    for i in session.exec(select(Invoice).where(Invoice.workspace_id == self.ws))
                ),
            }

        return {
            "account": (
                account.stripe_subscription_id,
                account.status,
                account.plan,
                account.interval,
                account.pending_plan,
                account.pending_interval,
                account.cancel_at_period_end,
                account.stripe_payment_method_id,
            ),
            "db": self.world.run(in_db(db)),
            "subscriptions": sorted(
                (
                    s["id"],
                    s["status"],
                    s["cancel_at_period_end"],
                    tuple(sorted((i["price"]["id"], i["quantity"]) for i in s["items"]["data"])),
                )
                for s in self.subscriptions()
            ),
            "invoices": sorted((i["id"], i["status"], i["amount_paid"]) for i in self.invoices()),
            "invoice_items": self.invoice_items(),
        }

    def attempt(self, action: Callable[[], Awaitable[Any]]) -> tuple[Any, DomainError | None]:
        try:
            return self.world.run(action()), None
        except DomainError as error:
            return None, error

    def refused_cleanly(self, before: dict[str, Any], error: DomainError | None) -> None:
        """A refusal: a message for the owner, and nothing changed."""
        if error is None:
            self.fail(
                "refusal", "a refusal (BillingError with a message)", "the action went through"
            )
        if not error.message.strip():
            self.fail("refusal message", "a message", repr(error.message))
        self.world.settle()
        after = self.fingerprint()
        for key in before:
            if before[key] != after[key]:
                self.fail(
                    f"refusal ({error.message!r}) changes nothing: {key}", before[key], after[key]
                )
        self.take_activity()

    def unexpected(self, error: DomainError | None) -> None:
        if error is not None:
            self.fail("the action", "to go through", f"refused: {error.message!r}")

    def take_activity(self) -> list[BillingActivity]:
        since = self.last_activity

        def read(session: Any) -> list[BillingActivity]:
            return list(
                session.exec(
                    select(BillingActivity)
                    .where(BillingActivity.workspace_id == self.ws, BillingActivity.id > since)
                    .order_by(BillingActivity.id)
                )
            )

        rows = self.world.run(in_db(read))
        if rows:
            self.last_activity = rows[-1].id or since
        return rows

    def newly_paid(self) -> list[dict[str, Any]]:
        fresh = [
            i
            for i in self.invoices()
            if i["status"] == "paid" and i["id"] not in self.paid_invoices
        ]
        self.paid_invoices |= {i["id"] for i in fresh}
        return fresh

    def expect_activity(
        self,
        action_rows: dict[str, int | None],
        *,
        quantity_updates: int = 0,
        failed: int = 0,
        canceled: int = 0,
    ) -> None:
        """The step's new history rows: each action once with the amount Stripe billed
        (`action_rows`: kind → cents, None when the row carries no amount), one row per invoice
        Stripe marked paid (with its amount) or failed, one per quantity update."""
        paid = self.newly_paid()
        rows = self.take_activity()
        expected = Counter(action_rows.keys())
        expected["invoice_paid"] += len(paid)
        expected["quantities"] += quantity_updates
        expected["payment_failed"] += failed
        expected["canceled"] += canceled
        expected = +expected
        actual = Counter(row.kind for row in rows)
        self.equal(
            "activity: one row per action and per Stripe event", dict(expected), dict(actual)
        )
        for row in rows:
            if row.kind in action_rows and action_rows[row.kind] is not None:
                self.equal(
                    f"activity {row.kind}: amount = what Stripe billed",
                    action_rows[row.kind],
                    row.amount_cents,
                    " ¢",
                )
        amounts = sorted(i["amount_paid"] for i in paid)
        logged = sorted(row.amount_cents or 0 for row in rows if row.kind == "invoice_paid")
        self.equal("activity invoice_paid: amounts = Stripe's paid invoices", amounts, logged, " ¢")

    # --- set-up ------------------------------------------------------------------------------

    @initialize(members=st.integers(0, 9), numbers=st.integers(0, 4))
    def workspace(self, members: int, numbers: int) -> None:
        self.begin(f"workspace({members} members, {numbers} numbers)")
        self.ws, self.owner_id = make_workspace(members=members, numbers=numbers)

        def ids(session: Any) -> tuple[list[int], list[int]]:
            people = repository.list_members(session, workspace_id=self.ws)
            phones = repository.list_numbers(session, workspace_id=self.ws)
            return [m.id for m in people if m.role != "owner"], [p.id for p in phones]

        self.members, self.numbers = self.world.run(in_db(ids))
        self.seats = 1 + members
        self.take_activity()

    # --- team and numbers: the pages' flow (check, preview, commit, quantity sync) -----------

    def quantity_change(
        self,
        name: str,
        check: Callable[[], Any],
        commit: Callable[[int | None], Any],
        seats_delta: int,
        numbers_delta: int,
        kind: str,
        *,
        refuse: bool,
        may_refuse: bool = False,
    ) -> bool:
        """Returns whether the change went through."""
        self.begin(name)
        before = self.fingerprint()
        _, refusal = self.attempt(lambda: asyncio.to_thread(check))
        effect = None
        if refusal is None:
            effect, refusal = self.attempt(
                lambda: billing_effect.preview(
                    self.ws, seats_delta=seats_delta, numbers_delta=numbers_delta
                )
            )
        items_before = self.invoice_items()
        quantities_before = self.stripe_quantities()
        if refusal is None:
            cents = effect.prorated_cents if effect else None
            _, refusal = self.attempt(lambda: asyncio.to_thread(commit, cents))
            if refusal is None:
                self.world.run(quantities.request_quantity_sync(self.ws, delay=0))
        if refuse or (may_refuse and refusal is not None):
            self.refused_cleanly(before, refusal)
            return False
        self.unexpected(refusal)
        self.world.settle()
        billed = sum(a for i, a in self.invoice_items().items() if i not in items_before)
        previewed = effect.prorated_cents if effect else None
        self.equal(
            f"{name}: the proration items Stripe created (expected) = the preview's amount (got)",
            billed,
            previewed if previewed is not None else 0,
            " ¢",
        )
        if previewed is None and self.phase == "live":
            self.fail(f"{name}: a preview on a live subscription", "an amount", None)
        self.pool += billed if previewed is None else previewed
        self.seats += seats_delta
        changed = int(
            quantities_before is not None and self.stripe_quantities() != quantities_before
        )
        self.expect_activity({kind: previewed}, quantity_updates=changed)
        return True

    def writable(self) -> bool:
        return self.phase != "ended"

    @rule()
    def invite(self) -> None:
        self.serial += 1
        email = f"invited{self.serial}@example.com"
        over = self.phase == "live" and not limits_ok(self.plan or "", self.seats + 1)
        over_pending = self.pending is not None and not limits_ok(self.pending[0], self.seats + 1)
        done = self.quantity_change(
            "invite a member",
            lambda: workspace_changes.check_invite(self.actor(), email=email, role="member"),
            lambda cents: workspace_changes.invite_member(
                self.actor(), email=email, role="member", amount_cents=cents
            ),
            1,
            0,
            "member_invited",
            refuse=not self.writable() or over,
            may_refuse=over_pending,  # bug 6: refuse, or cancel the pending downgrade
        )
        if done:
            self.members.append(self.member_id(email))
            if over_pending:  # accepted: then only without the downgrade it cannot hold
                account = self.account()
                self.equal(
                    f"an invitation beyond a pending downgrade's limit ({self.pending}): refused,"
                    " or the downgrade canceled; pending downgrade",
                    None,
                    (account.pending_plan, account.pending_interval)
                    if account.pending_plan
                    else None,
                )
                self.pending = None

    def member_id(self, email: str) -> int:
        def find(session: Any) -> int:
            return next(
                m.id
                for m in repository.list_members(session, workspace_id=self.ws)
                if m.email == email
            )

        return self.world.run(in_db(find))

    @precondition(lambda self: self.members)
    @rule(pick=st.integers(0, 20))
    def remove(self, pick: int) -> None:
        membership_id = self.members[pick % len(self.members)]
        done = self.quantity_change(
            "remove a member",
            lambda: workspace_changes.check_removal(self.actor(), membership_id=membership_id),
            lambda cents: workspace_changes.remove_member(
                self.actor(), membership_id=membership_id, amount_cents=cents
            ),
            -1,
            0,
            "member_removed",
            refuse=not self.writable(),
        )
        if done:
            self.members.remove(membership_id)

    @rule()
    def add_number(self) -> None:
        self.serial += 1
        e164 = f"+1212555{self.serial:04d}"
        done = self.quantity_change(
            "add a number",
            lambda: workspace_changes.check_number(self.actor(), e164=e164),
            lambda cents: workspace_changes.add_number(self.actor(), e164=e164, amount_cents=cents),
            0,
            1,
            "number_added",
            refuse=not self.writable(),
        )
        if done:

            def find(session: Any) -> int:
                phones = repository.list_numbers(session, workspace_id=self.ws)
                return next(p.id for p in phones if p.e164 == e164)

            self.numbers.append(self.world.run(in_db(find)))

    @precondition(lambda self: self.numbers)
    @rule(pick=st.integers(0, 20))
    def release_number(self, pick: int) -> None:
        number_id = self.numbers[pick % len(self.numbers)]
        done = self.quantity_change(
            "release a number",
            lambda: workspace_changes.check_release(self.actor(), number_id=number_id),
            lambda cents: workspace_changes.release_number(
                self.actor(), number_id=number_id, amount_cents=cents
            ),
            0,
            -1,
            "number_released",
            refuse=not self.writable(),
        )
        if done:
            self.numbers.remove(number_id)

    # --- trial → paid ------------------------------------------------------------------------

    @precondition(lambda self: self.phase in ("trial", "ended"))
    @rule(
        plan=st.sampled_from(["startup", "business"]),
        interval=st.sampled_from(["month", "year"]),
        card_kind=st.sampled_from(["good", "good", "failing"]),
    )
    def upgrade(self, plan: str, interval: str, card_kind: str) -> None:
        self.begin(f"upgrade to {plan}/{interval} with a {card_kind} card")
        before = self.fingerprint()
        preview = self.world.run(
            upgrade.preview_upgrade(workspace_id=self.ws, plan=plan, interval=interval)
        )
        start, refusal = self.attempt(
            lambda: upgrade.start_upgrade(workspace_id=self.ws, plan=plan, interval=interval)
        )
        if not limits_ok(plan, self.seats):
            self.refused_cleanly(before, refusal)
            return
        self.unexpected(refusal)
        self.world.confirm_card(start.setup_intent_id, start.client_secret, CARDS[card_kind])
        result, refusal = self.attempt(
            lambda: upgrade.complete_upgrade(
                workspace_id=self.ws,
                actor_user_id=self.owner_id,
                setup_intent_id=start.setup_intent_id,
                plan=plan,
                interval=interval,
            )
        )
        if card_kind == "failing":
            before["account"] = self.fingerprint()["account"]  # the customer now exists
            self.refused_cleanly(before, refusal)
            return
        self.unexpected(refusal)
        self.world.settle()
        charged = [i for i in self.invoices() if i["id"] not in {x[0] for x in before["invoices"]}]
        stripe_charged = sum(i["amount_paid"] for i in charged)
        self.equal(
            "upgrade: the preview's amount due today = what Stripe charged",
            preview.amount_due_today_cents,
            stripe_charged,
            " ¢",
        )
        self.equal(
            "upgrade: the result's amount = what Stripe charged",
            stripe_charged,
            result.amount_charged_cents,
            " ¢",
        )
        self.paid += preview.amount_due_today_cents
        total = catalog_total(plan, interval, self.seats, len(self.numbers))
        _, self.balance = with_balance(total, self.balance)
        self.phase, self.status, self.plan, self.interval = "live", "active", plan, interval
        self.pending = None
        self.canceling, self.card, self.pool = False, "good", 0
        self.expect_activity({"upgrade": preview.amount_due_today_cents})

    @precondition(lambda self: self.phase == "trial")
    @rule(plan=st.sampled_from(["startup", "business"]))
    def upgrade_in_two_tabs(self, plan: str) -> None:
        """Two tabs confirm the same upgrade at once (bug 4): one subscription, one charge."""
        self.begin(f"upgrade to {plan}/month in two tabs at once")
        if not limits_ok(plan, self.seats):
            return
        preview = self.world.run(
            upgrade.preview_upgrade(workspace_id=self.ws, plan=plan, interval="month")
        )
        starts = [
            self.world.run(upgrade.start_upgrade(workspace_id=self.ws, plan=plan, interval="month"))
            for _ in range(2)
        ]
        for start in starts:
            self.world.confirm_card(start.setup_intent_id, start.client_secret, CARDS["good"])

        async def both() -> list[Any]:
            return await asyncio.gather(
                *(
                    upgrade.complete_upgrade(
                        workspace_id=self.ws,
                        actor_user_id=self.owner_id,
                        setup_intent_id=start.setup_intent_id,
                        plan=plan,
                        interval="month",
                    )
                    for start in starts
                ),
                return_exceptions=True,
            )

        outcomes = self.world.run(both())
        self.world.settle()
        # bug 4: the tab that lost the claim is refused ("already in progress"), or finds the
        # winner's subscription at Stripe and reports it; never a second subscription or charge
        unexpected = [
            o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, DomainError)
        ]
        if unexpected:
            raise unexpected[0]
        for refused in (o for o in outcomes if isinstance(o, DomainError)):
            self.equal("two tabs: the other tab's refusal", upgrade.IN_PROGRESS, refused.message)
        done = [o for o in outcomes if not isinstance(o, BaseException)]
        stripe_charged = sum(i["amount_paid"] for i in self.invoices())
        live = [s for s in self.subscriptions() if s["status"] in LIVE]
        self.equal("two tabs: live subscriptions", 1, len(live))
        self.equal(
            "two tabs: what Stripe charged = one upgrade's preview",
            preview.amount_due_today_cents,
            stripe_charged,
            " ¢",
        )
        self.equal("two tabs: an upgrade went through", True, len(done) >= 1)
        self.equal(
            "two tabs: each tab that went through reports the one charge",
            [stripe_charged] * len(done),
            [o.amount_charged_cents for o in done],
            " ¢",
        )
        self.paid += preview.amount_due_today_cents
        total = catalog_total(plan, "month", self.seats, len(self.numbers))
        _, self.balance = with_balance(total, self.balance)
        self.phase, self.status, self.plan, self.interval = "live", "active", plan, "month"
        self.canceling, self.card, self.pool = False, "good", 0
        self.expect_activity({"upgrade": preview.amount_due_today_cents})

    # --- plan and interval changes ------------------------------------------------------------

    def change(self, plan: str, interval: str) -> None:
        assert self.plan and self.interval
        way = direction(self.plan, self.interval, plan, interval)
        self.begin(f"change {self.plan}/{self.interval} → {plan}/{interval} ({way})")
        before = self.fingerprint()
        preview, refusal = self.attempt(
            lambda: plan_change.preview_plan_change(
                workspace_id=self.ws, plan=plan, interval=interval
            )
        )
        if refusal is None and preview.review is None:  # nothing to confirm: the page stops
            refusal = DomainError(preview.message)
        if refusal is None:
            result, refusal = self.attempt(
                lambda: plan_change.change_plan(
                    workspace_id=self.ws,
                    actor_user_id=self.owner_id,
                    plan=plan,
                    interval=interval,
                    review=preview.review,
                )
            )
        fits = limits_ok(plan, self.seats)
        due_now = preview.amount_due_now_cents if preview else 0
        refuse = (
            self.status == "past_due"
            or way == "none"
            or not fits
            or (way == "downgrade" and self.canceling)
            or (way == "upgrade" and self.card == "failing" and due_now > 0)
        )
        if refuse:
            self.refused_cleanly(before, refusal)
            return
        self.unexpected(refusal)
        self.world.settle()
        self.equal("plan change: direction", way, preview.direction)
        new_invoices = [
            i for i in self.invoices() if i["id"] not in {x[0] for x in before["invoices"]}
        ]
        stripe_charged = sum(i["amount_paid"] for i in new_invoices)
        if way == "downgrade":
            self.equal("downgrade: charged now", 0, stripe_charged, " ¢")
            self.equal("downgrade: the preview's amount due now", 0, due_now, " ¢")
            self.pending = (plan, interval)
            self.expect_activity({"plan_downgrade_scheduled": None})
            return
        self.equal(
            "plan upgrade: the preview's amount due now = the invoice Stripe charged",
            due_now,
            stripe_charged,
            " ¢",
        )
        self.equal(
            "plan upgrade: the result's amount = the invoice Stripe charged",
            stripe_charged,
            result.amount_charged_cents,
            " ¢",
        )
        self.paid += due_now
        _, self.balance = with_balance(sum(line.amount for line in preview.lines), self.balance)
        self.plan, self.interval, self.pool, self.pending = plan, interval, 0, None
        self.expect_activity({"plan_upgrade": due_now})

    def subscribed(self) -> bool:
        return self.phase == "live"

    @precondition(lambda self: self.phase == "live")
    @rule(
        plan=st.sampled_from(["startup", "business"]), interval=st.sampled_from(["month", "year"])
    )
    def change_plan(self, plan: str, interval: str) -> None:
        self.change(plan, interval)

    @precondition(lambda self: self.phase == "live")
    @rule()
    def plan_up(self) -> None:
        self.change("business", self.interval or "month")

    @precondition(lambda self: self.phase == "live")
    @rule()
    def plan_down(self) -> None:
        self.change("startup", self.interval or "month")

    @precondition(lambda self: self.phase == "live")
    @rule()
    def interval_change(self) -> None:
        self.change(self.plan or "business", "month" if self.interval == "year" else "year")

    @precondition(lambda self: self.phase == "live")
    @rule(
        first=st.sampled_from(SELECTIONS),
        second=st.sampled_from(SELECTIONS),
        review_second=st.booleans(),
    )
    def confirm_a_stale_review(
        self, first: tuple[str, str], second: tuple[str, str], review_second: bool
    ) -> None:
        """Bug 1 at the service level: review one selection, pick another (and review it, or
        not), confirm the first review for the selection now shown → refused, nothing charged."""
        if first == second:
            return
        self.begin(
            f"review {'/'.join(first)}, pick {'/'.join(second)}"
            + (" and review it" if review_second else "")
            + f", confirm the {'/'.join(first)} review"
        )
        before = self.fingerprint()
        old, refusal = self.attempt(
            lambda: plan_change.preview_plan_change(
                workspace_id=self.ws, plan=first[0], interval=first[1]
            )
        )
        if refusal is not None or old.review is None:
            return  # nothing to confirm: the page has no Confirm button
        if review_second:
            self.attempt(
                lambda: plan_change.preview_plan_change(
                    workspace_id=self.ws, plan=second[0], interval=second[1]
                )
            )
        _, refusal = self.attempt(
            lambda: plan_change.change_plan(
                workspace_id=self.ws,
                actor_user_id=self.owner_id,
                plan=second[0],
                interval=second[1],
                review=old.review,
            )
        )
        self.refused_cleanly(before, refusal)

    @precondition(lambda self: self.phase == "live")
    @rule()
    def undo_downgrade(self) -> None:
        self.begin("undo the scheduled downgrade")
        before = self.fingerprint()
        _, refusal = self.attempt(
            lambda: plan_change.undo_pending_change(
                workspace_id=self.ws, actor_user_id=self.owner_id
            )
        )
        if self.pending is None:
            self.refused_cleanly(before, refusal)
            return
        self.unexpected(refusal)
        self.world.settle()
        self.pending = None
        self.expect_activity({"plan_change_undone": None})

    # --- cancel and resume -------------------------------------------------------------------

    @precondition(lambda self: self.phase == "live" and not self.canceling)
    @rule(double_click=st.booleans())
    def cancel_at_period_end(self, double_click: bool) -> None:
        self.begin("cancel at period end" + (" (double click)" if double_click else ""))

        def once() -> Awaitable[Any]:
            return cancel.cancel_at_period_end(
                workspace_id=self.ws, actor_user_id=self.owner_id, reason="too_expensive"
            )

        async def clicks() -> Any:
            outcomes = await asyncio.gather(
                *(once() for _ in range(2 if double_click else 1)), return_exceptions=True
            )
            errors = [o for o in outcomes if isinstance(o, BaseException)]
            if len(errors) == len(outcomes):
                raise errors[0]
            for error in errors:  # bug 10: a double click may be refused, not fail otherwise
                if not isinstance(error, DomainError):
                    raise error
            return outcomes

        _, refusal = self.attempt(clicks)
        self.unexpected(refusal)
        self.world.settle()
        self.canceling = True
        # A downgrade waits in a Stripe schedule, which owns the cancellation of a subscription
        # it manages: the cancel releases it (and says so); a resume does not bring it back.
        if self.pending is not None:
            account = self.account()
            self.equal(
                "cancel with a scheduled downgrade: the downgrade is dropped; pending",
                None,
                (account.pending_plan, account.pending_interval) if account.pending_plan else None,
            )
        self.pending = None
        self.expect_activity({"cancel_scheduled": None})

    @precondition(lambda self: self.phase == "live" and self.canceling)
    @rule()
    def resume(self) -> None:
        self.begin("resume")
        _, refusal = self.attempt(
            lambda: cancel.resume(workspace_id=self.ws, actor_user_id=self.owner_id)
        )
        self.unexpected(refusal)
        self.world.settle()
        self.canceling = False  # nothing was pending any more: the cancel dropped it
        self.expect_activity({"resumed": None})

    # --- the card -----------------------------------------------------------------------------

    def new_card(self, kind: str) -> str:
        setup = self.world.run(card.start_card_update(workspace_id=self.ws))
        self.world.confirm_card(setup.setup_intent_id, setup.client_secret, CARDS[kind])
        return setup.setup_intent_id

    @precondition(lambda self: self.phase == "live")
    @rule(kind=st.sampled_from(["good", "failing"]))
    def replace_card(self, kind: str) -> None:
        self.begin(f"replace the card with a {kind} one")
        setup_intent_id = self.new_card(kind)
        _, refusal = self.attempt(
            lambda: card.complete_card_update(
                workspace_id=self.ws, actor_user_id=self.owner_id, setup_intent_id=setup_intent_id
            )
        )
        self.unexpected(refusal)
        self.world.settle()
        self.card = kind
        self.expect_activity({"card_updated": None})

    @precondition(lambda self: self.phase == "live" and self.status == "past_due")
    @rule()
    def pay_with_a_new_card(self) -> None:
        self.begin("recover: pay the open invoice with a new good card")
        setup_intent_id = self.new_card("good")
        result, refusal = self.attempt(
            lambda: card.pay_open_invoice(
                workspace_id=self.ws, actor_user_id=self.owner_id, setup_intent_id=setup_intent_id
            )
        )
        self.unexpected(refusal)
        self.world.settle()
        self.equal(
            "recovery: paid = the open invoice", self.open_amount, result.amount_paid_cents, " ¢"
        )
        self.paid += self.open_amount
        self.open_amount, self.card, self.status, self.retries_left = 0, "good", "active", 0
        self.expect_activity(
            {"card_updated": None, "invoice_paid_manually": result.amount_paid_cents}
        )

    # --- time ---------------------------------------------------------------------------------

    def advance_to(self, moment: int) -> None:
        sub = self.live_subscription()
        assert sub is not None
        clock = self.oracle.get(f"/v1/test_helpers/test_clocks/{sub['test_clock']}")
        days = (moment + HOUR - clock["frozen_time"]) / 86400
        _, refusal = self.attempt(
            lambda: demo_clock.advance_demo_clock(workspace_id=self.ws, days=days)
        )
        self.unexpected(refusal)
        self.world.settle()

    @precondition(lambda self: self.phase == "live" and self.status == "active")
    @rule()
    def advance_to_renewal(self) -> None:
        sub = self.live_subscription()
        assert sub is not None
        end = sub["items"]["data"][0]["current_period_end"]
        self.begin(f"advance the clock to the renewal ({self.card} card)")
        self.advance_to(end)
        if self.canceling:
            self.phase, self.status, self.canceling, self.pool = "ended", "canceled", False, 0
            self.pending = None
            self.expect_activity({}, canceled=1)
            return
        switched = self.pending is not None
        if self.pending:
            self.plan, self.interval = self.pending
            self.pending = None
        assert self.plan and self.interval
        total = catalog_total(self.plan, self.interval, self.seats, len(self.numbers)) + self.pool
        due, self.balance = with_balance(total, self.balance)
        self.pool = 0
        failed = 0
        if due > 0 and self.card == "failing":
            self.status, self.open_amount, self.retries_left, failed = "past_due", due, RETRIES, 1
        else:
            self.paid += due
        self.expect_activity({"plan_downgrade": None} if switched else {}, failed=failed)

    @precondition(lambda self: self.phase == "live" and self.status == "past_due")
    @rule()
    def advance_to_retry(self) -> None:
        open_invoices = [i for i in self.invoices() if i["status"] == "open"]
        retry_at = open_invoices[0]["next_payment_attempt"] if open_invoices else None
        if not retry_at:
            self.fail("past due: a scheduled retry", "a next_payment_attempt", retry_at)
        self.begin(f"advance the clock to the payment retry ({self.card} card)")
        self.advance_to(retry_at)
        if self.card == "good":
            self.paid += self.open_amount
            self.open_amount, self.status, self.retries_left = 0, "active", 0
            self.expect_activity({})
            return
        self.retries_left -= 1
        if self.retries_left == 0:
            self.phase, self.status, self.canceling, self.pool = "ended", "canceled", False, 0
            self.old_owed, self.open_amount = self.old_owed + self.open_amount, 0
            self.pending = None
            self.expect_activity({}, failed=1, canceled=1)
        else:
            self.expect_activity({}, failed=1)

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def stripe_and_mirror_agree(self) -> None:
        if not hasattr(self, "ws"):
            return
        self.world.settle()
        account = self.account()
        subs = self.subscriptions()
        live = [s for s in subs if s["status"] in LIVE]
        self.equal("at most one live subscription per customer", True, len(live) <= 1)
        self.equal(
            "model status = Stripe's",
            self.status,
            live[0]["status"] if live else ("trialing" if self.phase == "trial" else "canceled"),
        )
        if live:
            sub = live[0]
            self.equal("mirror: subscription id", sub["id"], account.stripe_subscription_id)
            self.equal("mirror: status", sub["status"], account.status)
            self.equal(
                "mirror: cancel_at_period_end",
                sub["cancel_at_period_end"],
                account.cancel_at_period_end,
            )
            self.equal("model: cancel_at_period_end", self.canceling, sub["cancel_at_period_end"])
            self.equal(
                "mirror: default card",
                sub["default_payment_method"],
                account.stripe_payment_method_id,
            )
            items = self.world.run(in_db(lambda s: mirror.items_by_kind(s, self.ws)))
            stripe_items = {
                i["price"]["lookup_key"].split("_")[1]: (
                    i["id"],
                    i["price"]["id"],
                    i["price"]["lookup_key"],
                    i["quantity"],
                    i["price"]["unit_amount"],
                )
                for i in sub["items"]["data"]
            }
            mirrored = {
                kind: (
                    i.stripe_subscription_item_id,
                    i.stripe_price_id,
                    i.lookup_key,
                    i.quantity,
                    i.unit_amount_cents,
                )
                for kind, i in items.items()
            }
            self.equal(
                "mirror: subscription items (id, price, lookup key, quantity, unit ¢)",
                stripe_items,
                mirrored,
            )
            plan, _, interval = stripe_items["seat"][2].split("_")
            self.equal(
                "model: plan and interval = Stripe's", (self.plan, self.interval), (plan, interval)
            )
            self.equal(
                "mirror: plan and interval", (plan, interval), (account.plan, account.interval)
            )
            # quantities follow the team once the syncs are flushed
            chosen = get_catalog().plan(plan)
            billed_numbers = max(0, len(self.numbers) - chosen.included_numbers)
            self.equal("Stripe's seats = billable seats", self.seats, stripe_items["seat"][3])
            self.equal(
                "Stripe's numbers = max(0, numbers − included)",
                billed_numbers,
                stripe_items.get("number", (0, 0, 0, 0))[3],
            )
            self.equal(
                "mirror: pending downgrade",
                self.pending,
                (account.pending_plan, account.pending_interval) if account.pending_plan else None,
            )
            if self.pending:
                self.equal(
                    f"a pending downgrade to {self.pending[0]} fits the team",
                    True,
                    limits_ok(self.pending[0], self.seats),
                )
        elif self.phase == "ended":
            self.equal("mirror: status after the end", "canceled", account.status)
        invoices = self.invoices()
        stripe_invoices = {
            i["id"]: (i["status"], i["total"], i["amount_due"], i["amount_paid"]) for i in invoices
        }

        def mirrored_invoices(session: Any) -> dict[str, Any]:
            rows = session.exec(select(Invoice).where(Invoice.workspace_id == self.ws)).all()
            return {
                r.stripe_invoice_id: (
                    r.status,
                    r.total_cents,
                    r.amount_due_cents,
                    r.amount_paid_cents,
                )
                for r in rows
            }

        self.equal(
            "mirror: invoices (status, total ¢, due ¢, paid ¢)",
            stripe_invoices,
            self.world.run(in_db(mirrored_invoices)),
        )
        paid = sum(i["amount_paid"] for i in invoices)
        self.equal(
            "no charge that no confirmed preview named: Stripe's paid total = confirmed amounts"
            " + renewals at the catalog price",
            self.paid,
            paid,
            " ¢",
        )
        owed = sum(i["amount_remaining"] for i in invoices if i["status"] == "open")
        self.equal(
            "open invoices: only a failed renewal is owed",
            self.open_amount + self.old_owed,
            owed,
            " ¢",
        )
        self.next_invoice_matches(live[0] if live else None)

    def next_invoice_matches(self, sub: dict[str, Any] | None) -> None:
        """What the overview shows as the next invoice (`next_invoice_cents`, the mirrored
        upcoming invoice) = the amount due of a fresh `create_preview` of the subscription (the
        renewal, pending prorations and the credit balance included), to the cent. With a
        pending downgrade (the portal's own: Stripe renews at the old prices) the next invoice is
        the switch's: the new plan's catalog price for the period, plus the pending prorations of
        that preview, less the credit balance (what `advance_to_renewal` then sees paid).
        None when nothing renews."""
        overview = self.world.run(load_overview(self.ws))
        shown = overview.next_invoice_cents
        if sub is None or sub["cancel_at_period_end"]:
            self.equal("overview: next invoice when nothing renews", None, shown)
            return
        upcoming = self.oracle.upcoming(sub["id"])
        expected = upcoming["amount_due"] if upcoming else None
        if upcoming and self.pending:
            lines = upcoming["lines"]["data"]
            prorations = sum(
                line["amount"]
                for line in lines
                if (
                    line["parent"].get("subscription_item_details")
                    or line["parent"].get("invoice_item_details")
                    or {}
                ).get("proration")
            )
            customer = self.oracle.get(f"/v1/customers/{sub['customer']}")
            total = prorations + catalog_total(*self.pending, self.seats, len(self.numbers))
            expected = with_balance(total, customer["balance"])[0]
        self.equal(
            "overview: next invoice = Stripe's upcoming invoice (amount due)", expected, shown, " ¢"
        )


async def _sync_catalog() -> None:
    await sync_catalog(current_gateway(), get_catalog())


async def _close_gateway() -> None:
    await current_gateway().aclose()


@pytest.mark.timeout(600 + 30 * EXAMPLES)  # shrinking a failure may take 300 s more
def test_money_machine(
    database_url: str,
    sandbox_process: SandboxProcess,
    webhook_server: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORTAL_MODE", "demo")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("STRIPE_API_BASE", sandbox_process.url)
    monkeypatch.setenv("STRIPE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", PUBLISHABLE_KEY)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    get_settings.cache_clear()
    sandbox_process.configure_webhooks(
        url=webhook_server.url, secret=WEBHOOK_SECRET, initial_backoff=0.2, max_attempts=5
    )
    sandbox_process.reset()
    examples = EXAMPLES if database_url.startswith("sqlite") else max(1, EXAMPLES // 3)
    with asyncio.Runner() as runner:
        runner.run(_sync_catalog())
        MoneyMachine.world = World(
            runner, sandbox_process, webhook_server, database_url, Oracle(sandbox_process.url)
        )
        try:
            run_state_machine_as_test(
                MoneyMachine,
                settings=settings(
                    max_examples=examples,
                    stateful_step_count=STEPS,
                    deadline=None,
                    database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                    print_blob=True,
                    # no "explain" phase: its line tracer makes every step many times slower
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
                ),
            )
        finally:
            runner.run(_quiet())
            runner.run(_close_gateway())
            sandbox_process.configure_webhooks(url="")
            webhook_server.drain()
            get_settings.cache_clear()
            engine_for(database_url).dispose()
