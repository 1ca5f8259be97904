"""Billing history (/billing/history, owners only): who changed what and when, and how much was
invoiced in each of the last twelve months."""

from __future__ import annotations

import asyncio
from typing import TypedDict

import reflex as rx

from clerk_portal.billing.pricing import format_cents
from clerk_portal.billing.read_models import history, history_page
from clerk_portal.components.history_view import activity_timeline, invoiced_chart
from clerk_portal.components.shell import page_shell
from clerk_portal.components.skeleton import card_skeleton, loading, table_skeleton
from clerk_portal.core import formats, routes
from clerk_portal.ui import guard
from clerk_portal.ui.access import owners_only
from clerk_portal.ui.live import LiveWatch

PAGE_SIZE = 20
# Team and number changes record the proration the owner saw before confirming; the sync that
# follows records what Stripe prorated.
PRORATED_KINDS = {
    "member_invited",
    "member_removed",
    "number_added",
    "number_released",
    "quantities",  # what Stripe prorated when it applied them
}


class ActivityRow(TypedDict):
    key: str
    who: str
    what: str
    when: str
    amount: str


class MonthBar(TypedDict):
    month: str
    dollars: float  # the chart's axis only; labels use `label`
    label: str


def _activity_row(entry: history.ActivityEntry, time_zone: str) -> ActivityRow:
    return ActivityRow(
        key=str(entry.id),
        who=entry.actor_name,
        what=entry.summary,
        when=formats.moment_in(entry.created_at, time_zone),
        amount="" if _says_its_amount(entry) else _amount_label(entry),
    )


def _says_its_amount(entry: history.ActivityEntry) -> bool:
    """The summary names the amount already ("upgraded to Business: $1,176.00 charged"): no
    badge saying it again beside it."""
    if not entry.amount_cents:
        return False
    return format_cents(abs(entry.amount_cents), entry.currency) in entry.summary


def _amount_label(entry: history.ActivityEntry) -> str:
    if entry.amount_cents is None:
        return ""
    amount = format_cents(entry.amount_cents, entry.currency)
    if entry.kind in PRORATED_KINDS and entry.amount_cents == 0:
        return "No charge"
    if entry.kind in PRORATED_KINDS:  # billed on the next invoice
        return f"+{amount} prorated" if entry.amount_cents > 0 else f"{amount} credit"
    return amount


async def _activity(
    workspace_id: int, cursor: str | None, time_zone: str
) -> tuple[list[ActivityRow], str | None]:
    page = await history_page.load_activity(workspace_id, limit=PAGE_SIZE, cursor=cursor)
    return [_activity_row(entry, time_zone) for entry in page.items], page.next_cursor


async def _months(workspace_id: int) -> list[MonthBar]:
    return [
        MonthBar(
            month=formats.month(total.year, total.month),
            dollars=total.invoiced_cents / 100,
            label=format_cents(total.invoiced_cents),
        )
        for total in await history_page.load_monthly_invoiced(workspace_id)
    ]


async def _first_page(workspace_id: int):
    """(activity rows, cursor), the months, and the workspace's time zone the rows are in."""
    time_zone = await history_page.load_time_zone(workspace_id)
    activity, months = await asyncio.gather(
        _activity(workspace_id, None, time_zone), _months(workspace_id)
    )
    return activity, months, time_zone


class HistoryState(LiveWatch, rx.State):
    entries: list[ActivityRow] = []
    months: list[MonthBar] = []
    loaded: bool = False
    loading_more: bool = False
    has_more: bool = False
    _cursor: str | None = None
    _time_zone: str = "UTC"

    @rx.var
    def invoiced_total_label(self) -> str:
        cents = round(sum(bar["dollars"] for bar in self.months) * 100)
        return format_cents(cents)

    @rx.event
    @guard.owner_page_loader  # non-owners read who the owners are on the page, no toast
    async def load_history(self):
        (rows, cursor), months, self._time_zone = await _first_page(guard.principal().workspace_id)
        self.entries, self._cursor, self.months = rows, cursor, months
        self.has_more, self.loaded = cursor is not None, True
        return HistoryState.watch_live

    async def _live_reload(self, who: guard.Principal) -> None:
        if who.role != "owner":
            return
        (rows, cursor), months, time_zone = await _first_page(who.workspace_id)
        async with self:
            if await self._still_shown_to(who):
                self._time_zone = time_zone
                self.entries, self._cursor, self.months = rows, cursor, months
                self.has_more = cursor is not None

    @rx.event
    @guard.owner_only
    async def load_older_activity(self):
        if self._cursor is None:
            return
        self.loading_more = True
        yield
        rows, self._cursor = await _activity(
            guard.principal().workspace_id, self._cursor, self._time_zone
        )
        self.entries = [*self.entries, *rows]
        self.has_more, self.loading_more = self._cursor is not None, False


def billing_history() -> rx.Component:
    return page_shell(
        "Billing history",
        owners_only(
            rx.cond(
                HistoryState.loaded,
                rx.vstack(
                    invoiced_chart(HistoryState),
                    activity_timeline(HistoryState),
                    rx.hstack(
                        rx.link("Billing", href=routes.BILLING, id="history-to-billing"),
                        rx.link("Invoices", href=routes.INVOICES, id="history-to-invoices"),
                        spacing="4",
                    ),
                    spacing="5",
                    width="100%",
                    on_unmount=HistoryState.stop_live,
                ),
                loading(
                    card_skeleton(6, min_height="300px"),
                    table_skeleton(4),
                    element_id="history-loading",
                ),
            )
        ),
    )
