"""Every guarded event handler and API route, called by everyone, over the real websocket.

Handlers and routes are discovered from the app, not listed here (who may call each handler is
reviewed in tests/support/access.py): a new handler is covered (and
must declare who may call it) the moment it is registered. The browser can call any handler by
name with any arguments, so this test does exactly that, as an anonymous visitor, a member, an
admin, the owner of another workspace (with a session pointing at this one), the owner and the
demo's sales rep (staff, in no workspace: only the sales page's handlers are theirs); and
again on a tab whose previous person (an owner with a card, invoices and billing details) signed
out: no frame that tab receives may carry anything of the previous person.
"""

from __future__ import annotations

import inspect
import time
import typing

import httpx
import pytest
import sqlalchemy as sa
import websocket
from sqlmodel import Session, SQLModel

from clerk_portal.auth import sessions
from clerk_portal.core import routes
from clerk_portal.core.db import engine_for
from clerk_portal.models import Workspace
from clerk_portal.ui import guard
from tests.support import workspaces
from tests.support.access import (
    RUNNER_TABLES,
    check_served_routes,
    full_snapshot,
    guarded_handlers,
    reviewed_roles,
)
from tests.support.reflex_socket import ReflexSocket
from tests.support.tabs import Tab, load_owner_pages, mirrored_owner, sign_out

PERSONAS = ("anonymous", "member", "admin", "other_owner", "owner", "sales")
# Tables that record visits rather than changes, and Stripe's own deliveries (written when the
# sandbox sends events, whoever is calling what).
VOLATILE_TABLES = {"auth_session", "login_attempt", "webhook_event", *RUNNER_TABLES}


