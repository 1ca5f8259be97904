"""The demo controls exist only in demo mode (issue 15): in production the /demo page and its
state are not made, and `python -m clerk_portal demo ...` refuses without calling Stripe."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from clerk_portal.core.settings import PROJECT_ROOT

PRODUCTION = {
    "PORTAL_MODE": "production",
    "STRIPE_SECRET_KEY": "sk_live_not_a_real_key",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_not_a_real_key",
    "STRIPE_WEBHOOK_SECRET": "whsec_not_the_sandbox",
    "OIDC_ISSUER": "https://idp.example",
    "OIDC_CLIENT_ID": "portal",
    "OIDC_CLIENT_SECRET": "secret",
    "PUBLIC_URL": "https://portal.example",
}
PROBE = """
import json
import clerk_portal.clerk_portal as module
from reflex.state import State
def walk(state):
    yield state.get_full_name()
    for sub in state.get_substates():
        yield from walk(sub)
print(json.dumps({"routes": sorted(module.app._unevaluated_pages),
                  "demo_state": any("pages___demo" in name for name in walk(State))}))
"""


def _run(args: list[str], mode: dict[str, str], tmp_path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "OIDC_"))}
    env.update(mode, DATABASE_URL=f"sqlite:///{tmp_path / 'portal.db'}")
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _app(mode: dict[str, str], tmp_path) -> dict:
    done = _run(["-c", PROBE], mode, tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_demo_page_is_registered_in_demo_mode_only(tmp_path):
    demo = _app({"PORTAL_MODE": "demo"}, tmp_path)
    production = _app(PRODUCTION, tmp_path)

    assert "demo" in demo["routes"] and demo["demo_state"]
    assert "demo" not in production["routes"] and not production["demo_state"]
    assert set(production["routes"]) == set(demo["routes"]) - {"demo"}


def test_the_demo_command_refuses_in_production(tmp_path):
    done = _run(["-m", "clerk_portal", "demo", "reset"], PRODUCTION, tmp_path)

    assert done.returncode == 1
    assert "only in the demo" in done.stderr
