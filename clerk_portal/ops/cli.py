"""Command line: `python -m clerk_portal COMMAND` (make run and make dev call `run`)."""

from __future__ import annotations

import argparse
import logging
import sys

from clerk_portal.core.settings import SettingsError, get_settings


def _run(args: argparse.Namespace) -> int:
    from clerk_portal.ops.runner import run_portal

    return run_portal(dev=args.dev)


def _migrate(_args: argparse.Namespace) -> int:
    from clerk_portal.ops import migrations

    migrations.upgrade()
    return 0


def _sync_catalog(args: argparse.Namespace) -> int:
    from clerk_portal.billing import catalog_sync

    return catalog_sync.run(args.catalog)


def _seed_demo(_args: argparse.Namespace) -> int:
    from clerk_portal.core.db import session_scope
    from clerk_portal.demo.seed import seed_demo

    with session_scope() as session:
        workspace = seed_demo(session)
    print(f"demo workspace {workspace.name!r} (id {workspace.id}) is ready")
    return 0


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from clerk_portal.billing.errors import BillingError
    from clerk_portal.billing.gateway import StripeGateway
    from clerk_portal.demo import scenarios

    async def main() -> scenarios.Outcome:
        async with StripeGateway.from_settings() as gateway:
            return await scenarios.run_scenario(args.scenario, gateway=gateway)

    try:
        outcome = asyncio.run(main())
    except BillingError as error:
        print(f"demo {args.scenario}: {error.message}", file=sys.stderr)
        return 1
    print(f"demo {args.scenario}: {outcome.message} ({outcome.seconds:.2f} s)")
    return 0


def _quote(args: argparse.Namespace) -> int:
    """`quote create ...`: the share link on stdout (for scripts and the CRM), or why not."""
    import asyncio
    from datetime import timedelta

    from clerk_portal.billing.gateway import StripeGateway
    from clerk_portal.billing.services import quotes
    from clerk_portal.core import routes
    from clerk_portal.core.errors import DomainError
    from clerk_portal.models import utcnow

    expires = args.expires or (utcnow().date() + timedelta(days=30)).isoformat()
    form: dict[str, object] = {
        "plan": args.plan,
        "interval": args.interval,
        "seats": args.seats,
        "numbers": args.numbers,
        "company": args.prospect,
        "email": args.email,
        "note": args.note or "",
        "discount": args.discount or "",
        "discount_duration": args.discount_duration,
        "discount_months": args.discount_months or "",
        "expires": expires,
    }

    async def main() -> quotes.QuoteView:
        request = quotes.read_request(form)
        async with StripeGateway.from_settings() as gateway:
            return await quotes.create_quote(request, actor_user_id=None, gateway=gateway)

    try:
        view = asyncio.run(main())
    except DomainError as error:
        print(f"quote create: {error.message}", file=sys.stderr)
        return 1
    print(get_settings().portal_url + routes.quote_path(view.token))
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    from clerk_portal.billing import reconcile

    return reconcile.run(fix=args.fix)


def _webhooks(args: argparse.Namespace) -> int:
    from clerk_portal.billing.webhooks import admin as webhook_admin

    if args.action == "replay":
        return webhook_admin.run_replay(args.event_ids, replay_all=args.all)
    return webhook_admin.show(dead_only=args.action == "dead")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m clerk_portal", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="migrate, then serve the portal (make run)")
    run.add_argument("--dev", action="store_true", help="hot reload (Reflex development mode)")
    run.set_defaults(handler=_run)

    migrate = commands.add_parser("migrate", help="upgrade the database to the newest schema")
    migrate.set_defaults(handler=_migrate)

    seed = commands.add_parser("seed-demo", help="create the demo workspace (once)")
    seed.set_defaults(handler=_seed_demo)

    demo = commands.add_parser(
        "demo", help="demo mode only: reset Acme Dental or put it in a scenario's state"
    )
    from clerk_portal.demo.scenarios import CLI_SCENARIOS

    demo.add_argument("scenario", choices=CLI_SCENARIOS, help="reset, or a scenario to start")
    demo.set_defaults(handler=_demo)

    sync = commands.add_parser(
        "sync-catalog", help="create or update the Stripe products and prices of the catalog"
    )
    sync.add_argument(
        "--catalog", help="a catalog file (default: clerk_portal/billing/catalog.toml)"
    )
    sync.set_defaults(handler=_sync_catalog)

    quote = commands.add_parser("quote", help="sales quotes: create one, print its share link")
    quote_actions = quote.add_subparsers(dest="action", required=True)
    create = quote_actions.add_parser("create", help="quote a prospect; prints the share link")
    create.add_argument("--plan", required=True, help="startup or business")
    create.add_argument("--interval", required=True, choices=("month", "year"))
    create.add_argument("--seats", required=True)
    create.add_argument("--numbers", required=True, help="phone numbers (included ones count)")
    create.add_argument("--prospect", required=True, help="the prospect's company")
    create.add_argument("--email", required=True, help="the prospect's email")
    create.add_argument("--discount", help='"20%%" or "$50" off (a Stripe coupon of its own)')
    create.add_argument(
        "--discount-duration", default="once", choices=("once", "repeating", "forever")
    )
    create.add_argument("--discount-months", help="how long a repeating discount lasts")
    create.add_argument("--expires", help="valid until YYYY-MM-DD (default: in 30 days)")
    create.add_argument("--note", help="a note printed on the quote")
    quote.set_defaults(handler=_quote)

    reconcile = commands.add_parser(
        "reconcile",
        help="compare members and numbers, Stripe's quantities and the mirror; report drift",
    )
    reconcile.add_argument("--fix", action="store_true", help="correct the drift (idempotent)")
    reconcile.set_defaults(handler=_reconcile)

    hooks = commands.add_parser(
        "webhooks", help="the webhook inbox: list events not applied, replay dead ones"
    )
    actions = hooks.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every event not applied yet: pending, failing, dead")
    actions.add_parser("dead", help="the dead letters only (never retried on their own)")
    replay = actions.add_parser("replay", help="apply dead events again now (after a fix)")
    replay.add_argument("event_ids", nargs="*", metavar="EVENT_ID", help="evt_… ids")
    replay.add_argument("--all", action="store_true", help="every dead event")
    hooks.set_defaults(handler=_webhooks)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        get_settings()
    except SettingsError as error:
        print(f"clerk_portal will not start: {error}", file=sys.stderr)
        return 2
    return args.handler(args)
