"""The Stripe.js stand-in at /v3."""

from __future__ import annotations

import httpx

from tests.support.sandbox import SandboxProcess


def test_v3_is_served_as_javascript(sb: SandboxProcess) -> None:
    response = httpx.get(f"{sb.url}/v3")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    script = response.text
    for name in (
        "window.Stripe",
        "elements",
        "confirmCardSetup",
        "confirmSetup",
        "confirmCardPayment",
        "createPaymentMethod",
        "aria-label",
        "Card number",
        "Expiration date",
        "Complete authentication",
        "Fail authentication",
        "currentScript",
    ):
        assert name in script, name


def test_three_d_secure_test_page(sb: SandboxProcess) -> None:
    response = httpx.get(f"{sb.url}/_sandbox/3ds/seti_123")
    assert "Complete authentication" in response.text
