"""Transport-level behaviour: auth, errors, pagination, expand, idempotency, faults, log, async."""

from __future__ import annotations

import uuid

import httpx
import pytest
import stripe

from tests.support.sandbox import PORTAL_ORIGIN, PUBLISHABLE_KEY, SECRET_KEY, SandboxProcess
from tests.support.waiting import eventually


def test_only_the_started_key_works_and_others_get_401(sb: SandboxProcess) -> None:
    assert sb.client().v1.customers.list().data == []
    for other in ("sk_test_whatever", "sk_live_nope"):
        with pytest.raises(stripe.AuthenticationError) as caught:
            sb.client(other).v1.customers.list()
        assert caught.value.http_status == 401
    response = httpx.get(f"{sb.url}/v1/customers")
    assert response.status_code == 401 and "error" in response.json()


def test_basic_auth_is_accepted(sb: SandboxProcess) -> None:
    response = httpx.get(f"{sb.url}/v1/customers", auth=(SECRET_KEY, ""))
    assert response.status_code == 200 and response.json()["object"] == "list"


def test_publishable_key_only_for_browser_endpoints(sb: SandboxProcess) -> None:
    browser = sb.client(PUBLISHABLE_KEY)
    pm = browser.v1.payment_methods.create(
        {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}}
    )
    assert pm.card.last4 == "4242"
    with pytest.raises(stripe.AuthenticationError):
        browser.v1.customers.list()


def test_errors_have_stripe_shape(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.retrieve("cus_missing")
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.create({"bogus_param": "x"})  # type: ignore[typeddict-unknown-key]
    assert caught.value.param == "bogus_param"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.prices.create({"currency": "usd", "unit_amount": 100})
    assert caught.value.code == "parameter_missing"


def test_pagination(client: stripe.StripeClient) -> None:
    ids = [client.v1.customers.create({"name": f"c{i}"}).id for i in range(7)]
    newest_first = list(reversed(ids))
    first = client.v1.customers.list({"limit": 3})
    assert [c.id for c in first.data] == newest_first[:3] and first.has_more
    second = client.v1.customers.list({"limit": 3, "starting_after": first.data[-1].id})
    assert [c.id for c in second.data] == newest_first[3:6] and second.has_more
    last = client.v1.customers.list({"limit": 3, "starting_after": second.data[-1].id})
    assert [c.id for c in last.data] == newest_first[6:] and not last.has_more
    back = client.v1.customers.list({"limit": 2, "ending_before": second.data[0].id})
    assert [c.id for c in back.data] == newest_first[1:3] and back.has_more
    assert [c.id for c in client.v1.customers.list({"limit": 3}).auto_paging_iter()] == newest_first


def test_expand(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "x"})
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    client.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": pm.id}})
    got = client.v1.customers.retrieve(
        customer.id, {"expand": ["invoice_settings.default_payment_method"]}
    )
    assert got.invoice_settings.default_payment_method.card.last4 == "4242"
    listed = client.v1.payment_methods.list({"customer": customer.id, "expand": ["data.customer"]})
    assert listed.data[0].customer.id == customer.id


def test_idempotent_replay_and_mismatch(sb: SandboxProcess, client: stripe.StripeClient) -> None:
    key = str(uuid.uuid4())
    first = client.v1.customers.create({"name": "Once"}, {"idempotency_key": key})
    again = client.v1.customers.create({"name": "Once"}, {"idempotency_key": key})
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert len(client.v1.customers.list().data) == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create({"name": "Different"}, {"idempotency_key": key})
    log = [r for r in sb.requests_log("/v1/customers") if r["idempotency_key"] == key]
    assert [r["replayed"] for r in log] == [False, True, False]


def test_server_errors_are_not_saved_for_idempotency(
    sb: SandboxProcess, client: stripe.StripeClient
) -> None:
    sb.add_fault("POST", "/v1/customers", status=500)
    key = str(uuid.uuid4())
    with pytest.raises(stripe.APIError) as caught:
        client.v1.customers.create({"name": "Retry"}, {"idempotency_key": key})
    assert caught.value.http_status == 500
    created = client.v1.customers.create({"name": "Retry"}, {"idempotency_key": key})
    assert created.last_response.headers.get("Idempotent-Replayed") is None
    assert [c.id for c in client.v1.customers.list().data] == [created.id]


def test_rate_limit_fault_and_glob_paths(sb: SandboxProcess, client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "x"})
    sb.add_fault("GET", "/v1/customers/*", status=429, count=2)
    for _ in range(2):
        with pytest.raises(stripe.RateLimitError):
            client.v1.customers.retrieve(customer.id)
    assert client.v1.customers.retrieve(customer.id).id == customer.id
    assert sb.control("GET", "faults")["data"] == []


