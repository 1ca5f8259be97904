"""Sessions end when they should, and the guard re-checks membership on every call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from clerk_portal.auth.sessions import (
    SessionPolicy,
    create_session,
    resolve_session,
    revoke_session,
)
from clerk_portal.core.db import engine_for
from clerk_portal.models import AuthSession, utcnow
from clerk_portal.ui import guard
from clerk_portal.workspace import repository
from tests.support import workspaces

POLICY = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12))


@pytest.fixture
def db(portal_env, database_url):
    with Session(engine_for(database_url), expire_on_commit=False) as session:
        yield session


@pytest.fixture
def acme(db):
    """Acme with an owner (Olivia) and a member (Mia), both signed up."""
    olivia = workspaces.person(db, issuer="idp", subject="o", email="o@acme.example", name="")
    mia = workspaces.person(db, issuer="idp", subject="m", email="m@acme.example", name="")
    workspace = workspaces.workspace(db, name="Acme", owner=olivia)
    _mia, member = workspaces.member(db, workspace.id, user=mia)
    db.commit()
    return workspace, olivia, mia, member


def test_a_session_lives_until_it_is_idle_too_long(db, acme):
    workspace, olivia, *_ = acme
    start = utcnow()
    token = create_session(
        db, user_id=olivia.id, workspace_id=workspace.id, policy=POLICY, now=start
    )

    assert resolve_session(db, token=token, policy=POLICY, now=start + timedelta(minutes=29))
    # Activity at 29 minutes moved the idle deadline on.
    assert resolve_session(db, token=token, policy=POLICY, now=start + timedelta(minutes=58))
    assert (
        resolve_session(db, token=token, policy=POLICY, now=start + timedelta(minutes=89)) is None
    )
    # Once ended, it stays ended.
    assert (
        resolve_session(db, token=token, policy=POLICY, now=start + timedelta(minutes=60)) is None
    )


def test_a_session_ends_at_its_absolute_lifetime_however_active(db, acme):
    workspace, olivia, *_ = acme
    start = utcnow()
    token = create_session(
        db, user_id=olivia.id, workspace_id=workspace.id, policy=POLICY, now=start
    )
    for minutes in range(20, 12 * 60, 20):  # busy all day
        assert resolve_session(
            db, token=token, policy=POLICY, now=start + timedelta(minutes=minutes)
        )

    assert resolve_session(db, token=token, policy=POLICY, now=start + timedelta(hours=12)) is None


def test_unknown_revoked_and_missing_tokens_resolve_to_nobody(db, acme):
    workspace, olivia, *_ = acme
    token = create_session(db, user_id=olivia.id, workspace_id=workspace.id, policy=POLICY)
    revoke_session(db, token=token)

    for candidate in (token, "not-a-session", "", None):
        assert resolve_session(db, token=candidate, policy=POLICY) is None


def test_removed_member_loses_access_on_the_next_call(db, acme):
    workspace, _olivia, mia, member = acme
    token = create_session(db, user_id=mia.id, workspace_id=workspace.id, policy=POLICY)
    db.commit()
    assert guard.principal_for_token(token).role == "member"

    repository.remove_member(db, workspace_id=workspace.id, membership_id=member.id)
    db.commit()

    assert guard.principal_for_token(token) is None
    db.expire_all()
    assert resolve_session(db, token=token, policy=POLICY) is None  # revoked, not just refused


def test_role_changes_apply_on_the_next_call(db, acme):
    workspace, _olivia, mia, member = acme
    token = create_session(db, user_id=mia.id, workspace_id=workspace.id, policy=POLICY)
    db.commit()
    with pytest.raises(guard.AccessDenied):
        guard.check_role(guard.principal_for_token(token), guard.OWNER)

    repository.change_role(db, workspace_id=workspace.id, membership_id=member.id, role="owner")
    db.commit()

    assert guard.check_role(guard.principal_for_token(token), guard.OWNER).role == "owner"


def test_check_role_messages():
    member = guard.Principal(1, "Mia", "m@x", 1, "Acme", "member")
    admin = guard.Principal(2, "Adam", "a@x", 1, "Acme", "admin")

    with pytest.raises(guard.AccessDenied) as anonymous:
        guard.check_role(None, guard.OWNER)
    assert not anonymous.value.signed_in
    with pytest.raises(guard.AccessDenied, match="Only workspace owners can manage billing"):
        guard.check_role(admin, guard.OWNER)
    with pytest.raises(guard.AccessDenied, match="owners and admins"):
        guard.check_role(member, guard.TEAM_MANAGERS)
    assert guard.check_role(admin, guard.TEAM_MANAGERS) is admin


@pytest.mark.parametrize(
    "header",
    [None, "", "clerk_session=", "garbage;;;==", 'clerk_session="unterminated'],
)
def test_malformed_cookies_mean_nobody(header):
    token = guard.cookie_value(header, "clerk_session")
    assert guard.principal_for_token(token) is None


def test_a_check_that_is_not_the_persons_activity_keeps_no_session_alive(db, acme):
    """A live reload checks the session without touching it (`touch=False`); a call by the
    person moves its idle deadline on, and only that."""
    workspace, olivia, *_ = acme
    token = create_session(
        db,
        user_id=olivia.id,
        workspace_id=workspace.id,
        policy=POLICY,
        now=utcnow() - timedelta(minutes=5),
    )
    db.commit()
    record = db.exec(select(AuthSession).where(AuthSession.user_id == olivia.id)).one()
    idle_since = record.last_seen_at

    assert guard.principal_for_token(token, touch=False).role == "owner"
    db.refresh(record)
    assert record.last_seen_at == idle_since

    assert guard.principal_for_token(token).role == "owner"
    db.refresh(record)
    assert record.last_seen_at > idle_since


def test_a_removed_member_is_refused_by_a_check_that_touches_nothing(db, acme):
    workspace, _olivia, mia, member = acme
    token = create_session(db, user_id=mia.id, workspace_id=workspace.id, policy=POLICY)
    db.commit()
    repository.remove_member(db, workspace_id=workspace.id, membership_id=member.id)
    db.commit()

    assert guard.principal_for_token(token, touch=False) is None
