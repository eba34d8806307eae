"""REST routes of the CBM module: thin wrappers over the service."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from indivisible.cbm import service
from indivisible.cbm.schemas import (
    AnswerCreate,
    ClarificationCreate,
    ClarificationRead,
    NotificationCreate,
    NotificationRead,
    RecipientRead,
)
from indivisible.deps import CurrentActor, DbSession, RowId
from indivisible.errors import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1/cbm", tags=["cbm"], responses=PROBLEM_RESPONSES)


@router.post("/notifications", status_code=201, response_model=NotificationRead)
def file_notification(
    data: NotificationCreate, session: DbSession, actor: CurrentActor
) -> NotificationRead:
    """File a notification of a military activity for your state. The answer holds the
    findings of every agreement in force between your state and others on its dates, and the
    states it was routed to."""
    notification = service.file_notification(session, actor, data)
    return service.read_model(session, notification)


@router.get("/notifications", response_model=list[NotificationRead])
def list_notifications(
    session: DbSession,
    actor: CurrentActor,
    box: Annotated[Literal["all", "inbox", "sent"], Query()] = "all",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[NotificationRead]:
    """Notifications your state filed (sent) or received (inbox), newest first."""
    rows = service.list_notifications(session, actor, box=box, limit=limit, offset=offset)
    return [service.read_model(session, row) for row in rows]


@router.get("/notifications/{notification_id}", response_model=NotificationRead)
def get_notification(
    notification_id: RowId, session: DbSession, actor: CurrentActor
) -> NotificationRead:
    return service.read_model(session, service.get_notification(session, actor, notification_id))


@router.post("/notifications/{notification_id}/acknowledgement", response_model=RecipientRead)
def acknowledge(notification_id: RowId, session: DbSession, actor: CurrentActor) -> RecipientRead:
    """Acknowledge receipt for your state (recipient states' liaison officers)."""
    return service.recipient_read(service.acknowledge(session, actor, notification_id))


@router.post(
    "/notifications/{notification_id}/clarifications",
    status_code=201,
    response_model=ClarificationRead,
)
def ask(
    notification_id: RowId, data: ClarificationCreate, session: DbSession, actor: CurrentActor
) -> ClarificationRead:
    """Ask the notifying state to clarify (recipient states' liaison officers). The reply
    deadline is the shortest the agreements under which you received it encode."""
    return service.clarification_read(service.ask(session, actor, notification_id, data))


@router.post("/clarifications/{clarification_id}/answer", response_model=ClarificationRead)
def answer(
    clarification_id: RowId, data: AnswerCreate, session: DbSession, actor: CurrentActor
) -> ClarificationRead:
    """Answer a clarification request (the notifying state's liaison officers; once)."""
    return service.clarification_read(service.answer(session, actor, clarification_id, data))
