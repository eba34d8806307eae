"""REST routes of crisis response: thin wrappers over the service."""

from __future__ import annotations

from fastapi import APIRouter

from indivisible.crisis import service
from indivisible.crisis.schemas import (
    CrisisRead,
    DecisionClose,
    DecisionCreate,
    DecisionRead,
    PositionCreate,
    RequestCreate,
)
from indivisible.deps import CurrentActor, DbSession, RowId
from indivisible.errors import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1/crisis", tags=["crisis"], responses=PROBLEM_RESPONSES)


@router.post("/requests", status_code=201, response_model=CrisisRead)
def request_assistance(data: RequestCreate, session: DbSession, actor: CurrentActor) -> CrisisRead:
    """Request assistance for your state from an organisation's members, citing the agreement
    and article; this opens a crisis (liaison officers)."""
    return service.read_model(session, service.request_assistance(session, actor, data))


@router.get("/crises", response_model=list[CrisisRead])
def list_crises(session: DbSession, actor: CurrentActor) -> list[CrisisRead]:
    """Crises your state is affected by or whose organisation it belonged to when they began."""
    return [service.read_model(session, c) for c in service.list_crises(session, actor)]


@router.get("/crises/{crisis_id}", response_model=CrisisRead)
def get_crisis(crisis_id: RowId, session: DbSession, actor: CurrentActor) -> CrisisRead:
    return service.read_model(session, service.get_crisis(session, actor, crisis_id))


@router.post("/crises/{crisis_id}/decisions", status_code=201, response_model=DecisionRead)
def open_decision(
    crisis_id: RowId, data: DecisionCreate, session: DbSession, actor: CurrentActor
) -> DecisionRead:
    """Put the request before a body of the organisation (its secretariat)."""
    decision = service.open_decision(session, actor, crisis_id, data)
    crisis = service.get_crisis(session, actor, crisis_id)
    return service.decision_read(session, decision, crisis)


@router.post("/decisions/{decision_id}/positions", response_model=DecisionRead)
def state_position(
    decision_id: RowId, data: PositionCreate, session: DbSession, actor: CurrentActor
) -> DecisionRead:
    """State your state's position on an open decision (liaison officers of members)."""
    row = service.state_position(session, actor, decision_id, data)
    decision, crisis = service.decision_and_crisis(session, actor, row.decision_id)
    return service.decision_read(session, decision, crisis)


@router.post("/decisions/{decision_id}/close", response_model=DecisionRead)
def close_decision(
    decision_id: RowId, data: DecisionClose, session: DbSession, actor: CurrentActor
) -> DecisionRead:
    """Close the decision with the moment the body took it: its result is computed from the
    positions (the secretariat)."""
    decision = service.close_decision(session, actor, decision_id, data)
    _decision, crisis = service.decision_and_crisis(session, actor, decision.id)
    return service.decision_read(session, decision, crisis)
