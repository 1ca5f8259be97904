"""Invoice and quote PDFs (fpdf2): company, number, dates, lines, totals."""

from __future__ import annotations

from typing import Any

from fpdf import FPDF

from .util import fmt_date, fmt_money

COMPANY = "Clerk Chat"
SELLER = ("Clerk Chat, Inc.", "548 Market St", "San Francisco, CA 94104", "United States")
TAX_ID_LABELS = {
    "eu_vat": "EU VAT",
    "gb_vat": "GB VAT",
    "us_ein": "US EIN",
    "au_abn": "AU ABN",
    "ca_bn": "CA BN",
    "ch_vat": "CH VAT",
    "no_vat": "NO VAT",
    "nz_gst": "NZ GST",
    "in_gst": "IN GST",
    "jp_cn": "JP CN",
    "sg_uen": "SG UEN",
}


def bill_to(invoice: dict[str, Any]) -> list[str]:
    """The customer block: name, address, email, tax ids (the invoice's own copy)."""
    lines = [invoice["customer_name"] or invoice["customer_email"] or invoice["customer"]]
    address = invoice.get("customer_address") or {}
    lines += [address[k] for k in ("line1", "line2") if address.get(k)]
    place = " ".join(
        part
        for part in (address.get("city"), address.get("state"), address.get("postal_code"))
        if part
    )
    lines += [text for text in (place, address.get("country")) if text]
    if invoice["customer_email"] and invoice["customer_email"] != lines[0]:
        lines.append(invoice["customer_email"])
    for tax_id in invoice.get("customer_tax_ids") or []:
        label = TAX_ID_LABELS.get(tax_id["type"], tax_id["type"])
        lines.append(f"{label} {tax_id['value']}")
    return lines


def _latin1(text: Any) -> str:
    return str(text).encode("latin-1", "replace").decode("latin-1")


