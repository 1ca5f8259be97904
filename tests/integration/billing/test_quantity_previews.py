"""A team or numbers preview is the difference that change alone makes, in any order of changes.

Issue 10, bug 2: on Business monthly (3 seats, 2 numbers) the preview of a number showed the
previous invitation's proration, and after a removal a number previewed the removal's credit.
The demo's test clock is frozen, so every proration happens in the same second: exactly the case
where "the newest proration lines" cannot tell one change from another.
"""

from __future__ import annotations

from clerk_portal.billing import ledger
from clerk_portal.billing.services import cancel, quantities
from clerk_portal.billing.services import change_effect as billing_effect
from clerk_portal.core.db import in_db
from clerk_portal.workspace import repository

from .conftest import Env
from .helpers import subscribe


async def _last_sync_amount(workspace_id: int) -> int | None:
    page = await in_db(lambda s: ledger.activity_page(s, workspace_id=workspace_id, limit=50))
    rows = [row for row in page.items if row.kind == "quantities"]
    return rows[0].amount_cents if rows else None


def _pending_prorations(env: Env, customer_id: str) -> int:
    items = env.stripe().v1.invoice_items.list({"customer": customer_id, "pending": True}).data
    return sum(item.amount for item in items if item.proration)


async def test_each_preview_is_what_that_change_alone_prorates(env: Env):
    # Business monthly: the owner and two members (3 seats), 2 numbers (3 are included).
    workspace_id, _owner, _sub = await subscribe(env, members=2, numbers=2)
    account = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    customer = account.stripe_customer_id or ""

    async def preview(**delta: int) -> billing_effect.Effect:
        return await billing_effect.preview(workspace_id, **delta)

    async def sync_and_prorated() -> int:
        before = _pending_prorations(env, customer)
        await quantities.sync_quantities(workspace_id=workspace_id)
        return _pending_prorations(env, customer) - before

    # Invite a member: a whole month of one seat (the clock has not moved since the upgrade).
    invite = await preview(seats_delta=1)
    assert invite.prorated_cents == 4900
    await in_db(
        lambda s: repository.add_member(s, workspace_id=workspace_id, email="n1@example.com")
    )
    assert await sync_and_prorated() == 4900
    assert await _last_sync_amount(workspace_id) == 4900

    # A 3rd number is included in Business: no charge, whatever was prorated before.
    third = await preview(numbers_delta=1)
    assert third.prorated_cents == 0
    assert third.message.startswith("No charge: included in your plan")
    await in_db(lambda s: repository.add_number(s, workspace_id=workspace_id, e164="+14155550903"))
    assert await sync_and_prorated() == 0

    # A 4th number is one extra number: at most $8.00, and exactly what the sync prorates.
    fourth = await preview(numbers_delta=1)
    assert fourth.prorated_cents is not None and 0 < fourth.prorated_cents <= 800
    await in_db(lambda s: repository.add_number(s, workspace_id=workspace_id, e164="+14155550904"))
    assert await sync_and_prorated() == fourth.prorated_cents
    assert await _last_sync_amount(workspace_id) == fourth.prorated_cents

    # Remove a member: a credit for the seat; then a number previews its own $8.00, no credit.
    member = await in_db(
        lambda s: next(
            m
            for m in repository.list_members(s, workspace_id=workspace_id)
            if m.email == "n1@example.com"
        )
    )
    removal = await preview(seats_delta=-1)
    assert removal.prorated_cents == -4900
    assert removal.message.startswith("-$49.00 credited")
    await in_db(
        lambda s: repository.remove_member(s, workspace_id=workspace_id, membership_id=member.id)
    )
    assert await sync_and_prorated() == -4900
    assert await _last_sync_amount(workspace_id) == -4900
    fifth = await preview(numbers_delta=1)
    assert fifth.prorated_cents == 800
    assert fifth.message.startswith("+$8.00 prorated on your next invoice")


async def test_a_change_not_yet_synced_is_not_counted_in_the_next_preview(env: Env):
    """Invited, but the debounced sync has not reached Stripe yet: a number still previews
    only itself (the invitation's seat is in both previews, so it cancels out)."""
    workspace_id, _owner, _sub = await subscribe(env, members=2, numbers=3)
    await in_db(
        lambda s: repository.add_member(s, workspace_id=workspace_id, email="n2@example.com")
    )
    number = await billing_effect.preview(workspace_id, numbers_delta=1)
    assert number.prorated_cents == 800


async def test_a_change_while_the_subscription_is_canceling_previews_its_proration(env: Env):
    """Stripe has no upcoming invoice for a subscription that ends at the period end, yet a
    quantity change until then is prorated: the preview must still name that amount."""
    workspace_id, owner, _sub = await subscribe(env, members=1, numbers=2)
    await cancel.cancel_at_period_end(
        workspace_id=workspace_id, actor_user_id=owner, reason=next(iter(cancel.CANCEL_REASONS))
    )
    account = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    customer = account.stripe_customer_id or ""

    removal = await billing_effect.preview(workspace_id, seats_delta=-1)

    assert removal.prorated_cents == -4900
    member = await in_db(
        lambda s: next(
            m for m in repository.list_members(s, workspace_id=workspace_id) if m.role != "owner"
        )
    )
    await in_db(
        lambda s: repository.remove_member(s, workspace_id=workspace_id, membership_id=member.id)
    )
    before = _pending_prorations(env, customer)
    await quantities.sync_quantities(workspace_id=workspace_id)
    assert _pending_prorations(env, customer) - before == removal.prorated_cents
