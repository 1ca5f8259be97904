"""The billing engine against the sandbox over HTTP, with real signed webhooks.

One sandbox process and one webhook receiver (the portal's own `POST /stripe/webhook` route in a
real uvicorn server on a thread) serve the whole session; each test gets a fresh database (SQLite,
and PostgreSQL when TEST_POSTGRES_URL is set), a reset sandbox with the synced catalog, and
settings pointing at both.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from clerk_portal.billing.catalog import get_catalog
from clerk_portal.billing.catalog_sync import sync_catalog
from clerk_portal.billing.gateway import StripeGateway
from clerk_portal.billing.services import quantities
from clerk_portal.core.db import engine_for, session_scope
from clerk_portal.core.settings import get_settings
from clerk_portal.workspace import repository
from tests.support import workspaces
from tests.support.sandbox import PUBLISHABLE_KEY, SECRET_KEY, SandboxProcess, start_sandbox
from tests.support.waiting import eventually
from tests.support.webhooks import WebhookReceiver

WEBHOOK_SECRET = "whsec_billing_tests_0123456789"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # stripe-python's HTTPX client posts bytes with `data=`, which httpx deprecates; not ours.
    for item in items:
        if "integration/billing" in str(item.path):
            item.add_marker(
                pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
            )


# The portal's webhook route served by uvicorn on a thread, plus a drain hook (shared with the
# security tests: tests/support/webhooks.py).
WebhookServer = WebhookReceiver


@pytest.fixture(scope="session")
def webhook_server() -> Iterator[WebhookServer]:
    server = WebhookServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sandbox_process(webhook_server: WebhookServer) -> Iterator[SandboxProcess]:
    process = start_sandbox(webhook_url=webhook_server.url, webhook_secret=WEBHOOK_SECRET)
    yield process
    process.stop()


@dataclass
class Env:
    """What a billing test works with."""

    sandbox: SandboxProcess
    hooks: WebhookServer
    database_url: str

    def gateway(self, **kwargs: Any) -> StripeGateway:
        return StripeGateway.from_settings(get_settings(), **kwargs)

    def browser(self) -> Any:
        return self.sandbox.client(PUBLISHABLE_KEY)

    def stripe(self) -> Any:
        return self.sandbox.client()

    def confirm_card(self, start: Any, number: str = "4242424242424242") -> Any:
        """What Stripe.js does in the owner's browser: confirm the SetupIntent with a card."""
        return self.browser().v1.setup_intents.confirm(
            start.setup_intent_id,
            {
                "client_secret": start.client_secret,
                "payment_method_data": {
                    "type": "card",
                    "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
                },
            },
        )

    def raw_events(self, **params: Any) -> list[dict[str, Any]]:
        """Every event as JSON straight from `/v1/events`, newest first."""
        found: list[dict[str, Any]] = []
        query: dict[str, Any] = {"limit": 100, **params}
        while True:
            response = httpx.get(
                f"{self.sandbox.url}/v1/events",
                params=query,
                headers={"Authorization": f"Bearer {SECRET_KEY}"},
                timeout=30,
            )
            response.raise_for_status()
            page = response.json()
            found += page["data"]
            if not page["has_more"] or not page["data"]:
                return found
            query["starting_after"] = page["data"][-1]["id"]

    def quantity_updates(self, subscription_id: str) -> list[dict[str, Any]]:
        return [
            entry
            for entry in self.sandbox.requests_log(f"/v1/subscriptions/{subscription_id}")
            if entry["method"] == "POST" and not entry["replayed"] and entry["status"] == 200
        ]

    def settle(self, timeout: float = 20) -> None:
        """Wait until the sandbox delivered every event and the receiver applied them."""
        client = self.stripe()

        def undelivered() -> set[str]:
            events = {
                event.id for event in client.v1.events.list({"limit": 100}).auto_paging_iter()
            }
            deliveries = self.sandbox.configure_webhooks()["deliveries"]
            done = {d["event"] for d in deliveries if d["status"] and 200 <= d["status"] < 300}
            seen.append(len(events))
            return events - done

        seen: list[int] = []
        eventually(
            lambda: not undelivered(),
            within=timeout,
            every=lambda _: 0.05 if seen[-1] < 100 else 0.5,  # listing hundreds slows delivery
            what="the sandbox to deliver every event",
        )
        self.hooks.drain()


@pytest.fixture
async def env(
    database_url: str,
    sandbox_process: SandboxProcess,
    webhook_server: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Env]:
    monkeypatch.setenv("PORTAL_MODE", "demo")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("STRIPE_API_BASE", sandbox_process.url)
    monkeypatch.setenv("STRIPE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", PUBLISHABLE_KEY)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    get_settings.cache_clear()
    sandbox_process.reset()
    sandbox_process.configure_webhooks(
        url=webhook_server.url, secret=WEBHOOK_SECRET, initial_backoff=0.2, max_attempts=5
    )
    async with StripeGateway.from_settings(get_settings()) as gateway:
        await sync_catalog(gateway, get_catalog())
    yield Env(sandbox_process, webhook_server, database_url)
    await quantities.flush_quantity_syncs()
    sandbox_process.configure_webhooks(url="")
    webhook_server.drain()
    get_settings.cache_clear()
    engine_for(database_url).dispose()


def make_workspace(
    *,
    name: str = "Acme Dental",
    owner: str = "Olivia Park",
    members: int = 0,
    numbers: int = 0,
) -> tuple[int, int]:
    """A workspace on its trial with an active owner, `members` invited members and `numbers`
    numbers; returns (workspace id, owner user id)."""
    with session_scope() as session:
        user = workspaces.person(
            session, email=f"owner.{time.time_ns()}@example.com", name=owner, kind="owner"
        )
        created = workspaces.workspace(
            session, owner=user, name=name, members=members, numbers=numbers
        )
        return created.id, user.id


def add_members(workspace_id: int, count: int, prefix: str = "new") -> None:
    with session_scope() as session:
        for i in range(count):
            repository.add_member(
                session, workspace_id=workspace_id, email=f"{prefix}{i}.{workspace_id}@example.com"
            )
