"""The billing page's renewal notice, from Stripe's own events: `invoice.upcoming` days before
the renewal, then the renewal's draft invoice during the hour before Stripe charges it; gone once
the renewal is paid. The amount is Stripe's (its preview, then the draft), never recomputed."""

from __future__ import annotations

from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services import cancel
from clerk_portal.billing.services.common import load_account
from clerk_portal.core import formats
from clerk_portal.demo.clock import DAY, advance_demo_clock

from .conftest import Env
from .helpers import subscribe

HOUR = 3600


async def _advance_to(env: Env, workspace_id: int, moment: int) -> None:
    view = await load_account(workspace_id)
    clock = env.stripe().v1.test_helpers.test_clocks.retrieve(view.test_clock_id or "")
    await advance_demo_clock(workspace_id=workspace_id, days=(moment - clock.frozen_time) / DAY)
    env.settle()


def _renewal_at(env: Env, sub_id: str) -> int:
    return env.stripe().v1.subscriptions.retrieve(sub_id)["items"].data[0].current_period_end


async def test_the_notice_comes_with_invoice_upcoming_stays_through_the_draft_and_goes_when_paid(
    env: Env,
):
    workspace_id, _owner, sub_id = await subscribe(env, members=2)
    renewal_at = _renewal_at(env, sub_id)
    assert (await load_overview(workspace_id)).renewal_notice is None

    await _advance_to(env, workspace_id, renewal_at - 2 * DAY)  # invoice.upcoming was 3 days out
    upcoming = env.stripe().v1.events.list({"type": "invoice.upcoming"}).data
    assert len(upcoming) == 1
    announced = upcoming[0].data.object.amount_due
    preview = env.stripe().v1.invoices.create_preview({"subscription": sub_id})
    assert announced == preview.amount_due == 3 * 4900
    overview = await load_overview(workspace_id)
    renews = formats.day(overview.next_invoice_at)
    assert overview.renewal_notice == f"Your renewal on {renews} will be $147.00"

    await _advance_to(env, workspace_id, renewal_at + 60)  # the renewal is a draft for an hour
    draft = env.stripe().v1.subscriptions.retrieve(sub_id, {"expand": ["latest_invoice"]})
    assert draft.latest_invoice.status == "draft"
    overview = await load_overview(workspace_id)
    assert overview.renewal_notice == f"Your renewal on {renews} will be $147.00"

    await _advance_to(env, workspace_id, renewal_at + HOUR + 60)  # finalized and paid
    overview = await load_overview(workspace_id)
    assert overview.latest_invoices[0].status == "paid"
    assert overview.renewal_notice is None


async def test_no_notice_for_a_subscription_that_ends_instead_of_renewing(env: Env):
    workspace_id, owner, sub_id = await subscribe(env)
    renewal_at = _renewal_at(env, sub_id)
    await _advance_to(env, workspace_id, renewal_at - 2 * DAY)
    assert (await load_overview(workspace_id)).renewal_notice is not None
    await cancel.cancel_at_period_end(
        workspace_id=workspace_id, actor_user_id=owner, reason="too_expensive"
    )
    env.settle()
    assert (await load_overview(workspace_id)).renewal_notice is None
