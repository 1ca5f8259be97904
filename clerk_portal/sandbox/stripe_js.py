"""Serves the Stripe.js stand-in (``static/v3.js``) at /v3."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SCRIPT = Path(__file__).with_name("static") / "v3.js"


@lru_cache(maxsize=1)
def _script() -> bytes:
    return SCRIPT.read_bytes()


async def stripe_js(request: Request) -> Response:
    return Response(
        _script(),
        media_type="application/javascript",
        headers={"Cache-Control": "no-cache"},
    )


def routes() -> list[Route]:
    return [Route("/v3", stripe_js, methods=["GET"]), Route("/v3/", stripe_js, methods=["GET"])]
