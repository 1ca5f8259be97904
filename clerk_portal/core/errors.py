"""Errors a person can read: the repository and services raise these, pages show `.message`."""

from __future__ import annotations


class DomainError(Exception):
    """A refused action; `message` is a sentence fit for a toast."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    pass


class InvalidValue(DomainError, ValueError):
    """Input that can never be valid (a bad role, a malformed phone number)."""


class InvalidPhoneNumber(InvalidValue):
    pass


class LastOwnerError(DomainError):
    """A workspace keeps at least one active owner."""


class MemberExistsError(DomainError):
    pass


class NumberTakenError(DomainError):
    """The number is active in a workspace already (this one or another)."""
