"""Writing change records; callers pass the same session as the change so both commit together."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from indivisible.audit import repository
from indivisible.audit.models import ChangeRecord
from indivisible.auth.principal import Actor, Role
from indivisible.db import Base
from indivisible.errors import PermissionDenied
from indivisible.i18n import _


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


def list_changes(
    session: Session,
    actor: Actor,
    *,
    subject_type: str | None = None,
    subject_key: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[ChangeRecord]:
    """The newest changes first; page backwards with ``before_id``."""
    if actor.role not in (Role.admin, Role.secretariat):
        raise PermissionDenied(
            _("Only admins and secretariats read the change log."), code="role_required"
        )
    stmt = repository.visible_to(actor)
    if subject_type is not None:
        stmt = stmt.where(ChangeRecord.subject_type == subject_type)
    if subject_key is not None:
        stmt = stmt.where(ChangeRecord.subject_key == subject_key)
    if before_id is not None:
        stmt = stmt.where(ChangeRecord.id < before_id)
    return list(session.scalars(stmt.order_by(ChangeRecord.id.desc()).limit(limit)))
