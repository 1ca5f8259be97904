"""``python -m clerk_portal.sandbox --host 127.0.0.1 --port 12111 [--data FILE]
[--webhook-url URL --webhook-secret whsec_...]``"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import uvicorn

from .app import Config, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m clerk_portal.sandbox",
        description="A local Stripe-compatible API for demos and tests.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--data", type=Path, help="JSON file that keeps state across restarts")
    parser.add_argument("--webhook-url", help="where every event is POSTed")
    parser.add_argument("--webhook-secret", help="the whsec_... secret that signs webhooks")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    if args.webhook_url and not args.webhook_secret:
        parser.error("--webhook-url needs --webhook-secret")
    logging.basicConfig(level=args.log_level.upper())
    config = Config(
        host=args.host,
        port=args.port,
        data=args.data,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
    )
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=3,
    )


if __name__ == "__main__":
    main()
