"""Test data in the running portal's database, for browser tests that must not share the demo's."""

from __future__ import annotations

from sqlmodel import Session, select

from clerk_portal.billing import repository
from clerk_portal.db import engine_for
from clerk_portal.demo import DEMO_WORKSPACE
from clerk_portal.models import Workspace


def add_demo_number(portal, e164: str) -> None:
    """A number of the demo workspace that no other test relies on."""
    with Session(engine_for(portal.database_url)) as session:
        demo = session.exec(select(Workspace).where(Workspace.name == DEMO_WORKSPACE)).first()
        repository.add_number(session, workspace_id=demo.id, e164=e164)
        session.commit()
