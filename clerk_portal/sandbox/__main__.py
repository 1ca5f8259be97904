"""``python -m clerk_portal.sandbox --host 127.0.0.1 --port 12111 [--data FILE]
[--webhook-url URL] [--allow-origin http://localhost:3000 ...]``

Secrets come from the environment, never the command line (which every local user can read):
``SANDBOX_SECRET_KEYS`` (required) and ``SANDBOX_PUBLISHABLE_KEYS``, comma-separated, are the only
API keys accepted; ``SANDBOX_WEBHOOK_SECRET`` (the ``whsec_...`` secret) signs webhooks."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import uvicorn

from .app import Config, create_app

SECRET_KEYS_ENV = "SANDBOX_SECRET_KEYS"  # noqa: S105 - the variable's name
PUBLISHABLE_KEYS_ENV = "SANDBOX_PUBLISHABLE_KEYS"
WEBHOOK_SECRET_ENV = "SANDBOX_WEBHOOK_SECRET"  # noqa: S105 - the variable's name


def _keys(name: str) -> frozenset[str]:
    return frozenset(key.strip() for key in os.environ.get(name, "").split(",") if key.strip())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m clerk_portal.sandbox",
        description="A local Stripe-compatible API for demos and tests.",
        epilog=f"Environment: {SECRET_KEYS_ENV} (required), {PUBLISHABLE_KEYS_ENV}, "
        f"{WEBHOOK_SECRET_ENV} (with --webhook-url).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--data", type=Path, help="JSON file that keeps state across restarts")
    parser.add_argument("--webhook-url", help="where every event is POSTed")
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        help="an origin of the portal: the only ones Stripe.js may call from (repeatable)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        help="a Host name accepted besides IP addresses and localhost (repeatable)",
    )
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    secret_keys, publishable_keys = _keys(SECRET_KEYS_ENV), _keys(PUBLISHABLE_KEYS_ENV)
    if not secret_keys:
        parser.error(f"set {SECRET_KEYS_ENV} to the secret key(s) to accept (sk_test_...)")
    webhook_secret = os.environ.get(WEBHOOK_SECRET_ENV) or None
    if args.webhook_url and not webhook_secret:
        parser.error(f"--webhook-url needs {WEBHOOK_SECRET_ENV} in the environment")
    logging.basicConfig(level=args.log_level.upper())
    config = Config(
        host=args.host,
        port=args.port,
        data=args.data,
        webhook_url=args.webhook_url,
        webhook_secret=webhook_secret,
        secret_keys=secret_keys,
        publishable_keys=publishable_keys,
        allowed_origins=tuple(args.allow_origin),
        allowed_hosts=tuple(args.allow_host),
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
