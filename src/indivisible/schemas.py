"""Pydantic bases shared by every domain's inputs, and types shared by its outputs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class Input(BaseModel):
    """Base of every input: unknown fields refused, text trimmed, NUL characters refused
    (PostgreSQL cannot store them, and no name or source legitimately contains one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("text may not contain NUL characters")
        return value


def _stored_in_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# A moment read back from the database, answered with its offset: SQLite hands back naive
# datetimes (everything is stored in UTC), and without the offset the answer is not the
# RFC 3339 date-time the OpenAPI description promises; clients would read it as local time.
StoredMoment = Annotated[datetime, AfterValidator(_stored_in_utc)]
