"""Handlers that wait on Stripe run as background events, off the tab's state lock.

A plain Reflex event holds the tab's state lock until it returns; with Redis, Reflex aborts an
event that holds it over its expiry (10 s), and meanwhile the tab answers nothing else. So every
handler that calls Stripe is `@rx.event(background=True)` under the guard: it reads and writes
its state only inside `async with self` (short, no Stripe call inside), and calls Stripe between
those blocks. `OffLock` is what they share:

- `_claim(flag)`: set a `working`-like flag, or refuse if it is set (a second click while the
  first is with Stripe does nothing, quietly);
- `_settle(who, **values)`: set the results, but only on a tab still shown to the person the
  call was made for (someone may have signed in on it meanwhile; the tab was reset then), and
  say whether it was, so the caller sends its toast or redirect only then.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from clerk_portal.ui import guard
from clerk_portal.ui.state import SessionState


class OffLock(rx.State, mixin=True):
    async def _tab_still_for(self, who: guard.Principal) -> bool:
        """Inside `async with self`: the tab was not reset for another session since."""
        identity = (await self.get_state(SessionState))._tab_identity
        return identity.endswith(f":{who.user_id}:{who.workspace_id}")

    async def _claim(self, flag: str, **values: Any) -> bool:
        """Set `flag` (and `values`) unless it is set already: False for a concurrent repeat."""
        async with self:
            if getattr(self, flag):
                return False
            setattr(self, flag, True)
            for name, value in values.items():
                setattr(self, name, value)
            return True

    async def _settle(self, who: guard.Principal, **values: Any) -> bool:
        """Set `values` if the tab is still `who`'s; whether it was."""
        async with self:
            if not await self._tab_still_for(who):
                return False
            for name, value in values.items():
                setattr(self, name, value)
            return True
