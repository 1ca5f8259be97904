"""The period an invoice bills (issue 16): Stripe's `invoice.period_*` is one instant on a first
invoice and the period before on a renewal; the mirror keeps the subscription lines' period."""

from __future__ import annotations

from datetime import timedelta

from clerk_portal.billing import ledger
from clerk_portal.core.db import in_db
from clerk_portal.demo.clock import advance_demo_clock

from .conftest import Env
from .helpers import PAST_THE_RENEWAL, subscribe


async def _invoices(workspace_id: int):
    page = await in_db(lambda s: ledger.invoice_page(s, workspace_id=workspace_id, limit=10))
    return list(reversed(page.items))  # oldest first


async def test_first_and_renewal_invoices_show_the_month_they_bill(env: Env):
    workspace_id, _, _ = await subscribe(env, plan="business")
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    first, renewal = await _invoices(workspace_id)

    assert first.period_start is not None and first.period_end is not None
    assert timedelta(days=28) <= first.period_end - first.period_start <= timedelta(days=31)
    assert first.period_start <= first.created <= first.period_start + timedelta(minutes=5)
    # The renewal bills the next month, starting where the first one ended.
    assert renewal.period_start == first.period_end
    assert renewal.period_end is not None
    assert timedelta(days=28) <= renewal.period_end - renewal.period_start <= timedelta(days=31)
