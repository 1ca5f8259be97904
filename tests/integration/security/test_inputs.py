"""Issue 11, unbounded inputs: every text the server accepts is capped and free of control and
text-direction characters, and what anonymous clients can make it write is bounded.

Each test is an attack from the assessment, run against the real database (SQLite; PostgreSQL with
TEST_POSTGRES_URL), the portal's own HTTP routes with a real OIDC provider, and Redis
(TEST_REDIS_URL) for the limiter several workers share. The websocket side of contact sales is in
tests/e2e/test_security_inputs.py.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from clerk_portal.auth import login_limits
from clerk_portal.auth.sessions import LOGIN_ATTEMPT_LIFETIME
from clerk_portal.billing.services import cancel, details
from clerk_portal.billing.services import sales_leads as contact_sales
from clerk_portal.core import rate_limit, routes, text_input
from clerk_portal.core.db import engine_for, session_scope
from clerk_portal.core.errors import DomainError, InvalidValue
from clerk_portal.core.settings import get_settings
from clerk_portal.models import EnterpriseInquiry, LoginAttempt, User, utcnow
from clerk_portal.workspace import changes, repository
from clerk_portal.workspace.changes import Actor
from tests.support import workspaces
from tests.support.oidc import running_provider
from tests.support.ports import free_port

REDIS_URL = os.environ.get("TEST_REDIS_URL")
PORTAL = "http://localhost:3000"
HUGE_EMAIL = "a" * 900_000 + "@x.example"  # the 900 KB address that broke the team table
# NUL, escape, C1 "next line", and the bidi override, embedding and isolate characters.
CONTROLS = ["\x00", "\x1b", "\x85", "\u202e", "\u202d", "\u202b", "\u2066", "\u2068", "\u200f"]


@pytest.fixture
def portal_database(monkeypatch, database_url, provider):
    """A demo-mode portal on this test's database, signing in with the OIDC provider."""
    for name in ("PUBLIC_URL", "ALLOWED_ORIGINS", "REDIS_URL", "DEV_BACKEND_PORT"):
        monkeypatch.delenv(name, raising=False)
    values = {
        "PORTAL_MODE": "demo",
        "DATABASE_URL": database_url,
        "PORT": "3000",
        "OIDC_ISSUER": provider.issuer,
        "OIDC_CLIENT_ID": "clerk-portal",
        "OIDC_CLIENT_SECRET": "test-secret",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def provider():
    with running_provider() as provider:
        yield provider


@pytest.fixture
def http(portal_database):
    from clerk_portal.web.api import build_api

    with TestClient(build_api(), base_url=PORTAL, follow_redirects=False) as client:
        yield client


@pytest.fixture
def owner(portal_database) -> Actor:
    with session_scope() as session:
        return workspaces.owner_actor(session)


def _members(workspace_id: int) -> list[tuple[str, str]]:
    with session_scope() as session:
        members = repository.list_members(session, workspace_id=workspace_id)
        return [(member.email, member.status) for member in members]


def _rows(model) -> list:
    with Session(engine_for(get_settings().database_url)) as session:
        return list(session.exec(select(model)).all())


# --- invitations --------------------------------------------------------------------------------


def test_an_invite_email_with_a_control_or_bidi_character_is_refused(owner):
    before = _members(owner.workspace_id)

    for control in CONTROLS:  # "pat\u202e..." would read as another address in the team table
        for attempt in (changes.check_invite, changes.invite_member):
            with pytest.raises(InvalidValue, match="control or text-direction characters"):
                attempt(owner, email=f"pat{control}@acme.example", role="member")

    assert _members(owner.workspace_id) == before


def test_a_900_kb_invite_email_is_refused_and_the_team_table_is_unaffected(owner):
    before = _members(owner.workspace_id)

    for attempt in (changes.check_invite, changes.invite_member):
        with pytest.raises(InvalidValue) as refused:
            attempt(owner, email=HUGE_EMAIL, role="member")
        assert refused.value.message == "The email address can be at most 254 characters."

    assert _members(owner.workspace_id) == before
    # The longest address allowed still goes in, and the table shows it whole.
    longest = "b" * 64 + "@" + "c" * 181 + ".example"
    assert len(longest) == text_input.EMAIL
    changes.invite_member(owner, email=longest, role="member")
    assert (longest, "invited") in _members(owner.workspace_id)


def test_a_huge_phone_number_is_refused_without_being_repeated_back(owner):
    for attempt in (changes.check_number, changes.add_number):
        with pytest.raises(InvalidValue) as refused:
            attempt(owner, e164="+1" + "5" * 900_000)
        assert len(refused.value.message) < 100

    assert changes.add_number(owner, e164=" +1 (415)  555-0100 ").summary.endswith("0100")


# --- billing details and the cancel comment -----------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Acme\u202eLtd", "The name on invoices contains control"),
        ("line1", "1 Main St\x00", "The address line 1 contains control"),
        ("po_number", "P" * 65, "The PO number can be at most 64 characters."),
        ("city", "C" * 900_000, "The city can be at most 100 characters."),
        ("email", HUGE_EMAIL, "Enter the email address invoices should go to."),
        ("email", "billing\u202e@acme.example", "Enter the email address invoices should go to."),
    ],
)
def test_billing_details_refuse_control_characters_and_overlong_values(field, value, message):
    fields = {"email": "billing@acme.example", "country": "US", field: value}

    with pytest.raises(InvalidValue, match=message.replace(".", r"\.")):
        details.validate(details.BillingDetails(**fields))


