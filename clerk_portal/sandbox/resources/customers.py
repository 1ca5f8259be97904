"""Customers."""

from __future__ import annotations

import secrets
from typing import Any

from ..errors import invalid, not_found
from ..render import created_filter, expand_paths, page, render, renderer
from ..router import route
from ..store import Ctx, diff
from ..util import as_dict, as_int, as_list, clone, merge_metadata, new_id, public
from . import payment_methods

CUSTOMER_PARAMS = (
    "email name address[city,country,line1,line2,postal_code,state] phone description metadata "
    "payment_method invoice_settings[default_payment_method,footer,custom_fields,"
    "!rendering_options] test_clock invoice_prefix preferred_locales shipping tax_exempt "
    "next_invoice_sequence !balance !source !tax !cash_balance !coupon "
    "!promotion_code"
)
CREATE_PARAMS = f"{CUSTOMER_PARAMS} tax_id_data[type,value]"  # tax ids: at creation only
ADDRESS_KEYS = ("city", "country", "line1", "line2", "postal_code", "state")


def get_customer(ctx: Ctx, customer_id: Any, param: str = "customer") -> dict[str, Any]:
    customer = ctx.store.get(customer_id) if isinstance(customer_id, str) else None
    if not customer or customer["object"] != "customer" or customer.get("_deleted"):
        raise not_found("customer", str(customer_id), param)
    return customer


def _address(value: Any) -> dict[str, Any] | None:
    if not value:
        return None
    if not isinstance(value, dict):
        raise invalid("Invalid address", "address")
    return {k: value.get(k) or None for k in ADDRESS_KEYS}


def _apply(ctx: Ctx, customer: dict[str, Any], params: dict[str, Any]) -> None:
    for key in ("email", "name", "phone", "description"):
        if key in params:
            customer[key] = params[key] or None
    if "address" in params:
        customer["address"] = _address(params["address"])
    if "shipping" in params:
        customer["shipping"] = params["shipping"] or None
    if "metadata" in params:
        customer["metadata"] = merge_metadata(customer["metadata"], params["metadata"])
    if "preferred_locales" in params:
        customer["preferred_locales"] = as_list(params, "preferred_locales")
    if params.get("tax_exempt"):
        customer["tax_exempt"] = params["tax_exempt"]
    if params.get("next_invoice_sequence"):
        sequence = as_int(params, "next_invoice_sequence")
        if sequence < customer["next_invoice_sequence"]:
            raise invalid(
                "next_invoice_sequence cannot be lower than the current sequence.",
                "next_invoice_sequence",
            )
        customer["next_invoice_sequence"] = sequence
    if params.get("invoice_prefix"):
        customer["invoice_prefix"] = str(params["invoice_prefix"]).upper()
    if params.get("payment_method"):
        payment_methods.attach(ctx, params["payment_method"], customer["id"])
    settings = as_dict(params, "invoice_settings")
    if "default_payment_method" in settings:
        pm_id = settings["default_payment_method"]
        if pm_id:
            pm_id = payment_methods.require_attached(ctx, pm_id, customer["id"])["id"]
        customer["invoice_settings"]["default_payment_method"] = pm_id or None
    for key in ("footer", "custom_fields"):
        if key in settings:
            customer["invoice_settings"][key] = settings[key] or None


