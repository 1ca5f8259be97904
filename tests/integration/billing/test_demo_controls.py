"""The demo controls (issue 15) against the sandbox over HTTP, with real signed webhooks: reset
puts Acme Dental back to its seeded trial, and each scenario reaches its state through the
production services and the test clock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from clerk_portal.billing.errors import BillingError, NotFoundAtStripe
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.core.db import engine_for, session_scope
from clerk_portal.core.settings import PROJECT_ROOT, Settings
from clerk_portal.demo import reset, scenarios
from clerk_portal.demo.seed import DEMO_NUMBERS, DEMO_PEOPLE, TRIAL_DAYS_LEFT
from clerk_portal.models import (
    BillingAccount,
    BillingActivity,
    Invoice,
    Membership,
    PhoneNumber,
    utcnow,
)
from clerk_portal.workspace import repository
from clerk_portal.workspace.trial import trial_state

from .conftest import Env
from .helpers import billing_account as _account
from .helpers import seeded_demo as _seeded


def _team(workspace_id: int) -> tuple[list[tuple[str, str, str]], list[str]]:
    def read(session: Session):
        members = session.exec(
            select(Membership).where(Membership.workspace_id == workspace_id)
        ).all()
        numbers = session.exec(
            select(PhoneNumber.e164).where(
                PhoneNumber.workspace_id == workspace_id, PhoneNumber.status == "active"
            )
        ).all()
        return sorted((m.email, m.role, m.status) for m in members), sorted(numbers)

    with session_scope() as session:
        return read(session)


def _invoices(workspace_id: int) -> list[str]:
    with session_scope() as session:
        return list(
            session.exec(
                select(Invoice.status).where(col(Invoice.workspace_id) == workspace_id)
            ).all()
        )


SEEDED_TEAM = sorted((email, role, "active") for role, _name, email in DEMO_PEOPLE)


async def test_reset_puts_a_subscribed_workspace_back_to_its_seeded_trial(env: Env):
    workspace_id = _seeded()
    await scenarios.run_scenario("subscribed")
    env.settle()
    with session_scope() as session:
        repository.add_member(session, workspace_id=workspace_id, email="extra@acmedental.example")
        repository.add_number(session, workspace_id=workspace_id, e164="+14155550199")
    subscribed = _account(workspace_id)
    assert subscribed.status == "active" and subscribed.stripe_test_clock_id
    assert _invoices(workspace_id) == ["paid"]

    result = await reset.reset_demo()
    print(f"demo reset took {result.seconds:.3f} s")
    env.settle()  # the old customer's late events change nothing

    account = _account(workspace_id)
    assert result.workspace_id == workspace_id
    assert account.status == "trialing"
    assert (account.stripe_customer_id, account.stripe_subscription_id) == (None, None)
    assert account.stripe_test_clock_id is None and account.plan is None
    assert account.mirror_version > subscribed.mirror_version
    assert trial_state(account).days_left == TRIAL_DAYS_LEFT
    assert _team(workspace_id) == (SEEDED_TEAM, sorted(DEMO_NUMBERS))
    assert _invoices(workspace_id) == []
    with pytest.raises(NotFoundAtStripe):  # Stripe deleted the clock and its customer
        await env.gateway().retrieve_test_clock(subscribed.stripe_test_clock_id)
    assert result.seconds < 5

    # The next upgrade is a new Stripe customer, not a replay of the deleted one's keys.
    await scenarios.run_scenario("subscribed")
    again = _account(workspace_id)
    assert again.status == "active"
    assert again.stripe_customer_id not in (None, subscribed.stripe_customer_id)


async def test_reset_of_a_fresh_demo_is_the_seed_and_twice_is_the_same(env: Env):
    workspace_id = _seeded()
    first = await reset.reset_demo()
    second = await reset.reset_demo()
    assert second.mirror_version == first.mirror_version + 1
    assert _team(workspace_id) == (SEEDED_TEAM, sorted(DEMO_NUMBERS))
    assert trial_state(_account(workspace_id)).days_left == TRIAL_DAYS_LEFT


async def test_end_the_trial_now_makes_the_workspace_read_only(env: Env):
    workspace_id = _seeded()
    outcome = await scenarios.run_scenario("trial_ended")
    state = trial_state(_account(workspace_id))
    assert state.expired and state.read_only
    assert "read-only" in outcome.message


async def test_renewal_fails_then_retries_day_by_day_then_cancels(env: Env):
    workspace_id = _seeded()
    await scenarios.run_scenario("renewal_fails")
    env.settle()
    assert (await load_overview(workspace_id)).past_due
    assert _invoices(workspace_id).count("open") == 1
    statuses = []
    for _day in range(8):  # retries 3, 5 and 7 days after the failed renewal, then canceled
        await scenarios.run_scenario("advance_a_day")
        env.settle()
        statuses.append(_account(workspace_id).status)
    assert statuses[:6] == ["past_due"] * 6
    assert statuses[-1] == "canceled"
    assert trial_state(_account(workspace_id)).read_only

    # A new card pays the debt but does not bring the subscription back: the panel says so
    # (it said only "settled" under "Canceled: read-only", seen by hand).
    outcome = await scenarios.run_scenario("recover")
    env.settle()
    assert "stays canceled" in outcome.message
    assert _account(workspace_id).status == "canceled"


async def test_renewal_fails_then_a_new_card_recovers(env: Env):
    workspace_id = _seeded()
    await scenarios.run_scenario("renewal_fails")
    env.settle()
    await scenarios.run_scenario("advance_a_day")
    outcome = await scenarios.run_scenario("recover")
    env.settle()
    account = _account(workspace_id)
    assert account.status == "active" and account.card_last4 == "4242"
    assert "settled" in outcome.message
    assert "open" not in _invoices(workspace_id)


async def test_advance_to_the_renewal_date_bills_the_next_period(env: Env):
    workspace_id = _seeded()
    await scenarios.run_scenario("subscribed")
    await scenarios.run_scenario("advance_to_renewal")
    env.settle()
    assert sorted(_invoices(workspace_id)) == ["paid", "paid"]
    assert _account(workspace_id).status == "active"


async def test_clock_steps_without_a_subscription_are_refused(env: Env):
    _seeded()
    await reset.reset_demo()
    with pytest.raises(BillingError, match="no subscription to renew"):
        await scenarios.run_scenario("advance_to_renewal")
    with pytest.raises(BillingError, match="no demo clock"):
        await scenarios.run_scenario("advance_a_day")


async def test_an_unknown_scenario_is_refused_and_changes_nothing(env: Env):
    workspace_id = _seeded()
    before = _account(workspace_id).mirror_version
    with pytest.raises(BillingError, match="no such demo scenario"):
        await scenarios.run_scenario("1")
    assert _account(workspace_id).mirror_version == before


async def test_outside_the_demo_every_control_is_refused(env: Env, monkeypatch):
    workspace_id = _seeded()
    before = _account(workspace_id).mirror_version
    production = Settings(portal_mode="production")
    monkeypatch.setattr(reset, "get_settings", lambda: production)
    for name in scenarios.SCENARIOS:
        with pytest.raises(BillingError, match="only in the demo"):
            await scenarios.run_scenario(name)
    assert _account(workspace_id).mirror_version == before


def test_the_cli_resets_the_demo_and_prints_the_time(env: Env):
    workspace_id = _seeded()
    with session_scope() as session:
        repository.add_member(session, workspace_id=workspace_id, email="extra@acmedental.example")
    done = subprocess.run(
        [sys.executable, "-m", "clerk_portal", "demo", "reset"],
        cwd=PROJECT_ROOT,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "seeded trial" in done.stdout and " s)" in done.stdout
    print(done.stdout)
    assert _team(workspace_id) == (SEEDED_TEAM, sorted(DEMO_NUMBERS))


def test_the_cli_refuses_an_unknown_scenario(env: Env):
    done = subprocess.run(
        [sys.executable, "-m", "clerk_portal", "demo", "nonsense"],
        cwd=PROJECT_ROOT,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_reset_waits_for_a_mirror_writer_instead_of_deadlocking(env: Env, database_url: str):
    """A webhook's write holds the billing account and then inserts a row that references the
    workspace (its foreign-key check takes KEY SHARE on it). The reset locked the workspace
    first and then waited for the account: PostgreSQL found a deadlock and killed one side."""
    workspace_id = _seeded()
    engine = engine_for(database_url)

    def reset_now() -> int:
        with session_scope() as session:
            return reset._reset_portal(session, workspace_id, utcnow())

    with engine.connect() as writer, ThreadPoolExecutor(1) as pool:
        writing = writer.begin()
        writer.execute(
            sa.update(BillingAccount)
            .where(col(BillingAccount.workspace_id) == workspace_id)
            .values(updated_at=utcnow())
        )
        resetting = pool.submit(reset_now)
        time.sleep(1.5)  # the reset is waiting for the writer now
        writer.execute(
            sa.insert(BillingActivity).values(
                workspace_id=workspace_id,
                kind="invoice_paid",
                summary="a webhook's row",
                currency="usd",
                created_at=utcnow(),
            )
        )
        writing.commit()
        version = resetting.result(timeout=30)

    assert version >= 1
    assert _team(workspace_id) == (SEEDED_TEAM, sorted(DEMO_NUMBERS))
