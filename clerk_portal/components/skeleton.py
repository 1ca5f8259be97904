"""What a page shows before its data arrives: grey shapes of the cards and tables to come, at
their size, so nothing jumps when the data lands (Radix's Skeleton; for readers a busy status
named Loading)."""

from __future__ import annotations

import reflex as rx


def _bar(width: str, height: str = "16px") -> rx.Component:
    return rx.skeleton(rx.box(width=width, height=height), loading=True)


def card_skeleton(lines: int, *, min_height: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            _bar("40%", "24px"),
            *[_bar(f"{90 - 12 * (index % 3)}%") for index in range(lines)],
            spacing="3",
            width="100%",
        ),
        width="100%",
        min_height=min_height,
    )


def table_skeleton(rows: int = 4) -> rx.Component:
    return rx.card(
        rx.vstack(
            *[_bar("100%", "28px") for _ in range(rows + 1)],
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def loading(*shapes: rx.Component, element_id: str) -> rx.Component:
    """The shapes, stacked like the page's content, announced as loading."""
    return rx.vstack(
        *shapes,
        spacing="4",
        width="100%",
        id=element_id,
        role="status",  # a name on a plain div is not allowed (axe: aria-prohibited-attr)
        aria_busy="true",
        aria_label="Loading",
    )