def test_sdk_retries_through_faults(sb: SandboxProcess) -> None:
    retrying = sb.client(max_network_retries=2)
    sb.add_fault("POST", "/v1/customers", status=500, count=1)
    customer = retrying.v1.customers.create({"name": "Retried"})
    assert [c.id for c in retrying.v1.customers.list().data] == [customer.id]


def test_hang_then_retry_with_same_key_executes_once(sb: SandboxProcess) -> None:
    impatient = sb.client(http_client=stripe.RequestsClient(timeout=0.3))
    sb.add_fault("POST", "/v1/customers", hang_seconds=0.8)
    key = str(uuid.uuid4())
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.customers.create({"name": "Slow"}, {"idempotency_key": key})
    eventually(  # the hung request finishes on the server (its logged status is set then)
        lambda: (
            [e["status"] for e in sb.requests_log("/v1/customers") if e["method"] == "POST"]
            == [200]
        ),
        what="the hung POST to finish",
    )
    patient = sb.client()
    replay = patient.v1.customers.create({"name": "Slow"}, {"idempotency_key": key})
    assert replay.last_response.headers.get("Idempotent-Replayed") == "true"
    assert [c.id for c in patient.v1.customers.list().data] == [replay.id]


def test_hang_after_the_write_applies_it_then_loses_the_answer(sb: SandboxProcess) -> None:
    impatient = sb.client(http_client=stripe.RequestsClient(timeout=0.3))
    sb.add_fault("POST", "/v1/customers", hang_after_seconds=0.8)
    key = str(uuid.uuid4())
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.customers.create({"name": "Applied"}, {"idempotency_key": key})
    patient = sb.client()
    # Already applied while the answer hangs: a read sees it, a retry with the key replays it.
    [customer] = patient.v1.customers.list().data
    replay = patient.v1.customers.create({"name": "Applied"}, {"idempotency_key": key})
    assert replay.id == customer.id
    assert replay.last_response.headers.get("Idempotent-Replayed") == "true"


def test_a_fault_needs_exactly_one_kind(sb: SandboxProcess) -> None:
    response = httpx.post(
        f"{sb.url}/_sandbox/faults",
        data={"path": "/v1/customers", "status": 500, "hang_after_seconds": 1},
    )
    assert response.status_code == 400 and "hang_after_seconds" in response.text


def test_request_log_and_clear(sb: SandboxProcess, client: stripe.StripeClient) -> None:
    client.v1.customers.list()
    client.v1.prices.list()
    log = sb.requests_log()
    assert [(r["method"], r["path"], r["status"]) for r in log] == [
        ("GET", "/v1/customers", 200),
        ("GET", "/v1/prices", 200),
    ]
    sb.control("DELETE", "requests")
    assert sb.requests_log() == []


def test_cors_preflight(sb: SandboxProcess) -> None:
    response = httpx.options(
        f"{sb.url}/v1/payment_methods",
        headers={
            "Origin": PORTAL_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == PORTAL_ORIGIN


async def test_async_client(sb: SandboxProcess) -> None:
    client = sb.client()
    customer = await client.v1.customers.create_async({"email": "async@example.com"})
    got = await client.v1.customers.retrieve_async(customer.id)
    assert got.email == "async@example.com"
    with pytest.raises(stripe.CardError):
        await client.v1.payment_methods.attach_async(
            "pm_card_chargeDeclined", {"customer": customer.id}
        )


def test_reset_keeping_the_catalog_forgets_everything_else(
    sb: SandboxProcess, client: stripe.StripeClient
) -> None:
    product = client.v1.products.create({"name": "Seat"})
    price = client.v1.prices.create(
        {"product": product.id, "unit_amount": 2900, "currency": "usd", "lookup_key": "seat"}
    )
    client.v1.customers.create({"name": "Acme"})
    sb.reset(keep_catalog=True)
    assert client.v1.customers.list().data == []
    assert client.v1.events.list().data == []
    assert [p.id for p in client.v1.prices.list({"lookup_keys": ["seat"]}).data] == [price.id]
    assert client.v1.products.retrieve(product.id).name == "Seat"
    with pytest.raises(httpx.HTTPStatusError) as caught:
        sb.control("POST", "reset", keep="everything")
    assert caught.value.response.status_code == 400
    assert client.v1.products.retrieve(product.id).name == "Seat"  # a refused reset keeps all
    sb.reset()
    assert client.v1.prices.list().data == []
