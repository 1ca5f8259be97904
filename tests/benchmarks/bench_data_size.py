"""Does a page cost the same at 10 and at 10,000 rows of a workspace? (issue 13, item 6)

Run: ``.venv/bin/python tests/benchmarks/bench_data_size.py [--sizes 10,1000,10000] [--runs 15]``
(PostgreSQL too when ``TEST_POSTGRES_URL`` is set, in a schema of its own, dropped afterwards).

For each backend and each size N, a fresh database migrated to head holds one workspace (plus a
small neighbour, so that every query has to filter by workspace) with N invoices (spread over the
last two years: about half fall in the history chart's twelve months), N billing-activity lines,
N members (users joined in) and N phone numbers, bulk-inserted. It then times each read model as
its page calls it (the `load_*` coroutines: one transaction on a worker thread), the median of
`--runs` after two warm-ups (the sizes interleaved run by run, so that the machine's busy moments
fall on all of them), and counts the SQL statements each one sends. The last column is
the ratio of the largest size to the smallest (target: about 1.5 or less).

A read model missing from the code under test (an older checkout) is left out of the table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

NOW = datetime.now(UTC)
Measure = Callable[[], Awaitable[Any]]


class Counter:
    def __init__(self) -> None:
        self.statements = 0

    def __call__(self, *_args: Any) -> None:
        self.statements += 1


def seed(url: str, n: int) -> dict[str, Any]:
    """One workspace with n of everything; returns what the measures need."""
    from sqlmodel import Session

    from clerk_portal.core.db import engine_for
    from clerk_portal.models import BillingAccount
    from clerk_portal.workspace import repository

    engine = engine_for(url)
    with Session(engine) as session:
        owner = repository.upsert_user(
            session, issuer="bench", subject="owner", email="owner@bench.example", name="Owner"
        )
        workspace = repository.create_workspace(
            session, name="Bench", owner_email=owner.email, owner_user_id=owner.id
        )
        neighbour = repository.create_workspace(
            session, name="Neighbour", owner_email="n@bench.example"
        )
        for ws in (workspace, neighbour):
            account = session.get(
                BillingAccount, repository.get_billing_account(session, workspace_id=ws.id).id
            )
            account.stripe_customer_id = f"cus_bench_{ws.id}"
            account.stripe_subscription_id = f"sub_bench_{ws.id}"
            account.status = "active"
            account.plan = "business"
            account.interval = "month"
            session.add(account)
        session.commit()
        ids = {"workspace_id": workspace.id, "owner_id": owner.id, "neighbour_id": neighbour.id}

    span = timedelta(days=730)
    statuses = ("paid", "paid", "paid", "open", "void", "draft", "uncollectible", "paid")

    def when(i: int, count: int) -> datetime:
        return NOW - span * (i + 0.5) / count

    invoices, activity, users, members, numbers = [], [], [], [], []
    for ws, count in ((ids["workspace_id"], n), (ids["neighbour_id"], 10)):
        for i in range(count):
            created = when(i, count)
            invoices.append(
                {
                    "workspace_id": ws,
                    "stripe_invoice_id": f"in_bench_{ws}_{i}",
                    "number": f"B-{ws}-{i:06d}",
                    "status": statuses[i % len(statuses)],
                    "currency": "usd",
                    "subtotal_cents": 4900 + i % 97,
                    "total_cents": 4900 + i % 97,
                    "amount_due_cents": 4900 + i % 97,
                    "amount_paid_cents": 4900 + i % 97 if i % 8 < 3 else 0,
                    "amount_remaining_cents": 0,
                    "period_start": created,
                    "period_end": created + timedelta(days=30),
                    "created": created,
                    "billing_reason": "subscription_cycle",
                    "hosted_invoice_url": f"https://bench.example/i/{ws}/{i}",
                    "invoice_pdf_url": f"https://bench.example/i/{ws}/{i}.pdf",
                    "updated_at": created,
                }
            )
            activity.append(
                {
                    "workspace_id": ws,
                    "actor_user_id": ids["owner_id"] if i % 3 else None,
                    "kind": "note",
                    "summary": f"Bench entry {i}",
                    "amount_cents": i % 5000 if i % 2 else None,
                    "currency": "usd",
                    "details": None,
                    "action_key": f"bench:{ws}:{i}",
                    "created_at": created,
                }
            )
            users.append(
                {
                    "issuer": "bench",
                    "subject": f"u-{ws}-{i}",
                    "email": f"u{i}.{ws}@bench.example",
                    "name": f"Member {i}",
                    "created_at": created,
                    "updated_at": created,
                }
            )
            numbers.append(
                {
                    "workspace_id": ws,
                    "e164": f"+1{ws:03d}{i:07d}",
                    "label": None,
                    "status": "released" if i % 20 == 7 else "active",
                    "created_at": created,
                    "released_at": created if i % 20 == 7 else None,
                }
            )
    from clerk_portal.models import (
        BillingActivity,
        Invoice,
        Membership,
        PhoneNumber,
        User,
    )

    with engine.begin() as connection:
        connection.execute(sa.insert(Invoice.__table__), invoices)
        connection.execute(sa.insert(BillingActivity.__table__), activity)
        connection.execute(sa.insert(PhoneNumber.__table__), numbers)
        connection.execute(sa.insert(User.__table__), users)
        user_ids = dict(
            connection.execute(
                sa.select(User.__table__.c.subject, User.__table__.c.id).where(
                    User.__table__.c.issuer == "bench"
                )
            ).all()
        )
        for ws, count in ((ids["workspace_id"], n), (ids["neighbour_id"], 10)):
            for i in range(count):
                status = ("active", "active", "active", "invited", "removed")[i % 5]
                invited = when(i, count)
                members.append(
                    {
                        "workspace_id": ws,
                        "user_id": user_ids.get(f"u-{ws}-{i}") if status == "active" else None,
                        "email": f"u{i}.{ws}@bench.example",
                        "role": "member",
                        "status": status,
                        "invited_by_user_id": None,
                        "invited_at": invited,
                        "joined_at": invited if status == "active" else None,
                        "removed_at": invited if status == "removed" else None,
                        "updated_at": invited,
                    }
                )
        connection.execute(sa.insert(Membership.__table__), members)
        _keep_monthly_totals(connection, invoices)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                sa.text("VACUUM ANALYZE")  # what autovacuum does after a bulk load
            )
    ids["invoice_ids"] = [f"in_bench_{ids['workspace_id']}_{i}" for i in range(min(n, 100))]
    return ids


def _keep_monthly_totals(connection: Any, invoices: list[dict[str, Any]]) -> None:
    """The monthly totals `ledger.upsert_invoice` keeps (the invoices were bulk-inserted past
    it), where the code under test keeps them."""
    try:
        from clerk_portal.models import INVOICED_STATUSES, InvoiceMonth
    except ImportError:
        return  # main: the chart sums the invoices
    totals: dict[tuple[int, int], int] = {}
    for row in invoices:
        if row["status"] in INVOICED_STATUSES:
            created = row["created"].astimezone(UTC)
            key = (row["workspace_id"], created.year * 12 + created.month - 1)
            totals[key] = totals.get(key, 0) + row["total_cents"]
    connection.execute(
        sa.insert(InvoiceMonth.__table__),
        [{"workspace_id": w, "month": m, "invoiced_cents": c} for (w, m), c in totals.items()],
    )


def measures(ids: dict[str, Any], n: int) -> dict[str, Measure]:
    """The read models, as the pages call them; those the checkout lacks are left out."""
    from clerk_portal.billing import ledger
    from clerk_portal.billing.read_models import current_plan, details, history_page, overview
    from clerk_portal.billing.read_models import invoices as invoice_models
    from clerk_portal.core.db import in_db
    from clerk_portal.workspace import read_models

    ws = ids["workspace_id"]
    middle = _middle_cursor(ws, n)
    found: dict[str, Measure] = {
        "billing overview": lambda: overview.load_overview(ws),
        "upgrade: current plan": lambda: current_plan.load_current_plan(ws),
        "billing details": lambda: details.load_saved_details(ws),
        "invoices: first page": lambda: invoice_models.load_invoice_page(ws, limit=10),
        "invoices: a middle page": lambda: invoice_models.load_invoice_page(
            ws, limit=10, cursor=middle["invoice"]
        ),
        "history: activity page": lambda: history_page.load_activity(ws, limit=20),
        "history: activity middle": lambda: history_page.load_activity(
            ws, limit=20, cursor=middle["activity"]
        ),
        "history: monthly totals": lambda: history_page.load_monthly_invoiced(ws),
    }
    if hasattr(read_models, "load_team_page"):
        found["team: first page"] = lambda: read_models.load_team_page(ws)
        found["numbers: first page"] = lambda: read_models.load_number_page(ws)
    else:
        found["team: members"] = lambda: read_models.load_team_members(ws)
        found["numbers: numbers"] = lambda: read_models.load_numbers(ws)
    try:
        from clerk_portal.billing import reconcile

        found["reconcile: local read"] = lambda: in_db(reconcile._locals)
    except ImportError:
        pass
    if hasattr(ledger, "invoice_states"):
        found["reconcile: invoice_states"] = lambda: in_db(
            lambda session: ledger.invoice_states(
                session, workspace_id=ws, stripe_invoice_ids=ids["invoice_ids"]
            )
        )
    return found


def _middle_cursor(ws: int, n: int) -> dict[str, str | None]:
    from sqlmodel import col, select

    from clerk_portal.billing import ledger
    from clerk_portal.core.db import session_scope
    from clerk_portal.models import BillingActivity, Invoice

    cursors: dict[str, str | None] = {}
    with session_scope() as session:
        for name, model, created in (
            ("invoice", Invoice, Invoice.created),
            ("activity", BillingActivity, BillingActivity.created_at),
        ):
            row = session.exec(
                select(model)
                .where(model.workspace_id == ws)
                .order_by(col(created).desc(), col(model.id).desc())
                .offset(n // 2)
                .limit(1)
            ).first()
            cursors[name] = (
                ledger._encode_cursor(getattr(row, created.key), row.id) if row else None
            )
    return cursors


def use_database(url: str) -> None:
    from clerk_portal.core.settings import get_settings

    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()


async def time_interleaved(
    setups: dict[int, tuple[str, dict[str, Measure], Counter]], runs: int
) -> dict[int, dict[str, tuple]]:
    """Each run times every read model at every size in turn, so that a busy moment of the
    machine (shared) falls on all sizes alike: the ratios hold even when the times wobble."""
    samples: dict[tuple[int, str], list[float]] = {}
    counts: dict[tuple[int, str], int] = {}
    for run in range(runs + 2):  # two warm-up rounds
        for n, (url, found, counter) in setups.items():
            use_database(url)
            for name, measure in found.items():
                before = counter.statements
                started = time.perf_counter()
                await measure()
                elapsed = time.perf_counter() - started
                if run >= 2:
                    samples.setdefault((n, name), []).append(elapsed)
                    counts[(n, name)] = max(counts.get((n, name), 0), counter.statements - before)
    return {
        n: {name: (statistics.median(samples[(n, name)]), counts[(n, name)]) for name in found}
        for n, (_url, found, _counter) in setups.items()
    }


def run_backend(
    label: str,
    make_url_for: Callable[[int], tuple[str, Callable[[], None]]],
    sizes: list[int],
    runs: int,
) -> dict[int, dict[str, tuple]]:
    from clerk_portal.core.db import engine_for
    from clerk_portal.ops import migrations

    setups: dict[int, tuple[str, dict[str, Measure], Counter]] = {}
    cleanups = []
    try:
        for n in sizes:
            url, cleanup = make_url_for(n)
            cleanups.append(cleanup)
            use_database(url)
            migrations.upgrade(url)
            ids = seed(url, n)
            counter = Counter()
            event.listen(engine_for(url), "before_cursor_execute", counter)
            setups[n] = (url, measures(ids, n), counter)
            print(f"  {label}: {n} rows seeded", file=sys.stderr)
        table = asyncio.run(time_interleaved(setups, runs))
    finally:
        for url, _found, _counter in setups.values():
            engine_for(url).dispose()
        for cleanup in cleanups:
            cleanup()
    return table


def sqlite_urls(folder: Path) -> Callable[[int], tuple[str, Callable[[], None]]]:
    def make(n: int) -> tuple[str, Callable[[], None]]:
        return f"sqlite:///{folder / f'bench_{n}.db'}", lambda: None

    return make


def postgres_urls(base: str) -> Callable[[int], tuple[str, Callable[[], None]]]:
    url = make_url(base)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    admin = sa.create_engine(url, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT")

    def make(n: int) -> tuple[str, Callable[[], None]]:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})

        def drop() -> None:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))

        return scoped.render_as_string(hide_password=False), drop

    return make


def print_table(label: str, table: dict[int, dict[str, tuple]], sizes: list[int]) -> None:
    names = list(table[sizes[0]])
    head = "".join(f"{f'{n:,} rows':>16}" for n in sizes)
    print(f"\n{label}: median ms (SQL statements)")
    print(f"{'read model':<28}{head}{'ratio':>8}")
    for name in names:
        cells = "".join(
            f"{1000 * table[n][name][0]:>10.2f} ({table[n][name][1]:>2})" for n in sizes
        )
        ratio = table[sizes[-1]][name][0] / table[sizes[0]][name][0]
        print(f"{name:<28}{cells}{ratio:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    os.environ.setdefault("PORTAL_MODE", "demo")
    with tempfile.TemporaryDirectory() as folder:
        backends = [("SQLite", sqlite_urls(Path(folder)))]
        postgres = os.environ.get("TEST_POSTGRES_URL")
        if postgres and not args.no_postgres:
            backends.append(("PostgreSQL", postgres_urls(postgres)))
        tables = [(label, run_backend(label, urls, sizes, args.runs)) for label, urls in backends]
    for label, table in tables:
        print_table(label, table, sizes)


if __name__ == "__main__":
    main()
