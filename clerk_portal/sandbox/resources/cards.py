"""Stripe's test cards: how each number behaves, and card errors in Stripe's words."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..errors import StripeError, card_error

# number -> (brand, funding, behaviour); behaviour None means every operation succeeds
CARDS: dict[str, tuple[str, str, str | None]] = {
    "4242424242424242": ("visa", "credit", None),
    "4000056655665556": ("visa", "debit", None),
    "5555555555554444": ("mastercard", "credit", None),
    "378282246310005": ("amex", "credit", None),
    "4000000000000002": ("visa", "credit", "generic_decline"),
    "4000000000009995": ("visa", "credit", "insufficient_funds"),
    "4000000000000069": ("visa", "credit", "expired_card"),
    "4000000000000127": ("visa", "credit", "incorrect_cvc"),
    "4000000000000341": ("visa", "credit", "charge_fails"),
    "4000002760003184": ("visa", "credit", "authenticate"),
    "4000002500003155": ("visa", "credit", "authenticate_setup"),
    "4000000000003220": ("visa", "credit", "authenticate"),  # 3-D Secure 2, always required
    "4000000000003063": ("visa", "credit", "authenticate"),  # 3-D Secure, always required
}

# Stripe's test PaymentMethod ids: each use makes a new PaymentMethod from this number
MAGIC_PMS: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_threeDSecure2Required": "4000000000003220",
    "pm_card_threeDSecureRequired": "4000000000003063",
}

# behaviours that decline every operation, attach included: (code, decline_code, message, param)
DECLINES: dict[str, tuple[str, str, str, str | None]] = {
    "generic_decline": ("card_declined", "generic_decline", "Your card was declined.", None),
    "insufficient_funds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
        None,
    ),
    "expired_card": ("expired_card", "expired_card", "Your card has expired.", "exp_month"),
    "incorrect_cvc": (
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
        "cvc",
    ),
}


@dataclass(frozen=True)
class Card:
    brand: str
    funding: str
    last4: str
    fingerprint: str
    behaviour: str | None


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in ("34", "37"):
        return "amex"
    if number[:2] in ("51", "52", "53", "54", "55") or number[:1] == "2":
        return "mastercard"
    if number.startswith("6"):
        return "discover"
    return "unknown"


def read_card(number: str) -> Card:
    """Classify a raw card number (then the caller forgets the number)."""
    digits = "".join(ch for ch in str(number) if ch.isdigit())
    if len(digits) < 12 or not luhn_ok(digits):
        raise card_error("Your card number is incorrect.", "incorrect_number", param="number")
    brand, funding, behaviour = CARDS.get(digits, (brand_of(digits), "credit", None))
    fingerprint = hashlib.sha256(b"sandbox-fingerprint:" + digits.encode()).hexdigest()[:16]
    return Card(brand, funding, digits[-4:], fingerprint, behaviour)


def decline(behaviour: str | None) -> StripeError | None:
    """The error that an attach/setup with this card meets, if any."""
    if behaviour in DECLINES:
        code, decline_code, message, param = DECLINES[behaviour]
        return card_error(message, code, decline_code, param)
    return None


def charge_decline(behaviour: str | None) -> StripeError | None:
    """The error that a charge meets (authentication is handled by the caller)."""
    if behaviour == "charge_fails":
        return card_error("Your card was declined.", "card_declined", "generic_decline")
    return decline(behaviour)


def authentication_required() -> StripeError:
    return card_error(
        "Your card was declined. This transaction requires authentication.",
        "authentication_required",
        "authentication_required",
    )
