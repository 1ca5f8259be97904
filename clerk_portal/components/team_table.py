"""The team page's pieces: the invitation form and the member table (read-only for members)."""

from __future__ import annotations

import reflex as rx

from clerk_portal.components.table import cell, field_label, scroll_table
from clerk_portal.core import text_input
from clerk_portal.ui.state import SessionState

ROLE_COLORS = {"owner": "indigo", "admin": "cyan", "member": "gray"}


def invite_form(state) -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Invite a team member", size="3", as_="h2"),
                rx.flex(
                    rx.vstack(
                        field_label("Email", "invite-email"),
                        rx.input(
                            name="email",
                            id="invite-email",
                            type="email",
                            placeholder="name@company.com",
                            required=True,
                            max_length=text_input.EMAIL,
                            width="100%",
                        ),
                        spacing="1",
                        flex="1 1 220px",
                    ),
                    rx.vstack(
                        field_label("Role", "invite-role"),
                        rx.el.select(
                            rx.cond(SessionState.is_owner, rx.el.option("Owner", value="owner")),
                            rx.el.option("Admin", value="admin"),
                            rx.el.option("Member", value="member"),
                            name="role",
                            id="invite-role",
                            default_value="member",
                            style=_NATIVE_SELECT,
                        ),
                        spacing="1",
                    ),
                    rx.button("Invite", type="submit", id="invite-submit"),
                    align="end",
                    gap="12px",
                    wrap="wrap",
                    width="100%",
                ),
                rx.cond(
                    state.invite_error != "",
                    rx.text(state.invite_error, color_scheme="red", size="2", id="invite-error"),
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=state.review_invite,
            reset_on_submit=False,
        ),
        width="100%",
    )


_NATIVE_SELECT = {
    "height": "32px",
    "padding": "0 8px",
    "borderRadius": "var(--radius-2)",
    "border": "1px solid var(--gray-a7)",
    "background": "var(--color-surface)",
    "fontSize": "14px",
}


def _role_cell(state, row) -> rx.Component:
    badge = rx.badge(row["role"], color_scheme="gray", variant="soft")
    editable = SessionState.manages_team & row["manageable"]
    return rx.cond(
        editable,
        rx.el.select(
            rx.cond(SessionState.is_owner, rx.el.option("owner", value="owner")),
            rx.el.option("admin", value="admin"),
            rx.el.option("member", value="member"),
            value=row["role"],
            on_change=lambda role: state.change_member_role(row["id"], role),
            aria_label="Role of " + row["email"],
            id="role-" + row["id"],
            style=_NATIVE_SELECT,
        ),
        badge,
    )


def _row(state, row) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(
                    rx.cond(row["name"] != "", row["name"], row["email"]),
                    rx.cond(row["is_you"], rx.text.span(" (you)", color_scheme="gray")),
                    weight="medium",
                ),
                rx.cond(row["name"] != "", rx.text(row["email"], size="1", color_scheme="gray")),
                spacing="0",
            )
        ),
        cell(_role_cell(state, row), "Role"),
        cell(
            rx.badge(
                row["status"],
                color_scheme=rx.cond(row["status"] == "active", "green", "amber"),
                variant="soft",
                high_contrast=True,  # Radix's soft green and amber text at 12 px: 4.2:1 < 4.5:1
            ),
            "Status",
        ),
        rx.cond(
            SessionState.manages_team,
            rx.table.cell(
                rx.cond(
                    row["manageable"],
                    rx.button(
                        "Remove",
                        on_click=state.review_removal(row["id"]),
                        variant="soft",
                        color_scheme="red",
                        size="1",
                        aria_label="Remove " + row["email"],
                        id="remove-" + row["id"],
                    ),
                ),
            ),
        ),
        data_email=row["email"],
        align="center",
    )


def member_table(state) -> rx.Component:
    return rx.vstack(
        scroll_table(
            ["Name", "Role", "Status"],
            rx.foreach(state.members, lambda row: _row(state, row)),
            extra_header=rx.cond(
                SessionState.manages_team,
                rx.table.column_header_cell("Actions"),
            ),
            table_id="member-table",
            label="Team members",
        ),
        rx.cond(
            state.has_more,
            rx.button(
                "Show more members",
                on_click=state.load_more_members,
                loading=state.loading_more,
                variant="soft",
                id="members-more",
            ),
        ),
        spacing="3",
        width="100%",
    )
