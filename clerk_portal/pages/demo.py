"""Demo controls (/demo, demo mode only: not registered in production, and every control refuses
there too): who the personas are, where Acme Dental is, reset and the scenarios a rep clicks.

Anyone signed in to Acme Dental may use them (a rep may be showing any persona's view); each
control acts on Acme Dental only. A control runs as a background event, off the state lock; its
changes reach every open tab of the workspace through the live channel, this one included.
"""

from __future__ import annotations

from typing import TypedDict

import reflex as rx

from clerk_portal.core.errors import DomainError
from clerk_portal.demo import scenarios
from clerk_portal.demo.reset import demo_workspace_id
from clerk_portal.demo.status import PERSONAS, DemoStatus, demo_status
from clerk_portal.ui import guard
from clerk_portal.ui.live import LiveWatch

ACME_ONLY = "The demo controls act on Acme Dental: sign in as one of its people."
# (scenario, button id): starting states first, then steps from the current state.
STARTS = ("reset", "trial_ended", "subscribed", "renewal_fails", "invoiced")
STEPS = ("advance_to_renewal", "advance_a_day", "recover", "advance_past_due_date", "mark_paid")


class RetryRow(TypedDict):
    label: str
    when: str
    state: str


class DemoState(LiveWatch, rx.State):
    status: str = ""
    today: str = ""
    renews: str = ""
    next_retry: str = ""
    retries: list[RetryRow] = []
    message: str = ""
    working: bool = False

    def _show(self, shown: DemoStatus) -> None:
        self.status, self.today, self.renews = shown.status, shown.today, shown.renews
        self.next_retry = shown.next_retry
        self.retries = [RetryRow(label=r.label, when=r.when, state=r.state) for r in shown.retries]

    async def _live_reload(self, who: guard.Principal) -> None:
        workspace_id = await demo_workspace_id()
        if who.workspace_id != workspace_id:
            return
        shown = await demo_status(workspace_id)  # Stripe's clock: read off the state lock
        async with self:
            if await self._still_shown_to(who):
                self._show(shown)

    @rx.event(background=True)
    @guard.members_only
    async def load_demo(self):
        who = guard.principal()
        workspace_id = await demo_workspace_id()
        if who.workspace_id != workspace_id:
            async with self:
                self.message = ACME_ONLY
            return None
        shown = await demo_status(workspace_id)
        async with self:
            if await self._still_shown_to(who):
                self._show(shown)
        return DemoState.watch_live

    @rx.event(background=True)
    @guard.members_only
    async def run_scenario(self, name: str):
        who = guard.principal()
        workspace_id = await demo_workspace_id()
        async with self:
            if who.workspace_id != workspace_id:
                self.message = ACME_ONLY
                return
            if self.working:
                return
            self.working, self.message = True, ""
        try:
            outcome = await scenarios.run_scenario(name)
            shown = await demo_status(workspace_id)
        except DomainError as refused:
            async with self:
                self.working, self.message = False, refused.message
            return
        except BaseException:
            async with self:
                self.working = False
            raise
        async with self:
            self.working = False
            if await self._still_shown_to(who):
                self.message = f"{outcome.message} ({outcome.seconds:.1f} s)"
                self._show(shown)


def _persona(role: str, name: str, may: str) -> rx.Component:
    return rx.el.li(
        rx.text(rx.text.strong(f"{name} · {role}"), f": {may}", size="2"),
        id=f"persona-{role}",
    )


def _button(name: str, *, solid: bool = False) -> rx.Component:
    scenario = scenarios.SCENARIOS[name]
    return rx.vstack(
        rx.button(
            scenario.label,
            on_click=DemoState.run_scenario(name),
            loading=DemoState.working,
            disabled=DemoState.working,
            variant="solid" if solid else "soft",
            id=f"demo-{name.replace('_', '-')}",
        ),
        rx.text(scenario.what, size="1", color_scheme="gray"),
        align="start",
        spacing="1",
        max_width="260px",
    )


def _retry_row(row: RetryRow) -> rx.Component:
    return rx.el.li(
        rx.text(
            rx.cond(row["state"] == "done", "✓ ", rx.cond(row["state"] == "next", "→ ", "· ")),
            row["label"],
            ": ",
            row["when"],
            weight=rx.cond(row["state"] == "next", "bold", "regular"),
            size="2",
        ),
        data_state=row["state"],
    )


def demo() -> rx.Component:
    from clerk_portal.components.shell import page_shell

    return page_shell(
        "Demo controls",
        rx.vstack(
            rx.card(
                rx.vstack(
                    rx.heading("Acme Dental now", size="4", as_="h2"),
                    rx.text(DemoState.status, id="demo-status", weight="medium"),
                    rx.text("Demo date: ", rx.el.span(DemoState.today, id="demo-today"), size="2"),
                    rx.cond(
                        DemoState.renews != "",
                        rx.text(
                            "Renews on ", rx.el.span(DemoState.renews, id="demo-renews"), size="2"
                        ),
                    ),
                    rx.cond(
                        DemoState.retries.length() > 0,
                        rx.vstack(
                            rx.text("Stripe's retry schedule", weight="medium", size="2"),
                            rx.el.ol(rx.foreach(DemoState.retries, _retry_row), id="demo-retries"),
                            rx.cond(
                                DemoState.next_retry != "",
                                rx.text(
                                    "Next retry (Stripe): ",
                                    rx.el.span(DemoState.next_retry, id="demo-next-retry"),
                                    size="2",
                                ),
                            ),
                            spacing="1",
                        ),
                    ),
                    rx.cond(
                        DemoState.message != "",
                        rx.callout(DemoState.message, icon="info", id="demo-message"),
                    ),
                    spacing="2",
                    width="100%",
                ),
                width="100%",
            ),
            rx.heading("Start from", size="4", as_="h2"),
            rx.hstack(*[_button(n, solid=n == "reset") for n in STARTS], wrap="wrap", spacing="4"),
            rx.heading("Then", size="4", as_="h2"),
            rx.hstack(*[_button(n) for n in STEPS], wrap="wrap", spacing="4"),
            rx.heading("The people of Acme Dental", size="4", as_="h2"),
            rx.el.ul(*[_persona(*p) for p in PERSONAS], id="demo-personas"),
            rx.text(
                "Sign in as another person from the sign-in page; every open tab follows "
                "the demo live.",
                size="2",
                color_scheme="gray",
            ),
            spacing="4",
            width="100%",
            on_unmount=DemoState.stop_live,
        ),
    )
