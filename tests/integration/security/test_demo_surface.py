"""The demo sandbox as another website and another machine try it (issue 11, items 6, 7 and the
secret on the command line), over real HTTP against a sandbox started exactly as `make run`
starts it (`runner.sandbox_argv` + `runner.sandbox_environment`)."""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
import stripe

from clerk_portal.core.settings import SANDBOX_SECRET_KEY, Settings
from clerk_portal.ops import runner
from tests.support.ports import free_port, wait_for_http

FOREIGN = "https://attacker.example"
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034}


@dataclass
class DemoSandbox:
    url: str
    secret_key: str
    publishable_key: str
    webhook_secret: str
    portal_origin: str
    process: subprocess.Popen[bytes]

    def client(self, key: str | None = None) -> stripe.StripeClient:
        return stripe.StripeClient(
            key or self.secret_key, base_addresses={"api": self.url}, max_network_retries=0
        )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSandbox]:
    """The sandbox of a demo whose portal is on `PORT`, with keys of its own."""
    settings = Settings(
        _env_file=None,
        portal_mode="demo",
        host=None,
        port=free_port(),
        sandbox_port=free_port(),
        sandbox_data=str(tmp_path_factory.mktemp("demo") / "sandbox.json"),
        public_url=None,
        allowed_origins=None,
        stripe_api_base=None,
        stripe_secret_key=f"sk_test_demo_{secrets.token_hex(8)}",
        stripe_publishable_key=f"pk_test_demo_{secrets.token_hex(8)}",
    )
    webhook_secret = f"whsec_{secrets.token_hex(16)}"
    env = runner.sandbox_environment(settings, dict(os.environ), webhook_secret)
    process = subprocess.Popen(
        runner.sandbox_argv(settings), env=env, cwd=Path(runner.PROJECT_ROOT)
    )
    url = settings.stripe_api_base_url or ""
    try:
        wait_for_http(f"{url}/_sandbox/health", timeout=30, is_alive=lambda: process.poll() is None)
        yield DemoSandbox(
            url=url,
            secret_key=settings.stripe_secret,
            publishable_key=settings.stripe_publishable,
            webhook_secret=webhook_secret,
            portal_origin=settings.portal_url,
            process=process,
        )
    finally:
        process.terminate()
        process.wait(15)


def preflight(demo: DemoSandbox, path: str, origin: str, method: str = "GET") -> httpx.Response:
    return httpx.options(
        demo.url + path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


def seti_with_secret(demo: DemoSandbox) -> tuple[str, str]:
    customer = demo.client().v1.customers.create({"email": "cors@clinic.example"})
    seti = demo.client().v1.setup_intents.create({"customer": customer.id})
    return seti.id, seti.client_secret or ""


# --- item 6: another website -----------------------------------------------------------------


def test_a_page_elsewhere_gets_no_cors_on_customers_and_its_preflight_is_refused(demo):
    demo.client().v1.customers.create({"email": "private@clinic.example"})
    answer = httpx.get(
        demo.url + "/v1/customers",
        headers={"Origin": FOREIGN, "Authorization": f"Bearer {demo.secret_key}"},
    )
    assert "access-control-allow-origin" not in answer.headers
    refused = preflight(demo, "/v1/customers", FOREIGN)
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    # the portal's own pages do not call /v1/customers either: no CORS for them there
    own = preflight(demo, "/v1/customers", demo.portal_origin)
    assert own.status_code == 403 and "access-control-allow-origin" not in own.headers


def test_a_page_elsewhere_cannot_cancel_a_subscription(demo):
    refused = preflight(demo, "/v1/subscriptions/sub_123", FOREIGN, method="DELETE")
    assert refused.status_code == 403
    answer = httpx.delete(
        demo.url + "/v1/subscriptions/sub_123",
        headers={"Origin": FOREIGN, "Authorization": f"Bearer {demo.secret_key}"},
    )
    assert answer.status_code == 403
    assert "access-control-allow-origin" not in answer.headers


def test_a_form_post_from_elsewhere_does_not_reset_the_sandbox(demo):
    customer = demo.client().v1.customers.create({"email": "kept@clinic.example"})
    for path, data in (("/_sandbox/reset", {}), ("/_sandbox/webhooks", {"url": FOREIGN})):
        answer = httpx.post(demo.url + path, data=data, headers={"Origin": FOREIGN})
        assert answer.status_code == 403, path
    assert demo.client().v1.customers.retrieve(customer.id).email == "kept@clinic.example"
    assert httpx.get(demo.url + "/_sandbox/webhooks").json()["config"]["url"] != FOREIGN


def test_a_dns_rebound_name_is_refused(demo):
    answer = httpx.get(demo.url + "/_sandbox/requests", headers={"Host": "attacker.example"})
    assert answer.status_code == 400


def test_a_made_up_secret_key_gets_401_in_stripes_shape(demo):
    for made_up in ("sk_test_whatever", SANDBOX_SECRET_KEY, "pk_test_whatever"):
        answer = httpx.get(
            demo.url + "/v1/customers", headers={"Authorization": f"Bearer {made_up}"}
        )
        assert answer.status_code == 401, made_up
        error = answer.json()["error"]
        assert error["type"] == "authentication_error"
        assert error["message"].startswith("Invalid API Key provided: ")
        with pytest.raises(stripe.AuthenticationError):
            demo.client(made_up).v1.customers.list()


def test_the_started_secret_key_works(demo):
    customer = demo.client().v1.customers.create({"email": "owner@clinic.example"})
    assert demo.client().v1.customers.retrieve(customer.id).id == customer.id


def test_the_publishable_key_works_only_where_stripe_js_calls(demo):
    browser = demo.client(demo.publishable_key)
    assert browser.v1.payment_methods.create({"type": "card", "card": CARD}).card.last4 == "4242"
    seti_id, client_secret = seti_with_secret(demo)
    got = browser.v1.setup_intents.retrieve(seti_id, {"client_secret": client_secret})
    assert got.id == seti_id
    confirmed = browser.v1.setup_intents.confirm(
        seti_id,
        {"client_secret": client_secret, "payment_method_data": {"type": "card", "card": CARD}},
    )
    assert confirmed.status == "succeeded"
    for call in (
        lambda: browser.v1.customers.list(),
        lambda: browser.v1.subscriptions.cancel("sub_123"),
        lambda: browser.v1.setup_intents.create({}),
    ):
        with pytest.raises(stripe.StripeError) as caught:
            call()
        assert caught.value.http_status == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/payment_methods"),
        ("GET", "/v1/setup_intents/seti_1"),
        ("POST", "/v1/setup_intents/seti_1/confirm"),
        ("GET", "/v1/payment_intents/pi_1"),
        ("POST", "/v1/payment_intents/pi_1/confirm"),
        ("POST", "/_sandbox/authenticate/seti_1"),
        ("GET", "/v3"),
    ],
)
def test_stripe_js_endpoints_answer_cors_to_the_portal_only(demo, method, path):
    allowed = preflight(demo, path, demo.portal_origin, method)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == demo.portal_origin
    assert "authorization" in allowed.headers["access-control-allow-headers"]
    refused = preflight(demo, path, FOREIGN, method)
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers


