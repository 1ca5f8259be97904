"""Issue 10, bug 10: an action sent twice (a double click, two tabs, a retry) happens once.

Each action is sent twice at once (asyncio.gather) and twice in a row: exactly one activity row,
one change at Stripe (the sandbox's request log: POSTs that executed, not replays), and the second
request answers without an error.
"""

from __future__ import annotations

import asyncio

import pytest

from clerk_portal.billing import mirror
from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.gateway import current_gateway
from clerk_portal.billing.services import cancel, details, plan_change
from clerk_portal.core.db import in_db
from clerk_portal.workspace import repository

from .conftest import Env
from .helpers import activity_kinds, subscribe

DETAILS = details.BillingDetails(
    email="accounts@clinic.example", line1="1 Main St", city="Oakland", country="us"
)


def _executed_posts(env: Env, path: str) -> list[dict]:
    return [
        entry
        for entry in env.sandbox.requests_log(path)
        if entry["method"] == "POST" and entry["path"] == path and not entry["replayed"]
    ]


async def _customer_id(workspace_id: int) -> str:
    account = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    return account.stripe_customer_id or ""


def _update_invoices(env: Env, subscription_id: str) -> list:
    invoices = env.stripe().v1.invoices.list({"subscription": subscription_id, "limit": 100})
    return [i for i in invoices.data if i.billing_reason == "subscription_update"]


async def _cancel(workspace_id: int, owner: int):
    return await cancel.cancel_at_period_end(
        workspace_id=workspace_id, actor_user_id=owner, reason="too_expensive", comment="pricey"
    )


async def test_cancel_sent_twice_at_once_is_scheduled_and_recorded_once(env: Env):
    workspace_id, owner, sub = await subscribe(env, plan="startup")
    before = len(_executed_posts(env, f"/v1/subscriptions/{sub}"))

    first, second = await asyncio.gather(_cancel(workspace_id, owner), _cancel(workspace_id, owner))

    assert (await activity_kinds(workspace_id)).count("cancel_scheduled") == 1
    assert len(_executed_posts(env, f"/v1/subscriptions/{sub}")) == before + 1
    assert first.message == second.message


class _WebhookBetween:
    """The default gateway, except that the first subscription update first lets a webhook bump
    the mirror and a second cancel (another tab) run to its end: the order CI once hit by chance."""

    def __init__(self, inner, second) -> None:
        self._inner, self._second, self._fired = inner, second, False

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def update_subscription(self, *args, **kwargs):
        if not self._fired:
            self._fired = True
            await self._second()
        return await self._inner.update_subscription(*args, **kwargs)


async def _bump_mirror(workspace_id: int) -> None:
    def bump(session) -> None:
        mirror.bump(mirror.lock_account(session, workspace_id))
        session.commit()

    await in_db(bump)


async def test_cancel_sent_from_two_tabs_with_a_webhook_between_their_reads_is_recorded_once(
    env: Env,
):
    workspace_id, owner, sub = await subscribe(env, plan="startup")
    before = len(_executed_posts(env, f"/v1/subscriptions/{sub}"))
    results = []

    async def webhook_then_second_tab() -> None:
        await _bump_mirror(workspace_id)
        results.append(await _cancel(workspace_id, owner))

    gateway = _WebhookBetween(current_gateway(), webhook_then_second_tab)
    first = await cancel.cancel_at_period_end(
        workspace_id=workspace_id,
        actor_user_id=owner,
        reason="too_expensive",
        comment="pricey",
        gateway=gateway,
    )

    assert (await activity_kinds(workspace_id)).count("cancel_scheduled") == 1
    assert len(_executed_posts(env, f"/v1/subscriptions/{sub}")) == before + 1
    assert first.message == results[0].message


async def test_cancel_sent_again_says_it_is_already_scheduled_and_writes_nothing(env: Env):
    workspace_id, owner, sub = await subscribe(env, plan="startup")
    await _cancel(workspace_id, owner)
    writes = len(_executed_posts(env, f"/v1/subscriptions/{sub}"))

    again = await _cancel(workspace_id, owner)

    assert (await activity_kinds(workspace_id)).count("cancel_scheduled") == 1
    assert len(_executed_posts(env, f"/v1/subscriptions/{sub}")) == writes
    assert again.already_scheduled and "already scheduled: it ends on" in again.message


async def _save(workspace_id: int, owner: int):
    return await details.update_billing_details(
        workspace_id=workspace_id, actor_user_id=owner, details=DETAILS
    )


async def test_billing_details_saved_twice_at_once_are_written_and_recorded_once(env: Env):
    workspace_id, owner, _ = await subscribe(env, plan="startup")
    customer = await _customer_id(workspace_id)
    before = len(_executed_posts(env, f"/v1/customers/{customer}"))

    first, second = await asyncio.gather(_save(workspace_id, owner), _save(workspace_id, owner))

    assert first.email == second.email == "accounts@clinic.example"
    assert (await activity_kinds(workspace_id)).count("details_updated") == 1
    assert len(_executed_posts(env, f"/v1/customers/{customer}")) == before + 1


async def test_unchanged_billing_details_saved_again_write_nothing(env: Env):
    workspace_id, owner, _ = await subscribe(env, plan="startup")
    await _save(workspace_id, owner)
    customer = await _customer_id(workspace_id)
    writes = len(_executed_posts(env, f"/v1/customers/{customer}"))

    again = await _save(workspace_id, owner)

    assert again.address and again.address.get("country") == "US"
    assert (await activity_kinds(workspace_id)).count("details_updated") == 1
    assert len(_executed_posts(env, f"/v1/customers/{customer}")) == writes


