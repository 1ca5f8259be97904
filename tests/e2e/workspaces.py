"""Fresh trial workspaces for browser tests, so each billing story starts from its own trial."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect
from sqlmodel import Session

from clerk_portal.auth import sessions
from clerk_portal.billing import repository
from clerk_portal.db import engine_for
from clerk_portal.settings import get_settings


def new_trial_workspace(portal, *, members: int = 2, numbers: int = 1) -> dict:
    """A trialing workspace with an owner, `members` more people and `numbers` numbers."""
    tag = uuid.uuid4().hex[:8]
    with Session(engine_for(portal.database_url)) as session:
        owner = repository.upsert_user(
            session,
            issuer="e2e",
            subject=f"owner-{tag}",
            email=f"owner-{tag}@e2e.example",
            name=f"Owner {tag}",
        )
        workspace = repository.create_workspace(
            session, name=f"Clinic {tag}", owner_email=owner.email, owner_user_id=owner.id
        )
        for index in range(members):
            repository.add_member(
                session, workspace_id=workspace.id, email=f"m{index}-{tag}@e2e.example"
            )
        for index in range(numbers):
            repository.add_number(
                session, workspace_id=workspace.id, e164=f"+1415{int(tag, 16) % 10**6:06d}{index}"
            )
        token = sessions.create_session(
            session,
            user_id=owner.id,
            workspace_id=workspace.id,
            policy=sessions.SessionPolicy.from_settings(get_settings()),
        )
        session.commit()
        return {"workspace_id": workspace.id, "name": workspace.name, "token": token}


def open_as(page: Page, portal, workspace: dict, path: str = "/billing") -> None:
    page.context.add_cookies(
        [
            {
                "name": sessions.SESSION_COOKIE,
                "value": workspace["token"],
                "url": portal.url,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    page.goto(portal.url + path)
    expect(page.locator("#workspace-name")).to_have_text(workspace["name"], timeout=20_000)


def enter_card(page: Page, number: str, element: str = "#card-element-upgrade") -> None:
    card = page.locator(element)
    card.get_by_label("Card number").fill(number)
    card.get_by_label("Expiration date").fill("12 / 34")
    card.get_by_label("CVC").fill("123")
