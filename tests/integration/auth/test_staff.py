"""Clerk Chat staff (sales reps): a verified email in `SALES_EMAIL_DOMAINS`, or the demo's sales
persona. Staff are in no workspace; nobody else is staff."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from clerk_portal.auth.principals import staff_for_token
from clerk_portal.auth.sessions import SESSION_COOKIE
from clerk_portal.core import routes
from clerk_portal.core.db import engine_for
from clerk_portal.core.settings import get_settings
from clerk_portal.demo.seed import seed_demo
from clerk_portal.models import User, Workspace
from clerk_portal.ui.guard import principal_for_token

from .conftest import PORTAL
from .test_sign_in_routes import sign_in


@pytest.fixture
def sales_domain(portal_env, monkeypatch):
    monkeypatch.setenv("SALES_EMAIL_DOMAINS", "clerkchat.example, Sales.Clerkchat.example")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _workspaces(database_url):
    with Session(engine_for(database_url)) as session:
        return session.exec(select(Workspace)).all()


def test_a_verified_email_in_a_sales_domain_is_staff_in_no_workspace(
    http, provider, database_url, sales_domain
):
    provider.set_user("rep", email="rep@clerkchat.example", name="Rita Rep", email_verified=True)
    _, finished = sign_in(http, provider, subject="rep", next_path="/")

    assert finished.headers["location"] == routes.SALES  # a rep lands on the sales page
    token = http.cookies[SESSION_COOKIE]
    staff = staff_for_token(token=token)
    assert staff is not None and (staff.user_name, staff.user_email) == (
        "Rita Rep",
        "rep@clerkchat.example",
    )
    assert principal_for_token(token) is None  # not a member of any workspace
    assert _workspaces(database_url) == []


@pytest.mark.parametrize(
    ("email", "verified"),
    [
        ("rep@clerkchat.example", False),  # the provider did not verify it
        ("rep@clerkchat.example.evil.example", True),  # a look-alike domain
        ("rep@evilclerkchat.example", True),
        ("rep@acme.example", True),
    ],
)
def test_anyone_else_is_not_staff(http, provider, database_url, sales_domain, email, verified):
    provider.set_user("someone", email=email, name="Some One", email_verified=verified)
    sign_in(http, provider, subject="someone", next_path="/")

    token = http.cookies[SESSION_COOKIE]
    assert staff_for_token(token=token) is None
    assert principal_for_token(token).role == "owner"  # an ordinary sign-up: their own trial


def test_removing_the_domain_ends_staff_access_at_once(
    http, provider, database_url, sales_domain, monkeypatch
):
    provider.set_user("rep", email="rep@clerkchat.example", name="Rita Rep", email_verified=True)
    sign_in(http, provider, subject="rep", next_path="/")
    token = http.cookies[SESSION_COOKIE]
    assert staff_for_token(token=token) is not None

    monkeypatch.setenv("SALES_EMAIL_DOMAINS", "other.example")
    get_settings.cache_clear()

    assert staff_for_token(token=token) is None


def test_the_demo_sales_persona_is_staff(http, portal_env, database_url):
    with Session(engine_for(database_url)) as session:
        seed_demo(session)
        session.commit()

    response = http.post(routes.AUTH_DEMO, data={"as": "sales"}, headers={"origin": PORTAL})

    assert response.status_code == 303 and response.headers["location"] == routes.SALES
    token = http.cookies[SESSION_COOKIE]
    assert staff_for_token(token=token).user_name == "Sam Rivera"
    assert principal_for_token(token) is None
    with Session(engine_for(database_url)) as session:
        owner = session.exec(select(User).where(User.subject == "owner")).one()
        assert not owner.is_staff
    # the workspace's people are not staff
    response = http.post(routes.AUTH_DEMO, data={"as": "owner"}, headers={"origin": PORTAL})
    assert staff_for_token(token=http.cookies[SESSION_COOKIE]) is None
