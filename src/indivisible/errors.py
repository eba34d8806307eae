"""Errors as values with a code, a message and the field they concern.

Hierarchy::

    IndivisibleError            code, message, field, status
    ├── InvalidInput            422  a value breaks a rule (names the field and the rule)
    ├── NotFound                404  no such object, or not visible to the caller
    ├── Conflict                409  the write contradicts what is stored (overlap, duplicate)
    ├── NotAuthenticated        401  no valid credentials
    ├── PermissionDenied        403  authenticated, but the role or state may not do this
    └── PayloadTooLarge         413  the request body is over the node's limit

Services raise them; one handler per protocol renders them (problem+json for REST).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, ClassVar


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
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """RFC 9457 problem details for this error."""
        body: dict[str, Any] = {
            "type": f"urn:indivisible:error:{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.message,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        errors = list(self.problems)
        if self.field and not errors:
            errors = [FieldProblem(self.field, self.code, self.message)]
        if errors:
            body["errors"] = [p.as_dict() for p in errors]
        return body


class InvalidInput(IndivisibleError):
    status = 422
    title = "Invalid input"


class NotFound(IndivisibleError):
    status = 404
    title = "Not found"


class Conflict(IndivisibleError):
    status = 409
    title = "Conflict"


class NotAuthenticated(IndivisibleError):
    status = 401
    title = "Not authenticated"


class PermissionDenied(IndivisibleError):
    status = 403
    title = "Forbidden"


class PayloadTooLarge(IndivisibleError):
    status = 413
    title = "Payload too large"
