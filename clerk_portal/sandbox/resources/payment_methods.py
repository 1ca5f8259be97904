"""PaymentMethods (cards) and SetupIntents."""

from __future__ import annotations

import secrets
from typing import Any

from ..errors import StripeError, invalid, missing, not_found
from ..render import expand_paths, page, render
from ..router import route
from ..store import Ctx
from ..util import as_bool, as_dict, as_int, as_list, merge_metadata, new_id
from . import cards

PM_PARAMS = "type card billing_details metadata !allow_redisplay !customer !payment_method"
SI_PARAMS = (
    "customer payment_method payment_method_types usage confirm metadata description "
    "return_url payment_method_data client_secret use_stripe_sdk !automatic_payment_methods "
    "!payment_method_options !mandate_data !flow_directions !attach_to_self !on_behalf_of "
    "!single_use !payment_method_configuration"
)


def _billing_details(value: Any) -> dict[str, Any]:
    value = value if isinstance(value, dict) else {}
    address = value.get("address") if isinstance(value.get("address"), dict) else {}
    return {
        "address": {
            k: address.get(k) or None
            for k in ("city", "country", "line1", "line2", "postal_code", "state")
        },
        "email": value.get("email") or None,
        "name": value.get("name") or None,
        "phone": value.get("phone") or None,
        "tax_id": None,
    }


