"""A pending downgrade holds while it waits: its limits, a cancel, a failing card; and the
migration path of a change pending from before schedules (applied the old way)."""

from __future__ import annotations

import pytest

from clerk_portal.billing import catalog, ledger, mirror
from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services import cancel, card, plan_change, quantities
from clerk_portal.core import formats
from clerk_portal.core.db import in_db
from clerk_portal.core.errors import DomainError
from clerk_portal.demo.clock import advance_demo_clock
from clerk_portal.workspace import changes as workspace_changes
from clerk_portal.workspace import repository
from clerk_portal.workspace.changes import Actor

from .conftest import Env, add_members
from .helpers import PAST_THE_RENEWAL, activity_kinds, subscribe

FAILING_CARD = "4000000000000341"  # attaches fine, every charge fails


async def _downgrade(workspace_id: int, owner: int, plan: str, interval: str) -> None:
    await plan_change.change_plan(
        workspace_id=workspace_id, actor_user_id=owner, plan=plan, interval=interval
    )


async def _legacy_pending(workspace_id: int, plan: str, interval: str) -> None:
    """A downgrade scheduled before schedules existed: the pending columns, no schedule."""

    def write(session) -> None:
        account = mirror.lock_account(session, workspace_id)
        account.pending_plan, account.pending_interval = plan, interval
        account.pending_change_at = account.current_period_end
        account.stripe_schedule_id = None
        mirror.bump(account)
        session.add(account)

    await in_db(write)


async def _counts(workspace_id: int) -> tuple[int, int]:
    def read(session) -> tuple[int, int]:
        return (
            repository.active_seat_count(session, workspace_id=workspace_id),
            repository.active_number_count(session, workspace_id=workspace_id),
        )

    return await in_db(read)


async def _use_failing_card(env: Env, workspace_id: int, owner: int) -> None:
    setup = await card.start_card_update(workspace_id=workspace_id)
    env.confirm_card(setup, FAILING_CARD)
    await card.complete_card_update(
        workspace_id=workspace_id, actor_user_id=owner, setup_intent_id=setup.setup_intent_id
    )


def _charges(env: Env, customer: str) -> list[tuple[int, str]]:
    charges = env.stripe().v1.charges.list({"customer": customer, "limit": 100}).data
    return sorted((c.amount, c.status) for c in charges)


async def test_an_invite_past_a_pending_downgrades_seat_limit_is_refused(env: Env):
    """Bug 6: the 11th seat would turn the Startup switch into Startup with 11 seats."""
    workspace_id, owner, _ = await subscribe(env, plan="business", members=9)  # 10 seats
    await _downgrade(workspace_id, owner, "startup", "month")
    env.settle()  # the upgrade's webhooks have landed: the history below stays as it is
    when = (await load_overview(workspace_id)).pending_change_at
    actor = Actor(owner, workspace_id, "owner")
    kinds = await activity_kinds(workspace_id)
    refusal = (
        f"Your plan changes to Startup on {formats.day(when)}, which allows at most 10 seats. "
        "Undo the downgrade to add more people."
    )
    with pytest.raises(DomainError) as refused:
        workspace_changes.check_invite(actor, email="eleven@example.com", role="member")
    assert str(refused.value) == refusal
    with pytest.raises(DomainError, match="Undo the downgrade"):
        workspace_changes.invite_member(actor, email="eleven@example.com", role="member")
    assert await _counts(workspace_id) == (10, 0)
    assert await activity_kinds(workspace_id) == kinds

    await plan_change.undo_pending_change(workspace_id=workspace_id, actor_user_id=owner)
    workspace_changes.invite_member(actor, email="eleven@example.com", role="member")
    assert await _counts(workspace_id) == (11, 0)


async def test_a_number_past_a_pending_downgrades_number_limit_is_refused(env: Env, tmp_path):
    """Bug 6, for numbers: a catalog whose Startup holds at most 2 phone numbers."""
    limited = tmp_path / "catalog.toml"
    default = catalog.DEFAULT_CATALOG_PATH
    text = default.read_text(encoding="utf-8")
    limited.write_text(text.replace("max_seats = 10", "max_seats = 10\nmax_numbers = 2"))
    catalog.DEFAULT_CATALOG_PATH = limited
    catalog.get_catalog.cache_clear()
    try:
        workspace_id, owner, _ = await subscribe(env, plan="business", numbers=2)
        await _downgrade(workspace_id, owner, "startup", "month")
        actor = Actor(owner, workspace_id, "owner")
        with pytest.raises(DomainError) as refused:
            workspace_changes.check_number(actor, e164="+14155550199")
        assert "which allows at most 2 phone numbers" in str(refused.value)
        assert str(refused.value).endswith("Undo the downgrade to add more numbers.")
        with pytest.raises(DomainError, match="Undo the downgrade"):
            workspace_changes.add_number(actor, e164="+14155550199")
        assert await _counts(workspace_id) == (1, 2)
    finally:  # restored before anything caches the limited catalog for later tests
        catalog.DEFAULT_CATALOG_PATH = default
        catalog.get_catalog.cache_clear()


