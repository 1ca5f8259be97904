"""Customer tax ids: ``/v1/customers/{id}/tax_ids`` (create, retrieve, list, delete) and
``tax_id_data`` at customer creation (https://docs.stripe.com/api/tax_ids).

A value is checked against the format of its type (Stripe answers ``tax_id_invalid`` naming
``value``) and stored normalised (upper case, no spaces); the country comes from the type (the
VAT number's prefix for ``eu_vat``). Stripe verifies ``eu_vat``, ``gb_vat`` and ``au_abn`` with the
authorities afterwards: here their verification stays ``pending``; other types are
``unavailable``. Invoices snapshot the customer's tax ids when they are finalized
(``customer_tax_ids``) and print them.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import StripeError, invalid, missing, not_found
from ..render import INCLUDABLE, page, render
from ..router import route
from ..store import Ctx
from ..util import as_list, new_id, public
from .customers import get_customer

EU = "AT|BE|BG|CY|CZ|DE|DK|EE|ES|FI|FR|GR|EL|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI"
# type -> (country or None for eu_vat, the value's format after upper-casing and removing spaces)
FORMATS: dict[str, tuple[str | None, re.Pattern[str]]] = {
    "eu_vat": (None, re.compile(f"(?:{EU})[0-9A-Z]{{2,12}}")),
    "gb_vat": ("GB", re.compile(r"GB(?:\d{9}|\d{12}|GD\d{3}|HA\d{3})")),
    "us_ein": ("US", re.compile(r"\d{2}-\d{7}")),
    "au_abn": ("AU", re.compile(r"\d{11}")),
    "ca_bn": ("CA", re.compile(r"\d{9}")),
    "ch_vat": ("CH", re.compile(r"CHE-\d{3}\.\d{3}\.\d{3}(?:MWST|TVA|IVA)")),
    "no_vat": ("NO", re.compile(r"\d{9}MVA")),
    "nz_gst": ("NZ", re.compile(r"\d{8,9}")),
    "in_gst": ("IN", re.compile(r"\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z]")),
    "jp_cn": ("JP", re.compile(r"\d{13}")),
    "sg_uen": ("SG", re.compile(r"\d{8,9}[A-Z]|[TSR]\d{2}[A-Z]{2}\d{4}[A-Z]")),
}
VERIFIED_LATER = ("eu_vat", "gb_vat", "au_abn")
MAX_PER_CUSTOMER = 25  # Stripe's limit on a customer's tax ids


def normalise(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()


def _name(prefix: str, key: str) -> str:
    """`value`, or `tax_id_data[0][value]` inside a customer's create."""
    return f"{prefix}{key}]" if prefix else key


def checked(data: dict[str, Any], param: str) -> tuple[str, str, str]:
    """(type, normalised value, country) of a valid tax id, else Stripe's 400."""
    kind = data.get("type")
    if not kind:
        raise missing(_name(param, "type"))
    if kind not in FORMATS:
        raise invalid(
            f"Invalid value for type: must be one of {', '.join(sorted(FORMATS))}.",
            _name(param, "type"),
        )
    raw = data.get("value")
    if not isinstance(raw, str) or not raw.strip():
        raise missing(_name(param, "value"))
    value = normalise(raw)
    country, pattern = FORMATS[kind]
    if not pattern.fullmatch(value):
        raise StripeError(
            400,
            "invalid_request_error",
            f"Invalid value for {kind}.",
            code="tax_id_invalid",
            param=_name(param, "value"),
        )
    return kind, value, country or ("GR" if value[:2] == "EL" else value[:2])


