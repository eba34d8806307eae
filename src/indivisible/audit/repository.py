"""Statements over the change log, including who may read which records."""

from __future__ import annotations

from sqlalchemy import Select, false, select

from indivisible.audit.models import ChangeRecord
from indivisible.auth.principal import Actor, Role

# Account changes are the admins' business; the registry's history is open to secretariats too.
ACCOUNT_SUBJECTS = ("principal", "api_token")
# What a secretariat may read: the registry's own history and the sharing groups it manages.
# Everything else (CBM exchanges, crises, alert rules, keys, webhooks) is released by its own
# rules to particular states, so an allow-list closes a new subject type by default.
REGISTRY_SUBJECTS = (
    "state", "organisation", "body", "membership", "agreement", "border", "source",
    "sharing_group",
)  # fmt: skip


def visible_to(actor: Actor) -> Select[tuple[ChangeRecord]]:
    stmt = select(ChangeRecord)
    if actor.role is Role.admin:
        return stmt
    if actor.role is Role.secretariat:
        return stmt.where(ChangeRecord.subject_type.in_(REGISTRY_SUBJECTS))
    return stmt.where(false())  # roles that read no change record
