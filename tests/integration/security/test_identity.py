"""Identity attacks over the real OIDC provider and the portal's auth routes (HTTP, uvicorn).

- Invitation takeover: an ID token's `email` claim opens an invitation only when the provider says
  `email_verified`, and an accepted invitation stays with the account that accepted it.
- Session rotation: signing in again ends the session the browser held; signing out ends it too.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from clerk_portal.auth import accounts
from clerk_portal.auth.oidc import Identity, email_is_verified
from clerk_portal.auth.sessions import SESSION_COOKIE
from clerk_portal.core import routes
from clerk_portal.core.db import engine_for
from clerk_portal.core.settings import get_settings
from clerk_portal.demo.seed import seed_demo
from clerk_portal.models import AuthSession, Membership, User
from clerk_portal.ui.guard import principal_for_token
from clerk_portal.workspace import repository
from tests.support import workspaces
from tests.support.oidc import Provider, running_provider
from tests.support.ports import free_port
from tests.support.servers import ThreadedServer

VICTIM_EMAIL = "olivia@acme.example"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as provider:
        yield provider


@pytest.fixture(scope="module")
def portal(provider) -> Iterator[str]:
    """The portal's Starlette routes served by uvicorn on a free port; each test picks its
    database through DATABASE_URL (read per request)."""
    port = free_port()
    with pytest.MonkeyPatch.context() as env:
        for name in ("PUBLIC_URL", "ALLOWED_ORIGINS", "REDIS_URL", "DEV_BACKEND_PORT"):
            env.delenv(name, raising=False)
        env.setenv("PORTAL_MODE", "demo")
        env.setenv("PORT", str(port))
        env.setenv("OIDC_ISSUER", provider.issuer)
        env.setenv("OIDC_CLIENT_ID", "clerk-portal")
        env.setenv("OIDC_CLIENT_SECRET", "test-secret")
        env.setenv("DATABASE_URL", "sqlite:///:memory:")
        get_settings.cache_clear()
        from clerk_portal.web.api import build_api

        server = ThreadedServer(build_api(), port=port)
        try:
            yield server.base_url
        finally:
            server.stop()
            get_settings.cache_clear()


@pytest.fixture
def portal_database(portal, database_url, monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def browser(portal: str) -> httpx.Client:
    """A browser of its own: its own cookie jar, the portal's origin on state-changing posts."""
    return httpx.Client(base_url=portal, headers={"origin": portal}, follow_redirects=False)


def sign_in(client: httpx.Client, provider: Provider, subject: str) -> httpx.Response:
    started = client.get(routes.AUTH_LOGIN)
    assert started.status_code == 302, started.text[:300]
    callback = provider.approve(started.headers["location"], subject)
    return client.get(
        routes.AUTH_CALLBACK, params={"code": callback["code"], "state": callback["state"]}
    )


def invited_owner_workspace(database_url: str) -> int:
    """A workspace set up by sales: its owner is invited by email and has not signed in yet."""
    with Session(engine_for(database_url)) as session:
        workspace = workspaces.workspace(session, owner_email=VICTIM_EMAIL)
        session.commit()
        return workspace.id


def invitation(database_url: str, workspace_id: int) -> Membership:
    with Session(engine_for(database_url)) as session:
        return session.exec(
            select(Membership).where(
                Membership.workspace_id == workspace_id, Membership.email == VICTIM_EMAIL
            )
        ).one()


def user_id_of(database_url: str, subject: str) -> int:
    with Session(engine_for(database_url)) as session:
        return session.exec(select(User.id).where(User.subject == subject)).one()


# --- invitation takeover ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "verified", [{"email_verified": False}, {}, {"email_verified": "false"}], ids=str
)
def test_an_unverified_email_does_not_open_a_pending_owner_invitation(
    portal, portal_database, provider, verified
):
    workspace_id = invited_owner_workspace(portal_database)
    provider.set_user("mallory", email=VICTIM_EMAIL, name="Mallory", **verified)

    with browser(portal) as client:
        response = sign_in(client, provider, "mallory")
        token = client.cookies[SESSION_COOKIE]

    assert response.status_code == 200
    assert 'id="invitation-notice"' in response.text
    assert "verify your email address" in response.text
    assert VICTIM_EMAIL in response.text
    assert 'href="/"' in response.text  # signed in all the same: on to the portal (its landing)
    principal = principal_for_token(token)
    assert principal is not None  # a person of their own, in a workspace of their own
    assert principal.workspace_id != workspace_id
    still_open = invitation(portal_database, workspace_id)
    assert (still_open.status, still_open.user_id) == ("invited", None)


@pytest.mark.parametrize("claim", [True, "true"], ids=str)
def test_a_verified_email_opens_its_owner_invitation(portal, portal_database, provider, claim):
    workspace_id = invited_owner_workspace(portal_database)
    provider.set_user("olivia", email=VICTIM_EMAIL, name="Olivia Park", email_verified=claim)

    with browser(portal) as client:
        response = sign_in(client, provider, "olivia")
        token = client.cookies[SESSION_COOKIE]

    assert response.status_code == 303
    principal = principal_for_token(token)
    assert (principal.workspace_id, principal.role) == (workspace_id, "owner")
    accepted = invitation(portal_database, workspace_id)
    assert (accepted.status, accepted.user_id) == (
        "active",
        user_id_of(portal_database, "olivia"),
    )


