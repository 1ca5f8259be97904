"""Billing details (email, name, address, tax id, PO number) on the Stripe customer and invoices.

Name, email and address are the customer's (Stripe copies them onto each invoice when it is
finalized). The tax id goes through Stripe's Tax IDs API (`/v1/customers/{id}/tax_ids`, its type
chosen from `tax_ids.TYPES`): Stripe prints it in the invoice's header. The PO number is an
invoice custom field (`invoice_settings.custom_fields`, printed on every invoice).

A new tax id is created first (a value Stripe refuses changes nothing), then the customer is
updated, then the old tax id is removed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from typing import Any

from sqlmodel import Session

from clerk_portal.billing import countries, ledger, mirror, tax_ids
from clerk_portal.billing.gateway import BillingGateway, CustomerSnapshot, gateway_or_default
from clerk_portal.billing.services.common import (
    actor_name,
    load_account,
    write_mirror,
)
from clerk_portal.billing.services.customer import ensure_customer
from clerk_portal.core import text_input
from clerk_portal.core.db import in_db
from clerk_portal.core.errors import InvalidValue
from clerk_portal.models import BillingAccount
from clerk_portal.workspace import repository

# Caps in characters, within what Stripe stores (an invoice custom field's value: 140).
LIMITS = {
    "name": 200,
    "line1": 200,
    "line2": 200,
    "city": 100,
    "state": 100,
    "postal_code": 20,
    "country": 2,
    "tax_id": 64,
    "po_number": 64,
}
LABELS = {
    "name": "name on invoices",
    "line1": "address line 1",
    "line2": "address line 2",
    "city": "city",
    "state": "state or region",
    "postal_code": "postal code",
    "country": "country code",
    "tax_id": "tax id",
    "po_number": "PO number",
}


@dataclass(frozen=True)
class BillingDetails:
    email: str
    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    tax_id: str = ""
    po_number: str = ""
    tax_id_type: str = ""  # Stripe's type (eu_vat, us_ein, ...): required with a tax id


def validate(details: BillingDetails) -> BillingDetails:
    """Every field through the portal's text rules (capped, no control characters, whitespace
    normalized); raises InvalidValue naming the field."""
    raw = vars(details)
    try:
        values = {"email": text_input.email(raw["email"], label="billing email")}
    except InvalidValue:
        raise InvalidValue("Enter the email address invoices should go to.") from None
    for key, limit in LIMITS.items():
        values[key] = text_input.clean(raw[key], label=LABELS[key], max_length=limit)
    country = values["country"].upper()
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        raise InvalidValue("Use the two-letter country code (for example US, DE, GB).")
    if country and country not in countries.CODES:
        raise InvalidValue("Choose the country of the billing address from the list.")
    values["country"] = country
    if (values["line1"] or values["city"] or values["postal_code"]) and not country:
        raise InvalidValue("Choose the country of the billing address.")
    kind = str(raw.get("tax_id_type") or "")
    if values["tax_id"]:
        refusal = tax_ids.problem(kind, values["tax_id"])
        if refusal:
            raise InvalidValue(refusal)
        values["tax_id"] = tax_ids.normalise(values["tax_id"])
    values["tax_id_type"] = kind if values["tax_id"] else ""
    return BillingDetails(**values)


def _saved(account: BillingAccount) -> BillingDetails:
    """What the mirror holds now, in the shape of the form."""
    return BillingDetails(
        email=account.billing_email or "",
        name=account.billing_name or "",
        line1=account.address_line1 or "",
        line2=account.address_line2 or "",
        city=account.address_city or "",
        state=account.address_state or "",
        postal_code=account.address_postal_code or "",
        country=account.address_country or "",
        tax_id=account.tax_id or "",
        po_number=account.po_number or "",
        tax_id_type=account.tax_id_type or "",
    )


def _customer_params(details: BillingDetails, workspace_name: str) -> dict[str, Any]:
    fields = [{"name": mirror.PO_FIELD, "value": details.po_number}] if details.po_number else []
    address = {
        key: getattr(details, key)
        for key in ("line1", "line2", "city", "state", "postal_code", "country")
    }
    return {
        "email": details.email,
        "name": details.name or workspace_name,
        "address": address if details.country else "",
        "invoice_settings": {"custom_fields": fields or ""},
    }


def _tax_id(details: BillingDetails) -> tuple[str, str] | None:
    return (details.tax_id_type, details.tax_id) if details.tax_id else None


async def update_billing_details(
    *,
    workspace_id: int,
    actor_user_id: int | None,
    details: BillingDetails,
    gateway: BillingGateway | None = None,
) -> CustomerSnapshot:
    """Idempotent: details equal to the saved ones write nothing (a double click, a second tab);
    sent at once, Stripe replays the first answer and the history keeps one row."""
    gateway = gateway_or_default(gateway)
    details = validate(details)
    view = await ensure_customer(await load_account(workspace_id), gateway)
    params = _customer_params(details, view.workspace_name)
    account = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    saved = _saved(account)
    wanted = _tax_id(details)
    if (params, wanted) == (_customer_params(saved, view.workspace_name), _tax_id(saved)):
        return await gateway.retrieve_customer(view.customer_id or "")
    customer_id = view.customer_id or ""
    digest = hashlib.sha256(json.dumps([params, wanted], sort_keys=True).encode()).hexdigest()[:16]
    key = f"{view.namespace}:details:{digest}:v{view.mirror_version}"
    if wanted and wanted != _tax_id(saved):
        await gateway.create_tax_id(
            customer_id, type=wanted[0], value=wanted[1], idempotency_key=f"{key}:tax_id"
        )
    customer = await gateway.update_customer(customer_id, params, idempotency_key=key)
    # The customer's tax ids, read along: one is the wanted one, the rest go (an old one, or a
    # twin a lost answer's retry created).
    found = customer.tax_ids or ()
    keep = next((t for t in found if (t.type, t.value) == wanted), None)
    for old in (t for t in found if t is not keep):
        await gateway.delete_tax_id(customer_id, old.id)
    customer = replace(customer, tax_ids=(keep,) if keep else ())

    def apply(
        session: Session, account: BillingAccount, snap: CustomerSnapshot
    ) -> CustomerSnapshot:
        mirror.apply_customer(session, account, snap)
        ledger.record_activity(
            session,
            workspace_id=workspace_id,
            actor_user_id=actor_user_id,
            kind="details_updated",
            summary=f"{actor_name(session, actor_user_id)} updated the billing details",
            action_key=key,
        )
        return snap

    return await write_mirror(
        workspace_id,
        seen_version=view.mirror_version,
        first=customer,
        refetch=lambda: gateway.retrieve_customer(customer.id),
        apply=apply,
    )