def _demo_cookie(portal, person: str) -> str:
    response = httpx.post(
        portal.url + routes.AUTH_DEMO,
        data={"as": person},
        headers={"origin": portal.url},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return f"{sessions.SESSION_COOKIE}={response.cookies[sessions.SESSION_COOKIE]}"


def _other_owner_cookie(portal) -> str:
    """The owner of another workspace whose session claims this one (stale or tampered)."""
    engine = engine_for(portal.database_url)
    with Session(engine) as session:
        acme = session.exec(sa.select(Workspace).where(Workspace.name == "Acme Dental")).first()
        rival_owner = workspaces.person(
            session, issuer="idp", subject="rival", email="owner@rival.example", name="Rex"
        )
        workspaces.workspace(session, owner=rival_owner, name="Rival Clinic")
        token = workspaces.session_token(session, user_id=rival_owner.id, workspace_id=acme[0].id)
        session.commit()
    return workspaces.cookie(token)


@pytest.fixture(scope="module")
def cookies(portal):
    jar = {"anonymous": None, "other_owner": _other_owner_cookie(portal)}
    for person in ("member", "admin", "owner", "sales"):  # sales: the demo's staff persona
        jar[person] = _demo_cookie(portal, person)
    return jar


def _snapshot(portal) -> dict[str, list]:
    engine = engine_for(portal.database_url)
    with engine.connect() as connection:
        return {
            table.name: sorted(map(repr, connection.execute(sa.select(table)).all()))
            for table in SQLModel.metadata.sorted_tables
            if table.name not in VOLATILE_TABLES
        }


def _stripe_calls(portal) -> int:
    return len(httpx.get(portal.sandbox_url + "/_sandbox/requests").json()["data"])


def _settled_stripe_calls(portal, *, quiet_for: float = 1.0, limit: float = 15.0) -> int:
    """The count once nothing has reached Stripe for `quiet_for` s: an allowed handler's work
    goes on after its reply (a deferred quantity sync, the webhooks' re-reads) and must not be
    counted against the refused handler after it (CI saw +2 calls on `undo_pending` for admin)."""
    deadline = time.monotonic() + limit
    count = _stripe_calls(portal)
    while time.monotonic() < deadline:
        time.sleep(quiet_for)
        now = _stripe_calls(portal)
        if now == count:
            return count
        count = now
    return count


def _sample(annotation) -> object:
    """Any well-typed argument: the guard must refuse before looking at it."""
    origin = typing.get_origin(annotation) or annotation
    samples = {str: "1", int: 1, float: 1.0, bool: True, dict: {}, list: []}
    return samples.get(origin, "1")


def _payload(handler) -> dict:
    signature = inspect.signature(handler.fn)
    hints = typing.get_type_hints(inspect.unwrap(handler.fn))
    return {
        name: _sample(hints.get(name, str))
        for name in list(signature.parameters)[1:]
        if signature.parameters[name].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    }


def _allowed(person: str, roles: frozenset[str] | None) -> bool:
    return person != "anonymous" and person != "other_owner" and person in (roles or ())


def test_every_handler_is_discovered_and_the_owner_only_ones_exist():
    """The declarations match the review in tests/support/access.py, not themselves: an owner-only
    handler widened to admins (or a billing handler left to members) fails here, and the matrix
    below expects refusals from the reviewed roles, not from the declared ones."""
    handlers = guarded_handlers()
    names = {name.split(".", 1)[1] for name, _handler, _roles in handlers}
    declared = {name: roles for name, _handler, roles in handlers}
    reviewed = {name: reviewed_roles(name) for name in declared}
    owner_only = [name for name, roles in reviewed.items() if roles == guard.OWNER]

    assert "clerk_portal___ui___state____session_state.switch_workspace" in names
    assert len(owner_only) >= 26, sorted(owner_only)  # every billing action, loader and form
    assert {name for name, roles in declared.items() if roles != reviewed[name]} == set()


@pytest.mark.parametrize("person", PERSONAS)
def test_guarded_api_routes_refuse_everyone_but_the_right_people(portal, cookies, person):
    """Every HTTP route the portal serves (discovered from the app: the backend's and Reflex's
    own), with `person`'s cookie: a state-changing request from another site is refused and writes
    to no table (sessions and webhook deliveries included); a guarded route keeps the role matrix.
    """

    def send(method, path, *, headers, data):
        return httpx.request(
            method, portal.url + path, headers=headers, data=data, follow_redirects=False
        )

    def snapshot():
        with engine_for(portal.database_url).connect() as connection:
            return full_snapshot(connection)

    checked = check_served_routes(
        send,
        snapshot,
        cookie=cookies[person],
        own_origin=portal.url,
        allowed=lambda roles: _allowed(person, roles),
    )

    assert checked >= 3  # sign-out, demo sign-in, the webhook


@pytest.mark.parametrize("person", PERSONAS)
def test_guarded_handlers_refuse_everyone_but_the_right_people(portal, cookies, person):
    socket = ReflexSocket(portal.url, cookie=cookies[person])
    try:
        _every_handler_as(portal, socket, person)
    finally:
        socket.close()


@pytest.fixture(scope="module")
def previous_owner(portal):
    return mirrored_owner(portal)


@pytest.mark.parametrize("person", PERSONAS)
def test_the_matrix_on_a_tab_the_previous_owner_signed_out_of(
    portal, cookies, previous_owner, person
):
    """The same tab (client token): the previous owner looks at billing, invoices and billing
    details, signs out; `person` signs in on it (the sign-in page's reconnect) and calls
    everything. Nothing the previous owner saw reaches `person`."""
    before = Tab(portal.url, cookie=previous_owner.new_cookie())
    load_owner_pages(before)
    assert previous_owner.markers_in(before.frames) == set(previous_owner.markers)
    sign_out(portal, before.cookie)
    before.close()

    tab = Tab(portal.url, cookie=cookies[person], token=before.token)
    try:
        tab.open(routes.LOGIN)
        assert previous_owner.markers_in(tab.frames) == set(), f"{person}: reconnect"
        _every_handler_as(portal, tab, person)
        assert previous_owner.markers_in(tab.frames) == set(), f"{person} got the owner's data"
    finally:
        tab.close()


def _refused(reply) -> bool:
    """The guard's answer: off to sign-in, or its "Only workspace owners/admins ..." (or "Only
    Clerk Chat sales staff ...") toast."""
    return any(path.startswith(routes.LOGIN) for path in reply.redirects()) or any(
        "Only workspace" in toast or guard.STAFF_ONLY in toast for toast in reply.toasts()
    )


def _every_handler_as(portal, socket, person: str) -> None:
    # What a refused handler is checked against (the database, Stripe's request count) is read
    # just before it, and only for it: an allowed one's work is not checked here. The count
    # waits for Stripe to be quiet only when an allowed handler ran since the last count (its
    # work goes on after its reply); reading both before every handler, and waiting a quiet
    # second after each allowed one, made the owner's run 83 s.
    unsettled = True  # before the first handler, and after an allowed one
    for name, handler, _roles in guarded_handlers():
        allowed = _allowed(person, reviewed_roles(name))
        if allowed:
            calls_before, before = None, None
            unsettled = True
        else:
            calls_before = _settled_stripe_calls(portal) if unsettled else _stripe_calls(portal)
            before = _snapshot(portal)
            unsettled = False
        # A quiet page loader refuses signed-in people without a message (the page says who
        # may see it); the checks below prove it refused all the same.
        quiet = getattr(handler.fn, "__guard_quiet__", False) and person != "anonymous"
        # With Redis the state lock is not first-come: the call's barrier can overtake it, so a
        # refusal that must come is waited for (a TimeoutError if it never does).
        reply = socket.call(
            name,
            _payload(handler),
            background=handler.is_background,
            until=None if allowed or quiet else _refused,
            timeout=20,
        )
        refused = _refused(reply)
        if allowed:
            assert not refused, f"{person} was refused {name}"
            continue
        assert refused or quiet, f"{person} was not refused {name}: {reply}"
        assert reply.changed_vars("clerk_portal") == {}, f"{name} changed state for {person}"
        assert _snapshot(portal) == before, f"{name} wrote to the database for {person}"
        assert _stripe_calls(portal) == calls_before, f"{name} called Stripe for {person}"


@pytest.mark.parametrize("person", PERSONAS)
def test_generic_setvar_cannot_grant_a_role(portal, cookies, person):
    """Reflex's built-in `setvar` exists on every state; with auto-setters off it sets nothing,
    and in any case the guard never reads roles from state."""
    socket = ReflexSocket(portal.url, cookie=cookies[person])
    try:
        for name, handler, _roles in guarded_handlers():
            state_name = name.rsplit(".", 1)[0]
            socket.call(f"{state_name}.setvar", {"var_name": "role", "value": "owner"})
            reply = socket.call(name, _payload(handler), background=handler.is_background)
            quiet = getattr(handler.fn, "__guard_quiet__", False) and person != "anonymous"
            if not _allowed(person, reviewed_roles(name)) and not quiet:
                assert _refused(reply), f"{person} got {name} via setvar: {reply}"
    finally:
        socket.close()


def test_websocket_accepts_only_the_portal_origin(portal, cookies):
    endpoint = portal.url.replace("http://", "ws://") + "/_event/?EIO=4&transport=websocket"
    same_site = websocket.create_connection(
        endpoint, origin=portal.url, cookie=cookies["owner"], timeout=10
    )
    same_site.close()

    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(
            endpoint, origin="https://evil.example", cookie=cookies["owner"], timeout=10
        )
    assert refused.value.status_code == 403


def test_api_cross_origin_requests_get_no_cors_grant(portal):
    response = httpx.options(
        portal.url + routes.HEALTHZ,
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )

    assert response.headers.get("access-control-allow-origin") not in ("*", "https://evil.example")
