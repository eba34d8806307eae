"""REST routes of crisis response: thin wrappers over the services."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from indivisible.crisis import operations, report, service
from indivisible.crisis.schemas import (
    ConsultationCreate,
    ContingentCreate,
    CrisisRead,
    DecisionClose,
    DecisionCreate,
    DecisionRead,
    DeploymentEventCreate,
    ForceEntryCreate,
    Measures,
    OperationCreate,
    OperationRead,
    PledgeCreate,
    PositionCreate,
    RequestCreate,
    SituationReportCreate,
    TaskCreate,
    WhoCouldHelp,
    WithdrawalPlanCreate,
)
from indivisible.deps import CurrentActor, DbSession, RowId, Submitted
from indivisible.errors import PROBLEM_RESPONSES
from indivisible.i18n import LANG_COOKIE, negotiate, translations

router = APIRouter(prefix="/api/v1/crisis", tags=["crisis"], responses=PROBLEM_RESPONSES)


@router.post("/requests", status_code=201, response_model=CrisisRead)
def request_assistance(
    data: RequestCreate, session: DbSession, actor: CurrentActor, submitted: Submitted
) -> CrisisRead:
    """Request assistance for your state from an organisation's members, citing the agreement
    and article; this opens a crisis (liaison officers). Sign it with your state's key."""
    crisis = service.request_assistance(session, actor, data, submission=submitted)
    return operations.read_model(session, crisis)


@router.get("/crises", response_model=list[CrisisRead])
def list_crises(session: DbSession, actor: CurrentActor) -> list[CrisisRead]:
    """Crises your state is affected by or whose organisation it belonged to when they began."""
    attachment = service.Attachment(session)
    crises = service.list_crises(session, actor, attachment)
    return service.read_models(session, crises, attachment)


@router.get("/crises/{crisis_id}", response_model=CrisisRead)
def get_crisis(crisis_id: RowId, session: DbSession, actor: CurrentActor) -> CrisisRead:
    attachment = service.Attachment(session)
    crisis = service.get_crisis(session, actor, crisis_id, attachment)
    return service.read_models(session, [crisis], attachment)[0]


@router.get("/measures", response_model=list[Measures])
def compare_measures(session: DbSession, actor: CurrentActor) -> list[Measures]:
    """The measures of every crisis you may see, side by side."""
    return [operations.crisis_measures(session, c) for c in service.list_crises(session, actor)]


@router.get("/crises/{crisis_id}/measures", response_model=Measures)
def crisis_measures(crisis_id: RowId, session: DbSession, actor: CurrentActor) -> Measures:
    """Speed of reaction, coherence and withdrawal, computed from the record."""
    return operations.crisis_measures(session, service.get_crisis(session, actor, crisis_id))


@router.get(
    "/crises/{crisis_id}/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def crisis_pdf(
    request: Request,
    crisis_id: RowId,
    session: DbSession,
    actor: CurrentActor,
    lang: Annotated[Literal["en", "ru", "zh"] | None, Query()] = None,
) -> Response:
    """The crisis as a printable report: measures, timeline, contributions and the record, in
    ``lang`` or the language of the request."""
    locale = lang or negotiate(
        request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )
    crisis = service.get_crisis(session, actor, crisis_id)
    body = report.as_pdf(
        operations.read_model(session, crisis),
        operations.crisis_measures(session, crisis),
        translations(locale).gettext,
        locale,
    )
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="crisis-{crisis_id}-{locale}.pdf"'},
    )


@router.post("/crises/{crisis_id}/consultations", status_code=201, response_model=CrisisRead)
def record_consultation(
    crisis_id: RowId, data: ConsultationCreate, session: DbSession, actor: CurrentActor
) -> CrisisRead:
    """Record a session of consultations and who took part (the secretariat)."""
    operations.record_consultation(session, actor, crisis_id, data)
    return operations.read_model(session, service.get_crisis(session, actor, crisis_id))


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
    decision_id: RowId,
    data: PositionCreate,
    session: DbSession,
    actor: CurrentActor,
    submitted: Submitted,
) -> DecisionRead:
    """State your state's position on an open decision (liaison officers of members); sign it
    with your state's key."""
    row = service.state_position(session, actor, decision_id, data, submission=submitted)
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


