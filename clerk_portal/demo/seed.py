"""The demo workspace a sales rep walks through: seeded once, signed into with one click."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from clerk_portal.auth.accounts import DEMO_ISSUER, DEMO_SALES_SUBJECT
from clerk_portal.models import User, Workspace, utcnow
from clerk_portal.workspace import repository
from clerk_portal.workspace.trial import TRIAL_DAYS

DEMO_WORKSPACE = "Acme Dental"
DEMO_TIME_ZONE = "America/Los_Angeles"  # Acme Dental is a California clinic
TRIAL_DAYS_LEFT = 9
# (subject = the role it signs in as, name, email)
DEMO_PEOPLE = (
    ("owner", "Olivia Park", "olivia@acmedental.example"),
    ("admin", "Adam Reyes", "adam@acmedental.example"),
    ("member", "Mia Chen", "mia@acmedental.example"),
)
# Clerk Chat's own sales rep: staff, in no workspace (the sales page, quotes).
DEMO_SALES = (DEMO_SALES_SUBJECT, "Sam Rivera", "sam.rivera@clerkchat.example")
# 555-01xx numbers are reserved for fiction.
DEMO_NUMBERS = ("+14155550123", "+14155550188")


def demo_people(session: Session) -> dict[str, User]:
    """The personas' users, by the role each signs in as (created or refreshed); the sales
    persona too (staff)."""
    people = {
        subject: repository.upsert_user(
            session, issuer=DEMO_ISSUER, subject=subject, email=email, name=name
        )
        for subject, name, email in (*DEMO_PEOPLE, DEMO_SALES)
    }
    people[DEMO_SALES_SUBJECT].is_staff = True
    session.add(people[DEMO_SALES_SUBJECT])
    return people


def find_demo_workspace(session: Session) -> Workspace | None:
    return session.exec(
        select(Workspace).where(Workspace.name == DEMO_WORKSPACE).order_by(Workspace.id)
    ).first()


def trial_started(now: datetime) -> datetime:
    """When the seeded trial began: `TRIAL_DAYS_LEFT` days of it are left at `now`."""
    return now - timedelta(days=TRIAL_DAYS - TRIAL_DAYS_LEFT)


def seed_demo(session: Session, *, now: datetime | None = None) -> Workspace:
    """Create the demo workspace unless it exists (idempotent: a second call changes nothing)."""
    now = now or utcnow()
    owner_subject, _, owner_email = DEMO_PEOPLE[0]
    users = demo_people(session)
    existing = find_demo_workspace(session)
    if existing is not None:
        return existing
    started = trial_started(now)
    workspace = repository.create_workspace(
        session,
        name=DEMO_WORKSPACE,
        owner_email=owner_email,
        owner_user_id=users[owner_subject].id,
        now=started,
    )
    workspace.time_zone = DEMO_TIME_ZONE
    session.add(workspace)
    assert workspace.id is not None
    add_team_and_numbers(session, workspace_id=workspace.id, users=users, started=started)
    return workspace


def add_team_and_numbers(
    session: Session, *, workspace_id: int, users: dict[str, User], started: datetime
) -> None:
    """The seeded admin and member, and the two numbers (the owner comes with the workspace)."""
    for subject, _name, email in DEMO_PEOPLE[1:]:
        repository.add_member(
            session,
            workspace_id=workspace_id,
            email=email,
            role=subject,
            user_id=users[subject].id,
            now=started,
        )
    for number in DEMO_NUMBERS:
        repository.add_number(session, workspace_id=workspace_id, e164=number, now=started)


def demo_user(session: Session, role: str) -> User | None:
    return session.exec(
        select(User).where(User.issuer == DEMO_ISSUER, User.subject == role)
    ).first()
