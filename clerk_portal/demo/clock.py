"""Demo helper for sales reps: move a workspace's sandbox test clock forward ("advance a month").

In demo mode every Stripe customer lives on its own test clock, so advancing it runs trial ends,
renewals, invoice payments and retries for that workspace only. Production has no test clocks.
"""

from __future__ import annotations

from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.gateway import BillingGateway, ClockSnapshot, gateway_or_default
from clerk_portal.billing.services.common import load_account
from clerk_portal.core.settings import get_settings

DAY = 86400
# "Advance a month": past a monthly renewal (28 to 31 days away) and its invoice's draft hour, so
# that Stripe has finalized and charged it (about an hour after the renewal creates it).
A_MONTH = 31 + 2 / 24


async def advance_demo_clock(
    *, workspace_id: int, days: float = 31, gateway: BillingGateway | None = None
) -> ClockSnapshot:
    """Advance the workspace's test clock by `days`; the webhooks then update the mirror.

    A pending downgrade due before the new time is applied first, a minute before the period
    ends, as the periodic job would (see plan_change.apply_due_change).
    """
    if not get_settings().is_demo:
        raise BillingError("Moving time is only possible in the demo.")
    if days <= 0:
        raise BillingError("Choose a number of days greater than zero.")
    gateway = gateway_or_default(gateway)
    view = await load_account(workspace_id)
    if not view.test_clock_id:
        raise BillingError("This workspace has no demo clock yet: upgrade it first.")
    clock = await gateway.retrieve_test_clock(view.test_clock_id)
    target = clock.frozen_time + int(days * DAY)
    from clerk_portal.billing.services.plan_change import apply_due_change

    clock = await apply_due_change(
        workspace_id=workspace_id, gateway=gateway, clock=clock, until=target
    )
    return await gateway.advance_test_clock(
        view.test_clock_id,
        frozen_time=target,
        idempotency_key=f"{view.namespace}:clock:{view.test_clock_id}:{target}",
    )
