"""Team and numbers pages in Chromium: who may change what, confirmations, inline refusals.

Tests share the demo workspace, so each one invites its own people and adds its own numbers
(unique per test) and never changes the demo owner, admin or member.
"""

from __future__ import annotations

import random
import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import screenshot
from tests.support.workspaces import (
    add_demo_number,
    signed_in_member,
    signed_in_owner,
    subscribe,
)

from .conftest import sign_in_as

OWNER_EMAIL = "olivia@acmedental.example"
# stripe-python's HTTPX client posts bytes with `data=` (the upgrade helper); not ours.
STRIPE_SDK_WARNING = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
_FREE_NUMBERS = iter(random.sample(range(1000), 1000))  # distinct numbers within a session


def _open(page: Page, portal, role: str, path: str, heading: str) -> None:
    sign_in_as(page, portal, role)
    page.goto(portal.url + path)
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()


def _unique_email() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}@acmedental.example"


def _unique_number() -> tuple[str, str]:
    """A fictional London number (020 7946 0xxx is reserved for drama): (typed, E.164)."""
    digits = f"{next(_FREE_NUMBERS):03d}"
    return f"+44 20 7946 0{digits}", f"+442079460{digits}"


def _invite(page: Page, email: str, role: str = "member") -> None:
    page.locator("#invite-email").fill(email)
    page.locator("#invite-role").select_option(role)
    page.locator("#invite-submit").click()


def _member_row(page: Page, email: str):
    return page.locator(f'#member-table tr[data-email="{email}"]')


def _no_horizontal_scroll(page: Page) -> None:
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    ), "the page scrolls sideways"


# --- team ----------------------------------------------------------------------------------------


def test_owner_invites_changes_the_role_of_and_removes_a_member(portal, page):
    _open(page, portal, "owner", "/team", "Team")
    expect(_member_row(page, OWNER_EMAIL)).to_contain_text("Olivia Park")
    email = _unique_email()

    _invite(page, email)
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"{email} will be invited as member")
    expect(dialog.locator("#billing-effect")).to_have_text("No charge during your trial.")
    screenshot(page, "team-invite-confirm-owner")
    dialog.get_by_role("button", name="Send invitation").click()

    row = _member_row(page, email)
    expect(row).to_contain_text("invited")
    expect(page.get_by_text(f"Invited {email} as member.")).to_be_visible()
    expect(page.locator("#invite-email")).to_have_value("")

    page.get_by_label(f"Role of {email}").select_option("admin")
    expect(page.get_by_text(f"Changed {email} from member to admin.")).to_be_visible()
    page.reload()
    expect(page.get_by_label(f"Role of {email}")).to_have_value("admin")
    screenshot(page, "team-owner")

    page.get_by_role("button", name=f"Remove {email}").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"Remove {email}?")
    dialog.get_by_role("button", name="Remove member").click()
    expect(row).to_have_count(0)
    expect(page.get_by_text(f"Removed {email}.")).to_be_visible()


def test_cancelling_the_confirmation_changes_nothing(portal, page):
    _open(page, portal, "owner", "/team", "Team")
    email = _unique_email()

    _invite(page, email)
    page.get_by_role("alertdialog").get_by_role("button", name="Cancel").click()

    expect(page.get_by_role("alertdialog")).to_have_count(0)
    page.reload()
    expect(_member_row(page, OWNER_EMAIL)).to_be_visible()
    expect(_member_row(page, email)).to_have_count(0)


def test_the_last_owner_can_be_neither_removed_nor_demoted(portal, page):
    _open(page, portal, "owner", "/team", "Team")

    page.get_by_role("button", name=f"Remove {OWNER_EMAIL}").click()
    expect(page.get_by_text("is the workspace's only owner")).to_be_visible()
    expect(page.get_by_role("alertdialog")).to_have_count(0)

    page.get_by_label(f"Role of {OWNER_EMAIL}").select_option("member")
    expect(page.get_by_text("before you demote them")).to_be_visible()
    expect(page.get_by_label(f"Role of {OWNER_EMAIL}")).to_have_value("owner")


def test_inviting_someone_twice_is_refused_inline(portal, page):
    _open(page, portal, "owner", "/team", "Team")

    _invite(page, "mia@acmedental.example")

    expect(page.locator("#invite-error")).to_have_text(
        "mia@acmedental.example is already a member of this workspace."
    )
    expect(page.get_by_role("alertdialog")).to_have_count(0)


