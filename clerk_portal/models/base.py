"""Shared pieces of the tables: enumerations, the naming convention, UTC time and E.164 numbers.

Enumerations are plain strings: a CHECK constraint in the database (portable to SQLite and
PostgreSQL) and a validator here, so a bad value fails at assignment with a readable message.
Datetimes are timezone-aware UTC (sqlmodel's UTCDateTime). Money is integer cents.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import overload

import sqlalchemy as sa
from sqlmodel import SQLModel

from clerk_portal.core.errors import InvalidPhoneNumber, InvalidValue

ROLES = ("owner", "admin", "member")
MEMBERSHIP_STATUSES = ("invited", "active", "removed")
NUMBER_STATUSES = ("active", "released")
INTERVALS = ("month", "year")
ITEM_KINDS = ("seat", "number")
INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")
INQUIRY_STATUSES = ("new", "contacted", "closed")

# Named constraints, so later migrations (SQLite batch mode copies tables) can find them by name.
# Primary keys keep the database's own names: the first migration created `workspace` that way.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=column)


@overload
def check_choice(field: str, value: str, values: tuple[str, ...]) -> str: ...
@overload
def check_choice(field: str, value: str | None, values: tuple[str, ...]) -> str | None: ...
def check_choice(field: str, value: str | None, values: tuple[str, ...]) -> str | None:
    if value is not None and value not in values:
        raise InvalidValue(f"{field} must be one of {', '.join(values)}, not {value!r}")
    return value


# --- E.164 phone numbers --------------------------------------------------------------------

_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
_SEPARATORS = re.compile(r"[\s()\-]")


def normalize_e164(raw: str) -> str:
    """`+1 (415) 555-0100` → `+14155550100`; anything but `+`, digits and separators is refused."""
    if not isinstance(raw, str):
        raise InvalidPhoneNumber("A phone number must be text like +14155550100.")
    number = _SEPARATORS.sub("", raw)
    if not _E164.fullmatch(number):
        raise InvalidPhoneNumber(
            f"{raw.strip() or 'An empty value'!s} is not a phone number in international format: "
            "use + and the country code, then 8 to 15 digits in all (e.g. +14155550100)."
        )
    return number


def format_e164(e164: str) -> str:
    """Readable form for messages: `+14155550100` → `+1 415 555 0100` (NANP), others unchanged."""
    if e164.startswith("+1") and len(e164) == 12:
        return f"+1 {e164[2:5]} {e164[5:8]} {e164[8:]}"
    return e164


# Old private names, kept for code that imported them.
_one_of = one_of
_check_choice = check_choice
