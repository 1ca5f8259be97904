"""Sales quotes against the sandbox: create (customer, coupon, finalized quote, the row), the
share link's reads, the PDF, accept through the upgrade service (once), and the refusals:
expired, withdrawn, already accepted, another workspace's, bad input."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import httpx
import pypdf
import pytest
from sqlmodel import select

from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services import quotes
from clerk_portal.core import routes
from clerk_portal.core.db import session_scope
from clerk_portal.core.errors import InvalidValue, NotFound
from clerk_portal.core.settings import get_settings
from clerk_portal.models import Quote
from clerk_portal.web.api import build_api

from .conftest import Env, make_workspace

TODAY = date.today()
FORM = {
    "plan": "business",
    "interval": "month",
    "seats": "5",
    "numbers": "4",  # 3 included: one extra
    "company": "Bright Smiles",
    "email": "dana@brightsmiles.example",
    "note": "As discussed on the call.",
    "discount": "20%",
    "discount_duration": "repeating",
    "discount_months": "3",
    "expires": (TODAY + timedelta(days=14)).isoformat(),
}
# Business monthly: 5 seats x $49 + 1 extra number x $8 = $253.00; 20% off: $202.40
SUBTOTAL, TOTAL = 25300, 20240


async def _quote(**changes: object) -> quotes.QuoteView:
    return await quotes.create_quote(quotes.read_request({**FORM, **changes}), actor_user_id=None)


async def _accept(env: Env, view: quotes.QuoteView, workspace_id: int, owner_id: int):
    start = await quotes.start_acceptance(token=view.token, workspace_id=workspace_id)
    env.confirm_card(start)
    return await quotes.accept_quote(
        token=view.token,
        workspace_id=workspace_id,
        actor_user_id=owner_id,
        setup_intent_id=start.setup_intent_id,
    )


async def test_a_quote_is_stripes_finalized_quote_with_its_coupon(env: Env) -> None:
    view = await _quote()
    assert view.status == "open" and view.number.startswith("QT-")
    assert len(view.token) >= 32 and view.token not in view.stripe_quote_id
    assert (view.subtotal_cents, view.total_cents) == (SUBTOTAL, TOTAL)
    assert view.discount_cents == SUBTOTAL - TOTAL
    assert view.discount_label == "20% off for 3 months"
    assert view.recurring_cents == SUBTOTAL  # a repeating coupon: Stripe's recurring is full
    assert view.per_year_cents == 12 * SUBTOTAL
    assert view.included_numbers == 3
    stripe_quote = env.stripe().v1.quotes.retrieve(view.stripe_quote_id)
    assert stripe_quote.status == "open" and stripe_quote.amount_total == TOTAL
    coupon = env.stripe().v1.coupons.retrieve(view.coupon_id)
    assert (coupon.percent_off, coupon.duration, coupon.duration_in_months) == (20, "repeating", 3)
    assert (await quotes.quote_by_token(view.token)).number == view.number


async def test_the_pdf_prints_the_terms(env: Env) -> None:
    view = await _quote()
    filename, pdf = await quotes.quote_pdf(view.token)
    assert filename == f"Quote-{view.number}.pdf"
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for expected in (view.number, "Bright Smiles", "$253.00", "-$50.60", "$202.40", "Valid until"):
        assert expected in text, expected


async def test_accepting_starts_the_subscription_at_the_quoted_terms_once(env: Env) -> None:
    view = await _quote()
    workspace_id, owner_id = make_workspace(name="Bright Smiles")  # 1 seat, no numbers yet

    result = await _accept(env, view, workspace_id, owner_id)

    assert (result.status, result.amount_charged_cents) == ("active", TOTAL)
    overview = await load_overview(workspace_id)
    assert (overview.plan, overview.interval, overview.status) == ("business", "month", "active")
    assert (overview.seats_billed, overview.extra_numbers_billed) == (5, 1)
    accepted = await quotes.quote_by_token(view.token)
    assert accepted.status == "accepted" and accepted.accepted_workspace_id == workspace_id
    sub = env.stripe().v1.subscriptions.list({"customer": overview_customer(workspace_id)}).data
    assert len(sub) == 1 and len(sub[0].discounts) == 1  # the quote's coupon, 3 months

    # twice in a row: refused, nothing more at Stripe
    with pytest.raises(BillingError, match="already been accepted"):
        await quotes.start_acceptance(token=view.token, workspace_id=workspace_id)
    with pytest.raises(BillingError, match="already been accepted"):
        await quotes.accept_quote(
            token=view.token,
            workspace_id=workspace_id,
            actor_user_id=owner_id,
            setup_intent_id="seti_x",
        )
    assert len(env.stripe().v1.subscriptions.list({"status": "all"}).data) == 1


def overview_customer(workspace_id: int) -> str:
    from clerk_portal.workspace import repository

    with session_scope() as session:
        account = repository.get_billing_account(session, workspace_id=workspace_id)
        assert account.stripe_customer_id
        return account.stripe_customer_id


async def test_two_tabs_accepting_at_once_make_one_subscription(env: Env) -> None:
    view = await _quote(discount="")
    workspace_id, owner_id = make_workspace(name="Bright Smiles")
    starts = [
        await quotes.start_acceptance(token=view.token, workspace_id=workspace_id) for _ in range(2)
    ]
    for start in starts:
        env.confirm_card(start)
    outcomes = await asyncio.gather(
        *[
            quotes.accept_quote(
                token=view.token,
                workspace_id=workspace_id,
                actor_user_id=owner_id,
                setup_intent_id=start.setup_intent_id,
            )
            for start in starts
        ],
        return_exceptions=True,
    )
    wins = [o for o in outcomes if not isinstance(o, BaseException)]
    assert wins, outcomes
    assert all(isinstance(o, BillingError) for o in outcomes if o not in wins), outcomes
    live = [
        s
        for s in env.stripe().v1.subscriptions.list({"status": "all"}).data
        if s.status == "active"
    ]
    assert len(live) == 1
    assert (await quotes.quote_by_token(view.token)).status == "accepted"


async def test_another_workspace_cannot_accept_a_quote_already_accepted(env: Env) -> None:
    view = await _quote()
    first, first_owner = make_workspace(name="Bright Smiles")
    await _accept(env, view, first, first_owner)
    other, _ = make_workspace(name="Rival")
    with pytest.raises(BillingError, match="already been accepted"):
        await quotes.start_acceptance(token=view.token, workspace_id=other)


async def test_an_expired_quote_says_so_and_cannot_be_accepted(env: Env) -> None:
    view = await _quote()
    with session_scope() as session:  # its validity ran out (as if days went by)
        row = session.exec(select(Quote).where(Quote.token == view.token)).one()
        row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    expired = await quotes.quote_by_token(view.token)
    assert expired.status == "expired"
    assert expired.refusal().startswith("This quote expired on")
    workspace_id, _ = make_workspace()
    with pytest.raises(BillingError, match="expired"):
        await quotes.start_acceptance(token=view.token, workspace_id=workspace_id)
    assert env.stripe().v1.subscriptions.list({"status": "all"}).data == []


async def test_a_withdrawn_quote_says_so_and_cannot_be_accepted(env: Env) -> None:
    view = await _quote()
    canceled = await quotes.cancel_quote(view.token, actor_user_id=None)
    assert canceled.status == "canceled"
    assert env.stripe().v1.quotes.retrieve(view.stripe_quote_id).status == "canceled"
    workspace_id, owner_id = make_workspace()
    with pytest.raises(BillingError, match="withdrawn"):
        await quotes.start_acceptance(token=view.token, workspace_id=workspace_id)
    with pytest.raises(BillingError, match="withdrawn"):
        await quotes.accept_quote(
            token=view.token,
            workspace_id=workspace_id,
            actor_user_id=owner_id,
            setup_intent_id="seti_x",
        )
    with pytest.raises(BillingError, match="canceled"):
        await quotes.cancel_quote(view.token, actor_user_id=None)


async def test_an_unknown_token_is_not_found(env: Env) -> None:
    await _quote()
    for token in ("x" * 32, "", "../../etc", None, 12):
        with pytest.raises(NotFound, match="does not exist"):
            await quotes.quote_by_token(token)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"plan": "enterprise"}, "Startup or Business"),
        ({"plan": "startup", "seats": "11"}, "up to 10 seats"),
        ({"interval": "week"}, "monthly or yearly"),
        ({"seats": "2.5"}, "whole number"),
        ({"seats": ""}, "number of seats"),
        ({"company": ""}, "company"),
        ({"email": "dana"}, "not an email"),
        ({"discount": "120%"}, "at most 100%"),
        ({"discount": "ten"}, "percentage"),
        ({"discount_duration": "weekly"}, "once, for some months"),
        ({"discount_months": "0"}, "1 to 36 months"),
        ({"expires": TODAY.isoformat()}, "after today"),
        ({"expires": "31/01/2027"}, "a date like"),
        ({"expires": (TODAY + timedelta(days=400)).isoformat()}, "at most 365 days"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_created(
    env: Env, change: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidValue, match=message):
        await _quote(**change)
    assert env.stripe().v1.quotes.list().data == []
    with session_scope() as session:
        assert session.exec(select(Quote)).all() == []


async def test_an_amount_discount_forever_is_in_every_period(env: Env) -> None:
    view = await _quote(discount="$50", discount_duration="forever")
    assert (view.total_cents, view.recurring_cents) == (SUBTOTAL - 5000, SUBTOTAL - 5000)
    assert view.discount_label == "$50.00 off"


def test_the_command_prints_the_share_link(env: Env) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "clerk_portal",
            "quote",
            "create",
            "--plan",
            "startup",
            "--interval",
            "year",
            "--seats",
            "3",
            "--numbers",
            "2",
            "--prospect",
            "Acme Vets",
            "--email",
            "ops@acmevets.example",
            "--discount",
            "10%",
            "--expires",
            (TODAY + timedelta(days=10)).isoformat(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    link = done.stdout.strip()
    assert link.startswith(get_settings().portal_url + "/quote/")
    with session_scope() as session:
        row = session.exec(select(Quote)).one()
    assert link.endswith(row.token)
    # Startup yearly: 3 x $290 + 1 extra number x $100 = $970; 10% off the first year
    assert (row.subtotal_cents, row.total_cents) == (97000, 87300)

    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "clerk_portal",
            "quote",
            "create",
            "--plan",
            "startup",
            "--interval",
            "year",
            "--seats",
            "30",
            "--numbers",
            "2",
            "--prospect",
            "Acme",
            "--email",
            "ops@acme.example",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 1 and "up to 10 seats" in bad.stderr


async def test_the_pdf_route_serves_the_quote_by_its_token_only(env: Env) -> None:
    """GET /quotes/{token}/pdf: public like the link (no cookie), the token is the key; an
    unknown token is a 404 before Stripe is asked."""
    view = await _quote()
    transport = httpx.ASGITransport(app=build_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:3000") as http:
        found = await http.get(routes.QUOTE_PDF.replace("{token}", view.token))
        asked = len(env.sandbox.requests_log("/v1/quotes"))
        missing = await http.get(routes.QUOTE_PDF.replace("{token}", "x" * 32))
    assert found.status_code == 200 and found.content.startswith(b"%PDF")
    assert found.headers["content-type"] == "application/pdf"
    assert f'filename="Quote-{view.number}.pdf"' in found.headers["content-disposition"]
    assert missing.status_code == 404 and "does not exist" in missing.text
    assert len(env.sandbox.requests_log("/v1/quotes")) == asked
