"""Reads that cost the same at 10 rows and at thousands (issue 13, item 6), on SQLite and
PostgreSQL: the kept monthly totals and their SQL sum against the Python definition, the team and
numbers pages' keyset pages against the full lists, reconcile's bounded invoice read, and the SQL
statements of every read model not growing with the rows."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import event
from sqlmodel import Session, select

from clerk_portal.billing import ledger
from clerk_portal.billing.read_models import current_plan, details, history, overview
from clerk_portal.billing.read_models import invoices as invoice_models
from clerk_portal.core.db import engine_for, session_scope
from clerk_portal.models import Invoice
from clerk_portal.workspace import read_models, repository

PACIFIC = timezone(timedelta(hours=-8))
TOKYO = timezone(timedelta(hours=9))
STATUSES = ("draft", "open", "paid", "uncollectible", "void")


def python_monthly(invoices: list[Invoice], now: datetime, months: int = 12) -> list[tuple]:
    """The definition (the chart's sums as main computed them in Python, with `now` read in UTC):
    per calendar month (UTC) of the last `months` up to now's, the total of the finalized
    invoices created in it; later invoices (a demo test clock ahead of now) are not counted."""
    now = now.astimezone(UTC)
    index = now.year * 12 + now.month - 1
    slots = [((index - b) // 12, (index - b) % 12 + 1) for b in range(months - 1, -1, -1)]
    totals = dict.fromkeys(slots, 0)
    for invoice in invoices:
        created = invoice.created.astimezone(UTC)
        key = (created.year, created.month)
        if invoice.status in ("open", "paid", "uncollectible") and key in totals:
            totals[key] += invoice.total_cents
    return [(year, month, cents) for (year, month), cents in totals.items()]


def _workspace(session: Session, name: str) -> int:
    user = repository.upsert_user(
        session, issuer="t", subject=name, email=f"owner@{name}.example", name=f"{name} owner"
    )
    return repository.create_workspace(
        session, name=name, owner_email=user.email, owner_user_id=user.id
    ).id


def _boundary_moments() -> list[datetime]:
    """Moments near month ends, written in three time zones: the same instant is one month in
    UTC and another in the zone it is written in."""
    moments = []
    for year, month in ((2025, 2), (2025, 12), (2026, 1), (2026, 2), (2026, 3), (2026, 6)):
        first = datetime(year, month, 1, tzinfo=UTC)
        for delta in (timedelta(0), timedelta(microseconds=-1), timedelta(hours=-5)):
            for zone in (UTC, PACIFIC, TOKYO):
                moments.append((first + delta).astimezone(zone))
        moments.append(datetime(year, month, 15, 12, tzinfo=PACIFIC))
    return moments


def test_kept_monthly_totals_and_their_sql_sum_equal_the_python_definition():
    """Invoices created, then changed (status, amount, moved across a month's end, written in
    another time zone) in a random order over two workspaces, future ones included (the demo's
    test clock runs ahead): after each step the kept totals, the GROUP BY over the invoices and
    the definition agree, for `now`s at months' ends in three zones."""
    rng = random.Random(13)
    moments = _boundary_moments()
    nows = [
        datetime(2026, 3, 1, 2, tzinfo=TOKYO),  # still February in UTC
        datetime(2026, 2, 28, 20, tzinfo=PACIFIC),  # already March in UTC
        datetime(2026, 1, 1, 0, tzinfo=UTC),
        datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    with session_scope() as session:
        workspaces = [_workspace(session, "other"), _workspace(session, "acme")]
    for step in range(120):
        workspace_id = rng.choice(workspaces)
        key = f"in_{workspace_id}_{rng.randrange(25)}"  # often an invoice seen before
        with session_scope() as session:
            ledger.upsert_invoice(
                session,
                workspace_id=workspace_id,
                stripe_invoice_id=key,
                created=rng.choice(moments),
                status=rng.choice(STATUSES),
                total_cents=rng.choice((0, 1, 2900, 4900, 12345, -500)),
            )
        if step % 10 and step != 119:
            continue
        with session_scope() as session:
            for workspace_id in workspaces:
                mine = list(
                    session.exec(select(Invoice).where(Invoice.workspace_id == workspace_id))
                )
                for now in nows:
                    kept = history.monthly_invoiced(session, workspace_id=workspace_id, now=now)
                    assert [(m.year, m.month, m.invoiced_cents) for m in kept] == python_monthly(
                        mine, now
                    ), (step, now)
                first, last = 2024 * 12, 2027 * 12
                summed = ledger.invoiced_by_month_from_invoices(
                    session, workspace_id=workspace_id, first_month=first, last_month=last
                )
                definition: dict[int, int] = defaultdict(int)
                for invoice in mine:
                    if invoice.status in ("open", "paid", "uncollectible"):
                        definition[ledger.month_index(invoice.created)] += invoice.total_cents
                kept_months = ledger.invoiced_by_month(
                    session, workspace_id=workspace_id, first_month=first, last_month=last
                )
                assert summed == dict(definition)
                assert {m: c for m, c in kept_months.items() if c} == {
                    m: c for m, c in definition.items() if c
                }


def test_a_workspace_without_invoices_has_twelve_empty_months():
    with session_scope() as session:
        workspace_id = _workspace(session, "acme")
        months = history.monthly_invoiced(
            session, workspace_id=workspace_id, now=datetime(2026, 1, 5, tzinfo=UTC)
        )
    assert (months[0].year, months[0].month) == (2025, 2)
    assert len(months) == 12 and all(m.invoiced_cents == 0 for m in months)


# --- team and numbers: keyset pages -------------------------------------------------------------


def _crowded(members: int, numbers: int) -> int:
    """A workspace with that many members (some removed, invitations at equal times) and numbers
    (some released), after a neighbour with a few of each."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with session_scope() as session:
        other = _workspace(session, "other")
        repository.add_member(session, workspace_id=other, email="x@other.example", now=base)
        repository.add_number(session, workspace_id=other, e164="+14155550999")
        workspace_id = _workspace(session, "acme")
        for index in range(members):
            member = repository.add_member(
                session,
                workspace_id=workspace_id,
                email=f"m{index}@acme.example",
                now=base + timedelta(minutes=index // 3),  # ties: the id decides
            )
            if index % 7 == 3:
                repository.remove_member(
                    session, workspace_id=workspace_id, membership_id=member.id
                )
        for index in range(numbers):
            number = repository.add_number(
                session, workspace_id=workspace_id, e164=f"+1415666{index:04d}"
            )
            if index % 9 == 4:
                repository.release_number(session, workspace_id=workspace_id, number_id=number.id)
        return workspace_id


async def test_team_and_number_pages_page_through_the_full_lists_in_their_order():
    workspace_id = _crowded(members=130, numbers=120)
    everyone = await read_models.load_team_members(workspace_id)
    every_number = await read_models.load_numbers(workspace_id)
    assert len(everyone) > 2 * read_models.PAGE_SIZE

    for load, full in (
        (read_models.load_team_page, everyone),
        (read_models.load_number_page, every_number),
    ):
        paged, cursor, pages = [], None, 0
        while True:
            page = await load(workspace_id, cursor=cursor)
            paged += page.items
            pages += 1
            assert len(page.items) <= read_models.PAGE_SIZE
            cursor = page.next_cursor
            if cursor is None:
                break
        assert tuple(paged) == full
        assert pages == -(-len(full) // read_models.PAGE_SIZE)
        # A reload re-reads the pages shown, in one call.
        again = await load(workspace_id, pages=2)
        assert again.items == list(full[: 2 * read_models.PAGE_SIZE])
        assert again.next_cursor is not None


# --- reconcile's invoice read ---------------------------------------------------------------------


def test_invoice_states_are_reconciles_rows_for_the_ids_stripe_listed_of_the_workspace_only():
    with session_scope() as session:
        other, acme = _workspace(session, "other"), _workspace(session, "acme")
        for index in range(30):
            for workspace_id in (other, acme):
                ledger.upsert_invoice(
                    session,
                    workspace_id=workspace_id,
                    stripe_invoice_id=f"in_{workspace_id}_{index}",
                    created=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=index),
                    status=STATUSES[index % 5],
                    total_cents=100 * index,
                    amount_paid_cents=50 * index,
                )
    listed = [f"in_{acme}_{i}" for i in range(0, 30, 3)] + [f"in_{other}_1", "in_unknown"]
    with session_scope() as session:
        states = ledger.invoice_states(session, workspace_id=acme, stripe_invoice_ids=listed)
        every = {
            i.stripe_invoice_id: (i.status, i.total_cents, i.amount_paid_cents)
            for i in session.exec(select(Invoice).where(Invoice.workspace_id == acme))
        }
        assert ledger.invoice_states(session, workspace_id=acme, stripe_invoice_ids=[]) == {}
    assert states == {key: every[key] for key in listed if key in every}
    assert len(states) == 10


# --- statements per read model ------------------------------------------------------------------


def _fill(workspace_id: int, rows: int, start: int = 0) -> None:
    base = datetime.now(UTC) - timedelta(days=400)
    with session_scope() as session:
        for index in range(start, start + rows):
            moment = base + timedelta(days=index * 400 / 200)
            ledger.upsert_invoice(
                session,
                workspace_id=workspace_id,
                stripe_invoice_id=f"in_{workspace_id}_{index}",
                created=moment,
                status=STATUSES[index % 5],
                total_cents=4900,
            )
            ledger.record_activity(
                session, workspace_id=workspace_id, kind="note", summary=f"{index}", now=moment
            )
            repository.add_member(
                session, workspace_id=workspace_id, email=f"m{index}@acme.example", now=moment
            )
            repository.add_number(session, workspace_id=workspace_id, e164=f"+1415777{index:04d}")


def _statements(database_url: str, read) -> int:
    counted = []
    engine = engine_for(database_url)

    def count(*_args) -> None:
        counted.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        read()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(counted)


READ_MODELS = (
    "overview",
    "current plan",
    "details",
    "invoices",
    "invoices next",
    "activity",
    "activity next",
    "monthly",
    "team",
    "team next",
    "numbers",
    "numbers next",
    "reconcile invoices",
)


def _read(session: Session, name: str, ws: int, now: datetime) -> object:
    def after(page) -> str | None:
        return page.next_cursor

    return {
        "overview": lambda: overview.build_overview(session, ws),
        "current plan": lambda: current_plan.current_plan(session, workspace_id=ws),
        "details": lambda: details.saved_details(session, workspace_id=ws),
        "invoices": lambda: invoice_models.invoice_list_page(session, workspace_id=ws, limit=10),
        "invoices next": lambda: invoice_models.invoice_list_page(
            session,
            workspace_id=ws,
            limit=10,
            cursor=after(invoice_models.invoice_list_page(session, workspace_id=ws, limit=2)),
        ),
        "activity": lambda: history.activity_entries(session, workspace_id=ws, limit=20),
        "activity next": lambda: history.activity_entries(
            session,
            workspace_id=ws,
            limit=20,
            cursor=after(history.activity_entries(session, workspace_id=ws, limit=2)),
        ),
        "monthly": lambda: history.monthly_invoiced(session, workspace_id=ws, now=now),
        "team": lambda: read_models.team_page(session, workspace_id=ws),
        "team next": lambda: read_models.team_page(
            session,
            workspace_id=ws,
            cursor=after(read_models.team_page(session, workspace_id=ws, limit=2)),
        ),
        "numbers": lambda: read_models.number_page(session, workspace_id=ws),
        "numbers next": lambda: read_models.number_page(
            session,
            workspace_id=ws,
            cursor=after(read_models.number_page(session, workspace_id=ws, limit=2)),
        ),
        "reconcile invoices": lambda: ledger.invoice_states(
            session, workspace_id=ws, stripe_invoice_ids=[f"in_{ws}_{i}" for i in range(100)]
        ),
    }[name]()


def test_the_sql_statements_of_each_read_model_do_not_grow_with_the_rows(database_url):
    """Every read model of the pages (and reconcile's invoice read) sends as many statements
    with 5 rows of everything as with 155 (three pages of the team and numbers)."""
    with session_scope() as session:
        workspace_id = _workspace(session, "acme")
    now = datetime.now(UTC)

    def counts() -> dict[str, int]:
        found = {}
        for name in READ_MODELS:

            def run(name: str = name) -> None:
                with session_scope() as session:
                    _read(session, name, workspace_id, now)

            found[name] = _statements(database_url, run)
        return found

    _fill(workspace_id, 5)
    few = counts()
    _fill(workspace_id, 150, start=5)
    many = counts()

    assert many == few
