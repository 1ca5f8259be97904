"""Test data in the running portal's database, for browser tests that must not share the demo's.

`signed_in_owner` creates a workspace (on trial) whose owner has a session, and puts the session
cookie into a Playwright page, exactly as signing in would.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import stripe
from playwright.sync_api import Page
from sqlmodel import Session, select

from clerk_portal.auth import sessions
from clerk_portal.billing import ledger
from clerk_portal.billing.gateway import StripeGateway
from clerk_portal.billing.services.upgrade import complete_upgrade, start_upgrade
from clerk_portal.core.db import engine_for
from clerk_portal.core.settings import get_settings
from clerk_portal.demo.seed import DEMO_WORKSPACE
from clerk_portal.models import Workspace
from clerk_portal.workspace import repository


@dataclass(frozen=True)
class FreshWorkspace:
    id: int
    name: str
    owner_name: str
    owner_user_id: int


def add_demo_number(portal, e164: str) -> None:
    """A number of the demo workspace that no other test relies on."""
    with Session(engine_for(portal.database_url)) as session:
        demo = session.exec(select(Workspace).where(Workspace.name == DEMO_WORKSPACE)).first()
        repository.add_number(session, workspace_id=demo.id, e164=e164)
        session.commit()


def signed_in_owner(
    page: Page, portal, *, name: str = "Bayside Clinic", members: int = 0, numbers: int = 0
) -> FreshWorkspace:
    """A new workspace on trial, with `members` more people and `numbers` phone numbers, whose
    owner is signed in on `page`."""
    suffix = uuid.uuid4().hex[:8]
    owner_name = f"Owner {suffix}"
    with Session(engine_for(portal.database_url)) as session:
        owner = repository.upsert_user(
            session,
            issuer="e2e",
            subject=f"owner-{suffix}",
            email=f"owner-{suffix}@clinic.example",
            name=owner_name,
        )
        workspace = repository.create_workspace(
            session, name=f"{name} {suffix}", owner_email=owner.email, owner_user_id=owner.id
        )
        for index in range(members):
            repository.add_member(
                session, workspace_id=workspace.id, email=f"m{index}-{suffix}@clinic.example"
            )
        for index in range(numbers):
            e164 = f"+1415{int(suffix, 16) % 10**6:06d}{index}"
            repository.add_number(session, workspace_id=workspace.id, e164=e164)
        created = FreshWorkspace(workspace.id, workspace.name, owner_name, owner.id)
        session.commit()
    sign_in_owner_again(page, portal, created)
    return created


def sign_in_owner_again(page: Page, portal, workspace: FreshWorkspace) -> None:
    """Another session of the workspace's owner (a second browser, say) on `page`."""
    with Session(engine_for(portal.database_url)) as session:
        token = sessions.create_session(
            session,
            user_id=workspace.owner_user_id,
            workspace_id=workspace.id,
            policy=sessions.SessionPolicy.from_settings(get_settings()),
        )
        session.commit()
    page.context.add_cookies(
        [{"name": sessions.SESSION_COOKIE, "value": token, "url": portal.url, "httpOnly": True}]
    )


def enter_card(page: Page, number: str, element: str = "#card-element-upgrade") -> None:
    """Type a card into Stripe's card element (the sandbox's stand-in in the demo)."""
    card = page.locator(element)
    card.get_by_label("Card number").fill(number)
    card.get_by_label("Expiration date").fill("12 / 34")
    card.get_by_label("CVC").fill("123")


def new_member(portal, workspace: FreshWorkspace, *, role: str = "member") -> tuple[int, str]:
    """An active member (not an owner) of `workspace`: (user id, email)."""
    suffix = uuid.uuid4().hex[:8]
    with Session(engine_for(portal.database_url)) as session:
        user = repository.upsert_user(
            session,
            issuer="e2e",
            subject=f"member-{suffix}",
            email=f"member-{suffix}@clinic.example",
            name=f"Member {suffix}",
        )
        repository.add_member(
            session, workspace_id=workspace.id, email=user.email, role=role, user_id=user.id
        )
        session.commit()
        return user.id, user.email


def new_session_token(portal, user_id: int, workspace_id: int | None) -> str:
    """A session of the user, as a sign-in would create it: the cookie's value."""
    with Session(engine_for(portal.database_url)) as session:
        token = sessions.create_session(
            session,
            user_id=user_id,
            workspace_id=workspace_id,
            policy=sessions.SessionPolicy.from_settings(get_settings()),
        )
        session.commit()
    return token


