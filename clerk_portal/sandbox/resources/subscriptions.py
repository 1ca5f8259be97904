"""Subscriptions and subscription items: endpoints and rendering."""

from __future__ import annotations

from typing import Any

from ..errors import invalid, missing, not_found
from ..render import created_filter, expand_paths, page, render, renderer
from ..router import route
from ..store import Ctx
from ..util import as_bool, as_dict, public
from . import billing, coupons, lifecycle
from .catalog import plan_of, render_price

# "!name" and "[..., !key]": Stripe has them, the sandbox does not model them (refused, 400)
NEW_ITEM = "price,quantity,metadata,!discounts,!tax_rates,!price_data,!billing_thresholds"
PAYMENT_SETTINGS = (
    "payment_settings[save_default_payment_method,!payment_method_types,!payment_method_options]"
)
CREATE_PARAMS = (
    f"customer items[{NEW_ITEM}] default_payment_method payment_behavior trial_period_days "
    "trial_end metadata cancel_at_period_end cancel_at collection_method days_until_due "
    f"description off_session {PAYMENT_SETTINGS} proration_behavior currency "
    f"cancellation_details[comment,feedback] {coupons.DISCOUNT_KEYS} !automatic_tax "
    "!default_tax_rates "
    "!trial_from_plan !trial_settings billing_mode[type,!flexible] !backdate_start_date "
    "!billing_cycle_anchor "
    "!add_invoice_items !application_fee_percent !on_behalf_of !transfer_data !coupon "
    "!promotion_code !pending_invoice_item_interval !billing_thresholds !invoice_settings"
)
ITEM_PARAMS = (
    "subscription price quantity proration_behavior proration_date payment_behavior metadata "
    "off_session !tax_rates !discounts !price_data !billing_thresholds"
)


def get_subscription(ctx: Ctx, sub_id: Any, param: str = "subscription") -> dict[str, Any]:
    sub = ctx.store.get(sub_id) if isinstance(sub_id, str) else None
    if not sub or sub["object"] != "subscription":
        raise not_found("subscription", str(sub_id), param)
    return sub


def get_item(ctx: Ctx, item_id: str) -> dict[str, Any]:
    item = ctx.store.get(item_id)
    if not item or item["object"] != "subscription_item":
        raise not_found("subscription_item", item_id, "item")
    return item


@renderer("subscription_items")
def render_item(ctx: Ctx, record: dict[str, Any]) -> dict[str, Any]:
    sub = ctx.store.get(record["subscription"])
    price = ctx.store.get(record["price"])
    assert sub is not None and price is not None
    obj = public(record)
    obj["price"] = render_price(ctx, price)
    obj["plan"] = plan_of(price)
    obj["current_period_start"], obj["current_period_end"] = sub["_period"]
    return obj


@renderer("subscriptions")
def render_subscription(ctx: Ctx, record: dict[str, Any]) -> dict[str, Any]:
    obj = public(record)
    items = [ctx.store.get(i) for i in record["_items"]]
    obj["items"] = {
        "object": "list",
        "data": [render_item(ctx, i) for i in items if i is not None],
        "has_more": False,
        "url": f"/v1/subscription_items?subscription={record['id']}",
    }
    return obj