@route("POST", "/v1/customers", params=CREATE_PARAMS)
def create_customer(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    from . import tax_ids  # it imports this module

    checked_tax_ids = tax_ids.check_customer_params(params)  # before anything is created
    clock_id = params.get("test_clock") or None
    if clock_id and not ctx.store.get(clock_id):
        raise not_found("test_clock", clock_id, "test_clock")
    customer = {
        "id": new_id("cus_", 14),
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": ctx.now(clock_id),
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "invoice_prefix": secrets.token_hex(4).upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": clock_id,
    }
    ctx.store.put(customer)
    _apply(ctx, customer, params)
    tax_ids.create_for_customer(ctx, customer, checked_tax_ids)
    ctx.emit("customer.created", render(ctx, customer))
    return render(ctx, customer, expand_paths(params))


@route("GET", "/v1/customers/{customer_id}")
def retrieve_customer(ctx: Ctx, params: dict[str, Any], customer_id: str) -> dict[str, Any]:
    customer = ctx.store.get(customer_id)
    if customer and customer.get("_deleted"):
        return {"id": customer_id, "object": "customer", "deleted": True}
    return render(ctx, get_customer(ctx, customer_id, "id"), expand_paths(params))


@route("POST", "/v1/customers/{customer_id}", params=CUSTOMER_PARAMS)
def update_customer(ctx: Ctx, params: dict[str, Any], customer_id: str) -> dict[str, Any]:
    customer = get_customer(ctx, customer_id, "id")
    if "test_clock" in params:
        raise invalid("You cannot change the test clock of a customer.", "test_clock")
    before = render(ctx, customer)
    _apply(ctx, customer, params)
    touch(ctx, customer, before)
    return render(ctx, customer, expand_paths(params))


def touch(ctx: Ctx, customer: dict[str, Any], before: dict[str, Any]) -> None:
    """Emit ``customer.updated`` if anything visible changed since ``before``."""
    after = render(ctx, customer)
    changed = diff(before, after)
    if changed:
        ctx.emit("customer.updated", after, changed)


@route("DELETE", "/v1/customers/{customer_id}")
def delete_customer(ctx: Ctx, params: dict[str, Any], customer_id: str) -> dict[str, Any]:
    from . import lifecycle  # it imports this module

    customer = get_customer(ctx, customer_id, "id")
    for sub in ctx.store.all("subscriptions"):
        if sub["customer"] == customer_id and sub["status"] not in (
            "canceled",
            "incomplete_expired",
        ):
            lifecycle.cancel_now(ctx, sub, reason="cancellation_requested")
    rendered = render(ctx, customer)
    customer["_deleted"] = True
    ctx.emit("customer.deleted", rendered)
    return {"id": customer_id, "object": "customer", "deleted": True}


@route(
    "GET",
    "/v1/customers",
    params="email test_clock limit starting_after ending_before created",
)
def list_customers(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    records = [c for c in ctx.store.all("customers") if not c.get("_deleted")]
    records = created_filter(records, params)
    if params.get("email"):
        records = [c for c in records if c["email"] == params["email"]]
    if params.get("test_clock"):
        records = [c for c in records if c["test_clock"] == params["test_clock"]]
    return page(ctx, records, params, "/v1/customers")


@route(
    "GET",
    "/v1/customers/{customer_id}/payment_methods",
    params="type limit starting_after ending_before !allow_redisplay",
)
def list_customer_payment_methods(
    ctx: Ctx, params: dict[str, Any], customer_id: str
) -> dict[str, Any]:
    get_customer(ctx, customer_id, "customer")
    records = [p for p in ctx.store.all("payment_methods") if p["customer"] == customer_id]
    if params.get("type"):
        records = [p for p in records if p["type"] == params["type"]]
    return page(ctx, records, params, f"/v1/customers/{customer_id}/payment_methods")


@route("GET", "/v1/customers/{customer_id}/payment_methods/{pm_id}")
def retrieve_customer_payment_method(
    ctx: Ctx, params: dict[str, Any], customer_id: str, pm_id: str
) -> dict[str, Any]:
    pm = payment_methods.require_attached(ctx, pm_id, customer_id, create=False)
    return render(ctx, pm, expand_paths(params))


@renderer("customers")
def render_customer(ctx: Ctx, record: dict[str, Any]) -> dict[str, Any]:
    obj = public(record)
    obj["invoice_settings"] = clone(record["invoice_settings"])
    return obj


def take_invoice_number(customer: dict[str, Any]) -> str:
    number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
    customer["next_invoice_sequence"] += 1
    return number