class _BothAtStripe:
    """The default gateway, except that each subscription update waits until `parties` of them
    have arrived: every request has read the account before any writes it ("at once", always)."""

    def __init__(self, inner, parties: int = 2) -> None:
        self._inner, self._parties, self._arrived = inner, parties, 0
        self._all_here = asyncio.Event()

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def update_subscription(self, *args, **kwargs):
        self._arrived += 1
        if self._arrived >= self._parties:
            self._all_here.set()
        await asyncio.wait_for(self._all_here.wait(), timeout=30)
        return await self._inner.update_subscription(*args, **kwargs)


def _change_to_business_yearly(workspace_id: int, owner: int, gateway=None):
    return plan_change.change_plan(
        workspace_id=workspace_id,
        actor_user_id=owner,
        plan="business",
        interval="year",
        gateway=gateway,
    )


async def test_a_plan_change_sent_twice_at_once_is_charged_and_recorded_once(env: Env):
    workspace_id, owner, sub = await subscribe(env, plan="business", members=2)
    gateway = _BothAtStripe(current_gateway())

    first, second = await asyncio.gather(
        _change_to_business_yearly(workspace_id, owner, gateway),
        _change_to_business_yearly(workspace_id, owner, gateway),
    )

    assert first.amount_charged_cents == second.amount_charged_cents > 0
    assert len(_update_invoices(env, sub)) == 1
    assert (await activity_kinds(workspace_id)).count("plan_upgrade") == 1


async def test_a_plan_change_sent_again_after_it_landed_is_refused_and_charges_nothing(env: Env):
    """Without a review (an API caller), a second request cannot be told from a new one: once
    the first has landed, it asks for the plan the workspace is on, and is told so."""
    workspace_id, owner, sub = await subscribe(env, plan="business", members=2)
    first = await _change_to_business_yearly(workspace_id, owner)

    with pytest.raises(BillingError, match="You are already on Business"):
        await _change_to_business_yearly(workspace_id, owner)

    assert first.amount_charged_cents > 0
    assert len(_update_invoices(env, sub)) == 1
    assert (await activity_kinds(workspace_id)).count("plan_upgrade") == 1


async def test_two_tabs_confirming_the_same_plan_change_charge_and_record_it_once(env: Env):
    """Each tab reviewed the change; they confirm at once, then a third review is confirmed late."""
    workspace_id, owner, sub = await subscribe(env, plan="business", members=2)

    def review():
        return plan_change.preview_plan_change(
            workspace_id=workspace_id, plan="business", interval="year"
        )

    def confirm(reviewed):
        return plan_change.change_plan(
            workspace_id=workspace_id,
            actor_user_id=owner,
            plan="business",
            interval="year",
            review=reviewed.review,
        )

    first, second, late = await review(), await review(), await review()
    done = await asyncio.gather(confirm(first), confirm(second))
    after = await confirm(late)

    assert done[0].amount_charged_cents == first.amount_due_now_cents
    assert after.amount_charged_cents == 0 and "already" in after.message
    assert len(_update_invoices(env, sub)) == 1
    assert (await activity_kinds(workspace_id)).count("plan_upgrade") == 1


async def test_two_tabs_confirming_the_same_downgrade_schedule_and_record_it_once(env: Env):
    workspace_id, owner, sub = await subscribe(env, plan="business", members=2)

    async def review():
        preview = await plan_change.preview_plan_change(
            workspace_id=workspace_id, plan="startup", interval="month"
        )
        return preview.review

    def confirm(reviewed):
        return plan_change.change_plan(
            workspace_id=workspace_id,
            actor_user_id=owner,
            plan="startup",
            interval="month",
            review=reviewed,
        )

    writes = len(_executed_posts(env, f"/v1/subscriptions/{sub}"))

    done = await asyncio.gather(confirm(await review()), confirm(await review()))

    assert [result.direction for result in done] == ["downgrade", "downgrade"]
    assert (await activity_kinds(workspace_id)).count("plan_downgrade_scheduled") == 1
    assert len(_executed_posts(env, f"/v1/subscriptions/{sub}")) == writes  # until period end


async def test_a_downgrade_reviewed_in_two_tabs_and_confirmed_one_after_the_other_is_scheduled_once(
    env: Env,
):
    """The second tab's review no longer matches once the first tab's downgrade is scheduled: its
    confirm says so calmly (it is scheduled) instead of refusing a review of a done change."""
    workspace_id, owner, _sub = await subscribe(env, plan="business", members=2)
    first_tab, second_tab = [
        (
            await plan_change.preview_plan_change(
                workspace_id=workspace_id, plan="startup", interval="month"
            )
        ).review
        for _ in range(2)
    ]

    def confirm(reviewed):
        return plan_change.change_plan(
            workspace_id=workspace_id,
            actor_user_id=owner,
            plan="startup",
            interval="month",
            review=reviewed,
        )

    first = await confirm(first_tab)
    second = await confirm(second_tab)

    assert (first.direction, second.direction) == ("downgrade", "downgrade")
    assert second.effective_at == first.effective_at
    assert (await activity_kinds(workspace_id)).count("plan_downgrade_scheduled") == 1


async def test_resume_sent_twice_at_once_and_again_resumes_and_records_once(env: Env):
    workspace_id, owner, sub = await subscribe(env, plan="startup")
    await _cancel(workspace_id, owner)
    writes = len(_executed_posts(env, f"/v1/subscriptions/{sub}"))

    def resume():
        return cancel.resume(workspace_id=workspace_id, actor_user_id=owner)

    await asyncio.gather(resume(), resume())
    again = await resume()

    assert again.cancel_at_period_end is False
    assert (await activity_kinds(workspace_id)).count("resumed") == 1
    assert len(_executed_posts(env, f"/v1/subscriptions/{sub}")) == writes + 1