async def test_a_scheduled_downgrade_the_team_outgrows_is_dropped_not_applied(env: Env):
    """Bug 6 with a schedule: an 11th seat (added around the check) synced to Stripe releases
    the schedule, keeps Business and says why; the renewal bills Business for 11 seats."""
    workspace_id, owner, _ = await subscribe(env, plan="business", members=9)
    await _downgrade(workspace_id, owner, "startup", "month")
    account = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    schedule_id = account.stripe_schedule_id
    assert schedule_id
    add_members(workspace_id, 1)  # e.g. an invitation accepted from before the downgrade
    await quantities.sync_quantities(workspace_id=workspace_id)
    schedule = env.stripe().v1.subscription_schedules.retrieve(schedule_id)
    assert schedule.status == "released"
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.plan, overview.pending_plan) == ("business", None)
    lines = env.stripe().v1.invoices.retrieve(overview.latest_invoices[0].stripe_invoice_id).lines
    recurring = [i for i in lines.data if not i.parent.subscription_item_details.proration]
    assert sum(line.amount for line in recurring) == 11 * 4900  # Business, for 11 seats
    page = await in_db(lambda s: ledger.activity_page(s, workspace_id=workspace_id, limit=50))
    dropped = [a for a in page.items if a.kind == "plan_change_dropped"]
    assert len(dropped) == 1 and "allows up to 10" in dropped[0].summary
    assert "plan_downgrade" not in await activity_kinds(workspace_id)


async def test_a_legacy_due_downgrade_that_no_longer_fits_is_dropped_not_applied(env: Env):
    """Bug 6 at the period end, for a change pending from before schedules."""
    workspace_id, _owner, _ = await subscribe(env, plan="business", members=9)
    await _legacy_pending(workspace_id, "startup", "month")
    add_members(workspace_id, 1)  # never synced to Stripe
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.plan, overview.pending_plan) == ("business", None)
    assert overview.latest_invoices[0].total_cents == 10 * 4900
    page = await in_db(lambda s: ledger.activity_page(s, workspace_id=workspace_id, limit=50))
    dropped = [a for a in page.items if a.kind == "plan_change_dropped"]
    assert len(dropped) == 1 and "allows up to 10" in dropped[0].summary


async def test_a_legacy_pending_downgrade_still_applies_at_the_period_end(env: Env):
    """The migration path: a change pending in an existing database is made the old way."""
    workspace_id, _owner, _ = await subscribe(env, plan="business", members=1)
    await _legacy_pending(workspace_id, "startup", "month")
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.status, overview.plan, overview.pending_plan) == ("active", "startup", None)
    assert overview.latest_invoices[0].total_cents == 2 * 2900
    assert "plan_downgrade" in await activity_kinds(workspace_id)


async def test_cancel_drops_the_scheduled_downgrade_and_says_so(env: Env):
    """Stripe refuses a cancellation on a subscription its schedule manages: the cancel releases
    the schedule first, tells the owner the change is gone, and a resume does not restore it."""
    workspace_id, owner, _ = await subscribe(env, plan="business", members=1)
    await _downgrade(workspace_id, owner, "startup", "month")
    account = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    schedule_id = account.stripe_schedule_id or ""
    result = await cancel.cancel_at_period_end(
        workspace_id=workspace_id, actor_user_id=owner, reason="too_expensive"
    )
    assert result.message.endswith("The scheduled change to Startup (monthly) is canceled.")
    assert env.stripe().v1.subscription_schedules.retrieve(schedule_id).status == "released"
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.cancel_at_period_end, overview.pending_plan) == (True, None)
    with pytest.raises(BillingError, match="resume it first"):
        await _downgrade(workspace_id, owner, "startup", "year")
    await cancel.resume(workspace_id=workspace_id, actor_user_id=owner)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.cancel_at_period_end, overview.pending_plan) == (False, None)
    assert overview.next_invoice_cents == 2 * 4900

    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.status, overview.plan) == ("active", "business")
    assert overview.latest_invoices[0].total_cents == 2 * 4900


async def test_a_legacy_pending_downgrade_survives_cancel_and_resume(env: Env):
    """Bug 7, for a change from before schedules: kept while canceling, applied after a resume."""
    workspace_id, owner, _ = await subscribe(env, plan="business", members=1)
    await _legacy_pending(workspace_id, "startup", "month")
    await cancel.cancel_at_period_end(
        workspace_id=workspace_id, actor_user_id=owner, reason="too_expensive"
    )
    await cancel.resume(workspace_id=workspace_id, actor_user_id=owner)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.pending_plan, overview.pending_interval) == ("startup", "month")
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.status, overview.plan, overview.pending_plan) == ("active", "startup", None)
    assert overview.latest_invoices[0].total_cents == 2 * 2900


async def test_a_canceled_subscription_with_a_pending_downgrade_ends_unswitched(env: Env):
    """Kept while canceling, the downgrade is not applied to a subscription that ends."""
    workspace_id, owner, _ = await subscribe(env, plan="business", members=1)
    await _downgrade(workspace_id, owner, "startup", "month")
    await cancel.cancel_at_period_end(
        workspace_id=workspace_id, actor_user_id=owner, reason="unused"
    )
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.status, overview.plan, overview.pending_plan) == ("canceled", "business", None)
    assert "plan_downgrade" not in await activity_kinds(workspace_id)