@router.post("/crises/{crisis_id}/operation", status_code=201, response_model=OperationRead)
def set_up_operation(
    crisis_id: RowId, data: OperationCreate, session: DbSession, actor: CurrentActor
) -> OperationRead:
    """Set up the operation an adopted decision calls for, with its tasks (the secretariat)."""
    return operations.operation_read(
        session, operations.set_up_operation(session, actor, crisis_id, data)
    )


@router.get("/operations/{operation_id}", response_model=OperationRead)
def get_operation(operation_id: RowId, session: DbSession, actor: CurrentActor) -> OperationRead:
    operation, _crisis = operations.operation_of(session, actor, operation_id)
    return operations.operation_read(session, operation)


@router.post("/operations/{operation_id}/tasks", status_code=201, response_model=OperationRead)
def add_task(
    operation_id: RowId, data: TaskCreate, session: DbSession, actor: CurrentActor
) -> OperationRead:
    """Add a task to the operation's mandate (the secretariat)."""
    return operations.operation_read(
        session, operations.add_task(session, actor, operation_id, data)
    )


@router.put("/operations/{operation_id}/withdrawal-plan", response_model=OperationRead)
def plan_withdrawal(
    operation_id: RowId, data: WithdrawalPlanCreate, session: DbSession, actor: CurrentActor
) -> OperationRead:
    """Record or revise the plan of withdrawal (the secretariat)."""
    return operations.operation_read(
        session, operations.plan_withdrawal(session, actor, operation_id, data)
    )


@router.post("/operations/{operation_id}/pledges", status_code=201, response_model=OperationRead)
def pledge(
    operation_id: RowId, data: PledgeCreate, session: DbSession, actor: CurrentActor
) -> OperationRead:
    """Pledge your state's personnel and equipment (liaison officers of contributing members)."""
    operations.pledge(session, actor, operation_id, data)
    operation, _crisis = operations.operation_of(session, actor, operation_id)
    return operations.operation_read(session, operation)


@router.post(
    "/operations/{operation_id}/contingents", status_code=201, response_model=OperationRead
)
def form_contingent(
    operation_id: RowId, data: ContingentCreate, session: DbSession, actor: CurrentActor
) -> OperationRead:
    """Report a contingent your state sends (liaison officers of contributing members)."""
    operations.form_contingent(session, actor, operation_id, data)
    operation, _crisis = operations.operation_of(session, actor, operation_id)
    return operations.operation_read(session, operation)


@router.post("/contingents/{contingent_id}/steps", status_code=201, response_model=OperationRead)
def record_step(
    contingent_id: RowId, data: DeploymentEventCreate, session: DbSession, actor: CurrentActor
) -> OperationRead:
    """Report a step of your state's contingent: departed, arrived, task-taken-over,
    withdrawal-started, home, in that order."""
    operations.record_step(session, actor, contingent_id, data)
    _contingent, operation, _crisis = operations.contingent_of(session, actor, contingent_id)
    return operations.operation_read(session, operation)


@router.post("/operations/{operation_id}/reports", status_code=201, response_model=OperationRead)
def report_situation(
    operation_id: RowId, data: SituationReportCreate, session: DbSession, actor: CurrentActor
) -> OperationRead:
    """A situation report of a contingent (its state) or of the headquarters (the
    secretariat)."""
    operations.report_situation(session, actor, operation_id, data)
    operation, _crisis = operations.operation_of(session, actor, operation_id)
    return operations.operation_read(session, operation)


@router.post("/forces", status_code=201, response_model=WhoCouldHelp)
def record_force(data: ForceEntryCreate, session: DbSession, actor: CurrentActor) -> WhoCouldHelp:
    """Record a unit your state holds ready for an organisation, with its readiness time."""
    row = operations.record_force(session, actor, data)
    return operations.who_could_help(session, actor, row.state_code, row.valid_from)


@router.get("/who-could-help", response_model=WhoCouldHelp)
def who_could_help(
    session: DbSession,
    actor: CurrentActor,
    state: str = Query(pattern=r"^[A-Z]{3}$", description="The state in a hypothetical crisis."),
    on: date = Query(description="The date of the crisis."),
) -> WhoCouldHelp:
    """Who is bound to assist a state on a date and under which article, who must only
    consult, and the earliest plausible arrival from the force catalogues you may read."""
    return operations.who_could_help(session, actor, state, on)
