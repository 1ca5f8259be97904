"""The /v1 route table. Resource modules register handlers with ``@route(...)``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import invalid

Handler = Callable[..., dict[str, Any]]

# parameters every endpoint accepts
COMMON = {"expand"}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    params: frozenset[str] | None  # None: accept anything
    publishable: bool  # callable with a pk_test_ key (the browser's card form)


ROUTES: list[Route] = []
_STATIC: dict[tuple[str, str], Route] = {}


def route(
    method: str, path: str, *, params: str | None = None, publishable: bool = False
) -> Callable[[Handler], Handler]:
    """Register ``handler(ctx, params, **path_args)``; ``params`` lists the accepted names."""
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")
    allowed = frozenset(params.split()) | COMMON if params is not None else None

    def register(fn: Handler) -> Handler:
        entry = Route(method, regex, fn, allowed, publishable)
        ROUTES.append(entry)
        if "{" not in path:
            _STATIC[(method, path)] = entry
        return fn

    return register


def resolve(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    entry = _STATIC.get((method, path))
    if entry:
        return entry, {}
    for entry in ROUTES:
        if entry.method == method:
            match = entry.pattern.match(path)
            if match:
                return entry, match.groupdict()
    return None


def check_params(entry: Route, params: dict[str, Any]) -> None:
    if entry.params is None:
        return
    for name in params:
        if name not in entry.params:
            raise invalid(f"Received unknown parameter: {name}", name)
