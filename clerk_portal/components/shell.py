"""The page shell: a header with the workspace, the navigation (by role) and the signed-in
person, and the trial message. All of it reads `SessionState`, which follows the workspace live."""

from __future__ import annotations

import reflex as rx

from clerk_portal.components.native_form import post_form
from clerk_portal.components.trial_banner import trial_banner
from clerk_portal.core import routes
from clerk_portal.ui.state import SessionState


def _nav_link(label: str, href: str) -> rx.Component:
    link = rx.link(label, href=href, id=f"nav-{label.lower()}", size="3", weight="medium")
    # Links to what a role cannot use stay out (each page still checks, and explains itself).
    audience = {
        routes.TEAM: SessionState.manages_team,
        routes.NUMBERS: SessionState.manages_team,
        routes.INVOICES: SessionState.is_owner,
        routes.HISTORY: SessionState.is_owner,
    }.get(href)
    return link if audience is None else rx.cond(audience, link)


def _workspace_switcher() -> rx.Component:
    return rx.cond(
        SessionState.workspaces.length() > 1,
        rx.el.select(
            rx.foreach(
                SessionState.workspaces,
                lambda option: rx.el.option(option["name"], value=option["id"]),
            ),
            aria_label="Workspace",
            id="workspace-switcher",
            on_change=SessionState.switch_workspace,
        ),
    )


def _account() -> rx.Component:
    return rx.hstack(
        rx.text(SessionState.user_name, size="2", id="user-name"),
        rx.badge(SessionState.role, id="user-role", variant="soft"),
        post_form(
            routes.backend_url(routes.AUTH_LOGOUT),
            rx.button("Sign out", type="submit", variant="ghost", size="2", id="sign-out"),
        ),
        align="center",
        spacing="3",
    )


def header() -> rx.Component:
    return rx.el.header(
        rx.hstack(
            rx.hstack(
                rx.heading("Clerk Chat", size="4"),
                rx.text("·", color_scheme="gray"),
                rx.text(SessionState.workspace_name, id="workspace-name", weight="medium"),
                _workspace_switcher(),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            rx.el.nav(
                rx.hstack(
                    *[_nav_link(label, href) for label, href in routes.NAVIGATION],
                    spacing="4",
                    wrap="wrap",
                ),
                aria_label="Main",
            ),
            _account(),
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
            rx.cond(
                SessionState.signed_in,
                rx.box(rx.heading(title, size="6", as_="h1", margin_bottom="16px"), *children),
                rx.center(rx.spinner(size="3"), padding="48px"),
            ),
            padding="20px",
            max_width="1100px",
            margin="0 auto",
        ),
        trial_banner(),
        min_height="100vh",
        padding_bottom="180px",  # room for the trial banner, which wraps on a phone
    )
