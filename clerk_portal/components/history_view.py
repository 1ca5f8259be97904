"""The billing history's pieces: invoiced-per-month bars and the activity timeline."""

from __future__ import annotations

import reflex as rx

from clerk_portal.components.table import empty_state


def invoiced_chart(state) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Invoiced per month", size="3", as_="h2"),
                rx.text(
                    "Last 12 months: ",
                    rx.text.strong(state.invoiced_total_label, id="invoiced-total"),
                    size="2",
                    color_scheme="gray",
                ),
                justify="between",
                align="baseline",
                wrap="wrap",
                width="100%",
            ),
            rx.el.figure(
                rx.recharts.bar_chart(
                    rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
                    rx.recharts.x_axis(data_key="month", font_size=11, min_tick_gap=8),
                    # The unit on every tick: dollars, whole (the bars' exact labels are cents).
                    rx.recharts.y_axis(
                        font_size=11,
                        width=64,
                        tick_formatter="(v) => '$' + Number(v).toLocaleString('en-US')",
                    ),
                    rx.recharts.graphing_tooltip(),
                    rx.recharts.bar(
                        data_key="dollars",
                        name="Invoiced (USD)",
                        fill="var(--accent-9)",
                        radius=[3, 3, 0, 0],
                        is_animation_active=False,  # drawn at once: screenshots, reduced motion
                    ),
                    data=state.months,
                    width="100%",
                    height=220,
                    margin={"top": 8, "right": 8, "left": 0, "bottom": 0},
                ),
                aria_label="Bar chart of the amounts invoiced in each of the last 12 months, in US "
                "dollars",
                id="invoiced-chart",
                style={"margin": 0, "width": "100%", "minWidth": 0},
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _entry(entry) -> rx.Component:
    return rx.el.li(
        rx.hstack(
            rx.vstack(
                rx.text(entry["what"], weight="medium"),
                rx.text(entry["who"], " · ", entry["when"], size="1", color_scheme="gray"),
                spacing="1",
                min_width="0",
            ),
            rx.cond(
                entry["amount"] != "",
                rx.badge(entry["amount"], variant="soft", size="2"),
            ),
            justify="between",
            align="start",
            spacing="3",
            width="100%",
        ),
        style={
            "padding": "12px 0",
            "borderBottom": "1px solid var(--gray-a4)",
            "overflowWrap": "anywhere",
        },
    )


def activity_timeline(state) -> rx.Component:
    return rx.vstack(
        rx.heading("Activity", size="4", as_="h2"),
        rx.cond(
            state.entries.length() > 0,
            rx.el.ol(
                rx.foreach(state.entries, _entry),
                id="activity-list",
                aria_label="Billing activity, newest first",
                style={"listStyle": "none", "padding": 0, "margin": 0, "width": "100%"},
            ),
            empty_state(
                "Nothing has happened yet: changes to the team, numbers and plan appear here.",
                icon="history",
                element_id="activity-empty",
            ),
        ),
        rx.cond(
            state.has_more,
            rx.button(
                "Older activity",
                on_click=state.load_older_activity,
                loading=state.loading_more,
                variant="soft",
                id="activity-older",
            ),
        ),
        spacing="3",
        width="100%",
    )
