"""Billing details: where invoices go and what they say (email, address, tax id, PO number)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from clerk_portal.billing import countries, services, tax_ids
from clerk_portal.billing.read_models.details import load_saved_details
from clerk_portal.billing.services.details import LIMITS
from clerk_portal.core import text_input
from clerk_portal.core.errors import DomainError
from clerk_portal.ui import guard
from clerk_portal.ui.off_lock import OffLock

FIELDS = (
    # (form name, label, attribute of SavedDetails, input type, autocomplete)
    ("email", "Billing email", "billing_email", "email", "email"),
    ("name", "Name on invoices", "billing_name", "text", "organization"),
    ("line1", "Address line 1", "address_line1", "text", "address-line1"),
    ("line2", "Address line 2", "address_line2", "text", "address-line2"),
    ("city", "City", "address_city", "text", "address-level2"),
    ("state", "State / region", "address_state", "text", "address-level1"),
    ("postal_code", "Postal code", "address_postal_code", "text", "postal-code"),
    ("country", "Country", "address_country", "select", "country"),
    ("tax_id_type", "Tax id type", "tax_id_type", "select", "off"),
    ("tax_id", "Tax id", "tax_id", "text", "off"),
    ("po_number", "PO number", "po_number", "text", "off"),
)


async def _current(workspace_id: int) -> dict[str, str]:
    details = await load_saved_details(workspace_id)
    return {name: getattr(details, attribute) for name, _, attribute, _, _ in FIELDS}


class BillingDetailsState(OffLock, rx.State):
    values: dict[str, str] = {}
    # The inputs are keyed on the saved values (a save or a live change shows the new ones), so
    # they stay disabled until those are loaded: nothing typed before is wiped by the load.
    loaded: bool = False
    saving: bool = False
    error: str = ""
    _just_saved: dict[str, str] = {}  # the form saved last: its repeat is a double submit

    @rx.event
    @guard.owner_page_loader
    async def load_details(self):
        self.values = await _current(guard.principal().workspace_id)
        self._just_saved = {}
        self.loaded = True

    @rx.event(background=True)
    @guard.owner_only
    async def save_details(self, form: dict[str, Any]):
        who = guard.principal()
        submitted = {name: str(form.get(name) or "") for name, *_ in FIELDS}
        async with self:
            if submitted == self._just_saved or self.saving:
                return  # a double submit: saved already, or being saved
            self.saving, self.error = True, ""
        try:
            await services.update_billing_details(
                workspace_id=who.workspace_id,
                actor_user_id=who.user_id,
                details=services.BillingDetails(**submitted),
            )
            values = await _current(who.workspace_id)
        except DomainError as error:
            await self._settle(who, saving=False, error=error.message)
            return
        except BaseException:
            await self._settle(who, saving=False)
            raise
        if await self._settle(who, saving=False, values=values, _just_saved=submitted):
            yield rx.toast.success("Billing details saved: they appear on your next invoices.")


# The selects' choices: (value, text); "" first, for "none".
OPTIONS: dict[str, list[tuple[str, str]]] = {
    "country": [("", "Choose a country"), *countries.COUNTRIES],
    "tax_id_type": [("", "No tax id")]
    + [(t.type, f"{t.label} (e.g. {t.example})") for t in tax_ids.TYPES],
}


def _select(name: str, field_id: str, autocomplete: str) -> rx.Component:
    return rx.el.select(
        *[rx.el.option(text, value=value) for value, text in OPTIONS[name]],
        name=name,
        id=field_id,
        auto_complete=autocomplete,
        default_value=BillingDetailsState.values[name],
        key=BillingDetailsState.values[name],
        disabled=~BillingDetailsState.loaded,
        style={
            "width": "100%",
            "height": "var(--space-6)",
            "padding": "0 var(--space-2)",
            "border": "1px solid var(--gray-a7)",
            "borderRadius": "var(--radius-2)",
            "background": "var(--color-surface)",
            "color": "var(--gray-12)",
            "fontSize": "var(--font-size-2)",
        },
    )


def _field(name: str, label: str, kind: str, autocomplete: str) -> rx.Component:
    field_id = f"billing-{name}"
    if kind == "select":
        return rx.vstack(
            rx.el.label(label, html_for=field_id, style={"fontSize": "13px", "fontWeight": 500}),
            _select(name, field_id, autocomplete),
            spacing="1",
            width="100%",
        )
    return rx.vstack(
        rx.el.label(label, html_for=field_id, style={"fontSize": "13px", "fontWeight": 500}),
        rx.input(
            name=name,
            id=field_id,
            type=kind,
            auto_complete=autocomplete,
            max_length=text_input.EMAIL if name == "email" else LIMITS[name],
            default_value=BillingDetailsState.values[name],
            key=BillingDetailsState.values[name],
            disabled=~BillingDetailsState.loaded,
            width="100%",
        ),
        spacing="1",
        width="100%",
    )


def billing_details_card() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Billing details", size="4", as_="h2"),
                rx.grid(
                    *[_field(name, label, kind, auto) for name, label, _, kind, auto in FIELDS],
                    columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="3",
                    width="100%",
                ),
                rx.cond(
                    BillingDetailsState.error != "",
                    rx.callout(
                        BillingDetailsState.error,
                        icon="triangle_alert",
                        color_scheme="red",
                        id="details-error",
                    ),
                ),
                rx.button(
                    "Save billing details",
                    type="submit",
                    loading=BillingDetailsState.saving,
                    disabled=BillingDetailsState.saving | ~BillingDetailsState.loaded,
                    id="save-details",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=BillingDetailsState.save_details,
            reset_on_submit=False,
        ),
        width="100%",
        on_mount=BillingDetailsState.load_details,
    )
