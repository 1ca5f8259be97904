"""A plain HTML form that really posts to the server (Reflex's own form always prevents that).

Sign-in and sign-out need a real navigation: the server answers with a redirect that sets or
clears the HttpOnly session cookie, which no script can do.
"""

from __future__ import annotations

import reflex as rx
from reflex_components_core.el.elements.base import BaseHTML


class NativeForm(BaseHTML):
    tag = "form"

    action: rx.Var[str]
    method: rx.Var[str]


def post_form(action: str, *children: rx.Component, **props) -> rx.Component:
    return NativeForm.create(*children, action=action, method="post", **props)
