"""GET /quotes/{token}/pdf: a quote's PDF from the portal's own origin (the share link's
"Download PDF"; a browser ignores `download` on another origin's link).

Public like the share link itself: the unguessable token is the key, and it gives only that
quote's PDF. An unknown token is a 404 before Stripe is asked."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from clerk_portal.billing.services import quotes
from clerk_portal.core import routes
from clerk_portal.core.errors import DomainError, NotFound

MAX_TOKEN_LENGTH = 80


async def quote_pdf(request: Request) -> Response:
    token = str(request.path_params["token"])[:MAX_TOKEN_LENGTH]
    try:
        filename, pdf = await quotes.quote_pdf(token)
    except NotFound as error:
        return PlainTextResponse(error.message, status_code=404)
    except DomainError as error:
        return PlainTextResponse(error.message, status_code=503)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


def quote_pdf_routes() -> list[Route]:
    return [Route(routes.QUOTE_PDF, quote_pdf, methods=["GET"])]