def test_stripe_js_calls_from_the_portal_get_cors_and_from_elsewhere_nothing(demo):
    headers = {"Authorization": f"Bearer {demo.publishable_key}"}
    card = {f"card[{name}]": value for name, value in CARD.items()}
    made = httpx.post(
        demo.url + "/v1/payment_methods",
        data={"type": "card", **card},
        headers={**headers, "Origin": demo.portal_origin},
    )
    assert made.status_code == 200
    assert made.headers["access-control-allow-origin"] == demo.portal_origin
    assert "Request-Id" in made.headers["access-control-expose-headers"]
    refused = httpx.post(
        demo.url + "/v1/payment_methods",
        data={"type": "card", **card},
        headers={**headers, "Origin": FOREIGN},
    )
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    script = httpx.get(demo.url + "/v3", headers={"Origin": FOREIGN})
    assert script.status_code == 200 and "access-control-allow-origin" not in script.headers


# --- item 7 and the command line: another machine, another local user ------------------------


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _non_loopback_ipv4() -> str | None:
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            is_ipv4 = address.family == socket.AF_INET
            if is_ipv4 and not ipaddress.ip_address(address.address).is_loopback:
                return address.address
    return None


def test_the_sandbox_listens_on_loopback_only(demo):
    listening = [
        conn.laddr
        for process in _tree(demo.process.pid)
        for conn in process.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN
    ]
    assert listening, "the sandbox listens nowhere?"
    assert {address.ip for address in listening} <= {"127.0.0.1", "::1"}, listening
    outside = _non_loopback_ipv4()
    if outside:
        port = listening[0].port
        with pytest.raises(OSError), socket.create_connection((outside, port), timeout=2):
            pass


def test_no_secret_on_any_command_line(demo):
    for process in _tree(demo.process.pid):
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode(errors="replace")
        assert demo.webhook_secret not in cmdline
        assert demo.secret_key not in cmdline
        assert demo.publishable_key not in cmdline


def test_demo_mode_binds_loopback_unless_host_says_otherwise():
    demo = Settings(_env_file=None, portal_mode="demo", host=None)
    assert demo.listen_host == "127.0.0.1"
    argv = runner.reflex_argv(dev=False, port=3000, host=demo.listen_host)
    assert argv[argv.index("--backend-host") + 1] == "127.0.0.1"
    assert runner.sandbox_argv(demo)[runner.sandbox_argv(demo).index("--host") + 1] == "127.0.0.1"
    shared = Settings(_env_file=None, portal_mode="demo", host="0.0.0.0")
    assert shared.listen_host == "0.0.0.0"
    assert shared.stripe_api_base_url == f"http://127.0.0.1:{shared.sandbox_port}"
