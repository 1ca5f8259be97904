"""Many tabs and a crash against the running portal, over its real websocket (issue 10, bug 4).

Each tab is a websocket of the owner's session that does what the upgrade page does: click
"Upgrade and pay" (`checkout`: the subscription is opened at Stripe, unpaid), let "Stripe.js" pay
its first invoice's PaymentIntent with the card (here: the sandbox, with the publishable key),
then tell the portal (`payment_confirmed`). The kill -9 test restarts the session's portal in
place on the same database and the same Stripe state; it runs last.
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


def payment_opened(reply: Reply) -> bool:
    """`checkout` (a background task) answered: the payment's secret, or why not."""
    return "_secret_" in str(reply.events) or bool(reply.var("error"))


def upgrade_settled(reply: Reply) -> bool:
    """`payment_confirmed` / `checkout` is done: upgraded, refused, or still unknown."""
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


def click_upgrade(tab: ReflexSocket) -> Reply:
    return tab.call(f"{UPGRADE}.checkout", path=PAGE, until=payment_opened)


def new_tab(portal, cookie: str) -> ReflexSocket:
    tab = ReflexSocket(portal.url, cookie=cookie)
    tab.call(f"{UPGRADE}.load_upgrade", path=PAGE)
    return tab


def payment_secret(reply: Reply) -> str | None:
    found = set(re.findall(r"pi_[A-Za-z0-9]+_secret_[A-Za-z0-9_-]+", str(reply.events)))
    assert len(found) <= 1, reply
    return found.pop() if found else None


def pay_in_browser(portal, secret: str) -> None:
    """What Stripe.js confirmCardPayment does with the card element (4242…)."""
    browser = stripe.StripeClient(
        get_settings().stripe_publishable, base_addresses={"api": portal.sandbox_url}
    )
    card = browser.v1.payment_methods.create(
        {
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034},
        }
    )
    browser.v1.payment_intents.confirm(
        secret.split("_secret_")[0], {"client_secret": secret, "payment_method": card.id}
    )


def confirm(tab: ReflexSocket):
    return tab.call(
        f"{UPGRADE}.payment_confirmed", {"result": {"ok": True}}, path=PAGE, until=upgrade_settled
    )


def customer_of(portal, workspace_id: int) -> str:
    with Session(engine_for(portal.database_url)) as session:
        account = session.exec(
            select(BillingAccount).where(BillingAccount.workspace_id == workspace_id)
        ).one()
        return account.stripe_customer_id or ""


def at_stripe(portal, customer_id: str) -> tuple[list, list]:
    """(the customer's subscriptions, its paid invoices) as the sandbox has them."""
    assert customer_id, "no Stripe customer yet: the listing would be everyone's"
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


def test_five_tabs_clicking_upgrade_at_once_make_one_subscription_and_one_charge(portal):
    workspace_id, owner_id = new_trial_workspace(portal)
    cookie = owner_cookie(portal, workspace_id, owner_id)
    tabs = [new_tab(portal, cookie) for _ in range(TABS)]
    try:
        with ThreadPoolExecutor(TABS) as pool:
            replies = list(pool.map(click_upgrade, tabs))
        opened = [(tab, payment_secret(r)) for tab, r in zip(tabs, replies, strict=True)]
        winners = [(tab, secret) for tab, secret in opened if secret]
        assert len(winners) == 1, replies  # one payment is opened: the others wait for it
        refused = [r for r in replies if not payment_secret(r)]
        assert all("already in progress" in str(r.changed_vars("upgrade_state")) for r in refused)
        [(winner, secret)] = winners
        pay_in_browser(portal, secret)
        settled = confirm(winner)
    finally:
        for tab in tabs:
            tab.close()

    subscriptions, paid = at_stripe(portal, customer_of(portal, workspace_id))
    assert len(subscriptions) == 1, [s.id for s in subscriptions]
    assert [i.amount_paid for i in paid] == [2 * 4900 + 1 * 800]
    assert "/billing" in settled.redirects(), settled
    assert upgrade_rows(portal, workspace_id) == 1


def test_an_unknown_outcome_says_checking_then_opens_the_one_payment(portal):
    """Bug 5: Stripe's answers are lost (5xx after every retry); the tab never says nothing
    happened, asks the same request again (it replays) and ends on one subscription."""
    workspace_id, owner_id = new_trial_workspace(portal)
    tab = new_tab(portal, owner_cookie(portal, workspace_id, owner_id))
    httpx.post(
        f"{portal.sandbox_url}/_sandbox/faults",
        data={"method": "POST", "path": "/v1/subscriptions", "status": 500, "count": 3},
    ).raise_for_status()
    try:
        opened = click_upgrade(tab)
        said = str(opened.deltas)
        secret = payment_secret(opened)
        assert secret, opened
        pay_in_browser(portal, secret)
        reply = confirm(tab)
    finally:
        tab.close()

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


def _wait_for_read(portal) -> None:
    def hanging() -> bool:
        faults = httpx.get(f"{portal.sandbox_url}/_sandbox/faults").json()
        return not faults.get("data", faults)  # the fault was taken by the portal's read

    eventually(hanging, within=60, every=0.1, what="the portal to read the subscription")


def click_upgrade_until_settled(tab: ReflexSocket) -> Reply:
    return tab.call(f"{UPGRADE}.checkout", path=PAGE, until=upgrade_settled)


def test_kill_9_during_an_upgrade_then_a_retry_makes_one_subscription(portal, oidc_provider):
    """The tab paid at Stripe; the portal dies re-reading the subscription (before the mirror
    write). The owner's next click, in a new tab, finds the paid subscription."""
    workspace_id, owner_id = new_trial_workspace(portal)
    tab = new_tab(portal, owner_cookie(portal, workspace_id, owner_id))
    _webhooks(portal, "")  # the retry comes before Stripe's webhook reaches the portal
    secret = payment_secret(click_upgrade(tab))
    assert secret
    customer_id = customer_of(portal, workspace_id)  # made by the click
    assert customer_id
    pay_in_browser(portal, secret)
    httpx.post(
        f"{portal.sandbox_url}/_sandbox/faults",
        data={"method": "GET", "path": "/v1/subscriptions/sub_*", "hang_seconds": 30},
    ).raise_for_status()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(confirm, tab)
        _wait_for_read(portal)  # the portal is reading what Stripe charged
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
        retry = new_tab(portal, owner_cookie(portal, workspace_id, owner_id))
        try:
            reply = click_upgrade_until_settled(retry)
        finally:
            retry.close()
    finally:
        _webhooks(portal, f"{portal.url}/stripe/webhook")

    subscriptions, paid = at_stripe(portal, customer_id)
    assert len(subscriptions) == 1, [s.id for s in subscriptions]
    assert len(paid) == 1
    assert "/billing" in reply.redirects(), reply
    assert upgrade_rows(portal, workspace_id) == 1
