"""Stripe calls per billing flow, counted from the sandbox's request log.

Run: ``.venv/bin/python tests/benchmarks/bench_stripe_calls.py [--database-url URL]``

Starts the sandbox as a subprocess, migrates a database (a temporary SQLite file by default),
syncs the catalog, then runs each flow through the services, as the pages call them, over HTTP
with the real SDK, and counts the `/v1` requests the portal's server side sent (what Stripe.js
sends from the browser, confirming the card, is left out):

- upgrade: what the page does for a paid start, `open_upgrade_payment` ("Upgrade and pay": the
  subscription opened unpaid) + `finish_upgrade_payment` (after Stripe.js paid its first invoice
  with the card), with a card that needs nothing and with one that asks for 3-D Secure on every
  payment (4000 0027 6000 3184);
- before, 3DS: the SetupIntent flow before (and still the trial-kept one),
  `start_upgrade` + `complete_upgrade` (whose subscription create fails with
  `authentication_required` and opens an incomplete one) + `finish_authenticated_upgrade`: the
  bank was asked twice there;
- card change: `start_card_update` + `complete_card_update`;
- plan change: `preview_plan_change` (the review) + `change_plan` (confirm), Startup → Business;
- quantity change: the owner's preview of one more seat (`change_effect.preview`) + the sync that
  follows the committed change (`sync_quantities`).

Each flow prints its total and its requests grouped by method and path (ids folded to `{id}`).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.benchmarks.portal_setup import (  # noqa: E402
    configure_portal,
    confirm_card,
    new_owner_workspace,
)
from tests.support.sandbox import start_sandbox  # noqa: E402

WEBHOOK_SECRET = "whsec_bench_calls_0123456789"
ID = re.compile(r"^[a-z]+_(?=[A-Za-z0-9]*[A-Z0-9])[A-Za-z0-9]{8,}$")  # cus_…, seti_…, in_…


def fold(path: str) -> str:
    return "/".join("{id}" if ID.match(part) else part for part in path.split("/"))


class Counting:
    """Count the portal's `/v1` requests per step, from the sandbox's request log."""

    def __init__(self, sandbox, hooks=None) -> None:
        self.sandbox, self.hooks = sandbox, hooks

    def _log(self) -> list[dict[str, Any]]:
        # The bench's own listing of events (waiting for webhooks) is not the portal's.
        return [r for r in self.sandbox.requests_log("/v1/") if r["path"] != "/v1/events"]

    async def count(self, *steps: Callable[[], Awaitable[Any]]) -> tuple[list[Any], Counter]:
        """Run the portal's `steps`, counting only their requests (the log is cleared before
        each), with webhooks on also those of the webhook handlers each step set off."""
        results, calls = [], Counter()
        for step in steps:
            self.sandbox.control("DELETE", "requests")
            results.append(await step())
            if self.hooks is not None:
                await asyncio.to_thread(self._settle)
            calls.update(f"{r['method']:<6} {fold(r['path'])}" for r in self._log())
        return results, calls

    def _settle(self) -> None:
        """Every event the sandbox made delivered, and applied by the portal's worker."""
        client = self.sandbox.client()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            events = {e.id for e in client.v1.events.list({"limit": 100}).auto_paging_iter()}
            deliveries = self.sandbox.configure_webhooks()["deliveries"]
            done = {d["event"] for d in deliveries if d["status"] and 200 <= d["status"] < 300}
            if events <= done:
                break
            time.sleep(0.05)
        self.hooks.drain()


ALWAYS_3DS = "4000002760003184"  # https://docs.stripe.com/testing#regulatory-cards


def pay_in_browser(browser: Any, sandbox: Any, client_secret: str, number: str) -> None:
    """What Stripe.js confirmCardPayment does with the card element; the bank says yes."""
    card = browser.v1.payment_methods.create({"type": "card", "card": {"number": number}})
    pi_id = client_secret.split("_secret_")[0]
    intent = browser.v1.payment_intents.confirm(
        pi_id, {"client_secret": client_secret, "payment_method": card.id}
    )
    if intent.status == "requires_action":
        sandbox.authenticate(pi_id)


async def paid_upgrade(
    counting: Counting,
    browser: Any,
    sandbox: Any,
    workspace_id: int,
    owner_id: int,
    number: str = "4242424242424242",
) -> Counter:
    from clerk_portal.billing.services import upgrade

    [opened], opening = await counting.count(
        lambda: upgrade.open_upgrade_payment(
            workspace_id=workspace_id,
            actor_user_id=owner_id,
            token=uuid.uuid4().hex,
            plan="startup",
            interval="month",
        )
    )
    await asyncio.to_thread(pay_in_browser, browser, sandbox, opened.client_secret, number)
    _, finished = await counting.count(
        lambda: upgrade.finish_upgrade_payment(
            workspace_id=workspace_id,
            actor_user_id=owner_id,
            subscription_id=opened.subscription_id,
            plan="startup",
            interval="month",
        )
    )
    return opening + finished


