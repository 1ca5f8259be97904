"""Test data: people, workspaces, members, numbers and sessions, built one way for every suite.

The first part takes a `Session` (whatever made it: `session_scope()` in integration tests,
`Session(engine_for(portal.database_url))` in browser tests) and neither commits nor closes it.
The second part is the browser tests' set on the running portal's database, made of the first:
`signed_in_owner` creates a workspace (on trial) whose owner has a session, and puts the session
cookie into a Playwright page, exactly as signing in would.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
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
from clerk_portal.billing.services.common import load_account
from clerk_portal.billing.services.upgrade import complete_upgrade, start_upgrade
from clerk_portal.core.db import engine_for
from clerk_portal.core.settings import get_settings
from clerk_portal.demo.clock import DAY, advance_demo_clock
from clerk_portal.demo.seed import DEMO_WORKSPACE
from clerk_portal.models import Membership, User, Workspace
from clerk_portal.workspace import repository
from clerk_portal.workspace.changes import Actor

ISSUER = "test"


# --- in any session -------------------------------------------------------------------------------


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


def person(
    session: Session,
    *,
    email: str | None = None,
    name: str | None = None,
    subject: str | None = None,
    issuer: str = ISSUER,
    kind: str = "person",
) -> User:
    """A signed-up user (as the identity provider vouches for them). Unless given, subject, email
    and name are unique: `{kind}-{suffix}`, `{kind}-{suffix}@clinic.example`, `{Kind} {suffix}`."""
    suffix = _suffix()
    return repository.upsert_user(
        session,
        issuer=issuer,
        subject=subject or f"{kind}-{suffix}",
        email=email if email is not None else f"{kind}-{suffix}@clinic.example",
        name=name if name is not None else f"{kind.title()} {suffix}",
    )


def workspace(
    session: Session,
    *,
    owner: User | None = None,
    owner_email: str | None = None,
    name: str = "Acme Dental",
    members: int = 0,
    numbers: int = 0,
    member_email: Callable[[int, int], str] = lambda workspace_id, i: (
        f"m{i}.{workspace_id}@example.com"
    ),
    number_e164: Callable[[int, int], str] = lambda workspace_id, i: (
        f"+1415555{workspace_id:02d}{i:02d}"
    ),
    now: datetime | None = None,
) -> Workspace:
    """A workspace on its trial whose owner is `owner` (active), or only invited by `owner_email`
    (set up by sales, not signed in yet); with `members` invited members and `numbers` numbers
    (`member_email(workspace id, i)`, `number_e164(workspace id, i)`)."""
    created = repository.create_workspace(
        session,
        name=name,
        owner_email=owner.email if owner is not None else owner_email,
        owner_user_id=owner.id if owner is not None else None,
        **({"now": now} if now is not None else {}),
    )
    for i in range(members):
        repository.add_member(session, workspace_id=created.id, email=member_email(created.id, i))
    for i in range(numbers):
        repository.add_number(session, workspace_id=created.id, e164=number_e164(created.id, i))
    return created


def member(
    session: Session,
    workspace_id: int,
    *,
    role: str = "member",
    user: User | None = None,
    email: str | None = None,
    name: str | None = None,
) -> tuple[User, Membership]:
    """An active member (signed up: `user`, or a new person) of the workspace."""
    if user is None:
        user = person(session, email=email, name=name, kind="member")
    membership = repository.add_member(
        session, workspace_id=workspace_id, email=user.email, role=role, user_id=user.id
    )
    return user, membership


def acme(session: Session, *, owner_name: str = "") -> tuple[User, Workspace]:
    """The small fixed workspace of the UI and security tests: "Acme", owner o@x.example."""
    owner = person(session, issuer="t", subject="o", email="o@x.example", name=owner_name)
    return owner, workspace(session, name="Acme", owner=owner)


def owner_actor(session: Session) -> Actor:
    owner, created = acme(session)
    return Actor(owner.id, created.id, "owner")


def session_token(session: Session, *, user_id: int, workspace_id: int | None) -> str:
    """A session of the user, as a sign-in would create it: the cookie's value."""
    return sessions.create_session(
        session,
        user_id=user_id,
        workspace_id=workspace_id,
        policy=sessions.SessionPolicy.from_settings(get_settings()),
    )


