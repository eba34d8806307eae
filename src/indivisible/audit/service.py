"""Writing change records; callers pass the same session as the change so both commit together."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from indivisible.audit.models import ChangeRecord
from indivisible.auth.principal import Actor
from indivisible.db import Base


def snapshot(row: Base) -> dict[str, Any]:
    """The row's column values as JSON-safe data."""
    values: dict[str, Any] = {}
    for attr in inspect(row).mapper.column_attrs:
        value = getattr(row, attr.key)
        if isinstance(value, date | datetime):
            value = value.isoformat()
        values[attr.key] = value
    return values


def record_change(
    session: Session,
    actor: Actor,
    *,
    action: str,
    subject_type: str,
    subject_key: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> ChangeRecord:
    record = ChangeRecord(
        at=datetime.now(UTC),
        principal_id=actor.principal_id,
        actor=actor.label,
        action=action,
        subject_type=subject_type,
        subject_key=subject_key,
        before=before,
        after=after,
    )
    session.add(record)
    return record
