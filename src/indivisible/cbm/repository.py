"""Statements over the CBM tables, including who may see what: a notification or calendar
entry its state's and its recipient states' liaison officers and analysts; annual data and
verification requests those of the regime's parties in that year; nobody else."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from indivisible.auth.principal import Actor, Role
from indivisible.cbm.models import (
    AnnualData,
    CalendarEntry,
    CalendarRecipient,
    CbmEvent,
    Clarification,
    Notification,
    NotificationFinding,
    NotificationRecipient,
    VerificationRequest,
)

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


# The rows shown with notifications already found visible (by ``visible`` or ``inbox``): all of
# them, whoever reads, in the order they are shown. One statement for a whole page.


def findings_of(notification_ids: Iterable[int]) -> Select[Any]:
    """Plain rows, not ORM objects: an inbox page reads a few hundred, and building each as a
    tracked object cost more than the query."""
    f = NotificationFinding
    return (
        select(
            f.notification_id,
            f.rule_set,
            f.rule_set_version,
            f.rule,
            f.topic,
            f.outcome,
            f.cite,
            f.message,
            f.params,
        )
        .where(NotificationFinding.notification_id.in_(list(notification_ids)))
        .order_by(NotificationFinding.id)
    )


def recipients_of(notification_ids: Iterable[int]) -> Select[Any]:
    """Plain rows, as findings_of."""
    r = NotificationRecipient
    return (
        select(r.notification_id, r.state_code, r.agreements, r.acknowledged_at)
        .where(NotificationRecipient.notification_id.in_(list(notification_ids)))
        .order_by(NotificationRecipient.state_code)
    )


def clarifications_of(notification_ids: Iterable[int]) -> Select[tuple[Clarification]]:
    return (
        select(Clarification)
        .where(Clarification.notification_id.in_(list(notification_ids)))
        .order_by(Clarification.id)
    )


def among_parties(
    actor: Actor,
    state_column: InstrumentedAttribute[str],
    rule_set_column: InstrumentedAttribute[str],
    year_column: InstrumentedAttribute[int],
    party_years: Iterable[tuple[str, int]],
) -> ColumnElement[bool]:
    """Information exchanged among a regime's parties: readable by the state it concerns and
    by every state that is a party in that year (``party_years``, worked out from the registry
    by the caller), through their liaison officers and analysts."""
    if actor.role not in READERS or actor.state_code is None:
        return false()
    pairs = [and_(rule_set_column == code, year_column == year) for code, year in party_years]
    return or_(state_column == actor.state_code, *pairs)


def annual_visible(
    actor: Actor, party_years: Iterable[tuple[str, int]]
) -> Select[tuple[AnnualData]]:
    return select(AnnualData).where(
        among_parties(
            actor, AnnualData.state_code, AnnualData.rule_set, AnnualData.year, party_years
        )
    )


def verification_visible(
    actor: Actor, party_years: Iterable[tuple[str, int]]
) -> Select[tuple[VerificationRequest]]:
    return select(VerificationRequest).where(
        among_parties(
            actor,
            VerificationRequest.requesting_state,
            VerificationRequest.rule_set,
            VerificationRequest.year,
            party_years,
        )
    )


def calendar_visible(actor: Actor) -> Select[tuple[CalendarEntry]]:
    """Calendar entries of the actor's state, and those routed to it."""
    if actor.role not in READERS or actor.state_code is None:
        return select(CalendarEntry).where(false())
    return select(CalendarEntry).where(
        or_(
            CalendarEntry.state_code == actor.state_code,
            exists().where(
                CalendarRecipient.entry_id == CalendarEntry.id,
                CalendarRecipient.state_code == actor.state_code,
            ),
        )
    )


def events_visible(actor: Actor) -> Select[tuple[CbmEvent]]:
    """Events for the actor's state, to its liaison officers and analysts."""
    if actor.role not in READERS or actor.state_code is None:
        return select(CbmEvent).where(false())
    return select(CbmEvent).where(CbmEvent.state_code == actor.state_code)
