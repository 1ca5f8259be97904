"""PaymentMethods, SetupIntents and the test cards."""

from __future__ import annotations

import pytest
import stripe

from tests.support.sandbox import PUBLISHABLE_KEY, SandboxProcess

DECLINES = [
    ("pm_card_chargeDeclined", "card_declined", "generic_decline", "Your card was declined."),
    (
        "pm_card_chargeDeclinedInsufficientFunds",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card", "Your card has expired."),
    (
        "pm_card_chargeDeclinedIncorrectCvc",
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
]


def test_attach_list_detach(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "x"})
    first = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    second = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    assert first.id != second.id and first.card.fingerprint == second.card.fingerprint
    assert first.card.brand == "visa" and first.card.last4 == "4242"
    listed = client.v1.customers.payment_methods.list(customer.id)
    assert {p.id for p in listed.data} == {first.id, second.id}
    assert client.v1.payment_methods.list({"customer": customer.id}).data[0].id == second.id
    client.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": first.id}}
    )
    detached = client.v1.payment_methods.detach(first.id)
    assert detached.customer is None
    refreshed = client.v1.customers.retrieve(customer.id)
    assert refreshed.invoice_settings.default_payment_method is None
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.attach(first.id, {"customer": customer.id})
    types = [e.type for e in client.v1.events.list().data]
    assert "payment_method.attached" in types and "payment_method.detached" in types


@pytest.mark.parametrize(("pm", "code", "decline_code", "message"), DECLINES)
def test_declining_cards(
    client: stripe.StripeClient, pm: str, code: str, decline_code: str, message: str
) -> None:
    customer = client.v1.customers.create({"name": "x"})
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_methods.attach(pm, {"customer": customer.id})
    assert caught.value.http_status == 402
    assert caught.value.code == code
    assert caught.value.error.decline_code == decline_code
    assert caught.value.user_message == message
    assert client.v1.customers.payment_methods.list(customer.id).data == []


def test_raw_numbers_from_the_browser_and_bad_numbers(sb: SandboxProcess) -> None:
    browser = sb.client(PUBLISHABLE_KEY)
    pm = browser.v1.payment_methods.create(
        {
            "type": "card",
            "card": {"number": "5555 5555 5555 4444", "exp_month": 1, "exp_year": 31, "cvc": "123"},
            "billing_details": {"name": "Jo"},
        }
    )
    assert (pm.card.brand, pm.card.last4, pm.card.exp_year) == ("mastercard", "4444", 2031)
    assert "number" not in pm.card
    with pytest.raises(stripe.CardError) as caught:
        browser.v1.payment_methods.create({"type": "card", "card": {"number": "4242424242424241"}})
    assert caught.value.code == "incorrect_number"


def test_setup_intent_succeeds_and_attaches(
    sb: SandboxProcess, client: stripe.StripeClient
) -> None:
    customer = client.v1.customers.create({"name": "x"})
    seti = client.v1.setup_intents.create({"customer": customer.id, "usage": "off_session"})
    assert seti.status == "requires_payment_method" and seti.client_secret.startswith(seti.id)
    browser = sb.client(PUBLISHABLE_KEY)
    fetched = browser.v1.setup_intents.retrieve(seti.id, {"client_secret": seti.client_secret})
    assert fetched.id == seti.id
    with pytest.raises(stripe.InvalidRequestError):
        browser.v1.setup_intents.retrieve(seti.id, {"client_secret": "wrong"})
    confirmed = browser.v1.setup_intents.confirm(
        seti.id,
        {
            "client_secret": seti.client_secret,
            "payment_method_data": {  # type: ignore[typeddict-item]
                "type": "card",
                "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030},
            },
        },
    )
    assert confirmed.status == "succeeded"
    pm = client.v1.payment_methods.retrieve(confirmed.payment_method)
    assert pm.customer == customer.id
    assert "setup_intent.succeeded" in [e.type for e in client.v1.events.list().data]


def test_setup_intent_decline(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "x"})
    seti = client.v1.setup_intents.create({"customer": customer.id})
    with pytest.raises(stripe.CardError) as caught:
        client.v1.setup_intents.confirm(seti.id, {"payment_method": "pm_card_chargeDeclined"})
    assert caught.value.error.decline_code == "generic_decline"
    after = client.v1.setup_intents.retrieve(seti.id)
    assert after.status == "requires_payment_method"
    assert after.last_setup_error.code == "card_declined"
    assert "setup_intent.setup_failed" in [e.type for e in client.v1.events.list().data]


@pytest.mark.parametrize("outcome", ["complete", "fail"])
def test_setup_intent_three_d_secure(
    sb: SandboxProcess, client: stripe.StripeClient, outcome: str
) -> None:
    customer = client.v1.customers.create({"name": "x"})
    seti = client.v1.setup_intents.create(
        {
            "customer": customer.id,
            "payment_method": "pm_card_authenticationRequired",
            "confirm": True,
        }
    )
    assert seti.status == "requires_action"
    assert seti.next_action.type == "use_stripe_sdk"
    sb.authenticate(seti.id, outcome)
    after = client.v1.setup_intents.retrieve(seti.id)
    if outcome == "complete":
        assert after.status == "succeeded"
        assert client.v1.customers.payment_methods.list(customer.id).data[0].card.last4 == "3184"
    else:
        assert after.status == "requires_payment_method"
        assert after.last_setup_error.code == "setup_intent_authentication_failure"
    types = [e.type for e in client.v1.events.list().data]
    assert "setup_intent.requires_action" in types


def test_charge_fail_card_attaches_but_payments_fail(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "x"})
    pm = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    assert pm.card.last4 == "0341"
    with pytest.raises(stripe.CardError) as caught:
        client.v1.payment_intents.create(
            {
                "amount": 1000,
                "currency": "usd",
                "customer": customer.id,
                "payment_method": pm.id,
                "confirm": True,
            }
        )
    assert caught.value.code == "card_declined"
    intent = client.v1.payment_intents.list({"customer": customer.id}).data[0]
    assert intent.status == "requires_payment_method"
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert charge.status == "failed" and charge.failure_code == "card_declined"
