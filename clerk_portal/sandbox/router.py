"""The /v1 route table. Resource modules register handlers with ``@route(...)``.

A route lists the parameters it accepts, space-separated. ``name[a,b]`` also checks the keys of
an object (or of each object in a list) one level down; ``!name`` (at either level) is a parameter
Stripe has that the sandbox does not model: it is refused with a 400 naming it, never accepted and
ignored. Any other name is ``parameter_unknown``, as on Stripe. A parameter without brackets
(``metadata``) is not checked inside.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import unknown_parameter, unmodelled

Handler = Callable[..., dict[str, Any]]

# parameters every endpoint accepts
COMMON = "expand"


@dataclass(frozen=True)
class Param:
    refused: bool = False  # Stripe has it; the sandbox does not model it
    keys: dict[str, Param] | None = None  # the object's own keys, when checked


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    params: dict[str, Param]
    publishable: bool  # callable with a pk_test_ key (the browser's card form)


ROUTES: list[Route] = []
_STATIC: dict[tuple[str, str], Route] = {}
_SPEC = re.compile(r"^(!?)(\w+)(?:\[([!\w,]*)\])?$")


def parse_params(spec: str) -> dict[str, Param]:
    params: dict[str, Param] = {}
    for token in spec.split():
        match = _SPEC.match(token)
        if not match:
            raise ValueError(f"bad parameter spec: {token}")
        bang, name, inner = match.groups()
        keys = None
        if inner is not None:
            keys = {k.lstrip("!"): Param(refused=k.startswith("!")) for k in inner.split(",") if k}
        params[name] = Param(refused=bool(bang), keys=keys)
    return params


def route(
    method: str, path: str, *, params: str = "", publishable: bool = False
) -> Callable[[Handler], Handler]:
    """Register ``handler(ctx, params, **path_args)``; ``params`` lists the accepted names."""
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")
    allowed = parse_params(f"{params} {COMMON}")

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


def _given(value: Any) -> bool:
    """An empty string unsets a parameter on Stripe: giving it asks for nothing."""
    return value not in ("", None, [], {})


def check(allowed: dict[str, Param], params: dict[str, Any], prefix: str = "") -> None:
    for name, value in params.items():
        full = f"{prefix}[{name}]" if prefix else name
        spec = allowed.get(name)
        if spec is None:
            raise unknown_parameter(full)
        if spec.refused and _given(value):
            raise unmodelled(full)
        if spec.keys is None:
            continue
        if isinstance(value, dict):
            check(spec.keys, value, full)
        elif isinstance(value, list):
            for index, element in enumerate(value):
                if isinstance(element, dict):
                    check(spec.keys, element, f"{full}[{index}]")


def check_params(entry: Route, params: dict[str, Any]) -> None:
    check(entry.params, params)
