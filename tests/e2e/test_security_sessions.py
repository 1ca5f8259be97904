"""Sessions, as an attacker tries them: what a browser tab keeps after its person signs out.

Reflex keeps a tab's states under the tab's client token, which survives sign-out and the next
sign-in on the same tab. The owner's invoice PDF links, card label and billing details must not
reach whoever holds the tab next, and a tab whose session ended must get no more live updates.
Every check reads the frames the tab really receives over the websocket.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from clerk_portal.core import routes
from clerk_portal.core.db import engine_for
from clerk_portal.models import AuthSession, utcnow
from clerk_portal.workspace import live, repository
from tests.support.tabs import (
    LOAD_DETAILS,
    Tab,
    load_owner_pages,
    member_cookie,
    paid_owner,
    redirects,
    sign_out,
)
from tests.support.workspaces import fresh_owner_cookie

# After a tab that still follows the workspace has its live frame, how long a tab that must not
# follow it is given to show it does not (a pushed change reaches every tab within milliseconds).
GRACE_SECONDS = 2.0
INVOICES = "invoices_rx_state_"  # the invoices page's rows, as Reflex names the var on the wire


@pytest.fixture(scope="module")
def owner(portal):
    return paid_owner(portal)


def _owner_tab(portal, owner) -> Tab:
    tab = Tab(portal.url, cookie=owner.new_cookie())
    load_owner_pages(tab)
    assert owner.markers_in(tab.frames) == set(owner.markers), "the owner sees all of it"
    return tab


def _next_cookie(portal, owner, person: str) -> str | None:
    if person == "member":  # a member of the same workspace: never sees billing
        return member_cookie(portal, owner.workspace)
    if person == "other_owner":  # the owner of another workspace
        return fresh_owner_cookie(portal)[1]
    return None  # nobody: the tab is left at the sign-in page


@pytest.mark.parametrize("person", ["nobody", "member", "other_owner"])
def test_the_next_person_on_the_tab_receives_nothing_of_the_owner(portal, owner, person):
    before = _owner_tab(portal, owner)
    sign_out(portal, before.cookie)
    before.close()

    tab = Tab(portal.url, cookie=_next_cookie(portal, owner, person), token=before.token)
    try:
        if person == "nobody":
            tab.open(routes.LOGIN)
        else:  # where signing in lands, then the owner's pages by their addresses
            tab.open(routes.BILLING)
            tab.call(LOAD_DETAILS)
            tab.open(routes.INVOICES)
        assert owner.markers_in(tab.frames) == set(), f"{person} received the owner's data"
    finally:
        tab.close()


@pytest.mark.parametrize("tab_after", ["at_sign_in", "left_open"])
def test_a_signed_out_tab_gets_no_live_updates(portal, owner, tab_after):
    """`at_sign_in`: the tab followed the sign-out to the sign-in page (it reconnected, same
    client token, no cookie). `left_open`: it was signed out from another tab of the browser and
    stayed open with the old cookie; the first change empties it and sends it to sign-in."""
    tab = _owner_tab(portal, owner)
    following = _owner_tab(portal, owner)  # another signed-in tab of the workspace
    try:
        sign_out(portal, tab.cookie)
        if tab_after == "at_sign_in":
            tab.close()
            tab = Tab(portal.url, token=tab.token)
            tab.open(routes.LOGIN)
        else:
            _live_change(owner, following)
            tab.wait_for(lambda frame: bool(redirects([frame])), timeout=GRACE_SECONDS)
        signed_out_frames = len(tab.frames)

        _live_change(owner, following)

        assert tab.frames[signed_out_frames:] == [], "the signed-out tab still follows the owner"
    finally:
        tab.close()
        following.close()


def _live_change(owner, following: Tab) -> None:
    """Change the workspace; once a tab that follows it has its frame, give others the time."""
    since = len(following.frames)
    owner.change_workspace()
    following.wait_for(lambda frame: bool(frame.get("delta")), since=since)
    time.sleep(GRACE_SECONDS)  # the other tab's *absence* of a frame cannot be awaited


def test_a_tab_whose_session_ended_elsewhere_is_emptied_and_sent_to_sign_in(portal, owner):
    """Signed out in another tab of the browser (or expired): this tab's websocket stays open,
    with the old cookie; at the next live change it forgets the owner's data and goes to sign-in."""
    tab = _owner_tab(portal, owner)
    try:
        sign_out(portal, tab.cookie)
        since = len(tab.frames)

        owner.change_workspace()
        after = tab.wait_for(
            lambda frame: any(path.startswith(routes.LOGIN) for path in redirects([frame])),
            since=since,
        )

        assert owner.markers_in(after) == set()
        invoices = [
            values[INVOICES]
            for frame in after
            for name, values in (frame.get("delta") or {}).items()
            if name.endswith("invoices_state") and INVOICES in values
        ]
        assert invoices == [[]], "the tab's invoices were not emptied"
    finally:
        tab.close()


def test_live_updates_keep_no_idle_session_alive(portal, owner):
    """A tab left open while others work is not its person's activity: each live reload checks
    the session but moves its idle deadline no further (before, the page's reload did, so a
    busy workspace kept an unattended tab signed in for ever)."""
    tab = Tab(portal.url, cookie=owner.new_cookie())
    try:
        tab.open(routes.NUMBERS)
        # A first reload: the page load's own chain (its loaders touch the session) is over.
        _number_arrives(portal, owner, tab)
        idle_since = _set_last_seen(portal, tab.cookie, minutes_ago=5)

        _number_arrives(portal, owner, tab)

        assert _last_seen(portal, tab.cookie) == idle_since, "the live reload touched the session"
    finally:
        tab.close()


def _number_arrives(portal, owner, tab: Tab) -> None:
    """Another tab adds a number; wait until the numbers page's live reload shows it here."""
    since = len(tab.frames)
    e164 = f"+1628{uuid.uuid4().int % 10**7:07d}"
    with Session(engine_for(portal.database_url)) as session:
        repository.add_number(session, workspace_id=owner.workspace.id, e164=e164)
        live.touch(session, workspace_id=owner.workspace.id)
        session.commit()
    tab.wait_for(lambda frame: e164 in repr(frame.get("delta") or {}), since=since)


def _session_row(session: Session, cookie: str) -> AuthSession:
    token = cookie.partition("=")[2]
    digest = hashlib.sha256(token.encode()).hexdigest()
    return session.exec(select(AuthSession).where(AuthSession.token_hash == digest)).one()


def _set_last_seen(portal, cookie: str, *, minutes_ago: int) -> datetime:
    with Session(engine_for(portal.database_url)) as session:
        record = _session_row(session, cookie)
        record.last_seen_at = utcnow() - timedelta(minutes=minutes_ago)
        session.add(record)
        session.commit()
    return _last_seen(portal, cookie)


def _last_seen(portal, cookie: str) -> datetime:
    with Session(engine_for(portal.database_url)) as session:
        return _session_row(session, cookie).last_seen_at
