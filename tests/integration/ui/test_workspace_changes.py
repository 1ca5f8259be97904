"""Team and number changes: the rules, and what commits together (change, activity, live bump)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from clerk_portal.auth import sessions
from clerk_portal.billing import ledger
from clerk_portal.core.db import session_scope
from clerk_portal.core.errors import DomainError, NotFound
from clerk_portal.core.settings import get_settings
from clerk_portal.models import AuthSession, BillingActivity, Membership, PhoneNumber
from clerk_portal.workspace import changes, repository
from clerk_portal.workspace.changes import Actor
from tests.support import workspaces


@pytest.fixture
def team():
    """A workspace with an owner and an admin (both active); returns (owner, admin) actors."""
    with session_scope() as session:
        owner, workspace = workspaces.acme(session)
        admin = workspaces.person(session, issuer="t", subject="a", email="a@x.example", name="")
        workspaces.member(session, workspace.id, role="admin", user=admin)
        return Actor(owner.id, workspace.id, "owner"), Actor(admin.id, workspace.id, "admin")


def _version(workspace_id: int) -> int:
    with session_scope() as session:
        return workspaces.mirror_version(session, workspace_id)


def _activity(workspace_id: int) -> list[BillingActivity]:
    with session_scope() as session:
        return ledger.activity_page(session, workspace_id=workspace_id).items


def _member(workspace_id: int, email: str) -> Membership:
    with session_scope() as session:
        return session.exec(
            select(Membership).where(
                Membership.workspace_id == workspace_id, Membership.email == email
            )
        ).one()


def test_an_invitation_commits_with_its_activity_line_and_a_live_bump(team):
    owner, _admin = team
    before = _version(owner.workspace_id)

    done = changes.invite_member(owner, email=" New@X.example ", role="member", amount_cents=4900)

    assert done.summary == "Invited new@x.example as member"
    assert done.seats_delta == 1
    assert _member(owner.workspace_id, "new@x.example").status == "invited"
    latest = _activity(owner.workspace_id)[0]
    assert (latest.kind, latest.actor_user_id, latest.amount_cents) == (
        "member_invited",
        owner.user_id,
        4900,
    )
    assert _version(owner.workspace_id) == before + 1


def test_a_refused_change_leaves_no_activity_and_no_bump(team):
    owner, _admin = team
    before = _version(owner.workspace_id)

    with pytest.raises(DomainError, match="already a member"):
        changes.invite_member(owner, email="a@x.example", role="member")

    assert _activity(owner.workspace_id) == []
    assert _version(owner.workspace_id) == before


def test_checks_apply_the_rules_and_keep_nothing(team):
    owner, _admin = team

    assert changes.check_invite(owner, email="Z@X.example", role="admin") == "z@x.example"
    assert changes.check_number(owner, e164="+1 (415) 555-0100") == "+14155550100"
    with pytest.raises(DomainError, match="only owner"):
        changes.check_removal(owner, membership_id=_member(owner.workspace_id, "o@x.example").id)

    with session_scope() as session:
        assert repository.active_seat_count(session, workspace_id=owner.workspace_id) == 2
        assert session.exec(select(PhoneNumber)).all() == []


def test_removing_a_member_ends_their_sessions_in_the_same_transaction(team):
    owner, admin = team
    with session_scope() as session:
        sessions.create_session(
            session,
            user_id=admin.user_id,
            workspace_id=admin.workspace_id,
            policy=sessions.SessionPolicy.from_settings(get_settings()),
        )

    changes.remove_member(
        owner, membership_id=_member(owner.workspace_id, "a@x.example").id, amount_cents=-4900
    )

    with session_scope() as session:
        records = session.exec(select(AuthSession).where(AuthSession.user_id == admin.user_id))
        assert all(record.revoked_at is not None for record in records)
    assert _member(owner.workspace_id, "a@x.example").status == "removed"
    assert _activity(owner.workspace_id)[0].kind == "member_removed"


def test_admins_cannot_give_or_take_the_owner_role(team):
    owner, admin = team
    owner_row = _member(owner.workspace_id, "o@x.example")

    with pytest.raises(DomainError, match="Only an owner"):
        changes.check_invite(admin, email="boss@x.example", role="owner")
    with pytest.raises(DomainError, match="Only an owner"):
        changes.change_role(
            admin, membership_id=_member(admin.workspace_id, "a@x.example").id, role="owner"
        )
    with pytest.raises(DomainError, match="Only an owner"):
        changes.remove_member(admin, membership_id=owner_row.id)
    assert _member(owner.workspace_id, "o@x.example").role == "owner"


def test_another_workspace_rows_are_not_found(team):
    owner, _admin = team
    with session_scope() as session:
        other = repository.create_workspace(session, name="Other", owner_email="z@z.example")
        phone = repository.add_number(session, workspace_id=other.id, e164="+14155550199")
        foreign_member = repository.list_members(session, workspace_id=other.id)[0]

    with pytest.raises(NotFound):
        changes.release_number(owner, number_id=phone.id)
    with pytest.raises(NotFound):
        changes.remove_member(owner, membership_id=foreign_member.id)


def test_a_subscribed_workspace_stays_within_its_plan(team):
    owner, admin = team
    with session_scope() as session:
        account = repository.get_billing_account(session, workspace_id=owner.workspace_id)
        account.plan, account.interval, account.status = "startup", "month", "active"
        account.stripe_subscription_id = "sub_limits"
        for index in range(8):  # 10 seats: Startup's most
            repository.add_member(
                session, workspace_id=owner.workspace_id, email=f"m{index}@x.example"
            )

    with pytest.raises(DomainError, match="Startup allows up to 10 seats"):
        changes.check_invite(admin, email="eleven@x.example", role="member")
    with pytest.raises(DomainError, match="Startup allows up to 10 seats"):
        changes.invite_member(admin, email="eleven@x.example", role="member")


def test_after_the_trial_ends_the_team_and_numbers_are_read_only(team):
    owner, admin = team
    with session_scope() as session:
        account = repository.get_billing_account(session, workspace_id=owner.workspace_id)
        account.trial_ends_at = account.created_at  # the trial ended without an upgrade
        session.add(account)
    before = _version(owner.workspace_id)

    attempts = [
        lambda: changes.check_invite(admin, email="late@x.example", role="member"),
        lambda: changes.invite_member(owner, email="late@x.example", role="member"),
        lambda: changes.check_number(owner, e164="+14155550177"),
        lambda: changes.add_number(owner, e164="+14155550177"),
        lambda: changes.change_role(owner, membership_id=1, role="member"),
    ]
    for attempt in attempts:
        with pytest.raises(DomainError, match="read-only"):
            attempt()

    assert _version(owner.workspace_id) == before
    assert [entry.kind for entry in _activity(owner.workspace_id)] == []
