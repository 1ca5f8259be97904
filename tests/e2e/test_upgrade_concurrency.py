"""Many tabs and a crash against the running portal, over its real websocket (issue 10, bug 4).

Each tab is a websocket of the owner's session that does what the upgrade page does: open the
card form (`checkout`), let "Stripe.js" confirm the SetupIntent (here: the sandbox, with the
publishable key), then tell the portal (`card_confirmed`). The kill -9 test restarts the
session's portal in place on the same database and the same Stripe state; it runs last.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import stripe
from sqlmodel import Session, select

from clerk_portal.core.db import engine_for
from clerk_portal.core.settings import get_settings
from clerk_portal.models import BillingAccount, BillingActivity
from clerk_portal.pages.billing.upgrade import STILL_CHECKING
from tests.support import workspaces
from tests.support.portal import start_portal
from tests.support.reflex_socket import ReflexSocket, Reply
from tests.support.waiting import eventually

from .conftest import portal_environment

UPGRADE = "reflex___state____state.clerk_portal___pages___billing___upgrade____upgrade_state"
PAGE = "/billing/upgrade"
TABS = 5
REDIS_URL = os.environ.get("TEST_REDIS_URL")


def card_form_opened(reply: Reply) -> bool:
    """`checkout` (a background task) answered: the card form's secret, or why not."""
    return "_secret_" in str(reply.events) or bool(reply.var("error"))


def upgrade_settled(reply: Reply) -> bool:
    """`card_confirmed` (a background task) is done: upgraded, refused, or still unknown."""
    return bool(
        "/billing" in reply.redirects()
        or reply.var("error")
        or reply.var("notice") == STILL_CHECKING
    )


def new_trial_workspace(portal) -> tuple[int, int]:
    """A workspace on trial (2 people, 4 numbers); returns (its id, its owner's user id)."""
    created = workspaces.new_workspace(portal, name="Tabs", members=1, numbers=4)
    return created.id, created.owner_user_id


def owner_cookie(portal, workspace_id: int, owner_id: int) -> str:
    """A session of the owner (another browser, say): what the websocket sends."""
    return workspaces.cookie(workspaces.new_session_token(portal, owner_id, workspace_id))


def open_card_form(portal, cookie: str) -> ReflexSocket:
    """A tab on the upgrade page whose card was confirmed by Stripe.js (4242…)."""
    tab = ReflexSocket(portal.url, cookie=cookie)
    tab.call(f"{UPGRADE}.load_upgrade", path=PAGE)
    reply = tab.call(f"{UPGRADE}.checkout", path=PAGE, until=card_form_opened)
    found = set(re.findall(r"seti_[A-Za-z0-9]+_secret_[A-Za-z0-9_-]+", str(reply.events)))
    assert len(found) == 1, reply
    secret = found.pop()
    browser = stripe.StripeClient(
        get_settings().stripe_publishable, base_addresses={"api": portal.sandbox_url}
    )
    browser.v1.setup_intents.confirm(
        secret.split("_secret_")[0],
        {
            "client_secret": secret,
            "payment_method_data": {
                "type": "card",
                "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034},
            },
        },
    )
    return tab


def confirm(tab: ReflexSocket):
    return tab.call(
        f"{UPGRADE}.card_confirmed", {"result": {"ok": True}}, path=PAGE, until=upgrade_settled
    )


def customer_of(portal, workspace_id: int) -> str:
    with Session(engine_for(portal.database_url)) as session:
        account = session.exec(
            select(BillingAccount).where(BillingAccount.workspace_id == workspace_id)
        ).one()
        return account.stripe_customer_id or ""


def at_stripe(portal, customer_id: str) -> tuple[list, list]:
    """(the customer's subscriptions, its paid invoices) as the sandbox has them."""
    # the portal's sandbox accepts only the portal's keys
    client = stripe.StripeClient(
        get_settings().stripe_secret, base_addresses={"api": portal.sandbox_url}
    )
    subscriptions = client.v1.subscriptions.list({"customer": customer_id, "status": "all"}).data
    invoices = client.v1.invoices.list({"customer": customer_id}).data
    return subscriptions, [i for i in invoices if i.status == "paid"]


def upgrade_rows(portal, workspace_id: int) -> int:
    with Session(engine_for(portal.database_url)) as session:
        rows = session.exec(
            select(BillingActivity).where(
                BillingActivity.workspace_id == workspace_id, BillingActivity.kind == "upgrade"
            )
        ).all()
        return len(rows)


