"""The page shell: a left sidebar with the workspace (and its switcher), the navigation (by role),
the signed-in person and the trial message in its bottom-left corner; on a phone the sidebar is a
top bar whose navigation opens with a menu button, and the trial message a slim bar under it.
All of it reads `SessionState`, which follows the workspace live.

One set of elements serves both sizes (their ids are unique); only CSS at `WIDE` tells them apart,
and nothing floats: the trial message never covers the page's content.
"""

from __future__ import annotations

import reflex as rx
from reflex.experimental.client_state import ClientStateVar
from reflex.vars.base import Var
from reflex.vars.function import FunctionVar

from clerk_portal.components.native_form import post_form
from clerk_portal.components.trial_banner import trial_banner
from clerk_portal.core import routes
from clerk_portal.ui.state import SessionState

SIDEBAR_WIDTH = "248px"
PANEL_ID = "sidebar-panel"
MENU_ID = "nav-menu"
_ICONS = {
    routes.BILLING: "credit-card",
    routes.TEAM: "users",
    routes.NUMBERS: "phone",
    routes.INVOICES: "file-text",
    routes.HISTORY: "history",
}

# Whether the phone's navigation is open: the browser's own (a click needs no round trip).
menu_open = ClientStateVar.create("shell_menu_open", False)


def _wide(narrow, wide) -> rx.Breakpoints:
    """`narrow` on a phone, `wide` from 62em (992 px) on: the sidebar's breakpoint."""
    return rx.breakpoints(initial=narrow, md=wide)


def _close_on_escape() -> Var:
    """Escape closes the open menu and puts the focus back on its button."""
    close = str(menu_open.set_value(False))
    return Var(
        _js_expr=(
            f'((event) => {{ if (event.key === "Escape" && {menu_open.value!s}) {{ ({close})();'
            f' document.getElementById("{MENU_ID}")?.focus(); }} }})'
        ),
        _var_data=menu_open.set_value(False)._get_all_var_data(),
    ).to(FunctionVar)


def _is_current(href: str) -> Var:
    path = SessionState.router.page.path
    if href == routes.BILLING:  # the home page shows the billing overview too
        return (path == href) | (path == routes.HOME)
    return path == href


def _nav_link(label: str, href: str) -> rx.Component:
    current = _is_current(href)
    link = rx.link(
        rx.icon(_ICONS.get(href, "circle"), size=16, aria_hidden="true"),
        label,
        href=href,
        id=f"nav-{label.lower()}",
        aria_current=rx.cond(current, "page", "false"),
        on_click=menu_open.set_value(False),
        size="2",
        weight="medium",
        underline="none",
        display="flex",
        align_items="center",
        gap="10px",
        padding="8px 10px",
        border_radius="var(--radius-2)",
        color=rx.cond(current, "var(--accent-12)", "var(--gray-12)"),
        background=rx.cond(current, "var(--accent-a4)", "transparent"),
        _hover={"background": "var(--gray-a4)"},
    )
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
            width="100%",
            padding="6px 8px",
            border="1px solid var(--gray-a7)",
            border_radius="var(--radius-2)",
            background="var(--color-surface)",
            color="var(--gray-12)",
            font_size="14px",
        ),
    )


def _account() -> rx.Component:
    return rx.flex(
        rx.flex(
            rx.text(SessionState.user_name, size="2", weight="medium", id="user-name", trim="both"),
            rx.badge(SessionState.role, id="user-role", variant="soft", width="fit-content"),
            direction="column",
            gap="6px",
            min_width="0",
        ),
        post_form(
            routes.backend_url(routes.AUTH_LOGOUT),
            rx.button(
                rx.icon("log-out", size=14, aria_hidden="true"),
                "Sign out",
                type="submit",
                variant="ghost",
                size="2",
                id="sign-out",
            ),
        ),
        justify="between",
        align="center",
        gap="8px",
        padding_top="12px",
        border_top="1px solid var(--gray-a5)",
    )