def test_billing_details_are_normalized():
    saved = details.validate(
        details.BillingDetails(email=" Billing@Acme.Example ", name="Acme\t  Dental ", country="us")
    )

    assert (saved.email, saved.name, saved.country) == ("billing@acme.example", "Acme Dental", "US")


def test_a_cancel_comment_with_control_characters_or_over_500_characters_is_refused():
    with pytest.raises(InvalidValue, match="control"):
        cancel._check_reason("other", "bye\x00")
    with pytest.raises(InvalidValue, match="at most 500"):
        cancel._check_reason("other", "x" * 501)
    assert cancel._check_reason("other", "Too\r\n\r\n\r\n\r\nexpensive ") == "Too\n\nexpensive"


# --- contact sales: the form rules and the total bound --------------------------------------------


@pytest.mark.parametrize("field", ["name", "email", "company", "message"])
def test_a_megabyte_in_any_contact_sales_field_is_refused(field):
    form = {"name": "Pat Lee", "email": "pat@bigclinic.example", "company": "Big", "message": "Hi"}
    form[field] = "x" * 999_000 + ("@x.example" if field == "email" else "")

    with pytest.raises(InvalidValue, match="can be at most"):
        contact_sales.read_form(form)


@pytest.mark.parametrize("field", ["name", "email", "company", "message"])
def test_a_nul_or_bidi_override_in_a_contact_sales_field_is_refused(field):
    form = {"name": "Pat Lee", "email": "pat@bigclinic.example", "company": "Big", "message": "Hi"}
    form[field] = "pat\u202e\x00@bigclinic.example"

    with pytest.raises(InvalidValue, match="control or text-direction characters"):
        contact_sales.read_form(form)


@pytest.mark.parametrize("seats", ["1" * 5000, "²", "١٢", "-3", "1e9"])
def test_contact_sales_counts_are_small_ascii_whole_numbers(seats):
    form = {"name": "Pat", "email": "pat@bigclinic.example", "seats": seats}

    with pytest.raises(InvalidValue, match="number of seats"):
        contact_sales.read_form(form)


def test_contact_sales_stores_at_most_the_hourly_total_from_everyone(portal_database):
    inquiry = contact_sales.read_form({"name": "Pat", "email": "pat@bigclinic.example"})
    with session_scope() as session:  # an old request no longer counts
        session.add(
            EnterpriseInquiry(
                name="Old", email="old@x.example", created_at=utcnow() - timedelta(hours=2)
            )
        )

    for _ in range(contact_sales.TOTAL_PER_HOUR):
        contact_sales._store(inquiry)
    with pytest.raises(DomainError, match="many requests in the last hour"):
        contact_sales._store(inquiry)

    assert len(_rows(EnterpriseInquiry)) == contact_sales.TOTAL_PER_HOUR + 1


# --- sign-in: the name claim and the login attempts -----------------------------------------------


def _sign_in(http, provider, subject: str):
    started = http.get(routes.AUTH_LOGIN)
    assert started.status_code == 302, started.text
    callback = provider.approve(started.headers["location"], subject)
    return http.get(
        routes.AUTH_CALLBACK, params={"code": callback["code"], "state": callback["state"]}
    )


