"""First-load weight of the portal's pages, page-to-page navigation of a signed-in owner, and
click → updated line items, in real Chromium, beside a bare Reflex app in the same run.

Starts the portal (demo mode, production build) like the e2e tests, and the bare Reflex app of
tests/benchmarks/bare_reflex.py (same Reflex, same Radix theme, nothing of the portal). Prints:

- each page's first load in a fresh browser context (empty cache): the JavaScript it downloads,
  decoded and on the wire;
- navigation: a signed-in owner clicks through the sidebar (Billing → Team → Numbers → Invoices
  → History → Billing ...), timed from the click until the new page's heading is shown and no
  skeleton is left (its data arrived); the bare app: its two pages' links, until the heading
  set by the new page's on_load shows;
- click → updated line items: Monthly/Yearly on /pricing until the new subtotal is on screen,
  on both;
- the ratios portal / bare (issue 13's targets: navigation p50 ≤ 300 ms, click ≤ 1.5× bare).

    .venv/bin/python tests/benchmarks/bench_page_weight.py [--rounds 20] [--no-bare]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playwright.sync_api import Page, expect

from clerk_portal.core import routes
from tests.support.browser import chromium
from tests.support.portal import start_portal

NAVIGATION = [(label, href) for label, href in routes.NAVIGATION]
TITLES = {
    routes.BILLING: "Billing",
    routes.TEAM: "Team",
    routes.NUMBERS: "Numbers",
    routes.INVOICES: "Invoices",
    routes.HISTORY: "Billing history",
}


def page_weight(browser, url: str) -> tuple[int, int, int]:
    context = browser.new_context()
    page = context.new_page()
    scripts: list = []
    page.on(
        "response", lambda r: scripts.append(r) if r.request.resource_type == "script" else None
    )
    page.goto(url, wait_until="networkidle")
    decoded = sum(len(r.body()) for r in scripts)
    wire = sum(int(r.headers.get("content-length") or len(r.body())) for r in scripts)
    context.close()
    return len(scripts), decoded, wire


def click_latency(page: Page, url: str, rounds: int) -> list[float]:
    page.goto(url + "/pricing")
    subtotal = page.locator("#subtotal")
    expect(subtotal).to_have_text("$147.00 / month")
    timings = []
    for index in range(rounds):
        interval, text = (
            ("year", "$1,470.00 / year") if index % 2 == 0 else ("month", "$147.00 / month")
        )
        started = time.perf_counter()
        page.locator(f"#interval-{interval}").click()
        expect(subtotal).to_have_text(text)
        timings.append(1000 * (time.perf_counter() - started))
    return timings


def portal_navigation(page: Page, url: str, rounds: int) -> list[float]:
    page.goto(url + routes.BILLING)
    expect(page.locator("h1").first).to_have_text("Billing")
    expect(page.locator('[aria-busy="true"]')).to_have_count(0)
    timings = []
    order = NAVIGATION[1:] + NAVIGATION[:1]
    for index in range(rounds):
        label, href = order[index % len(order)]
        started = time.perf_counter()
        page.locator("#sidebar nav").get_by_role("link", name=label, exact=True).click()
        expect(page.locator("h1").first).to_have_text(TITLES[href])
        expect(page.locator('[aria-busy="true"]')).to_have_count(0)
        timings.append(1000 * (time.perf_counter() - started))
    return timings


def bare_navigation(page: Page, url: str, rounds: int) -> list[float]:
    page.goto(url + "/pricing")
    expect(page.locator("h1")).to_have_text("Pricing")
    timings = []
    for index in range(rounds):
        label = "Other" if index % 2 == 0 else "Pricing"
        started = time.perf_counter()
        page.get_by_role("link", name=label, exact=True).click()
        expect(page.locator("h1")).to_have_text(label)
        timings.append(1000 * (time.perf_counter() - started))
    return timings


def summary(timings: list[float]) -> tuple[float, float, float]:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95, ordered[-1]


def show(what: str, timings: list[float]) -> None:
    p50, p95, top = summary(timings)
    print(f"  {what:34} p50 {p50:6.0f} ms  p95 {p95:6.0f} ms  max {top:6.0f} ms ({len(timings)})")


def owner_cookie(portal) -> dict:
    from clerk_portal.auth import sessions
    from tests.support.workspaces import new_session_token, new_workspace

    workspace = new_workspace(portal, name="Bench Dental", members=3, numbers=2)
    token = new_session_token(portal, workspace.owner_user_id, workspace.id)
    return {"name": sessions.SESSION_COOKIE, "value": token, "url": portal.url}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="clicks and navigations timed")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare Reflex app")
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        portal = start_portal(database_url=f"sqlite:///{data / 'p.db'}", log_path=data / "log")
        try:
            with chromium() as browser:
                print("portal")
                for path in ("/login", "/pricing"):
                    count, decoded, wire = page_weight(browser, portal.url + path)
                    print(
                        f"  {path:10} first load: {count} scripts, {decoded / 1024:.0f} KiB "
                        f"decoded, {wire / 1024:.0f} KiB on the wire"
                    )
                context = browser.new_context()
                context.add_cookies([owner_cookie(portal)])
                page = context.new_page()
                results["portal"] = {
                    "navigation": portal_navigation(page, portal.url, args.rounds),
                    "click": click_latency(page, portal.url, args.rounds),
                }
                context.close()
        finally:
            portal.stop()
        for what, timings in results["portal"].items():
            show(f"{what} (signed-in owner)" if what == "navigation" else what, timings)
        if args.no_bare:
            return
        from tests.benchmarks.bare_reflex import bare_reflex_app

        with bare_reflex_app(data / "bare-app") as bare_url, chromium() as browser:
            print("bare Reflex app (same Reflex, same Radix theme)")
            count, decoded, wire = page_weight(browser, bare_url + "/pricing")
            print(
                f"  {'/pricing':10} first load: {count} scripts, {decoded / 1024:.0f} KiB "
                f"decoded, {wire / 1024:.0f} KiB on the wire"
            )
            page = browser.new_page()
            results["bare"] = {
                "navigation": bare_navigation(page, bare_url, args.rounds),
                "click": click_latency(page, bare_url, args.rounds),
            }
        for what, timings in results["bare"].items():
            show(what, timings)
    print("portal / bare")
    for what in ("navigation", "click"):
        mine, bare = summary(results["portal"][what]), summary(results["bare"][what])
        print(f"  {what:34} p50 {mine[0] / bare[0]:5.1f}x  p95 {mine[1] / bare[1]:5.1f}x")


if __name__ == "__main__":
    main()
