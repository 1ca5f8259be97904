"""A bare Reflex app for the benchmarks to measure beside the portal, in the same run: the same
Reflex, the same Radix theme, started the way the portal's runner starts it
(`reflex run --env prod --single-port`), with nothing of the portal in it.

Its pages mirror what the portal's benchmarks time: `/pricing` has a heading, text, a card, an
input, a button and a Monthly/Yearly segmented control whose change updates a subtotal through
the backend (one event round trip, as the portal's calculator does); `/pricing` and `/other`
link to each other, each with an `on_load` that sets the heading from the state (page-to-page
navigation with one event, the least a Reflex page with state does).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RXCONFIG = """
import reflex as rx

config = rx.Config(
    app_name="bare",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", radius="medium"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
"""
APP = """
import reflex as rx


class Calculator(rx.State):
    seats: str = "3"
    interval: str = "month"
    title: str = ""

    @rx.event
    def set_seats(self, value: str):
        self.seats = value

    @rx.event
    def select_interval(self, value: str | list[str]):
        self.interval = value[0] if isinstance(value, list) else value

    @rx.var
    def subtotal(self) -> str:
        return "$1,470.00 / year" if self.interval == "year" else "$147.00 / month"

    @rx.event
    def load_pricing(self):
        self.title = "Pricing"

    @rx.event
    def load_other(self):
        self.title = "Other"


def _page(*children) -> rx.Component:
    return rx.container(
        rx.vstack(
            rx.heading(Calculator.title, size="8", as_="h1"),
            rx.hstack(rx.link("Pricing", href="/pricing"), rx.link("Other", href="/other")),
            *children,
        ),
        padding="24px",
    )


def pricing() -> rx.Component:
    return _page(
        rx.text("Every plan starts with a 14-day free trial. Pay per seat."),
        rx.segmented_control.root(
            rx.segmented_control.item("Monthly", value="month", id="interval-month"),
            rx.segmented_control.item("Yearly", value="year", id="interval-year"),
            value=Calculator.interval,
            on_change=Calculator.select_interval,
        ),
        rx.card(
            rx.vstack(
                rx.heading("Business", size="5", as_="h2"),
                rx.text("$49.00 per seat per month"),
                rx.input(value=Calculator.seats, on_change=Calculator.set_seats,
                         aria_label="Seats"),
                rx.text(Calculator.subtotal, id="subtotal"),
                rx.button("Start free trial"),
            )
        ),
    )


def other() -> rx.Component:
    return _page(rx.text("Another page.", id="other-text"))


app = rx.App()
app.add_page(pricing, route="/pricing", title="Pricing", on_load=Calculator.load_pricing)
app.add_page(other, route="/other", title="Other", on_load=Calculator.load_other)
"""


@contextmanager
def bare_reflex_app(folder: Path) -> Iterator[str]:
    """Build and serve the bare app from `folder` (empty); yields its URL, stops it after."""
    from clerk_portal.ops.runner import child_environment
    from tests.support.ports import free_port, wait_for_http

    (folder / "bare").mkdir(parents=True)
    (folder / "bare" / "__init__.py").write_text("")
    (folder / "bare" / "bare.py").write_text(APP)
    (folder / "rxconfig.py").write_text(RXCONFIG)
    port = free_port()
    argv = [sys.executable, "-m", "reflex", "run", "--loglevel", "warning", "--env", "prod"]
    argv += ["--single-port", "--frontend-port", str(port), "--backend-host", "127.0.0.1"]
    with (folder / "bare.log").open("w") as log:
        process = subprocess.Popen(
            argv, cwd=folder, env=child_environment(dev=False), stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip
        try:
            url = f"http://localhost:{port}"
            try:
                wait_for_http(
                    url + "/pricing", timeout=600, is_alive=lambda: process.poll() is None
                )
            except BaseException:
                print((folder / "bare.log").read_text()[-3000:], file=sys.stderr)
                raise
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
