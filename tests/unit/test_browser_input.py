"""Arguments the browser sends to the team and numbers handlers: anything may arrive."""

from __future__ import annotations

import pytest

from clerk_portal.core.errors import InvalidValue, NotFound
from clerk_portal.workspace import changes


@pytest.mark.parametrize("raw", ["", "abc", "-1", "0", "1.5", "99999999999", None, {}])
def test_ids_from_the_browser_must_be_positive_whole_numbers(raw):
    with pytest.raises(NotFound):
        changes.parse_id(raw)


@pytest.mark.parametrize("raw", ["", "root", "1", None, ["owner"]])
def test_roles_from_the_browser_must_be_known(raw):
    with pytest.raises(InvalidValue):
        changes.parse_role(raw)


def test_known_ids_and_roles_are_normalized():
    assert changes.parse_id(" 42 ") == 42
    assert changes.parse_role(" Admin ") == "admin"