def new_tax_id(ctx: Ctx, customer: dict[str, Any], data: dict[str, Any], param: str) -> dict:
    kind, value, country = checked(data, param)
    mine = [t for t in ctx.store.all("tax_ids") if t["customer"] == customer["id"]]
    if len(mine) >= MAX_PER_CUSTOMER:
        raise invalid(f"A customer can have at most {MAX_PER_CUSTOMER} tax ids.", "type")
    record = {
        "id": new_id("txi_"),
        "object": "tax_id",
        "country": country,
        "created": ctx.time_for(customer),
        "customer": customer["id"],
        "customer_account": None,
        "livemode": False,
        "owner": {"type": "customer", "customer": customer["id"]},
        "type": kind,
        "value": value,
        "verification": {
            "status": "pending" if kind in VERIFIED_LATER else "unavailable",
            "verified_address": None,
            "verified_name": None,
        },
    }
    ctx.store.put(record)
    ctx.emit("customer.tax_id.created", public(record))
    return record


def of_customer(ctx: Ctx, customer_id: str) -> list[dict[str, Any]]:
    """The customer's tax ids in the order they were added (an invoice lists them so)."""
    return [t for t in ctx.store.all("tax_ids") if t["customer"] == customer_id]


def check_customer_params(params: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """`tax_id_data` of a customer's create, checked before anything is created."""
    entries = []
    for index, data in enumerate(as_list(params, "tax_id_data")):
        if not isinstance(data, dict):
            raise invalid("tax_id_data must be a list of {type, value}.", "tax_id_data")
        checked(data, f"tax_id_data[{index}][")
        entries.append((data, f"tax_id_data[{index}]["))
    return entries


def create_for_customer(
    ctx: Ctx, customer: dict[str, Any], entries: list[tuple[dict[str, Any], str]]
) -> None:
    for data, param in entries:
        new_tax_id(ctx, customer, data, param)


@route("POST", "/v1/customers/{customer_id}/tax_ids", params="type value")
def create_tax_id(ctx: Ctx, params: dict[str, Any], customer_id: str) -> dict[str, Any]:
    customer = get_customer(ctx, customer_id, "customer")
    return render(ctx, new_tax_id(ctx, customer, params, ""))


def _get(ctx: Ctx, customer_id: str, tax_id: str) -> dict[str, Any]:
    get_customer(ctx, customer_id, "customer")
    record = ctx.store.get(tax_id)
    if not record or record["object"] != "tax_id" or record["customer"] != customer_id:
        raise not_found("tax_id", tax_id, "id")
    return record


@route("GET", "/v1/customers/{customer_id}/tax_ids/{tax_id}")
def retrieve_tax_id(ctx: Ctx, params: dict[str, Any], customer_id: str, tax_id: str) -> dict:
    return render(ctx, _get(ctx, customer_id, tax_id))


@route("DELETE", "/v1/customers/{customer_id}/tax_ids/{tax_id}")
def delete_tax_id(ctx: Ctx, params: dict[str, Any], customer_id: str, tax_id: str) -> dict:
    record = _get(ctx, customer_id, tax_id)
    ctx.store.delete(tax_id)
    ctx.emit("customer.tax_id.deleted", public(record))
    return {"id": tax_id, "object": "tax_id", "deleted": True}


@route(
    "GET",
    "/v1/customers/{customer_id}/tax_ids",
    params="limit starting_after ending_before",
)
def list_tax_ids(ctx: Ctx, params: dict[str, Any], customer_id: str) -> dict[str, Any]:
    get_customer(ctx, customer_id, "customer")
    return page(ctx, of_customer(ctx, customer_id), params, f"/v1/customers/{customer_id}/tax_ids")


def _included(ctx: Ctx, node: dict[str, Any]) -> dict[str, Any]:
    """`expand[]=tax_ids` on a customer: its tax ids as a list object (Stripe: includable)."""
    records = of_customer(ctx, node["id"])
    return {
        "object": "list",
        "data": [render(ctx, r) for r in reversed(records)],
        "has_more": False,
        "url": f"/v1/customers/{node['id']}/tax_ids",
    }


INCLUDABLE.setdefault("customer", {})["tax_ids"] = _included
