"""What the billing pages read (billing.read_models: invoices, details, current_plan,
history_page) and the sales-lead service: their rows, in their order, of their workspace only.

Every test makes another workspace first, so that a query that lost its workspace filter would
find that workspace's rows first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from clerk_portal.billing import ledger
from clerk_portal.billing.read_models import current_plan, details, history_page, invoices
from clerk_portal.billing.services import sales_leads
from clerk_portal.core.db import session_scope
from clerk_portal.core.errors import NotFound
from clerk_portal.models import EnterpriseInquiry, utcnow
from clerk_portal.workspace import repository

DAY = [datetime(2026, 3, day, 9, 0, tzinfo=UTC) for day in range(1, 10)]


def _workspace(name: str, *, members: int = 0, numbers: int = 0, **account: object) -> int:
    with session_scope() as session:
        user = repository.upsert_user(
            session, issuer="t", subject=name, email=f"owner@{name}.example", name=f"{name} owner"
        )
        workspace = repository.create_workspace(
            session, name=name, owner_email=user.email, owner_user_id=user.id
        )
        for index in range(members):
            repository.add_member(
                session, workspace_id=workspace.id, email=f"m{index}@{name}.example"
            )
        for index in range(numbers):
            repository.add_number(
                session, workspace_id=workspace.id, e164=f"+1415555{workspace.id:02d}{index:02d}"
            )
        row = repository.get_billing_account(session, workspace_id=workspace.id)
        for field, value in account.items():
            setattr(row, field, value)
        return workspace.id


def _invoice(workspace_id: int, key: str, created: datetime, **fields: object) -> None:
    with session_scope() as session:
        ledger.upsert_invoice(
            session,
            workspace_id=workspace_id,
            stripe_invoice_id=f"in_{key}",
            created=created,
            **fields,
        )


# --- invoices ---------------------------------------------------------------------------------


async def test_invoices_are_the_workspace_own_newest_first_a_page_at_a_time():
    other = _workspace("other")
    acme = _workspace("acme")
    _invoice(other, "o1", DAY[5], number="O-1", status="paid", total_cents=1)
    _invoice(acme, "a1", DAY[1], number="A-1", status="paid", total_cents=4900)
    _invoice(
        acme,
        "a2",
        DAY[3],
        number="A-2",
        status="open",
        total_cents=9800,
        currency="eur",
        period_start=DAY[2],
        period_end=DAY[3],
        invoice_pdf_url="https://files.example/a2.pdf",
    )
    _invoice(acme, "a3", DAY[3], status="draft", total_cents=100)  # same moment: by id
    _invoice(other, "o2", DAY[2], number="O-2", status="open", total_cents=2)

    first = await invoices.load_invoice_page(acme, limit=2)
    rest = await invoices.load_invoice_page(acme, limit=2, cursor=first.next_cursor)

    assert [(row.number, row.status, row.total_cents) for row in first.items] == [
        (None, "draft", 100),
        ("A-2", "open", 9800),
    ]
    a2 = first.items[1]
    assert (a2.currency, a2.created, a2.period_start, a2.period_end, a2.pdf_url) == (
        "eur",
        DAY[3],
        DAY[2],
        DAY[3],
        "https://files.example/a2.pdf",
    )
    assert [(row.number, row.currency, row.pdf_url) for row in rest.items] == [("A-1", "usd", None)]
    assert rest.next_cursor is None
    assert [row.number for row in (await invoices.load_invoice_page(other, limit=10)).items] == [
        "O-1",
        "O-2",
    ]


async def test_a_workspace_without_invoices_has_an_empty_list_even_when_another_has_some():
    other = _workspace("other")
    _invoice(other, "o1", DAY[1], number="O-1", status="paid", total_cents=1)
    acme = _workspace("acme")

    page = await invoices.load_invoice_page(acme, limit=10)

    assert (page.items, page.next_cursor) == ([], None)


# --- billing details --------------------------------------------------------------------------


async def test_saved_details_are_the_workspace_own_with_blanks_for_what_is_unset():
    _workspace("other", billing_email="ap@other.example", po_number="PO-OTHER", tax_id="T-O")
    acme = _workspace(
        "acme",
        billing_email="billing@acme.example",
        billing_name="Acme Dental LLC",
        address_line1="1 Main St",
        address_city="Springfield",
        address_country="US",
        po_number="PO-7",
    )

    saved = await details.load_saved_details(acme)

    assert saved == details.SavedDetails(
        billing_email="billing@acme.example",
        billing_name="Acme Dental LLC",
        address_line1="1 Main St",
        address_line2="",
        address_city="Springfield",
        address_state="",
        address_postal_code="",
        address_country="US",
        tax_id="",
        po_number="PO-7",
    )


async def test_saved_details_of_a_workspace_without_an_account_are_refused():
    _workspace("other", billing_email="ap@other.example")

    with pytest.raises(NotFound):
        await details.load_saved_details(999)


# --- the upgrade page's starting point --------------------------------------------------------


async def test_current_plan_counts_the_workspace_own_seats_and_numbers():
    _workspace(
        "other",
        members=4,
        numbers=3,
        plan="business",
        interval="year",
        status="active",
        stripe_subscription_id="sub_other",
    )
    acme = _workspace("acme", members=1, numbers=1)

    assert await current_plan.load_current_plan(acme) == current_plan.CurrentPlan(
        seats=2, numbers=1, plan=None, interval=None, subscribed=False
    )


async def test_current_plan_is_subscribed_until_the_subscription_is_canceled():
    _workspace("other", status="canceled", stripe_subscription_id="sub_other", plan="startup")
    acme = _workspace(
        "acme",
        plan="business",
        interval="month",
        status="past_due",
        stripe_subscription_id="sub_acme",
    )

    running = await current_plan.load_current_plan(acme)
    with session_scope() as session:
        account = repository.get_billing_account(session, workspace_id=acme)
        account.status = "canceled"
    ended = await current_plan.load_current_plan(acme)

    assert (running.plan, running.interval, running.subscribed) == ("business", "month", True)
    assert (ended.plan, ended.subscribed) == ("business", False)


# --- billing history --------------------------------------------------------------------------


def _activity(workspace_id: int, summary: str, when: datetime, actor: int | None = None) -> None:
    with session_scope() as session:
        ledger.record_activity(
            session,
            workspace_id=workspace_id,
            kind="note",
            summary=summary,
            actor_user_id=actor,
            amount_cents=100,
            now=when,
        )


async def test_history_activity_is_the_workspace_own_newest_first_a_page_at_a_time():
    other = _workspace("other")
    acme = _workspace("acme")
    _activity(other, "other's newest", DAY[8])
    _activity(acme, "first", DAY[1])
    _activity(acme, "second", DAY[2])
    _activity(other, "other's oldest", DAY[0])
    _activity(acme, "third", DAY[3])

    first = await history_page.load_activity(acme, limit=2)
    rest = await history_page.load_activity(acme, limit=2, cursor=first.next_cursor)

    assert [entry.summary for entry in first.items] == ["third", "second"]
    assert [entry.summary for entry in rest.items] == ["first"]
    assert rest.next_cursor is None
    assert all(entry.actor_name == "Clerk Chat" for entry in [*first.items, *rest.items])


async def test_history_months_total_the_workspace_own_invoices_up_to_this_month():
    now = utcnow()
    this_month = now.replace(day=1, hour=0, minute=0, second=1, microsecond=0)
    other = _workspace("other")
    acme = _workspace("acme")
    _invoice(other, "o1", this_month, status="paid", total_cents=7777)
    _invoice(acme, "a1", this_month, status="paid", total_cents=4900)
    _invoice(acme, "a2", this_month + timedelta(seconds=1), status="open", total_cents=100)
    _invoice(acme, "a3", this_month, status="draft", total_cents=5000)  # not invoiced yet

    months = await history_page.load_monthly_invoiced(acme)
    others = await history_page.load_monthly_invoiced(other)

    assert len(months) == 12
    assert (months[-1].year, months[-1].month) == (now.year, now.month)
    assert [m.invoiced_cents for m in months] == [0] * 11 + [5000]
    assert [m.invoiced_cents for m in others] == [0] * 11 + [7777]


# --- sales leads ------------------------------------------------------------------------------


async def test_a_sales_lead_is_stored_as_the_form_gave_it_cleaned():
    inquiry = sales_leads.read_form(
        {
            "name": " Pat Lee ",
            "email": "Pat@BigClinic.example",
            "company": "Big Clinic",
            "seats": "250",
            "numbers": "",
            "message": "A quote, please.",
        }
    )

    await sales_leads.record_inquiry(inquiry)

    with session_scope() as session:
        [lead] = session.exec(select(EnterpriseInquiry)).all()
        stored = (lead.name, lead.email, lead.company, lead.seats, lead.phone_numbers, lead.message)
    assert stored == (
        "Pat Lee",
        "pat@bigclinic.example",
        "Big Clinic",
        250,
        None,
        "A quote, please.",
    )
