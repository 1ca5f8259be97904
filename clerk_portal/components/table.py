"""Tables that stay inside the page on a phone: they scroll in their own box, never the page."""

from __future__ import annotations

import reflex as rx


def field_label(text: str, html_for: str) -> rx.Component:
    return rx.el.label(text, html_for=html_for, style={"fontSize": "14px", "fontWeight": 500})


def scroll_table(
    headers: list[str | tuple[str, object]],
    body: rx.Component,
    *,
    table_id: str,
    label: str,
    extra_header: rx.Component | None = None,
) -> rx.Component:
    """`headers`: labels, or (label, display) for a column hidden on small screens."""
    cells = [
        rx.table.column_header_cell(header)
        if isinstance(header, str)
        else rx.table.column_header_cell(header[0], display=header[1])
        for header in headers
    ]
    if extra_header is not None:
        cells.append(extra_header)
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*cells)),
            rx.table.body(body),
            variant="surface",
            size="2",
            width="100%",
            id=table_id,
            aria_label=label,
        ),
        width="100%",
        max_width="100%",
        overflow_x="auto",
    )


def empty_state(message: str, *, icon: str, element_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.icon(icon, size=28, color="var(--gray-9)"),
            rx.text(message, align="center", color_scheme="gray"),
            align="center",
            spacing="3",
            padding="24px",
        ),
        width="100%",
        id=element_id,
    )