def cookie(token: str) -> str:
    """The `Cookie` header a browser sends with that session."""
    return f"{sessions.SESSION_COOKIE}={token}"


def mirror_version(session: Session, workspace_id: int) -> int:
    return repository.get_billing_account(session, workspace_id=workspace_id).mirror_version


# --- in the running portal's database (browser tests) ---------------------------------------------


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


def new_workspace(
    portal, *, name: str = "Bayside Clinic", members: int = 0, numbers: int = 0
) -> FreshWorkspace:
    """A new workspace on trial, with `members` more (invited) people and `numbers` phone
    numbers, in the running portal's database; nobody is signed in to it yet."""
    suffix = _suffix()
    with Session(engine_for(portal.database_url)) as session:
        owner = person(
            session,
            issuer="e2e",
            subject=f"owner-{suffix}",
            email=f"owner-{suffix}@clinic.example",
            name=f"Owner {suffix}",
        )
        created = workspace(
            session,
            owner=owner,
            name=f"{name} {suffix}",
            members=members,
            numbers=numbers,
            member_email=lambda _id, i: f"m{i}-{suffix}@clinic.example",
            number_e164=lambda _id, i: f"+1415{int(suffix, 16) % 10**6:06d}{i}",
        )
        fresh = FreshWorkspace(created.id, created.name, owner.name, owner.id)
        session.commit()
    return fresh


def signed_in_owner(
    page: Page, portal, *, name: str = "Bayside Clinic", members: int = 0, numbers: int = 0
) -> FreshWorkspace:
    """A new workspace on trial, with `members` more people and `numbers` phone numbers, whose
    owner is signed in on `page`."""
    created = new_workspace(portal, name=name, members=members, numbers=numbers)
    sign_in_owner_again(page, portal, created)
    return created


def sign_in_owner_again(page: Page, portal, workspace: FreshWorkspace) -> None:
    """Another session of the workspace's owner (a second browser, say) on `page`."""
    token = new_session_token(portal, workspace.owner_user_id, workspace.id)
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
    with Session(engine_for(portal.database_url)) as session:
        user = person(session, issuer="e2e", kind="member")
        member(session, workspace.id, role=role, user=user)
        session.commit()
        return user.id, user.email


def new_session_token(portal, user_id: int, workspace_id: int | None) -> str:
    """A session of the user, as a sign-in would create it: the cookie's value."""
    with Session(engine_for(portal.database_url)) as session:
        token = session_token(session, user_id=user_id, workspace_id=workspace_id)
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


def move_clock_around_renewal(portal, workspace: FreshWorkspace, *, offset: int) -> tuple[int, int]:
    """Move the workspace's test clock to its renewal + `offset` seconds (negative: before) as
    the demo clock does (the webhooks follow); returns (the renewal, what Stripe's preview of
    it charges, in cents)."""

    async def move() -> tuple[int, int]:
        async with StripeGateway.from_settings(get_settings()) as gateway:
            view = await load_account(workspace.id)
            assert view.subscription_id and view.test_clock_id
            subscription = await gateway.retrieve_subscription(view.subscription_id)
            renewal = subscription.current_period_end
            assert renewal is not None
            preview = await gateway.preview_invoice({"subscription": view.subscription_id})
            clock = await gateway.retrieve_test_clock(view.test_clock_id)
            days = (renewal + offset - clock.frozen_time) / DAY
            await advance_demo_clock(workspace_id=workspace.id, days=days, gateway=gateway)
            return renewal, preview.amount_due

    with _portal_settings(portal), ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, move()).result(timeout=60)


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
    created = new_workspace(portal, name="Socket Clinic")
    return created, cookie(new_session_token(portal, created.owner_user_id, created.id))