async def setup_intent_upgrade(
    counting: Counting, browser: Any, sandbox: Any, workspace_id: int, owner_id: int
) -> Counter:
    """The SetupIntent flow with a card that asks for 3-D Secure on every payment."""
    from clerk_portal.billing.errors import PaymentRequiresAction
    from clerk_portal.billing.services import upgrade

    [start], opened = await counting.count(
        lambda: upgrade.start_upgrade(workspace_id=workspace_id, plan="startup", interval="month")
    )
    confirmed = await asyncio.to_thread(confirm_card, browser, start, ALWAYS_3DS)
    sandbox.authenticate(confirmed.id)  # the bank, the first time
    needed: list[PaymentRequiresAction] = []

    async def complete() -> None:
        try:
            await upgrade.complete_upgrade(
                workspace_id=workspace_id,
                actor_user_id=owner_id,
                setup_intent_id=start.setup_intent_id,
                plan="startup",
                interval="month",
            )
        except PaymentRequiresAction as error:
            needed.append(error)

    _, completed = await counting.count(complete)
    [action] = needed
    assert action.client_secret and action.subscription_id
    pi_id = action.client_secret.split("_secret_")[0]
    browser.v1.payment_intents.confirm(pi_id, {"client_secret": action.client_secret})
    sandbox.authenticate(pi_id)  # the bank, the second time
    _, finished = await counting.count(
        lambda: upgrade.finish_authenticated_upgrade(
            workspace_id=workspace_id,
            actor_user_id=owner_id,
            setup_intent_id=start.setup_intent_id,
            subscription_id=action.subscription_id or "",
            plan="startup",
            interval="month",
        )
    )
    return opened + completed + finished


async def bench(
    database_url: str, *, webhooks: bool, sandbox_port: int | None, hooks_port: int | None
) -> dict[str, Counter]:
    from clerk_portal.billing.services import card, change_effect, plan_change, quantities
    from clerk_portal.core.db import in_db
    from clerk_portal.workspace import repository
    from tests.support.webhooks import WebhookReceiver

    hooks = WebhookReceiver(port=hooks_port) if webhooks else None
    sandbox = start_sandbox(
        port=sandbox_port,
        webhook_url=hooks.url if hooks else None,
        webhook_secret=WEBHOOK_SECRET if hooks else None,
    )
    try:
        browser = await configure_portal(sandbox, database_url, WEBHOOK_SECRET)
        counting = Counting(sandbox, hooks)

        workspace_id, owner_id = new_owner_workspace(
            f"calls{time.time_ns()}", name="Calls", members=2
        )

        def confirm_in_browser(setup) -> Any:
            return confirm_card(browser, setup)

        flows: dict[str, Counter] = {}

        # --- upgrade from the trial (the page's paid start) --------------------------------
        flows["upgrade"] = await paid_upgrade(counting, browser, sandbox, workspace_id, owner_id)
        for_3ds, owner_3ds = new_owner_workspace(f"calls3ds{time.time_ns()}", name="3DS", members=2)
        flows["upgrade, 3DS"] = await paid_upgrade(
            counting, browser, sandbox, for_3ds, owner_3ds, ALWAYS_3DS
        )
        before, owner_before = new_owner_workspace(f"before{time.time_ns()}", name="Old", members=2)
        flows["before, 3DS"] = await setup_intent_upgrade(
            counting, browser, sandbox, before, owner_before
        )

        # --- card change --------------------------------------------------------------------
        [setup], opened = await counting.count(
            lambda: card.start_card_update(workspace_id=workspace_id)
        )
        await asyncio.to_thread(confirm_in_browser, setup)
        _, completed = await counting.count(
            lambda: card.complete_card_update(
                workspace_id=workspace_id,
                actor_user_id=owner_id,
                setup_intent_id=setup.setup_intent_id,
            )
        )
        flows["card change"] = opened + completed

        # --- plan change (an upgrade: applied now, prorated) -----------------------------------
        [preview], reviewed = await counting.count(
            lambda: plan_change.preview_plan_change(
                workspace_id=workspace_id, plan="business", interval="month"
            )
        )
        assert preview.review is not None, preview.message
        _, confirmed = await counting.count(
            lambda: plan_change.change_plan(
                workspace_id=workspace_id,
                actor_user_id=owner_id,
                plan="business",
                interval="month",
                review=preview.review,
            )
        )
        flows["plan change"] = reviewed + confirmed

        # --- quantity change (one more seat) ----------------------------------------------------
        _, previewed = await counting.count(
            lambda: change_effect.preview(workspace_id, seats_delta=1)
        )
        await in_db(
            lambda s: repository.add_member(
                s, workspace_id=workspace_id, email=f"m9.{owner_id}@bench.example"
            )
        )
        _, synced = await counting.count(
            lambda: quantities.sync_quantities(workspace_id=workspace_id)
        )
        flows["quantity change"] = previewed + synced
        await quantities.flush_quantity_syncs()
        return flows
    finally:
        sandbox.stop()
        if hooks:
            hooks.stop()


def show(portal: dict[str, Counter], total: dict[str, Counter], detail: bool) -> None:
    print(f"{'flow':<16} {'portal calls':>12} {'+ webhooks':>11} {'total':>6}")
    for name, calls in portal.items():
        own, every = sum(calls.values()), sum(total[name].values())
        print(f"{name:<16} {own:>12} {every - own:>11} {every:>6}")
    if detail:
        for name, calls in portal.items():
            print(f"\n{name}: the portal's own calls, then (+) those of the webhooks it sets off")
            for call in sorted(total[name], key=lambda c: (-total[name][c], c)):
                own, every = calls.get(call, 0), total[name][call]
                extra = f" (+{every - own})" if every != own else ""
                print(f"  {own:>3}{extra:<6} × {call}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="default: a temporary SQLite file per run")
    parser.add_argument("--summary", action="store_true", help="totals only")
    parser.add_argument("--sandbox-port", type=int, help="default: a free port")
    parser.add_argument("--webhook-port", type=int, help="default: a free port")
    args = parser.parse_args()
    ports = {"sandbox_port": args.sandbox_port, "hooks_port": args.webhook_port}
    runs = []
    for webhooks in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{Path(tmp) / 'calls.db'}"
            runs.append(asyncio.run(bench(url, webhooks=webhooks, **ports)))
    show(*runs, detail=not args.summary)


if __name__ == "__main__":
    main()