def test_unverified_then_verified_the_same_person_joins_once_the_provider_vouches(
    portal, portal_database, provider
):
    workspace_id = invited_owner_workspace(portal_database)
    provider.set_user("olivia", email=VICTIM_EMAIL, name="Olivia Park", email_verified=False)
    with browser(portal) as client:
        assert sign_in(client, provider, "olivia").status_code == 200
        provider.set_user("olivia", email=VICTIM_EMAIL, name="Olivia Park", email_verified=True)
        assert sign_in(client, provider, "olivia").status_code == 303
        principal = principal_for_token(client.cookies[SESSION_COOKIE])

    assert principal.workspace_id == workspace_id


def test_a_second_account_with_the_same_verified_email_cannot_take_an_accepted_invitation(
    portal, portal_database, provider
):
    workspace_id = invited_owner_workspace(portal_database)
    provider.set_user("olivia", email=VICTIM_EMAIL, name="Olivia Park", email_verified=True)
    provider.set_user("impostor", email=VICTIM_EMAIL, name="Olivia P.", email_verified=True)
    with browser(portal) as owner:
        sign_in(owner, provider, "olivia")
        owner_token = owner.cookies[SESSION_COOKIE]

    with browser(portal) as impostor:
        assert sign_in(impostor, provider, "impostor").status_code == 303
        impostor_token = impostor.cookies[SESSION_COOKIE]

    assert principal_for_token(impostor_token).workspace_id != workspace_id
    assert principal_for_token(owner_token).workspace_id == workspace_id
    assert invitation(portal_database, workspace_id).user_id == user_id_of(
        portal_database, "olivia"
    )


def test_a_removed_member_invited_again_is_that_account_s_seat_not_a_newcomer_s(
    portal, portal_database, provider
):
    workspace_id = invited_owner_workspace(portal_database)
    provider.set_user("olivia", email=VICTIM_EMAIL, name="Olivia Park", email_verified=True)
    provider.set_user("impostor", email=VICTIM_EMAIL, name="Olivia P.", email_verified=True)
    with browser(portal) as client:
        sign_in(client, provider, "olivia")
    with Session(engine_for(portal_database)) as session:
        owner = repository.upsert_user(session, issuer="t", subject="o2", email="o2@acme.example")
        repository.add_member(
            session,
            workspace_id=workspace_id,
            email="o2@acme.example",
            role="owner",
            user_id=owner.id,
        )
        seat = invitation(portal_database, workspace_id)
        repository.change_role(
            session, workspace_id=workspace_id, membership_id=seat.id, role="member"
        )
        repository.remove_member(session, workspace_id=workspace_id, membership_id=seat.id)
        repository.add_member(session, workspace_id=workspace_id, email=VICTIM_EMAIL)
        session.commit()

    with browser(portal) as impostor:
        sign_in(impostor, provider, "impostor")
        assert principal_for_token(impostor.cookies[SESSION_COOKIE]).workspace_id != workspace_id
    with browser(portal) as client:
        sign_in(client, provider, "olivia")
        assert principal_for_token(client.cookies[SESSION_COOKIE]).workspace_id == workspace_id


def test_an_invitation_read_by_a_sign_in_then_accepted_by_another_account_stays_with_the_first(
    portal, portal_database, provider
):
    """The race: the impostor's sign-in has read the open invitation when the owner's sign-in
    (over HTTP, committed) takes it; the impostor's must not overwrite the seat's account."""
    workspace_id = invited_owner_workspace(portal_database)
    provider.set_user("olivia", email=VICTIM_EMAIL, name="Olivia Park", email_verified=True)
    engine = engine_for(portal_database)
    with Session(engine) as setup:  # known already, so its sign-in writes nothing before the read
        repository.upsert_user(
            setup, issuer=provider.issuer, subject="impostor", email=VICTIM_EMAIL, name="O. P."
        )
        setup.commit()

    owner = browser(portal)
    interleaved = []

    with Session(engine, expire_on_commit=False) as session:

        @event.listens_for(session, "do_orm_execute")
        def _owner_signs_in_right_after_the_invitation_is_read(state):
            if interleaved or not state.is_select:
                return None
            if Membership not in [d.get("entity") for d in state.statement.column_descriptions]:
                return None
            rows = state.invoke_statement().freeze()
            interleaved.append(sign_in(owner, provider, "olivia").status_code)
            return rows()

        accounts.complete_sign_in(
            session,
            identity=Identity(
                issuer=provider.issuer,
                subject="impostor",
                email=VICTIM_EMAIL,
                name="O. P.",
                email_verified=True,
            ),
            trial_days=14,
        )
        session.commit()

    assert interleaved == [303]
    assert invitation(portal_database, workspace_id).user_id == user_id_of(
        portal_database, "olivia"
    )
    assert principal_for_token(owner.cookies[SESSION_COOKIE]).workspace_id == workspace_id
    owner.close()


