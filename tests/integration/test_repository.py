"""billing/repository.py over real connections: SQLite, and PostgreSQL with TEST_POSTGRES_URL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from clerk_portal.billing import ledger
from clerk_portal.core.db import session_scope
from clerk_portal.core.errors import (
    InvalidPhoneNumber,
    InvalidValue,
    LastOwnerError,
    MemberExistsError,
    NotFound,
    NumberTakenError,
)
from clerk_portal.models import normalize_e164
from clerk_portal.workspace import repository as repo
from tests.support import workspaces

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def make_user(session: Session, name: str):
    return workspaces.person(
        session, issuer="https://id.example", subject=name, email=f"{name}@example.com", name=name
    )


def make_workspace(session: Session, name: str = "Acme", owner: str = "olivia"):
    user = make_user(session, owner)
    workspace = workspaces.workspace(session, name=name, owner=user, now=T0)
    session.commit()
    return workspace, user


def owner_membership(session: Session, workspace_id: int):
    return next(
        m for m in repo.list_members(session, workspace_id=workspace_id) if m.role == "owner"
    )


# --- workspaces and users -----------------------------------------------------------------------


def test_a_new_workspace_has_an_active_owner_and_a_trial(session):
    workspace, user = make_workspace(session)

    [owner] = repo.list_members(session, workspace_id=workspace.id)
    assert (owner.user_id, owner.role, owner.status) == (user.id, "owner", "active")
    account = repo.get_billing_account(session, workspace_id=workspace.id)
    assert account.status == "trialing"
    assert account.trial_ends_at == T0 + timedelta(days=14)
    assert account.trial_ends_at.tzinfo is not None
    assert repo.active_seat_count(session, workspace_id=workspace.id) == 1


def test_a_workspace_can_start_with_an_invited_owner(session):
    workspace = repo.create_workspace(session, name="Sales demo", owner_email="Pat@Example.com")
    [owner] = repo.list_members(session, workspace_id=workspace.id)
    assert (owner.email, owner.role, owner.status) == ("pat@example.com", "owner", "invited")
    with pytest.raises(InvalidValue, match="needs a name"):
        repo.create_workspace(session, name="  ", owner_email="pat@example.com")


def test_upsert_user_is_keyed_by_issuer_and_subject(session):
    first = make_user(session, "sam")
    again = repo.upsert_user(
        session, issuer="https://id.example", subject="sam", email="Sam@New.example", name="Sam"
    )
    assert again.id == first.id
    assert again.email == "sam@new.example"
    other_issuer = repo.upsert_user(
        session, issuer="https://other.example", subject="sam", email="sam@example.com"
    )
    assert other_issuer.id != first.id
    no_email = repo.upsert_user(session, issuer="https://id.example", subject="anon", email="")
    assert no_email.email == ""


def test_unknown_workspace_is_not_found(session):
    with pytest.raises(NotFound):
        repo.add_member(session, workspace_id=999, email="a@example.com")
    with pytest.raises(NotFound):
        repo.get_billing_account(session, workspace_id=999)


# --- members ------------------------------------------------------------------------------------


def test_invited_members_count_as_seats_until_removed(session):
    workspace, _ = make_workspace(session)
    invited = repo.add_member(session, workspace_id=workspace.id, email=" Ann@Example.com ")
    assert (invited.email, invited.status, invited.role, invited.user_id) == (
        "ann@example.com",
        "invited",
        "member",
        None,
    )
    assert repo.active_seat_count(session, workspace_id=workspace.id) == 2

    user = make_user(session, "ann")
    repo.accept_invitation(session, membership_id=invited.id, user_id=user.id)
    assert invited.status == "active"
    assert repo.membership_for_user(session, workspace_id=workspace.id, user_id=user.id) == invited

    repo.remove_member(session, workspace_id=workspace.id, membership_id=invited.id)
    session.commit()
    assert repo.active_seat_count(session, workspace_id=workspace.id) == 1
    assert len(repo.list_members(session, workspace_id=workspace.id, include_removed=True)) == 2


def test_adding_a_member_twice_is_refused_but_a_removed_one_can_come_back(session):
    workspace, _ = make_workspace(session)
    member = repo.add_member(session, workspace_id=workspace.id, email="ben@example.com")
    with pytest.raises(MemberExistsError, match=r"ben@example\.com is already a member"):
        repo.add_member(session, workspace_id=workspace.id, email="BEN@example.com")

    repo.remove_member(session, workspace_id=workspace.id, membership_id=member.id)
    again = repo.add_member(
        session, workspace_id=workspace.id, email="ben@example.com", role="admin"
    )
    session.commit()
    assert (again.id, again.status, again.role) == (member.id, "invited", "admin")


def test_bad_email_and_role_are_refused(session):
    workspace, _ = make_workspace(session)
    with pytest.raises(InvalidValue, match="not an email address"):
        repo.add_member(session, workspace_id=workspace.id, email="nobody")
    with pytest.raises(InvalidValue, match="Role must be owner, admin or member"):
        repo.add_member(session, workspace_id=workspace.id, email="a@example.com", role="boss")


def test_the_last_owner_cannot_be_removed_or_demoted(session):
    workspace, _ = make_workspace(session)
    owner = owner_membership(session, workspace.id)

    with pytest.raises(LastOwnerError, match="only owner: make someone else an owner"):
        repo.remove_member(session, workspace_id=workspace.id, membership_id=owner.id)
    session.rollback()
    with pytest.raises(LastOwnerError):
        repo.change_role(session, workspace_id=workspace.id, membership_id=owner.id, role="admin")
    session.rollback()

    # An invited owner is not an owner yet.
    repo.add_member(session, workspace_id=workspace.id, email="ivy@example.com", role="owner")
    with pytest.raises(LastOwnerError):
        repo.change_role(session, workspace_id=workspace.id, membership_id=owner.id, role="member")


def test_a_second_active_owner_makes_demotion_possible(session):
    workspace, _ = make_workspace(session)
    owner = owner_membership(session, workspace.id)
    second_user = make_user(session, "oscar")
    second = repo.add_member(
        session, workspace_id=workspace.id, email=second_user.email, user_id=second_user.id
    )
    repo.change_role(session, workspace_id=workspace.id, membership_id=second.id, role="owner")

    repo.change_role(session, workspace_id=workspace.id, membership_id=owner.id, role="admin")
    session.commit()
    assert owner.role == "admin"
    with pytest.raises(LastOwnerError):
        repo.remove_member(session, workspace_id=workspace.id, membership_id=second.id)


def test_a_member_of_another_workspace_is_not_found(session):
    first, _ = make_workspace(session, "First", "fay")
    second, _ = make_workspace(session, "Second", "sid")
    member = repo.add_member(session, workspace_id=first.id, email="x@example.com")
    with pytest.raises(NotFound):
        repo.remove_member(session, workspace_id=second.id, membership_id=member.id)


def test_two_owners_demoting_each_other_at_once_leave_one_owner(engine):
    with session_scope(engine) as session:
        workspace, _ = make_workspace(session)
        first = owner_membership(session, workspace.id)
        user = make_user(session, "oscar")
        second = repo.add_member(
            session, workspace_id=workspace.id, email=user.email, user_id=user.id, role="owner"
        )
    ids = [first.id, second.id]
    outcomes = run_together(lambda membership_id: _demote(engine, workspace.id, membership_id), ids)

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["LastOwnerError", "str"]
    with session_scope(engine) as session:
        owners = [
            m for m in repo.list_members(session, workspace_id=workspace.id) if m.role == "owner"
        ]
        assert len(owners) == 1


def _demote(engine, workspace_id: int, membership_id: int) -> str:
    with session_scope(engine) as session:
        repo.change_role(
            session, workspace_id=workspace_id, membership_id=membership_id, role="member"
        )
    return "demoted"


# --- phone numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+14155550100", "+14155550100"),
        ("+1 (415) 555-0100", "+14155550100"),
        (" +44 20 7946 0958 ", "+442079460958"),
        ("+12345678", "+12345678"),
        ("+123456789012345", "+123456789012345"),
    ],
)
def test_e164_normalization(raw, expected):
    assert normalize_e164(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "4155550100",
        "+0415555010",
        "+1234567",
        "+1234567890123456",
        "+1.415.555.0100",
        "",
        "+1 415 555 O100",
        "+١٤١٥٥٥٥٠١٠٠",
    ],
)
def test_e164_refuses_anything_else(raw):
    with pytest.raises(InvalidPhoneNumber, match="international format"):
        normalize_e164(raw)


def test_numbers_are_added_normalized_counted_and_released(session):
    workspace, _ = make_workspace(session)
    phone = repo.add_number(
        session, workspace_id=workspace.id, e164="+1 (415) 555-0100", label="Sales"
    )
    repo.add_number(session, workspace_id=workspace.id, e164="+14155550101")
    assert phone.e164 == "+14155550100"
    assert repo.active_number_count(session, workspace_id=workspace.id) == 2

    repo.release_number(session, workspace_id=workspace.id, number_id=phone.id)
    session.commit()
    assert phone.status == "released" and phone.released_at is not None
    assert repo.active_number_count(session, workspace_id=workspace.id) == 1
    assert [n.e164 for n in repo.list_numbers(session, workspace_id=workspace.id)] == [
        "+14155550101"
    ]


def test_a_number_is_active_in_one_workspace_at_a_time(session):
    first, _ = make_workspace(session, "First", "fay")
    second, _ = make_workspace(session, "Second", "sid")
    phone = repo.add_number(session, workspace_id=first.id, e164="+14155550100")
    session.commit()

    with pytest.raises(NumberTakenError, match=r"^\+1 415 555 0100 is already in use$"):
        repo.add_number(session, workspace_id=second.id, e164="+1 415-555-0100")
    session.rollback()

    repo.release_number(session, workspace_id=first.id, number_id=phone.id)
    moved = repo.add_number(session, workspace_id=second.id, e164="+14155550100")
    session.commit()
    assert moved.workspace_id == second.id
    # Released rows are history: the same number may be released many times.
    repo.release_number(session, workspace_id=second.id, number_id=moved.id)
    repo.add_number(session, workspace_id=first.id, e164="+14155550100")
    session.commit()


def test_releasing_a_number_of_another_workspace_is_not_found(session):
    first, _ = make_workspace(session, "First", "fay")
    second, _ = make_workspace(session, "Second", "sid")
    phone = repo.add_number(session, workspace_id=first.id, e164="+14155550100")
    with pytest.raises(NotFound):
        repo.release_number(session, workspace_id=second.id, number_id=phone.id)


@pytest.mark.parametrize("precheck", ["with", "without"])
def test_concurrent_additions_of_the_same_number_one_wins(engine, monkeypatch, precheck):
    if precheck == "without":  # both get past the friendly check: the unique index decides
        monkeypatch.setattr(repo, "_active_number", lambda session, e164: None)
    with session_scope(engine) as session:
        first, _ = make_workspace(session, "First", "fay")
        second, _ = make_workspace(session, "Second", "sid")

    outcomes = run_together(
        lambda workspace_id: _add_number(engine, workspace_id, "+1 415 555 0100"),
        [first.id, second.id],
    )

    winners = [outcome for outcome in outcomes if isinstance(outcome, int)]
    losers = [outcome for outcome in outcomes if isinstance(outcome, NumberTakenError)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert losers[0].message == "+1 415 555 0100 is already in use"
    with session_scope(engine) as session:
        assert (
            sum(repo.active_number_count(session, workspace_id=w) for w in (first.id, second.id))
            == 1
        )


def _add_number(engine, workspace_id: int, e164: str) -> int:
    with session_scope(engine) as session:
        repo.add_number(session, workspace_id=workspace_id, e164=e164)
    return workspace_id


def test_the_database_refuses_a_duplicate_active_number_by_itself(session):
    """The partial unique index, bypassing the repository's friendly pre-check."""
    first, _ = make_workspace(session, "First", "fay")
    insert = sa.text(
        "INSERT INTO phone_number (workspace_id, e164, status, created_at) "
        "VALUES (:w, '+14155550100', :status, :at)"
    )
    session.execute(insert, {"w": first.id, "status": "active", "at": T0})
    session.execute(insert, {"w": first.id, "status": "released", "at": T0})
    session.execute(insert, {"w": first.id, "status": "released", "at": T0})
    with pytest.raises(IntegrityError):
        session.execute(insert, {"w": first.id, "status": "active", "at": T0})