async def test_a_due_interval_downgrade_applies_without_a_payment_when_the_card_fails(env: Env):
    """Bug 7: Business yearly → Startup monthly with a card that fails every charge."""
    workspace_id, owner, _ = await subscribe(env, plan="business", interval="year")
    await _use_failing_card(env, workspace_id, owner)
    await _downgrade(workspace_id, owner, "startup", "month")
    await advance_demo_clock(workspace_id=workspace_id, days=366)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.plan, overview.interval, overview.pending_plan) == ("startup", "month", None)
    # The renewal is the new plan's: $29.00, which the card then fails to pay.
    assert overview.status == "past_due"
    assert overview.open_invoice is not None
    assert overview.open_invoice.amount_remaining_cents == 2900
    assert [i.total_cents for i in overview.latest_invoices if i.total_cents] == [2900, 49000]
    account = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    # One charge for the first year; the renewal's one failed attempt; nothing for the swap.
    charges = _charges(env, account.stripe_customer_id or "")
    assert charges == [(2900, "failed"), (49000, "succeeded")]
    kinds = await activity_kinds(workspace_id)
    assert "plan_downgrade" in kinds and "plan_change_failed" not in kinds
    assert "trial_will_end" not in kinds  # the cycle moved by a trial is not a trial


async def test_a_late_downgrade_voids_the_unpaid_renewal_at_the_old_price(env: Env):
    """Bug 7, the job ran late: the old yearly price was invoiced (unpaid) before the switch
    (a change from before schedules)."""
    workspace_id, owner, _ = await subscribe(env, plan="business", interval="year")
    await _use_failing_card(env, workspace_id, owner)
    await _legacy_pending(workspace_id, "startup", "month")
    gateway = env.gateway()
    view = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    clock = await gateway.retrieve_test_clock(view.stripe_test_clock_id or "")
    clock = await gateway.advance_test_clock(
        clock.id, frozen_time=clock.frozen_time + 366 * 86400, idempotency_key="late-job"
    )
    env.settle()
    assert (await load_overview(workspace_id)).open_invoice.amount_remaining_cents == 49000

    await plan_change.apply_due_change(workspace_id=workspace_id, gateway=gateway, clock=clock)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.plan, overview.interval, overview.pending_plan) == ("startup", "month", None)
    assert overview.open_invoice is not None
    assert overview.open_invoice.amount_remaining_cents == 2900
    statuses = {(i.total_cents, i.status) for i in overview.latest_invoices if i.total_cents}
    assert statuses == {(49000, "paid"), (49000, "void"), (2900, "open")}


async def test_a_late_downgrade_after_a_paid_renewal_credits_the_old_price(env: Env):
    """The job ran late and the old price was paid: the unused part is credited, not charged
    (a change from before schedules)."""
    workspace_id, _owner, _ = await subscribe(env, plan="business", members=1)
    await _legacy_pending(workspace_id, "startup", "month")
    gateway = env.gateway()
    view = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    clock = await gateway.retrieve_test_clock(view.stripe_test_clock_id or "")
    clock = await gateway.advance_test_clock(
        clock.id, frozen_time=clock.frozen_time + 31 * 86400, idempotency_key="late-job-paid"
    )
    env.settle()
    charges_before = _charges(env, view.stripe_customer_id or "")

    await plan_change.apply_due_change(workspace_id=workspace_id, gateway=gateway, clock=clock)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.plan, overview.pending_plan) == ("startup", None)
    assert _charges(env, view.stripe_customer_id or "") == charges_before
    customer = env.stripe().v1.customers.retrieve(view.stripe_customer_id or "")
    # Renewed on Business (2 × $49) a moment too early: nearly all of it comes back as credit
    # for the Startup period (2 × $29), either on the balance or as pending prorations.
    pending = env.stripe().v1.invoice_items.list({"customer": customer.id, "pending": True}).data
    credit = -customer.balance - sum(ii.amount for ii in pending)
    assert 2 * 4900 - 2 * 2900 - 5 <= credit <= 2 * 4900 - 2 * 2900


async def test_a_scheduled_downgrade_is_told_to_the_owner_and_logged_with_their_name(env: Env):
    """Issue 16: the toast said "Olivia Park scheduled a change … on Feb 01, 2027"."""
    workspace_id, owner, _ = await subscribe(env, plan="business", owner="Olivia Park")
    env.settle()  # the upgrade's webhooks have landed: the newest entry below is the change
    result = await plan_change.change_plan(
        workspace_id=workspace_id, actor_user_id=owner, plan="startup", interval="month"
    )
    overview = await load_overview(workspace_id)
    assert overview.pending_change_at is not None
    when = overview.pending_change_at
    assert result.message == (
        f"You scheduled a change to Startup (monthly) on {when:%b} {when.day}, {when.year}."
    )
    page = await in_db(lambda s: ledger.activity_page(s, workspace_id=workspace_id, limit=5))
    assert page.items[0].summary.startswith("Olivia Park scheduled a change to Startup")