def test_demo_people_still_sign_in_with_one_click(portal, portal_database):
    with Session(engine_for(portal_database)) as session:
        seed_demo(session)
        session.commit()

    with browser(portal) as client:
        response = client.post(routes.AUTH_DEMO, data={"as": "owner"})
        principal = principal_for_token(client.cookies[SESSION_COOKIE])

    assert response.status_code == 303
    assert (principal.user_name, principal.role) == ("Olivia Park", "owner")


@pytest.mark.parametrize(
    ("claims", "verified"),
    [
        ({"email_verified": True}, True),
        ({"email_verified": "TRUE"}, True),
        ({"email_verified": False}, False),
        ({"email_verified": "false"}, False),
        ({"email_verified": 1}, False),
        ({"email_verified": "yes"}, False),
        ({}, False),
    ],
    ids=str,
)
def test_only_a_true_email_verified_claim_counts(claims, verified):
    assert email_is_verified(claims) is verified


# --- sessions -----------------------------------------------------------------------------------


def test_signing_in_again_ends_the_session_the_browser_held(portal, portal_database, provider):
    provider.set_user("alice", email="alice@acme.example", name="Alice Adams")
    with browser(portal) as client:
        sign_in(client, provider, "alice")
        old = client.cookies[SESSION_COOKIE]
        stolen_copy = old  # what a shared computer's next user or a leaked log would hold

        assert sign_in(client, provider, "alice").status_code == 303
        new = client.cookies[SESSION_COOKIE]

    assert new != old
    assert principal_for_token(stolen_copy) is None
    assert principal_for_token(new) is not None
    with Session(engine_for(portal_database)) as session:
        revoked = [row.revoked_at is not None for row in session.exec(select(AuthSession))]
    assert sorted(revoked) == [False, True]


def test_signing_in_as_someone_else_ends_the_previous_persons_session(
    portal, portal_database, provider
):
    provider.set_user("alice", email="alice@acme.example", name="Alice Adams")
    provider.set_user("bob", email="bob@acme.example", name="Bob Brown")
    with browser(portal) as client:
        sign_in(client, provider, "alice")
        alices = client.cookies[SESSION_COOKIE]
        sign_in(client, provider, "bob")
        bobs = client.cookies[SESSION_COOKIE]

    assert principal_for_token(alices) is None
    assert principal_for_token(bobs).user_name == "Bob Brown"


def test_demo_sign_in_again_ends_the_previous_demo_session(portal, portal_database):
    with Session(engine_for(portal_database)) as session:
        seed_demo(session)
        session.commit()
    with browser(portal) as client:
        client.post(routes.AUTH_DEMO, data={"as": "owner"})
        owners = client.cookies[SESSION_COOKIE]
        client.post(routes.AUTH_DEMO, data={"as": "member"})
        members = client.cookies[SESSION_COOKIE]

    assert principal_for_token(owners) is None
    assert principal_for_token(members).role == "member"


def test_signing_out_ends_the_session_on_the_server(portal, portal_database, provider):
    provider.set_user("alice", email="alice@acme.example", name="Alice Adams")
    with browser(portal) as client:
        sign_in(client, provider, "alice")
        token = client.cookies[SESSION_COOKIE]

        response = client.post(routes.AUTH_LOGOUT)
        assert response.status_code == 303
        assert SESSION_COOKIE not in client.cookies

        # The old cookie sent again (a copy kept by someone): still nothing, and no error.
        client.cookies.set(SESSION_COOKIE, token)
        again = client.post(routes.AUTH_LOGOUT)
        assert again.status_code == 303

    assert principal_for_token(token) is None


# --- what the provider sends is bounded too -----------------------------------------------------


@pytest.mark.parametrize(
    "claims",
    [
        {"email": "x" * 2000 + "@clinic.example", "email_verified": True},  # no name: 2 KB email
        {"email": "olivia\u202e@acme.example", "email_verified": True},
        {"email": "not an address", "email_verified": True},
    ],
    ids=["2kb-email", "bidi-email", "not-an-email"],
)
def test_an_unusable_email_claim_signs_in_without_an_email_and_opens_nothing(
    portal, portal_database, provider, claims
):
    """A provider's email claim is text somebody typed: one that is not a usable address is
    dropped (and never opens an invitation) instead of failing the sign-in with a 500."""
    workspace_id = invited_owner_workspace(portal_database)
    provider.set_user("odd", **claims)

    with browser(portal) as client:
        response = sign_in(client, provider, "odd")
        token = client.cookies.get(SESSION_COOKIE)

    assert response.status_code == 303, response.text[:300]
    principal = principal_for_token(token)
    assert principal is not None and principal.workspace_id != workspace_id
    with Session(engine_for(portal_database)) as session:
        user = session.exec(select(User).where(User.subject == "odd")).one()
        assert user.email == ""
    assert invitation(portal_database, workspace_id).status == "invited"
