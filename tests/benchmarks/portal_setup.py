"""What the billing benchmarks set up alike: the portal's settings pointed at a started sandbox,
a migrated database with the catalog synced, owners with a workspace, a card confirmed the way
Stripe.js confirms it in the browser."""

from __future__ import annotations

import os
from typing import Any

from tests.support.sandbox import PUBLISHABLE_KEY, SECRET_KEY

TEST_CARD = "4242424242424242"


async def configure_portal(sandbox: Any, database_url: str, webhook_secret: str) -> Any:
    """Point the portal at `sandbox` and `database_url` (migrated, catalog synced); returns the
    publishable-key client the browser's card form would be."""
    from clerk_portal.billing.catalog import get_catalog
    from clerk_portal.billing.catalog_sync import sync_catalog
    from clerk_portal.billing.gateway import StripeGateway
    from clerk_portal.core.settings import get_settings
    from clerk_portal.ops import migrations

    os.environ.update(
        PORTAL_MODE="demo",
        DATABASE_URL=database_url,
        STRIPE_API_BASE=sandbox.url,
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_PUBLISHABLE_KEY=PUBLISHABLE_KEY,
        STRIPE_WEBHOOK_SECRET=webhook_secret,
    )
    get_settings.cache_clear()
    migrations.upgrade(get_settings().sqlalchemy_url)
    async with StripeGateway.from_settings() as gateway:
        await sync_catalog(gateway, get_catalog())
    return sandbox.client(PUBLISHABLE_KEY)


def new_owner_workspace(tag: str, *, name: str, members: int = 0) -> tuple[int, int]:
    """A user owning a new workspace (with `members` invited members): (workspace id, user id)."""
    from clerk_portal.core.db import session_scope
    from clerk_portal.models import User
    from clerk_portal.workspace import repository

    with session_scope() as session:
        user = User(issuer="bench", subject=tag, email=f"o.{tag}@bench.example", name="O")
        session.add(user)
        session.flush()
        ws = repository.create_workspace(
            session, name=name, owner_email=user.email, owner_user_id=user.id
        )
        for i in range(members):
            repository.add_member(session, workspace_id=ws.id, email=f"m{i}.{tag}@bench.example")
        return ws.id, user.id  # type: ignore[return-value]


def confirm_card(browser: Any, setup: Any, number: str = TEST_CARD) -> Any:
    """Confirm `setup` (what `start_upgrade`/`start_card_update` return) with a card number, as
    Stripe.js does from the card form."""
    return browser.v1.setup_intents.confirm(
        setup.setup_intent_id,
        {
            "client_secret": setup.client_secret,
            "payment_method_data": {"type": "card", "card": {"number": number}},
        },
    )
