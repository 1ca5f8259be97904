"""Reads of the invoices and history pages, and the billing effect on a trial (no Stripe)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clerk_portal.billing import ledger
from clerk_portal.billing.read_models import history
from clerk_portal.billing.services import change_effect as billing_effect
from clerk_portal.core.db import session_scope
from tests.support import workspaces

NOW = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)


def _workspace() -> tuple[int, int]:
    with session_scope() as session:
        owner, workspace = workspaces.acme(session, owner_name="Olivia")
        return workspace.id, owner.id


def _invoice(workspace_id: int, key: str, created: datetime, cents: int, status: str) -> None:
    with session_scope() as session:
        ledger.upsert_invoice(
            session,
            workspace_id=workspace_id,
            stripe_invoice_id=f"in_{key}",
            created=created,
            status=status,
            total_cents=cents,
        )


def test_monthly_totals_cover_twelve_months_across_the_new_year():
    workspace_id, _owner = _workspace()
    _invoice(workspace_id, "a", datetime(2026, 2, 1, tzinfo=UTC), 4900, "paid")
    _invoice(workspace_id, "b", datetime(2026, 2, 5, tzinfo=UTC), 1500, "open")
    _invoice(workspace_id, "c", datetime(2025, 12, 31, 23, tzinfo=UTC), 9800, "paid")
    _invoice(workspace_id, "d", datetime(2025, 3, 1, tzinfo=UTC), 100, "paid")  # first month
    _invoice(workspace_id, "e", datetime(2025, 2, 28, tzinfo=UTC), 7777, "paid")  # too old
    _invoice(workspace_id, "f", datetime(2026, 1, 3, tzinfo=UTC), 5000, "draft")
    _invoice(workspace_id, "g", datetime(2026, 1, 4, tzinfo=UTC), 5000, "void")

    with session_scope() as session:
        months = history.monthly_invoiced(session, workspace_id=workspace_id, now=NOW)

    assert [(m.year, m.month) for m in months][:2] == [(2025, 3), (2025, 4)]
    assert (months[-1].year, months[-1].month) == (2026, 2)
    assert len(months) == 12
    totals = {(m.year, m.month): m.invoiced_cents for m in months}
    assert totals[(2026, 2)] == 6400
    assert totals[(2026, 1)] == 0  # draft and void are not invoiced
    assert totals[(2025, 12)] == 9800
    assert totals[(2025, 3)] == 100


def test_activity_names_who_did_it_and_pages_newest_first():
    workspace_id, owner_id = _workspace()
    with session_scope() as session:
        for index in range(3):
            ledger.record_activity(
                session,
                workspace_id=workspace_id,
                kind="note",
                summary=f"entry {index}",
                actor_user_id=owner_id if index else None,
                amount_cents=100 * index,
                now=datetime(2026, 1, 1 + index, tzinfo=UTC),
            )

    with session_scope() as session:
        first = history.activity_entries(session, workspace_id=workspace_id, limit=2)
        rest = history.activity_entries(
            session, workspace_id=workspace_id, limit=2, cursor=first.next_cursor
        )

    assert [(e.summary, e.actor_name) for e in first.items] == [
        ("entry 2", "Olivia"),
        ("entry 1", "Olivia"),
    ]
    assert [(e.summary, e.actor_name) for e in rest.items] == [("entry 0", "Clerk Chat")]
    assert rest.next_cursor is None


async def test_a_trial_pays_nothing_for_a_change_and_stripe_is_not_asked():
    workspace_id, _owner = _workspace()

    effect = await billing_effect.preview(workspace_id, seats_delta=1)

    assert effect == billing_effect.Effect(billing_effect.TRIAL_NOTE)
    assert await billing_effect.preview(workspace_id) == billing_effect.Effect("")


def test_history_labels_what_stripe_prorated_for_a_quantity_update():
    from clerk_portal.pages.billing.history import _amount_label

    def entry(kind: str, cents: int | None) -> history.ActivityEntry:
        return history.ActivityEntry(1, "Clerk Chat", kind, "", cents, "usd", NOW)

    assert _amount_label(entry("quantities", 800)) == "+$8.00 prorated"
    assert _amount_label(entry("quantities", -4900)) == "-$49.00 credit"
    assert _amount_label(entry("number_added", 0)) == "No charge"
    assert _amount_label(entry("invoice_paid", 2900)) == "$29.00"
    assert _amount_label(entry("quantities", None)) == ""


async def test_the_chart_counts_invoices_a_demo_clock_dated_ahead_of_now():
    """Issue 16: after "Advance a month" the renewal (dated by the test clock) was left out."""
    from clerk_portal.billing.read_models import history_page
    from clerk_portal.models import utcnow

    workspace_id, _owner = _workspace()
    now = utcnow()
    ahead = (now.replace(day=1) + timedelta(days=62)).replace(day=3)
    _invoice(workspace_id, "now", now, 4900, "paid")
    _invoice(workspace_id, "ahead", ahead, 4900, "paid")

    months = await history_page.load_monthly_invoiced(workspace_id)

    assert len(months) == 12
    assert (months[-1].year, months[-1].month) == (ahead.year, ahead.month)
    assert months[-1].invoiced_cents == 4900
    assert sum(m.invoiced_cents for m in months) == 9800


async def test_the_history_page_reads_the_workspaces_time_zone():
    from clerk_portal.billing.read_models import history_page
    from clerk_portal.models import Workspace

    workspace_id, _owner = _workspace()
    assert await history_page.load_time_zone(workspace_id) == "UTC"  # the default
    with session_scope() as session:
        workspace = session.get(Workspace, workspace_id)
        workspace.time_zone = "America/Los_Angeles"
        session.add(workspace)
    assert await history_page.load_time_zone(workspace_id) == "America/Los_Angeles"


def test_an_entry_that_says_its_amount_gets_no_badge_saying_it_again():
    """Seen on a new user's walk through the demo: "Olivia Park upgraded to Business (yearly):
    $1,176.00 charged" beside a $1,176.00 badge (and, before, "Invoice X paid: $49.00")."""
    from clerk_portal.pages.billing.history import _activity_row

    def row(kind: str, summary: str, cents: int | None) -> dict:
        return dict(
            _activity_row(history.ActivityEntry(1, "A", kind, summary, cents, "usd", NOW), "UTC")
        )

    said = row("upgrade", "Olivia Park upgraded to Business (yearly): $1,176.00 charged", 117600)
    assert said["amount"] == ""
    assert row("invoice_paid", "Invoice 0001 paid: $49.00", 4900)["amount"] == ""  # older rows
    assert row("invoice_paid", "Invoice 0001 paid", 4900)["amount"] == "$49.00"
    assert row("quantities", "Olivia added a seat", -4900)["amount"] == "-$49.00 credit"
    assert row("number_added", "Olivia added a number", 0)["amount"] == "No charge"
