"""Every screen through axe-core (the npm package, injected into the page), signed out and as
owner, admin and member, in light and dark: no serious or critical violation. Each screen is also
saved at 1280 and 375 px in both colour schemes (var/test-artifacts/screens/, for a person to look
at; `make test` keeps them).

Issue 16: axe found colour-contrast violations on /pricing, /billing/upgrade and /team, then
moderate ones: /login had no main landmark (its content outside every landmark) and /pricing
skipped from h1 to the plan cards' h3. Moderate findings now fail the test too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from clerk_portal.core import routes
from tests.support.browser import ARTIFACTS
from tests.support.workspaces import (
    new_workspace,
    seed_invoices,
    sign_in_owner_again,
    signed_in_member,
)

AXE = Path(__file__).resolve().parents[2] / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
LAPTOP, PHONE = (1280, 800), (375, 740)
IMPACTS = ("critical", "serious", "moderate", "minor")
FAILING_IMPACTS = {"serious", "critical", "moderate"}
OUTSIDE_THE_SHELL = {routes.LOGIN, routes.PRICING}  # public pages: no role shown
SCREENS = {
    "signed-out": [routes.LOGIN, routes.PRICING],
    "owner": [
        routes.BILLING,
        routes.UPGRADE,
        routes.INVOICES,
        routes.HISTORY,
        routes.TEAM,
        routes.NUMBERS,
        routes.PRICING,
        routes.DEMO,
    ],
    "admin": [routes.TEAM, routes.NUMBERS, routes.BILLING],
    "member": [routes.BILLING, routes.TEAM, routes.NUMBERS],
}

# axe's own rules at WCAG 2.1 AA and its best practices; the result keeps what a test reports.
_RUN_AXE = """
async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " :: " + n.failureSummary),
  }));
}
"""


def violations(page: Page) -> list[dict]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # evaluated by the DevTools protocol: the CSP allows it
    return page.evaluate(_RUN_AXE)


def _shown(page: Page, portal, path: str, role: str) -> None:
    page.goto(portal.url + path)
    expect(page.locator("h1").first).to_be_visible()
    if role != "signed-out" and path not in OUTSIDE_THE_SHELL:
        expect(page.locator("#user-role")).to_have_text(role)


def _screenshots(page: Page, role: str, path: str, scheme: str) -> None:
    folder = ARTIFACTS / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    name = (path.strip("/").replace("/", "-") or "home") + f"-{role}-{scheme}"
    for label, (width, height) in (("1280", LAPTOP), ("375", PHONE)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": LAPTOP[0], "height": LAPTOP[1]})


def _signed_in(page: Page, portal, role: str) -> None:
    if role == "signed-out":
        return
    workspace = new_workspace(portal, name="Axe Dental", members=2, numbers=2)
    seed_invoices(portal, workspace, months=3, now=datetime.now(UTC))
    if role == "owner":
        sign_in_owner_again(page, portal, workspace)
    else:
        signed_in_member(page, portal, workspace, role=role)


@pytest.mark.parametrize("role", list(SCREENS))
def test_no_serious_accessibility_violation_on_any_screen(new_page, portal, role):
    assert AXE.exists(), f"{AXE} is missing: `make setup-test` installs axe-core"
    page = new_page(*LAPTOP)
    _signed_in(page, portal, role)
    found: dict[str, list[dict]] = {}
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for path in SCREENS[role]:
            _shown(page, portal, path, role)
            listed = violations(page)
            counts = {i: sum(v["impact"] == i for v in listed) for i in IMPACTS}
            print(
                f"axe {role:10} {path:18} {scheme:5}",
                " ".join(f"{i} {n}" for i, n in counts.items()),
            )
            serious = [v for v in listed if v["impact"] in FAILING_IMPACTS]
            if serious:
                found[f"{path} ({scheme})"] = serious
            _screenshots(page, role, path, scheme)
    report = "\n".join(
        f"{where}: [{v['impact']}] {v['id']}: {v['help']}\n    " + "\n    ".join(v["targets"])
        for where, listed in found.items()
        for v in listed
    )
    assert not found, f"axe-core, as {role}:\n{report}"