def signed_in_member(page: Page, portal, workspace: FreshWorkspace, *, role: str = "member") -> str:
    """An active member of `workspace` signed in on `page`; returns their email."""
    user_id, email = new_member(portal, workspace, role=role)
    token = new_session_token(portal, user_id, workspace.id)
    page.context.add_cookies(
        [{"name": sessions.SESSION_COOKIE, "value": token, "url": portal.url, "httpOnly": True}]
    )
    return email


def seed_invoices(portal, workspace: FreshWorkspace, *, months: int, now: datetime) -> None:
    """One paid monthly invoice per month, the newest this month: $100, $110, $120, …"""
    with Session(engine_for(portal.database_url)) as session:
        for back in range(months):
            start = _month_start(now, back)
            end = _month_start(now, back - 1)
            ledger.upsert_invoice(
                session,
                workspace_id=workspace.id,
                stripe_invoice_id=f"in_e2e_{workspace.id}_{back}",
                created=start + timedelta(hours=1),
                number=f"E2E-{workspace.id}-{months - back:04d}",
                status="paid",
                total_cents=10_000 + 1_000 * (months - 1 - back),
                amount_paid_cents=10_000 + 1_000 * (months - 1 - back),
                period_start=start,
                period_end=end,
                invoice_pdf_url=f"{portal.sandbox_url}/invoice/e2e-{workspace.id}-{back}.pdf",
            )
        session.commit()


def seed_activity(portal, workspace: FreshWorkspace, *, count: int) -> None:
    with Session(engine_for(portal.database_url)) as session:
        for index in range(count):
            ledger.record_activity(
                session,
                workspace_id=workspace.id,
                kind="note",
                summary=f"Seeded entry {index + 1}",
                actor_user_id=workspace.owner_user_id,
            )
        session.commit()


def _month_start(now: datetime, back: int) -> datetime:
    index = now.year * 12 + now.month - 1 - back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def subscribe(portal, workspace: FreshWorkspace, *, plan: str = "business") -> None:
    """Upgrade the workspace (monthly, card 4242…) as its owner would, through the billing
    services against the portal's sandbox; the portal's webhooks then see it as in production."""

    async def upgrade() -> None:
        async with StripeGateway.from_settings(get_settings()) as gateway:
            start = await start_upgrade(
                workspace_id=workspace.id, plan=plan, interval="month", gateway=gateway
            )
            browser = stripe.StripeClient(
                start.publishable_key, base_addresses={"api": portal.sandbox_url}
            )
            browser.v1.setup_intents.confirm(  # what Stripe.js does with the card form
                start.setup_intent_id,
                {
                    "client_secret": start.client_secret,
                    "payment_method_data": {
                        "type": "card",
                        "card": {
                            "number": "4242424242424242",
                            "exp_month": 12,
                            "exp_year": 2034,
                            "cvc": "123",
                        },
                    },
                },
            )
            await complete_upgrade(
                workspace_id=workspace.id,
                actor_user_id=workspace.owner_user_id,
                setup_intent_id=start.setup_intent_id,
                plan=plan,
                interval="month",
                gateway=gateway,
            )

    # Playwright's sync API owns this thread's event loop: the services get their own.
    with _portal_settings(portal), ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, upgrade()).result(timeout=60)


@contextmanager
def _portal_settings(portal) -> Iterator[None]:
    """This test process's settings pointed at the running portal's database and sandbox."""
    values = {
        "PORTAL_MODE": "demo",
        "DATABASE_URL": portal.database_url,
        "STRIPE_API_BASE": portal.sandbox_url,
    }
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def fresh_owner_cookie(portal) -> tuple[FreshWorkspace, str]:
    """A new workspace and its owner's session cookie (no browser needed)."""
    suffix = uuid.uuid4().hex[:8]
    with Session(engine_for(portal.database_url)) as session:
        owner = repository.upsert_user(
            session,
            issuer="e2e",
            subject=f"owner-{suffix}",
            email=f"owner-{suffix}@clinic.example",
            name=f"Owner {suffix}",
        )
        created = repository.create_workspace(
            session, name=f"Socket Clinic {suffix}", owner_email=owner.email, owner_user_id=owner.id
        )
        workspace = FreshWorkspace(created.id, created.name, owner.name or "", owner.id)
        token = sessions.create_session(
            session,
            user_id=owner.id,
            workspace_id=workspace.id,
            policy=sessions.SessionPolicy.from_settings(get_settings()),
        )
        session.commit()
    return workspace, f"{sessions.SESSION_COOKIE}={token}"
