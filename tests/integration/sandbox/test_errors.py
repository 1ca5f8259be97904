"""Errors as Stripe gives them: missing ids, unknown and unmodelled parameters, idempotency.

Each test names the Stripe page its expectations come from.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import stripe

from tests.support.sandbox import SandboxProcess

from .helpers import make_customer, two_items


def _error(caught: pytest.ExceptionInfo[stripe.StripeError]) -> dict[str, Any]:
    body: Any = caught.value.json_body
    return dict(body["error"])


# https://docs.stripe.com/api/errors: 400 "the request was unacceptable", 404 "the requested
# resource doesn't exist"; https://docs.stripe.com/error-codes#resource-missing: "The ID provided
# is not valid. Either the resource does not exist, or an ID for a different resource has been
# provided." An id in the body is a bad request naming its parameter; an id in the path is a 404.
def test_an_unknown_id_in_the_body_is_400_resource_missing_with_its_param(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.subscriptions.create({"customer": "cus_nope", "items": two_items(catalog)})
    error = _error(caught)
    assert caught.value.http_status == 400
    assert error["code"] == "resource_missing" and error["param"] == "customer"
    assert error["message"] == "No such customer: 'cus_nope'"

    customer = make_customer(client, clock)
    items = [{"price": catalog["seat_month"].id, "quantity": 1}, {"price": "price_nope"}]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.subscriptions.create({"customer": customer.id, "items": items})
    assert caught.value.http_status == 400
    assert _error(caught)["param"] == "items[1][price]"
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_methods.attach("pm_nope", {"customer": customer.id})
    assert caught.value.http_status == 404  # the id in the path


def test_an_unknown_id_in_the_path_is_404_with_param_id(client: stripe.StripeClient) -> None:
    for call in (
        lambda: client.v1.invoices.retrieve("in_nope"),
        lambda: client.v1.invoices.finalize_invoice("in_nope"),
        lambda: client.v1.subscriptions.update("sub_nope", {"metadata": {"a": "b"}}),
        lambda: client.v1.test_helpers.test_clocks.retrieve("clock_nope"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            call()
        assert caught.value.http_status == 404
        assert _error(caught)["code"] == "resource_missing"
        assert _error(caught)["param"] == "id"


# https://docs.stripe.com/error-codes#parameter-unknown: "The request contains one or more
# unexpected parameters. Remove these and try again." Stripe says which one, nested ones by
# their full bracketed name, on reads as well as writes.
def test_an_unknown_parameter_is_parameter_unknown_naming_it(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    bogus: Any = {"name": "x", "nickname": "y"}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.create(bogus)
    assert caught.value.http_status == 400
    assert _error(caught) | {"doc_url": None} == {
        "type": "invalid_request_error",
        "code": "parameter_unknown",
        "param": "nickname",
        "message": "Received unknown parameter: nickname",
        "doc_url": None,
    }
    customer = make_customer(client, clock)
    items: Any = [{"price": catalog["seat_month"].id, "quantity": 1, "colour": "red"}]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.subscriptions.create({"customer": customer.id, "items": items})
    assert _error(caught)["code"] == "parameter_unknown"
    assert _error(caught)["param"] == "items[0][colour]"
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.retrieve(customer.id, {"colour": "red"})  # type: ignore[typeddict-unknown-key]
    assert _error(caught)["param"] == "colour"


# The README's "Known differences" promise: a parameter Stripe has and the sandbox does not
# model is refused with a 400 naming it (never accepted and ignored, which would let a caller
# believe a call worked that behaves differently on Stripe).
UNMODELLED = [
    ("subscriptions", {"automatic_tax": {"enabled": True}}, "automatic_tax"),
    ("subscriptions", {"default_tax_rates": ["txr_1"]}, "default_tax_rates"),
    ("subscriptions", {"trial_from_plan": True}, "trial_from_plan"),
    (
        "subscriptions",
        {"payment_settings": {"payment_method_types": ["card"]}},
        "payment_settings[payment_method_types]",
    ),
    ("subscriptions", {"items": [{"tax_rates": ["txr_1"]}]}, "items[0][tax_rates]"),
    ("preview", {"automatic_tax": {"enabled": True}}, "automatic_tax"),
    (
        "payment_intents",
        {"payment_method_options": {"card": {"request_three_d_secure": "any"}}},
        "payment_method_options",
    ),
    ("customers", {"tax": {"ip_address": "203.0.113.7"}}, "tax"),
    ("customers", {"balance": 500}, "balance"),
]


@pytest.mark.parametrize(("endpoint", "extra", "param"), UNMODELLED)
def test_a_parameter_the_sandbox_does_not_model_is_refused_naming_it(
    client: stripe.StripeClient,
    catalog: dict[str, Any],
    clock: Any,
    endpoint: str,
    extra: dict[str, Any],
    param: str,
) -> None:
    customer = make_customer(client, clock)
    items = two_items(catalog)
    if "items" in extra:
        items[0] = {**items[0], **extra.pop("items")[0]}
    calls: dict[str, Any] = {
        "subscriptions": lambda: client.v1.subscriptions.create(
            {"customer": customer.id, "items": items, **extra}
        ),
        "preview": lambda: client.v1.invoices.create_preview(
            {"customer": customer.id, "subscription_details": {"items": items}, **extra}
        ),
        "payment_intents": lambda: client.v1.payment_intents.create(
            {"amount": 100, "currency": "usd", **extra}
        ),
        "customers": lambda: client.v1.customers.create({"name": "Acme", **extra}),
    }
    with pytest.raises(stripe.InvalidRequestError) as caught:
        calls[endpoint]()
    assert caught.value.http_status == 400
    assert _error(caught)["param"] == param
    assert param in _error(caught)["message"]
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []


# https://docs.stripe.com/api/idempotent_requests: "Stripe saves the status code and body of the
# first request made with a given idempotency key after endpoint execution begins ... If incoming
# parameters fail validation, or the request conflicts with another that was executing
# concurrently, no idempotent result is saved because no API endpoint began execution. It is safe
# to retry these requests."
def test_a_request_refused_by_validation_is_not_saved_and_the_corrected_retry_runs(
    sb: SandboxProcess, client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    key = str(uuid.uuid4())
    bogus: Any = {"name": "Acme", "nickname": "typo"}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create(bogus, {"idempotency_key": key})
    fixed = client.v1.customers.create({"name": "Acme"}, {"idempotency_key": key})
    assert fixed.name == "Acme"
    assert fixed.last_response.headers.get("Idempotent-Replayed") is None
    again = client.v1.customers.create({"name": "Acme"}, {"idempotency_key": key})
    assert again.id == fixed.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"

    customer = make_customer(client, clock)
    sub_key = str(uuid.uuid4())
    wrong = [{"price": "price_nope", "quantity": 1}]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.create(
            {"customer": customer.id, "items": wrong}, {"idempotency_key": sub_key}
        )
    sub = client.v1.subscriptions.create(
        {"customer": customer.id, "items": two_items(catalog)}, {"idempotency_key": sub_key}
    )
    assert sub.status == "active"


# Same page: "Retries with the same key return the saved response": a declined charge began
# executing (the attempt is recorded), so its retry answers the same decline without a second try.
def test_a_decline_is_saved_and_replayed(sb: SandboxProcess, client: stripe.StripeClient) -> None:
    key = str(uuid.uuid4())
    params: Any = {
        "amount": 1000,
        "currency": "usd",
        "payment_method": "pm_card_chargeDeclined",
        "confirm": True,
    }
    with pytest.raises(stripe.CardError) as first:
        client.v1.payment_intents.create(params, {"idempotency_key": key})
    with pytest.raises(stripe.CardError) as again:
        client.v1.payment_intents.create(params, {"idempotency_key": key})
    assert again.value.headers and again.value.headers.get("Idempotent-Replayed") == "true"
    assert _error(again)["payment_intent"]["id"] == _error(first)["payment_intent"]["id"]
    assert len(client.v1.payment_intents.list().data) == 1


# https://docs.stripe.com/api/errors (type idempotency_error): "Idempotency errors occur when an
# Idempotency-Key is re-used on a request that does not match the first request's API endpoint and
# parameters"; https://docs.stripe.com/changelog/2015-09-03/reuse-idempotency-tokens-alter-error:
# reusing "the same idempotency token across different API endpoints" is an error.
def test_the_same_key_on_another_endpoint_is_an_idempotency_error(
    client: stripe.StripeClient,
) -> None:
    key = str(uuid.uuid4())
    client.v1.customers.create({"name": "Acme"}, {"idempotency_key": key})
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.products.create({"name": "Acme"}, {"idempotency_key": key})
    assert caught.value.http_status == 400
    assert _error(caught)["type"] == "idempotency_error"
    assert "/v1/customers" in _error(caught)["message"]
    assert client.v1.products.list().data == []
