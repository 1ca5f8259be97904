"""One browser tab over the websocket, kept across sign-outs and sign-ins, and an owner whose
data must not outlive their session in it.

A browser tab keeps its Reflex client token (in sessionStorage) when its person signs out and the
next one signs in: both are full page loads, so the tab reconnects with the same token and the
new cookie, and sends `hydrate_and_load`. `Tab` does exactly that and keeps every frame it gets.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlmodel import Session

from clerk_portal.core import routes
from clerk_portal.core.db import engine_for
from clerk_portal.workspace import live, repository
from tests.support.reflex_socket import HYDRATED, ROOT_STATE, ReflexSocket
from tests.support.workspaces import (
    FreshWorkspace,
    cookie,
    fresh_owner_cookie,
    new_member,
    new_session_token,
    seed_invoices,
    subscribe,
)

HYDRATE_AND_LOAD = f"{ROOT_STATE}.hydrate_and_load"
LOAD_DETAILS = (
    f"{ROOT_STATE}.clerk_portal___pages___billing___details____billing_details_state.load_details"
)


class Tab(ReflexSocket):
    """A tab's websocket that records every frame the server sends it."""

    def __init__(self, base_url: str, *, cookie: str | None = None, token: str | None = None):
        self.cookie = cookie
        self.frames: list[dict[str, Any]] = []
        self._seen = threading.Condition()
        super().__init__(base_url, cookie=cookie, token=token)

    def _received(self, update: dict[str, Any]) -> None:
        with self._seen:
            self.frames.append(update)
            self._seen.notify_all()
        super()._received(update)

    def wait_for(self, found, *, since: int = 0, timeout: float = 20) -> list[dict[str, Any]]:
        """Wait until a frame from `since` on satisfies `found`; the frames from `since` on."""
        with self._seen:
            if not self._seen.wait_for(
                lambda: any(found(frame) for frame in self.frames[since:]), timeout=timeout
            ):
                raise TimeoutError(f"no such frame: {self.frames[since:]!r:.3000}")
            return list(self.frames[since:])

    def open(self, path: str) -> list[dict[str, Any]]:
        """What the browser does on a page load: hydrate, then the page's on_load handlers, which
        end by setting the hydrated flag. Returns the frames of that page load."""
        since = len(self.frames)
        self._emit(HYDRATE_AND_LOAD, {}, path)
        return self.wait_for(_hydrated, since=since)


def _hydrated(frame: dict[str, Any]) -> bool:
    return any(values.get(HYDRATED) is True for values in (frame.get("delta") or {}).values())


def redirects(frames: list[dict[str, Any]]) -> list[str]:
    return [
        str((event.get("payload") or {}).get("path", ""))
        for frame in frames
        for event in frame.get("events") or []
        if event.get("name") == "_redirect"
    ]


def sign_out(portal, cookie: str) -> None:
    """The shell's "Sign out" button: a same-origin POST that ends the session."""
    response = httpx.post(
        portal.url + routes.AUTH_LOGOUT,
        headers={"origin": portal.url, "cookie": cookie},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


@dataclass(frozen=True)
class PaidOwner:
    """A subscribed workspace with a card, invoices and billing details, and its owner."""

    workspace: FreshWorkspace
    portal: Any
    markers: frozenset[str]  # strings only its owner may ever receive

    def new_cookie(self) -> str:
        return session_cookie(self.portal, self.workspace.owner_user_id, self.workspace.id)

    def markers_in(self, frames: list[dict[str, Any]]) -> set[str]:
        text = repr(frames)
        return {marker for marker in self.markers if marker in text}

    def change_workspace(self) -> None:
        """Something changes in the workspace (a number here): every open tab of it wakes."""
        with Session(engine_for(self.portal.database_url)) as session:
            e164 = f"+1628{uuid.uuid4().int % 10**7:07d}"
            repository.add_number(session, workspace_id=self.workspace.id, e164=e164)
            live.touch(session, workspace_id=self.workspace.id)
            session.commit()


def session_cookie(portal, user_id: int, workspace_id: int | None) -> str:
    return cookie(new_session_token(portal, user_id, workspace_id))


def member_cookie(portal, workspace: FreshWorkspace, *, role: str = "member") -> str:
    """An active member (not an owner) of the workspace, signed in."""
    user_id, _email = new_member(portal, workspace, role=role)
    return session_cookie(portal, user_id, workspace.id)


def _details() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {
        "email": f"billing-{suffix}@bayside.example",
        "name": f"Bayside Books {suffix}",
        "line1": f"{suffix} Harbor Street",
        "city": "Sausalito",
        "state": "CA",
        "postal_code": "94965",
        "country": "US",
        "po_number": f"PO-{suffix}",
    }


def _markers(workspace: FreshWorkspace, details: dict[str, str], last4: str) -> frozenset[str]:
    return frozenset(
        {
            f"/invoices/in_e2e_{workspace.id}_",  # the invoices' PDF links (the portal's own)
            f"•••• {last4}",  # the card label
            *(details[name] for name in ("email", "name", "line1", "po_number")),
        }
    )


def paid_owner(portal) -> PaidOwner:
    """Subscribed through the services (card 4242), with seeded invoices and billing details
    saved through the owner's own websocket."""
    workspace, cookie = fresh_owner_cookie(portal)
    subscribe(portal, workspace)
    seed_invoices(portal, workspace, months=3, now=datetime.now(UTC))
    details = _details()
    tab = Tab(portal.url, cookie=cookie)
    try:
        tab.open(routes.BILLING)
        since = len(tab.frames)
        tab.call(f"{LOAD_DETAILS.rsplit('.', 1)[0]}.save_details", {"form": details})
        tab.wait_for(lambda frame: "Billing details saved" in repr(frame), since=since)
    finally:
        tab.close()
    return PaidOwner(workspace, portal, _markers(workspace, details, "4242"))


def mirrored_owner(portal) -> PaidOwner:
    """The same data written straight into the mirror, as webhooks would have: no Stripe call
    and no webhook follows (the authorization matrix counts Stripe calls)."""
    workspace, _cookie = fresh_owner_cookie(portal)
    seed_invoices(portal, workspace, months=3, now=datetime.now(UTC))
    details = _details()
    columns = {
        "billing_email": details["email"],
        "billing_name": details["name"],
        "address_line1": details["line1"],
        "address_city": details["city"],
        "address_country": details["country"],
        "po_number": details["po_number"],
        "card_brand": "visa",
        "card_last4": "1881",
        "card_exp_month": 11,
        "card_exp_year": 2031,
    }
    with Session(engine_for(portal.database_url)) as session:
        account = repository.get_billing_account(session, workspace_id=workspace.id)
        for name, value in columns.items():
            setattr(account, name, value)
        session.add(account)
        session.commit()
    return PaidOwner(workspace, portal, _markers(workspace, details, "1881"))


def load_owner_pages(tab: Tab) -> None:
    """The owner looks at billing (with its details card) and the invoices."""
    tab.open(routes.BILLING)
    tab.call(LOAD_DETAILS)
    tab.open(routes.INVOICES)
