"""Tables that stay inside the page on a phone: below 520 px each row becomes a card of its
cells (each named by its `data-label`), so actions at the row's end (Remove, PDF) stay in reach;
wider, they scroll in their own box, never the page."""

from __future__ import annotations

import reflex as rx


def field_label(text: str, html_for: str) -> rx.Component:
    return rx.el.label(text, html_for=html_for, style={"fontSize": "14px", "fontWeight": 500})


PHONE = "@media (max-width: 519px)"
ROWS_AS_CARDS = {
    PHONE: {
        "& table, & tbody, & tr": {"display": "block", "width": "100%"},
        "& thead": {"display": "none"},
        # The cards have their own borders: none around them all.
        "& .rt-TableRoot": {"border": "none", "background": "none"},
        # Radix gives its <table> height 0 (a table grows anyway; a block does not) and clips it.
        "& .rt-TableRootTable": {
            "background": "none",
            "border": "none",
            "height": "auto",
            "overflow": "visible",
        },
        "& tr": {
            "border": "1px solid var(--gray-a5)",
            "borderRadius": "var(--radius-3)",
            "padding": "6px 12px",
            "marginBottom": "8px",
            "background": "var(--color-panel-solid)",
        },
        "& tr:last-child": {"marginBottom": "0"},
        "& tr > th, & tr > td": {
            "display": "flex",
            "justifyContent": "space-between",
            "alignItems": "center",
            "gap": "12px",
            "padding": "6px 0",
            "boxShadow": "none",
            "textAlign": "left",
            "minHeight": "36px",
        },
        "& tr > [data-label]::before": {
            "content": "attr(data-label)",
            "color": "var(--gray-11)",
            "fontSize": "13px",
            "flexShrink": "0",
        },
    }
}


def cell(content: rx.Component | rx.Var | str, label: str, **props: object) -> rx.Component:
    """A table cell named `label` in its row's card on a phone."""
    return rx.table.cell(content, custom_attrs={"data-label": label}, **props)


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
        style=ROWS_AS_CARDS,
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
