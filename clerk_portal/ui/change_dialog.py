"""The state that confirms a change: owners see its billing effect first, admins just confirm.

`ConfirmedChange` is the mechanism every confirmed change shares (this dialog, the plan change):
the page puts what it will do in backend-only vars (the browser cannot change them) and the tab
gets only a token. The confirm button sends the token back, so a stale or forged "confirm" (a
script calling the handler, a review replaced since) does nothing, and the repeat of the
confirmation just carried out (a double click) does nothing quietly.

`PendingChange` adds the dialog's state (`components.change_dialog.confirm_dialog` draws it): it
opens it and fills `billing_effect` for owners. Cancelling forgets the change.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

import reflex as rx

from clerk_portal.billing.services import change_effect as billing_effect
from clerk_portal.core.errors import DomainError
from clerk_portal.ui import guard
from clerk_portal.workspace.changes import Change


def _same(token: object, expected: str) -> bool:
    return bool(expected) and secrets.compare_digest(str(token).encode(), expected.encode())


class ConfirmedChange(rx.State, mixin=True):
    confirm_token: str = ""
    # What "Confirm" will do: an action name and its validated arguments (never sent to the tab).
    _pending_action: str = ""
    _pending_args: dict[str, str] = {}
    _pending_cents: int | None = None
    _spent_token: str = ""  # the confirmation carried out last

    def _hold_change(self, action: str, args: dict[str, str], cents: int | None = None) -> None:
        self._pending_action, self._pending_args, self._pending_cents = action, args, cents
        self.confirm_token = secrets.token_urlsafe(12)

    def _take_change(self, token: object = None) -> tuple[str, dict[str, str], int | None]:
        """The pending change if `token` is its (then it is gone: confirm runs once)."""
        current = _same(token, self.confirm_token)
        taken = (self._pending_action, dict(self._pending_args), self._pending_cents)
        self._pending_action, self._pending_args, self._pending_cents = "", {}, None
        self.confirm_token = ""
        if current:
            self._spent_token = str(token)
        return taken if current else ("", {}, None)

    def _repeated(self, token: object) -> bool:
        """`token` is the confirmation just carried out: a double click's second event."""
        return _same(token, self._spent_token)


class PendingChange(ConfirmedChange, mixin=True):
    confirm_open: bool = False
    confirm_title: str = ""
    confirm_text: str = ""
    confirm_label: str = "Confirm"
    billing_effect: str = ""
    effect_loading: bool = False
    saving: bool = False
    _effect_deltas: dict[str, int] = {}  # the pending change's seats and numbers, for its preview

    def _open_change(self, action: str, args: dict[str, str], title: str, text: str, label: str):
        self._hold_change(action, args)
        self.confirm_title, self.confirm_text, self.confirm_label = title, text, label
        self.billing_effect, self.saving, self.confirm_open = "", False, True

    def _close_change(self) -> None:
        self._take_change()
        self.confirm_open = self.saving = self.effect_loading = False
        self.billing_effect = ""

    def _take_change(self, token: object = None) -> tuple[str, dict[str, str], int | None]:
        if token is not None and self.effect_loading:
            return "", {}, None  # its amount is still with Stripe: nothing to confirm yet
        return super()._take_change(token)

    async def _load_effect(
        self, role: str, workspace_id: int, *, seats_delta: int = 0, numbers_delta: int = 0
    ):
        """Owners see what the change costs; admins do not see money at all. Stripe's preview
        is asked off the state lock (`load_effect`, a background event); Confirm waits for it."""
        if role != "owner":
            return
        self.effect_loading = True
        self._effect_deltas = {"seats": seats_delta, "numbers": numbers_delta}
        yield type(self).load_effect

    @rx.event(background=True)
    @guard.team_managers_only
    async def load_effect(self):
        """The preview of the change on display (its deltas are the server's, not the tab's)."""
        who = guard.principal()
        async with self:
            if who.role != "owner" or not self.effect_loading or not self.confirm_token:
                return
            token, deltas = self.confirm_token, dict(self._effect_deltas)
        try:
            effect = await billing_effect.preview(
                who.workspace_id,
                seats_delta=deltas.get("seats", 0),
                numbers_delta=deltas.get("numbers", 0),
            )
        except DomainError as refused:
            effect = billing_effect.Effect(refused.message)
        async with self:
            if self.confirm_token != token:
                return  # closed, confirmed or replaced meanwhile (or the tab changed hands)
            self.billing_effect, self._pending_cents = effect.message, effect.prorated_cents
            self.effect_loading = False

    def _stale_change(self, token: object = None):
        if self._repeated(token):
            return None
        self._close_change()
        return rx.toast.error("That confirmation is no longer current: start again.")

    async def _commit_change(
        self, operation: Callable[[], Change], workspace_id: int
    ) -> tuple[Change | None, str]:
        """Run a confirmed change off the event loop, then let Stripe's quantities follow.
        Returns the change, or None and the refusal to show."""
        try:
            done = await asyncio.to_thread(operation)
        except DomainError as refused:
            self._close_change()
            return None, refused.message
        self._close_change()
        if done.seats_delta or done.numbers_delta:
            await billing_effect.after_change(workspace_id)
        return done, ""

    @rx.event
    @guard.team_managers_only
    def cancel_change(self):
        self._close_change()
