"""PaymentIntents, Charges and InvoicePayments: as much as invoice payment needs."""

from __future__ import annotations

import secrets
from typing import Any

from ..errors import StripeError, invalid, missing, not_found
from ..render import expand_paths, page, render
from ..router import route
from ..store import Ctx
from ..util import as_bool, as_int, merge_metadata, new_id
from . import cards, payment_methods

PI_PARAMS = (
    "amount currency customer payment_method confirm off_session description metadata "
    "return_url payment_method_data client_secret use_stripe_sdk !setup_future_usage "
    "!payment_method_types !automatic_payment_methods !receipt_email !mandate_data "
    "!payment_method_options !error_on_requires_action !capture_method !statement_descriptor "
    "!statement_descriptor_suffix !shipping !application_fee_amount !transfer_data !on_behalf_of "
    "!confirmation_method !payment_method_configuration"
)


def get_intent(ctx: Ctx, pi_id: str, params: dict[str, Any]) -> dict[str, Any]:
    pi = ctx.store.get(pi_id)
    if not pi or pi["object"] != "payment_intent":
        raise not_found("payment_intent", pi_id, "intent")
    if ctx.publishable and params.get("client_secret") != pi["client_secret"]:
        raise invalid("The client_secret provided does not match this intent.", "client_secret")
    return pi


def new_intent(
    ctx: Ctx,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    payment_method: str | None,
    description: str | None = None,
    invoice: dict[str, Any] | None = None,
) -> dict[str, Any]:
    pi_id = new_id("pi_")
    owner = ctx.store.get(customer) if customer else None
    created = ctx.time_for(owner) if owner else ctx.now()
    pi = {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{pi_id}_secret_{secrets.token_urlsafe(18)}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": description,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": payment_method,
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_confirmation" if payment_method else "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
        "excluded_payment_method_types": None,
        "customer_account": None,
        "managed_payments": None,
        "_invoice": invoice["id"] if invoice else None,
    }
    ctx.store.put(pi)
    if invoice:
        ctx.store.put(
            {
                "id": new_id("inpay_"),
                "object": "invoice_payment",
                "amount_paid": None,
                "amount_requested": amount,
                "created": created,
                "currency": currency,
                "invoice": invoice["id"],
                "is_default": True,
                "livemode": False,
                "payment": {"type": "payment_intent", "payment_intent": pi_id},
                "status": "open",
                "status_transitions": {"canceled_at": None, "paid_at": None},
            }
        )
    ctx.emit("payment_intent.created", render(ctx, pi), created=created)
    return pi


