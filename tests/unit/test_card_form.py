"""What the page reports back from Stripe.js is untrusted: only an explicit ok counts."""

import pytest

from clerk_portal.components.card_form import card_form_refusal, confirm_script, mount_script


def test_a_confirmed_card_is_not_a_refusal():
    assert card_form_refusal({"ok": True, "status": "succeeded"}) is None


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({"error": "Your card was declined.", "code": "card_declined"}, "Your card was declined."),
        ({"ok": "true"}, "The card was not accepted."),
        ({}, "The card was not accepted."),
        ("1", "The card was not accepted."),
        (None, "The card was not accepted."),
        ([], "The card was not accepted."),
        ({"error": "x" * 1000}, "x" * 300),
    ],
)
def test_anything_else_is_a_refusal_with_a_bounded_message(result, message):
    assert card_form_refusal(result) == message


def test_scripts_quote_their_arguments():
    script = confirm_script('seti_1_secret_2"); alert("x', "O'Brien")
    assert '\\"); alert(\\"x' in script
    assert "mount(" in mount_script("card-element")