def test_a_long_name_claim_with_control_characters_is_cleaned_and_capped(http, provider):
    claim = "Mallory\u202e\x00 \t" + "x" * 5000
    provider.set_user("mallory", email="mallory@acme.example", name=claim)

    finished = _sign_in(http, provider, "mallory")

    assert finished.status_code == 303  # the sign-in itself is not refused over a display name
    (user,) = _rows(User)
    assert len(user.name) == text_input.NAME
    assert user.name.startswith("Mallory x")
    assert not any(text_input.forbidden(char) for char in user.name)


def test_a_login_flood_from_one_client_is_answered_429_and_rows_stay_bounded(http):
    allowed = login_limits.PER_CLIENT.count
    answers = [http.get(routes.AUTH_LOGIN).status_code for _ in range(allowed + 10)]

    assert answers == [302] * allowed + [429] * 10
    refused = http.get(routes.AUTH_LOGIN)
    assert refused.status_code == 429
    assert "Too many sign-ins were started from here" in refused.text
    assert len(_rows(LoginAttempt)) == allowed


def test_expired_login_attempts_are_deleted_when_a_sign_in_starts(http):
    old = utcnow() - LOGIN_ATTEMPT_LIFETIME - timedelta(seconds=1)
    with session_scope() as session:
        for number in range(50):
            session.add(
                LoginAttempt(
                    handle_hash=f"{number:064d}",
                    state="s",
                    nonce="n",
                    code_verifier="v",
                    created_at=old,
                )
            )

    assert http.get(routes.AUTH_LOGIN).status_code == 302

    (live,) = _rows(LoginAttempt)
    assert live.handle_hash != f"{0:064d}"


def test_live_login_attempts_are_capped_in_total(http, monkeypatch):
    """Many clients together (each under its own limit) cannot grow the table past the cap."""
    monkeypatch.setattr(login_limits, "MAX_LIVE_ATTEMPTS", 3)

    answers = [http.get(routes.AUTH_LOGIN).status_code for _ in range(5)]

    assert answers == [302, 302, 302, 429, 429]
    assert len(_rows(LoginAttempt)) == 3


# --- the limiter itself ---------------------------------------------------------------------

LIMIT = rate_limit.Limit("test", count=5, seconds=600)


def test_the_memory_limiter_counts_each_client_apart_and_forgets_after_the_window():
    limiter = rate_limit.MemoryLimiter()
    answers = [limiter.take([(LIMIT, "1.2.3.4")], now=100.0) for _ in range(7)]

    assert answers == [None] * 5 + [LIMIT] * 2
    assert limiter.take([(LIMIT, "5.6.7.8")], now=100.0) is None
    assert limiter.take([(LIMIT, "1.2.3.4")], now=100.0 + LIMIT.seconds) is None


def test_a_hit_refused_by_one_limit_is_not_counted_by_the_others():
    limiter = rate_limit.MemoryLimiter()
    total = rate_limit.Limit("total", count=2, seconds=60)
    for client in ("a", "b"):
        assert limiter.take([(LIMIT, client), (total, "all")], now=1.0) is None

    assert limiter.take([(LIMIT, "c"), (total, "all")], now=1.0) is total
    assert limiter.take([(LIMIT, "c")], now=1.0) is None
    assert [limiter.take([(LIMIT, "c")], now=1.0) for _ in range(5)][-1] is LIMIT


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL not set (CI sets it)")
def test_workers_share_one_allowance_through_redis():
    namespace = rate_limit.namespace_for(f"test-{os.getpid()}-{id(object())}")
    workers = [
        rate_limit.RedisLimiter(REDIS_URL, namespace, rate_limit.MemoryLimiter()) for _ in range(2)
    ]

    async def flood() -> list[rate_limit.Limit | None]:
        return [await workers[n % 2].take([(LIMIT, "9.9.9.9")]) for n in range(8)]

    assert asyncio.run(flood()) == [None] * 5 + [LIMIT] * 3
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    key = workers[0].key(LIMIT, "9.9.9.9")
    assert client.zcard(key) == 5
    assert 0 < client.pttl(key) <= LIMIT.seconds * 1000  # nothing stays in Redis for good
    client.delete(key)


def test_a_worker_whose_redis_is_down_still_limits_on_its_own():
    down = rate_limit.RedisLimiter(
        f"redis://127.0.0.1:{free_port()}/3", "down", rate_limit.MemoryLimiter()
    )

    async def flood() -> list[rate_limit.Limit | None]:
        return [await down.take([(LIMIT, "9.9.9.9")]) for _ in range(6)]

    assert asyncio.run(flood()) == [None] * 5 + [LIMIT]