def test_a_removed_member_is_signed_out_of_their_open_tab_at_once(portal, new_page):
    owner_page, member_page = new_page(), new_page()
    workspace = signed_in_owner(owner_page, portal)
    email = signed_in_member(member_page, portal, workspace)
    member_page.goto(portal.url + "/team")
    expect(member_page.locator("#team-read-only")).to_be_visible()
    owner_page.goto(portal.url + "/team")

    owner_page.get_by_role("button", name=f"Remove {email}").click()
    owner_page.get_by_role("alertdialog").get_by_role("button", name="Remove member").click()

    expect(member_page).to_have_url(re.compile(r"/login\?.*reason=session_ended"))


def test_members_see_the_team_read_only(portal, page):
    _open(page, portal, "member", "/team", "Team")

    expect(page.locator("#team-read-only")).to_be_visible()
    expect(_member_row(page, OWNER_EMAIL)).to_contain_text("owner")
    expect(page.locator("#invite-email")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Remove "))).to_have_count(0)
    expect(page.get_by_role("combobox")).to_have_count(0)
    screenshot(page, "team-member")


def test_admins_manage_the_team_without_seeing_money(portal, page):
    _open(page, portal, "admin", "/team", "Team")
    email = _unique_email()

    expect(page.locator("#invite-role option[value=owner]")).to_have_count(0)
    expect(page.get_by_role("button", name=f"Remove {OWNER_EMAIL}")).to_have_count(0)
    _invite(page, email)
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"{email} will be invited as member")
    expect(dialog.locator("#billing-effect")).to_have_count(0)
    expect(dialog).not_to_contain_text("$")
    screenshot(page, "team-invite-confirm-admin")
    dialog.get_by_role("button", name="Send invitation").click()

    expect(_member_row(page, email)).to_contain_text("invited")


@STRIPE_SDK_WARNING
def test_on_a_subscription_the_owner_sees_the_proration_and_other_tabs_follow(portal, new_page):
    page = new_page()
    workspace = signed_in_owner(page, portal)
    subscribe(portal, workspace, plan="business")  # 1 seat: $49.00/month
    team_tab, history_tab, billing_tab = new_page(), new_page(), new_page()
    tabs = ((team_tab, "/team"), (history_tab, "/billing/history"), (billing_tab, "/billing"))
    for tab, path in (*tabs, (page, "/team")):
        tab.context.add_cookies(page.context.cookies())
        tab.goto(portal.url + path)
    expect(history_tab.locator("#activity-list")).to_contain_text("upgraded to Business")
    expect(billing_tab.locator("#recurring")).to_have_text("$49.00 / month")
    email = _unique_email()

    _invite(page, email)
    effect = page.get_by_role("alertdialog").locator("#billing-effect")
    expect(effect).to_have_text(
        re.compile(r"^\+\$\d+\.\d\d prorated on your next invoice, then \$98\.00/month$")
    )
    screenshot(page, "team-invite-confirm-subscribed")
    page.get_by_role("button", name="Send invitation").click()

    expect(_member_row(team_tab, email)).to_contain_text("invited")  # no reload
    invited = history_tab.locator("#activity-list li", has_text=f"Invited {email} as member")
    expect(invited).to_contain_text(re.compile(r"\+\$\d+\.\d\d prorated"))
    # Stripe's quantity follows by itself; the webhook's mirror update reaches the open tab.
    expect(history_tab.locator("#activity-list")).to_contain_text(
        "Subscription updated: seats 1 → 2", timeout=20_000
    )
    screenshot(history_tab, "history-subscribed-live")
    # The billing overview open in another tab shows the new totals, without a reload.
    expect(billing_tab.locator("#seats-usage")).to_contain_text("2 in use · 2 billed")
    expect(billing_tab.locator("#recurring")).to_have_text("$98.00 / month")


@STRIPE_SDK_WARNING
def test_after_an_invitation_an_included_number_previews_no_charge(portal, new_page):
    """Issue 10, bug 2, as an owner does it: Business with 3 seats and 2 numbers, invite a member
    and confirm, then add a 3rd number (included in Business): the dialog says no charge, not
    the invitation's +$49.00."""
    page = new_page()
    workspace = signed_in_owner(page, portal, members=2, numbers=2)
    subscribe(portal, workspace, plan="business")
    page.goto(portal.url + "/team")
    email = _unique_email()
    _invite(page, email)
    effect = page.get_by_role("alertdialog").locator("#billing-effect")
    expect(effect).to_have_text(re.compile(r"^\+\$49\.00 prorated on your next invoice"))
    page.get_by_role("button", name="Send invitation").click()
    expect(_member_row(page, email)).to_contain_text("invited")

    page.goto(portal.url + "/billing")  # wait until Stripe's seats follow the invitation
    expect(page.locator("#seats-usage")).to_contain_text("4 in use · 4 billed", timeout=20_000)
    page.goto(portal.url + "/numbers")
    typed, e164 = _unique_number()
    page.get_by_label("Phone number (international format)").fill(typed)
    page.get_by_role("button", name="Add number").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"Add {e164}?")
    expect(dialog.locator("#billing-effect")).to_have_text(
        "No charge: included in your plan, still $196.00/month"
    )
    screenshot(page, "numbers-included-no-charge")


