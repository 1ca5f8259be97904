"""Errors in Stripe's shape: ``{"error": {type, code, decline_code, message, param}}``."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """Raised by handlers; the server turns it into Stripe's error body and status."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        decline_code: str | None = None,
        param: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.decline_code = decline_code
        self.param = param
        self.extra = extra or {}
        # the id a ``not_found`` could not find: the dispatcher answers 404 when it is the
        # request path's id and 400 when it came in the body
        self.missing_id: str | None = None
        # set by handlers whose failure still changes state (a failed charge is recorded)
        self.keep_effects = False

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.decline_code:
            error["decline_code"] = self.decline_code
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, "invalid_request_error", message, param=param, code=code)


def missing(param: str) -> StripeError:
    return invalid(f"Missing required param: {param}.", param, "parameter_missing")


def not_found(kind: str, obj_id: str, param: str = "id") -> StripeError:
    """``resource_missing``: 404 (param ``id``) for the path's id, else 400 naming ``param``."""
    error = StripeError(
        400,
        "invalid_request_error",
        f"No such {kind}: '{obj_id}'",
        param=param,
        code="resource_missing",
    )
    error.missing_id = obj_id
    return error


def unknown_parameter(name: str) -> StripeError:
    return invalid(f"Received unknown parameter: {name}", name, "parameter_unknown")


def unmodelled(name: str) -> StripeError:
    """A parameter Stripe has that the sandbox does not model: refused, never ignored."""
    return invalid(
        f"The sandbox does not support the parameter {name} (Stripe does; see the sandbox "
        "README's known differences). Leave it out.",
        name,
    )


def card_error(
    message: str, code: str, decline_code: str | None = None, param: str | None = None
) -> StripeError:
    return StripeError(
        402, "card_error", message, code=code, decline_code=decline_code, param=param
    )
