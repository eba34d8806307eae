"""Writing change records; callers pass the same session as the change so both commit together."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from indivisible.audit import ledger, repository
from indivisible.audit.models import AuditTreeHead, ChangeRecord
from indivisible.auth.principal import Actor, Role
from indivisible.db import Base
from indivisible.errors import InvalidInput, NotFound, PermissionDenied
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


def latest_tree_head(session: Session, actor: Actor) -> AuditTreeHead:
    """The newest signed tree head. Heads and consistency proofs are hashes only and say
    nothing of what the entries hold, so every signed-in principal may read them: members
    keep them to hold the node to its history."""
    head = ledger.latest_head(session)
    if head is None:
        raise NotFound(_("The node has not signed a tree head yet."), code="no_tree_head")
    return head


def _within_head(session: Session, size: int, field: str) -> None:
    head = ledger.latest_head(session)
    signed = head.tree_size if head is not None else 0
    if size > signed:
        raise InvalidInput(
            _("Proofs are given for trees up to the latest signed tree head, {size} entries."),
            code="beyond_tree_head",
            field=field,
            params={"size": signed},
        )


def consistency_proof(session: Session, actor: Actor, first: int, second: int) -> list[str]:
    if first > second:
        raise InvalidInput(
            _("The first tree cannot be larger than the second."),
            code="first_after_second",
            field="query.first",
        )
    _within_head(session, second, "query.second")
    return ledger.consistency(session, first, second)


def inclusion_proof(
    session: Session, actor: Actor, seq: int, tree_size: int
) -> tuple[ChangeRecord, list[str]]:
    """An entry the actor may read in the change log, and the path from it to the root of
    the tree of ``tree_size`` entries. Entries the actor may not read are not found, the
    same answer as for positions that do not exist."""
    row = session.scalars(repository.visible_to(actor).where(ChangeRecord.seq == seq)).first()
    if row is None:
        raise NotFound(_("No entry {seq} in the log."), code="unknown_entry", params={"seq": seq})
    if tree_size <= seq:
        raise InvalidInput(
            _("The tree must be larger than the entry's position."),
            code="entry_outside_tree",
            field="query.tree_size",
        )
    _within_head(session, tree_size, "query.tree_size")
    return row, ledger.inclusion(session, seq, tree_size)


def tree_heads(session: Session, actor: Actor, *, limit: int = 100) -> list[AuditTreeHead]:
    return list(
        session.scalars(select(AuditTreeHead).order_by(AuditTreeHead.tree_size.desc()).limit(limit))
    )
