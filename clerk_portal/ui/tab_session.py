"""Whose session a browser tab's states were built for.

Reflex keeps a tab's states under its client token, which outlives sign-out: the next person to
sign in on the same tab reconnects with the same token. So the shell records the session the
tab's states hold (`identity_of`) and every page state is reset when it changes hands (see
`clerk_portal.ui.state.TabChangesHands`).
"""

from __future__ import annotations

import hashlib

import reflex as rx

from clerk_portal.auth import principals
from clerk_portal.ui import guard


def fingerprint(token: str | None) -> str:
    """A digest of the session cookie (the cookie itself never goes into state)."""
    return hashlib.sha256(token.encode()).hexdigest()[:32] if token else ""


def identity_of(token: str | None, principal: guard.Principal | None) -> str:
    """Session, user and workspace the tab shows; "" when no cookie is behind it, the cookie's
    part alone when it names no live session (so the tab is not reset again at each event)."""
    if principal is None:
        return f"{fingerprint(token)}::" if token else ""
    return f"{fingerprint(token)}:{principal.user_id}:{principal.workspace_id}"


def cookie_part(identity: str) -> str:
    return identity.split(":", 1)[0]


def session_alive(token: str | None) -> bool:
    """Whether the session still stands, read only: a live watcher keeps no session alive."""
    return principals.session_alive(token=token)


def _walk(state: type[rx.State]):
    yield state
    for substate in state.get_substates():
        yield from _walk(substate)


def portal_state_classes() -> list[type[rx.State]]:
    """Every state class of the portal (pages, components, the shell), not Reflex's own."""
    return [state for state in _walk(rx.State) if state.__module__.startswith("clerk_portal.")]