# --- numbers -------------------------------------------------------------------------------------


def test_owner_adds_and_releases_a_number(portal, page):
    _open(page, portal, "owner", "/numbers", "Numbers")
    typed, e164 = _unique_number()

    page.get_by_label("Phone number (international format)").fill(typed)
    page.get_by_role("button", name="Add number").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"Add {e164}?")
    expect(dialog.locator("#billing-effect")).to_have_text("No charge during your trial.")
    dialog.get_by_role("button", name="Add number").click()

    row = page.locator(f'#number-table tr[data-e164="{e164}"]')
    expect(row).to_be_visible()
    expect(page.get_by_text(f"Added phone number {e164}.")).to_be_visible()
    screenshot(page, "numbers-owner")

    row.get_by_role("button", name=f"Release {e164}").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Release number").click()
    expect(row).to_have_count(0)


def test_a_malformed_number_is_refused_inline(portal, page):
    _open(page, portal, "owner", "/numbers", "Numbers")

    page.get_by_label("Phone number (international format)").fill("555-0100")
    page.get_by_role("button", name="Add number").click()

    expect(page.locator("#number-error")).to_contain_text(
        "is not a phone number in international format"
    )
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    screenshot(page, "numbers-invalid")


def test_a_number_in_use_is_refused_inline(portal, page):
    typed, e164 = _unique_number()
    add_demo_number(portal, e164)
    _open(page, portal, "admin", "/numbers", "Numbers")

    page.get_by_label("Phone number (international format)").fill(typed)
    page.get_by_role("button", name="Add number").click()

    expect(page.locator("#number-error")).to_have_text(f"{e164} is already in use")
    expect(page.get_by_role("alertdialog")).to_have_count(0)


def test_members_see_numbers_read_only(portal, page):
    _typed, e164 = _unique_number()
    add_demo_number(portal, e164)
    _open(page, portal, "member", "/numbers", "Numbers")

    expect(page.locator("#numbers-read-only")).to_be_visible()
    expect(page.locator(f'#number-table tr[data-e164="{e164}"]')).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Release "))).to_have_count(0)
    expect(page.locator("#number-input")).to_have_count(0)


# --- small screens -------------------------------------------------------------------------------


def test_team_and_numbers_fit_a_phone_screen(portal, new_page):
    page = new_page(375, 740)
    _open(page, portal, "owner", "/team", "Team")
    expect(_member_row(page, OWNER_EMAIL)).to_be_visible()
    _no_horizontal_scroll(page)
    screenshot(page, "team-owner-375")

    page.goto(portal.url + "/numbers")
    expect(page.locator("#number-table")).to_be_visible()
    _no_horizontal_scroll(page)
    screenshot(page, "numbers-owner-375")


def test_a_large_team_and_its_numbers_show_a_page_at_a_time(portal, page):
    """55 invited members and 55 numbers: the pages show the first 50 rows (owner first), "Show
    more" brings the rest, and then the button goes (issue 13: flat with the data)."""
    signed_in_owner(page, portal, members=55, numbers=55)
    page.goto(portal.url + "/team")
    expect(page.get_by_role("heading", name="Team", level=1)).to_be_visible()
    rows = page.locator("#member-table tbody tr")
    expect(rows).to_have_count(50, timeout=20_000)
    page.locator("#members-more").click()
    expect(rows).to_have_count(56)  # the owner and 55 invitations
    expect(page.locator("#members-more")).to_have_count(0)

    page.goto(portal.url + "/numbers")
    expect(page.get_by_role("heading", name="Numbers", level=1)).to_be_visible()
    numbers = page.locator("#number-table tbody tr")
    expect(numbers).to_have_count(50, timeout=20_000)
    page.locator("#numbers-more").click()
    expect(numbers).to_have_count(55)
    expect(page.locator("#numbers-more")).to_have_count(0)
