"""Statements over the change log, including who may read which records."""

from __future__ import annotations

from sqlalchemy import Select, false, select

from indivisible.audit.models import ChangeRecord
from indivisible.auth.principal import Actor, Role

# Account changes are the admins' business; the registry's history is open to secretariats too.
ACCOUNT_SUBJECTS = ("principal", "api_token")


def visible_to(actor: Actor) -> Select[tuple[ChangeRecord]]:
    stmt = select(ChangeRecord)
    if actor.role is Role.admin:
        return stmt
    if actor.role is Role.secretariat:
        return stmt.where(ChangeRecord.subject_type.not_in(ACCOUNT_SUBJECTS))
    return stmt.where(false())  # roles that read no change record
