"""Products and Prices."""

from __future__ import annotations

from typing import Any

from ..errors import invalid, missing, not_found, unmodelled
from ..render import created_filter, expand_paths, page, render, renderer
from ..router import route
from ..store import Ctx
from ..util import as_bool, as_dict, as_int, as_list, merge_metadata, new_id, public

PRODUCT_PARAMS = (
    "id name active description metadata images marketing_features statement_descriptor tax_code "
    "unit_label url default_price_data !package_dimensions !shippable !type"
)
PRICE_PARAMS = (
    "product product_data currency unit_amount unit_amount_decimal "
    "recurring[interval,interval_count,usage_type,trial_period_days,!meter,!aggregate_usage] "
    "lookup_key transfer_lookup_key nickname metadata active tax_behavior billing_scheme "
    "!tiers !tiers_mode !transform_quantity !custom_unit_amount !currency_options"
)


def get_product(ctx: Ctx, product_id: Any, param: str = "product") -> dict[str, Any]:
    product = ctx.store.get(product_id) if isinstance(product_id, str) else None
    if not product or product["object"] != "product":
        raise not_found("product", str(product_id), param)
    return product


def get_price(ctx: Ctx, price_id: Any, param: str = "price") -> dict[str, Any]:
    price = ctx.store.get(price_id) if isinstance(price_id, str) else None
    if not price or price["object"] != "price":
        raise not_found("price", str(price_id), param)
    return price


