"""Keep an open page's body current: reload it when its workspace's live version moves.

`LiveWatch` is a state mixin. A page's loader returns `watch_live`, which hands the page to the
tab's one watcher, the shell's (`SessionState.watch_live`), and implements `_live_reload(who)`;
another tab's team change, a Stripe webhook or a quantity sync raises the version
(`workspace.live`), the shell re-checks the session, refreshes itself and then calls
`live_reload`, which re-reads the body. Unmounting the page (`stop_live`) or loading another one
ends that. A page has no loop of its own.

A page whose rows depend only on the workspace, the role and a few values of its own (the pages
shown) defines three methods instead, and the watcher reloads it itself, with no event of its own:
`_live_params(who)` (inside the state lock: those values, hashable),
`_live_rows(workspace_id, role, params)` (a classmethod, off the lock: the read, made once for every
tab of the workspace and role that the same change woke on this worker,
`workspace.live.shared_read`; it is given no person, so what it returns is the same for each of
them) and `_live_show(who, rows)` (inside the lock: build this tab's rows from them, such as
"you", without changing them: the other tabs share them). 200 tabs woken by one change then
cost one read, not 200, and each tab two short lock holds, not five and an event (numbers and
team do; the billing pages still reload by `live_reload`).

`live_reload` checks the caller again, without touching the session (the watcher's call is not
the person's activity, so it keeps no idle session alive). Rows read off the lock are set only if
the tab still belongs to the person they were read for (`_still_shown_to`): someone else may
have signed in on it meanwhile.
"""

from __future__ import annotations

import reflex as rx

from clerk_portal.ui import guard
from clerk_portal.ui.state import SessionState


class LiveWatch(rx.State, mixin=True):
    async def _live_reload(self, who: guard.Principal) -> None:
        """Read the rows again off the state lock, then set them inside `async with self`
        (a page with the shared reload's three methods needs no override)."""
        if not hasattr(self, "_live_rows"):
            raise NotImplementedError
        async with self:
            params = self._live_params(who)
        rows = await self._live_rows(who.workspace_id, who.role, params)
        async with self:
            if await self._still_shown_to(who):
                self._live_show(who, rows)

    async def _still_shown_to(self, who: guard.Principal) -> bool:
        """Inside `async with self`: the tab was not reset for another session since."""
        identity = (await self.get_state(SessionState))._tab_identity
        return identity.endswith(f":{who.user_id}:{who.workspace_id}")

    @rx.event
    @guard.members_only
    async def watch_live(self):
        (await self.get_state(SessionState))._live_page = self.get_full_name()

    @rx.event(background=True)
    @guard.members_following_live  # the watcher's call, not the person's: touches no session
    async def live_reload(self):
        await self._live_reload(guard.principal())

    @rx.event
    @guard.members_only
    async def stop_live(self):
        shell = await self.get_state(SessionState)
        if shell._live_page == self.get_full_name():  # not a page loaded since
            shell._live_page = ""
