"""Statements over notifications, including who may see them: the notifying state's and the
recipient states' liaison officers and analysts, nobody else."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, exists, false, or_, select

from indivisible.auth.principal import Actor, Role
from indivisible.cbm.models import Notification, NotificationRecipient

READERS = (Role.liaison, Role.analyst)


def readable_by(actor: Actor) -> ColumnElement[bool]:
    if actor.role not in READERS or actor.state_code is None:
        return false()
    state = actor.state_code
    return or_(
        Notification.state_code == state,
        exists().where(
            NotificationRecipient.notification_id == Notification.id,
            NotificationRecipient.state_code == state,
        ),
    )


def visible(actor: Actor) -> Select[tuple[Notification]]:
    return select(Notification).where(readable_by(actor))


def inbox(actor: Actor) -> Select[tuple[Notification]]:
    """What other states notified to the actor's state."""
    return visible(actor).where(
        exists().where(
            NotificationRecipient.notification_id == Notification.id,
            NotificationRecipient.state_code == actor.state_code,
        )
    )
