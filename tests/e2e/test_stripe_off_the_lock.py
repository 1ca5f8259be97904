"""Stripe work runs off the tab's state lock (issue 13, item 2).

A tab on the upgrade page clicks "Upgrade and pay" while the sandbox holds Stripe's answer to the
subscription create (opened before the card pays its first invoice): the same tab's other events
(a click on Yearly) are processed meanwhile, and with Redis keeping the state (Reflex aborts an
event holding the lock over 10 s) a Stripe answer that takes 15 s still ends on the
subscription, charged once.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.reflex_socket import Reply

from .conftest import REDIS_URL
from .test_upgrade_concurrency import (
    PAGE,
    UPGRADE,
    at_stripe,
    confirm,
    customer_of,
    new_tab,
    new_trial_workspace,
    owner_cookie,
    pay_in_browser,
    payment_opened,
    payment_secret,
    upgrade_rows,
)

SUBSCRIPTION_CREATE = {"method": "POST", "path": "/v1/subscriptions"}


def _hang_subscription_create(portal, seconds: float) -> None:
    httpx.post(
        f"{portal.sandbox_url}/_sandbox/faults",
        data={**SUBSCRIPTION_CREATE, "hang_seconds": seconds},
    ).raise_for_status()


def _sandbox_is_holding_the_create(portal) -> bool:
    """The fault was taken: the subscription create reached the sandbox and waits there."""
    faults = httpx.get(f"{portal.sandbox_url}/_sandbox/faults").json()["data"]
    return not faults


def _upgraded(reply: Reply) -> bool:
    return "/billing" in reply.redirects()


def _said(reply: Reply) -> str:
    return str(reply.deltas) + str(reply.events)


def test_the_tab_answers_other_events_while_stripe_is_slow(portal):
    workspace_id, owner_id = new_trial_workspace(portal)
    tab = new_tab(portal, owner_cookie(portal, workspace_id, owner_id))
    _hang_subscription_create(portal, 6)
    try:
        tab.send(f"{UPGRADE}.checkout", path=PAGE)
        deadline = time.monotonic() + 30
        while not _sandbox_is_holding_the_create(portal):
            assert time.monotonic() < deadline, "the upgrade never reached the subscription create"
            time.sleep(0.05)
        clicked = time.monotonic()
        tab.send(f"{UPGRADE}.select_interval", {"interval": "year"}, path=PAGE)
        during = tab.wait_for(
            lambda reply: "'year'" in str(reply.changed_vars("upgrade_state")),
            timeout=20,
            what="the Yearly click's answer",
        )
        answered_in = time.monotonic() - clicked
        # Answered while Stripe still held the subscription create (6 s), not after it.
        assert answered_in < 4, f"Yearly answered after {answered_in:.1f} s"
        assert not payment_secret(during), "the payment opened before the click was answered"
        opened = tab.wait_for(payment_opened, timeout=60, what="the payment's secret")
        secret = payment_secret(opened)
        assert secret, _said(opened)
        pay_in_browser(portal, secret)
        done = confirm(tab)
        assert _upgraded(done), _said(done)
    finally:
        tab.close()

    assert "upgrade_error" not in str(done.changed_vars("upgrade_state")), _said(done)
    subscriptions, paid = at_stripe(portal, customer_of(portal, workspace_id))
    assert len(subscriptions) == 1 and len(paid) == 1
    # The upgrade is the one clicked for (monthly), not the later click.
    assert subscriptions[0]["items"]["data"][0]["price"]["recurring"]["interval"] == "month"
    assert upgrade_rows(portal, workspace_id) == 1


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL not set (the lock expiry is Redis')")
def test_a_stripe_answer_taking_15_seconds_completes_without_a_lock_error(portal):
    workspace_id, owner_id = new_trial_workspace(portal)
    tab = new_tab(portal, owner_cookie(portal, workspace_id, owner_id))
    _hang_subscription_create(portal, 15)
    log_before = len(portal.log())
    try:
        tab.send(f"{UPGRADE}.checkout", path=PAGE)
        opened = tab.wait_for(payment_opened, timeout=90, what="the payment's secret")
        secret = payment_secret(opened)
        assert secret, _said(opened)
        pay_in_browser(portal, secret)
        done = confirm(tab)
    finally:
        tab.close()

    assert done.toasts(), _said(done)
    subscriptions, paid = at_stripe(portal, customer_of(portal, workspace_id))
    assert len(subscriptions) == 1 and len(paid) == 1
    assert upgrade_rows(portal, workspace_id) == 1
    log = portal.log()[log_before:]
    assert "LockExpired" not in log and "lock expired" not in log.lower(), log[-3000:]