@route("POST", "/v1/subscriptions", params=CREATE_PARAMS)
def create_subscription(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    sub = billing.create(ctx, params)
    return render(ctx, sub, expand_paths(params))


@route("GET", "/v1/subscriptions/{sub_id}")
def retrieve_subscription(ctx: Ctx, params: dict[str, Any], sub_id: str) -> dict[str, Any]:
    return render(ctx, get_subscription(ctx, sub_id, "id"), expand_paths(params))


@route("POST", "/v1/subscriptions/{sub_id}", params=lifecycle.UPDATE_PARAMS)
def update_subscription(ctx: Ctx, params: dict[str, Any], sub_id: str) -> dict[str, Any]:
    sub = get_subscription(ctx, sub_id, "id")
    lifecycle.update(ctx, sub, params)
    return render(ctx, ctx.store.get(sub_id) or sub, expand_paths(params))


@route(
    "DELETE",
    "/v1/subscriptions/{sub_id}",
    params="invoice_now prorate cancellation_details[comment,feedback]",
)
def cancel_subscription(ctx: Ctx, params: dict[str, Any], sub_id: str) -> dict[str, Any]:
    sub = get_subscription(ctx, sub_id, "id")
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise invalid(
            f"No such subscription: '{sub_id}'; it has already been canceled.",
            code="resource_missing",
        )
    details = as_dict(params, "cancellation_details")
    for key in ("comment", "feedback"):
        if key in details:
            sub["cancellation_details"][key] = details[key] or None
    lifecycle.cancel_now(
        ctx,
        sub,
        reason="cancellation_requested",
        prorate=bool(as_bool(params, "prorate", False)),
        invoice_now=bool(as_bool(params, "invoice_now", False)),
    )
    return render(ctx, sub, expand_paths(params))


@route(
    "GET",
    "/v1/subscriptions",
    params="customer status price test_clock limit starting_after ending_before created "
    "collection_method",
)
def list_subscriptions(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    records = created_filter(ctx.store.all("subscriptions"), params)
    status = params.get("status")
    if status == "ended":
        records = [s for s in records if s["status"] in ("canceled", "incomplete_expired")]
    elif status and status != "all":
        records = [s for s in records if s["status"] == status]
    elif not status:
        records = [s for s in records if s["status"] != "canceled"]
    for key in ("customer", "test_clock", "collection_method"):
        if params.get(key):
            records = [s for s in records if s[key] == params[key]]
    if params.get("price"):
        records = [
            s
            for s in records
            if any(get_item(ctx, i)["price"] == params["price"] for i in s["_items"])
        ]
    return page(ctx, records, params, "/v1/subscriptions")


# -- subscription items -------------------------------------------------------------------------


def _change_params(params: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    keep = ("proration_behavior", "proration_date", "payment_behavior", "off_session")
    return {**{k: params[k] for k in keep if k in params}, "items": [entry]}


@route("POST", "/v1/subscription_items", params=ITEM_PARAMS)
def create_item(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("subscription"):
        raise missing("subscription")
    if not params.get("price"):
        raise missing("price")
    sub = get_subscription(ctx, params["subscription"])
    entry = {k: params[k] for k in ("price", "quantity", "metadata") if k in params}
    lifecycle.update(ctx, sub, _change_params(params, entry))
    return render(ctx, get_item(ctx, sub["_items"][-1]), expand_paths(params))


@route("GET", "/v1/subscription_items/{item_id}")
def retrieve_item(ctx: Ctx, params: dict[str, Any], item_id: str) -> dict[str, Any]:
    return render(ctx, get_item(ctx, item_id), expand_paths(params))


@route("POST", "/v1/subscription_items/{item_id}", params=ITEM_PARAMS)
def update_item(ctx: Ctx, params: dict[str, Any], item_id: str) -> dict[str, Any]:
    item = get_item(ctx, item_id)
    sub = get_subscription(ctx, item["subscription"])
    entry = {
        "id": item_id,
        **{k: params[k] for k in ("price", "quantity", "metadata") if k in params},
    }
    lifecycle.update(ctx, sub, _change_params(params, entry))
    return render(ctx, get_item(ctx, item_id), expand_paths(params))


@route(
    "DELETE",
    "/v1/subscription_items/{item_id}",
    params="proration_behavior proration_date !clear_usage",
)
def delete_item(ctx: Ctx, params: dict[str, Any], item_id: str) -> dict[str, Any]:
    item = get_item(ctx, item_id)
    sub = get_subscription(ctx, item["subscription"])
    lifecycle.update(ctx, sub, _change_params(params, {"id": item_id, "deleted": "true"}))
    return {"id": item_id, "object": "subscription_item", "deleted": True}


@route("GET", "/v1/subscription_items", params="subscription limit starting_after ending_before")
def list_items(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("subscription"):
        raise missing("subscription")
    sub = get_subscription(ctx, params["subscription"])
    records = [get_item(ctx, i) for i in sub["_items"]]
    return page(
        ctx, records, params, f"/v1/subscription_items?subscription={sub['id']}", newest_first=False
    )