def _charge(ctx: Ctx, pi: dict[str, Any], pm: dict[str, Any], error: StripeError | None) -> None:
    created = ctx.time_for(pi)
    charge_id = new_id("ch_")
    failed = error is not None
    charge = {
        "id": charge_id,
        "object": "charge",
        "amount": pi["amount"],
        "amount_captured": 0 if failed else pi["amount"],
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None if failed else new_id("txn_"),
        "billing_details": pm["billing_details"],
        "calculated_statement_descriptor": "CLERK CHAT",
        "captured": not failed,
        "created": created,
        "currency": pi["currency"],
        "customer": pi["customer"],
        "description": pi["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": error.code if error else None,
        "failure_message": error.message if error else None,
        "fraud_details": {},
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "declined_by_network" if failed else "approved_by_network",
            "reason": error.decline_code if error else None,
            "risk_level": "normal",
            "seller_message": "The bank did not return any further details with this decline."
            if failed
            else "Payment complete.",
            "type": "issuer_declined" if failed else "authorized",
        },
        "paid": not failed,
        "payment_intent": pi["id"],
        "payment_method": pm["id"],
        "payment_method_details": {
            "card": {
                k: pm["card"][k]
                for k in ("brand", "country", "exp_month", "exp_year", "fingerprint", "funding")
            }
            | {"last4": pm["card"]["last4"], "network": pm["card"]["brand"]},
            "type": "card",
        },
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "failed" if failed else "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }
    ctx.store.put(charge)
    pi["latest_charge"] = charge_id
    ctx.emit(
        "charge.failed" if failed else "charge.succeeded", render(ctx, charge), created=created
    )


def attempt(
    ctx: Ctx, pi: dict[str, Any], pm_id: str | None, *, off_session: bool
) -> StripeError | None:
    """Confirm ``pi`` with a card; returns the card error, or None (succeeded/requires_action)."""
    if pm_id:
        pi["payment_method"] = pm_id
    pm = ctx.store.get(pi["payment_method"]) if pi["payment_method"] else None
    if pm is None:
        pi["status"] = "requires_payment_method"
        return invalid(
            "There is no `default_payment_method` set on this Customer or Invoice.",
            code="invoice_no_payment_method_types",
        )
    behaviour = pm["_behaviour"]
    if behaviour == "authenticate":
        pi["status"] = "requires_action"
        pi["next_action"] = {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {
                "type": "three_d_secure_redirect",
                "stripe_js": f"{ctx.base_url}/_sandbox/3ds/{pi['id']}",
            },
        }
        if off_session:
            error = cards.authentication_required()
            pi["last_payment_error"] = _error_payload(ctx, error, pm)
            ctx.emit("payment_intent.requires_action", render(ctx, pi))
            return error
        ctx.emit("payment_intent.requires_action", render(ctx, pi))
        return None
    error = cards.charge_decline(behaviour)
    _charge(ctx, pi, pm, error)
    if error:
        fail(ctx, pi, error, pm)
        return error
    succeed(ctx, pi)
    return None


def _error_payload(ctx: Ctx, error: StripeError, pm: dict[str, Any] | None) -> dict[str, Any]:
    return {**error.body()["error"], "payment_method": render(ctx, pm) if pm else None}


def fail(ctx: Ctx, pi: dict[str, Any], error: StripeError, pm: dict[str, Any] | None) -> None:
    pi["status"], pi["next_action"] = "requires_payment_method", None
    pi["last_payment_error"] = _error_payload(ctx, error, pm)
    ctx.emit("payment_intent.payment_failed", render(ctx, pi))


def succeed(ctx: Ctx, pi: dict[str, Any]) -> None:
    from . import invoicing

    pi["status"], pi["next_action"], pi["last_payment_error"] = "succeeded", None, None
    pi["amount_received"] = pi["amount"]
    ctx.emit("payment_intent.succeeded", render(ctx, pi))
    if pi["_invoice"]:
        invoice = ctx.store.get(pi["_invoice"])
        if invoice:
            invoicing.mark_paid(ctx, invoice, pi)


def authenticate(ctx: Ctx, pi: dict[str, Any], complete: bool) -> None:
    """The outcome of the 3-D Secure challenge for a PaymentIntent in ``requires_action``."""
    if pi["status"] != "requires_action":
        raise invalid(f"PaymentIntent {pi['id']} does not require action.")
    pm = ctx.store.get(pi["payment_method"])
    assert pm is not None
    if not complete:
        error = StripeError(
            402,
            "invalid_request_error",
            "We are unable to authenticate your payment method. Please choose a different "
            "payment method and try again.",
            code="payment_intent_authentication_failure",
        )
        fail(ctx, pi, error, pm)
        return
    _charge(ctx, pi, pm, None)
    succeed(ctx, pi)


@route("POST", "/v1/payment_intents", params=PI_PARAMS)
def create_payment_intent(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    amount = as_int(params, "amount")
    if amount is None:
        raise missing("amount")
    if not params.get("currency"):
        raise missing("currency")
    pm_id = None
    if params.get("payment_method"):
        pm_id = payment_methods.resolve(ctx, params["payment_method"])["id"]
    pi = new_intent(
        ctx,
        amount=amount,
        currency=str(params["currency"]).lower(),
        customer=params.get("customer") or None,
        payment_method=pm_id,
        description=params.get("description") or None,
    )
    pi["metadata"] = merge_metadata({}, params.get("metadata", {}))
    if as_bool(params, "confirm", False):
        _confirm(ctx, pi, params)
    return render(ctx, pi, expand_paths(params))


def _confirm(ctx: Ctx, pi: dict[str, Any], params: dict[str, Any]) -> None:
    if pi["status"] not in ("requires_payment_method", "requires_confirmation", "requires_action"):
        raise invalid(
            f"This PaymentIntent's status is {pi['status']}; it cannot be confirmed.",
            code="payment_intent_unexpected_state",
        )
    pm_id = None
    data = params.get("payment_method_data")
    if params.get("payment_method"):
        pm_id = payment_methods.resolve(ctx, params["payment_method"])["id"]
    elif isinstance(data, dict):
        pm_id = payment_methods.new_card_pm(ctx, data.get("card") or {}, data)["id"]
    off_session = bool(as_bool(params, "off_session", False))
    error = attempt(ctx, pi, pm_id, off_session=off_session)
    if error:
        error.extra["payment_intent"] = render(ctx, pi)
        error.keep_effects = True
        raise error


@route("GET", "/v1/payment_intents/{pi_id}", params="client_secret", publishable=True)
def retrieve_payment_intent(ctx: Ctx, params: dict[str, Any], pi_id: str) -> dict[str, Any]:
    return render(ctx, get_intent(ctx, pi_id, params), expand_paths(params))


@route("POST", "/v1/payment_intents/{pi_id}/confirm", params=PI_PARAMS, publishable=True)
def confirm_payment_intent(ctx: Ctx, params: dict[str, Any], pi_id: str) -> dict[str, Any]:
    pi = get_intent(ctx, pi_id, params)
    _confirm(ctx, pi, params)
    return render(ctx, pi, expand_paths(params))


@route("POST", "/v1/payment_intents/{pi_id}/cancel", params="cancellation_reason")
def cancel_payment_intent(ctx: Ctx, params: dict[str, Any], pi_id: str) -> dict[str, Any]:
    pi = get_intent(ctx, pi_id, params)
    if pi["status"] == "succeeded" or pi["_invoice"]:
        raise invalid(
            f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}."
        )
    pi["status"], pi["canceled_at"] = "canceled", ctx.time_for(pi)
    pi["cancellation_reason"] = params.get("cancellation_reason") or "requested_by_customer"
    ctx.emit("payment_intent.canceled", render(ctx, pi))
    return render(ctx, pi, expand_paths(params))


@route("GET", "/v1/payment_intents", params="customer limit starting_after ending_before created")
def list_payment_intents(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    records = ctx.store.all("payment_intents")
    if params.get("customer"):
        records = [p for p in records if p["customer"] == params["customer"]]
    return page(ctx, records, params, "/v1/payment_intents")


@route("GET", "/v1/charges/{charge_id}")
def retrieve_charge(ctx: Ctx, params: dict[str, Any], charge_id: str) -> dict[str, Any]:
    charge = ctx.store.get(charge_id)
    if not charge or charge["object"] != "charge":
        raise not_found("charge", charge_id, "id")
    return render(ctx, charge, expand_paths(params))


@route(
    "GET",
    "/v1/charges",
    params="customer payment_intent limit starting_after ending_before created",
)
def list_charges(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    records = ctx.store.all("charges")
    for key in ("customer", "payment_intent"):
        if params.get(key):
            records = [c for c in records if c[key] == params[key]]
    return page(ctx, records, params, "/v1/charges")


@route("GET", "/v1/invoice_payments/{inpay_id}")
def retrieve_invoice_payment(ctx: Ctx, params: dict[str, Any], inpay_id: str) -> dict[str, Any]:
    record = ctx.store.get(inpay_id)
    if not record or record["object"] != "invoice_payment":
        raise not_found("invoice_payment", inpay_id, "id")
    return render(ctx, record, expand_paths(params))


@route(
    "GET",
    "/v1/invoice_payments",
    params="invoice payment status limit starting_after ending_before",
)
def list_invoice_payments(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    records = payments_of(ctx, params.get("invoice"))
    if params.get("status"):
        records = [r for r in records if r["status"] == params["status"]]
    return page(ctx, records, params, "/v1/invoice_payments")


def payments_of(ctx: Ctx, invoice_id: str | None) -> list[dict[str, Any]]:
    records = ctx.store.all("invoice_payments")
    return [r for r in records if invoice_id is None or r["invoice"] == invoice_id]


def settle_payment(ctx: Ctx, pi: dict[str, Any], paid_at: int) -> None:
    for record in payments_of(ctx, pi["_invoice"]):
        if record["payment"].get("payment_intent") == pi["id"]:
            record["status"], record["amount_paid"] = "paid", pi["amount"]
            record["status_transitions"]["paid_at"] = paid_at