def test_five_tabs_confirming_the_same_upgrade_make_one_subscription_and_one_charge(portal):
    workspace_id, owner_id = new_trial_workspace(portal)
    cookie = owner_cookie(portal, workspace_id, owner_id)
    tabs = [open_card_form(portal, cookie) for _ in range(TABS)]
    try:
        with ThreadPoolExecutor(TABS) as pool:
            replies = list(pool.map(confirm, tabs))
    finally:
        for tab in tabs:
            tab.close()

    subscriptions, paid = at_stripe(portal, customer_of(portal, workspace_id))
    assert len(subscriptions) == 1, [s.id for s in subscriptions]
    assert [i.amount_paid for i in paid] == [2 * 4900 + 1 * 800]
    assert sum(1 for reply in replies if "/billing" in reply.redirects()) >= 1
    refused = [r for r in replies if "/billing" not in r.redirects()]
    assert all("already in progress" in str(r.changed_vars("upgrade_state")) for r in refused), (
        refused
    )
    assert upgrade_rows(portal, workspace_id) == 1


def test_an_unknown_outcome_says_checking_then_shows_the_upgrade(portal):
    """Bug 5: Stripe's answers are lost (5xx after every retry); the tab never says nothing
    was charged, asks the same attempt again and ends on the subscription."""
    workspace_id, owner_id = new_trial_workspace(portal)
    tab = open_card_form(portal, owner_cookie(portal, workspace_id, owner_id))
    httpx.post(
        f"{portal.sandbox_url}/_sandbox/faults",
        data={"method": "POST", "path": "/v1/subscriptions", "status": 500, "count": 3},
    ).raise_for_status()
    try:
        reply = confirm(tab)
    finally:
        tab.close()

    said = str(reply.deltas)
    assert "Checking with Stripe" in said and "nothing was" not in said.lower()
    assert "/billing" in reply.redirects(), reply
    subscriptions, paid = at_stripe(portal, customer_of(portal, workspace_id))
    assert len(subscriptions) == 1 and len(paid) == 1
    assert upgrade_rows(portal, workspace_id) == 1


def _reflex_group(runner_pid: int) -> int:
    """The process group of the runner's `reflex run` child (the portal's backend)."""
    children = subprocess.run(
        ["ps", "-o", "pid=,args=", "--ppid", str(runner_pid)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    [pid] = [int(line.split()[0]) for line in children if "reflex" in line]
    return os.getpgid(pid)


def _webhooks(portal, url: str) -> None:
    httpx.post(f"{portal.sandbox_url}/_sandbox/webhooks", data={"url": url}).raise_for_status()


def _wait_for_subscription(portal, customer_id: str) -> None:
    eventually(
        lambda: at_stripe(portal, customer_id)[0],
        within=60,
        every=0.1,
        what="Stripe to create the subscription",
    )


def test_kill_9_during_an_upgrade_then_a_retry_makes_one_subscription(portal, oidc_provider):
    workspace_id, owner_id = new_trial_workspace(portal)
    tab = open_card_form(portal, owner_cookie(portal, workspace_id, owner_id))
    customer_id = customer_of(portal, workspace_id)
    _webhooks(portal, "")  # the retry comes before Stripe's webhook reaches the portal
    httpx.post(
        f"{portal.sandbox_url}/_sandbox/faults",
        data={"method": "POST", "path": "/v1/subscriptions", "hang_after_seconds": 5},
    ).raise_for_status()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(confirm, tab)
        _wait_for_subscription(portal, customer_id)  # Stripe subscribed; its answer hangs
        os.killpg(_reflex_group(portal.process.pid), signal.SIGKILL)
        with pytest.raises(Exception):  # noqa: B017 - the tab just lost its server
            pending.result(timeout=60)
    portal.process.wait(60)  # the runner stops the sandbox (its state is saved) and exits

    restarted = start_portal(
        database_url=portal.database_url,
        log_path=portal.log_path.with_name("portal-after-kill.log"),
        port=int(portal.url.rsplit(":", 1)[1]),
        extra_env=portal_environment(oidc_provider),
    )
    portal.url, portal.sandbox_url = restarted.url, restarted.sandbox_url
    portal.process, portal.log_path = restarted.process, restarted.log_path
    _webhooks(portal, "")
    try:
        retry = open_card_form(portal, owner_cookie(portal, workspace_id, owner_id))
        try:
            reply = confirm(retry)
        finally:
            retry.close()
    finally:
        _webhooks(portal, f"{portal.url}/stripe/webhook")

    subscriptions, paid = at_stripe(portal, customer_id)
    assert len(subscriptions) == 1, [s.id for s in subscriptions]
    assert len(paid) == 1
    assert "/billing" in reply.redirects(), reply
    assert upgrade_rows(portal, workspace_id) == 1
