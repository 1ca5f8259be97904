"""The Stripe card element's container and the calls into assets/card_form.js.

The card number is typed into Stripe's element (in demo mode the sandbox's stand-in) and goes
from the browser to Stripe; the portal only sends a SetupIntent's or a PaymentIntent's client
secret to the page and learns whether the confirmation succeeded.
"""

from __future__ import annotations

import json

import reflex as rx

from clerk_portal.core.settings import get_settings

CARD_SCRIPT = "/card_form.js"
# Stripe's field draws no focus ring of its own (nor does the sandbox's stand-in): its container
# shows where the focus is, as the theme's text fields do (WCAG 2.4.7). Stripe marks a focused
# element's container StripeElement--focus; :focus-within also covers its iframe.
CARD_FOCUS_RING = {
    "borderRadius": "var(--radius-2)",
    "&:focus-within, &.StripeElement--focus": {
        "outline": "2px solid var(--focus-8)",
        "outlineOffset": "1px",
    },
}


def card_element(element_id: str) -> rx.Component:
    return rx.vstack(
        rx.text("Card", size="2", weight="medium", as_="div"),
        rx.box(  # Stripe draws the field
            id=element_id, width="100%", min_height="40px", style=CARD_FOCUS_RING
        ),
        rx.text("", id=f"{element_id}-error", size="1", color_scheme="red", role="alert"),
        spacing="1",
        width="100%",
    )


def _when_ready(call: str) -> str:
    """Run `call` on window.clerkCard once card_form.js has loaded (it loads asynchronously)."""
    return (
        "new Promise(function (resolve) { (function wait(tries) {"
        f" if (window.clerkCard) {{ resolve(window.clerkCard.{call}); }}"
        " else if (tries > 200) { resolve({error: 'The card form could not be loaded.'}); }"
        " else { setTimeout(function () { wait(tries + 1); }, 50); } })(0); })"
    )


def mount_script(element_id: str) -> str:
    settings = get_settings()
    return _when_ready(
        f"mount({json.dumps(settings.stripe_js)}, {json.dumps(settings.stripe_publishable)}, "
        f"{json.dumps('#' + element_id)})"
    )


def confirm_script(client_secret: str, cardholder: str) -> str:
    return _when_ready(f"confirm({json.dumps(client_secret)}, {json.dumps(cardholder)})")


def confirm_payment_script(client_secret: str, cardholder: str) -> str:
    """Pay a PaymentIntent (a subscription's first invoice) with the card typed into the form."""
    return _when_ready(f"confirmPayment({json.dumps(client_secret)}, {json.dumps(cardholder)})")


def card_form_refusal(result: object) -> str | None:
    """What Stripe.js reported to the page: None when the card was confirmed, else the message
    to show. The page may send anything, so nothing else is taken from it."""
    if isinstance(result, dict) and result.get("ok") is True:
        return None
    error = result.get("error") if isinstance(result, dict) else None
    return str(error or "The card was not accepted.")[:300]


def card_script_tag() -> rx.Component:
    return rx.script(src=CARD_SCRIPT)
