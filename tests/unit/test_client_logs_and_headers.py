"""The rules behind tests/e2e/test_security_logs.py and test_security_headers.py, case by case:
escaping, the rate limits, and the policy for production (real Stripe, https, HSTS)."""

from __future__ import annotations

import pytest

from clerk_portal.core.settings import Settings
from clerk_portal.web import client_logs
from clerk_portal.web.client_logs import (
    BURST,
    CLIENT_TEXT_LIMIT,
    SUMMARY_SECONDS,
    TOTAL_BURST,
    ClientLogLimiter,
    escape_client_text,
)
from clerk_portal.web.security_headers import content_security_policy, security_headers


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("tab\there", "tab\\there"),
        ("\x1b[2Kred", "\\x1b[2Kred"),
        ("nul\x00", "nul\\x00"),
        ("rtl\u202eoverride", "rtl\\u202eoverride"),
        ("line\u2028sep", "line\\u2028sep"),
        ("back\\slash", "back\\\\slash"),
        ("café ✓", "café ✓"),
    ],
)
def test_control_characters_are_escaped(raw, escaped):
    assert escape_client_text(raw) == escaped


def test_long_text_is_cut_and_says_how_long_it_was():
    text = escape_client_text("x" * 100_000)
    assert text.startswith("x" * CLIENT_TEXT_LIMIT)
    assert text.endswith("[100000 characters, cut]")
    assert len(text) < CLIENT_TEXT_LIMIT + 40
    # Escaping cannot push it past the cap either.
    assert len(escape_client_text("\n" * 5000)) < CLIENT_TEXT_LIMIT + 40


def test_each_client_has_a_burst_then_waits_for_its_bucket_to_refill():
    clock = Clock()
    limiter = ClientLogLimiter(clock)
    assert [limiter.allow("tab-a") for _ in range(BURST + 3)] == [True] * BURST + [False] * 3
    assert limiter.allow("tab-b"), "another client is still heard"
    clock.now += 60
    assert limiter.allow("tab-a"), "the bucket refills"


def test_all_clients_together_are_bounded():
    limiter = ClientLogLimiter(Clock())
    allowed = sum(limiter.allow(f"tab-{n}") for n in range(1000))  # a new token per record
    assert allowed == TOTAL_BURST
    assert limiter.suppressed == 1000 - TOTAL_BURST


def test_one_summary_when_due_with_the_count():
    clock = Clock()
    limiter = ClientLogLimiter(clock)
    for _ in range(BURST + 7):
        limiter.allow("tab")
    assert limiter.take_summary() == 0, "not before the window ends"
    clock.now += SUMMARY_SECONDS
    assert limiter.take_summary() == 7
    assert limiter.take_summary() == 0


def test_a_frontend_report_is_one_line_of_limited_size(capsys, monkeypatch):
    monkeypatch.setattr(client_logs, "limiter", ClientLogLimiter(Clock()))
    handler = client_logs.log.handlers[0]
    monkeypatch.setattr(handler, "stream", __import__("sys").stderr)
    message = ("x" * 1000 + "\n2026-12-02 ERROR forged\n") * 100
    for _ in range(BURST + 5):
        client_logs.report_frontend_exception(Exception(f"[SID: abc] {message}"))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == BURST
    assert all(
        " ERROR clerk_portal.web.client_logs: frontend exception [client abc]: " in line
        for line in lines
    )
    assert all(len(line) < CLIENT_TEXT_LIMIT + 200 for line in lines)


def _directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def test_production_policy_names_stripe_and_sends_hsts():
    settings = Settings(
        portal_mode="production", public_url="https://billing.clerk.example", port=3000
    )
    policy = _directives(content_security_policy(settings, ("'sha256-abc='",)))
    assert policy["script-src"] == [
        "'self'",
        "'sha256-abc='",
        "'unsafe-eval'",
        "https://js.stripe.com",
        "https://*.js.stripe.com",
    ]
    assert {"https://js.stripe.com", "https://hooks.stripe.com"} <= set(policy["frame-src"])
    assert "https://api.stripe.com" in policy["connect-src"]
    assert "wss://billing.clerk.example" in policy["connect-src"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "127.0.0.1" not in " ".join(" ".join(sources) for sources in policy.values())
    headers = dict(security_headers(settings))
    assert headers[b"strict-transport-security"].startswith(b"max-age=")


def test_demo_policy_names_the_sandbox_and_sends_no_hsts():
    settings = Settings(portal_mode="demo", port=3917, sandbox_port=40111)
    policy = _directives(content_security_policy(settings))
    assert "http://127.0.0.1:40111" in policy["script-src"]
    assert "http://127.0.0.1:40111" in policy["connect-src"]
    assert "ws://localhost:3917" in policy["connect-src"]
    assert "https://js.stripe.com" not in policy["script-src"]
    assert b"strict-transport-security" not in dict(security_headers(settings))