@pytest.mark.parametrize(
    ("table", "values"),
    [
        (
            "phone_number",
            "(workspace_id, e164, status, created_at) VALUES (:w, '+14155550100', 'lost', :at)",
        ),
        (
            "phone_number",
            "(workspace_id, e164, status, created_at) VALUES (:w, '4155550100', 'active', :at)",
        ),
        (
            "membership",
            "(workspace_id, email, role, status, invited_at, updated_at) "
            "VALUES (:w, 'a@b.co', 'king', 'active', :at, :at)",
        ),
    ],
)
def test_check_constraints_hold_in_the_database(session, table, values):
    workspace, _ = make_workspace(session)
    with pytest.raises(IntegrityError):
        session.execute(sa.text(f"INSERT INTO {table} {values}"), {"w": workspace.id, "at": T0})


# --- activity and invoices ----------------------------------------------------------------------


def test_activity_pages_newest_first_without_gaps_or_repeats(session):
    workspace, user = make_workspace(session)
    other, _ = make_workspace(session, "Other", "otto")
    # Pairs share a timestamp: the id breaks ties.
    for index in range(25):
        ledger.record_activity(
            session,
            workspace_id=workspace.id,
            kind="seats.changed",
            summary=f"event {index}",
            actor_user_id=user.id if index % 2 else None,
            amount_cents=index * 100,
            now=T0 + timedelta(minutes=index // 2),
        )
    ledger.record_activity(session, workspace_id=other.id, kind="x", summary="not ours", now=T0)
    session.commit()

    seen, cursor, pages = [], None, 0
    while True:
        page = ledger.activity_page(session, workspace_id=workspace.id, limit=10, cursor=cursor)
        seen += [item.summary for item in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3
    assert seen == [f"event {index}" for index in reversed(range(25))]


def test_a_page_that_ends_exactly_has_no_next_cursor(session):
    workspace, _ = make_workspace(session)
    for index in range(4):
        ledger.record_activity(session, workspace_id=workspace.id, kind="k", summary=str(index))
    first = ledger.activity_page(session, workspace_id=workspace.id, limit=2)
    second = ledger.activity_page(
        session, workspace_id=workspace.id, limit=2, cursor=first.next_cursor
    )
    assert [a.summary for a in first.items + second.items] == ["3", "2", "1", "0"]
    assert second.next_cursor is None
    empty = ledger.activity_page(session, workspace_id=9_999)
    assert (empty.items, empty.next_cursor) == ([], None)


def test_a_bad_cursor_or_limit_is_refused(session):
    workspace, _ = make_workspace(session)
    for cursor in ("garbage", "bm90fGE", ledger._encode_cursor(T0, 1)[:-2]):
        with pytest.raises(InvalidValue, match="page link"):
            ledger.invoice_page(session, workspace_id=workspace.id, cursor=cursor)
    with pytest.raises(InvalidValue):
        ledger.invoice_page(session, workspace_id=workspace.id, limit=0)


def test_invoices_are_mirrored_once_and_paged_by_date(session):
    workspace, _ = make_workspace(session)
    for index in range(5):
        ledger.upsert_invoice(
            session,
            workspace_id=workspace.id,
            stripe_invoice_id=f"in_{index}",
            created=T0 + timedelta(days=30 * index),
            number=f"CLERK-000{index}",
            status="open",
            total_cents=5_800,
            amount_due_cents=5_800,
        )
    paid = ledger.upsert_invoice(
        session,
        workspace_id=workspace.id,
        stripe_invoice_id="in_4",
        created=T0 + timedelta(days=120),
        status="paid",
        amount_paid_cents=5_800,
        invoice_pdf_url="https://files.example/in_4.pdf",
    )
    session.commit()
    assert (paid.number, paid.status, paid.amount_paid_cents) == ("CLERK-0004", "paid", 5_800)

    first = ledger.invoice_page(session, workspace_id=workspace.id, limit=3)
    second = ledger.invoice_page(
        session, workspace_id=workspace.id, limit=3, cursor=first.next_cursor
    )
    assert [i.stripe_invoice_id for i in first.items] == ["in_4", "in_3", "in_2"]
    assert [i.stripe_invoice_id for i in second.items] == ["in_1", "in_0"]
    assert second.next_cursor is None
    with pytest.raises(TypeError, match="not Invoice columns: colour"):
        ledger.upsert_invoice(
            session, workspace_id=workspace.id, stripe_invoice_id="in_9", created=T0, colour="red"
        )


def test_enterprise_inquiry(session):
    workspace, user = make_workspace(session)
    inquiry = ledger.add_enterprise_inquiry(
        session,
        name=" Dana ",
        email="dana@bigco.example",
        company="BigCo",
        seats=250,
        message="SSO?",
        workspace_id=workspace.id,
        user_id=user.id,
    )
    session.commit()
    assert (inquiry.name, inquiry.status, inquiry.seats) == ("Dana", "new", 250)
    with pytest.raises(InvalidValue):
        ledger.add_enterprise_inquiry(session, name="", email="x@y.co")


# --- helpers ------------------------------------------------------------------------------------


def run_together(work, arguments):
    """Run `work(argument)` in one thread per argument, released at the same instant."""
    barrier = threading.Barrier(len(arguments))
    outcomes: list[object] = [None] * len(arguments)

    def run(index, argument):
        barrier.wait()
        try:
            outcomes[index] = work(argument)
        except Exception as error:
            outcomes[index] = error

    threads = [
        threading.Thread(target=run, args=(index, argument))
        for index, argument in enumerate(arguments)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes
