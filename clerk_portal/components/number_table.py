"""The numbers page's pieces: the add-a-number form (errors inline) and the number table."""

from __future__ import annotations

import reflex as rx

from clerk_portal.components.table import cell, empty_state, field_label, scroll_table
from clerk_portal.core import text_input
from clerk_portal.ui.state import SessionState


def add_number_form(state) -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Add a phone number", size="3", as_="h2"),
                rx.flex(
                    rx.vstack(
                        field_label("Phone number (international format)", "number-input"),
                        rx.input(
                            name="number",
                            id="number-input",
                            type="tel",
                            placeholder="+1 415 555 0100",
                            auto_complete="off",
                            required=True,
                            max_length=text_input.PHONE_NUMBER,
                            width="100%",
                            aria_invalid=rx.cond(state.number_error != "", "true", "false"),
                            aria_describedby="number-error",
                        ),
                        spacing="1",
                        flex="1 1 240px",
                    ),
                    rx.button("Add number", type="submit", id="number-submit"),
                    align="end",
                    gap="12px",
                    wrap="wrap",
                    width="100%",
                ),
                rx.cond(
                    state.number_error != "",
                    rx.text(state.number_error, color_scheme="red", size="2", id="number-error"),
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=state.review_number,
            reset_on_submit=False,
        ),
        width="100%",
    )


def _row(state, row) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(row["number"], weight="medium")),
        cell(row["added"], "Added"),
        rx.cond(
            SessionState.manages_team,
            rx.table.cell(
                rx.button(
                    "Release",
                    on_click=state.review_release(row["id"]),
                    variant="soft",
                    color_scheme="red",
                    size="1",
                    aria_label="Release " + row["number"],
                    id="release-" + row["id"],
                )
            ),
        ),
        data_e164=row["e164"],
        align="center",
    )


def number_table(state) -> rx.Component:
    return rx.cond(
        state.numbers.length() > 0,
        rx.vstack(
            scroll_table(
                ["Number", "Added"],
                rx.foreach(state.numbers, lambda row: _row(state, row)),
                extra_header=rx.cond(
                    SessionState.manages_team, rx.table.column_header_cell("Actions")
                ),
                table_id="number-table",
                label="Phone numbers",
            ),
            rx.cond(
                state.has_more,
                rx.button(
                    "Show more numbers",
                    on_click=state.load_more_numbers,
                    loading=state.loading_more,
                    variant="soft",
                    id="numbers-more",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        empty_state(
            "No phone numbers yet: add one to start texting.",
            icon="phone",
            element_id="numbers-empty",
        ),
    )
