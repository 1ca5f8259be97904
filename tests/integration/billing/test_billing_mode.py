"""Every subscription the portal starts, and every preview of one, asks Stripe for classic
billing mode: the pinned API version (2026-10-28.endive) makes new subscriptions *flexible*
unless told otherwise ("Subscriptions you create through the API now default to flexible
billing mode. To use classic, set the billing_mode.type parameter to classic",
https://docs.stripe.com/changelog/clover/2025-09-30/billing-mode-default-flexible, which names
subscription create and invoice create_preview), and flexible prorates otherwise
(https://docs.stripe.com/billing/subscriptions/billing-mode/compare) than the portal's own
arithmetic and the sandbox, which bill in classic mode. Before, the portal sent nothing: on
Stripe its subscriptions would have been flexible while every test checked classic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import stripe

from clerk_portal.billing.gateway import StripeGateway
from clerk_portal.billing.services.invoiced import start_invoiced_billing
from clerk_portal.billing.services.upgrade import (
    apply_promotion_code,
    complete_upgrade,
    open_upgrade_payment,
    start_upgrade,
)

from .conftest import Env, make_workspace

CLASSIC = {"type": "classic"}


class Recording(StripeGateway):
    """The real gateway over HTTP to the sandbox, keeping what it was asked to start."""

    created: list[Mapping[str, Any]]
    previewed: list[Mapping[str, Any]]

    async def create_subscription(self, params, *, idempotency_key):
        self.created.append(params)
        return await super().create_subscription(params, idempotency_key=idempotency_key)

    async def preview_invoice(self, params):
        self.previewed.append(params)
        return await super().preview_invoice(params)


def recording(env: Env) -> Recording:
    gateway = env.gateway()
    gateway.__class__ = Recording
    gateway.created, gateway.previewed = [], []
    return gateway  # type: ignore[return-value]


async def test_every_subscription_the_portal_starts_asks_for_classic_billing(env: Env):
    gateway = recording(env)
    # A paid upgrade (the browser confirms the first payment), with a promotion code checked
    # first (a preview of a new subscription).
    paid, owner = make_workspace(members=1, numbers=1)
    await apply_promotion_code(
        workspace_id=paid, plan="business", interval="month", code="LAUNCH20", gateway=gateway
    )
    await open_upgrade_payment(
        workspace_id=paid,
        actor_user_id=owner,
        token="t" * 32,
        plan="startup",
        interval="month",
        gateway=gateway,
    )
    # An upgrade that keeps the trial (a SetupIntent, then the subscription).
    kept, owner = make_workspace(members=1, numbers=1)
    start = await start_upgrade(workspace_id=kept, plan="startup", interval="month")
    env.confirm_card(start)
    await complete_upgrade(
        workspace_id=kept,
        actor_user_id=owner,
        setup_intent_id=start.setup_intent_id,
        plan="startup",
        interval="month",
        keep_trial=True,
        gateway=gateway,
    )
    # An invoiced customer.
    invoiced, owner = make_workspace(members=1, numbers=1)
    await start_invoiced_billing(
        workspace_id=invoiced, actor_user_id=owner, plan="business", interval="year",
        gateway=gateway,
    )  # fmt: skip

    assert len(gateway.created) == 3
    assert [params.get("billing_mode") for params in gateway.created] == [CLASSIC] * 3
    new = [p for p in gateway.previewed if "subscription" not in p]
    assert new, "the code check previews a new subscription"
    assert all(p["subscription_details"].get("billing_mode") == CLASSIC for p in new)


def test_the_sandbox_previews_classic_and_refuses_what_it_does_not_model(env: Env):
    client = env.stripe()
    customer = client.v1.customers.create({"email": "mode@clinic.example"})
    price = client.v1.prices.list({"lookup_keys": ["startup_seat_month"]}).data[0]
    items = [{"price": price.id, "quantity": 1}]
    preview = client.v1.invoices.create_preview(
        {
            "customer": customer.id,
            "subscription_details": {"items": items, "billing_mode": CLASSIC},
        }
    )
    assert preview.amount_due == price.unit_amount
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.invoices.create_preview(
            {
                "customer": customer.id,
                "subscription_details": {"items": items, "billing_mode": {"type": "flexible"}},
            }
        )
    assert refused.value.param == "billing_mode[type]"