def _new_product(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("name"):
        raise missing("name")
    product_id = params.get("id") or new_id("prod_", 14)
    if ctx.store.get(product_id):
        raise invalid(f"Product already exists: {product_id}", "id", "resource_already_exists")
    now = ctx.now()
    return {
        "id": product_id,
        "object": "product",
        "active": as_bool(params, "active", True),
        "created": now,
        "default_price": None,
        "description": params.get("description") or None,
        "images": as_list(params, "images"),
        "livemode": False,
        "marketing_features": as_list(params, "marketing_features"),
        "metadata": merge_metadata({}, params.get("metadata", {})),
        "name": params["name"],
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": params.get("statement_descriptor") or None,
        "tax_code": params.get("tax_code") or None,
        "unit_label": params.get("unit_label") or None,
        "updated": now,
        "url": params.get("url") or None,
        "type": "service",
    }


@route("POST", "/v1/products", params=PRODUCT_PARAMS)
def create_product(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    product = ctx.store.put(_new_product(ctx, params))
    price_data = as_dict(params, "default_price_data")
    if price_data:
        price = _new_price(ctx, {**price_data, "product": product["id"]})
        ctx.store.put(price)
        product["default_price"] = price["id"]
        ctx.emit("price.created", render(ctx, price))
    ctx.emit("product.created", render(ctx, product))
    return render(ctx, product, expand_paths(params))


@route("GET", "/v1/products/{product_id}")
def retrieve_product(ctx: Ctx, params: dict[str, Any], product_id: str) -> dict[str, Any]:
    return render(ctx, get_product(ctx, product_id, "id"), expand_paths(params))


@route(
    "POST",
    "/v1/products/{product_id}",
    params="name active description metadata images marketing_features statement_descriptor "
    "tax_code unit_label url default_price !package_dimensions !shippable",
)
def update_product(ctx: Ctx, params: dict[str, Any], product_id: str) -> dict[str, Any]:
    product = get_product(ctx, product_id, "id")
    for key in ("name", "description", "unit_label", "url", "statement_descriptor", "tax_code"):
        if key in params:
            product[key] = params[key] or None
    for key in ("images", "marketing_features"):
        if key in params:
            product[key] = as_list(params, key)
    if "active" in params:
        product["active"] = as_bool(params, "active")
    if "metadata" in params:
        product["metadata"] = merge_metadata(product["metadata"], params["metadata"])
    if "default_price" in params:
        product["default_price"] = get_price(ctx, params["default_price"])["id"]
    product["updated"] = ctx.now()
    ctx.emit("product.updated", render(ctx, product))
    return render(ctx, product, expand_paths(params))


@route("DELETE", "/v1/products/{product_id}")
def delete_product(ctx: Ctx, params: dict[str, Any], product_id: str) -> dict[str, Any]:
    product = get_product(ctx, product_id, "id")
    if any(p["product"] == product_id for p in ctx.store.all("prices")):
        raise invalid("This product cannot be deleted because it has one or more prices.")
    ctx.store.delete(product_id)
    ctx.emit("product.deleted", render(ctx, product))
    return {"id": product["id"], "object": "product", "deleted": True}


@route("GET", "/v1/products", params="active ids limit starting_after ending_before created")
def list_products(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    records = created_filter(ctx.store.all("products"), params)
    if "active" in params:
        records = [r for r in records if r["active"] == as_bool(params, "active")]
    ids = as_list(params, "ids")
    if ids:
        records = [r for r in records if r["id"] in ids]
    return page(ctx, records, params, "/v1/products")


def _new_price(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("product_data"):
        product = ctx.store.put(_new_product(ctx, as_dict(params, "product_data")))
        ctx.emit("product.created", render(ctx, product))
    elif params.get("product"):
        product = get_product(ctx, params["product"])
    else:
        raise missing("product")
    if not params.get("currency"):
        raise missing("currency")
    amount = as_int(params, "unit_amount")
    if amount is None and params.get("unit_amount_decimal"):
        amount = int(float(params["unit_amount_decimal"]))
    if amount is None or amount < 0:
        raise missing("unit_amount")
    recurring = as_dict(params, "recurring")
    if recurring:
        interval = recurring.get("interval")
        if interval not in ("day", "week", "month", "year"):
            raise invalid("Invalid recurring[interval]", "recurring[interval]")
        if recurring.get("usage_type", "licensed") != "licensed":
            raise unmodelled("recurring[usage_type]")
        recurring = {
            "interval": interval,
            "interval_count": as_int(recurring, "interval_count", 1) or 1,
            "meter": None,
            "usage_type": recurring.get("usage_type", "licensed"),
            "trial_period_days": as_int(recurring, "trial_period_days"),
        }
    if params.get("billing_scheme", "per_unit") != "per_unit":
        raise unmodelled("billing_scheme")
    price = {
        "id": new_id("price_"),
        "object": "price",
        "active": as_bool(params, "active", True),
        "billing_scheme": "per_unit",
        "created": ctx.now(),
        "currency": str(params["currency"]).lower(),
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": merge_metadata({}, params.get("metadata", {})),
        "nickname": params.get("nickname") or None,
        "product": product["id"],
        "recurring": recurring or None,
        "tax_behavior": params.get("tax_behavior") or "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": amount,
        "unit_amount_decimal": str(amount),
    }
    _set_lookup_key(ctx, price, params)
    return price


def _set_lookup_key(ctx: Ctx, price: dict[str, Any], params: dict[str, Any]) -> None:
    if "lookup_key" not in params:
        return
    key = params["lookup_key"] or None
    if key:
        holder = next(
            (p for p in ctx.store.all("prices") if p["lookup_key"] == key and p is not price), None
        )
        if holder and not as_bool(params, "transfer_lookup_key", False):
            raise invalid(f"A price (`{holder['id']}`) already uses that lookup key.", "lookup_key")
        if holder:
            holder["lookup_key"] = None
    price["lookup_key"] = key


@route("POST", "/v1/prices", params=PRICE_PARAMS)
def create_price(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    price = _new_price(ctx, params)
    ctx.store.put(price)
    ctx.emit("price.created", render(ctx, price))
    return render(ctx, price, expand_paths(params))


@route("GET", "/v1/prices/{price_id}")
def retrieve_price(ctx: Ctx, params: dict[str, Any], price_id: str) -> dict[str, Any]:
    return render(ctx, get_price(ctx, price_id, "id"), expand_paths(params))


@route(
    "POST",
    "/v1/prices/{price_id}",
    params="active lookup_key transfer_lookup_key metadata nickname tax_behavior",
)
def update_price(ctx: Ctx, params: dict[str, Any], price_id: str) -> dict[str, Any]:
    price = get_price(ctx, price_id, "id")
    _set_lookup_key(ctx, price, params)
    if "active" in params:
        price["active"] = as_bool(params, "active")
    if "metadata" in params:
        price["metadata"] = merge_metadata(price["metadata"], params["metadata"])
    if "nickname" in params:
        price["nickname"] = params["nickname"] or None
    if params.get("tax_behavior"):
        price["tax_behavior"] = params["tax_behavior"]
    ctx.emit("price.updated", render(ctx, price))
    return render(ctx, price, expand_paths(params))


@route(
    "GET",
    "/v1/prices",
    params="active product lookup_keys type currency recurring limit starting_after "
    "ending_before created",
)
def list_prices(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    records = created_filter(ctx.store.all("prices"), params)
    if "active" in params:
        records = [r for r in records if r["active"] == as_bool(params, "active")]
    if params.get("product"):
        records = [r for r in records if r["product"] == params["product"]]
    if params.get("type"):
        records = [r for r in records if r["type"] == params["type"]]
    if params.get("currency"):
        records = [r for r in records if r["currency"] == params["currency"]]
    interval = as_dict(params, "recurring").get("interval")
    if interval:
        records = [r for r in records if (r["recurring"] or {}).get("interval") == interval]
    keys = as_list(params, "lookup_keys")
    if keys:
        records = [r for r in records if r["lookup_key"] in keys]
    return page(ctx, records, params, "/v1/prices")


@renderer("prices")
def render_price(ctx: Ctx, record: dict[str, Any]) -> dict[str, Any]:
    return public(record)


def plan_of(price: dict[str, Any]) -> dict[str, Any]:
    """The legacy ``plan`` view of a recurring price, as subscription items still carry it."""
    recurring = price["recurring"] or {}
    return {
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "id": price["id"],
        "interval": recurring.get("interval"),
        "interval_count": recurring.get("interval_count"),
        "livemode": False,
        "metadata": dict(price["metadata"]),
        "meter": None,
        "nickname": price["nickname"],
        "object": "plan",
        "product": price["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": recurring.get("trial_period_days"),
        "usage_type": recurring.get("usage_type", "licensed"),
    }
