"""The overview's "Next invoice" is Stripe's upcoming invoice, pending prorations included.

Issue 10, bug 3: the overview showed the recurring total ($204.00) while Stripe invoiced $261.00
at renewal, because the prorations of the changes made during the period were left out. The
amount is kept in the mirror (refreshed after each write and webhook): the page still makes no
Stripe call.
"""

from __future__ import annotations

from clerk_portal.billing import catalog
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services import plan_change, quantities
from clerk_portal.billing.services.common import refresh_upcoming_invoice
from clerk_portal.core.db import in_db
from clerk_portal.demo.clock import advance_demo_clock
from clerk_portal.workspace import repository

from .conftest import Env, add_members
from .helpers import PAST_THE_RENEWAL, subscribe


async def test_next_invoice_is_stripes_upcoming_invoice_and_what_the_renewal_bills(env: Env):
    workspace_id, _owner, sub_id = await subscribe(env, members=2, numbers=2)
    await advance_demo_clock(workspace_id=workspace_id, days=10)
    env.settle()
    add_members(workspace_id, 2)
    for n in range(3):  # 5 numbers: 2 extra
        await in_db(
            lambda s, n=n: repository.add_number(
                s, workspace_id=workspace_id, e164=f"+1415555090{n}"
            )
        )
    await quantities.sync_quantities(workspace_id=workspace_id)
    env.settle()

    overview = await load_overview(workspace_id)
    upcoming = env.stripe().v1.invoices.create_preview({"subscription": sub_id})
    assert overview.next_invoice_cents == upcoming.amount_due
    assert overview.next_invoice_cents > overview.recurring_cents  # the prorations are in it
    assert overview.recurring_cents == 5 * 4900 + 2 * 800

    env.sandbox.control("DELETE", "requests")
    await load_overview(workspace_id)
    assert env.sandbox.requests_log() == []  # the page reads the mirror only

    # past the period end and the renewal's draft hour
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL - 10)
    env.settle()
    after = await load_overview(workspace_id)
    renewal = after.latest_invoices[0]
    assert renewal.status == "paid"
    assert renewal.amount_due_cents == overview.next_invoice_cents
    # And the next one is again Stripe's: a whole period, no prorations left.
    assert after.next_invoice_cents == after.recurring_cents


async def test_stripe_failing_the_preview_keeps_the_last_amount_and_the_change_goes_through(
    env: Env,
):
    workspace_id, _owner, sub_id = await subscribe(env, members=2, numbers=2)
    env.settle()
    before = (await load_overview(workspace_id)).next_invoice_cents
    assert before == 3 * 4900
    env.sandbox.add_fault("POST", "/v1/invoices/create_preview", status=503, count=100)
    add_members(workspace_id, 1)
    outcome = await quantities.sync_quantities(workspace_id=workspace_id)
    assert outcome.changed and outcome.seats == 4
    env.settle()
    assert (await load_overview(workspace_id)).next_invoice_cents == before  # not lost, not 0
    env.sandbox.clear_faults()
    async with env.gateway() as gateway:
        await refresh_upcoming_invoice(workspace_id, gateway)
    upcoming = env.stripe().v1.invoices.create_preview({"subscription": sub_id})
    assert (await load_overview(workspace_id)).next_invoice_cents == upcoming.amount_due


async def test_with_a_pending_downgrade_next_invoice_is_what_the_switch_bills(env: Env):
    """Found by the money machine: with a downgrade pending, the overview showed the new plan's
    catalog price alone, while the renewal on the new plan also bills the prorations pending
    (and spends the credit balance): the next invoice is Stripe's, with the new plan's prices."""
    workspace_id, owner, _sub_id = await subscribe(env, plan="business", members=1)
    await advance_demo_clock(workspace_id=workspace_id, days=10)
    env.settle()
    add_members(workspace_id, 1)  # a third seat, prorated and invoiced at the renewal
    await quantities.sync_quantities(workspace_id=workspace_id)
    env.settle()
    preview = await plan_change.preview_plan_change(
        workspace_id=workspace_id, plan="startup", interval="month"
    )
    await plan_change.change_plan(
        workspace_id=workspace_id,
        actor_user_id=owner,
        plan="startup",
        interval="month",
        review=preview.review,
    )
    env.settle()
    shown = (await load_overview(workspace_id)).next_invoice_cents
    assert shown is not None and shown > 3 * 2900  # the new plan's price and the proration

    # past the period end and the renewal's draft hour
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL - 10)
    env.settle()
    after = await load_overview(workspace_id)
    assert (after.plan, after.pending_plan) == ("startup", None)
    assert after.latest_invoices[0].amount_due_cents == shown


async def test_a_number_within_stripes_billing_still_moves_a_pending_downgrades_invoice(env: Env):
    """Found by the money machine: Business includes the number, so Stripe's quantities do not
    move and nothing refreshed the preview, but the pending Startup plan bills it."""
    workspace_id, owner, _sub_id = await subscribe(env, plan="business", members=1, numbers=1)
    preview = await plan_change.preview_plan_change(
        workspace_id=workspace_id, plan="startup", interval="month"
    )
    await plan_change.change_plan(
        workspace_id=workspace_id,
        actor_user_id=owner,
        plan="startup",
        interval="month",
        review=preview.review,
    )
    env.settle()
    before = (await load_overview(workspace_id)).next_invoice_cents
    await in_db(lambda s: repository.add_number(s, workspace_id=workspace_id, e164="+14155550999"))
    await quantities.sync_quantities(workspace_id=workspace_id)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.extra_numbers_billed, overview.pending_plan) == (0, "startup")
    assert overview.next_invoice_cents == (before or 0) + catalog.get_catalog().plan(
        "startup"
    ).price_cents("number", "month")
