"""First-load weight of the portal's pages, and click → updated line items, in real Chromium.

Starts the portal (demo mode, production build) like the e2e tests, loads each page in a fresh
browser context (empty cache) and prints the JavaScript it downloads: decoded bytes and bytes on
the wire. Then times clicks on the pricing calculator until the new subtotal is on screen.

    .venv/bin/python tests/benchmarks/bench_page_weight.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playwright.sync_api import expect

from tests.support.browser import chromium
from tests.support.portal import start_portal


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


def click_latency(browser, url: str, rounds: int = 20) -> list[float]:
    page = browser.new_page()
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
    page.close()
    return timings


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        portal = start_portal(database_url=f"sqlite:///{data / 'p.db'}", log_path=data / "log")
        try:
            with chromium() as browser:
                for path in ("/login", "/pricing"):
                    count, decoded, wire = page_weight(browser, portal.url + path)
                    print(
                        f"{path:10} first load: {count} scripts, {decoded / 1024:.0f} KiB "
                        f"decoded, {wire / 1024:.0f} KiB on the wire"
                    )
                timings = click_latency(browser, portal.url)
                print(
                    f"click → updated line items: median {statistics.median(timings):.0f} ms, "
                    f"p95 {sorted(timings)[int(0.95 * len(timings)) - 1]:.0f} ms, "
                    f"max {max(timings):.0f} ms ({len(timings)} clicks)"
                )
        finally:
            portal.stop()


if __name__ == "__main__":
    main()
