"""A person's click waits on Stripe a short while and retries once (issue 13, item 2): the
handlers' gateway (`interactive_calls()`, entered by the guard) against the sandbox's hung
requests, with the interactive timeout cut to 1 s so the hangs stay short."""

from __future__ import annotations

import time

import pytest

from clerk_portal.billing.errors import OutcomeUnknown, StripeUnavailable
from clerk_portal.billing.gateway import interactive_calls
from clerk_portal.billing.gateway.stripe.errors import UNAVAILABLE
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services import plan_change
from clerk_portal.core.settings import get_settings

from .conftest import Env, make_workspace
from .helpers import activity_kinds, subscribe
from .test_upgrade_safety import (
    account_of,
    confirm,
    confirmed_start,
    paid_invoices,
    stripe_subscriptions,
    wait_for_stripe_subscription,
)


@pytest.fixture
def clicks(env: Env, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv("STRIPE_INTERACTIVE_TIMEOUT_SECONDS", "1")
    get_settings.cache_clear()
    return env


def tries(env: Env, method: str, path: str) -> list[dict]:
    return [e for e in env.sandbox.requests_log(path) if (e["method"], e["path"]) == (method, path)]


async def test_a_hung_first_try_is_retried_once_with_its_key_and_charges_once(clicks: Env):
    env = clicks
    workspace_id, owner_id = make_workspace(members=1)
    start = await confirmed_start(env, workspace_id)
    # Stripe subscribes and charges, then its answer never comes.
    env.sandbox.add_fault("POST", "/v1/subscriptions", hang_after_seconds=8)

    began = time.monotonic()
    with interactive_calls():
        result = await confirm(workspace_id, owner_id, start)
    waited = time.monotonic() - began

    assert (result.status, result.amount_charged_cents) == ("active", 2 * 4900)
    first, retry = tries(env, "POST", "/v1/subscriptions")
    assert first["idempotency_key"] == retry["idempotency_key"] and retry["replayed"]
    assert len(stripe_subscriptions(env)) == 1 and len(paid_invoices(env)) == 1
    assert account_of(workspace_id).stripe_subscription_id == stripe_subscriptions(env)[0].id
    assert waited < 7, f"the click waited {waited:.1f} s: the hang (8 s), not the timeout"


async def test_a_read_whose_two_tries_hang_says_so_and_changes_nothing(clicks: Env):
    env = clicks
    workspace_id, _, _ = await subscribe(env, plan="startup")
    env.settle()
    env.sandbox.configure_webhooks(url="")  # nothing else asks for a preview meanwhile
    before = (await load_overview(workspace_id), await activity_kinds(workspace_id))
    env.sandbox.control("DELETE", "requests")
    env.sandbox.add_fault("POST", "/v1/invoices/create_preview", hang_seconds=5, count=2)

    began = time.monotonic()
    with interactive_calls(), pytest.raises(StripeUnavailable) as unavailable:
        await plan_change.preview_plan_change(
            workspace_id=workspace_id, plan="business", interval="month"
        )
    waited = time.monotonic() - began

    assert unavailable.value.message == UNAVAILABLE  # "… nothing was changed or charged …"
    assert len(tries(env, "POST", "/v1/invoices/create_preview")) == 2  # one retry, not two
    assert waited < 4.5, f"the click waited {waited:.1f} s: the hang (5 s), not the timeouts"
    assert (await load_overview(workspace_id), await activity_kinds(workspace_id)) == before


async def test_a_write_whose_two_tries_hang_says_checking_records_nothing_then_charges_once(
    clicks: Env,
):
    env = clicks
    workspace_id, owner_id = make_workspace()
    start = await confirmed_start(env, workspace_id, plan="startup")
    # Both tries wait 6 s before Stripe acts: the click has given up on each by then.
    env.sandbox.add_fault("POST", "/v1/subscriptions", hang_seconds=6, count=2)

    with interactive_calls(), pytest.raises(OutcomeUnknown) as unknown:
        await confirm(workspace_id, owner_id, start, plan="startup")

    assert unknown.value.message.startswith("Checking with Stripe")
    assert "charged twice" in unknown.value.message
    first, retry = tries(env, "POST", "/v1/subscriptions")
    assert first["idempotency_key"] == retry["idempotency_key"]
    assert account_of(workspace_id).stripe_subscription_id is None
    assert "upgrade" not in await activity_kinds(workspace_id)

    await wait_for_stripe_subscription(env)  # both hung tries land, under one key
    env.settle()
    with interactive_calls():
        result = await confirm(workspace_id, owner_id, start, plan="startup")  # the page checks
    assert (result.status, result.amount_charged_cents) == ("active", 2900)
    assert len(stripe_subscriptions(env)) == 1 and len(paid_invoices(env)) == 1
    assert (await activity_kinds(workspace_id)).count("upgrade") == 1
