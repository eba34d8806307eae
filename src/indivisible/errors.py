"""Errors as values with a code, a message and the field they concern.

Hierarchy::

    IndivisibleError            code, message, field, status
    ├── InvalidInput            422  a value breaks a rule (names the field and the rule)
    ├── NotFound                404  no such object, or not visible to the caller
    ├── Conflict                409  the write contradicts what is stored (overlap, duplicate)
    ├── NotAuthenticated        401  no valid credentials
    ├── PermissionDenied        403  authenticated, but the role or state may not do this
    ├── PayloadTooLarge         413  the request body is over the node's limit
    ├── BadRequest              400  unreadable: broken JSON, a malformed filter or token
    ├── NotAcceptable           406  no media type the client accepts
    ├── UnsupportedMediaType    415  a body in a media type this endpoint does not take
    ├── TooManyRequests         429  over a rate limit or the login throttle; retry later
    └── Unavailable             503  the database cannot serve now; retry after a few seconds

Services raise them; one handler per protocol renders them (problem+json for REST). The message
is an English template marked for translation, with ``params`` filled in after translation, so a
client gets the detail in the language it asks for (Accept-Language).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, ClassVar

from pydantic import BaseModel

from indivisible.i18n import _


class ProblemField(BaseModel):
    field: str
    rule: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of the REST API is answered."""

    type: str
    title: str
    status: int
    detail: str
    code: str | None = None
    instance: str | None = None
    errors: list[ProblemField] = []


def _problem(description: str) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {"application/problem+json": {}},
    }


# Declared on every router so the OpenAPI description shows the error answers clients really get.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    # Not only BadRequest: FastAPI answers 400 itself for a JSON body that is not UTF-8.
    400: _problem("The request cannot be read: a body that is not UTF-8, a malformed filter."),
    401: _problem("No valid credentials."),
    403: _problem("The role or state may not do this, or the CSRF token is missing."),
    404: _problem("No such object, or not visible to the caller."),
    409: _problem("The write contradicts what is stored."),
    413: _problem("The request body is over the node's limit."),
    422: _problem("A value breaks a rule; errors[] names each field and rule."),
    429: _problem("Over this node's rate limit or login throttle; retry after Retry-After."),
    503: _problem("The database cannot serve now; retry after the seconds in Retry-After."),
}


@dataclass
class FieldProblem:
    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}


@dataclass
class IndivisibleError(Exception):
    message: str
    code: str = "error"
    field: str | None = None
    problems: list[FieldProblem] = dataclass_field(default_factory=list)
    params: dict[str, Any] = dataclass_field(default_factory=dict)
    status: ClassVar[int] = 400
    title: ClassVar[str] = _("Bad request")

    def __post_init__(self) -> None:
        super().__init__(self.text())

    def text(self, gettext: Callable[[str], str] | None = None) -> str:
        """The message in the caller's language (English without a gettext)."""
        template = gettext(self.message) if gettext else self.message
        try:
            return template.format(**self.params)
        except (KeyError, IndexError, ValueError):
            # A broken translation must never hide the error itself.
            return self.message.format(**self.params)

    def problem(
        self, instance: str | None = None, gettext: Callable[[str], str] | None = None
    ) -> dict[str, Any]:
        """RFC 9457 problem details for this error."""
        detail = self.text(gettext)
        body: dict[str, Any] = {
            "type": f"urn:indivisible:error:{self.code}",
            "title": gettext(self.title) if gettext else self.title,
            "status": self.status,
            "detail": detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        errors = list(self.problems)
        if self.field and not errors:
            errors = [FieldProblem(self.field, self.code, detail)]
        if errors:
            body["errors"] = [p.as_dict() for p in errors]
        return body


class InvalidInput(IndivisibleError):
    status = 422
    title = _("Invalid input")


class NotFound(IndivisibleError):
    status = 404
    title = _("Not found")


class Conflict(IndivisibleError):
    status = 409
    title = _("Conflict")


class NotAuthenticated(IndivisibleError):
    status = 401
    title = _("Not authenticated")


class PermissionDenied(IndivisibleError):
    status = 403
    title = _("Forbidden")


class PayloadTooLarge(IndivisibleError):
    status = 413
    title = _("Payload too large")


class BadRequest(IndivisibleError):
    """The request cannot be read at all: broken JSON, a malformed filter, a forged token."""

    status = 400
    title = _("Bad request")


class NotAcceptable(IndivisibleError):
    status = 406
    title = _("Not acceptable")


class UnsupportedMediaType(IndivisibleError):
    status = 415
    title = _("Unsupported media type")


@dataclass
class Unavailable(IndivisibleError):
    """The database cannot serve now (down, restarting, or busy with other writers). Nothing
    was acknowledged: the client sends the request again after ``retry_after`` seconds (the
    Retry-After header). A write whose commit was cut off may have been stored all the same,
    never half of it."""

    retry_after: int = 5
    status = 503
    title = _("Service unavailable")


@dataclass
class TooManyRequests(IndivisibleError):
    """Over a rate limit, or failed logins waiting out their window: the client sends the
    request again after ``retry_after`` seconds (the Retry-After header). Nothing was read or
    written."""

    retry_after: int = 1
    status = 429
    title = _("Too many requests")
