"""Sign-in, sign-out and demo sign-in through the portal's HTTP routes."""

from __future__ import annotations

import hashlib

import pytest
from sqlmodel import Session, select

from clerk_portal.auth.sessions import LOGIN_COOKIE, SESSION_COOKIE
from clerk_portal.core import routes
from clerk_portal.core.db import engine_for
from clerk_portal.core.settings import get_settings
from clerk_portal.models import AuthSession, LoginAttempt, Membership, User
from clerk_portal.ui.guard import principal_for_token
from clerk_portal.workspace import repository
from tests.support.ports import free_port

from .conftest import PORTAL


def sign_in(http, provider, subject="alice", next_path="/team"):
    started = http.get(routes.AUTH_LOGIN, params={"next": next_path})
    assert started.status_code == 302
    callback = provider.approve(started.headers["location"], subject)
    return started, http.get(
        routes.AUTH_CALLBACK, params={"code": callback["code"], "state": callback["state"]}
    )


def rows(database_url, model):
    with Session(engine_for(database_url)) as session:
        return session.exec(select(model)).all()


def set_cookie_header(response, name):
    return next(h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}="))


def test_sign_in_sets_an_httponly_session_cookie_and_opens_a_trial_workspace(
    http, provider, database_url
):
    started, finished = sign_in(http, provider)

    login_cookie = set_cookie_header(started, LOGIN_COOKIE).lower()
    assert "httponly" in login_cookie and "samesite=lax" in login_cookie
    assert finished.status_code == 303
    assert finished.headers["location"] == "/team"
    cookie = set_cookie_header(finished, SESSION_COOKIE)
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    token = http.cookies[SESSION_COOKIE]
    assert len(token) >= 43  # 256 bits, url-safe base64
    (user,) = rows(database_url, User)
    assert (user.issuer, user.subject, user.email, user.name) == (
        provider.issuer,
        "alice",
        "alice@acme.example",
        "Alice Adams",
    )
    (stored,) = rows(database_url, AuthSession)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored.token_hash
    assert rows(database_url, LoginAttempt) == []  # the attempt is used up
    principal = principal_for_token(token)
    assert principal is not None and principal.role == "owner"


def test_a_second_sign_in_rotates_the_session_and_keeps_name_and_email_current(
    http, provider, database_url
):
    sign_in(http, provider)
    first = http.cookies[SESSION_COOKIE]
    provider.set_user("alice", email="alice@new.example", name="Alice A. Adams")
    http.cookies.clear()

    sign_in(http, provider)

    assert http.cookies[SESSION_COOKIE] != first
    (user,) = rows(database_url, User)
    assert (user.email, user.name) == ("alice@new.example", "Alice A. Adams")
    provider.set_user("alice", email="alice@acme.example", name="Alice Adams")


def test_first_sign_in_of_an_invited_email_joins_that_workspace(http, provider, database_url):
    with Session(engine_for(database_url)) as session:
        workspace = repository.create_workspace(
            session, name="Acme Dental", owner_email="olivia@acme.example"
        )
        repository.add_member(
            session, workspace_id=workspace.id, email="bob@acme.example", role="admin"
        )
        session.commit()
        workspace_id = workspace.id
    provider.set_user("bob", email="bob@acme.example", name="Bob Brown", email_verified=True)

    sign_in(http, provider, subject="bob")
    provider.set_user("bob", email="bob@acme.example", name="Bob Brown")

    principal = principal_for_token(http.cookies[SESSION_COOKIE])
    assert principal.workspace_id == workspace_id
    assert principal.role == "admin"
    members = [m for m in rows(database_url, Membership) if m.email == "bob@acme.example"]
    assert [m.status for m in members] == ["active"]


def test_wrong_state_gets_a_friendly_page_and_no_session(http, provider, database_url):
    started = http.get(routes.AUTH_LOGIN)
    callback = provider.approve(started.headers["location"], "alice")

    response = http.get(routes.AUTH_CALLBACK, params={"code": callback["code"], "state": "x"})

    assert response.status_code == 400
    assert 'data-reason="state_mismatch"' in response.text
    assert "Traceback" not in response.text
    assert "Back to sign-in" in response.text
    assert rows(database_url, AuthSession) == []
    assert SESSION_COOKIE not in http.cookies


def test_callback_from_another_browser_is_refused(http, provider, database_url):
    started = http.get(routes.AUTH_LOGIN)
    callback = provider.approve(started.headers["location"], "alice")
    http.cookies.clear()  # the callback arrives without this browser's sign-in cookie

    response = http.get(
        routes.AUTH_CALLBACK, params={"code": callback["code"], "state": callback["state"]}
    )

    assert response.status_code == 400
    assert 'data-reason="login_expired"' in response.text
    assert rows(database_url, AuthSession) == []


def test_provider_refusal_is_reported_kindly(http, provider, database_url):
    http.get(routes.AUTH_LOGIN)
    response = http.get(routes.AUTH_CALLBACK, params={"error": "access_denied"})

    assert response.status_code == 400
    assert "Sign-in was cancelled." in response.text
    assert rows(database_url, AuthSession) == []


def test_provider_down_gets_a_friendly_page(http, monkeypatch):
    monkeypatch.setenv("OIDC_ISSUER", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()

    response = http.get(routes.AUTH_LOGIN)

    assert response.status_code == 503
    assert 'data-reason="provider_unavailable"' in response.text


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil"])
def test_return_path_never_leaves_the_site(http, provider, target):
    _, finished = sign_in(http, provider, next_path=target)

    assert finished.headers["location"] == routes.HOME  # the home page sends each person on by role


def test_sign_out_ends_the_session_on_the_server(http, provider):
    sign_in(http, provider)
    token = http.cookies[SESSION_COOKIE]

    response = http.post(routes.AUTH_LOGOUT, headers={"origin": PORTAL})

    assert response.status_code == 303
    assert response.headers["location"].startswith(routes.LOGIN)
    assert principal_for_token(token) is None
    assert SESSION_COOKIE not in http.cookies


def test_sign_out_from_another_site_is_refused(http, provider):
    sign_in(http, provider)
    token = http.cookies[SESSION_COOKIE]

    for headers in ({"origin": "https://evil.example"}, {}):
        response = http.post(routes.AUTH_LOGOUT, headers=headers)
        assert response.status_code == 403
        assert principal_for_token(token) is not None