def invoice_pdf(invoice: dict[str, Any]) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"Invoice {invoice['number'] or invoice['id']}"))
    pdf.set_author(COMPANY)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    currency = invoice["currency"]

    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(width / 2, 10, "Invoice")
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(width / 2, 10, COMPANY, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 10)
    facts = [
        ("Invoice number", invoice["number"] or "(draft)"),
        ("Date of issue", fmt_date(invoice["created"])),
        ("Status", invoice["status"]),
    ]
    if invoice["status_transitions"].get("paid_at"):
        facts.append(("Date paid", fmt_date(invoice["status_transitions"]["paid_at"])))
    for label, value in facts:
        pdf.cell(40, 6, _latin1(label))
        pdf.cell(width - 40, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    # the seller and the customer side by side, as Stripe's invoice PDF prints them
    top = pdf.get_y()
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(width / 2, 6, COMPANY, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for line in SELLER:
        pdf.cell(width / 2, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    seller_end = pdf.get_y()
    pdf.set_xy(pdf.l_margin + width / 2, top)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(width / 2, 6, "Bill to", new_x="LEFT", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for line in bill_to(invoice):
        pdf.multi_cell(width / 2, 5, _latin1(line), new_x="LEFT", new_y="NEXT")
    pdf.set_xy(pdf.l_margin, max(seller_end, pdf.get_y()))
    fields = invoice.get("custom_fields") or []
    if fields:
        pdf.ln(3)
        for field in fields:
            pdf.cell(40, 6, _latin1(field["name"]))
            pdf.cell(width - 40, 6, _latin1(field["value"]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)

    pdf.set_font("Helvetica", "B", 10)
    columns = (width * 0.55, width * 0.1, width * 0.15, width * 0.2)
    for text, w, align in zip(
        ("Description", "Qty", "Period", "Amount"), columns, "LRRR", strict=True
    ):
        pdf.cell(w, 8, text, border="B", align=align)
    pdf.ln(8)
    pdf.set_font("Helvetica", "", 9)
    for line in invoice["lines"]["data"]:
        period = line["period"]
        span = f"{fmt_date(period['start'])} - {fmt_date(period['end'])}"
        top = pdf.get_y()
        # a long description wraps within its column (it used to be cut at 70 characters)
        pdf.multi_cell(
            columns[0], 5, _latin1(line["description"] or ""), new_x="RIGHT", new_y="TOP"
        )
        bottom = max(pdf.get_y(), top + 5)
        pdf.set_y(top)
        pdf.set_x(pdf.l_margin + columns[0])
        pdf.cell(columns[1], 5, str(line["quantity"] or ""), align="R")
        pdf.set_font("Helvetica", "", 7)
        pdf.cell(columns[2], 5, _latin1(span), align="R")
        pdf.set_font("Helvetica", "", 9)
        pdf.cell(columns[3], 5, fmt_money(line["amount"], currency), align="R")
        pdf.set_y(max(bottom, top + 5) + 2)
    pdf.ln(4)

    totals = [("Subtotal", invoice["subtotal"])]
    totals += [(label, -amount) for label, amount in invoice.get("_discount_rows", [])]
    totals.append(("Total", invoice["total"]))
    if invoice["starting_balance"]:
        totals.append(("Applied balance", invoice["amount_due"] - invoice["total"]))
    totals += [("Amount paid", invoice["amount_paid"]), ("Amount due", invoice["amount_remaining"])]
    for label, amount in totals:
        pdf.set_font("Helvetica", "B" if label == "Amount due" else "", 10)
        pdf.cell(width * 0.8, 7, _latin1(label), align="R")
        pdf.cell(
            width * 0.2, 7, fmt_money(amount, currency), align="R", new_x="LMARGIN", new_y="NEXT"
        )
    if invoice.get("_paid_with"):
        pdf.ln(2)
        pdf.set_font("Helvetica", "", 9)
        pdf.cell(width, 6, _latin1(invoice["_paid_with"]), new_x="LMARGIN", new_y="NEXT")
    if invoice.get("footer"):
        pdf.ln(4)
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(width, 5, _latin1(invoice["footer"]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font("Helvetica", "I", 8)
    pdf.cell(width, 5, f"{COMPANY} - generated by the Stripe sandbox (test mode)", align="C")
    return bytes(pdf.output())


def quote_pdf(
    quote: dict[str, Any],
    lines: list[dict[str, Any]],
    customer: dict[str, Any],
    discounts: list[tuple[str, int, str]] | None = None,
) -> bytes:
    """A quote a buyer forwards to finance: who, the number, validity, lines, discounts, totals
    (the first invoice, then each period)."""
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"Quote {quote['number']}"))
    pdf.set_author(COMPANY)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    currency = quote["currency"]
    recurring = quote["computed"]["recurring"]
    per = recurring["interval"] if recurring["interval_count"] == 1 else "period"

    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(width / 2, 10, "Quote")
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(width / 2, 10, COMPANY, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 10)
    facts = [
        ("Quote number", quote["number"]),
        ("Status", quote["status"]),
        ("Valid until", fmt_date(quote["expires_at"])),
        ("Prepared for", customer.get("name") or customer.get("email") or customer["id"]),
    ]
    if customer.get("email"):
        facts.append(("Email", customer["email"]))
    for label, value in facts:
        pdf.cell(40, 6, _latin1(label))
        pdf.cell(width - 40, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    if quote["header"] or quote["description"]:
        pdf.ln(3)
        pdf.multi_cell(width, 5, _latin1(quote["header"] or quote["description"]))
    pdf.ln(6)

    pdf.set_font("Helvetica", "B", 10)
    columns = (width * 0.5, width * 0.1, width * 0.2, width * 0.2)
    for text, w, align in zip(
        ("Description", "Qty", "Unit price", f"Per {per}"), columns, "LRRR", strict=True
    ):
        pdf.cell(w, 8, text, border="B", align=align)
    pdf.ln(8)
    pdf.set_font("Helvetica", "", 9)
    for line in lines:
        pdf.cell(columns[0], 7, _latin1(line["description"])[:60])
        pdf.cell(columns[1], 7, str(line["quantity"]), align="R")
        pdf.cell(columns[2], 7, fmt_money(line["price"]["unit_amount"], currency), align="R")
        pdf.cell(columns[3], 7, fmt_money(line["amount_subtotal"], currency), align="R")
        pdf.ln(7)
    pdf.ln(4)
    discounts = discounts or []
    rows = [("Subtotal", recurring["amount_subtotal"])]
    rows += [(f"{label}, {duration}", -amount) for label, amount, duration in discounts]
    rows += [
        ("Due on acceptance", quote["computed"]["upfront"]["amount_total"]),
        (
            f"Total per {per}" + (", after the first" if discounts else ""),
            recurring["amount_total"],
        ),
    ]
    for label, amount in rows:
        pdf.set_font("Helvetica", "B" if label.startswith(("Total", "Due")) else "", 10)
        pdf.cell(width * 0.8, 7, _latin1(label), align="R")
        pdf.cell(
            width * 0.2, 7, fmt_money(amount, currency), align="R", new_x="LMARGIN", new_y="NEXT"
        )
    if quote["footer"]:
        pdf.ln(6)
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(width, 5, _latin1(quote["footer"]))
    pdf.ln(8)
    pdf.set_font("Helvetica", "I", 8)
    pdf.cell(width, 5, f"{COMPANY} - generated by the Stripe sandbox (test mode)", align="C")
    return bytes(pdf.output())
