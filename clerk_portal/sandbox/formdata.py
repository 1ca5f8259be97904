"""Decode Stripe's form encoding: ``items[0][price]=x&expand[]=y&metadata[k]=v``."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from .errors import invalid

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def decode(*encoded: str) -> dict[str, Any]:
    """Merge one or more urlencoded strings into nested dicts and lists (values stay strings)."""
    root: dict[str, Any] = {}
    for text in encoded:
        for key, value in parse_qsl(text, keep_blank_values=True):
            _insert(root, key, value)
    return _listify(root)


def _insert(root: dict[str, Any], key: str, value: str) -> None:
    match = _KEY.match(key)
    if not match:
        raise invalid(f"Invalid parameter name: {key}", key)
    parts = [match.group(1), *_PART.findall(match.group(2))]
    node: Any = root
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "":
            # "expand[]" style: append to a list kept under a synthetic index
            part = str(len(node))
        if last:
            node[part] = value
        else:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted
