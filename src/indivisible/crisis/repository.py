"""Statements over crises, including who may see them: the affected state, the states
attached to the organisation asked on the crisis's start date (through their liaison
officers and analysts), that organisation's secretariat, and the node's administrators."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true

from indivisible.auth.principal import Actor, Role
from indivisible.crisis.models import Crisis

STATE_READERS = (Role.liaison, Role.analyst)


def sees_by_attachment(actor: Actor) -> bool:
    """Whether ``readable_by`` looks at the actor's (organisation, start date) pairs at all,
    so that callers ask the registry for them only when they count."""
    return actor.role in STATE_READERS and actor.state_code is not None


def readable_by(actor: Actor, attached: Iterable[tuple[str, object]]) -> ColumnElement[bool]:
    """``attached``: the (organisation, start date) pairs of crises on whose date the actor's
    state was attached to the organisation, worked out from the registry by the caller."""
    if actor.role is Role.admin:
        return true()
    if actor.role is Role.secretariat and actor.organisation_code is not None:
        return Crisis.organisation_code == actor.organisation_code
    # The state code is checked again only for the type checker.
    if not sees_by_attachment(actor) or actor.state_code is None:
        return false()
    pairs = [
        and_(Crisis.organisation_code == org, Crisis.started_on == day) for org, day in attached
    ]
    return or_(Crisis.affected_state == actor.state_code, *pairs)


def visible(actor: Actor, attached: Iterable[tuple[str, object]]) -> Select[tuple[Crisis]]:
    return select(Crisis).where(readable_by(actor, attached))
