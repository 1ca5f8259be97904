"""The tax id types an owner can choose (Stripe's `type` values) with their formats.

The portal checks the format before asking Stripe (a clear message while the form is open);
Stripe checks it again (`tax_id_invalid`). Formats and examples are Stripe's
(https://docs.stripe.com/billing/customer/tax-ids#supported-tax-id), for the types offered here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class TaxIdType:
    type: str  # Stripe's tax id type
    label: str  # what the select shows
    example: str
    pattern: re.Pattern[str]


_EU = "AT|BE|BG|CY|CZ|DE|DK|EE|ES|FI|FR|GR|EL|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI"
TYPES: tuple[TaxIdType, ...] = (
    TaxIdType("eu_vat", "EU VAT number", "DE123456789", re.compile(f"(?:{_EU})[0-9A-Z]{{2,12}}")),
    TaxIdType(
        "gb_vat", "UK VAT number", "GB123456789", re.compile(r"GB(?:\d{9}|\d{12}|GD\d{3}|HA\d{3})")
    ),
    TaxIdType(
        "us_ein", "US Employer Identification Number", "12-3456789", re.compile(r"\d{2}-\d{7}")
    ),
    TaxIdType("au_abn", "Australian Business Number", "12345678912", re.compile(r"\d{11}")),
    TaxIdType("ca_bn", "Canadian Business Number", "123456789", re.compile(r"\d{9}")),
    TaxIdType(
        "ch_vat",
        "Swiss VAT number",
        "CHE-123.456.789 MWST",
        re.compile(r"CHE-\d{3}\.\d{3}\.\d{3}(?:MWST|TVA|IVA)"),
    ),
    TaxIdType("no_vat", "Norwegian VAT number", "123456789MVA", re.compile(r"\d{9}MVA")),
    TaxIdType("nz_gst", "New Zealand GST number", "123456789", re.compile(r"\d{8,9}")),
    TaxIdType(
        "in_gst",
        "Indian GST number",
        "12ABCDE3456FGZH",
        re.compile(r"\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z]"),
    ),
    TaxIdType("jp_cn", "Japanese Corporate Number", "1234567891234", re.compile(r"\d{13}")),
    TaxIdType(
        "sg_uen",
        "Singaporean UEN",
        "123456789F",
        re.compile(r"\d{8,9}[A-Z]|[TSR]\d{2}[A-Z]{2}\d{4}[A-Z]"),
    ),
)
BY_TYPE = {t.type: t for t in TYPES}


def normalise(value: str) -> str:
    """Upper case without spaces (Stripe stores it so); the Swiss suffix keeps its space."""
    return re.sub(r"\s+", "", value).upper()


def problem(kind: str, value: str) -> str | None:
    """Why (`kind`, `value`) is not a tax id Stripe would take, or None."""
    chosen = BY_TYPE.get(kind)
    if chosen is None:
        return "Choose the kind of tax id from the list."
    if not chosen.pattern.fullmatch(normalise(value)):
        return f"That is not a valid {chosen.label} (for example {chosen.example})."
    return None
