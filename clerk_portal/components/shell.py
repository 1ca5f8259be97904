"""The page shell: a header with the workspace name and the navigation, then the page."""

from __future__ import annotations

import reflex as rx

from clerk_portal import routes
from clerk_portal.state import ShellState


def _nav_link(label: str, href: str) -> rx.Component:
    return rx.link(label, href=href, id=f"nav-{label.lower()}", size="3", weight="medium")


def header() -> rx.Component:
    return rx.el.header(
        rx.hstack(
            rx.hstack(
                rx.heading("Clerk Chat", size="4"),
                rx.text("·", color_scheme="gray"),
                rx.text(ShellState.workspace_name, id="workspace-name", weight="medium"),
                align="center",
                spacing="2",
            ),
            rx.el.nav(
                rx.hstack(
                    *[_nav_link(label, href) for label, href in routes.NAVIGATION],
                    spacing="4",
                    wrap="wrap",
                ),
                aria_label="Main",
            ),
            justify="between",
            align="center",
            wrap="wrap",
            spacing="3",
            width="100%",
        ),
        padding="12px 20px",
        border_bottom="1px solid var(--gray-a5)",
    )


def page_shell(title: str, *children: rx.Component) -> rx.Component:
    return rx.box(
        header(),
        rx.el.main(
            rx.heading(title, size="6", as_="h1", margin_bottom="16px"),
            *children,
            padding="20px",
            max_width="1100px",
            margin="0 auto",
        ),
        min_height="100vh",
    )
