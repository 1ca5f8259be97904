"""Hosted invoice pages and invoice PDFs, the targets of ``hosted_invoice_url``/``invoice_pdf``."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .pdf import COMPANY, SELLER, bill_to, invoice_pdf
from .render import render
from .resources import coupons
from .util import fmt_date, fmt_money


def _invoice(request: Request) -> dict | None:
    """The rendered invoice, its discounts as ``_discount_rows`` (label, amount)."""
    sandbox = request.app.state.sandbox
    record = sandbox.store.get(request.path_params["invoice_id"])
    if not record or record.get("object") != "invoice" or record["status"] == "draft":
        return None
    ctx = sandbox.context(request)
    invoice = render(ctx, record)
    invoice["_discount_rows"] = coupons.discount_rows(ctx, invoice)
    invoice["_paid_with"] = _paid_with(sandbox.store, record)
    return invoice


def _paid_with(store, record: dict) -> str:
    """ "Paid with Visa ending in 4242" for a paid invoice, from its PaymentIntent's card."""
    pi = store.get(record.get("_pi")) if record.get("_pi") else None
    if record["status"] != "paid" or not pi or not pi.get("payment_method"):
        return ""
    pm = store.get(pi["payment_method"])
    card = (pm or {}).get("card") or {}
    if not card:
        return ""
    return f"Paid with {str(card.get('brand', 'card')).title()} ending in {card.get('last4', '')}"


def _missing() -> Response:
    body = {"error": {"type": "invalid_request_error", "message": "No such invoice"}}
    return JSONResponse(body, 404)


async def hosted_invoice(request: Request) -> Response:
    invoice = _invoice(request)
    if invoice is None:
        return _missing()
    currency = invoice["currency"]
    rows = "".join(
        f"<tr><td>{html.escape(line['description'] or '')}</td>"
        f"<td style='text-align:right'>{fmt_money(line['amount'], currency)}</td></tr>"
        for line in invoice["lines"]["data"]
    )
    if invoice["_discount_rows"]:
        rows += (
            "<tr><td>Subtotal</td>"
            f"<td style='text-align:right'>{fmt_money(invoice['subtotal'], currency)}</td></tr>"
        )
    rows += "".join(
        f"<tr><td>{html.escape(label)}</td>"
        f"<td style='text-align:right'>{fmt_money(-amount, currency)}</td></tr>"
        for label, amount in invoice["_discount_rows"]
    )
    number = html.escape(invoice["number"] or invoice["id"])
    bill = "<br>".join(html.escape(line) for line in bill_to(invoice))
    seller = "<br>".join(html.escape(line) for line in SELLER)
    fields = "".join(
        f"<p>{html.escape(f['name'])}: <strong>{html.escape(f['value'])}</strong></p>"
        for f in invoice.get("custom_fields") or []
    )
    after = ""
    if invoice["_paid_with"]:
        after += f"<p>{html.escape(invoice['_paid_with'])}</p>"
    if invoice.get("footer"):
        after += f"<footer><p>{html.escape(invoice['footer'])}</p></footer>"
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Invoice {number} - {COMPANY}</title></head>
<body style="font-family:sans-serif;max-width:40rem;margin:2rem auto">
<h1>{COMPANY}</h1><h2>Invoice {number}</h2>
<p>Status: <strong>{html.escape(invoice["status"])}</strong> &middot;
Issued {fmt_date(invoice["created"])}</p>
<div style="display:flex;gap:2rem"><section><h3>From</h3><p>{seller}</p></section>
<section><h3>Bill to</h3><p id="bill-to">{bill}</p></section></div>{fields}
<table style="width:100%;border-collapse:collapse">{rows}
<tr><th style="text-align:left">Total</th>
<th style="text-align:right">{fmt_money(invoice["total"], currency)}</th></tr>
<tr><td>Amount due</td><td style="text-align:right">
{fmt_money(invoice["amount_remaining"], currency)}</td></tr></table>
{after}<p><a href="{html.escape(invoice["invoice_pdf"] or "")}">Download PDF</a></p>
</body></html>"""
    return HTMLResponse(page)


async def pdf(request: Request) -> Response:
    invoice = _invoice(request)
    if invoice is None:
        return _missing()
    filename = f"Invoice-{invoice['number'] or invoice['id']}.pdf"
    return Response(
        invoice_pdf(invoice),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


def routes() -> list[Route]:
    return [
        Route("/invoices/{invoice_id}", hosted_invoice, methods=["GET"]),
        Route("/invoices/{invoice_id}/pdf", pdf, methods=["GET"]),
    ]
