"""GET /invoices/{stripe_invoice_id}/pdf: an invoice's PDF from the portal's own origin, so the
page's `download` link works (a browser ignores `download` on another origin's link).

Only an owner of the signed-in session's workspace gets it, and only for that workspace's
invoices; anything else is refused before Stripe is asked."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from clerk_portal.auth.principals import principal_for_token
from clerk_portal.auth.sessions import SESSION_COOKIE
from clerk_portal.billing import services
from clerk_portal.core import routes
from clerk_portal.core.errors import NotFound

MAX_ID_LENGTH = 255
# Who may call it, declared on the endpoint as ui.guard declares a handler's (the access tests
# discover it and send it every kind of person; web/ does not import ui/).
OWNERS = frozenset({"owner"})


async def invoice_pdf(request: Request) -> Response:
    # A read: it writes nothing, refused or not (so a stale session is not ended here either;
    # the next page the person opens does that).
    who = await asyncio.to_thread(
        principal_for_token, token=request.cookies.get(SESSION_COOKIE), touch=False
    )
    if who is None:
        return PlainTextResponse("Sign in to download invoices.", status_code=401)
    if who.role not in OWNERS:
        return PlainTextResponse("Only workspace owners can download invoices.", status_code=403)
    invoice_id = str(request.path_params["invoice_id"])[:MAX_ID_LENGTH]
    try:
        pdf = await services.open_invoice_pdf(
            workspace_id=who.workspace_id, stripe_invoice_id=invoice_id
        )
    except NotFound as error:
        return PlainTextResponse(error.message, status_code=404)
    return StreamingResponse(
        pdf.chunks,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{pdf.filename}"',
            "Cache-Control": "private, no-store",
        },
    )


invoice_pdf.__guard_roles__ = OWNERS  # type: ignore[attr-defined]


def invoice_pdf_routes() -> list[Route]:
    return [Route(routes.INVOICE_PDF, invoice_pdf, methods=["GET"])]