def _brand() -> rx.Component:
    """Clerk Chat and the workspace, with the phone's menu button."""
    return rx.flex(
        rx.flex(
            rx.text("Clerk Chat", size="2", weight="bold", color_scheme="gray"),
            rx.text(
                SessionState.workspace_name,
                id="workspace-name",
                title=SessionState.workspace_name,
                size="3",
                weight="bold",
                line_height="1.4",
                overflow="hidden",
                text_overflow="ellipsis",
                white_space="nowrap",
            ),
            direction="column",
            gap="4px",
            min_width="0",
        ),
        rx.el.button(
            # Two static icons: a computed icon name would bundle every icon of lucide.
            rx.cond(
                menu_open.value,
                rx.icon("x", size=20, aria_hidden="true"),
                rx.icon("menu", size=20, aria_hidden="true"),
            ),
            id=MENU_ID,
            type="button",
            aria_label="Menu",
            aria_expanded=rx.cond(menu_open.value, "true", "false"),
            aria_controls=PANEL_ID,
            on_click=menu_open.set_value(~menu_open.value),
            display=_wide("inline-flex", "none"),
            align_items="center",
            justify_content="center",
            width="40px",
            height="40px",
            flex_shrink="0",
            border="1px solid var(--gray-a6)",
            border_radius="var(--radius-2)",
            background="var(--color-surface)",
            color="var(--gray-12)",
            cursor="pointer",
        ),
        justify="between",
        align="center",
        gap="12px",
    )


def _panel() -> rx.Component:
    """The switcher, the navigation and the person: always there beside the page, behind the
    menu button on a phone."""
    return rx.box(
        _workspace_switcher(),
        rx.el.nav(
            rx.flex(
                *[_nav_link(label, href) for label, href in routes.NAVIGATION],
                direction="column",
                gap="2px",
            ),
            aria_label="Main",
        ),
        rx.box(flex="1"),  # the person sits at the bottom of the sidebar, above the trial
        _account(),
        id=PANEL_ID,
        display=_wide(rx.cond(menu_open.value, "flex", "none"), "flex"),
        flex_direction="column",
        gap="16px",
        flex=_wide("none", "1"),
        padding_top="16px",
    )


def sidebar() -> rx.Component:
    # The column runs the page's whole height (its background and border); the sidebar in it
    # stays put, one window high, while the page scrolls.
    return rx.box(
        rx.el.aside(
            rx.box(
                _brand(),
                _panel(),
                display="flex",
                flex_direction="column",
                flex="1",
                padding=_wide("12px 16px", "16px"),
            ),
            trial_banner(),
            id="sidebar",
            aria_label="Workspace and navigation",
            custom_attrs={"onKeyDown": _close_on_escape()},  # no on_key_down trigger on <aside>
            display="flex",
            flex_direction="column",
            height=_wide("auto", "100vh"),
            position=_wide("static", "sticky"),
            top="0",
            overflow_y=_wide("visible", "auto"),
        ),
        flex_shrink="0",
        width=_wide("100%", SIDEBAR_WIDTH),
        background="var(--gray-2)",
        border_right=_wide("none", "1px solid var(--gray-a5)"),
        border_bottom=_wide("1px solid var(--gray-a5)", "none"),
    )


def page_shell(title: str | rx.Var, *children: rx.Component) -> rx.Component:
    return rx.box(
        sidebar(),
        rx.el.main(
            rx.box(
                rx.cond(
                    SessionState.signed_in,
                    rx.box(rx.heading(title, size="6", as_="h1", margin_bottom="16px"), *children),
                    rx.center(rx.spinner(size="3"), padding="48px"),
                ),
                max_width="1100px",
                margin="0 auto",
            ),
            flex="1",
            min_width="0",
            padding=_wide("16px", "28px 32px"),
        ),
        display="flex",
        flex_direction=_wide("column", "row"),
        min_height="100vh",
    )
