"""A link that looks like a button (a page change, not an action), in the button's own colours.

Radix's `Button as_child` makes the anchor the button; the anchor must then take the button
variant's text colour, not the link's (nor the surrounding text's: `color="inherit"` gave dark
text on the solid indigo button, 3.1:1, under WCAG's 4.5:1).
"""

from __future__ import annotations

from typing import Any

import reflex as rx

# Radix Themes' text colour of each button variant (its CSS: .rt-Button.rt-variant-*).
_TEXT = {
    "solid": "var(--accent-contrast)",
    "soft": "var(--accent-a11)",
    "outline": "var(--accent-a11)",
    "surface": "var(--accent-a11)",
    "ghost": "var(--accent-a11)",
}


def link_button(label: Any, href: str, *, variant: str = "solid", **props: Any) -> rx.Component:
    return rx.button(
        rx.link(label, href=href, color=_TEXT[variant], underline="none"),
        as_child=True,
        variant=variant,
        **props,
    )
