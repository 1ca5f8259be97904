"""Sign-in: single sign-on through the identity provider, and one-click demo people in demo mode."""

from __future__ import annotations

import reflex as rx

from clerk_portal.components.native_form import post_form
from clerk_portal.core import routes
from clerk_portal.core.settings import get_settings
from clerk_portal.demo.seed import DEMO_PEOPLE, DEMO_SALES
from clerk_portal.ui.guard import public_handler

REASONS = {
    "session_ended": "Your session has ended. Please sign in again.",
    "signed_out": "You have signed out.",
}


class LoginState(rx.State):
    notice: str = ""
    next_path: str = routes.HOME

    @rx.event
    @public_handler
    def read_query(self) -> None:
        query = self.router.url.query_parameters
        self.notice = REASONS.get(query.get("reason", ""), "")
        self.next_path = routes.safe_return_path(query.get("next"))


def _demo_button(role: str, name: str) -> rx.Component:
    return post_form(
        routes.backend_url(routes.AUTH_DEMO),
        rx.el.input(type="hidden", name="as", value=role),
        rx.button(
            f"{name} · {role}",
            type="submit",
            variant="soft",
            width="100%",
            id=f"demo-sign-in-{role}",
        ),
        width="100%",
    )


def login() -> rx.Component:
    settings = get_settings()
    # A document navigation: the browser must leave the app for the identity provider.
    sso = rx.button(
        rx.link(
            "Continue with single sign-on",
            href=routes.backend_url(routes.AUTH_LOGIN) + "?next=" + LoginState.next_path,
            reload_document=True,
            id="sso-sign-in",
        ),
        as_child=True,
        size="3",
        width="100%",
    )
    demo = rx.vstack(
        rx.divider(),
        rx.text("Demo workspace (Acme Dental): sign in as", size="2", color_scheme="gray"),
        *[_demo_button(role, name) for role, name, _email in DEMO_PEOPLE],
        rx.text("Clerk Chat's own sales team:", size="2", color_scheme="gray"),
        _demo_button(DEMO_SALES[0], DEMO_SALES[1]),
        rx.text(
            "Then ",
            rx.link("Demo controls", href=routes.DEMO, id="demo-controls-link"),
            ": reset the demo, end the trial, fail a renewal.",
            size="2",
            color_scheme="gray",
        ),
        spacing="2",
        width="100%",
    )
    return rx.el.main(
        rx.card(
            rx.vstack(
                rx.heading("Sign in to Clerk Chat", size="6", as_="h1"),
                rx.cond(
                    LoginState.notice != "",
                    rx.callout(LoginState.notice, icon="info", id="login-notice", width="100%"),
                ),
                sso if settings.oidc_issuer else rx.fragment(),
                demo if settings.is_demo else rx.fragment(),
                spacing="4",
                width="100%",
            ),
            size="4",
            width="100%",
            max_width="420px",
        ),
        # The page's one landmark (axe: landmark-one-main, region), centred as rx.center was.
        style={
            "display": "flex",
            "alignItems": "center",
            "justifyContent": "center",
            "minHeight": "100vh",
            "padding": "16px",
        },
    )