def new_card_pm(ctx: Ctx, card: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Make a card PaymentMethod; only brand, last4, expiry and fingerprint are kept."""
    if not card.get("number"):
        raise missing("card[number]")
    info = cards.read_card(card["number"])
    exp_month = as_int(card, "exp_month", 12) or 12
    exp_year = as_int(card, "exp_year", 2034) or 2034
    if exp_year < 100:
        exp_year += 2000
    if not 1 <= exp_month <= 12:
        raise cards.card_error(
            "Your card's expiration month is invalid.", "invalid_expiry_month", param="exp_month"
        )
    pm = {
        "id": new_id("pm_"),
        "object": "payment_method",
        "allow_redisplay": extra.get("allow_redisplay") or "unspecified",
        "billing_details": _billing_details(extra.get("billing_details")),
        "card": {
            "brand": info.brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "unchecked" if card.get("cvc") else None,
            },
            "country": "US",
            "display_brand": info.brand,
            "exp_month": exp_month,
            "exp_year": exp_year,
            "fingerprint": info.fingerprint,
            "funding": info.funding,
            "generated_from": None,
            "last4": info.last4,
            "networks": {"available": [info.brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": ctx.now(),
        "customer": None,
        "livemode": False,
        "metadata": merge_metadata({}, extra.get("metadata", {})),
        "type": "card",
        "customer_account": None,
        "_behaviour": info.behaviour,
        "_consumed": False,
    }
    return ctx.store.put(pm)


def resolve(ctx: Ctx, pm_id: Any, param: str = "payment_method") -> dict[str, Any]:
    """A stored PaymentMethod, or a fresh one for Stripe's ``pm_card_*`` test ids."""
    if isinstance(pm_id, str) and pm_id in cards.MAGIC_PMS:
        return new_card_pm(ctx, {"number": cards.MAGIC_PMS[pm_id]}, {})
    pm = ctx.store.get(pm_id) if isinstance(pm_id, str) else None
    if not pm or pm["object"] != "payment_method":
        raise not_found("payment_method", str(pm_id), param)
    return pm


def attach(ctx: Ctx, pm_id: Any, customer_id: str) -> dict[str, Any]:
    from .customers import get_customer

    customer = get_customer(ctx, customer_id)
    pm = resolve(ctx, pm_id)
    if pm["customer"] == customer["id"]:
        return pm
    if pm["customer"]:
        raise invalid(
            "The payment method you provided has already been attached to a customer.",
            "payment_method",
        )
    if pm["_consumed"]:
        raise invalid(
            "This PaymentMethod was previously used without being attached to a Customer or "
            "was detached from a Customer, and may not be used again.",
            "payment_method",
        )
    error = cards.decline(pm["_behaviour"])
    if error:
        raise error
    pm["customer"] = customer["id"]
    ctx.emit("payment_method.attached", render(ctx, pm), created=ctx.time_for(customer))
    return pm


def require_attached(
    ctx: Ctx, pm_id: Any, customer_id: str, *, create: bool = True
) -> dict[str, Any]:
    """A PaymentMethod of this customer; ``pm_card_*`` ids are made and attached (sandbox ease)."""
    if create and isinstance(pm_id, str) and pm_id in cards.MAGIC_PMS:
        return attach(ctx, pm_id, customer_id)
    pm = resolve(ctx, pm_id)
    if pm["customer"] != customer_id:
        raise invalid(
            f"The customer does not have a payment method with the ID {pm_id}. The payment "
            "method must be attached to the customer.",
            "payment_method",
        )
    return pm


@route("POST", "/v1/payment_methods", params=PM_PARAMS, publishable=True)
def create_payment_method(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("type", "card") != "card":
        raise invalid("The sandbox supports only card payment methods.", "type")
    pm = new_card_pm(ctx, as_dict(params, "card"), params)
    return render(ctx, pm, expand_paths(params))


@route("GET", "/v1/payment_methods/{pm_id}")
def retrieve_payment_method(ctx: Ctx, params: dict[str, Any], pm_id: str) -> dict[str, Any]:
    return render(ctx, resolve(ctx, pm_id), expand_paths(params))


@route(
    "POST", "/v1/payment_methods/{pm_id}", params="billing_details metadata card !allow_redisplay"
)
def update_payment_method(ctx: Ctx, params: dict[str, Any], pm_id: str) -> dict[str, Any]:
    pm = resolve(ctx, pm_id)
    if "billing_details" in params:
        pm["billing_details"] = _billing_details(params["billing_details"])
    if "metadata" in params:
        pm["metadata"] = merge_metadata(pm["metadata"], params["metadata"])
    card = as_dict(params, "card")
    for key in ("exp_month", "exp_year"):
        if key in card:
            pm["card"][key] = as_int(card, key)
    ctx.emit("payment_method.updated", render(ctx, pm))
    return render(ctx, pm, expand_paths(params))


@route("POST", "/v1/payment_methods/{pm_id}/attach", params="customer")
def attach_payment_method(ctx: Ctx, params: dict[str, Any], pm_id: str) -> dict[str, Any]:
    if not params.get("customer"):
        raise missing("customer")
    return render(ctx, attach(ctx, pm_id, params["customer"]), expand_paths(params))


@route("POST", "/v1/payment_methods/{pm_id}/detach", params="")
def detach_payment_method(ctx: Ctx, params: dict[str, Any], pm_id: str) -> dict[str, Any]:
    from .customers import touch

    pm = resolve(ctx, pm_id)
    if not pm["customer"]:
        raise invalid("The payment method you provided is not attached to a customer.")
    customer = ctx.store.get(pm["customer"])
    previous = pm["customer"]
    pm["customer"], pm["_consumed"] = None, True
    if customer and customer["invoice_settings"]["default_payment_method"] == pm["id"]:
        before = render(ctx, customer)
        customer["invoice_settings"]["default_payment_method"] = None
        touch(ctx, customer, before)
    for sub in ctx.store.all("subscriptions"):
        if sub["default_payment_method"] == pm["id"]:
            sub["default_payment_method"] = None
    ctx.emit(
        "payment_method.detached",
        render(ctx, pm),
        {"customer": previous},
        created=ctx.time_for(customer),
    )
    return render(ctx, pm, expand_paths(params))


@route("GET", "/v1/payment_methods", params="customer type limit starting_after ending_before")
def list_payment_methods(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    records = ctx.store.all("payment_methods")
    if params.get("customer"):
        records = [p for p in records if p["customer"] == params["customer"]]
    if params.get("type"):
        records = [p for p in records if p["type"] == params["type"]]
    return page(ctx, records, params, "/v1/payment_methods")


# -- SetupIntents ------------------------------------------------------------------------------


def get_setup_intent(ctx: Ctx, seti_id: str, params: dict[str, Any]) -> dict[str, Any]:
    seti = ctx.store.get(seti_id)
    if not seti or seti["object"] != "setup_intent":
        raise not_found("setup_intent", seti_id, "intent")
    if ctx.publishable and params.get("client_secret") != seti["client_secret"]:
        raise invalid("The client_secret provided does not match this intent.", "client_secret")
    return seti


@route("POST", "/v1/setup_intents", params=SI_PARAMS)
def create_setup_intent(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    customer = params.get("customer") or None
    clock = None
    if customer:
        from .customers import get_customer

        clock = get_customer(ctx, customer)["test_clock"]
    seti_id = new_id("seti_")
    seti = {
        "id": seti_id,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": f"{seti_id}_secret_{secrets.token_urlsafe(18)}",
        "created": ctx.now(clock),
        "customer": customer,
        "description": params.get("description") or None,
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": merge_metadata({}, params.get("metadata", {})),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": as_list(params, "payment_method_types") or ["card"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": params.get("usage") or "off_session",
        "excluded_payment_method_types": None,
    }
    ctx.store.put(seti)
    if params.get("payment_method"):
        seti["payment_method"] = resolve(ctx, params["payment_method"])["id"]
        seti["status"] = "requires_confirmation"
    ctx.emit("setup_intent.created", render(ctx, seti))
    if as_bool(params, "confirm", False):
        _confirm(ctx, seti, {})
    return render(ctx, seti, expand_paths(params))


@route("GET", "/v1/setup_intents/{seti_id}", params="client_secret", publishable=True)
def retrieve_setup_intent(ctx: Ctx, params: dict[str, Any], seti_id: str) -> dict[str, Any]:
    return render(ctx, get_setup_intent(ctx, seti_id, params), expand_paths(params))


@route(
    "POST",
    "/v1/setup_intents/{seti_id}",
    params="customer payment_method metadata description payment_method_types",
)
def update_setup_intent(ctx: Ctx, params: dict[str, Any], seti_id: str) -> dict[str, Any]:
    seti = get_setup_intent(ctx, seti_id, params)
    if params.get("payment_method"):
        seti["payment_method"] = resolve(ctx, params["payment_method"])["id"]
        seti["status"] = "requires_confirmation"
    if "customer" in params:
        seti["customer"] = params["customer"] or None
    if "metadata" in params:
        seti["metadata"] = merge_metadata(seti["metadata"], params["metadata"])
    if "description" in params:
        seti["description"] = params["description"] or None
    return render(ctx, seti, expand_paths(params))


@route("POST", "/v1/setup_intents/{seti_id}/confirm", params=SI_PARAMS, publishable=True)
def confirm_setup_intent(ctx: Ctx, params: dict[str, Any], seti_id: str) -> dict[str, Any]:
    seti = get_setup_intent(ctx, seti_id, params)
    _confirm(ctx, seti, params)
    return render(ctx, seti, expand_paths(params))


@route("POST", "/v1/setup_intents/{seti_id}/cancel", params="cancellation_reason")
def cancel_setup_intent(ctx: Ctx, params: dict[str, Any], seti_id: str) -> dict[str, Any]:
    seti = get_setup_intent(ctx, seti_id, params)
    if seti["status"] == "succeeded":
        raise invalid("You cannot cancel this SetupIntent because it has a status of succeeded.")
    seti["status"] = "canceled"
    seti["cancellation_reason"] = params.get("cancellation_reason") or "requested_by_customer"
    ctx.emit("setup_intent.canceled", render(ctx, seti))
    return render(ctx, seti, expand_paths(params))


@route(
    "GET",
    "/v1/setup_intents",
    params="customer payment_method limit starting_after ending_before created",
)
def list_setup_intents(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    records = ctx.store.all("setup_intents")
    for key in ("customer", "payment_method"):
        if params.get(key):
            records = [s for s in records if s[key] == params[key]]
    return page(ctx, records, params, "/v1/setup_intents")


def _confirm(ctx: Ctx, seti: dict[str, Any], params: dict[str, Any]) -> None:
    if seti["status"] in ("succeeded", "canceled", "processing"):
        raise invalid(
            f"You cannot confirm this SetupIntent because it has a status of {seti['status']}.",
            code="setup_intent_unexpected_state",
        )
    data = as_dict(params, "payment_method_data")
    if params.get("payment_method"):
        seti["payment_method"] = resolve(ctx, params["payment_method"])["id"]
    elif data:
        seti["payment_method"] = new_card_pm(ctx, as_dict(data, "card"), data)["id"]
    if not seti["payment_method"]:
        raise invalid(
            "You cannot confirm this SetupIntent because it's missing a payment method.",
            "payment_method",
            "setup_intent_invalid_parameter",
        )
    pm = ctx.store.get(seti["payment_method"])
    assert pm is not None
    seti["last_setup_error"] = None
    error = cards.decline(pm["_behaviour"])
    if error:
        fail_setup(ctx, seti, error)
        error.extra["setup_intent"] = render(ctx, seti)
        error.keep_effects = True
        raise error
    if pm["_behaviour"] in ("authenticate", "authenticate_setup"):
        seti["status"] = "requires_action"
        seti["next_action"] = {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {
                "type": "three_d_secure_redirect",
                "stripe_js": f"{ctx.base_url}/_sandbox/3ds/{seti['id']}",
            },
        }
        ctx.emit("setup_intent.requires_action", render(ctx, seti))
        return
    succeed_setup(ctx, seti)


def succeed_setup(ctx: Ctx, seti: dict[str, Any]) -> None:
    seti["status"], seti["next_action"] = "succeeded", None
    if seti["customer"]:
        attach(ctx, seti["payment_method"], seti["customer"])
    ctx.emit("setup_intent.succeeded", render(ctx, seti))


def fail_setup(ctx: Ctx, seti: dict[str, Any], error: StripeError) -> None:
    pm = ctx.store.get(seti["payment_method"])
    seti["status"], seti["next_action"] = "requires_payment_method", None
    seti["last_setup_error"] = {
        **error.body()["error"],
        "payment_method": render(ctx, pm) if pm else None,
    }
    seti["payment_method"] = None
    ctx.emit("setup_intent.setup_failed", render(ctx, seti))


def authentication_failure() -> StripeError:
    return StripeError(
        402,
        "invalid_request_error",
        "We are unable to authenticate your payment method. Please choose a different payment "
        "method and try again.",
        code="setup_intent_authentication_failure",
    )
