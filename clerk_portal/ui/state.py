"""Who is signed in and which workspace the shell shows; every page loads this first.

The shell also holds the tab's one live watcher (`watch_live`), the only one of the portal: it
waits on the workspace's live version (`clerk_portal.workspace.live.wait_for_change`, its one
way of learning of a change: pushed, no polling) and, when it moves, re-checks the session and
the role, refreshes the shell (trial message, read-only state) and then has the page reload its
body (`clerk_portal.ui.live.LiveWatch`). A changed role loads the page again as the new role sees it
(navigation, billing or not). The watcher ends when its tab disconnects or loads another page
(Reflex cancels a page-load chain then), when a newer watcher of the tab starts, when the person
is no longer a member, when the tab's session ends or changes hands, or after the session's idle
lifetime (it reads the session and the membership without touching them, and so does the page's
reload, so it keeps no session alive by itself).

A tab's states outlive sign-out (Reflex keys them by the tab's client token): `TabChangesHands`
resets them all, before anything is sent, when the session behind the tab is no longer the one
they were built for (see `clerk_portal.ui.tab_session`).
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import TypedDict

import reflex as rx
from reflex.middleware import Middleware
from reflex.state import StateUpdate

from clerk_portal.auth import principals
from clerk_portal.billing import services
from clerk_portal.core import routes
from clerk_portal.core.settings import get_settings
from clerk_portal.ui import guard, tab_session
from clerk_portal.workspace import live, members

# A quiet wait ends after this long, without a read: how soon a watcher notices that its tab went
# away (until then it is one idle future).
WAIT_SECONDS = 45.0


class WorkspaceOption(TypedDict):
    id: str
    name: str
    role: str


class SessionState(rx.State):
    signed_in: bool = False
    user_name: str = ""
    role: str = ""
    workspace_name: str = ""
    workspaces: list[WorkspaceOption] = []
    on_trial: bool = False
    trial_days_left: int = 0
    trial_expired: bool = False
    read_only: bool = False
    _live_since: int = 0  # the live version the shell was read at
    _live_generation: int = 0  # a newer watcher of this tab makes older ones stop
    _live_page: str = ""  # the page state whose body follows too (see LiveWatch)
    _tab_identity: str = ""  # the session the tab's states were built for (tab_session)

    @rx.var
    def is_owner(self) -> bool:
        return self.role == "owner"

    @rx.var
    def manages_team(self) -> bool:
        return self.role in ("owner", "admin")

    @rx.event
    @guard.public_handler
    async def load_session(self):
        """on_load of every signed-in page: no session, no page."""
        principal = await guard.current_principal(self)
        await self._change_hands(tab_session.identity_of(guard.session_token_of(self), principal))
        if principal is None:
            self.signed_in, self.role = False, ""
            return guard.login_redirect(self)
        # Read before the shell, so a change made while it loads still wakes the watcher.
        self._live_since = await live.mirror_version(principal.workspace_id)
        options = await asyncio.to_thread(_workspace_options, principal.user_id)
        self._show_trial(await services.get_trial_state(workspace_id=principal.workspace_id))
        self.signed_in = True
        self.user_name = principal.user_name
        self.role = principal.role
        self.workspace_name = principal.workspace_name
        self.workspaces = options
        self._live_generation += 1
        self._live_page = ""  # the page's loader names it again (LiveWatch.watch_live)
        return SessionState.watch_live

    async def _live_target(self, who: guard.Principal) -> tuple[str, object]:
        """Inside `async with self`: the page that follows the live version and what its rows
        depend on beyond the workspace (`_live_params`; None for a page with its own reload)."""
        page = self._live_page
        page_class = _shared_reload(page)
        if page_class is None:
            return page, None
        return page, (await self.get_state(page_class))._live_params(who)

    async def _change_hands(self, identity: str) -> None:
        """Reset every state of the tab when its session changes (sign-out, someone else, expiry,
        removal, another workspace): nothing built for the previous one may reach the tab."""
        previous, generation = self._tab_identity, self._live_generation
        if identity == previous:
            return
        if previous:  # a tab that showed nobody yet holds nothing to forget
            for state_class in tab_session.portal_state_classes():
                (await self.get_state(state_class)).reset()
        self._tab_identity = identity
        self._live_generation = generation + 1  # the previous session's watcher stops

    def _show_trial(self, trial: services.TrialState) -> None:
        self.on_trial = trial.on_trial
        self.trial_days_left, self.trial_expired = trial.days_left, trial.expired
        self.read_only = trial.read_only

    @rx.event(background=True)
    @guard.members_only
    async def watch_live(self):
        who = guard.principal()
        async with self:
            if not self.signed_in:
                return  # started without load_session (a stray call): nothing to follow
            generation, since = self._live_generation, self._live_since
            client_token = self.router.session.client_token
            session_token = guard.session_token_of(self)
            path = self.router.url.path
        deadline = time.monotonic() + 60 * get_settings().session_idle_minutes
        # What the tab shows (its page and what that page's rows depend on), as read under the
        # lock at the last wake: the reads are made for it off the lock, and the one lock hold
        # that shows them checks it is still so (else it is read anew and the wake read again).
        # A wake costs one hold of the tab's state, not two (with Redis, each is a round of
        # lock, load and store for every woken tab).
        shown: tuple[str, object] | None = None
        while (left := deadline - time.monotonic()) > 0 and tab_connected(client_token):
            try:
                version = await live.wait_for_change(
                    who.workspace_id,
                    since,
                    timeout=min(WAIT_SECONDS, left),
                    tab=client_token,
                    rank=generation,
                )
            except live.Superseded:
                return  # a newer watcher of this tab took over
            if version == since:
                continue  # a quiet wait: nothing was read, nothing to do
            since = version
            while True:
                if shown is None:
                    async with self:
                        if self._live_generation != generation:
                            return  # the page was left, or a newer watcher took over
                        shown = await self._live_target(who)
                page, params = shown
                page_class = _shared_reload(page)
                woke = await wake_reads(who, session_token, page_class, page, params, version)
                if woke is None:  # signed out, expired or removed: forget it all, to sign-in
                    async with self:
                        if self._live_generation != generation:
                            return
                        await self._change_hands("")
                        redirect = guard.login_redirect(self)
                    yield redirect
                    return
                role, trial, rows = woke
                async with self:
                    if self._live_generation != generation:
                        return
                    now = await self._live_target(who)
                    moved = now != shown  # another page, or more of its rows shown, since
                    role_changed = role != self.role
                    if not moved and not role_changed:
                        self._show_trial(trial)
                        if page_class is not None and rows is not None:
                            (await self.get_state(page_class))._live_show(who, rows)
                shown = now
                if not moved or role_changed:
                    break
            if role_changed:  # the page again, as the new role sees it (with a new watcher)
                yield page_load_events(path)
                return
            if page and page_class is None:  # a page that reloads by its own event
                yield rx.State.get_class_substate(page).live_reload

    @rx.event
    @guard.members_only
    async def switch_workspace(self, workspace_id: str):
        """Open another workspace the user is an active member of (checked server-side)."""
        token = guard.session_token_of(self)
        switched = await asyncio.to_thread(
            principals.switch_workspace,
            token=token,
            user_id=guard.principal().user_id,
            workspace_id=workspace_id,
        )
        if not switched:
            return rx.toast.error("You are not a member of that workspace.")
        return rx.redirect(routes.BILLING)


class TabChangesHands(Middleware):
    """Before each event of a tab (the reconnect's full snapshot included), reset every state
    if the session behind the tab is not the one they were built for."""

    async def preprocess(self, app, state, event):
        shell = await state.get_state(SessionState)
        token = guard.session_token_of(shell)
        changed = tab_session.fingerprint(token) != tab_session.cookie_part(shell._tab_identity)
        if changed and _from_a_closed_connection(app, shell):
            return StateUpdate()  # chained for a connection (and session) the tab no longer has
        if changed or event.name in _HYDRATE_EVENTS:
            principal = await asyncio.to_thread(guard.principal_for_token, token)
            await shell._change_hands(tab_session.identity_of(token, principal))
        return None


_HYDRATE_EVENTS = {f"{rx.State.get_full_name()}.{name}" for name in ("hydrate", "hydrate_and_load")}


def _from_a_closed_connection(app, shell: SessionState) -> bool:
    """An event produced for an earlier websocket of the tab (a background task's follow-up)."""
    namespace = app.event_namespace
    if namespace is None:
        return False
    session = shell.router.session
    # No socket for the tab on this worker: nothing receives the frames now, and the next
    # connection's first event resets the tab (its cookie is not this one).
    current = namespace.token_to_sid.get(session.client_token)
    return current is not None and current != session.session_id


def current_role(who: guard.Principal) -> str | None:
    """The member's role now (None once removed); reads, never touches the session."""
    return members.member_role(workspace_id=who.workspace_id, user_id=who.user_id)


_served: list[rx.App] = []


def serve(app: rx.App) -> None:
    """The app module hands over its app: this layer cannot import it (it imports every page)."""
    _served[:] = [app]


def _app() -> rx.App:
    if not _served:
        raise RuntimeError("the app module did not call clerk_portal.ui.state.serve(app)")
    return _served[0]


async def wake_reads(
    who: guard.Principal,
    session_token: str | None,
    page_class: type[rx.State] | None,
    page: str,
    params: object,
    version: int,
) -> tuple[str, services.TrialState, object] | None:
    """What a woken tab that read `version` reads again, off its lock: the role now (None: the
    session ended or the person left), the trial and the page's rows (None unless the page has
    the shared reload and the role is unchanged). Each read is the same for every tab of the
    workspace that read that version after the same change on this worker, so one read serves
    them all (`live.shared_read`); the session check is shared only while it runs, so each
    wake checks it anew. The page's rows are read by workspace and role alone, never by person."""
    workspace_id = who.workspace_id
    alive = await live.shared_read(
        workspace_id,
        version,
        ("session", tab_session.fingerprint(session_token)),
        lambda: asyncio.to_thread(tab_session.session_alive, session_token),
        while_running=True,
    )
    if not alive:
        return None
    role = await live.shared_read(
        workspace_id, version, ("role", who.user_id), lambda: asyncio.to_thread(current_role, who)
    )
    if role is None:
        return None
    trial = await live.shared_read(
        workspace_id,
        version,
        ("trial",),
        lambda: services.get_trial_state(workspace_id=workspace_id),
    )
    rows = None
    if page_class is not None and role == who.role:
        read = functools.partial(page_class._live_rows, workspace_id, role, params)
        rows = await live.shared_read(workspace_id, version, (page, role, params), read)
    return role, trial, rows


def _shared_reload(page: str) -> type[rx.State] | None:
    """The page's state if its rows can be read once for every woken tab (`LiveWatch`'s
    `_live_params`, `_live_rows`, `_live_show`); None for a page that reloads by its own event."""
    if not page:
        return None
    page_class = rx.State.get_class_substate(page)
    return page_class if hasattr(page_class, "_live_rows") else None


def tab_connected(client_token: str) -> bool:
    """Whether the tab's websocket is still open on this worker (its watcher runs here too)."""
    namespace = _app().event_namespace
    return namespace is None or client_token in namespace.token_to_sid


def page_load_events(path: str) -> list:
    """The page's on_load handlers (the shell's, then the page's own), as a navigation runs them."""
    return list(_app().get_load_events(path))


def _workspace_options(user_id: int) -> list[WorkspaceOption]:
    return [
        WorkspaceOption(id=str(workspace_id), name=name, role=role)
        for workspace_id, name, role in principals.workspace_choices(user_id=user_id)
    ]
