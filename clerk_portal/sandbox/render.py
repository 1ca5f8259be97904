"""Turning stored records into API objects: per-type renderers, ``expand[]`` and list pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .errors import invalid
from .store import Ctx, collection_of
from .util import as_int, as_list, public

Renderer = Callable[[Ctx, dict[str, Any]], dict[str, Any]]
RENDERERS: dict[str, Renderer] = {}
# fields that Stripe only includes when expanded ("includable"), per object type
INCLUDABLE: dict[str, dict[str, Callable[[Ctx, dict[str, Any]], Any]]] = {}


def renderer(collection: str) -> Callable[[Renderer], Renderer]:
    def register(fn: Renderer) -> Renderer:
        RENDERERS[collection] = fn
        return fn

    return register


def render(ctx: Ctx, record: dict[str, Any], expand: Iterable[str] = ()) -> dict[str, Any]:
    name = collection_of(record["id"]) if isinstance(record.get("id"), str) else None
    if name is None and record.get("object") == "coupon":  # ids of the caller's choosing
        name = "coupons"
    fn = RENDERERS.get(name) if name else None
    obj = fn(ctx, record) if fn else public(record)
    for path in expand:
        _expand(ctx, obj, path.split("."), path)
    return obj


def render_id(ctx: Ctx, obj_id: str, expand: Iterable[str] = ()) -> dict[str, Any] | None:
    record = ctx.store.get(obj_id)
    return render(ctx, record, expand) if record else None


def expand_paths(params: dict[str, Any]) -> list[str]:
    return [str(p) for p in as_list(params, "expand")]


def _expand(ctx: Ctx, node: Any, parts: list[str], full: str) -> None:
    if isinstance(node, list):
        for item in node:
            _expand(ctx, item, parts, full)
        return
    if not isinstance(node, dict) or not parts:
        return
    key, rest = parts[0], parts[1:]
    if key not in node:
        include = INCLUDABLE.get(str(node.get("object")), {}).get(key)
        if include is None:
            raise invalid(f"This property cannot be expanded ({full}).", "expand")
        node[key] = include(ctx, node)
    value = node[key]
    if isinstance(value, str) and (collection_of(value) or key == "coupon"):
        expanded = render_id(ctx, value)
        if expanded is not None:
            node[key] = value = expanded
    elif isinstance(value, list):  # a list of ids (``discounts``)
        node[key] = value = [
            (render_id(ctx, v) or v) if isinstance(v, str) and collection_of(v) else v
            for v in value
        ]
    elif value is not None and not isinstance(value, (dict, list)) and not rest:
        raise invalid(f"This property cannot be expanded ({full}).", "expand")
    if rest:
        _expand(ctx, value, rest, full)


def page(
    ctx: Ctx,
    records: list[dict[str, Any]],
    params: dict[str, Any],
    url: str,
    *,
    newest_first: bool = True,
) -> dict[str, Any]:
    """One page of a list in Stripe's shape; ``records`` in creation order."""
    limit = as_int(params, "limit", 10) or 10
    if not 1 <= limit <= 100:
        raise invalid("Invalid limit: must be between 1 and 100", "limit")
    ordered = list(reversed(records)) if newest_first else list(records)
    ids = [r["id"] for r in ordered]
    after, before = params.get("starting_after"), params.get("ending_before")
    if after:
        if after not in ids:
            raise invalid(f"No such object: '{after}'", "starting_after", "resource_missing")
        rest = ordered[ids.index(after) + 1 :]
        chosen, has_more = rest[:limit], len(rest) > limit
    elif before:
        if before not in ids:
            raise invalid(f"No such object: '{before}'", "ending_before", "resource_missing")
        rest = ordered[: ids.index(before)]
        chosen, has_more = rest[-limit:], len(rest) > limit
    else:
        chosen, has_more = ordered[:limit], len(ordered) > limit
    expand = [p[5:] for p in expand_paths(params) if p.startswith("data.")]
    return {
        "object": "list",
        "data": [render(ctx, r, expand) for r in chosen],
        "has_more": has_more,
        "url": url,
    }


def created_filter(records: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Stripe's ``created`` filter: an exact value or ``created[gt|gte|lt|lte]``."""
    spec = params.get("created")
    if spec is None:
        return records
    if not isinstance(spec, dict):
        value = int(spec)
        return [r for r in records if r["created"] == value]
    checks = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    for op, raw in spec.items():
        if op not in checks:
            raise invalid(f"Invalid created filter: {op}", "created")
        records = [r for r in records if checks[op](r["created"], int(raw))]
    return records
