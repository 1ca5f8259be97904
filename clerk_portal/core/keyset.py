"""Keyset pages: a list a page at a time by (created, id), each page one bounded index range
wherever it starts (never OFFSET), with an opaque cursor for the next page."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col

from clerk_portal.core.errors import InvalidValue

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; pass `next_cursor` back for the next (None: the end)."""

    items: list[T]
    next_cursor: str | None


def keyset_page(
    session: Session,
    query: Any,
    created: Any,
    row_id: Any,
    limit: int,
    cursor: str | None,
    *,
    oldest_first: bool = False,
) -> Page[Any]:
    """One page by keyset on (created, id): newest first, or oldest first. Each page is one
    bounded index range, wherever it starts (the row-value comparison seeks on the index that
    begins with the filter columns, then (created, id))."""
    if not 1 <= limit <= 100:
        raise InvalidValue("A page holds between 1 and 100 rows.")
    if cursor:
        after = decode_cursor(cursor)
        key = sa.tuple_(created, row_id)
        query = query.where(key > after if oldest_first else key < after)
    order = (
        (col(created), col(row_id))
        if oldest_first
        else (
            col(created).desc(),
            col(row_id).desc(),
        )
    )
    rows: Sequence[Any] = session.exec(query.order_by(*order).limit(limit + 1)).all()
    items = list(rows[:limit])
    more = len(rows) > limit
    last = items[-1] if items else None
    next_cursor = (
        encode_cursor(_value(last, created), _value(last, row_id)) if more and last else None
    )
    return Page(items, next_cursor)


def _value(row: Any, column: Any) -> Any:
    """The column's value in a page row: an ORM object, a row holding one (with joined columns)
    or a row of selected columns."""
    entity = column.class_
    if isinstance(row, entity):
        return getattr(row, column.key)
    for part in row:
        if isinstance(part, entity):
            return getattr(part, column.key)
    return row._mapping[column]


def encode_cursor(created: datetime, row_id: int) -> str:
    raw = f"{created.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, row_id = raw.split("|")
        moment = datetime.fromisoformat(created)
        if moment.utcoffset() is None:
            raise ValueError("naive")
        return moment, int(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidValue(
            "That page link is not valid any more: start from the first page."
        ) from None
