"""Keep an open page current: reload it when its workspace's live version moves.

`LiveWatch` is a state mixin. A page starts `watch_live` after loading and implements
`_live_reload(who)`; another tab's team change, a Stripe webhook or a quantity sync raises the
version (`billing.live`), and every open page of that workspace reloads within a moment, without
the browser reloading. A watcher ends when its tab disconnects or loads another page (Reflex
cancels a page-load chain then; `tab_connected` covers a watcher started otherwise), when the page
unmounts (`stop_live`), when a newer watcher of the same tab starts, when the person is no longer
a member, or after the session's idle lifetime (it never keeps a session alive by itself).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import reflex as rx

from clerk_portal.auth import guard
from clerk_portal.billing import live, repository
from clerk_portal.db import session_scope
from clerk_portal.settings import get_settings
from clerk_portal.state import SessionState

WAIT_SECONDS = 5.0  # how soon a watcher notices that its tab went away


def current_role(who: guard.Principal) -> str | None:
    """The member's role now (None once removed); reads, never touches the session."""
    with session_scope() as session:
        member = repository.membership_for_user(
            session, workspace_id=who.workspace_id, user_id=who.user_id
        )
        return member.role if member else None


def tab_connected(client_token: str) -> bool:
    """Whether the tab's websocket is still open on this worker (its watcher runs here too)."""
    from clerk_portal.clerk_portal import app  # lazily: the app module imports every page

    namespace = app.event_namespace
    return namespace is None or client_token in namespace.token_to_sid


class LiveWatch(rx.State, mixin=True):
    _live_generation: int = 0

    async def _live_reload(self, who: guard.Principal) -> None:
        """Read the rows again off the state lock, then set them inside `async with self`."""
        raise NotImplementedError

    @rx.event(background=True)
    @guard.members_only
    async def watch_live(self):
        who = guard.principal()
        async with self:
            self._live_generation += 1
            generation = self._live_generation
            client_token = self.router.session.client_token
        since = await live.mirror_version(who.workspace_id)
        deadline = time.monotonic() + 60 * get_settings().session_idle_minutes
        while time.monotonic() < deadline and tab_connected(client_token):
            version = await live.wait_for_change(who.workspace_id, since, timeout=WAIT_SECONDS)
            async with self:
                if self._live_generation != generation:
                    return  # the page was left, or a newer watcher took over
            if version == since:
                continue
            since = version
            role = await asyncio.to_thread(current_role, who)
            if role is None:  # removed: their sessions ended with it, so off to sign-in
                return guard.login_redirect(self)
            await self._live_reload(dataclasses.replace(who, role=role))
            async with self:  # an owner demoted in another tab sees the member's view at once
                (await self.get_state(SessionState)).role = role

    @rx.event
    @guard.members_only
    def stop_live(self):
        self._live_generation += 1
